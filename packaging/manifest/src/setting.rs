use std::collections::BTreeMap;
use std::fmt;

use crate::rule::Refusal;
use crate::Platform;

/// What values a setting accepts. Each variant carries only the constraints
/// that make sense for it, so "min on an enum" cannot be expressed. It
/// serializes as `{"type": "integer", "min": 0, "max": 10}`, the form the
/// Windows Installer custom action reads from the MSI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SettingType {
    String {
        allow_empty: bool,
        max_length: usize,
    },
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    Enum {
        values: Vec<String>,
    },
    /// `host:port`, host a DNS name, IPv4 or bracketed IPv6; port 1-65535.
    HostPort,
    /// An absolute `https://` URL with a host.
    HttpsUrl,
    /// Absolute in the target platform's terms; empty too when `allow_empty`
    /// (e.g. "no file").
    AbsolutePath {
        allow_empty: bool,
    },
}

impl SettingType {
    pub fn name(&self) -> &'static str {
        match self {
            SettingType::String { .. } => "string",
            SettingType::Bool => "bool",
            SettingType::Integer { .. } => "integer",
            SettingType::Enum { .. } => "enum",
            SettingType::HostPort => "host_port",
            SettingType::HttpsUrl => "https_url",
            SettingType::AbsolutePath { .. } => "absolute_path",
        }
    }

    /// Checks `raw` (as it appears in a settings file, an MSI property or an
    /// environment variable) against [`SettingType::rule`] and returns its
    /// canonical spelling, or why it is refused (its text says what is allowed).
    pub fn canonicalize(&self, raw: &str, platform: Platform) -> Result<String, ValueRefused> {
        self.rule(platform).check(raw).map_err(|refusal| ValueRefused {
            refusal,
            kind: self.clone(),
            platform,
            quoted: clip(raw),
        })?;
        Ok(match self {
            SettingType::Bool if raw == "1" || raw.eq_ignore_ascii_case("true") => "true".into(),
            SettingType::Bool => "false".into(),
            // The rule allows at most 18 digits: no overflow.
            SettingType::Integer { .. } => raw.parse::<i64>().map_or_else(|_| raw.to_string(), |n| n.to_string()),
            SettingType::Enum { values } => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(raw))
                .cloned()
                .unwrap_or_default(),
            _ => raw.to_string(),
        })
    }

    /// What a value must be, in an administrator's words ("`x` is not ...").
    pub fn allowed(&self, platform: Platform) -> String {
        match self {
            SettingType::String { max_length, .. } => format!("text of at most {max_length} bytes"),
            SettingType::Bool => "a boolean; allowed: true, false, 1, 0".into(),
            SettingType::Integer { min, max } => format!("an integer; allowed: {min}..={max}"),
            SettingType::Enum { values } => format!("allowed; allowed: {}", values.join(", ")),
            SettingType::HostPort => "host:port (e.g. switch.example.com:443, 10.0.0.5:443, [fd00::5]:443; port 1-65535)".into(),
            SettingType::HttpsUrl => "an https:// URL with a host (no credentials; port 1-65535)".into(),
            SettingType::AbsolutePath { allow_empty: false } => format!("an absolute {platform} path"),
            SettingType::AbsolutePath { allow_empty: true } => format!("an absolute {platform} path (or empty)"),
        }
    }
}

/// Why [`SettingType::canonicalize`] refused a value: what the rule found,
/// and what the reason needs to say what is allowed. Its text is the reason
/// every validator gives (the agent, omnipack, the MSI custom action; the
/// Unix pre-checks print the same words), e.g. "`x` is not an integer;
/// allowed: 0..=10".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValueRefused {
    /// What the rule found; it quotes nothing of the value.
    pub refusal: Refusal,
    /// The type the value was checked against, on `platform`.
    pub kind: SettingType,
    pub platform: Platform,
    /// The refused value as the reason quotes it: [`clip`]ped to ~100 characters.
    pub quoted: String,
}

impl fmt::Display for ValueRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = matches!(self.kind, SettingType::String { .. });
        // A word longer than any bool, integer or enum value is just not
        // one; text is told its limit.
        let word = matches!(
            self.kind,
            SettingType::Bool | SettingType::Integer { .. } | SettingType::Enum { .. }
        );
        match self.refusal {
            Refusal::NonCharacter(c) => write!(f, "not text: U+{:04X} is not a character", u32::from(c)),
            Refusal::ControlCharacter(c) => {
                write!(
                    f,
                    "a value must be a single line without control characters (found U+{:04X})",
                    u32::from(c)
                )
            }
            Refusal::Empty if text => f.write_str("must not be empty"),
            Refusal::TooLong(max) if !word => write!(f, "must be at most {max} bytes"),
            Refusal::Empty | Refusal::Pattern | Refusal::TooLong(_) => {
                write!(f, "`{}` is not {}", self.quoted, self.kind.allowed(self.platform))
            }
            Refusal::OutOfRange(n, min, max) => write!(f, "{n} is out of range; allowed: {min}..={max}"),
        }
    }
}

/// At most ~100 characters of a value, for messages: a refused 100 KB value
/// is not printed back whole.
pub fn clip(raw: &str) -> String {
    match raw.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &raw[..i]),
        None => raw.to_string(),
    }
}

/// One entry of the settings schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// As the manifest spells it, e.g. `Module.Content.Enabled`.
    pub name: String,
    pub kind: SettingType,
    /// Canonical default per platform the setting exists on.
    pub defaults: BTreeMap<Platform, String>,
    /// Public MSI property, upper case, e.g. `MODULE.CONTENT.ENABLED`.
    pub msi_property: String,
    pub description: String,
    pub secret: bool,
    /// The feature this setting belongs to; `None` for product-wide settings.
    pub feature: Option<String>,
}

impl Setting {
    pub fn exists_on(&self, platform: Platform) -> bool {
        self.defaults.contains_key(&platform)
    }

    pub fn default_for(&self, platform: Platform) -> Option<&str> {
        self.defaults.get(&platform).map(String::as_str)
    }

    /// Environment variable the Linux and macOS installers read, derived from
    /// the MSI property so an administrator learns one name per setting:
    /// `MODULE.CONTENT.ENABLED` -> `OUTPOST_MODULE_CONTENT_ENABLED`.
    pub fn env_var(&self, product_id: &str) -> String {
        format!(
            "{}_{}",
            product_id.to_ascii_uppercase().replace('-', "_"),
            self.msi_property.replace('.', "_")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_path_refuses_empty_unless_allowed() {
        let strict = SettingType::AbsolutePath { allow_empty: false };
        let optional = SettingType::AbsolutePath { allow_empty: true };
        for p in Platform::ALL {
            assert!(strict.canonicalize("", p).is_err(), "{p}");
            assert_eq!(optional.canonicalize("", p).as_deref(), Ok(""), "{p}");
        }
        for kind in [&strict, &optional] {
            assert_eq!(
                kind.canonicalize("/etc/ssl/corp.pem", Platform::Linux).as_deref(),
                Ok("/etc/ssl/corp.pem")
            );
            assert_eq!(
                kind.canonicalize("/Library/Outpost/ca.pem", Platform::Macos).as_deref(),
                Ok("/Library/Outpost/ca.pem")
            );
            assert_eq!(
                kind.canonicalize(r"C:\certs\corp.pem", Platform::Windows).as_deref(),
                Ok(r"C:\certs\corp.pem")
            );
            assert_eq!(
                kind.canonicalize(r"\\share\certs\corp.pem", Platform::Windows).as_deref(),
                Ok(r"\\share\certs\corp.pem")
            );
            for (bad, p) in [
                ("relative/ca.pem", Platform::Linux),
                (" /etc/ca.pem", Platform::Linux),
                ("ca.pem", Platform::Macos),
                (r"relative\path", Platform::Windows),
                ("/etc/ca.pem", Platform::Windows),
                (r"C:ca.pem", Platform::Windows),
                ("/etc/ca.pem\n", Platform::Linux),
            ] {
                let e = kind.canonicalize(bad, p).unwrap_err().to_string();
                assert!(e.contains("absolute") || e.contains("single line"), "{bad:?} on {p}: {e}");
            }
            for bad in ["/etc/ca.pem\t", "/etc/\u{1b}[2Jca.pem", "/etc/ca\u{7f}.pem", "/etc/ca.pem\r"] {
                let e = kind.canonicalize(bad, Platform::Linux).unwrap_err().to_string();
                assert!(e.contains("control characters"), "{bad:?}: {e}");
            }
        }
        assert_eq!(
            strict.canonicalize("", Platform::Linux).unwrap_err().to_string(),
            "`` is not an absolute linux path"
        );
        assert_eq!(
            optional.canonicalize("ca.pem", Platform::Linux).unwrap_err().to_string(),
            "`ca.pem` is not an absolute linux path (or empty)"
        );
    }

    #[test]
    fn refusals_quote_at_most_about_100_characters() {
        let long = "x".repeat(100_000);
        let kinds = [
            SettingType::Bool,
            SettingType::Integer { min: 0, max: 10 },
            SettingType::Enum {
                values: vec!["a".into()],
            },
            SettingType::HostPort,
            SettingType::HttpsUrl,
            SettingType::AbsolutePath { allow_empty: false },
        ];
        for kind in &kinds {
            for raw in [long.clone(), format!("h:{long}"), format!("https://{long}")] {
                if let Err(e) = kind.canonicalize(&raw, Platform::Linux) {
                    let e = e.to_string();
                    assert!(e.chars().count() < 400, "{}: {} characters", kind.name(), e.chars().count());
                }
            }
        }
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"é".repeat(150)).chars().count(), 101);
    }

    #[test]
    fn each_refusal_reads_as_the_validators_word_it() {
        let int = SettingType::Integer { min: 0, max: 10 };
        let text = SettingType::String {
            allow_empty: false,
            max_length: 4,
        };
        let reason = |kind: &SettingType, raw: &str| kind.canonicalize(raw, Platform::Linux).unwrap_err().to_string();
        assert_eq!(
            reason(&int, "a\u{1}"),
            "a value must be a single line without control characters (found U+0001)"
        );
        assert_eq!(reason(&int, "\u{ffff}"), "not text: U+FFFF is not a character");
        assert_eq!(reason(&int, ""), "`` is not an integer; allowed: 0..=10");
        assert_eq!(reason(&int, "x"), "`x` is not an integer; allowed: 0..=10");
        assert_eq!(
            reason(&int, &"1".repeat(20)),
            format!("`{}` is not an integer; allowed: 0..=10", "1".repeat(20))
        );
        assert_eq!(reason(&int, "11"), "11 is out of range; allowed: 0..=10");
        assert_eq!(reason(&text, ""), "must not be empty");
        assert_eq!(reason(&text, "abcde"), "must be at most 4 bytes");
        assert_eq!(
            reason(&SettingType::HostPort, ""),
            "`` is not host:port (e.g. switch.example.com:443, 10.0.0.5:443, [fd00::5]:443; port 1-65535)"
        );
        let e = SettingType::Bool.canonicalize("maybe", Platform::Windows).unwrap_err();
        assert_eq!(
            (e.refusal.clone(), e.platform, e.quoted.as_str()),
            (Refusal::Pattern, Platform::Windows, "maybe")
        );
    }
}
