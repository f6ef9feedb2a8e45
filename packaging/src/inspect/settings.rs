//! Finding the shipped defaults file among a package's files, by its
//! format rather than by a path from the manifest: inspect reads what the
//! package holds. The defaults file (`content::Role::Defaults`) is the
//! settings format every layer reads (`outpost_manifest::settings_file`):
//! a `[Settings]` section with `Name=value` lines. The administrator's
//! template has the section but no value, the answers file has no content
//! in the package, and no other file parses cleanly, so the one file with
//! the section, at least one value and no error is the defaults file. If an
//! extra file looked the same, the one beside the self-validation list
//! wins, where the layout puts the defaults (`Layout::file_list`).

use std::collections::BTreeMap;

use outpost_manifest::settings_file::{self, SECTION};
use outpost_manifest::FILE_LIST_NAME;

use super::model::{Setting, Settings};

/// The values of a settings file, if `data` is one with at least one value.
fn values(data: &[u8]) -> Option<BTreeMap<String, String>> {
    let text = std::str::from_utf8(data).ok()?;
    let header = format!("[{}]", SECTION.to_ascii_lowercase());
    if !text.lines().any(|l| l.trim().to_ascii_lowercase() == header) {
        return None;
    }
    let (entries, errors) = settings_file::parse(text);
    if !errors.is_empty() || entries.is_empty() {
        return None;
    }
    Some(entries.into_iter().map(|e| (e.name, e.value)).collect())
}

fn parent(path: &str) -> &str {
    path.rfind(['/', '\\']).map_or("", |i| &path[..i])
}

/// The settings of the defaults file among `files` (path, content).
pub fn find<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Settings {
    let files: Vec<(&str, &[u8])> = files.into_iter().collect();
    let list_dirs: Vec<&str> = files
        .iter()
        .filter(|(p, _)| p.rsplit(['/', '\\']).next() == Some(FILE_LIST_NAME))
        .map(|(p, _)| parent(p))
        .collect();
    let mut found: Vec<(&str, BTreeMap<String, String>)> = files.iter().filter_map(|(p, d)| values(d).map(|v| (*p, v))).collect();
    // Beside the self-validation list first, then path order.
    found.sort_by_key(|(p, _)| (!list_dirs.contains(&parent(p)), p.to_string()));
    let Some((path, values)) = found.into_iter().next() else {
        return Settings::default();
    };
    Settings {
        file: Some(path.to_string()),
        values: values
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Setting {
                        default: Some(v),
                        property: None,
                        installer_default: None,
                    },
                )
            })
            .collect(),
    }
}
