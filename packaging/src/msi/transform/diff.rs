//! The difference of two databases: per table the inserted, updated and
//! deleted rows, new tables and appended columns, `_Validation` rows, and
//! new or changed root streams.

use std::collections::BTreeMap;

use super::{schema_err, VALIDATION_TABLE};
use crate::msi::schema::{ColumnDef, TableDef};
use crate::msi::{Database, MsiError, Table, Value};

/// What identifies a product for transform validation and summary PID
/// 7/8/9/14, read from a database's Property table and summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductIdentity {
    /// Property `ProductCode`.
    pub product_code: Option<String>,
    /// Property `ProductVersion`.
    pub product_version: Option<String>,
    /// Property `UpgradeCode`.
    pub upgrade_code: Option<String>,
    /// Property `ProductLanguage`, else the first language of the summary
    /// Template.
    pub language: Option<String>,
    /// The platform part of the summary Template (`x64`, `Intel`, …).
    pub platform: Option<String>,
    /// Summary Page Count: minimum installer version × 100.
    pub page_count: Option<i32>,
}

impl ProductIdentity {
    pub fn of(db: &Database) -> ProductIdentity {
        let property = |name: &str| {
            db.table("Property")
                .filter(|t| t.def().key_len() == 1 && t.def().columns.len() >= 2)
                .and_then(|t| t.get(&[Value::from(name)]).map(|row| row[1].clone()))
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let template = db.summary.template.clone().unwrap_or_default();
        let (platform, languages) = template.split_once(';').unwrap_or((template.as_str(), ""));
        let first_language = languages.split(',').next().filter(|l| !l.is_empty()).map(str::to_string);
        ProductIdentity {
            product_code: property("ProductCode"),
            product_version: property("ProductVersion"),
            upgrade_code: property("UpgradeCode"),
            language: property("ProductLanguage").or(first_language),
            platform: Some(platform.to_string()).filter(|p| !p.is_empty()),
            page_count: db.summary.page_count,
        }
    }

    /// `platform;language` as a transform's Template and Last Saved By
    /// carry it (a transform names one language).
    pub fn platform_language(&self) -> String {
        format!(
            "{};{}",
            self.platform.as_deref().unwrap_or(""),
            self.language.as_deref().unwrap_or("")
        )
    }
}

/// How a changed table relates to the base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableShape {
    /// The base has the table with the same columns.
    Existing,
    /// The transform creates the table (`_Tables` + `_Columns` records).
    New,
    /// The base has the table; the transform appends the columns from
    /// `first_new` on (`_Columns` records with explicit numbers).
    Extended { first_new: usize },
}

/// One changed row: its key and the new values of the columns that changed
/// (column index into the target definition, new value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowUpdate {
    pub key: Vec<Value>,
    pub changes: Vec<(usize, Value)>,
}

/// The changes to one table. Rows and keys are in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDiff {
    /// The table's definition in the target (all columns).
    pub def: TableDef,
    pub shape: TableShape,
    /// Whole rows in the target's column layout.
    pub inserted: Vec<Vec<Value>>,
    pub updated: Vec<RowUpdate>,
    /// Keys of rows the target no longer has.
    pub deleted: Vec<Vec<Value>>,
}

impl TableDiff {
    fn unchanged(def: TableDef, shape: TableShape) -> TableDiff {
        TableDiff {
            def,
            shape,
            inserted: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.shape == TableShape::Existing && self.inserted.is_empty() && self.updated.is_empty() && self.deleted.is_empty()
    }
}

/// Everything a transform from one database to another changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformSet {
    /// Identity of the base (summary Template, Revision Number, validation).
    pub base: ProductIdentity,
    /// Identity of the target (summary Last Saved By, Revision Number).
    pub target: ProductIdentity,
    /// Changed tables by name. `_Validation` (`VALIDATION_TABLE`) appears
    /// when the base carries validation data and the target's column
    /// definitions add or change validation rows; its rows are derived from
    /// the definitions exactly as the database writer derives them.
    pub tables: BTreeMap<String, TableDiff>,
    /// Root streams the target adds or changes, by name (not encoded).
    pub streams: BTreeMap<String, Vec<u8>>,
}

impl TransformSet {
    /// True when the transform would change no table and no stream.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.streams.is_empty()
    }
}

/// Whether the storage type of a column (what `_Columns.Type` holds)
/// differs; validation facts (category, range, set, foreign key) do not
/// count here.
fn same_storage(a: &ColumnDef, b: &ColumnDef) -> bool {
    a.ty == b.ty && a.nullable == b.nullable && a.primary_key == b.primary_key && a.localizable == b.localizable
}

fn describe(c: &ColumnDef) -> String {
    format!("{}{}", c.idt_type(), if c.primary_key { " key" } else { "" })
}

/// Whether the database carries `_Validation` data: its column definitions
/// were read from (or will write) a `_Validation` table. wixl writes none;
/// the `msi` crate always writes one.
fn has_validation(db: &Database) -> bool {
    db.tables().any(|t| {
        t.def()
            .columns
            .iter()
            .any(|c| c.category.is_some() || c.range.is_some() || !c.set.is_empty() || c.foreign_key.is_some())
    })
}

/// `_Validation` as Windows Installer (and the `msi` crate) lay it out.
fn validation_def() -> TableDef {
    let s = |n: &str, len| ColumnDef::string(n, len);
    TableDef::new(
        VALIDATION_TABLE,
        vec![
            s("Table", 32).key(),
            s("Column", 32).key(),
            s("Nullable", 4),
            ColumnDef::int32("MinValue").nullable(),
            ColumnDef::int32("MaxValue").nullable(),
            s("KeyTable", 255).nullable(),
            ColumnDef::int16("KeyColumn").nullable(),
            s("Category", 32).nullable(),
            s("Set", 255).nullable(),
            s("Description", 255).nullable(),
        ],
    )
}

/// The `_Validation` rows the database writer produces for `def`, by key.
fn validation_rows(def: &TableDef) -> BTreeMap<Vec<Value>, Vec<Value>> {
    def.columns
        .iter()
        .map(|c| {
            let key = vec![Value::from(def.name.as_str()), Value::from(c.name.as_str())];
            let (min, max) = c.range.map_or((Value::Null, Value::Null), |(a, b)| (a.into(), b.into()));
            let (kt, kc) = c
                .foreign_key
                .as_ref()
                .map_or((Value::Null, Value::Null), |(t, n)| (t.as_str().into(), (*n).into()));
            let set = if c.set.is_empty() {
                Value::Null
            } else {
                Value::Str(c.set.join(";"))
            };
            let mut row = key.clone();
            row.extend([
                Value::from(if c.nullable { "Y" } else { "N" }),
                min,
                max,
                kt,
                kc,
                c.category.map_or(Value::Null, |cat| Value::Str(cat.to_string())),
                set,
                Value::Null,
            ]);
            (key, row)
        })
        .collect()
}

/// Compares two row sets (rows by key; base rows are padded with NULL to
/// the target's width) into inserts, updates and deletes.
fn diff_rows(
    key_len: usize,
    width: usize,
    base: &BTreeMap<Vec<Value>, Vec<Value>>,
    target: &BTreeMap<Vec<Value>, Vec<Value>>,
    out: &mut TableDiff,
) {
    for (key, row) in target {
        match base.get(key) {
            None => out.inserted.push(row.clone()),
            Some(old) => {
                let changes: Vec<(usize, Value)> = (key_len..width)
                    .filter(|&i| old.get(i).unwrap_or(&Value::Null) != &row[i])
                    .map(|i| (i, row[i].clone()))
                    .collect();
                if !changes.is_empty() {
                    out.updated.push(RowUpdate {
                        key: key.clone(),
                        changes,
                    });
                }
            }
        }
    }
    out.deleted = base.keys().filter(|k| !target.contains_key(*k)).cloned().collect();
}

fn rows_by_key(table: &Table) -> BTreeMap<Vec<Value>, Vec<Value>> {
    let key_len = table.def().key_len();
    table.rows().map(|r| (r[..key_len].to_vec(), r.to_vec())).collect()
}

/// The changes that turn `base` into `target`: per table the inserted,
/// updated (changed columns only) and deleted rows by primary key, new
/// tables and appended columns, `_Validation` rows for them, new or changed
/// root streams, and both products' identities.
///
/// Refused, with the table and column named: a column whose storage type
/// (type, width, nullability, key, localizable) changed, a removed or
/// renamed column, a new key column on an existing table, a table the
/// target drops, a stream or storage the target drops or a changed storage,
/// and a changed code page.
pub fn diff(base: &Database, target: &Database) -> Result<TransformSet, MsiError> {
    check_same_codepage(base, target)?;
    check_no_table_dropped(base, target)?;
    let mut tables = BTreeMap::new();
    for new in target.tables() {
        let out = diff_table(base.table(new.name()), new)?;
        if !out.is_empty() {
            tables.insert(out.def.name.clone(), out);
        }
    }
    if let Some(out) = diff_validation(base, target) {
        tables.insert(VALIDATION_TABLE.to_string(), out);
    }
    let streams = diff_streams(base, target)?;
    Ok(TransformSet {
        base: ProductIdentity::of(base),
        target: ProductIdentity::of(target),
        tables,
        streams,
    })
}

fn check_same_codepage(base: &Database, target: &Database) -> Result<(), MsiError> {
    if base.summary.codepage != target.summary.codepage {
        return Err(MsiError::Summary {
            field: "codepage",
            reason: format!(
                "the base uses code page {} and the target {}; a transform keeps the base's code page",
                base.summary.codepage, target.summary.codepage
            ),
        });
    }
    Ok(())
}

fn check_no_table_dropped(base: &Database, target: &Database) -> Result<(), MsiError> {
    for old in base.tables() {
        if target.table(old.name()).is_none() {
            return Err(schema_err(
                old.name(),
                "is in the base but not in the target; this transform writer does not drop tables (delete its rows instead)"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// The changes to one table of the target; `old` is the base's table of
/// that name, if any.
fn diff_table(old: Option<&Table>, new: &Table) -> Result<TableDiff, MsiError> {
    let def = new.def().clone();
    def.validate()?;
    let (shape, base_rows) = match old {
        None => (TableShape::New, BTreeMap::new()),
        Some(old) => (shape_of(old.def(), &def)?, rows_by_key(old)),
    };
    let (key_len, width) = (def.key_len(), def.columns.len());
    let mut out = TableDiff::unchanged(def, shape);
    diff_rows(key_len, width, &base_rows, &rows_by_key(new), &mut out);
    Ok(out)
}

/// How the target's definition `def` relates to the base's `old_def`:
/// the same columns, or the same ones followed by new non-key columns.
fn shape_of(old_def: &TableDef, def: &TableDef) -> Result<TableShape, MsiError> {
    for (i, c) in old_def.columns.iter().enumerate() {
        let Some(n) = def.columns.get(i) else {
            return Err(schema_err(
                &def.name,
                format!(
                    "column `{}` is in the base but not in the target; a transform cannot remove a column",
                    c.name
                ),
            ));
        };
        if n.name != c.name {
            return Err(schema_err(
                &def.name,
                format!(
                    "column `{}` (number {}) is `{}` in the target; a transform cannot remove, rename or reorder columns",
                    c.name,
                    i + 1,
                    n.name
                ),
            ));
        }
        if !same_storage(c, n) {
            return Err(schema_err(
                &def.name,
                format!(
                    "column `{}` changes its type from {} to {}; a transform cannot change the type of an existing column",
                    c.name,
                    describe(c),
                    describe(n)
                ),
            ));
        }
    }
    let first_new = old_def.columns.len();
    if let Some(k) = def.columns[first_new..].iter().find(|c| c.primary_key) {
        return Err(schema_err(
            &def.name,
            format!(
                "new column `{}` is a key column; a transform can only append non-key columns to an existing table",
                k.name
            ),
        ));
    }
    Ok(if first_new == def.columns.len() {
        TableShape::Existing
    } else {
        TableShape::Extended { first_new }
    })
}

/// `_Validation`, derived from the definitions on both sides; None when
/// the base carries no validation data or nothing changes.
fn diff_validation(base: &Database, target: &Database) -> Option<TableDiff> {
    if !has_validation(base) {
        return None;
    }
    let derive = |db: &Database| {
        let mut rows = BTreeMap::new();
        for t in db.tables() {
            rows.extend(validation_rows(t.def()));
        }
        rows
    };
    let vdef = validation_def();
    let (key_len, width) = (vdef.key_len(), vdef.columns.len());
    let mut out = TableDiff::unchanged(vdef, TableShape::Existing);
    diff_rows(key_len, width, &derive(base), &derive(target), &mut out);
    Some(out).filter(|out| !out.is_empty())
}

/// Root streams the target adds or changes; a stream the target drops or a
/// storage that differs is refused.
fn diff_streams(base: &Database, target: &Database) -> Result<BTreeMap<String, Vec<u8>>, MsiError> {
    let mut streams = BTreeMap::new();
    for (name, data) in &target.streams {
        if base.streams.get(name) != Some(data) {
            streams.insert(name.clone(), data.clone());
        }
    }
    if let Some(name) = base.streams.keys().find(|n| !target.streams.contains_key(*n)) {
        return Err(MsiError::stream(
            name.clone(),
            "is in the base but not in the target; a transform cannot remove a stream",
        ));
    }
    if base.storages != target.storages {
        let name = base
            .storages
            .keys()
            .chain(target.storages.keys())
            .find(|n| base.storages.get(*n) != target.storages.get(*n))
            .cloned()
            .unwrap_or_default();
        return Err(MsiError::stream(
            name,
            "this storage differs between base and target; a transform does not carry storages",
        ));
    }
    Ok(streams)
}
