//! What changed between two inspected packages of the same format: every
//! metadata field, setting, file, script and section record added, removed
//! or changed, in section then key order. Only the fields that differ are
//! shown for a changed item.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{FileInfo, Package, Record, Setting};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    Added,
    Removed,
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `metadata`, `settings`, `files`, `scripts` or a section's name.
    pub section: String,
    pub key: String,
    pub change: What,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// Field-by-field text of two values that differ: only the fields that do.
type Fields = Vec<(&'static str, Option<String>)>;

fn setting_fields(s: &Setting) -> Fields {
    vec![
        ("default", s.default.clone()),
        ("property", s.property.clone()),
        ("installer default", s.installer_default.clone()),
    ]
}

fn file_fields(f: &FileInfo) -> Fields {
    vec![
        ("kind", Some(f.kind.clone())),
        ("mode", f.mode.clone()),
        ("owner", f.owner.clone()),
        ("size", Some(f.size.to_string())),
        ("sha256", f.sha256.clone()),
        ("target", f.target.clone()),
        ("flags", (!f.flags.is_empty()).then(|| f.flags.join(", "))),
    ]
}

fn show(fields: &Fields, only: Option<&Fields>) -> String {
    fields
        .iter()
        .enumerate()
        .filter(|(i, (_, v))| v.is_some() && only.is_none_or(|o| o[*i].1 != *v))
        .map(|(_, (k, v))| format!("{k} {}", v.as_deref().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_changed(a: &Fields, b: &Fields) -> (String, String) {
    let differing = |x: &Fields, y: &Fields| -> String {
        x.iter()
            .zip(y)
            .filter(|(p, q)| p.1 != q.1)
            .map(|((k, v), _)| format!("{k} {}", v.as_deref().unwrap_or("(none)")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (differing(a, b), differing(b, a))
}

fn record_fields(r: &Record) -> String {
    r.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

fn record_changed(a: &Record, b: &Record) -> (String, String) {
    let side = |x: &Record, y: &Record| {
        let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        keys.into_iter()
            .filter(|k| x.get(*k) != y.get(*k))
            .map(|k| format!("{k}={}", x.get(k).map_or("(none)", String::as_str)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (side(a, b), side(b, a))
}

/// The first line where two scripts differ, with each side's line count.
fn script_changed(a: &str, b: &str) -> (String, String) {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let n = la.iter().zip(&lb).take_while(|(x, y)| x == y).count();
    let side = |l: &Vec<&str>| format!("{} lines; line {}: {}", l.len(), n + 1, l.get(n).copied().unwrap_or("(end)"));
    (side(&la), side(&lb))
}

fn compare<V: PartialEq>(
    out: &mut Vec<Change>,
    section: &str,
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    one: impl Fn(&V) -> String,
    two: impl Fn(&V, &V) -> (String, String),
) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (change, old, new) = match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => {
                let (o, n) = two(x, y);
                (What::Changed, Some(o), Some(n))
            }
            (Some(x), None) => (What::Removed, Some(one(x)), None),
            (None, Some(y)) => (What::Added, None, Some(one(y))),
            (None, None) => continue,
        };
        out.push(Change {
            section: section.to_string(),
            key: key.clone(),
            change,
            old,
            new,
        });
    }
}

pub fn diff(a: &Package, b: &Package) -> Vec<Change> {
    let mut out = Vec::new();
    compare(&mut out, "metadata", &a.metadata, &b.metadata, String::clone, |x, y| {
        (x.clone(), y.clone())
    });
    if a.settings.file != b.settings.file {
        out.push(Change {
            section: "settings".into(),
            key: "(defaults file)".into(),
            change: What::Changed,
            old: a.settings.file.clone(),
            new: b.settings.file.clone(),
        });
    }
    compare(
        &mut out,
        "settings",
        &a.settings.values,
        &b.settings.values,
        |s| show(&setting_fields(s), None),
        |x, y| show_changed(&setting_fields(x), &setting_fields(y)),
    );
    compare(
        &mut out,
        "files",
        &a.files,
        &b.files,
        |f| show(&file_fields(f), None),
        |x, y| show_changed(&file_fields(x), &file_fields(y)),
    );
    compare(
        &mut out,
        "scripts",
        &a.scripts,
        &b.scripts,
        |s| format!("{} lines", s.lines().count()),
        |x, y| script_changed(x, y),
    );
    let empty = BTreeMap::new();
    let names: std::collections::BTreeSet<&String> = a.sections.keys().chain(b.sections.keys()).collect();
    for name in names {
        let (x, y) = (a.sections.get(name).unwrap_or(&empty), b.sections.get(name).unwrap_or(&empty));
        compare(&mut out, name, x, y, record_fields, record_changed);
    }
    out
}
