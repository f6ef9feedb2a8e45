use std::collections::BTreeMap;

use crate::Platform;

/// What values a setting accepts. Each variant carries only the constraints
/// that make sense for it, so "min on an enum" cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// environment variable) and returns its canonical spelling, or a reason
    /// that says what is allowed.
    pub fn canonicalize(&self, raw: &str, platform: Platform) -> Result<String, String> {
        // One rule for every type, checked the same way by the installers'
        // shell pre-check: a control character (a newline that would add a
        // line to a settings file, a CR, a tab, ESC, DEL) is never part of a
        // value.
        if let Some(c) = raw.chars().find(char::is_ascii_control) {
            return Err(format!(
                "a value must be a single line without control characters (found U+{:04X})",
                u32::from(c)
            ));
        }
        // Messages quote at most ~100 characters of what was given.
        let raw_shown = clip(raw);
        let raw_shown = raw_shown.as_str();
        match self {
            SettingType::String { allow_empty, max_length } => {
                if raw.is_empty() && !allow_empty {
                    return Err("must not be empty".into());
                }
                if raw.chars().count() > *max_length {
                    return Err(format!("must be at most {max_length} characters"));
                }
                Ok(raw.to_string())
            }
            SettingType::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok("true".into()),
                "false" | "0" => Ok("false".into()),
                _ => Err(format!("`{raw_shown}` is not a boolean; allowed: true, false, 1, 0")),
            },
            SettingType::Integer { min, max } => {
                let n: i64 = raw
                    .parse()
                    .map_err(|_| format!("`{raw_shown}` is not an integer; allowed: {min}..={max}"))?;
                if n < *min || n > *max {
                    return Err(format!("{n} is out of range; allowed: {min}..={max}"));
                }
                Ok(n.to_string())
            }
            SettingType::Enum { values } => values
                .iter()
                .find(|v| v.eq_ignore_ascii_case(raw))
                .cloned()
                .ok_or_else(|| format!("`{raw_shown}` is not allowed; allowed: {}", values.join(", "))),
            SettingType::HostPort => check_host_port(raw).map(|()| raw.to_string()),
            SettingType::HttpsUrl => check_https_url(raw).map(|()| raw.to_string()),
            SettingType::AbsolutePath { allow_empty } => {
                if platform.is_absolute_path(raw) || (raw.is_empty() && *allow_empty) {
                    Ok(raw.to_string())
                } else if *allow_empty {
                    Err(format!("`{raw_shown}` is not an absolute {platform} path (or empty)"))
                } else {
                    Err(format!("`{raw_shown}` is not an absolute {platform} path"))
                }
            }
        }
    }
}

fn check_host_port(raw: &str) -> Result<(), String> {
    let raw_shown = clip(raw);
    let bad = || format!("`{raw_shown}` is not host:port (e.g. switch.example.com:443, 10.0.0.5:443, [fd00::5]:443)");
    let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, p)
    } else {
        let (h, p) = raw.rsplit_once(':').ok_or_else(bad)?;
        if !is_hostname(h) && h.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(bad());
        }
        (h, p)
    };
    let _ = host;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.chars().all(|c| c.is_ascii_digit()) => Ok(()),
        _ => Err(format!("`{raw_shown}`: port `{}` is not 1-65535", clip(port))),
    }
}

fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn check_https_url(raw: &str) -> Result<(), String> {
    let raw_shown = clip(raw);
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw_shown}` is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err(format!("`{raw_shown}` must use https://"));
    }
    // WHATWG parsing forgives `https:///host`; an administrator's typo
    // should not be silently reinterpreted.
    let after_scheme = raw.get(url.scheme().len() + 3..).unwrap_or_default();
    if url.host_str().is_none_or(str::is_empty) || after_scheme.starts_with('/') || after_scheme.starts_with('\\') {
        return Err(format!("`{raw_shown}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("`{raw_shown}` must not carry credentials"));
    }
    Ok(())
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
                let e = kind.canonicalize(bad, p).unwrap_err();
                assert!(e.contains("absolute") || e.contains("single line"), "{bad:?} on {p}: {e}");
            }
            for bad in ["/etc/ca.pem\t", "/etc/\u{1b}[2Jca.pem", "/etc/ca\u{7f}.pem", "/etc/ca.pem\r"] {
                let e = kind.canonicalize(bad, Platform::Linux).unwrap_err();
                assert!(e.contains("control characters"), "{bad:?}: {e}");
            }
        }
        assert_eq!(
            strict.canonicalize("", Platform::Linux).unwrap_err(),
            "`` is not an absolute linux path"
        );
        assert_eq!(
            optional.canonicalize("ca.pem", Platform::Linux).unwrap_err(),
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
                    assert!(e.chars().count() < 400, "{}: {} characters", kind.name(), e.chars().count());
                }
            }
        }
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"é".repeat(150)).chars().count(), 101);
    }
}
