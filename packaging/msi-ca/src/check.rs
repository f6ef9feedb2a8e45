//! The check itself, apart from msi.dll so that it is tested on any host.

use outpost_manifest::{clip, Platform, Refusal, SettingType, ValueRefused};
use serde::Deserialize;

use crate::ActionError;

/// The property omnipack writes the rules into.
pub const RULES_PROPERTY: &str = "OmnipackAnswerRules";
/// The property refusals are appended to.
pub const INVALID_PROPERTY: &str = "INVALIDSETTINGS";

/// One property to check, as omnipack writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerRule {
    /// The public property, e.g. `SWITCH`.
    pub property: String,
    /// The setting's name, e.g. `Switch` (for the log).
    pub name: String,
    /// A secret's value never appears in a message.
    #[serde(default)]
    pub secret: bool,
    pub kind: SettingType,
}

/// The rules from the property's text; an error says why they cannot be
/// used (the custom action then fails the install: no rules, no check).
pub fn parse_rules(json: &str) -> Result<Vec<AnswerRule>, ActionError> {
    if json.trim().is_empty() {
        return Err(ActionError::NoRules);
    }
    serde_json::from_str(json).map_err(ActionError::BadRules)
}

/// Why `value` (the property's UTF-16 text) is refused, as the entry
/// `PROP=value (reason)` or, for a secret, `PROP (reason)`; None when it is
/// accepted. Values are quoted clipped to ~100 characters, control
/// characters escaped.
pub fn refusal(rule: &AnswerRule, value: &[u16]) -> Option<String> {
    let reason = match String::from_utf16(value) {
        Ok(text) => match rule.kind.canonicalize(&text, Platform::Windows) {
            Ok(_) => return None,
            Err(refused) if rule.secret => secret_reason(&refused),
            Err(refused) => refused.to_string(),
        },
        Err(_) => "a value must be text (it holds an unpaired UTF-16 surrogate)".to_string(),
    };
    let reason = escape_controls(&reason);
    Some(if rule.secret {
        format!("{} ({reason})", rule.property)
    } else {
        let shown = escape_controls(&clip(&String::from_utf16_lossy(value)));
        format!("{}={shown} ({reason})", rule.property)
    })
}

/// The reason without anything taken from the value: `canonicalize`'s own
/// quotes a refused value, and a secret is never quoted.
fn secret_reason(refused: &ValueRefused) -> String {
    match refused.refusal {
        Refusal::ControlCharacter(_) => "a value must be a single line without control characters".into(),
        Refusal::NonCharacter(c) => format!("not text: U+{:04X} is not a character", u32::from(c)),
        Refusal::Empty => "must not be empty".into(),
        Refusal::TooLong(max) => format!("must be at most {max} bytes"),
        Refusal::OutOfRange(_, min, max) => format!("out of range; allowed: {min}..={max}"),
        Refusal::Pattern => format!("the value is not {}", refused.kind.allowed(refused.platform)),
    }
}

/// A message stays one line: `\n`, `\r`, `\t`, `\u{1b}`, … as escapes.
fn escape_controls(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// `text` as Windows Installer formatted text that formats back to itself:
/// `[`, `]`, `{` and `}` as the escapes `[\[]`, `[\]]`, `[\{]`, `[\}]`.
pub fn formatted_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '[' | ']' | '{' | '}' => {
                out.push_str("[\\");
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    fn rules() -> Vec<AnswerRule> {
        parse_rules(
            r#"[{"property":"SWITCH","name":"Switch","secret":false,"kind":{"type":"host_port"}},
                {"property":"PASS","name":"Password","secret":true,"kind":{"type":"string","allow_empty":true,"max_length":8}},
                {"property":"N","name":"N","kind":{"type":"integer","min":5,"max":600}},
                {"property":"TMP","name":"Tmp","kind":{"type":"absolute_path","allow_empty":false}}]"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_what_setting_type_writes() {
        let kinds = [
            SettingType::Bool,
            SettingType::Integer { min: -3, max: 9 },
            SettingType::Enum { values: vec!["a".into(), "b".into()] },
            SettingType::String { allow_empty: true, max_length: 7 },
            SettingType::AbsolutePath { allow_empty: true },
            SettingType::HttpsUrl,
            SettingType::HostPort,
        ];
        for kind in kinds {
            let json = format!(r#"[{{"property":"P","name":"P","secret":false,"kind":{}}}]"#, serde_json::to_string(&kind).unwrap());
            assert_eq!(parse_rules(&json).unwrap()[0].kind, kind);
        }
    }

    #[test]
    fn unreadable_rules_are_an_error() {
        assert!(matches!(parse_rules(" \n"), Err(ActionError::NoRules)));
        assert!(parse_rules("").unwrap_err().to_string().contains("empty"));
        assert!(matches!(parse_rules("[{\"property\":\"P\"}]"), Err(ActionError::BadRules(_))));
        assert!(parse_rules("[{\"property\":\"P\",\"name\":\"P\",\"kind\":{\"type\":\"integer\",\"min\":\"x\"}}]").is_err());
        assert!(parse_rules("[]").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_canonicalize_refuses() {
        let r = rules();
        assert_eq!(refusal(&r[0], &utf16("switch.example:443")), None);
        let e = refusal(&r[0], &utf16("a:1\nBackgroundChannelUrl=https://evil.example/")).unwrap();
        assert!(e.starts_with("SWITCH=a:1\\nBackgroundChannelUrl=https://evil.example/ ("), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(
            refusal(&r[2], &utf16("99999999999999999999")).unwrap(),
            format!("N=99999999999999999999 ({})", r[2].kind.canonicalize("99999999999999999999", Platform::Windows).unwrap_err())
        );
        assert!(refusal(&r[2], &utf16("4")).unwrap().contains("out of range"));
        assert!(refusal(&r[2], &utf16("")).is_some());
        assert_eq!(refusal(&r[1], &utf16("")), None);
        assert!(refusal(&r[3], &utf16("C:\\Temp\r\nSwitch=evil.example:443")).is_some());
        assert_eq!(refusal(&r[3], &utf16("C:\\Temp")), None);
    }

    #[test]
    fn log_text_is_escaped_for_formatting() {
        assert_eq!(formatted_literal("a [fd00::5]:443 {x}"), "a [\\[]fd00::5[\\]]:443 [\\{]x[\\}]");
        assert_eq!(formatted_literal("plain"), "plain");
    }

    #[test]
    fn a_long_value_is_quoted_clipped() {
        let r = rules();
        let long = "x".repeat(100_000);
        let e = refusal(&r[0], &utf16(&long)).unwrap();
        assert!(e.chars().count() < 400, "{} characters", e.chars().count());
    }

    #[test]
    fn a_secret_is_never_quoted() {
        let r = rules();
        for value in ["Sup3r\nSecret", "Sup3rSecret9", "Sup3r\u{1b}"] {
            let e = refusal(&r[1], &utf16(value)).unwrap();
            assert!(e.starts_with("PASS ("), "{e}");
            assert!(!e.contains("Sup3r"), "{e}");
        }
        let secret_int = AnswerRule { secret: true, ..r[2].clone() };
        for value in ["77777777", "4x77777", "4"] {
            let e = refusal(&secret_int, &utf16(value)).unwrap();
            assert!(!e.contains(value), "{e}");
        }
    }

    #[test]
    fn an_unpaired_surrogate_is_refused() {
        let r = rules();
        let mut v = utf16("switch.example:443");
        v.insert(3, 0xD800);
        let e = refusal(&r[0], &v).unwrap();
        assert!(e.contains("unpaired UTF-16 surrogate"), "{e}");
        assert!(e.starts_with("SWITCH=swi\u{fffd}tch"), "{e}");
        let secret = refusal(&r[1], &[0xDC00]).unwrap();
        assert!(secret.starts_with("PASS ("), "{secret}");
    }
}
