//! macOS managed preferences: what an MDM configuration profile sets for our
//! preference domain, as the system writes it to
//! `/Library/Managed Preferences/<domain>.plist` (usually a binary plist;
//! XML is accepted too). Keys are setting names; values are strings,
//! booleans or integers and go through the same schema check as every other
//! layer. The profile's own `Payload*` keys are not settings.

use std::io;
use std::path::Path;

/// (position, setting, value) entries and problems, as the other layers
/// give them; a plist has no line numbers, so the position is empty.
pub type Entries = (Vec<(String, String, String)>, Vec<String>);

pub fn read(path: &Path) -> io::Result<Entries> {
    let bytes = std::fs::read(path)?;
    let file = path.display().to_string();
    let value = plist::Value::from_reader(io::Cursor::new(bytes))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not a property list: {e}")))?;
    let Some(dict) = value.into_dictionary() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the property list is not a dictionary",
        ));
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (key, v) in dict {
        if key.starts_with("Payload") {
            continue;
        }
        let text = match v {
            plist::Value::String(s) => s,
            plist::Value::Boolean(b) => b.to_string(),
            plist::Value::Integer(i) => i.to_string(),
            other => {
                problems.push(format!(
                    "{file}: key `{key}`: a {} is not a setting value; allowed: string, boolean, integer (ignored)",
                    kind(&other)
                ));
                continue;
            }
        };
        entries.push((String::new(), key, text));
    }
    Ok((entries, problems))
}

fn kind(v: &plist::Value) -> &'static str {
    match v {
        plist::Value::Array(_) => "array",
        plist::Value::Dictionary(_) => "dictionary",
        plist::Value::Data(_) => "data blob",
        plist::Value::Date(_) => "date",
        plist::Value::Real(_) => "real number",
        _ => "value of another type",
    }
}
