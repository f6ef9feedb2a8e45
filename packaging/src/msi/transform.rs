//! Windows Installer transforms (.mst): the difference of two databases
//! (`diff`), its encoding as a transform file (`encode`), and the settings
//! transform an administrator hands to `msiexec TRANSFORMS=`
//! (`settings_transform`).
//!
//! There is no published specification of the table-diff encoding; the
//! readable ground truth is Wine's `dlls/msi/table.c`
//! (`msi_table_apply_transform`, `table_load_transform`,
//! `get_transform_record`) and the hand-written transform of Wine's test
//! suite (`dlls/msi/tests/db.c`, `generate_transform_manual`), which the
//! Wine project runs against Windows' own msi.dll. What this module writes:
//!
//! * A compound file (CFB version 3) whose root CLSID is
//!   `{000C1082-0000-0000-C000-000000000046}`.
//! * `\x05SummaryInformation`: Template (PID 7) = the base's
//!   `platform;language`, Last Saved By (PID 8) = the target's, Revision
//!   Number (PID 9) = `{OrigProductCode}OrigVersion;{NewProductCode}NewVersion;{UpgradeCode}`,
//!   Page Count (PID 14) = the larger of the two, Character Count (PID 16) =
//!   validation flags << 16 | ignored error conditions, Security 4.
//! * The transform's own string pool (`_StringPool`, `_StringData`) in the
//!   base's code page: ids from 1 in order of first use, each with the
//!   number of fields referring to it; 3-byte string references (the
//!   pool header's 0x8000_0000 bit) once there are more than 65535 strings.
//! * One stream per changed table, named U+4840 + the MSI-encoded table
//!   name, holding row-major records, each a u16 mask and fields:
//!   * insert: `mask = 1 | column count << 8`, every column;
//!   * delete: `mask = 0`, the key columns;
//!   * update: bit i set for each changed column i (the key columns are
//!     always present and have no bit).
//!
//!   Fields: a string is its id in the transform's pool (0 = NULL), an i2 is
//!   `value + 0x8000`, an i4 is `value ^ 0x8000_0000` (0 = NULL), a binary
//!   cell is `1` and its data is the transform's stream `<Table>.<key>`
//!   (MSI-encoded, no U+4840).
//! * New tables: a `_Tables` record (`0x0101`, name) and `_Columns` records
//!   (`0x0401`, Table, Number, Name, Type) with Number NULL ("next column",
//!   as msi.dll writes it for a new table); columns appended to an existing
//!   table carry their explicit Number.
//! * `_Validation` rows for new tables and columns (and changed validation
//!   facts) when the base carries validation data, so the transformed
//!   database describes its new columns as the target did.
//! * Root streams of the target that the base lacks or that differ (e.g. a
//!   new embedded cabinet), under their MSI-encoded names.

use std::collections::{BTreeMap, HashMap};

use super::codepage;
use super::container::Storage;
use super::database::binary_stream_name;
use super::schema::{self, ColumnDef, ColumnType, TableDef};
use super::summary::{FileTime, SummaryInfo};
use super::{Database, MsiError, PackageKind, Value};

/// Name of the pseudo-table whose rows this module derives from the column
/// definitions (see `TransformSet::tables`).
pub const VALIDATION_TABLE: &str = "_Validation";

const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";
const TABLE_PREFIX: char = '\u{4840}';
/// A CFB entry name holds at most 31 UTF-16 units.
const MAX_STREAM_NAME: usize = 31;
/// An update record's mask is 16 bits wide and bit 0 marks an insert, so
/// only columns 1..=15 can be updated one by one; a change in a later
/// column is written as delete + insert of the whole row.
const MASK_COLUMNS: usize = 16;
const LONG_STRING_REFS: u32 = 0x8000_0000;
/// Ids of 2-byte references; more strings need 3-byte references.
const SHORT_REF_MAX: usize = 0xffff;
const LONG_REF_MAX: usize = 0xff_ffff;

// Column type bits of `_Columns.Type` (msidbColumnType…).
const COL_VALID: i32 = 0x100;
const COL_LOCALIZABLE: i32 = 0x200;
const COL_NONBINARY: i32 = 0x400;
const COL_STRING: i32 = 0x800;
const COL_NULLABLE: i32 = 0x1000;
const COL_KEY: i32 = 0x2000;

// ======================================================================= //
// The difference of two databases.

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

fn schema_err(table: &str, reason: String) -> MsiError {
    MsiError::Schema {
        table: table.to_string(),
        reason,
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

fn rows_by_key(table: &super::Table) -> BTreeMap<Vec<Value>, Vec<Value>> {
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
    if base.summary.codepage != target.summary.codepage {
        return Err(MsiError::Summary {
            field: "codepage",
            reason: format!(
                "the base uses code page {} and the target {}; a transform keeps the base's code page",
                base.summary.codepage, target.summary.codepage
            ),
        });
    }
    let mut tables = BTreeMap::new();
    for old in base.tables() {
        if target.table(old.name()).is_none() {
            return Err(schema_err(
                old.name(),
                "is in the base but not in the target; this transform writer does not drop tables (delete its rows instead)"
                    .into(),
            ));
        }
    }
    for new in target.tables() {
        let def = new.def().clone();
        def.validate()?;
        let key_len = def.key_len();
        let mut out = TableDiff {
            def: def.clone(),
            shape: TableShape::New,
            inserted: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        };
        let base_rows = match base.table(new.name()) {
            None => BTreeMap::new(),
            Some(old) => {
                let old_def = old.def();
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
                out.shape = if first_new == def.columns.len() {
                    TableShape::Existing
                } else {
                    TableShape::Extended { first_new }
                };
                rows_by_key(old)
            }
        };
        diff_rows(key_len, def.columns.len(), &base_rows, &rows_by_key(new), &mut out);
        if !out.is_empty() {
            tables.insert(def.name.clone(), out);
        }
    }

    // `_Validation`, derived from the definitions on both sides.
    if has_validation(base) {
        let derive = |db: &Database| {
            let mut rows = BTreeMap::new();
            for t in db.tables() {
                rows.extend(validation_rows(t.def()));
            }
            rows
        };
        let vdef = validation_def();
        let mut out = TableDiff {
            def: vdef.clone(),
            shape: TableShape::Existing,
            inserted: Vec::new(),
            updated: Vec::new(),
            deleted: Vec::new(),
        };
        diff_rows(vdef.key_len(), vdef.columns.len(), &derive(base), &derive(target), &mut out);
        if !out.is_empty() {
            tables.insert(VALIDATION_TABLE.to_string(), out);
        }
    }

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
    Ok(TransformSet {
        base: ProductIdentity::of(base),
        target: ProductIdentity::of(target),
        tables,
        streams,
    })
}

// ======================================================================= //
// Options: summary information and PID 16.

/// Which part of ProductVersion a version validation compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionFields {
    /// MSITRANSFORM_VALIDATE_MAJORVERSION.
    Major,
    /// MSITRANSFORM_VALIDATE_MINORVERSION.
    MajorMinor,
    /// MSITRANSFORM_VALIDATE_UPDATEVERSION.
    MajorMinorUpdate,
}

/// How the version of the package being transformed must relate to the
/// base's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionRelation {
    /// MSITRANSFORM_VALIDATE_NEWLESSBASEVERSION: installed < base.
    Less,
    /// MSITRANSFORM_VALIDATE_NEWLESSEQUALBASEVERSION: installed <= base.
    LessOrEqual,
    /// MSITRANSFORM_VALIDATE_NEWEQUALBASEVERSION: installed == base.
    Equal,
    /// MSITRANSFORM_VALIDATE_NEWGREATEREQUALBASEVERSION: installed >= base.
    GreaterOrEqual,
    /// MSITRANSFORM_VALIDATE_NEWGREATERBASEVERSION: installed > base.
    Greater,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionCheck {
    pub fields: VersionFields,
    pub relation: VersionRelation,
}

/// What Windows Installer checks before it applies the transform (the high
/// word of summary PID 16). Wine 8 does not enforce these; Windows does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validation {
    /// MSITRANSFORM_VALIDATE_LANGUAGE: ProductLanguage must be the Template's.
    pub language: bool,
    /// MSITRANSFORM_VALIDATE_PRODUCT: ProductCode must be the base's.
    pub product_code: bool,
    /// MSITRANSFORM_VALIDATE_PLATFORM: the platform must be the Template's.
    pub platform: bool,
    /// MSITRANSFORM_VALIDATE_UPGRADECODE: UpgradeCode must be the base's.
    pub upgrade_code: bool,
    /// ProductVersion against the base's.
    pub version: Option<VersionCheck>,
}

impl Validation {
    /// The MSITRANSFORM_VALIDATE_* bits.
    pub fn bits(&self) -> u16 {
        let mut b = 0;
        for (on, bit) in [
            (self.language, 0x1),
            (self.product_code, 0x2),
            (self.platform, 0x4),
            (self.upgrade_code, 0x800),
        ] {
            if on {
                b |= bit;
            }
        }
        if let Some(v) = self.version {
            b |= match v.fields {
                VersionFields::Major => 0x8,
                VersionFields::MajorMinor => 0x10,
                VersionFields::MajorMinorUpdate => 0x20,
            };
            b |= match v.relation {
                VersionRelation::Less => 0x40,
                VersionRelation::LessOrEqual => 0x80,
                VersionRelation::Equal => 0x100,
                VersionRelation::GreaterOrEqual => 0x200,
                VersionRelation::Greater => 0x400,
            };
        }
        b
    }
}

/// Error conditions Windows Installer ignores while applying the transform
/// (the low word of summary PID 16; the same MSITRANSFORM_ERROR_* values
/// `MsiDatabaseApplyTransform` takes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IgnoredErrors {
    /// MSITRANSFORM_ERROR_ADDEXISTINGROW (0x1).
    pub add_existing_row: bool,
    /// MSITRANSFORM_ERROR_DELMISSINGROW (0x2).
    pub delete_missing_row: bool,
    /// MSITRANSFORM_ERROR_ADDEXISTINGTABLE (0x4).
    pub add_existing_table: bool,
    /// MSITRANSFORM_ERROR_DELMISSINGTABLE (0x8).
    pub delete_missing_table: bool,
    /// MSITRANSFORM_ERROR_UPDATEMISSINGROW (0x10).
    pub update_missing_row: bool,
    /// MSITRANSFORM_ERROR_CHANGECODEPAGE (0x20).
    pub change_codepage: bool,
}

impl IgnoredErrors {
    /// Every row and table condition, not the code page one.
    pub fn rows_and_tables() -> IgnoredErrors {
        IgnoredErrors {
            add_existing_row: true,
            delete_missing_row: true,
            add_existing_table: true,
            delete_missing_table: true,
            update_missing_row: true,
            change_codepage: false,
        }
    }

    /// The MSITRANSFORM_ERROR_* bits.
    pub fn bits(&self) -> u16 {
        [
            (self.add_existing_row, 0x1),
            (self.delete_missing_row, 0x2),
            (self.add_existing_table, 0x4),
            (self.delete_missing_table, 0x8),
            (self.update_missing_row, 0x10),
            (self.change_codepage, 0x20),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |b, (_, bit)| b | bit)
    }
}

/// Summary information of the transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformOptions {
    pub validation: Validation,
    pub ignored_errors: IgnoredErrors,
    /// PID 2; Windows' tools write "Transform".
    pub title: String,
    /// PID 3; None = the base's Subject (product name).
    pub subject: Option<String>,
    /// PID 4; None = the base's Author.
    pub author: Option<String>,
    /// PID 6.
    pub comments: Option<String>,
    /// PID 18.
    pub creating_application: Option<String>,
    /// PID 12 and 13. None leaves them out (the output then depends on
    /// nothing but the inputs).
    pub time: Option<FileTime>,
}

impl TransformOptions {
    /// An administrator's settings transform: applies only to the base's
    /// product (ProductCode, UpgradeCode) in the base's language, and does
    /// not fail on rows or tables that already exist or are already gone.
    pub fn settings() -> TransformOptions {
        TransformOptions {
            validation: Validation {
                language: true,
                product_code: true,
                upgrade_code: true,
                ..Validation::default()
            },
            ignored_errors: IgnoredErrors::rows_and_tables(),
            title: PackageKind::Transform.default_title().to_string(),
            subject: None,
            author: None,
            comments: None,
            creating_application: Some("omnipack".into()),
            time: None,
        }
    }

    /// A patch's transforms (WiX's PatchTransformDefault): product code,
    /// upgrade code and an equal major.minor.update version; row and table
    /// errors ignored.
    pub fn patch() -> TransformOptions {
        TransformOptions {
            validation: Validation {
                product_code: true,
                upgrade_code: true,
                version: Some(VersionCheck {
                    fields: VersionFields::MajorMinorUpdate,
                    relation: VersionRelation::Equal,
                }),
                ..Validation::default()
            },
            ..TransformOptions::settings()
        }
    }

    /// Summary PID 16: validation flags in the high word, ignored error
    /// conditions in the low word.
    pub fn character_count(&self) -> i32 {
        ((u32::from(self.validation.bits()) << 16) | u32::from(self.ignored_errors.bits())) as i32
    }
}

impl Default for TransformOptions {
    fn default() -> TransformOptions {
        TransformOptions::settings()
    }
}

/// PID 9: `{OrigProductCode}OrigVersion;{NewProductCode}NewVersion;{UpgradeCode}`.
pub fn revision_number(base: &ProductIdentity, target: &ProductIdentity) -> String {
    let part = |id: &ProductIdentity| {
        format!(
            "{}{}",
            id.product_code.as_deref().unwrap_or(""),
            id.product_version.as_deref().unwrap_or("")
        )
    };
    format!(
        "{};{};{}",
        part(base),
        part(target),
        base.upgrade_code.as_deref().unwrap_or("")
    )
}

fn transform_summary(base: &Database, set: &TransformSet, options: &TransformOptions) -> Result<SummaryInfo, MsiError> {
    let v = options.validation;
    let missing = |field: &'static str, what: &str| MsiError::Summary {
        field,
        reason: format!("the transform validates the {what}, but the base has none"),
    };
    if v.product_code && set.base.product_code.is_none() {
        return Err(missing("revision_number", "product code (Property ProductCode)"));
    }
    if v.upgrade_code && set.base.upgrade_code.is_none() {
        return Err(missing("revision_number", "upgrade code (Property UpgradeCode)"));
    }
    if v.version.is_some() && set.base.product_version.is_none() {
        return Err(missing("revision_number", "product version (Property ProductVersion)"));
    }
    if v.language && set.base.language.is_none() {
        return Err(missing("template", "language (Property ProductLanguage or the Template)"));
    }
    if v.platform && set.base.platform.is_none() {
        return Err(missing("template", "platform (the summary Template)"));
    }
    let page_count = match (set.base.page_count, set.target.page_count) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Ok(SummaryInfo {
        codepage: base.summary.codepage,
        title: Some(options.title.clone()),
        subject: options.subject.clone().or_else(|| base.summary.subject.clone()),
        author: options.author.clone().or_else(|| base.summary.author.clone()),
        keywords: None,
        comments: options.comments.clone(),
        template: Some(set.base.platform_language()),
        last_saved_by: Some(set.target.platform_language()),
        revision_number: Some(revision_number(&set.base, &set.target)),
        last_printed: None,
        create_time: options.time,
        last_save_time: options.time,
        page_count,
        word_count: None,
        character_count: Some(options.character_count()),
        creating_application: options.creating_application.clone(),
        security: Some(4),
    })
}

// ======================================================================= //
// Encoding.

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
                    out.extend(char::from_u32(0x3800 + (b << 6) + a));
                }
                None => out.extend(char::from_u32(0x4800 + a)),
            },
            None => out.push(c),
        }
    }
    out
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

/// The transform's string pool, ids in order of first use.
struct Pool {
    cp: ::msi::CodePage,
    ids: HashMap<String, u32>,
    strings: Vec<(String, u32)>,
}

impl Pool {
    fn intern(&mut self, s: &str) -> u32 {
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

    /// `_StringPool` and `_StringData`.
    fn write(&self, codepage: u16) -> (Vec<u8>, Vec<u8>) {
        let mut header = u32::from(codepage);
        if self.long_refs() {
            header |= LONG_STRING_REFS;
        }
        let mut pool = header.to_le_bytes().to_vec();
        let mut data = Vec::new();
        for (s, refs) in &self.strings {
            let bytes = self.cp.encode(s);
            // The pool keeps a 16-bit count; it only has to be non-zero.
            let refs = (*refs).min(0xffff) as u16;
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
}

/// The records (mask, fields) of one table stream.
#[derive(Default)]
struct TableRecords {
    records: Vec<(u16, Vec<Field>)>,
}

struct Encoder<'a> {
    pool: Pool,
    table: &'a str,
}

impl Encoder<'_> {
    fn field(&mut self, col: &ColumnDef, value: &Value, row: &str) -> Result<Field, MsiError> {
        let bad = |reason: String| MsiError::Value {
            table: self.table.to_string(),
            column: col.name.clone(),
            row: row.to_string(),
            reason,
        };
        let value = if value.is_null() { &Value::Null } else { value };
        Ok(match (col.ty, value) {
            (ColumnType::Str(_), Value::Null) => Field::Str(0),
            (ColumnType::Str(_), Value::Str(s)) => {
                codepage::check(self.pool.cp, s).map_err(|e| bad(e.to_string()))?;
                Field::Str(self.pool.intern(s))
            }
            (ColumnType::Int16, Value::Null) => Field::I2(0),
            (ColumnType::Int16, Value::Int(i)) => {
                let v = i16::try_from(*i)
                    .ok()
                    .filter(|v| *v != i16::MIN)
                    .ok_or_else(|| bad(format!("{i} does not fit a 16-bit column")))?;
                Field::I2((i32::from(v) + 0x8000) as u16)
            }
            (ColumnType::Int32, Value::Null) => Field::I4(0),
            (ColumnType::Int32, Value::Int(i)) => {
                if *i == i32::MIN {
                    return Err(bad(format!("{i} means NULL in a 32-bit column")));
                }
                Field::I4((*i as u32) ^ 0x8000_0000)
            }
            (ColumnType::Binary, Value::Binary(_)) => Field::I2(1),
            (ColumnType::Binary, Value::Null) => Field::I2(0),
            (_, v) => return Err(bad(format!("{v} does not fit a column of type {}", col.idt_type()))),
        })
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
fn column_type(table: &str, c: &ColumnDef) -> Result<i16, MsiError> {
    let mut t = match c.ty {
        ColumnType::Int16 => 0x2 | COL_NONBINARY,
        ColumnType::Int32 => 0x4,
        ColumnType::Str(n) if n <= 0xff => COL_STRING | COL_NONBINARY | i32::from(n),
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
    Field::I2((v + 0x8000) as u16)
}

fn check_stream_name(encoded: &str, shown: &str) -> Result<(), MsiError> {
    if encoded.encode_utf16().count() > MAX_STREAM_NAME {
        return Err(MsiError::stream(
            shown.to_string(),
            "the MSI-encoded stream name is longer than 31 characters",
        ));
    }
    Ok(())
}

/// The .mst bytes of `set` against `base`: CFB version 3, the transform's
/// own string pool in the base's code page, one stream per changed table,
/// binary cells and new root streams as streams, and summary information
/// from `options` (PID 7/8/9/16 from `set` and `options`). The same inputs
/// always give the same bytes.
pub fn encode(base: &Database, set: &TransformSet, options: &TransformOptions) -> Result<Vec<u8>, MsiError> {
    let cp = codepage::for_writing(base.summary.codepage)?;
    let summary = transform_summary(base, set, options)?.to_bytes()?;
    let mut enc = Encoder {
        pool: Pool {
            cp,
            ids: HashMap::new(),
            strings: Vec::new(),
        },
        table: "",
    };
    let mut streams: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    let mut add_stream = |encoded: String, data: Vec<u8>, shown: String| -> Result<(), MsiError> {
        check_stream_name(&encoded, &shown)?;
        if let Some((_, other)) = streams.get(&encoded) {
            return Err(MsiError::stream(shown, format!("has the same stream name as {other}")));
        }
        streams.insert(encoded, (data, shown));
        Ok(())
    };

    // Check the set against the base before writing anything.
    for (name, t) in &set.tables {
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
                    table: name.clone(),
                    row: row_label(&t.def, &row[..t.def.key_len().min(row.len())]),
                    reason: format!("has {} values; the table has {} columns", row.len(), t.def.columns.len()),
                });
            }
        }
    }

    // `_Tables` and `_Columns` first (msi.dll applies them first anyway).
    // Their layouts: `_Tables` (Name s64 key), `_Columns` (Table s64 key,
    // Number i2 key, Name s64, Type i2).
    let mut tables_rec = TableRecords::default();
    let mut columns_rec = TableRecords::default();
    for (name, t) in &set.tables {
        let first_new = match t.shape {
            TableShape::Existing => continue,
            TableShape::New => {
                let id = enc.pool.intern(name);
                tables_rec.records.push((0x0101, vec![Field::Str(id)]));
                0
            }
            TableShape::Extended { first_new } => first_new,
        };
        for (i, c) in t.def.columns.iter().enumerate().skip(first_new) {
            let table_id = enc.pool.intern(name);
            // NULL number: "the next column" of a new table, as msi.dll writes it.
            let number = if t.shape == TableShape::New {
                Field::I2(0)
            } else {
                i2(i as i32 + 1)
            };
            let name_id = enc.pool.intern(&c.name);
            let ty = column_type(name, c)?;
            columns_rec.records.push((
                0x0401,
                vec![Field::Str(table_id), number, Field::Str(name_id), i2(i32::from(ty))],
            ));
        }
    }

    let mut table_streams: Vec<(String, TableRecords)> = Vec::new();
    if !tables_rec.records.is_empty() {
        table_streams.push(("_Tables".into(), tables_rec));
    }
    if !columns_rec.records.is_empty() {
        table_streams.push(("_Columns".into(), columns_rec));
    }

    for (name, t) in &set.tables {
        let def = &t.def;
        let n = def.columns.len();
        let key_len = def.key_len();
        enc.table = name;
        let mut rec = TableRecords::default();
        // (stream name, data, owner for messages) of each binary cell written.
        let mut binaries: Vec<(String, Vec<u8>, String)> = Vec::new();
        let binary = |key: &[Value], col: &ColumnDef, data: &[u8]| {
            let mut full = key.to_vec();
            full.resize(n, Value::Null);
            let shown = format!("table `{name}`, column `{}`, row {}", col.name, row_label(def, key));
            (binary_stream_name(def, &full), data.to_vec(), shown)
        };
        let insert = |enc: &mut Encoder, rec: &mut TableRecords, row: &[Value]| -> Result<(), MsiError> {
            let label = row_label(def, &row[..key_len]);
            let fields = def
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| enc.field(c, v, &label))
                .collect::<Result<Vec<_>, _>>()?;
            rec.records.push((1 | ((n as u16) << 8), fields));
            Ok(())
        };
        let key_fields = |enc: &mut Encoder, key: &[Value]| -> Result<Vec<Field>, MsiError> {
            if key.len() != key_len {
                return Err(MsiError::Row {
                    table: name.clone(),
                    row: row_label(def, key),
                    reason: format!("a key has {} values; the table has {key_len} key columns", key.len()),
                });
            }
            let label = row_label(def, key);
            def.columns.iter().zip(key).map(|(c, v)| enc.field(c, v, &label)).collect()
        };
        for key in &t.deleted {
            let fields = key_fields(&mut enc, key)?;
            rec.records.push((0, fields));
        }
        for u in &t.updated {
            let label = row_label(def, &u.key);
            if u.changes.iter().any(|(i, _)| *i < key_len || *i >= n) {
                return Err(MsiError::Row {
                    table: name.clone(),
                    row: label,
                    reason: "an update names a key column or a column the table does not have".into(),
                });
            }
            if u.changes.iter().all(|(i, _)| *i < MASK_COLUMNS) {
                let mut fields = key_fields(&mut enc, &u.key)?;
                let mut changes = u.changes.clone();
                changes.sort_by_key(|(i, _)| *i);
                let mut mask = 0u16;
                for (i, v) in &changes {
                    mask |= 1 << i;
                    fields.push(enc.field(&def.columns[*i], v, &label)?);
                    if let Value::Binary(data) = v {
                        binaries.push(binary(&u.key, &def.columns[*i], data));
                    }
                }
                rec.records.push((mask, fields));
            } else {
                // Columns past the 16-bit mask: replace the whole row.
                let Some(old) = base.table(name).and_then(|b| b.get(&u.key)) else {
                    return Err(MsiError::Row {
                        table: name.clone(),
                        row: label,
                        reason: "updates a column past the 15th, which needs the whole row, and the base has no such row".into(),
                    });
                };
                let mut row = old.to_vec();
                row.resize(n, Value::Null);
                for (i, v) in &u.changes {
                    row[*i] = v.clone();
                }
                let fields = key_fields(&mut enc, &u.key)?;
                rec.records.push((0, fields));
                insert(&mut enc, &mut rec, &row)?;
                for (c, v) in def.columns.iter().zip(&row) {
                    if let Value::Binary(data) = v {
                        binaries.push(binary(&u.key, c, data));
                    }
                }
            }
        }
        for row in &t.inserted {
            insert(&mut enc, &mut rec, row)?;
            for (c, v) in def.columns.iter().zip(row) {
                if let Value::Binary(data) = v {
                    binaries.push(binary(&row[..key_len], c, data));
                }
            }
        }
        for (stream, data, shown) in binaries {
            add_stream(encode_stream_name(&stream, false), data, shown)?;
        }
        if !rec.records.is_empty() {
            table_streams.push((name.clone(), rec));
        }
    }

    // Serialize now that the pool's size (and so the reference width) is known.
    if enc.pool.strings.len() > LONG_REF_MAX {
        return Err(MsiError::format(
            "writing the transform's string pool",
            format!("{} distinct strings; at most {LONG_REF_MAX}", enc.pool.strings.len()),
        ));
    }
    let long = enc.pool.long_refs();
    for (name, rec) in &table_streams {
        let mut bytes = Vec::new();
        for (mask, fields) in &rec.records {
            bytes.extend_from_slice(&mask.to_le_bytes());
            for f in fields {
                match *f {
                    Field::Str(id) if long => bytes.extend_from_slice(&id.to_le_bytes()[..3]),
                    Field::Str(id) => bytes.extend_from_slice(&(id as u16).to_le_bytes()),
                    Field::I2(v) => bytes.extend_from_slice(&v.to_le_bytes()),
                    Field::I4(v) => bytes.extend_from_slice(&v.to_le_bytes()),
                }
            }
        }
        add_stream(encode_stream_name(name, true), bytes, format!("table `{name}`"))?;
    }
    let (pool, data) = enc.pool.write(base.summary.codepage);
    add_stream(encode_stream_name("_StringPool", true), pool, "_StringPool".into())?;
    add_stream(encode_stream_name("_StringData", true), data, "_StringData".into())?;
    for (name, data) in &set.streams {
        if name.starts_with('\u{5}') || name.starts_with(TABLE_PREFIX) {
            return Err(MsiError::stream(
                name.clone(),
                "names starting with U+0005 or U+4840 are reserved",
            ));
        }
        add_stream(encode_stream_name(name, false), data.clone(), format!("stream `{name}`"))?;
    }
    add_stream(SUMMARY_STREAM.to_string(), summary, "summary information".into())?;

    let root = Storage {
        clsid: PackageKind::Transform.clsid(),
        streams: streams.into_iter().map(|(k, (d, _))| (k, d)).collect(),
        storages: BTreeMap::new(),
    };
    root.to_cfb()
}

// ======================================================================= //
// Settings transforms.

/// An administrator's settings transform for `base`: sets (or adds)
/// Property rows and sets Feature.Level values, with
/// `TransformOptions::settings()`. An unknown feature, a bad property name
/// or an empty value (Windows Installer has no empty properties) is refused
/// by name.
pub fn settings_transform(
    base: &Database,
    properties: &[(String, String)],
    feature_levels: &[(String, i32)],
) -> Result<Vec<u8>, MsiError> {
    let mut target = base.clone();
    for (name, value) in properties {
        target
            .add_table(schema::property())?
            .put(vec![Value::from(name), Value::from(value)])?;
    }
    for (feature, level) in feature_levels {
        let key = [Value::from(feature)];
        let Some(table) = target.table_mut("Feature").filter(|t| t.get(&key).is_some()) else {
            return Err(MsiError::Value {
                table: "Feature".into(),
                column: "Level".into(),
                row: format!("Feature={}", Value::from(feature)),
                reason: "the base has no such feature".into(),
            });
        };
        table.set(&key, "Level", *level)?;
    }
    let set = diff(base, &target)?;
    encode(base, &set, &TransformOptions::settings())
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
    fn flags_have_the_documented_values() {
        let o = TransformOptions::settings();
        assert_eq!(o.validation.bits(), 0x1 | 0x2 | 0x800);
        assert_eq!(o.ignored_errors.bits(), 0x1f);
        assert_eq!(o.character_count(), 0x0803_001f);
        // WiX's PatchTransformDefault.
        assert_eq!(TransformOptions::patch().character_count(), 0x0922_001f);
        let all = Validation {
            language: true,
            product_code: true,
            platform: true,
            upgrade_code: true,
            version: Some(VersionCheck {
                fields: VersionFields::Major,
                relation: VersionRelation::Greater,
            }),
        };
        assert_eq!(all.bits(), 0x1 | 0x2 | 0x4 | 0x800 | 0x8 | 0x400);
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

    fn moo(extra: bool) -> TableDef {
        let mut cols = vec![ColumnDef::int16("NOO").key(), ColumnDef::string("OOO", 255).nullable()];
        if extra {
            cols.push(ColumnDef::int16("COW").nullable());
            cols.push(ColumnDef::int16("PIG").nullable());
        }
        TableDef::new("MOO", cols)
    }

    /// The MOO part of Wine's hand-written transform: two appended
    /// columns, an update of OOO and PIG, a deleted row.
    #[test]
    fn records_match_the_hand_written_transform() {
        let mut base = Database::new(PackageKind::Installer);
        for (k, v) in [(1, "a"), (2, "b"), (3, "c")] {
            base.insert(moo(false), vec![k.into(), v.into()]).unwrap();
        }
        let mut target = Database::new(PackageKind::Installer);
        target
            .insert(moo(true), vec![1.into(), "c".into(), Value::Null, 5.into()])
            .unwrap();
        target
            .insert(moo(true), vec![2.into(), "b".into(), Value::Null, Value::Null])
            .unwrap();
        let set = diff(&base, &target).unwrap();
        let t = &set.tables["MOO"];
        assert_eq!(t.shape, TableShape::Extended { first_new: 2 });
        assert_eq!(t.deleted, vec![vec![Value::Int(3)]]);
        assert_eq!(
            t.updated,
            vec![RowUpdate {
                key: vec![1.into()],
                changes: vec![(1, "c".into()), (3, 5.into())]
            }]
        );
        // No category anywhere: no _Validation rows.
        assert!(!set.tables.contains_key(VALIDATION_TABLE));

        let bytes = encode(
            &base,
            &set,
            &TransformOptions {
                validation: Validation::default(),
                ..TransformOptions::settings()
            },
        )
        .unwrap();
        assert_eq!(
            bytes,
            encode(
                &base,
                &set,
                &TransformOptions {
                    validation: Validation::default(),
                    ..TransformOptions::settings()
                }
            )
            .unwrap()
        );
        assert_eq!(u16::from_le_bytes([bytes[0x1a], bytes[0x1b]]), 3);
        let root = Storage::from_cfb(&bytes).unwrap();
        assert_eq!(root.clsid, PackageKind::Transform.clsid());
        let stream = |n: &str| {
            let raw = &root.streams[&encode_stream_name(n, true)];
            raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<u16>>()
        };
        // Strings: 1 MOO, 2 COW, 3 PIG, 4 c.
        assert_eq!(
            stream("_Columns"),
            [0x0401, 1, 0x8003, 2, 0x9502, 0x0401, 1, 0x8004, 3, 0x9502]
        );
        assert_eq!(stream("MOO"), [0x0000, 0x8003, 0x000a, 0x8001, 4, 0x8005]);
        assert_eq!(stream("_StringPool"), [1252, 0, 3, 2, 3, 1, 3, 1, 1, 1]);
        assert_eq!(root.streams[&encode_stream_name("_StringData", true)], b"MOOCOWPIGc");
        assert!(!root.streams.contains_key(&encode_stream_name("_Tables", true)));
    }

    #[test]
    fn refusals_name_table_and_column() {
        let mut base = Database::new(PackageKind::Installer);
        base.insert(moo(true), vec![1.into(), "a".into(), Value::Null, Value::Null])
            .unwrap();
        let mut fewer = Database::new(PackageKind::Installer);
        fewer.insert(moo(false), vec![1.into(), "a".into()]).unwrap();
        let e = diff(&base, &fewer).unwrap_err().to_string();
        assert!(
            e.contains("table `MOO`") && e.contains("column `COW`") && e.contains("cannot remove"),
            "{e}"
        );

        let mut retyped = Database::new(PackageKind::Installer);
        let mut def = moo(true);
        def.columns[1] = ColumnDef::string("OOO", 72).nullable();
        retyped
            .insert(def, vec![1.into(), "a".into(), Value::Null, Value::Null])
            .unwrap();
        let e = diff(&base, &retyped).unwrap_err().to_string();
        assert!(
            e.contains("table `MOO`") && e.contains("column `OOO`") && e.contains("S255 to S72"),
            "{e}"
        );

        let e = diff(&base, &Database::new(PackageKind::Installer)).unwrap_err().to_string();
        assert!(e.contains("table `MOO`") && e.contains("does not drop tables"), "{e}");
    }

    #[test]
    fn long_string_references_past_65535_strings() {
        let base = Database::new(PackageKind::Installer);
        let mut target = Database::new(PackageKind::Installer);
        let def = TableDef::new("Many", vec![ColumnDef::int32("Id").key(), ColumnDef::string("S", 0)]);
        for i in 0..70_000 {
            target.insert(def.clone(), vec![i.into(), format!("s{i}").into()]).unwrap();
        }
        let set = diff(&base, &target).unwrap();
        let options = TransformOptions {
            validation: Validation::default(),
            ..TransformOptions::settings()
        };
        let root = Storage::from_cfb(&encode(&base, &set, &options).unwrap()).unwrap();
        let pool = &root.streams[&encode_stream_name("_StringPool", true)];
        assert_eq!(u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]), 0x8000_0000 | 1252);
        // Strings: Many, Id, S, then s0.. ; a row is mask, i4, 3-byte ref.
        let rows = &root.streams[&encode_stream_name("Many", true)];
        assert_eq!(rows.len(), 70_000 * (2 + 4 + 3));
        assert_eq!(&rows[..9], &[0x01, 0x02, 0x00, 0x00, 0x00, 0x80, 4, 0, 0]);
        let last = &rows[rows.len() - 9..];
        assert_eq!(&last[6..], &(70_003u32).to_le_bytes()[..3]);
    }

    #[test]
    fn long_strings_use_the_extended_pool_entry() {
        let mut pool = Pool {
            cp: codepage::for_writing(1252).unwrap(),
            ids: HashMap::new(),
            strings: Vec::new(),
        };
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
