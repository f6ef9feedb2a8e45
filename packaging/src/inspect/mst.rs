//! What a transform (.mst) or a patch's transforms (.msp) change, decoded
//! from the transform's own string pool and table streams (the encoding is
//! written down in `msi::transform`). A table stream's records hold no
//! column types, which the base database has; here they come from the
//! standard tables' definitions (`msi::schema::standard`), which is every
//! table omnipack's transforms and patches change. A table with another
//! definition is listed by size, undecoded.

use std::collections::BTreeMap;

use crate::msi::container::Storage;
use crate::msi::schema::{self, ColumnType, TableDef};
use crate::msi::{SummaryInfo, Value};

use super::error::Malformed;
use super::model::{record, sha256, Kind, Package, Record};

const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";
const TABLE_PREFIX: char = '\u{4840}';
const LONG_REFS: u32 = 0x8000_0000;
/// Used when the transform's pool names no code page.
const DEFAULT_CODEPAGE: u16 = 1252;

pub fn read(bytes: &[u8]) -> Result<Package, Malformed> {
    let root = Storage::from_cfb(bytes).map_err(|e| Malformed::new("compound file", e))?;
    let mut p = Package::new(Kind::Mst);
    let summary = root
        .streams
        .get(SUMMARY_STREAM)
        .ok_or_else(|| Malformed::new("summary information", "missing"))?;
    let s = SummaryInfo::from_bytes(summary, DEFAULT_CODEPAGE).map_err(|e| Malformed::new("summary information", e))?;
    super::msi::summary(&s, Kind::Mst, &mut p);
    changes(&root, "", &mut p)?;
    Ok(p)
}

/// Adds an MSP's embedded transforms to what its database showed.
pub fn patch(bytes: &[u8], mut p: Package) -> Result<Package, Malformed> {
    let root = Storage::from_cfb(bytes).map_err(|e| Malformed::new("compound file", e))?;
    for (name, storage) in &root.storages {
        changes(storage, &format!("{name}: "), &mut p)?;
    }
    Ok(p)
}

/// `msi::transform::encode_stream_name` undone.
fn decode_name(name: &str) -> (bool, String) {
    let b64 = |v: u32| char::from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._"[(v & 0x3f) as usize]);
    let mut out = String::new();
    let table = name.starts_with(TABLE_PREFIX);
    for c in name.chars().skip(usize::from(table)) {
        match c as u32 {
            v @ 0x3800..0x4800 => {
                out.push(b64(v - 0x3800));
                out.push(b64((v - 0x3800) >> 6));
            }
            v @ 0x4800..0x4840 => out.push(b64(v - 0x4800)),
            _ => out.push(c),
        }
    }
    (table, out)
}

struct Pool {
    strings: Vec<String>,
    long: bool,
}

fn pool(streams: &BTreeMap<String, (String, Vec<u8>)>) -> Result<Pool, Malformed> {
    let get = |n: &str| {
        streams
            .get(n)
            .map(|(_, d)| d.as_slice())
            .ok_or_else(|| Malformed::new(n, "missing"))
    };
    let (head, data) = (get("_StringPool")?, get("_StringData")?);
    let bad = || Malformed::new("_StringPool", "truncated");
    let u16_at = |at: usize| head.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or_else(bad);
    let header = u32::from(u16_at(0)?) | u32::from(u16_at(2)?) << 16;
    let cp = ::msi::CodePage::from_id((header & 0xffff) as i32).unwrap_or(::msi::CodePage::Windows1252);
    let mut strings = vec![String::new()];
    let (mut at, mut offset) = (4, 0usize);
    while at < head.len() {
        let (mut len, refs) = (usize::from(u16_at(at)?), u16_at(at + 2)?);
        at += 4;
        if len == 0 && refs != 0 {
            len = (usize::from(u16_at(at)?)) | usize::from(u16_at(at + 2)?) << 16;
            at += 4;
        }
        let s = data
            .get(offset..offset + len)
            .ok_or_else(|| Malformed::new("_StringData", "shorter than the pool says"))?;
        strings.push(cp.decode(s));
        offset += len;
    }
    Ok(Pool {
        strings,
        long: header & LONG_REFS != 0,
    })
}

/// Every table stream of the transform in `storage`, as section
/// `<prefix><Table>` with one record per row: the operation and the
/// columns it carries.
fn changes(storage: &Storage, prefix: &str, p: &mut Package) -> Result<(), Malformed> {
    let streams: BTreeMap<String, (String, Vec<u8>)> = storage
        .streams
        .iter()
        .map(|(n, d)| (decode_name(n).1, (n.clone(), d.clone())))
        .collect();
    let tables: Vec<&String> = storage.streams.keys().filter(|n| decode_name(n).0).collect();
    if tables.is_empty() {
        return Ok(());
    }
    let pool = pool(&streams)?;
    for raw in tables {
        let name = decode_name(raw).1;
        if name == "_StringPool" || name == "_StringData" {
            continue;
        }
        let data = &storage.streams[raw];
        let section = format!("{prefix}{name}");
        let Some(def) = table_def(&name) else {
            p.record(
                &section,
                "(undecoded)",
                record([("size", data.len().to_string()), ("sha256", sha256(data))]),
            );
            continue;
        };
        for (key, r) in records(&name, &def, &pool, data)? {
            p.record(&section, key, r);
        }
    }
    for (name, (raw, data)) in &streams {
        if !decode_name(raw).0 && !raw.starts_with('\u{5}') {
            p.record(
                &format!("{prefix}streams"),
                name.clone(),
                record([("size", data.len().to_string()), ("sha256", sha256(data))]),
            );
        }
    }
    Ok(())
}

fn table_def(name: &str) -> Option<TableDef> {
    match name {
        "_Tables" => Some(TableDef::new("_Tables", vec![schema::ColumnDef::string("Name", 64).key()])),
        "_Columns" => Some(TableDef::new(
            "_Columns",
            vec![
                schema::ColumnDef::string("Table", 64).key(),
                schema::ColumnDef::int16("Number").key(),
                schema::ColumnDef::string("Name", 64),
                schema::ColumnDef::int16("Type"),
            ],
        )),
        _ => schema::standard(name),
    }
}

/// The records of one table stream, by row key.
fn records(name: &str, def: &TableDef, pool: &Pool, data: &[u8]) -> Result<Vec<(String, Record)>, Malformed> {
    let part = format!("transform table `{name}`");
    let mut out = Vec::new();
    let mut at = 0;
    let key_len = def.key_len();
    while at < data.len() {
        let mask = read_uint(data, &mut at, 2, &part)? as u16;
        let (op, present): (&str, Vec<bool>) = if mask & 1 == 1 {
            let n = usize::from(mask >> 8).min(def.columns.len());
            ("insert", (0..def.columns.len()).map(|i| i < n).collect())
        } else if mask == 0 {
            ("delete", (0..def.columns.len()).map(|i| i < key_len).collect())
        } else {
            (
                "update",
                (0..def.columns.len()).map(|i| i < key_len || mask & (1 << i) != 0).collect(),
            )
        };
        let mut key = Vec::new();
        let mut r = record([("change", op)]);
        for (i, col) in def.columns.iter().enumerate().filter(|(i, _)| present[*i]) {
            let v = field(data, &mut at, col.ty, pool, &part)?;
            let shown = super::msi::cell(&v);
            if i < key_len {
                key.push(shown);
            } else {
                r.insert(col.name.clone(), shown);
            }
        }
        out.push((key.join("/"), r));
    }
    Ok(out)
}

fn read_uint(data: &[u8], at: &mut usize, width: usize, part: &str) -> Result<u32, Malformed> {
    let b = data
        .get(*at..*at + width)
        .ok_or_else(|| Malformed::new(part, format!("a record runs past the end at byte {at}")))?;
    *at += width;
    Ok(b.iter().rev().fold(0u32, |acc, x| acc << 8 | u32::from(*x)))
}

fn field(data: &[u8], at: &mut usize, ty: ColumnType, pool: &Pool, part: &str) -> Result<Value, Malformed> {
    Ok(match ty {
        ColumnType::Str(_) => {
            let id = read_uint(data, at, if pool.long { 3 } else { 2 }, part)? as usize;
            match id {
                0 => Value::Null,
                _ => Value::Str(
                    pool.strings
                        .get(id)
                        .cloned()
                        .ok_or_else(|| Malformed::new(part, format!("string id {id} is not in the pool")))?,
                ),
            }
        }
        ColumnType::Int16 => match read_uint(data, at, 2, part)? {
            0 => Value::Null,
            v => Value::Int(v as i32 - 0x8000),
        },
        ColumnType::Int32 => match read_uint(data, at, 4, part)? {
            0 => Value::Null,
            v => Value::Int((v ^ 0x8000_0000) as i32),
        },
        ColumnType::Binary => match read_uint(data, at, 2, part)? {
            0 => Value::Null,
            _ => Value::Str("(binary, in its own stream)".into()),
        },
    })
}
