//! XML escaping shared by every XML writer (pkg PackageInfo/Distribution,
//! yum repodata), written the way libxml2 serialises.

use std::fmt::Write as _;

/// Element text: markup characters escaped; a carriage return as a reference
/// so a parser does not fold it into a newline.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// An attribute value in double quotes: whitespace other than spaces as
/// references (attribute-value normalisation would turn it into spaces);
/// with `ascii_only`, non-ASCII characters as hex references too, as libxml2
/// does when it dumps a node without a document (createrepo_c's output).
pub fn attr(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if ascii_only && !c.is_ascii() => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A text holding a character XML 1.0 has no way to represent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{text:?} contains U+{code:04X}, which XML 1.0 cannot carry")]
pub struct XmlCharError {
    pub text: String,
    pub code: u32,
}

/// Characters XML 1.0 has no way to represent, not even as a reference.
pub fn check(s: &str) -> Result<(), XmlCharError> {
    match s
        .chars()
        .find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}')
    {
        Some(c) => Err(XmlCharError { text: s.to_string(), code: c as u32 }),
        None => Ok(()),
    }
}
