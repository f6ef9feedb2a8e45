//! An MSI (and an MSP's own database) read back through `msi::Database`:
//! summary information, the tables a reviewer reads (Property, Feature,
//! Component, Upgrade, CustomAction) row by row, every other table and
//! stream by digest, the files with their SHA-256 from the embedded
//! cabinets, and the settings: the shipped defaults file in the cabinet and,
//! per setting, the property the installer writes it from (the answers
//! file's IniFile rows) and the default the installer gives that property.

use std::collections::BTreeMap;
use std::io::Read;

use crate::msi::{Database, SummaryInfo, Table, Value};

use super::error::Malformed;
use super::model::{record, sha256, FileInfo, Kind, Package, Record};
use super::settings;

/// Tables shown row by row; the others by digest.
const SHOWN: [&str; 5] = ["Property", "Feature", "Component", "Upgrade", "CustomAction"];
/// CustomAction type 51: set a property from a formatted text.
const SET_PROPERTY: i32 = 51;

pub fn read(bytes: &[u8], kind: Kind) -> Result<Package, Malformed> {
    let db = Database::from_bytes(bytes).map_err(|e| Malformed::new("database", e))?;
    let mut p = Package::new(kind);
    summary(&db.summary, kind, &mut p);
    tables(&db, &mut p);
    let cab_files = cabinet_files(&db)?;
    let contents = files(&db, &cab_files, &mut p);
    p.settings = settings::find(contents.iter().map(|(p, d)| (p.as_str(), *d)));
    installer_settings(&db, &mut p);
    Ok(p)
}

pub fn summary(s: &SummaryInfo, kind: Kind, p: &mut Package) {
    let revision = match kind {
        Kind::Msi => "package-code",
        Kind::Msp => "patch-code",
        _ => "revision-number",
    };
    let strings = [
        ("title", &s.title),
        ("subject", &s.subject),
        ("author", &s.author),
        ("keywords", &s.keywords),
        ("comments", &s.comments),
        ("template", &s.template),
        ("last-saved-by", &s.last_saved_by),
        (revision, &s.revision_number),
        ("creating-application", &s.creating_application),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            p.meta(k, v.clone());
        }
    }
    let times = [
        ("create-time", s.create_time),
        ("last-save-time", s.last_save_time),
        ("last-printed", s.last_printed),
    ];
    for (k, t) in times {
        if let Some(secs) = t.and_then(|t| t.unix_seconds()) {
            p.meta(k, crate::time::iso8601(secs, true));
        }
    }
    let ints = [
        ("page-count", s.page_count),
        ("word-count", s.word_count),
        ("character-count", s.character_count),
        ("security", s.security),
    ];
    for (k, i) in ints {
        if let Some(i) = i {
            p.meta(k, i.to_string());
        }
    }
    p.meta("codepage", s.codepage.to_string());
}

/// A cell as text: strings as they are, binaries by size and digest.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => s.clone(),
        Value::Binary(b) => format!("<{} bytes, sha256 {}>", b.len(), sha256(b)),
    }
}

/// A row's key, its key columns joined by `/`.
pub fn row_key(t: &Table, row: &[Value]) -> String {
    row[..t.def().key_len()].iter().map(cell).collect::<Vec<_>>().join("/")
}

fn row_record(t: &Table, row: &[Value]) -> Record {
    let cols = &t.def().columns[t.def().key_len()..];
    cols.iter()
        .zip(&row[t.def().key_len()..])
        .map(|(c, v)| (c.name.clone(), cell(v)))
        .collect()
}

fn tables(db: &Database, p: &mut Package) {
    for t in db.tables() {
        if SHOWN.contains(&t.name()) {
            for row in t.rows() {
                p.record(t.name(), row_key(t, row), row_record(t, row));
            }
        }
        let text: String = t
            .rows()
            .map(|r| r.iter().map(cell).collect::<Vec<_>>().join("\t") + "\n")
            .collect();
        let r = record([("rows", t.len().to_string()), ("sha256", sha256(text.as_bytes()))]);
        p.record("tables", t.name(), r);
    }
    for (name, data) in &db.streams {
        p.record(
            "streams",
            name.clone(),
            record([("size", data.len().to_string()), ("sha256", sha256(data))]),
        );
    }
    for name in db.storages.keys() {
        p.record("storages", name.clone(), Record::new());
    }
}

/// Every member of every embedded cabinet (`Media.Cabinet` = `#stream`),
/// by File key.
fn cabinet_files(db: &Database) -> Result<BTreeMap<String, Vec<u8>>, Malformed> {
    let mut out = BTreeMap::new();
    let Some(media) = db.table("Media") else { return Ok(out) };
    let col = media.def().column_index("Cabinet").unwrap_or(3);
    for row in media.rows() {
        let Some(name) = row.get(col).and_then(Value::as_str).and_then(|c| c.strip_prefix('#')) else {
            continue;
        };
        let part = format!("cabinet `{name}`");
        let data = db
            .streams
            .get(name)
            .ok_or_else(|| Malformed::new(&part, "the Media table names it, the package has no such stream"))?;
        let mut cab = cab::Cabinet::new(std::io::Cursor::new(data.as_slice())).map_err(|e| Malformed::new(&part, e))?;
        let names: Vec<String> = cab
            .folder_entries()
            .flat_map(|f| f.file_entries().map(|e| e.name().to_string()).collect::<Vec<_>>())
            .collect();
        for n in names {
            let mut bytes = Vec::new();
            cab.read_file(&n)
                .and_then(|mut r| r.read_to_end(&mut bytes))
                .map_err(|e| Malformed::new(format!("{part}, member `{n}`"), e))?;
            out.insert(n, bytes);
        }
    }
    Ok(out)
}

/// (path, File key, component, FileSize) per File row.
fn file_rows(db: &Database) -> Vec<(String, String, String, i32)> {
    let Some(t) = db.table("File") else { return Vec::new() };
    let dirs = directories(db);
    t.rows()
        .map(|r| {
            let key = cell(&r[0]);
            let component = cell(&r[1]);
            let name = long_name(&cell(&r[2]));
            let dir = db
                .table("Component")
                .and_then(|c| c.get(&[r[1].clone()]))
                .map(|c| cell(&c[2]))
                .unwrap_or_default();
            let base = dirs.get(&dir).cloned().unwrap_or_else(|| format!("[{dir}]"));
            (format!("{base}\\{name}"), key, component, r[3].as_int().unwrap_or(0))
        })
        .collect()
}

/// Adds every File row; returns the files' contents by path.
fn files<'c>(db: &Database, cab: &'c BTreeMap<String, Vec<u8>>, p: &mut Package) -> Vec<(String, &'c [u8])> {
    let mut contents = Vec::new();
    for (path, key, component, size) in file_rows(db) {
        let mut flags = vec![format!("component {component}")];
        let info = match cab.get(&key) {
            Some(data) => {
                if data.len() as i64 != i64::from(size) {
                    flags.push(format!("File.FileSize {size} but the cabinet holds {} bytes", data.len()));
                }
                contents.push((path.clone(), data.as_slice()));
                FileInfo::regular(data, None)
            }
            None => {
                flags.push("not in any embedded cabinet".into());
                FileInfo {
                    kind: "file".into(),
                    size: size.max(0) as u64,
                    ..FileInfo::default()
                }
            }
        };
        p.files.insert(path, FileInfo { flags, ..info });
    }
    contents
}

/// `short|long` → `long`; `target:source` → `target`.
fn long_name(default_dir: &str) -> String {
    let target = default_dir.split(':').next().unwrap_or(default_dir);
    target.rsplit('|').next().unwrap_or(target).to_string()
}

/// Each Directory's path: `[SystemFolderProperty]\Sub\Dir`.
fn directories(db: &Database) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(t) = db.table("Directory") else { return out };
    let rows: BTreeMap<String, (String, String)> = t
        .rows()
        .map(|r| (cell(&r[0]), (cell(&r[1]), long_name(&cell(&r[2])))))
        .collect();
    for id in rows.keys() {
        let mut parts = Vec::new();
        let mut at = id.clone();
        // Bounded: a cycle in a broken package must not hang inspect.
        for _ in 0..rows.len() {
            let Some((parent, name)) = rows.get(&at) else { break };
            if parent.is_empty() || parent == &at {
                break;
            }
            parts.push(if name == "." { format!("[{at}]") } else { name.clone() });
            if name == "." {
                break;
            }
            at = parent.clone();
        }
        if parts.last().is_none_or(|l| !l.starts_with('[')) {
            parts.push(format!("[{at}]"));
        }
        parts.reverse();
        out.insert(id.clone(), parts.join("\\"));
    }
    out
}

/// Per setting the answers file's IniFile rows name (`Key` = the setting,
/// `Value` = `[PROPERTY]`): the property, and what the installer gives it
/// when empty: a Property row's value, or a type-51 custom action that sets
/// it under the condition `NOT PROPERTY`.
fn installer_settings(db: &Database, p: &mut Package) {
    let Some(ini) = db.table("IniFile") else { return };
    let conditions: BTreeMap<String, String> = db
        .table("InstallExecuteSequence")
        .map(|t| t.rows().map(|r| (cell(&r[0]), cell(&r[1]))).collect())
        .unwrap_or_default();
    let property = |name: &str| {
        db.table("Property")
            .and_then(|t| t.get(&[Value::from(name)]))
            .map(|r| cell(&r[1]))
    };
    let set_by_action = |name: &str| {
        db.table("CustomAction")?.rows().find_map(|r| {
            let is_set = r[1].as_int().is_some_and(|t| t & 0x3f == SET_PROPERTY) && cell(&r[2]) == name;
            let unset = conditions
                .get(&cell(&r[0]))
                .is_some_and(|c| c.trim() == format!("NOT {name}"));
            (is_set && unset).then(|| cell(&r[3]))
        })
    };
    for r in ini.rows() {
        let (key, value) = (cell(&r[4]), cell(&r[5]));
        let Some(prop) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) else {
            continue;
        };
        let default = property(prop).or_else(|| set_by_action(prop)).unwrap_or_default();
        let s = p.settings.values.entry(key).or_insert_with(|| super::model::Setting {
            default: None,
            property: None,
            installer_default: None,
        });
        s.property = Some(prop.to_string());
        s.installer_default = Some(default);
    }
}
