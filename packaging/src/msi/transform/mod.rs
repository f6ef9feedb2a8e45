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
//!
//! The code follows that split: `diff` compares the databases, `options`
//! holds the validation and error-condition flags and the summary they
//! make, `encode` writes the storage.

mod diff;
mod encode;
mod options;

pub use diff::{diff, ProductIdentity, RowUpdate, TableDiff, TableShape, TransformSet};
pub use encode::{encode, encode_stream_name};
pub use options::{revision_number, IgnoredErrors, TransformOptions, Validation, VersionCheck, VersionFields, VersionRelation};

use super::schema;
use super::{Database, MsiError, Value};

/// Name of the pseudo-table whose rows this module derives from the column
/// definitions (see `TransformSet::tables`).
pub const VALIDATION_TABLE: &str = "_Validation";

fn schema_err(table: &str, reason: String) -> MsiError {
    MsiError::Schema {
        table: table.to_string(),
        reason,
    }
}

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
mod tests;
