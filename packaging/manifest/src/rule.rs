//! The acceptance rule of a setting type, written once as data that every
//! validator runs: the agent and omnipack (this crate, through
//! [`SettingType::canonicalize`](crate::SettingType::canonicalize)), the Windows
//! Installer custom action (the same Rust code in a DLL), and the Unix
//! installers' shell pre-check, which `omnipack` renders from [`Rule`] values.
//!
//! A value is accepted when all of these hold, checked in this order:
//! 1. it is UTF-8 with no ASCII control character (U+0000-U+001F, U+007F):
//!    a newline would add a line to a settings file, and no setting needs one;
//!    nor U+FFFE or U+FFFF, which are not characters;
//! 2. it is at most [`Rule::max_bytes`] bytes long (UTF-8), or empty when
//!    [`Rule::empty_ok`];
//! 3. a non-empty value matches [`Rule::pattern`] as a whole;
//! 4. an integer lies within [`Rule::range`].
//!
//! The pattern is written in the common subset of POSIX extended regular
//! expressions (what `grep -E` runs in the C locale on GNU and BSD systems)
//! and the `regex-lite` syntax: literal characters, `\`-escaped
//! metacharacters outside brackets, bracket lists of ASCII ranges without
//! escapes inside them, groups, `|`, `?`, `*`, `+` and `{m,n}`. It never needs
//! Unicode classes: everything outside ASCII is matched by `.` or not at all.
//! Integers are limited to 18 digits by their pattern, so that no validator
//! (an `i64`, a shell's `intmax_t`, `expr`) can overflow before the range check.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::{Platform, SettingType};

/// Largest magnitude an integer setting can have: 18 decimal digits.
pub const INTEGER_LIMIT: i64 = 999_999_999_999_999_999;
/// Longest path accepted on every platform, in bytes.
pub const PATH_MAX_BYTES: usize = 1024;
/// The environment variables a Windows absolute path may start with, as
/// `%ProgramData%\Outpost\Temp` (the product's documented form; the agent
/// expands it). Only machine-wide folders whose value is the same for the
/// installer and the service: `TEMP` or `USERPROFILE` would name one folder
/// in the administrator's session and another in the service's.
pub const WINDOWS_PATH_VARIABLES: [&str; 5] = ["ProgramData", "ProgramFiles", "SystemDrive", "SystemRoot", "windir"];
/// Longest URL accepted, in bytes.
pub const URL_MAX_BYTES: usize = 2048;
/// Longest `host:port` accepted: a 253-byte DNS name, `:` and a 5-digit port.
pub const HOST_PORT_MAX_BYTES: usize = 259;

/// What a setting type accepts, as data every validator can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub max_bytes: usize,
    pub empty_ok: bool,
    /// Matched against the whole value; `None` accepts any text.
    pub pattern: Option<String>,
    pub range: Option<(i64, i64)>,
}

/// Why a value was refused, without the value itself (callers quote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ControlCharacter(char),
    /// U+FFFE or U+FFFF: valid UTF-8, yet not characters; macOS's iconv
    /// (libiconv 1.11) refuses them where glibc's passes them, so the rule
    /// refuses them everywhere.
    NonCharacter(char),
    Empty,
    TooLong(usize),
    Pattern,
    OutOfRange(i64, i64, i64),
}

const LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const PORT: &str = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const DEC_OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const H16: &str = "[0-9A-Fa-f]{1,4}";

fn host_name() -> String {
    format!("{LABEL}(\\.{LABEL})*")
}

fn ipv4() -> String {
    format!("{DEC_OCTET}(\\.{DEC_OCTET}){{3}}")
}

/// RFC 3986's `IPv6address`, spelled out per position of `::`.
fn ipv6() -> String {
    let ls32 = format!("({H16}:{H16}|{})", ipv4());
    let reps = |n: usize| -> String {
        match n {
            0 => String::new(),
            n => format!("({H16}:){{{n}}}"),
        }
    };
    // Up to `n` groups `h16:` then one `h16`: the part before `::`.
    let head = |n: usize| -> String {
        match n {
            0 => format!("({H16})?"),
            n => format!("(({H16}:){{0,{n}}}{H16})?"),
        }
    };
    let mut forms = vec![format!("{}{ls32}", reps(6)), format!("::{}{ls32}", reps(5))];
    for before in 0..=4 {
        forms.push(format!("{}::{}{ls32}", head(before), reps(4 - before)));
    }
    forms.push(format!("{}::{H16}", head(5)));
    forms.push(format!("{}::", head(6)));
    format!("({})", forms.join("|"))
}

/// `[Tt][Rr][Uu][Ee]` for `true`: case-insensitive ASCII without flags, which
/// ERE does not have; other characters escaped.
fn caseless(literal: &str) -> String {
    literal
        .chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else if ".[]()*+?{}|^$\\".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl SettingType {
    /// The rule of this type on `platform`.
    pub fn rule(&self, platform: Platform) -> Rule {
        let exact = |pattern: String, max_bytes: usize| Rule {
            max_bytes,
            empty_ok: false,
            pattern: Some(pattern),
            range: None,
        };
        match self {
            SettingType::String { allow_empty, max_length } => Rule {
                max_bytes: *max_length,
                empty_ok: *allow_empty,
                pattern: None,
                range: None,
            },
            SettingType::Bool => exact(format!("({}|{}|1|0)", caseless("true"), caseless("false")), 5),
            SettingType::Integer { min, max } => Rule {
                range: Some((*min, *max)),
                ..exact("-?[0-9]{1,18}".into(), 19)
            },
            SettingType::Enum { values } => exact(
                format!("({})", values.iter().map(|v| caseless(v)).collect::<Vec<_>>().join("|")),
                values.iter().map(String::len).max().unwrap_or(0),
            ),
            SettingType::HostPort => exact(format!("({}|\\[{}\\]):{PORT}", host_name(), ipv6()), HOST_PORT_MAX_BYTES),
            SettingType::HttpsUrl => exact(
                format!(
                    "{}://({}|\\[{}\\])(:{PORT})?([/?#][!-~]*)?",
                    caseless("https"),
                    host_name(),
                    ipv6()
                ),
                URL_MAX_BYTES,
            ),
            SettingType::AbsolutePath { allow_empty } => Rule {
                empty_ok: *allow_empty,
                ..exact(
                    match platform {
                        // A drive path (`C:\`, `C:/`), a UNC path (`\\server\share`)
                        // or a known variable then a separator (`%ProgramData%\x`):
                        // `%SystemDrive%` alone is `C:`, relative to the drive's
                        // current folder.
                        Platform::Windows => format!(
                            "([A-Za-z]:(\\\\|/).*|\\\\\\\\.+|%({})%(\\\\|/).*)",
                            WINDOWS_PATH_VARIABLES.map(caseless).join("|")
                        ),
                        Platform::Linux | Platform::Macos => "/.*".into(),
                    },
                    PATH_MAX_BYTES,
                )
            },
        }
    }
}

/// The variable a Windows path accepted by the rule starts with, spelled as
/// in [`WINDOWS_PATH_VARIABLES`], and the rest of the path (from its
/// separator on); `None` for a path without one. Names are matched without
/// regard to case, as Windows does.
pub fn windows_path_variable(path: &str) -> Option<(&'static str, &str)> {
    let (name, rest) = path.strip_prefix('%')?.split_once('%')?;
    let known = WINDOWS_PATH_VARIABLES.into_iter().find(|v| v.eq_ignore_ascii_case(name))?;
    rest.starts_with(['\\', '/']).then_some((known, rest))
}

impl Rule {
    /// Applies the rule; `Ok` when `raw` is accepted as it is spelled.
    pub fn check(&self, raw: &str) -> Result<(), Refusal> {
        if let Some(c) = raw.chars().find(char::is_ascii_control) {
            return Err(Refusal::ControlCharacter(c));
        }
        if let Some(c) = raw.chars().find(|c| matches!(c, '\u{fffe}' | '\u{ffff}')) {
            return Err(Refusal::NonCharacter(c));
        }
        if raw.is_empty() {
            return if self.empty_ok { Ok(()) } else { Err(Refusal::Empty) };
        }
        if raw.len() > self.max_bytes {
            return Err(Refusal::TooLong(self.max_bytes));
        }
        if let Some(p) = &self.pattern {
            if !compiled(p).is_match(raw) {
                return Err(Refusal::Pattern);
            }
        }
        if let Some((min, max)) = self.range {
            // The pattern allows at most 18 digits: this cannot overflow.
            let n: i64 = raw.parse().map_err(|_| Refusal::Pattern)?;
            if n < min || n > max {
                return Err(Refusal::OutOfRange(n, min, max));
            }
        }
        Ok(())
    }
}

/// The anchored regex of `pattern`, compiled once per process: a rule is
/// checked per value (the MSI custom action checks every property, the
/// differential tests thousands of values), and compiling dominated it.
fn compiled(pattern: &str) -> regex_lite::Regex {
    static CACHE: OnceLock<Mutex<HashMap<String, regex_lite::Regex>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex_lite::Regex::new(&format!("^({pattern})$")).expect("the rule patterns are tested to compile"))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(kind: &SettingType, v: &str) -> bool {
        kind.rule(Platform::Linux).check(v).is_ok()
    }

    #[test]
    fn every_pattern_compiles() {
        for kind in [
            SettingType::Bool,
            SettingType::HostPort,
            SettingType::HttpsUrl,
            SettingType::Integer { min: 0, max: 1 },
            SettingType::Enum {
                values: vec!["a.b".into(), "C(d)".into()],
            },
        ] {
            for p in Platform::ALL {
                let r = kind.rule(p);
                regex_lite::Regex::new(r.pattern.as_deref().unwrap()).unwrap();
            }
        }
        regex_lite::Regex::new(
            SettingType::AbsolutePath { allow_empty: false }
                .rule(Platform::Windows)
                .pattern
                .as_deref()
                .unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn ipv6_pattern_agrees_with_the_standard_library() {
        let re = regex_lite::Regex::new(&format!("^{}$", ipv6())).unwrap();
        let samples = [
            "::",
            "::1",
            "1::",
            "fd00::5",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::8",
            "::ffff:10.0.0.1",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1",
            "1:2",
            ":::",
            "1:::2",
            "1::2::3",
            "12345::",
            "g::",
            "::1.2.3",
            "::1.2.3.256",
            "::01.2.3.4",
            "1:2:3:4:5:6:7:8:9",
            "::ffff:1.2.3.4:5",
            "fe80::1%eth0",
            "0000:0000::0",
            "a:b:c:d:e:f:0:1",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
        ];
        for s in samples {
            assert_eq!(re.is_match(s), s.parse::<std::net::Ipv6Addr>().is_ok(), "{s}");
        }
    }

    #[test]
    fn integers_never_overflow_and_respect_the_range() {
        let k = SettingType::Integer { min: -5, max: 3600 };
        for ok in ["0", "-0", "007", "3600", "-5"] {
            assert!(accepts(&k, ok), "{ok}");
        }
        for bad in ["99999999999999999999", "+5", "3601", "-6", "1e3", " 5", "", "-", "0x10", "٣"] {
            assert!(!accepts(&k, bad), "{bad}");
        }
    }

    #[test]
    fn host_port_checks_port_and_brackets() {
        let k = SettingType::HostPort;
        for ok in ["switch.example.com:443", "10.0.0.5:65535", "[fd00::5]:443", "a:1"] {
            assert!(accepts(&k, ok), "{ok}");
        }
        for bad in [
            "[1]:443",
            "a.example:99999",
            "a.example:0",
            "a.example:",
            "a_b:1",
            "-a:1",
            "a..b:1",
            "[::1]",
            "a:01x",
        ] {
            assert!(!accepts(&k, bad), "{bad}");
        }
    }

    #[test]
    fn https_urls_need_a_host_and_no_credentials() {
        let k = SettingType::HttpsUrl;
        for ok in [
            "https://a.example",
            "HTTPS://a.example:8443/x?y#z",
            "https://[::1]/",
            "https://a.example/b@c",
        ] {
            assert!(accepts(&k, ok), "{ok}");
            let u = url::Url::parse(ok).unwrap();
            assert!(u.host_str().is_some_and(|h| !h.is_empty()) && u.username().is_empty(), "{ok}");
        }
        for bad in [
            "http://a.example",
            "https://",
            "https:///a",
            "https://u:p@a.example/",
            "https://a.example:99999/",
            "https://a b/",
            "https://a.example\\@evil/",
        ] {
            assert!(!accepts(&k, bad), "{bad}");
        }
    }

    #[test]
    fn lengths_are_bytes() {
        let k = SettingType::String {
            allow_empty: false,
            max_length: 4,
        };
        assert!(accepts(&k, "éé"));
        assert_eq!(k.rule(Platform::Linux).check("ééé"), Err(Refusal::TooLong(4)));
    }
    #[test]
    fn windows_paths_may_start_with_a_known_variable() {
        let k = SettingType::AbsolutePath { allow_empty: false };
        let win = |v: &str| k.rule(Platform::Windows).check(v).is_ok();
        for ok in [
            r"%ProgramData%\Outpost\Temp",
            r"%PROGRAMDATA%/x",
            r"%windir%\Temp",
            r"%SystemDrive%\",
            r"C:\x",
            r"\\srv\share",
        ] {
            assert!(win(ok), "{ok}");
            assert_eq!(windows_path_variable(ok).is_some(), ok.starts_with('%'), "{ok}");
        }
        for bad in [
            r"%TEMP%\x",
            r"%ProgramData%",
            r"%SystemDrive%Temp",
            r"%ProgramData%%windir%\x",
            r"x\%ProgramData%\y",
            r"%%\x",
            r"ProgramData\x",
            r"Outpost\Temp",
            r".\Temp",
            r"\Temp",
            r"C:Temp",
        ] {
            assert!(!win(bad), "{bad}");
        }
        assert_eq!(windows_path_variable(r"%programdata%\a"), Some(("ProgramData", r"\a")));
        assert!(!accepts(&k, r"%ProgramData%\x"), "Linux paths have no variables");
    }
}
