//! A binary package's control paragraph (deb822), kept in its original field
//! order so the Packages stanza repeats what the package says, and dpkg's
//! version ordering so stanzas list versions the way apt ranks them.

use std::cmp::Ordering;

/// What is wrong with a control file, by line or by field.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control file line {line}: a second paragraph; a binary package has exactly one")]
    SecondParagraph { line: usize },
    #[error("control file line {line}: a continuation line before any field")]
    ContinuationFirst { line: usize },
    #[error("control file line {line}: `{text}` is neither `Field: value` nor a continuation line")]
    NotAField { line: usize, text: String },
    #[error("control file line {line}: `{name}` is not a valid field name")]
    BadFieldName { line: usize, name: String },
    #[error("control file line {line}: field `{name}` appears twice")]
    DuplicateField { line: usize, name: String },
    #[error("the control file is empty")]
    Empty,
    #[error("control field `{field}` must be a single non-empty line")]
    NotOneLine { field: String },
    #[error("the control file has no `{field}` field")]
    Missing { field: String },
}

/// One control paragraph. Values are stored as written after `Name:`, with
/// continuation lines (starting with a space or tab) joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    fields: Vec<(String, String)>,
}

impl Control {
    /// Parses the `control` file of a .deb: exactly one paragraph.
    pub fn parse(text: &str) -> Result<Control, ControlError> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut ended = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            let n = n + 1;
            if line.is_empty() {
                // Blank lines end the paragraph; leading ones are harmless.
                ended = !fields.is_empty();
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            if ended {
                return Err(ControlError::SecondParagraph { line: n });
            }
            if line.starts_with([' ', '\t']) {
                let Some((_, value)) = fields.last_mut() else {
                    return Err(ControlError::ContinuationFirst { line: n });
                };
                value.push('\n');
                value.push_str(line);
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| ControlError::NotAField { line: n, text: line.to_string() })?;
            if !valid_field_name(name) {
                return Err(ControlError::BadFieldName { line: n, name: name.to_string() });
            }
            if fields.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                return Err(ControlError::DuplicateField { line: n, name: name.to_string() });
            }
            fields.push((name.to_string(), value.trim_start().to_string()));
        }
        if fields.is_empty() {
            return Err(ControlError::Empty);
        }
        Ok(Control { fields })
    }

    /// A field's value; deb822 field names are case-insensitive.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A field that must be present and fit on one line.
    pub fn required(&self, name: &str) -> Result<&str, ControlError> {
        match self.get(name) {
            Some(v) if !v.is_empty() && !v.contains('\n') => Ok(v),
            Some(_) => Err(ControlError::NotOneLine { field: name.to_string() }),
            None => Err(ControlError::Missing { field: name.to_string() }),
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// deb822: printable US-ASCII except ':', not starting with '#' or '-'.
fn valid_field_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(['#', '-']) && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

/// Debian policy 5.6.1: lower-case letters, digits, `+ - .`; at least two
/// characters, starting with an alphanumeric. This also makes the name a
/// safe pool directory.
pub fn valid_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
}

/// Architecture names as dpkg-architecture prints them (`amd64`, `arm64`,
/// `all`, `musl-linux-arm64`).
pub fn valid_arch(arch: &str) -> bool {
    !arch.is_empty()
        && arch.as_bytes()[0].is_ascii_alphanumeric()
        && arch
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Debian policy 5.6.12: `[epoch:]upstream[-revision]` from alphanumerics and
/// `. + ~ - :`, with a numeric epoch and an upstream part starting with a digit.
pub fn valid_version(v: &str) -> bool {
    let (epoch, upstream, _) = split_version(v);
    let epoch_ok = match v.split_once(':') {
        Some((e, _)) => !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) && epoch.is_some(),
        None => true,
    };
    epoch_ok
        && upstream.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'~' | b'-' | b':'))
}

/// Compares two Debian versions as dpkg does (epoch, then upstream, then
/// revision, each with `verrevcmp`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_version(a);
    let (eb, ub, rb) = split_version(b);
    ea.unwrap_or(0)
        .cmp(&eb.unwrap_or(0))
        .then_with(|| verrevcmp(ua, ub))
        .then_with(|| verrevcmp(ra, rb))
}

/// (epoch, upstream, revision); the epoch is None when absent or not a number.
fn split_version(v: &str) -> (Option<u64>, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) => (e.parse().ok(), rest),
        None => (None, v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// dpkg's character weight: `~` sorts before everything, even the end of
/// the string; letters before other symbols.
fn weight(c: u8) -> i32 {
    match c {
        0 => 0,
        b'~' => -1,
        c if c.is_ascii_digit() => 0,
        c if c.is_ascii_alphabetic() => c as i32,
        c => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (wa, wb) = (weight(at(a, i)), weight(at(b, j)));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_field_order_and_continuations() {
        let c = Control::parse("Package: a1\nVersion: 1.0\nDescription: short\n long line\n .\n more\n\n").unwrap();
        let names: Vec<_> = c.fields().map(|(k, _)| k).collect();
        assert_eq!(names, ["Package", "Version", "Description"]);
        assert_eq!(c.get("description"), Some("short\n long line\n .\n more"));
        assert!(c.required("Description").is_err(), "multi-line value is not a single line");
    }

    #[test]
    fn rejects_malformed_paragraphs() {
        for (text, want) in [
            ("", "empty"),
            (" cont\nPackage: a\n", "continuation line before"),
            ("Package: a\nPackage: b\n", "appears twice"),
            ("Package: a\n\nPackage: b\n", "second paragraph"),
            ("Package a\n", "neither"),
            ("Pack age: a\n", "not a valid field name"),
        ] {
            let err = Control::parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn orders_versions_like_dpkg() {
        // Each list is ascending; pairs taken from dpkg's own test suite.
        let ascending = [
            "1.0~rc1", "1.0", "1.0-1", "1.0-1.1", "1.0a", "1.0+b1", "1.2", "1.10", "1:0.1", "2:0~",
        ];
        for w in ascending.windows(2) {
            assert_eq!(compare_versions(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(compare_versions(w[1], w[0]), Ordering::Greater, "{} > {}", w[1], w[0]);
        }
        assert_eq!(compare_versions("1.01", "1.1"), Ordering::Equal);
        assert_eq!(compare_versions("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(compare_versions("2.10.0-1", "2.9.0-1"), Ordering::Greater);
    }

    #[test]
    fn validates_names() {
        assert!(valid_package_name("outpost") && valid_package_name("libfoo2.0+x"));
        assert!(
            !valid_package_name("a")
                && !valid_package_name("Outpost")
                && !valid_package_name("../x")
                && !valid_package_name("-x")
        );
        assert!(valid_arch("amd64") && valid_arch("all") && !valid_arch("amd64/../x"));
        assert!(valid_version("2.1.0-1") && valid_version("1:2.0~rc1+b2"));
        assert!(!valid_version("a1.0") && !valid_version("x:1") && !valid_version("1 0") && !valid_version(":1"));
    }
}
