//! The settings file format every layer uses: INI with one `[Settings]`
//! section and `Name=value` lines. It is what the Windows Installer's IniFile
//! table writes, so one parser serves every platform and every layer.

use std::fmt::Write as _;

use crate::{clip, Manifest, Platform};

pub const SECTION: &str = "Settings";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// One problem in a settings file, with the line and key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub line: usize,
    pub key: Option<String>,
    pub reason: String,
}

impl EntryError {
    pub fn describe(&self, file: &str) -> String {
        match &self.key {
            Some(k) => format!("{file}:{}: key `{k}`: {}", self.line, self.reason),
            None => format!("{file}:{}: {}", self.line, self.reason),
        }
    }
}

/// Splits a settings file into entries. Syntax errors are collected, not
/// fatal, so one run reports all of them.
///
/// The grammar, which the Unix installers' pre-check (`answers.sh`) follows
/// byte for byte and a differential test holds them to: UTF-8 text (the
/// caller refuses anything else) without NUL, U+FFFE or U+FFFF; a byte-order mark at the very
/// start is ignored; lines end at `\n`, and one `\r` at the end of a line (the
/// last one too) is dropped;
/// spaces and tabs around a line, a key and a value are insignificant (no
/// other character is trimmed); empty lines and lines starting with `;` or
/// `#` are comments; `[Settings]` (any ASCII case) opens the one section,
/// any other section is an error and its lines are ignored; `Key=value`
/// splits at the first `=`, the key non-empty; a key set twice is an
/// error (the first stays); anything else is an error.
pub fn parse(text: &str) -> (Vec<Entry>, Vec<EntryError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut in_other_section = false;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Not `str::lines`: a last line without `\n` loses its `\r` too, as
    // the shell pre-check's awk drops it.
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = i + 1;
        if raw.contains('\0') {
            errors.push(EntryError {
                line,
                key: None,
                reason: "contains a NUL byte".into(),
            });
            continue;
        }
        if raw.contains(['\u{fffe}', '\u{ffff}']) {
            errors.push(EntryError {
                line,
                key: None,
                reason: "contains U+FFFE or U+FFFF, which are not characters".into(),
            });
            continue;
        }
        let t = trim(raw);
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            in_other_section = !trim(name).eq_ignore_ascii_case(SECTION);
            if in_other_section {
                errors.push(EntryError {
                    line,
                    key: None,
                    reason: format!("unknown section `[{}]`; allowed: [{SECTION}]", clip(trim(name))),
                });
            }
            continue;
        }
        if in_other_section {
            continue;
        }
        match t.split_once('=') {
            Some((k, v)) if !trim(k).is_empty() => {
                let name = trim(k).to_string();
                if let Some(prev) = entries.iter().find(|e: &&Entry| e.name == name) {
                    errors.push(EntryError {
                        line,
                        key: Some(name),
                        reason: format!("set twice (first on line {})", prev.line),
                    });
                    continue;
                }
                entries.push(Entry {
                    name,
                    value: trim(v).to_string(),
                    line,
                });
            }
            _ => errors.push(EntryError {
                line,
                key: None,
                reason: format!("expected `Name=value`, found `{}`", clip(t)),
            }),
        }
    }
    (entries, errors)
}

/// Spaces and tabs only: `str::trim` would also drop a no-break space or a
/// vertical tab, which the shell pre-check keeps (and then refuses).
fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Parses and validates against the schema for `platform`, returning the
/// entries with canonical values, or every problem found.
pub fn check(manifest: &Manifest, platform: Platform, text: &str) -> Result<Vec<Entry>, Vec<EntryError>> {
    let (entries, mut errors) = parse(text);
    let mut ok = Vec::new();
    for e in entries {
        match manifest.check_setting(platform, &e.name, &e.value) {
            Ok(value) => ok.push(Entry { value, ..e }),
            Err(reason) => errors.push(EntryError {
                line: e.line,
                key: Some(e.name),
                reason: reason.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// The administrator's file as shipped: a header and an empty section. It
/// names no setting and no version, so it is identical across releases and
/// an upgrade never stops at a conffile prompt or leaves a `.dpkg-dist` /
/// `.rpmnew` beside an edited copy. Settings are documented in the shipped
/// defaults file, which upgrades replace.
pub fn render_admin_template(manifest: &Manifest, platform: Platform) -> String {
    let p = &manifest.product;
    let defaults = &manifest.layout(platform).defaults_file;
    format!(
        "; {} administrator settings.\n;\n\
         ; Values set here override the installer's answers and the shipped defaults,\n\
         ; and upgrades never overwrite this file. Every setting, its allowed values\n\
         ; and its default are listed in {defaults};\n\
         ; copy a line from there to change it, then check this file with:\n\
         ;   outpost-agent config check <this file>\n\n[{SECTION}]\n",
        p.name
    )
}

/// The shipped defaults file: every setting of the platform with its
/// description, allowed values and default.
pub fn render_defaults(manifest: &Manifest, platform: Platform) -> String {
    let p = &manifest.product;
    let mut out = format!(
        "; {} {} shipped defaults. Owned by the package: every upgrade replaces\n\
         ; this file. Set values in {} instead.\n\n[{SECTION}]\n",
        p.name,
        p.version,
        manifest.layout(platform).config_file
    );
    for s in manifest.settings_on(platform) {
        let _ = writeln!(out, "\n; {} ({})", s.description, type_hint(&s.kind));
        let _ = writeln!(out, "{}={}", s.name, s.default_for(platform).unwrap_or(""));
    }
    out
}

fn type_hint(kind: &crate::SettingType) -> String {
    use crate::SettingType::*;
    match kind {
        String { allow_empty: true, .. } => "text, may be empty".into(),
        String { .. } => "text".into(),
        Bool => "true or false".into(),
        Integer { min, max } => format!("integer {min}..{max}"),
        Enum { values } => values.join(" | "),
        HostPort => "host:port".into(),
        HttpsUrl => "https URL".into(),
        AbsolutePath { allow_empty: true } => "absolute path, may be empty".into(),
        AbsolutePath { .. } => "absolute path".into(),
    }
}
