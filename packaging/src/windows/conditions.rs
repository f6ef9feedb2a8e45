//! Windows Installer condition expressions that are true when a property
//! holds a value the settings schema refuses. They run in type 19 custom
//! actions before anything is installed, so the log names the property; the
//! agent's own `config check` runs later, in the transaction, and has the
//! last word (the condition language cannot express every rule, e.g. the
//! port range of host:port or a string's length).

use outpost_manifest::SettingType;

/// Quotes a literal for a condition: conditions have no escape for `"`, so
/// such values are refused when the manifest is compiled.
fn lit(s: &str) -> String {
    format!("\"{s}\"")
}

pub fn invalid(property: &str, kind: &SettingType) -> Option<String> {
    let p = property;
    Some(match kind {
        SettingType::Bool => format!("NOT ({p}=\"1\" OR {p}=\"0\" OR {p}~=\"true\" OR {p}~=\"false\")"),
        SettingType::Integer { min, max } => {
            // A non-integer value compares false with any integer, so the
            // NOT catches it as well as values out of range.
            let lo = i32::try_from(*min).map(|m| format!("{p}>={m}")).ok();
            let hi = i32::try_from(*max).map(|m| format!("{p}<={m}")).ok();
            match (lo, hi) {
                (Some(l), Some(h)) => format!("NOT ({l} AND {h})"),
                (Some(x), None) | (None, Some(x)) => format!("NOT ({x})"),
                (None, None) => format!("NOT ({p}>=-2147483647)"),
            }
        }
        SettingType::Enum { values } => {
            let any: Vec<String> = values.iter().map(|v| format!("{p}~={}", lit(v))).collect();
            format!("NOT ({})", any.join(" OR "))
        }
        SettingType::HostPort => format!("NOT ({p}><\":\") OR {p}<<\":\" OR {p}>>\":\" OR {p}><\"/\" OR {p}><\" \""),
        SettingType::HttpsUrl => {
            format!("NOT ({p}~<<\"https://\") OR {p}~=\"https://\" OR {p}~<<\"https:///\" OR {p}><\" \" OR {p}><\"@\"")
        }
        SettingType::AbsolutePath { allow_empty } => {
            // A drive path (`C:\...`) or a UNC path (`\\server\...`).
            let not_absolute = format!("NOT ({p}><\":\\\" OR {p}<<\"\\\\\")");
            if *allow_empty {
                format!("{p} AND {not_absolute}")
            } else {
                not_absolute
            }
        }
        SettingType::String { allow_empty: false, .. } => format!("NOT {p}"),
        SettingType::String { allow_empty: true, .. } => return None,
    })
}

/// What the error message says is allowed.
pub fn allowed(kind: &SettingType) -> String {
    match kind {
        SettingType::Bool => "1, 0, true or false".into(),
        SettingType::Integer { min, max } => format!("an integer from {min} to {max}"),
        SettingType::Enum { values } => format!("one of {}", values.join(", ")),
        SettingType::HostPort => "host:port, e.g. switch.example.com:443".into(),
        SettingType::HttpsUrl => "an https:// URL with a host".into(),
        SettingType::AbsolutePath { allow_empty: false } => "an absolute path such as C:\\Data\\Outpost".into(),
        SettingType::AbsolutePath { allow_empty: true } => "an absolute path such as C:\\Data\\Outpost, or empty".into(),
        SettingType::String { .. } => "a non-empty value".into(),
    }
}

/// Whether `value` can be written as a condition literal or a formatted
/// property value without changing meaning.
pub fn literal_ok(value: &str) -> bool {
    !value.contains(['"', '[', ']', '{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_path_may_be_empty_only_when_allowed() {
        // Windows Installer evaluates these in the lifecycle tests (Wine's
        // msiexec); here, their exact text.
        let strict = SettingType::AbsolutePath { allow_empty: false };
        let optional = SettingType::AbsolutePath { allow_empty: true };
        assert_eq!(
            invalid("LOGFILE", &strict).unwrap(),
            r#"NOT (LOGFILE><":\" OR LOGFILE<<"\\")"#
        );
        // An empty property is false, so `P AND ...` lets "" through and
        // still refuses `relative\path`.
        assert_eq!(
            invalid("TRUSTEDCAFILE", &optional).unwrap(),
            r#"TRUSTEDCAFILE AND NOT (TRUSTEDCAFILE><":\" OR TRUSTEDCAFILE<<"\\")"#
        );
        assert!(allowed(&optional).ends_with(", or empty"));
        assert!(!allowed(&strict).contains("empty"));
    }
}
