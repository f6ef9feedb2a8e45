//! Writing a `TransformSet` as a transform storage: the transform's own
//! string pool, one record stream per changed table, binary cells and new
//! root streams, and the summary information.

use std::collections::{BTreeMap, HashMap};

use super::diff::{RowUpdate, TableDiff, TableShape, TransformSet};
use super::options::{transform_summary, TransformOptions};
use super::{schema_err, VALIDATION_TABLE};
use crate::msi::codepage;
use crate::msi::container::Storage;
use crate::msi::database::binary_stream_name;
use crate::msi::schema::{ColumnDef, ColumnType, TableDef};
use crate::msi::{Database, MsiError, PackageKind, Value};

const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";
/// Stream names starting with these belong to property sets and tables.
const SUMMARY_PREFIX: char = '\u{5}';
const TABLE_PREFIX: char = '\u{4840}';
/// Stream-name "compression": a pair of identifier characters becomes one
/// unit from here, a single one from `SINGLE_CHAR_BASE`.
const CHAR_PAIR_BASE: u32 = 0x3800;
const SINGLE_CHAR_BASE: u32 = 0x4800;
/// A CFB entry name holds at most 31 UTF-16 units.
const MAX_STREAM_NAME: usize = 31;
/// An update record's mask is 16 bits wide and bit 0 marks an insert, so
/// only columns 1..=15 can be updated one by one; a change in a later
/// column is written as delete + insert of the whole row.
const MASK_COLUMNS: usize = 16;
/// Record masks: bit 0 marks an insert, whose high byte is the number of
/// fields; a delete is 0 and carries the key.
const INSERT: u16 = 1;
const DELETE: u16 = 0;
/// The columns of `_Tables` (Name) and `_Columns` (Table, Number, Name, Type).
const TABLES_COLUMNS: usize = 1;
const COLUMNS_COLUMNS: usize = 4;
const LONG_STRING_REFS: u32 = 0x8000_0000;
/// Ids of 2-byte references; more strings need 3-byte references.
const SHORT_REF_MAX: usize = 0xffff;
const LONG_REF_MAX: usize = 0xff_ffff;
const LONG_REF_LEN: usize = 3;
/// Stored integers: an i2 is `value + I2_BIAS`, an i4 `value ^ I4_FLIP`, so
/// that 0 is NULL.
const I2_BIAS: i32 = 0x8000;
const I4_FLIP: u32 = 0x8000_0000;
/// The field of a binary cell that has data (in the stream named after it).
const BINARY_PRESENT: u16 = 1;

// Column type bits of `_Columns.Type` (msidbColumnType…); the low byte is
// the width.
const COL_VALID: i32 = 0x100;
const COL_LOCALIZABLE: i32 = 0x200;
const COL_NONBINARY: i32 = 0x400;
const COL_STRING: i32 = 0x800;
const COL_NULLABLE: i32 = 0x1000;
const COL_KEY: i32 = 0x2000;
const WIDTH_I2: i32 = 2;
const WIDTH_I4: i32 = 4;
const MAX_STRING_WIDTH: u16 = 0xff;

/// MSI stream-name "compression": pairs of identifier characters become one
/// unit in U+3800..U+47FF, a single one U+4800..U+483F; a table's stream
/// starts with U+4840. Other characters pass through.
pub fn encode_stream_name(name: &str, table: bool) -> String {
    fn b64(c: char) -> Option<u32> {
        match c {
            '0'..='9' => Some(c as u32 - '0' as u32),
            'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
            'a'..='z' => Some(c as u32 - 'a' as u32 + 36),
            '.' => Some(62),
            '_' => Some(63),
            _ => None,
        }
    }
    let mut out = String::new();
    if table {
        out.push(TABLE_PREFIX);
    }
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match b64(c) {
            Some(a) => match chars.peek().copied().and_then(b64) {
                Some(b) => {
                    chars.next();
                    out.extend(char::from_u32(CHAR_PAIR_BASE + (b << 6) + a));
                }
                None => out.extend(char::from_u32(SINGLE_CHAR_BASE + a)),
            },
            None => out.push(c),
        }
    }
    out
}

/// The .mst bytes of `set` against `base`: CFB version 3, the transform's
/// own string pool in the base's code page, one stream per changed table,
/// binary cells and new root streams as streams, and summary information
/// from `options` (PID 7/8/9/16 from `set` and `options`). The same inputs
/// always give the same bytes.
pub fn encode(base: &Database, set: &TransformSet, options: &TransformOptions) -> Result<Vec<u8>, MsiError> {
    let cp = codepage::for_writing(base.summary.codepage)?;
    let summary = transform_summary(base, set, options)?.to_bytes()?;
    // Check the set against the base before writing anything.
    for (name, t) in &set.tables {
        check_table(base, name, t)?;
    }
    // The pool's ids are given in order of first use, so the records are
    // made in a fixed order: `_Tables` and `_Columns` first (msi.dll
    // applies them first anyway), then each table's deletes, updates and
    // inserts.
    let mut pool = Pool::new(cp);
    let mut streams = Streams::default();
    let mut table_streams = schema_records(&mut pool, set)?;
    for (name, t) in &set.tables {
        let out = table_records(&mut pool, base, name, t)?;
        for (stream, data, shown) in out.binaries {
            streams.add(encode_stream_name(&stream, false), data, shown)?;
        }
        if !out.records.is_empty() {
            table_streams.push((name.clone(), out.records));
        }
    }

    // Serialize now that the pool's size (and so the reference width) is known.
    pool.check_size()?;
    let long = pool.long_refs();
    for (name, records) in &table_streams {
        streams.add(
            encode_stream_name(name, true),
            serialize(records, long),
            format!("table `{name}`"),
        )?;
    }
    let (pool_bytes, data) = pool.write(base.summary.codepage);
    streams.add(encode_stream_name("_StringPool", true), pool_bytes, "_StringPool".into())?;
    streams.add(encode_stream_name("_StringData", true), data, "_StringData".into())?;
    for (name, data) in &set.streams {
        if name.starts_with(SUMMARY_PREFIX) || name.starts_with(TABLE_PREFIX) {
            return Err(MsiError::stream(
                name.clone(),
                "names starting with U+0005 or U+4840 are reserved",
            ));
        }
        streams.add(encode_stream_name(name, false), data.clone(), format!("stream `{name}`"))?;
    }
    streams.add(SUMMARY_STREAM.to_string(), summary, "summary information".into())?;
    streams.into_cfb()
}

/// Refuses a table diff that does not fit the base: filed under another
/// name, a bad definition, a shape that contradicts the base, or an
/// inserted row of the wrong width.
fn check_table(base: &Database, name: &str, t: &TableDiff) -> Result<(), MsiError> {
    if *name != t.def.name {
        return Err(schema_err(name, format!("is filed under the definition of `{}`", t.def.name)));
    }
    if name != VALIDATION_TABLE {
        t.def.validate()?;
    }
    let existing = base.table(name).map(|b| b.def());
    match (&t.shape, existing) {
        (TableShape::New, Some(_)) => {
            return Err(schema_err(name, "is marked new but the base already has it".into()));
        }
        (TableShape::Existing | TableShape::Extended { .. }, None) if name != VALIDATION_TABLE => {
            return Err(schema_err(name, "is not in the base".into()));
        }
        (TableShape::Extended { first_new }, Some(b)) if b.columns.len() != *first_new => {
            return Err(schema_err(
                name,
                format!("has {} columns in the base, not {first_new}", b.columns.len()),
            ));
        }
        _ => {}
    }
    for row in &t.inserted {
        if row.len() != t.def.columns.len() {
            return Err(MsiError::Row {
                table: name.to_string(),
                row: row_label(&t.def, &row[..t.def.key_len().min(row.len())]),
                reason: format!("has {} values; the table has {} columns", row.len(), t.def.columns.len()),
            });
        }
    }
    Ok(())
}

/// `_Tables` records for new tables and `_Columns` records for their
/// columns and for columns appended to existing tables. Their layouts:
/// `_Tables` (Name s64 key), `_Columns` (Table s64 key, Number i2 key,
/// Name s64, Type i2).
fn schema_records(pool: &mut Pool, set: &TransformSet) -> Result<Vec<(String, Records)>, MsiError> {
    let mut tables_rec = Records::new();
    let mut columns_rec = Records::new();
    for (name, t) in &set.tables {
        let first_new = match t.shape {
            TableShape::Existing => continue,
            TableShape::New => {
                let id = pool.intern(name);
                tables_rec.push((insert_mask(TABLES_COLUMNS), vec![Field::Str(id)]));
                0
            }
            TableShape::Extended { first_new } => first_new,
        };
        for (i, c) in t.def.columns.iter().enumerate().skip(first_new) {
            let table_id = pool.intern(name);
            // NULL number: "the next column" of a new table, as msi.dll writes it.
            let number = if t.shape == TableShape::New {
                Field::I2(0)
            } else {
                i2(i as i32 + 1)
            };
            let name_id = pool.intern(&c.name);
            let ty = column_type(name, c)?;
            columns_rec.push((
                insert_mask(COLUMNS_COLUMNS),
                vec![Field::Str(table_id), number, Field::Str(name_id), i2(i32::from(ty))],
            ));
        }
    }
    let mut table_streams = Vec::new();
    if !tables_rec.is_empty() {
        table_streams.push(("_Tables".into(), tables_rec));
    }
    if !columns_rec.is_empty() {
        table_streams.push(("_Columns".into(), columns_rec));
    }
    Ok(table_streams)
}

/// The records of one table (deletes, updates, inserts) and the binary
/// cells they carry.
fn table_records<'t>(pool: &mut Pool, base: &Database, name: &'t str, t: &'t TableDiff) -> Result<TableOut<'t>, MsiError> {
    let mut out = TableOut::new(name, &t.def);
    for key in &t.deleted {
        out.delete(pool, key)?;
    }
    for u in &t.updated {
        out.update(pool, base, u)?;
    }
    for row in &t.inserted {
        out.insert(pool, row)?;
        out.carry_binaries(&row[..out.key_len], row);
    }
    Ok(out)
}

/// One field of a transform record, before string ids get their width.
#[derive(Clone, Copy, Debug)]
enum Field {
    /// String id in the transform's pool; 0 = NULL.
    Str(u32),
    /// Stored i2 (`value + 0x8000`, 0 = NULL).
    I2(u16),
    /// Stored i4 (`value ^ 0x8000_0000`, 0 = NULL).
    I4(u32),
}

/// The records (mask, fields) of one table stream.
type Records = Vec<(u16, Vec<Field>)>;

fn insert_mask(columns: usize) -> u16 {
    INSERT | ((columns as u16) << 8)
}

/// A table stream's bytes: row-major records, each its mask and fields;
/// string ids take 3 bytes once the pool needs long references.
fn serialize(records: &Records, long: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (mask, fields) in records {
        bytes.extend_from_slice(&mask.to_le_bytes());
        for f in fields {
            match *f {
                Field::Str(id) if long => bytes.extend_from_slice(&id.to_le_bytes()[..LONG_REF_LEN]),
                Field::Str(id) => bytes.extend_from_slice(&(id as u16).to_le_bytes()),
                Field::I2(v) => bytes.extend_from_slice(&v.to_le_bytes()),
                Field::I4(v) => bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
    bytes
}

/// The transform's string pool, ids in order of first use.
pub(super) struct Pool {
    cp: ::msi::CodePage,
    ids: HashMap<String, u32>,
    strings: Vec<(String, u32)>,
}

impl Pool {
    pub(super) fn new(cp: ::msi::CodePage) -> Pool {
        Pool {
            cp,
            ids: HashMap::new(),
            strings: Vec::new(),
        }
    }

    pub(super) fn intern(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(s) {
            self.strings[id as usize - 1].1 += 1;
            return id;
        }
        self.strings.push((s.to_string(), 1));
        let id = self.strings.len() as u32;
        self.ids.insert(s.to_string(), id);
        id
    }

    fn long_refs(&self) -> bool {
        self.strings.len() > SHORT_REF_MAX
    }

    fn check_size(&self) -> Result<(), MsiError> {
        if self.strings.len() > LONG_REF_MAX {
            return Err(MsiError::format(
                "writing the transform's string pool",
                format!("{} distinct strings; at most {LONG_REF_MAX}", self.strings.len()),
            ));
        }
        Ok(())
    }

    /// `_StringPool` and `_StringData`.
    pub(super) fn write(&self, codepage: u16) -> (Vec<u8>, Vec<u8>) {
        let mut header = u32::from(codepage);
        if self.long_refs() {
            header |= LONG_STRING_REFS;
        }
        let mut pool = header.to_le_bytes().to_vec();
        let mut data = Vec::new();
        for (s, refs) in &self.strings {
            let bytes = self.cp.encode(s);
            // The pool keeps a 16-bit count; it only has to be non-zero.
            let refs = (*refs).min(u32::from(u16::MAX)) as u16;
            match u16::try_from(bytes.len()) {
                Ok(len) => {
                    pool.extend_from_slice(&len.to_le_bytes());
                    pool.extend_from_slice(&refs.to_le_bytes());
                }
                Err(_) => {
                    // A string of 64 KiB or more: length 0, then its u32 length.
                    pool.extend_from_slice(&0u16.to_le_bytes());
                    pool.extend_from_slice(&refs.to_le_bytes());
                    pool.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                }
            }
            data.extend_from_slice(&bytes);
        }
        (pool, data)
    }

    /// The stored field of `value` in column `col`; `table` and `row` name
    /// the cell in messages.
    fn field(&mut self, table: &str, col: &ColumnDef, value: &Value, row: &str) -> Result<Field, MsiError> {
        let bad = |reason: String| MsiError::Value {
            table: table.to_string(),
            column: col.name.clone(),
            row: row.to_string(),
            reason,
        };
        let value = if value.is_null() { &Value::Null } else { value };
        Ok(match (col.ty, value) {
            (ColumnType::Str(_), Value::Null) => Field::Str(0),
            (ColumnType::Str(_), Value::Str(s)) => {
                codepage::check(self.cp, s).map_err(|e| bad(e.to_string()))?;
                Field::Str(self.intern(s))
            }
            (ColumnType::Int16, Value::Null) => Field::I2(0),
            (ColumnType::Int16, Value::Int(i)) => {
                let v = i16::try_from(*i)
                    .ok()
                    .filter(|v| *v != i16::MIN)
                    .ok_or_else(|| bad(format!("{i} does not fit a 16-bit column")))?;
                i2(i32::from(v))
            }
            (ColumnType::Int32, Value::Null) => Field::I4(0),
            (ColumnType::Int32, Value::Int(i)) => {
                if *i == i32::MIN {
                    return Err(bad(format!("{i} means NULL in a 32-bit column")));
                }
                Field::I4((*i as u32) ^ I4_FLIP)
            }
            (ColumnType::Binary, Value::Binary(_)) => Field::I2(BINARY_PRESENT),
            (ColumnType::Binary, Value::Null) => Field::I2(0),
            (_, v) => return Err(bad(format!("{v} does not fit a column of type {}", col.idt_type()))),
        })
    }
}

/// The records of one table stream being made, and the binary cells they
/// carry: (stream name, data, owner for messages).
struct TableOut<'t> {
    name: &'t str,
    def: &'t TableDef,
    key_len: usize,
    records: Records,
    binaries: Vec<(String, Vec<u8>, String)>,
}

impl<'t> TableOut<'t> {
    fn new(name: &'t str, def: &'t TableDef) -> TableOut<'t> {
        TableOut {
            name,
            def,
            key_len: def.key_len(),
            records: Records::new(),
            binaries: Vec::new(),
        }
    }

    fn width(&self) -> usize {
        self.def.columns.len()
    }

    /// An insert record: every column.
    fn insert(&mut self, pool: &mut Pool, row: &[Value]) -> Result<(), MsiError> {
        let label = row_label(self.def, &row[..self.key_len]);
        let fields = self
            .def
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| pool.field(self.name, c, v, &label))
            .collect::<Result<Vec<_>, _>>()?;
        self.records.push((insert_mask(self.width()), fields));
        Ok(())
    }

    fn delete(&mut self, pool: &mut Pool, key: &[Value]) -> Result<(), MsiError> {
        let fields = self.key_fields(pool, key)?;
        self.records.push((DELETE, fields));
        Ok(())
    }

    fn key_fields(&self, pool: &mut Pool, key: &[Value]) -> Result<Vec<Field>, MsiError> {
        if key.len() != self.key_len {
            return Err(MsiError::Row {
                table: self.name.to_string(),
                row: row_label(self.def, key),
                reason: format!("a key has {} values; the table has {} key columns", key.len(), self.key_len),
            });
        }
        let label = row_label(self.def, key);
        self.def
            .columns
            .iter()
            .zip(key)
            .map(|(c, v)| pool.field(self.name, c, v, &label))
            .collect()
    }

    /// An update record when the mask can name every changed column, else
    /// the whole row replaced.
    fn update(&mut self, pool: &mut Pool, base: &Database, u: &RowUpdate) -> Result<(), MsiError> {
        if u.changes.iter().any(|(i, _)| *i < self.key_len || *i >= self.width()) {
            return Err(MsiError::Row {
                table: self.name.to_string(),
                row: row_label(self.def, &u.key),
                reason: "an update names a key column or a column the table does not have".into(),
            });
        }
        if u.changes.iter().all(|(i, _)| *i < MASK_COLUMNS) {
            self.update_columns(pool, u)
        } else {
            self.replace_row(pool, base, u)
        }
    }

    /// The key, then the changed columns in column order, each with its
    /// mask bit.
    fn update_columns(&mut self, pool: &mut Pool, u: &RowUpdate) -> Result<(), MsiError> {
        let label = row_label(self.def, &u.key);
        let mut fields = self.key_fields(pool, &u.key)?;
        let mut changes = u.changes.clone();
        changes.sort_by_key(|(i, _)| *i);
        let mut mask = 0u16;
        for (i, v) in &changes {
            mask |= 1 << i;
            fields.push(pool.field(self.name, &self.def.columns[*i], v, &label)?);
            if let Value::Binary(data) = v {
                self.carry_binary(&u.key, &self.def.columns[*i], data);
            }
        }
        self.records.push((mask, fields));
        Ok(())
    }

    /// Columns past the 16-bit mask: delete the row and insert it whole.
    fn replace_row(&mut self, pool: &mut Pool, base: &Database, u: &RowUpdate) -> Result<(), MsiError> {
        let Some(old) = base.table(self.name).and_then(|b| b.get(&u.key)) else {
            return Err(MsiError::Row {
                table: self.name.to_string(),
                row: row_label(self.def, &u.key),
                reason: "updates a column past the 15th, which needs the whole row, and the base has no such row".into(),
            });
        };
        let mut row = old.to_vec();
        row.resize(self.width(), Value::Null);
        for (i, v) in &u.changes {
            row[*i] = v.clone();
        }
        self.delete(pool, &u.key)?;
        self.insert(pool, &row)?;
        self.carry_binaries(&u.key, &row);
        Ok(())
    }

    /// The binary cells of `row`, as streams named after `key`.
    fn carry_binaries(&mut self, key: &[Value], row: &[Value]) {
        for (c, v) in self.def.columns.iter().zip(row) {
            if let Value::Binary(data) = v {
                self.carry_binary(key, c, data);
            }
        }
    }

    fn carry_binary(&mut self, key: &[Value], col: &ColumnDef, data: &[u8]) {
        let mut full = key.to_vec();
        full.resize(self.width(), Value::Null);
        let shown = format!(
            "table `{}`, column `{}`, row {}",
            self.name,
            col.name,
            row_label(self.def, key)
        );
        self.binaries
            .push((binary_stream_name(self.def, &full), data.to_vec(), shown));
    }
}

/// The transform's streams by encoded name, each with what it holds (for
/// messages).
#[derive(Default)]
struct Streams(BTreeMap<String, (Vec<u8>, String)>);

impl Streams {
    fn add(&mut self, encoded: String, data: Vec<u8>, shown: String) -> Result<(), MsiError> {
        if encoded.encode_utf16().count() > MAX_STREAM_NAME {
            return Err(MsiError::stream(
                shown,
                "the MSI-encoded stream name is longer than 31 characters",
            ));
        }
        if let Some((_, other)) = self.0.get(&encoded) {
            return Err(MsiError::stream(shown, format!("has the same stream name as {other}")));
        }
        self.0.insert(encoded, (data, shown));
        Ok(())
    }

    fn into_cfb(self) -> Result<Vec<u8>, MsiError> {
        let root = Storage {
            clsid: PackageKind::Transform.clsid(),
            streams: self.0.into_iter().map(|(k, (d, _))| (k, d)).collect(),
            storages: BTreeMap::new(),
        };
        root.to_cfb()
    }
}

fn row_label(def: &TableDef, key: &[Value]) -> String {
    def.columns
        .iter()
        .zip(key)
        .map(|(c, v)| format!("{}={v}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `_Columns.Type` of a column.
pub(super) fn column_type(table: &str, c: &ColumnDef) -> Result<i16, MsiError> {
    let mut t = match c.ty {
        ColumnType::Int16 => WIDTH_I2 | COL_NONBINARY,
        ColumnType::Int32 => WIDTH_I4,
        ColumnType::Str(n) if n <= MAX_STRING_WIDTH => COL_STRING | COL_NONBINARY | i32::from(n),
        ColumnType::Str(n) => {
            return Err(schema_err(
                table,
                format!(
                    "column `{}`: a string column holds at most 255 characters or is unlimited (0), not {n}",
                    c.name
                ),
            ))
        }
        ColumnType::Binary => COL_STRING,
    } | COL_VALID;
    if c.localizable {
        t |= COL_LOCALIZABLE;
    }
    if c.nullable {
        t |= COL_NULLABLE;
    }
    if c.primary_key {
        t |= COL_KEY;
    }
    Ok(t as i16)
}

fn i2(v: i32) -> Field {
    Field::I2((v + I2_BIAS) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn stream_names_match_msi_dll() {
        // The encoded names in Wine's hand-written transform (tests/db.c).
        assert_eq!(units(&encode_stream_name("AAR", true)), [0x4840, 0x3a8a, 0x481b]);
        assert_eq!(
            units(&encode_stream_name("_Columns", true)),
            [0x4840, 0x3b3f, 0x43f2, 0x4438, 0x45b1]
        );
        assert_eq!(
            units(&encode_stream_name("_Tables", true)),
            [0x4840, 0x3f7f, 0x4164, 0x422f, 0x4836]
        );
        assert_eq!(
            units(&encode_stream_name("_StringData", true)),
            [0x4840, 0x3f3f, 0x4577, 0x446c, 0x3b6a, 0x45e4, 0x4824]
        );
        assert_eq!(
            units(&encode_stream_name("_StringPool", true)),
            [0x4840, 0x3f3f, 0x4577, 0x446c, 0x3e6a, 0x44b2, 0x482f]
        );
        assert_eq!(
            units(&encode_stream_name("BINARY.1", false)),
            [0x3c8b, 0x3a97, 0x409b, 0x387e]
        );
        assert_eq!(
            units(&encode_stream_name("Property", true)),
            [0x4840, 0x4559, 0x44f2, 0x4568, 0x4737]
        );
    }

    #[test]
    fn column_types_match_msi_dll() {
        let t = |c: ColumnDef| column_type("T", &c).unwrap() as u16;
        // From Wine's hand-written transform and Windows' _Columns.
        assert_eq!(t(ColumnDef::string("Property", 72).key()), 0x2d48);
        assert_eq!(t(ColumnDef::string("Value", 0).nullable()), 0x1d00);
        assert_eq!(t(ColumnDef::int16("BAR")), 0x0502);
        assert_eq!(t(ColumnDef::int16("PIG").nullable()), 0x1502);
        assert_eq!(t(ColumnDef::int32("Sequence")), 0x0104);
        assert_eq!(t(ColumnDef::localized("Value", 0)), 0x0f00);
        assert_eq!(t(ColumnDef::binary("Data")), 0x0900);
    }

    #[test]
    fn long_strings_use_the_extended_pool_entry() {
        let mut pool = Pool::new(codepage::for_writing(1252).unwrap());
        pool.intern("short");
        pool.intern(&"x".repeat(70_000));
        let (p, d) = pool.write(1252);
        assert_eq!(
            p,
            [
                &1252u32.to_le_bytes()[..],
                &[5, 0, 1, 0, 0, 0, 1, 0],
                &70_000u32.to_le_bytes()
            ]
            .concat()
        );
        assert_eq!(d.len(), 70_005);
    }
}
