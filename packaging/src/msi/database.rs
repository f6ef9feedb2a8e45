//! An in-memory Windows Installer database: tables (definition + rows),
//! streams, storages and summary information. `to_bytes` writes it through
//! the `msi` crate (string pool, column-major table streams, `_Tables`,
//! `_Columns`, `_Validation`), then re-packs the result as CFB version 3
//! with our own summary stream; `from_bytes` reads any MSI or MSP (CFB V3 or
//! V4) back into the same model, so the transform and patch builders can
//! compare two databases.
//!
//! Row order: the `msi` crate sorts every table's rows when it writes them,
//! comparing column by column (the key columns lead, see
//! `TableDef::validate`) the stored values: string-pool ids for strings,
//! numbers for integers, NULL first. That is the order msi.dll keeps and
//! binary-searches (Wine's `find_insert_index` compares the same stored
//! ids). The string ids come from the order in which values are interned,
//! and this module always interns in one order (tables by name, rows by
//! key), so equal databases give equal bytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read, Write};

use uuid::Uuid;

use super::codepage;
use super::container::{self, Storage};
use super::filename;
use super::schema::{ColumnDef, ColumnType, TableDef};
use super::summary::SummaryInfo;
use super::{MsiError, Value};

const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";
/// Stream names starting with these belong to the summary (and other
/// property sets) and to tables; a root stream of ours may not take them.
const SUMMARY_PREFIX: char = '\u{5}';
const TABLE_PREFIX: char = '\u{4840}';
/// Written and read by the `msi` crate itself, not part of the model.
const SYSTEM_TABLES: [&str; 3] = ["_Tables", "_Columns", "_Validation"];
/// The `msi` crate refuses to read a table with more rows.
const MAX_ROWS: usize = 65_536;
/// Short string references hold 65535 ids; leave room for the category
/// names, sets and `Y`/`N` the crate puts into `_Validation`.
const MAX_STRINGS: usize = 65_535 - 200;

/// What the package is; decides the root storage's CLSID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PackageKind {
    /// An .msi.
    Installer,
    /// An .mst. Only the kind and its CLSID live here: a transform holds
    /// the difference of two databases, which the MST writer encodes, so
    /// `Database::to_bytes` refuses this kind.
    Transform,
    /// An .msp's root database (MsiPatchMetadata, MsiPatchSequence); its
    /// transforms are `storages`, its cabinet a stream.
    Patch,
}

impl PackageKind {
    /// The root storage CLSID Windows Installer recognises.
    pub fn clsid(self) -> Uuid {
        match self {
            PackageKind::Installer => Uuid::from_u128(0x000C1084_0000_0000_C000_000000000046),
            PackageKind::Transform => Uuid::from_u128(0x000C1082_0000_0000_C000_000000000046),
            PackageKind::Patch => Uuid::from_u128(0x000C1086_0000_0000_C000_000000000046),
        }
    }

    /// Summary Title (PID 2) Windows Installer's own tools write.
    pub fn default_title(self) -> &'static str {
        match self {
            PackageKind::Installer => "Installation Database",
            PackageKind::Transform => "Transform",
            PackageKind::Patch => "Patch",
        }
    }

    fn to_msi(self) -> ::msi::PackageType {
        match self {
            PackageKind::Installer => ::msi::PackageType::Installer,
            PackageKind::Transform => ::msi::PackageType::Transform,
            PackageKind::Patch => ::msi::PackageType::Patch,
        }
    }

    fn from_msi(t: ::msi::PackageType) -> PackageKind {
        match t {
            ::msi::PackageType::Installer => PackageKind::Installer,
            ::msi::PackageType::Transform => PackageKind::Transform,
            ::msi::PackageType::Patch => PackageKind::Patch,
        }
    }
}

/// A table: its definition and its rows, kept by primary key (so lookups
/// by key are cheap and iteration order does not depend on insertion
/// order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    def: TableDef,
    rows: BTreeMap<Vec<Value>, Vec<Value>>,
}

impl Table {
    pub fn new(def: TableDef) -> Result<Table, MsiError> {
        def.validate()?;
        Ok(Table {
            def,
            rows: BTreeMap::new(),
        })
    }

    pub fn def(&self) -> &TableDef {
        &self.def
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows in primary-key order.
    pub fn rows(&self) -> impl Iterator<Item = &[Value]> + '_ {
        self.rows.values().map(Vec::as_slice)
    }

    /// The row whose primary key columns equal `key`.
    pub fn get(&self, key: &[Value]) -> Option<&[Value]> {
        self.rows.get(&normalized(key)).map(Vec::as_slice)
    }

    /// Adds a row; its values are checked against the columns now (the code
    /// page is checked when the database is written). A row whose key is
    /// already present is an error.
    pub fn push(&mut self, row: Vec<Value>) -> Result<(), MsiError> {
        let row: Vec<Value> = row.into_iter().map(Value::normalized).collect();
        check_row(&self.def, &row, None)?;
        let key = key_of(&self.def, &row);
        if self.rows.contains_key(&key) {
            return Err(MsiError::Row {
                table: self.def.name.clone(),
                row: row_label(&self.def, &row),
                reason: "a row with this primary key is already in the table".into(),
            });
        }
        self.rows.insert(key, row);
        Ok(())
    }

    /// Adds a row or replaces the row with the same key; returns the old one.
    pub fn put(&mut self, row: Vec<Value>) -> Result<Option<Vec<Value>>, MsiError> {
        let row: Vec<Value> = row.into_iter().map(Value::normalized).collect();
        check_row(&self.def, &row, None)?;
        Ok(self.rows.insert(key_of(&self.def, &row), row))
    }

    pub fn remove(&mut self, key: &[Value]) -> Option<Vec<Value>> {
        self.rows.remove(&normalized(key))
    }

    /// Sets one non-key column of the row with primary key `key`.
    pub fn set(&mut self, key: &[Value], column: &str, value: impl Into<Value>) -> Result<(), MsiError> {
        let key = normalized(key);
        let label = key_label(&self.def, &key);
        let err = |reason: String| MsiError::Value {
            table: self.def.name.clone(),
            column: column.into(),
            row: label.clone(),
            reason,
        };
        let Some(index) = self.def.column_index(column) else {
            return Err(err("no such column".into()));
        };
        let col = &self.def.columns[index];
        if col.primary_key {
            return Err(err("a key column cannot be set; remove the row and push a new one".into()));
        }
        let value = value.into().normalized();
        check_value(col, &value, None, err)?;
        let Some(row) = self.rows.get_mut(&key) else {
            return Err(err("no row has this key".into()));
        };
        row[index] = value;
        Ok(())
    }
}

/// A whole package in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub kind: PackageKind,
    pub summary: SummaryInfo,
    tables: BTreeMap<String, Table>,
    /// Root streams by name (MSI-encoded when written), e.g. `agent.cab`
    /// for `Media.Cabinet = "#agent.cab"`. Binary cells are not here: they
    /// live in their rows.
    pub streams: BTreeMap<String, Vec<u8>>,
    /// Root storages by raw name, e.g. a patch's transforms.
    pub storages: BTreeMap<String, Storage>,
}

impl Database {
    /// An empty package with code page 1252 and the kind's usual title.
    pub fn new(kind: PackageKind) -> Database {
        Database {
            kind,
            summary: SummaryInfo::with_title(kind.default_title()),
            tables: BTreeMap::new(),
            streams: BTreeMap::new(),
            storages: BTreeMap::new(),
        }
    }

    /// The table `def` names, created empty if missing. A table of that
    /// name with another definition is an error.
    pub fn add_table(&mut self, def: TableDef) -> Result<&mut Table, MsiError> {
        if let Some(existing) = self.tables.get(&def.name) {
            if existing.def != def {
                return Err(MsiError::Schema {
                    table: def.name,
                    reason: "is already in the database with another definition".into(),
                });
            }
        } else {
            self.tables.insert(def.name.clone(), Table::new(def.clone())?);
        }
        self.tables.get_mut(&def.name).ok_or_else(|| MsiError::Schema {
            table: def.name,
            reason: "vanished".into(),
        })
    }

    /// Adds `row` to the table `def` names (created if missing), e.g.
    /// `db.insert(schema::property(), vec!["ProductName".into(), name.into()])`.
    pub fn insert(&mut self, def: TableDef, row: Vec<Value>) -> Result<(), MsiError> {
        self.add_table(def)?.push(row)
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(name)
    }

    /// Tables in name order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> + '_ {
        self.tables.values()
    }

    pub fn remove_table(&mut self, name: &str) -> Option<Table> {
        self.tables.remove(name)
    }

    /// The package file: CFB version 3, database and summary in
    /// `summary.codepage` (1252 unless changed), same bytes for the same
    /// database. Everything is checked before anything is written.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MsiError> {
        if self.kind == PackageKind::Transform {
            return Err(MsiError::format(
                "writing a transform",
                "a transform is the difference of two databases; the MST writer encodes it, not Database::to_bytes",
            ));
        }
        let summary = self.summary.to_bytes()?;
        let cp = codepage::for_writing(self.summary.codepage)?;
        // Check every table, row and name first: nothing half-written.
        let binaries = self.check_tables(cp)?;
        self.check_stream_names(&binaries)?;
        let v4 = self.write_with_msi_crate(cp, &binaries)?;
        self.repack_as_v3(&v4, summary)
    }

    /// Checks every table and row against its definition and the code page
    /// and what the `msi` crate can write; returns the binary cells' data
    /// by stream name, each with the cell that owns it (for messages).
    fn check_tables(&self, cp: ::msi::CodePage) -> Result<Binaries<'_>, MsiError> {
        let mut binaries: Binaries = BTreeMap::new();
        let mut strings: HashSet<&str> = HashSet::new();
        for table in self.tables.values() {
            let def = &table.def;
            def.validate()?;
            if table.rows.len() > MAX_ROWS {
                return Err(MsiError::Schema {
                    table: def.name.clone(),
                    reason: format!("has {} rows; the msi crate reads at most {MAX_ROWS}", table.rows.len()),
                });
            }
            strings.insert(&def.name);
            strings.extend(def.columns.iter().map(|c| c.name.as_str()));
            for row in table.rows.values() {
                strings.extend(row.iter().filter_map(Value::as_str));
                check_row(def, row, Some(cp))?;
                for (col, value) in def.columns.iter().zip(row) {
                    if let (ColumnType::Binary, Value::Binary(data)) = (col.ty, value) {
                        let name = binary_stream_name(def, row);
                        let owner = format!("table `{}`, column `{}`, row {}", def.name, col.name, row_label(def, row));
                        if let Some((_, other)) = binaries.insert(name.clone(), (data, owner.clone())) {
                            return Err(MsiError::stream(name, format!("is the data of both {other} and {owner}")));
                        }
                    }
                }
            }
        }
        // The crate panics past 65535 strings (it cannot switch to long
        // string references); the margin covers `_Validation`'s own strings.
        if strings.len() > MAX_STRINGS {
            return Err(MsiError::format(
                "writing the string pool",
                format!(
                    "{} distinct strings; the msi crate supports at most about {MAX_STRINGS}",
                    strings.len()
                ),
            ));
        }
        Ok(binaries)
    }

    /// Root streams may not take a binary cell's name or a reserved one.
    fn check_stream_names(&self, binaries: &Binaries) -> Result<(), MsiError> {
        for name in self.streams.keys() {
            if let Some((_, owner)) = binaries.get(name) {
                return Err(MsiError::stream(name.clone(), format!("is also the data of {owner}")));
            }
            if name.starts_with(SUMMARY_PREFIX) || name.starts_with(TABLE_PREFIX) {
                return Err(MsiError::stream(
                    name.clone(),
                    "names starting with U+0005 or U+4840 are reserved",
                ));
            }
        }
        Ok(())
    }

    /// The tables, rows, binary cells and root streams as the `msi` crate
    /// writes them (a CFB version 4 file with its own summary).
    fn write_with_msi_crate(&self, cp: ::msi::CodePage, binaries: &Binaries) -> Result<Vec<u8>, MsiError> {
        let crate_err = |what: &str, e: std::io::Error| MsiError::format(what, e);
        let mut package = ::msi::Package::create(self.kind.to_msi(), Cursor::new(Vec::new()))
            .map_err(|e| crate_err("creating the package", e))?;
        package.set_database_codepage(cp);
        package.summary_info_mut().set_codepage(cp);
        for table in self.tables.values() {
            let columns = table.def.columns.iter().map(ColumnDef::to_msi).collect();
            package
                .create_table(table.def.name.as_str(), columns)
                .map_err(|e| MsiError::Schema {
                    table: table.def.name.clone(),
                    reason: e.to_string(),
                })?;
        }
        for table in self.tables.values().filter(|t| !t.rows.is_empty()) {
            let rows = table
                .rows
                .values()
                .map(|row| row.iter().map(to_msi_value).collect())
                .collect();
            package
                .insert_rows(::msi::Insert::into(table.def.name.as_str()).rows(rows))
                .map_err(|e| MsiError::Schema {
                    table: table.def.name.clone(),
                    reason: format!("the msi crate refused the rows: {e}"),
                })?;
        }
        let streams = binaries
            .iter()
            .map(|(name, (data, _))| (name, *data))
            .chain(self.streams.iter().map(|(n, d)| (n, d.as_slice())));
        for (name, data) in streams {
            package.write_stream(name).and_then(|mut s| s.write_all(data)).map_err(|e| {
                MsiError::stream(
                    name.clone(),
                    format!("{e} (an encoded stream name is limited to 31 characters)"),
                )
            })?;
        }
        Ok(package
            .into_inner()
            .map_err(|e| crate_err("finishing the package", e))?
            .into_inner())
    }

    /// The crate's file re-packed as CFB V3 with our summary stream and the
    /// storages.
    fn repack_as_v3(&self, v4: &[u8], summary: Vec<u8>) -> Result<Vec<u8>, MsiError> {
        let mut root = Storage::from_cfb(v4)?;
        root.clsid = self.kind.clsid();
        root.streams.insert(SUMMARY_STREAM.to_string(), summary);
        for (name, storage) in &self.storages {
            if root.streams.contains_key(name) || root.storages.contains_key(name) {
                return Err(MsiError::stream(
                    name.clone(),
                    "a storage cannot share its name with a stream",
                ));
            }
            root.storages.insert(name.clone(), storage.clone());
        }
        container::write_v3(&root)
    }

    /// Reads an MSI or MSP (CFB V3 or V4, any code page the `msi` crate
    /// knows). Digital signatures are not part of the model and are dropped.
    /// A code-page-neutral database (0, as wixl writes) reads as 65001,
    /// which `to_bytes` refuses until `summary.codepage` is set.
    pub fn from_bytes(bytes: &[u8]) -> Result<Database, MsiError> {
        let mut package = ::msi::Package::open(Cursor::new(bytes)).map_err(|e| read_err("not a Windows Installer package", e))?;
        let kind = PackageKind::from_msi(package.package_type());
        let codepage = u16::try_from(package.database_codepage().id()).unwrap_or(0);
        let root = Storage::from_cfb(bytes)?;
        let summary = read_summary(&root, codepage)?;
        let foreign_keys = read_foreign_keys(&mut package)?;
        let mut streams = read_streams(&mut package)?;
        let mut tables = BTreeMap::new();
        let names: Vec<String> = package
            .tables()
            .map(|t| t.name().to_string())
            .filter(|n| !SYSTEM_TABLES.contains(&n.as_str()))
            .collect();
        for name in names {
            let table = read_table(&mut package, &name, &foreign_keys, &mut streams)?;
            tables.insert(name, table);
        }
        Ok(Database {
            kind,
            summary,
            tables,
            streams,
            storages: root.storages,
        })
    }
}

/// Binary cells' data by stream name, with the cell that owns it.
type Binaries<'a> = BTreeMap<String, (&'a [u8], String)>;
/// A package being read.
type Reading<'a> = ::msi::Package<Cursor<&'a [u8]>>;
/// KeyTable/KeyColumn by (table, column).
type ForeignKeys = HashMap<(String, String), (String, i16)>;

fn read_err(what: &str, e: std::io::Error) -> MsiError {
    MsiError::format(what, e)
}

/// Our reading of the summary stream, in the database's code page (which
/// the crate reads from the string pool).
fn read_summary(root: &Storage, codepage: u16) -> Result<SummaryInfo, MsiError> {
    let summary_bytes = root.streams.get(SUMMARY_STREAM).ok_or_else(|| MsiError::Summary {
        field: "stream",
        reason: "the package has no \\x05SummaryInformation stream".into(),
    })?;
    Ok(SummaryInfo {
        codepage,
        ..SummaryInfo::from_bytes(summary_bytes, codepage)?
    })
}

/// KeyTable/KeyColumn, which the crate reads but does not expose.
fn read_foreign_keys(package: &mut Reading) -> Result<ForeignKeys, MsiError> {
    let mut foreign_keys = HashMap::new();
    if package.has_table("_Validation") {
        let rows = package
            .select_rows(::msi::Select::table("_Validation"))
            .map_err(|e| read_err("table `_Validation`", e))?;
        for row in rows.filter(|r| r.len() >= 7) {
            if let (Some(t), Some(c), Some(kt), Some(kc)) = (row[0].as_str(), row[1].as_str(), row[5].as_str(), row[6].as_int()) {
                foreign_keys.insert((t.to_string(), c.to_string()), (kt.to_string(), kc as i16));
            }
        }
    }
    Ok(foreign_keys)
}

/// Every stream the crate lists: root streams and binary cells alike (the
/// tables take theirs out).
fn read_streams(package: &mut Reading) -> Result<BTreeMap<String, Vec<u8>>, MsiError> {
    let mut streams = BTreeMap::new();
    let names: Vec<String> = package.streams().collect();
    for name in names {
        let mut data = Vec::new();
        package
            .read_stream(&name)
            .and_then(|mut s| s.read_to_end(&mut data))
            .map_err(|e| MsiError::stream(name.clone(), e))?;
        streams.insert(name, data);
    }
    Ok(streams)
}

/// The table `name`: its definition as the crate rebuilt it and its rows,
/// binary cells filled from (and taken out of) `streams`.
fn read_table(
    package: &mut Reading,
    name: &str,
    foreign_keys: &ForeignKeys,
    streams: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Table, MsiError> {
    let columns = package
        .get_table(name)
        .map(|t| t.columns().to_vec())
        .unwrap_or_default()
        .iter()
        .map(|c| ColumnDef::from_msi(name, c, foreign_keys.get(&(name.to_string(), c.name().to_string())).cloned()))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<::msi::Row> = package
        .select_rows(::msi::Select::table(name))
        .map_err(|e| read_err(&format!("table `{name}`"), e))?
        .collect();
    let mut table = Table {
        def: TableDef::new(name, columns),
        rows: BTreeMap::new(),
    };
    for r in rows {
        let row = read_row(&table.def, &r, streams)?;
        let key = key_of(&table.def, &row);
        if table.rows.contains_key(&key) {
            return Err(MsiError::Row {
                table: name.to_string(),
                row: row_label(&table.def, &row),
                reason: "the key appears twice in the package".into(),
            });
        }
        table.rows.insert(key, row);
    }
    Ok(table)
}

/// One row in our model; a binary cell's data is the stream named after the
/// row's key.
fn read_row(def: &TableDef, r: &::msi::Row, streams: &mut BTreeMap<String, Vec<u8>>) -> Result<Vec<Value>, MsiError> {
    let mut row: Vec<Value> = (0..r.len())
        .map(|i| match &r[i] {
            ::msi::Value::Null | ::msi::Value::Binary => Value::Null,
            ::msi::Value::Int(n) => Value::Int(*n),
            ::msi::Value::Str(s) => Value::Str(s.clone()).normalized(),
        })
        .collect();
    for i in 0..row.len() {
        if def.columns[i].ty == ColumnType::Binary && r[i] == ::msi::Value::Binary {
            let stream = binary_stream_name(def, &row);
            let data = streams.remove(&stream).ok_or_else(|| MsiError::Value {
                table: def.name.clone(),
                column: def.columns[i].name.clone(),
                row: row_label(def, &row),
                reason: format!("its stream `{stream}` is missing"),
            })?;
            row[i] = Value::Binary(data);
        }
    }
    Ok(row)
}

fn normalized(key: &[Value]) -> Vec<Value> {
    key.iter().cloned().map(Value::normalized).collect()
}

/// The row's primary key values (by the key flag, so this also works for
/// tables read from other tools' packages).
fn key_of(def: &TableDef, row: &[Value]) -> Vec<Value> {
    def.columns
        .iter()
        .zip(row)
        .filter(|(c, _)| c.primary_key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// `Property="ProductName"`, `Feature_="Client", Level=0`: how errors name a row.
fn row_label(def: &TableDef, row: &[Value]) -> String {
    let parts: Vec<String> = def
        .columns
        .iter()
        .zip(row)
        .filter(|(c, _)| c.primary_key)
        .map(|(c, v)| format!("{}={v}", c.name))
        .collect();
    if parts.is_empty() {
        "(no key)".into()
    } else {
        parts.join(", ")
    }
}

fn key_label(def: &TableDef, key: &[Value]) -> String {
    let names = def.columns.iter().filter(|c| c.primary_key);
    names
        .zip(key)
        .map(|(c, v)| format!("{}={v}", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// msi.dll's name for a binary cell's stream: the table name and the key
/// values, joined by `.` (Wine `get_stream_name`).
pub(crate) fn binary_stream_name(def: &TableDef, row: &[Value]) -> String {
    let mut name = def.name.clone();
    for (c, v) in def.columns.iter().zip(row) {
        if c.primary_key {
            name.push('.');
            match v {
                Value::Str(s) => name.push_str(s),
                Value::Int(i) => name.push_str(&i.to_string()),
                Value::Null | Value::Binary(_) => {}
            }
        }
    }
    name
}

fn to_msi_value(v: &Value) -> ::msi::Value {
    match v {
        Value::Null => ::msi::Value::Null,
        Value::Int(i) => ::msi::Value::Int(*i),
        Value::Str(s) if s.is_empty() => ::msi::Value::Null,
        Value::Str(s) => ::msi::Value::Str(s.clone()),
        Value::Binary(_) => ::msi::Value::Binary,
    }
}

/// Checks a whole row; `cp` also checks that strings fit the code page.
fn check_row(def: &TableDef, row: &[Value], cp: Option<::msi::CodePage>) -> Result<(), MsiError> {
    if row.len() != def.columns.len() {
        let names: Vec<&str> = def.columns.iter().map(|c| c.name.as_str()).collect();
        return Err(MsiError::Row {
            table: def.name.clone(),
            row: row_label(def, row),
            reason: format!(
                "has {} values; the table has {} columns ({})",
                row.len(),
                names.len(),
                names.join(", ")
            ),
        });
    }
    for (col, value) in def.columns.iter().zip(row) {
        check_value(col, value, cp, |reason| MsiError::Value {
            table: def.name.clone(),
            column: col.name.clone(),
            row: row_label(def, row),
            reason,
        })?;
    }
    Ok(())
}

/// What msi.dll and the `msi` crate would refuse, said up front. Only the
/// caller knows which table and row the value belongs to, so `refuse` turns
/// a reason into the error that names them (and builds the row label only
/// when something is refused).
fn check_value(
    col: &ColumnDef,
    value: &Value,
    cp: Option<::msi::CodePage>,
    refuse: impl Fn(String) -> MsiError,
) -> Result<(), MsiError> {
    let in_set = |v: String| {
        if col.set.is_empty() || col.set.contains(&v) {
            Ok(())
        } else {
            Err(refuse(format!(
                "{value} is not one of the allowed values {}",
                col.set.join(";")
            )))
        }
    };
    let in_range = |i: i32| match col.range {
        Some((min, max)) if i < min || i > max => Err(refuse(format!("{i} is outside {min}..={max}"))),
        _ => Ok(()),
    };
    match (col.ty, value) {
        (ColumnType::Binary, v) if v.is_null() => Err(refuse(
            "a binary column needs data (the msi crate cannot write a NULL stream)".into(),
        )),
        (_, v) if v.is_null() => {
            if col.nullable {
                Ok(())
            } else {
                Err(refuse(
                    "NULL (or an empty string, which Windows Installer stores as NULL) in a column that is not nullable".into(),
                ))
            }
        }
        (ColumnType::Int16, Value::Int(i)) => {
            if *i <= i32::from(i16::MIN) || *i > i32::from(i16::MAX) {
                return Err(refuse(format!(
                    "{i} does not fit a 16-bit column (-32767..=32767; -32768 means NULL)"
                )));
            }
            in_range(*i)?;
            in_set(i.to_string())
        }
        (ColumnType::Int32, Value::Int(i)) => {
            if *i == i32::MIN {
                return Err(refuse(format!("{i} means NULL in a 32-bit column")));
            }
            in_range(*i)?;
            in_set(i.to_string())
        }
        (ColumnType::Str(max), Value::Str(s)) => {
            let len = s.chars().count();
            if max > 0 && len > usize::from(max) {
                return Err(refuse(format!("{len} characters; the column holds at most {max}")));
            }
            if let Some(category) = col.category {
                match category {
                    ::msi::Category::Filename => filename::check_filename_value(s),
                    ::msi::Category::DefaultDir => filename::check_default_dir_value(s),
                    c if !c.validate(s) => return Err(refuse(format!("{value} is not a valid {c}"))),
                    _ => Ok(()),
                }
                .map_err(|e| refuse(e.to_string()))?;
            }
            in_set(s.clone())?;
            match cp {
                Some(cp) => codepage::check(cp, s).map_err(|e| refuse(e.to_string())),
                None => Ok(()),
            }
        }
        (ColumnType::Binary, Value::Binary(_)) => Ok(()),
        (_, v) => Err(refuse(format!("{v} does not fit a column of type {}", col.idt_type()))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::*;

    fn db() -> Database {
        let mut db = Database::new(PackageKind::Installer);
        db.insert(schema::property(), vec!["ProductName".into(), "Outpost Client".into()])
            .unwrap();
        db.insert(
            schema::property(),
            vec!["Manufacturer".into(), "Outpost Systems — café".into()],
        )
        .unwrap();
        db.insert(schema::binary(), vec!["Helper".into(), Value::Binary(b"MZ helper".to_vec())])
            .unwrap();
        db.insert(
            schema::media(),
            vec![1.into(), 1.into(), Value::Null, "#agent.cab".into(), Value::Null, Value::Null],
        )
        .unwrap();
        db.streams.insert("agent.cab".into(), b"MSCF...".to_vec());
        db
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let a = db().to_bytes().unwrap();
        assert_eq!(a, db().to_bytes().unwrap());
        assert_eq!(Database::from_bytes(&a).unwrap(), db());
    }

    #[test]
    fn row_order_does_not_change_the_bytes() {
        let mut other = Database::new(PackageKind::Installer);
        other
            .insert(
                schema::media(),
                vec![1.into(), 1.into(), Value::Null, "#agent.cab".into(), Value::Null, Value::Null],
            )
            .unwrap();
        other
            .insert(schema::binary(), vec!["Helper".into(), Value::Binary(b"MZ helper".to_vec())])
            .unwrap();
        other
            .insert(
                schema::property(),
                vec!["Manufacturer".into(), "Outpost Systems — café".into()],
            )
            .unwrap();
        other
            .insert(schema::property(), vec!["ProductName".into(), "Outpost Client".into()])
            .unwrap();
        other.streams.insert("agent.cab".into(), b"MSCF...".to_vec());
        assert_eq!(other.to_bytes().unwrap(), db().to_bytes().unwrap());
    }

    #[test]
    fn unencodable_strings_name_table_column_and_row() {
        let mut d = db();
        d.insert(schema::property(), vec!["Greeting".into(), "こんにちは".into()])
            .unwrap();
        let e = d.to_bytes().unwrap_err().to_string();
        assert!(
            e.starts_with("table `Property`, column `Value`, row Property=\"Greeting\": character 'こ'"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_refused_at_push() {
        let mut d = Database::new(PackageKind::Installer);
        let e = d
            .insert(schema::property(), vec!["P".into(), "".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `Value`") && e.contains("not nullable"), "{e}");
        let e = d.insert(schema::property(), vec!["P".into()]).unwrap_err().to_string();
        assert!(e.contains("has 1 values"), "{e}");
        let e = d.insert(
            schema::component(),
            vec!["C".into(), "{lower}".into(), "D".into(), 0.into(), Value::Null, Value::Null],
        );
        assert!(e.unwrap_err().to_string().contains("not a valid GUID"));
        let e = d.insert(
            schema::ini_file(),
            vec![
                "I".into(),
                "a.ini".into(),
                Value::Null,
                "s".into(),
                "k".into(),
                "v".into(),
                2.into(),
                "C".into(),
            ],
        );
        assert!(e.unwrap_err().to_string().contains("allowed values 0;1;3"));
        let e = d.insert(
            schema::file(),
            vec![
                "F".into(),
                "C".into(),
                "outpost-agent.exe".into(),
                1.into(),
                Value::Null,
                Value::Null,
                Value::Null,
                1.into(),
            ],
        );
        assert!(e.unwrap_err().to_string().contains("short|long"));
        d.insert(schema::property(), vec!["P".into(), "1".into()]).unwrap();
        assert!(d
            .insert(schema::property(), vec!["P".into(), "2".into()])
            .unwrap_err()
            .to_string()
            .contains("already in the table"));
    }

    #[test]
    fn transforms_are_not_written_as_databases() {
        assert!(Database::new(PackageKind::Transform).to_bytes().is_err());
    }
}
