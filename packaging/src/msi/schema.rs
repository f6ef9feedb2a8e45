//! Typed definitions of the standard Windows Installer tables an agent
//! installer, a transform and a patch need: one function per table.
//!
//! Column types, nullability, keys, categories, ranges, sets and foreign keys
//! follow Microsoft's schema as published on learn.microsoft.com
//! ("<Table> table" pages) and as WiX v4+ carries it
//! (`WindowsInstallerTableDefinitions.cs`, generated from the SDK's
//! Schema.msi). The IDT column types (`s72`, `L0`, `i2`, …) were checked
//! against `msidump` of an MSI built by wixl; the unit tests pin them.
//!
//! Two deliberate gaps, both only affecting `_Validation`:
//! * Foreign keys into several tables (`Component.KeyPath` →
//!   `File;Registry;ODBCDataSource`, `AppSearch.Signature_` →
//!   `Signature;RegLocator;…`) are left out: the `msi` crate declares
//!   `_Validation.KeyTable` as an Identifier and rejects the `;` list.
//! * `_Validation.Description` stays NULL, as the `msi` crate writes it.

use ::msi::Category;

use super::MsiError;

/// Storage type of a column, as in `_Columns.Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `i2`: 16-bit integer; -32768 is reserved for NULL.
    Int16,
    /// `i4`: 32-bit integer; i32::MIN is reserved for NULL.
    Int32,
    /// `s<n>`/`l<n>`: a string of at most n characters; 0 = unlimited.
    Str(u16),
    /// `v0`: a stream named `<Table>.<key>`.
    Binary,
}

/// One column: its storage type plus the `_Validation` facts about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    pub primary_key: bool,
    /// Sets the localizable bit (`l`/`L` instead of `s`/`S`).
    pub localizable: bool,
    pub category: Option<Category>,
    /// Inclusive `_Validation` MinValue/MaxValue.
    pub range: Option<(i32, i32)>,
    /// `_Validation` KeyTable and 1-based KeyColumn.
    pub foreign_key: Option<(String, i16)>,
    /// `_Validation` Set: the only values allowed (strings or integers).
    pub set: Vec<String>,
}

impl ColumnDef {
    fn new(name: &str, ty: ColumnType) -> ColumnDef {
        ColumnDef {
            name: name.to_string(),
            ty,
            nullable: false,
            primary_key: false,
            localizable: false,
            category: None,
            range: None,
            foreign_key: None,
            set: Vec::new(),
        }
    }

    /// `s<max_len>`.
    pub fn string(name: &str, max_len: u16) -> ColumnDef {
        ColumnDef::new(name, ColumnType::Str(max_len))
    }

    /// `l<max_len>`: a string translators may change.
    pub fn localized(name: &str, max_len: u16) -> ColumnDef {
        ColumnDef {
            localizable: true,
            ..ColumnDef::new(name, ColumnType::Str(max_len))
        }
    }

    /// `i2`.
    pub fn int16(name: &str) -> ColumnDef {
        ColumnDef::new(name, ColumnType::Int16)
    }

    /// `i4`.
    pub fn int32(name: &str) -> ColumnDef {
        ColumnDef::new(name, ColumnType::Int32)
    }

    /// `v0`.
    pub fn binary(name: &str) -> ColumnDef {
        ColumnDef {
            category: Some(Category::Binary),
            ..ColumnDef::new(name, ColumnType::Binary)
        }
    }

    pub fn key(self) -> ColumnDef {
        ColumnDef {
            primary_key: true,
            ..self
        }
    }

    pub fn nullable(self) -> ColumnDef {
        ColumnDef { nullable: true, ..self }
    }

    pub fn category(self, category: Category) -> ColumnDef {
        ColumnDef {
            category: Some(category),
            ..self
        }
    }

    pub fn range(self, min: i32, max: i32) -> ColumnDef {
        ColumnDef {
            range: Some((min, max)),
            ..self
        }
    }

    pub fn foreign_key(self, table: &str, column: i16) -> ColumnDef {
        ColumnDef {
            foreign_key: Some((table.to_string(), column)),
            ..self
        }
    }

    pub fn set(self, values: &[&str]) -> ColumnDef {
        ColumnDef {
            set: values.iter().map(|v| v.to_string()).collect(),
            ..self
        }
    }

    /// The IDT type msidump and msibuild use: `s72`, `L0`, `i2`, `I4`, `v0`.
    pub fn idt_type(&self) -> String {
        let (letter, size) = match self.ty {
            ColumnType::Int16 => ('i', 2),
            ColumnType::Int32 => ('i', 4),
            ColumnType::Str(n) if self.localizable => ('l', n),
            ColumnType::Str(n) => ('s', n),
            ColumnType::Binary => ('v', 0),
        };
        let letter = if self.nullable { letter.to_ascii_uppercase() } else { letter };
        format!("{letter}{size}")
    }

    pub(crate) fn to_msi(&self) -> ::msi::Column {
        let mut b = ::msi::Column::build(self.name.as_str());
        if self.primary_key {
            b = b.primary_key();
        }
        if self.nullable {
            b = b.nullable();
        }
        if self.localizable {
            b = b.localizable();
        }
        if let Some(c) = self.category {
            b = b.category(c);
        }
        if let Some((min, max)) = self.range {
            b = b.range(min, max);
        }
        if let Some((table, column)) = &self.foreign_key {
            b = b.foreign_key(table, i32::from(*column));
        }
        if !self.set.is_empty() {
            let set: Vec<&str> = self.set.iter().map(String::as_str).collect();
            b = b.enum_values(&set);
        }
        match self.ty {
            ColumnType::Int16 => b.int16(),
            ColumnType::Int32 => b.int32(),
            ColumnType::Str(n) => b.string(usize::from(n)),
            ColumnType::Binary => b.binary(),
        }
    }

    /// The definition the `msi` crate rebuilt from `_Columns` and
    /// `_Validation` for a column of `table`; it does not expose
    /// KeyTable/KeyColumn, so the caller passes them in from its own read of
    /// `_Validation`.
    pub(crate) fn from_msi(
        table: &str,
        column: &::msi::Column,
        foreign_key: Option<(String, i16)>,
    ) -> Result<ColumnDef, MsiError> {
        let ty = match column.coltype() {
            ::msi::ColumnType::Int16 => ColumnType::Int16,
            ::msi::ColumnType::Int32 => ColumnType::Int32,
            ::msi::ColumnType::Binary => ColumnType::Binary,
            ::msi::ColumnType::Str(n) => ColumnType::Str(u16::try_from(n).map_err(|_| MsiError::Schema {
                table: table.to_string(),
                reason: format!("string width {n} is larger than 65535"),
            })?),
        };
        Ok(ColumnDef {
            name: column.name().to_string(),
            ty,
            nullable: column.is_nullable(),
            primary_key: column.is_primary_key(),
            localizable: column.is_localizable(),
            category: column.category(),
            range: column.value_range(),
            foreign_key,
            set: column.enum_values().map(<[String]>::to_vec).unwrap_or_default(),
        })
    }
}

/// A table: its name and columns in storage order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
}

/// The `msi` crate's (and msi.dll's) limit.
const MAX_COLUMNS: usize = 32;
/// The encoded stream name (a prefix, then one UTF-16 unit per two
/// identifier characters) must fit the 31 units of a CFB entry name.
const MAX_TABLE_NAME: usize = 60;

impl TableDef {
    pub fn new(name: &str, columns: Vec<ColumnDef>) -> TableDef {
        TableDef {
            name: name.to_string(),
            columns,
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Number of primary key columns; `validate` makes sure they lead.
    pub fn key_len(&self) -> usize {
        self.columns.iter().take_while(|c| c.primary_key).count()
    }

    /// Checks what the `msi` crate and msi.dll need before any row is
    /// written: a valid identifier as name, 1 to 32 uniquely named columns,
    /// and primary key columns first. Keys must lead because rows are stored
    /// sorted by their leading columns and msi.dll finds rows by binary
    /// search on the key (Wine's `find_insert_index` does the same).
    pub fn validate(&self) -> Result<(), MsiError> {
        let err = |reason: String| {
            Err(MsiError::Schema {
                table: self.name.clone(),
                reason,
            })
        };
        if !Category::Identifier.validate(&self.name) {
            return err("a table name must be an identifier (letters, digits, `_`, `.`; not starting with a digit)".into());
        }
        if self.name.starts_with('_') {
            return err("names starting with `_` are reserved for the database's own tables".into());
        }
        if self.name.len() > MAX_TABLE_NAME {
            return err("a table name is limited to 60 characters".into());
        }
        if self.columns.is_empty() || self.columns.len() > MAX_COLUMNS {
            return err(format!("has {} columns; a table has 1 to {MAX_COLUMNS}", self.columns.len()));
        }
        let keys = self.key_len();
        if !self.columns.iter().any(|c| c.primary_key) {
            return err("has no primary key column".into());
        }
        if let Some(c) = self.columns[keys..].iter().find(|c| c.primary_key) {
            return err(format!(
                "primary key column `{}` must come before the non-key columns",
                c.name
            ));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if !Category::Identifier.validate(&c.name) {
                return err(format!("column name `{}` is not an identifier", c.name));
            }
            if self.columns[..i].iter().any(|d| d.name == c.name) {
                return err(format!("column `{}` appears twice", c.name));
            }
            if c.primary_key && c.ty == ColumnType::Binary {
                return err(format!("binary column `{}` cannot be a primary key", c.name));
            }
        }
        Ok(())
    }
}

// Shorthands for the definitions below (IDT letters).
fn s(name: &str, len: u16) -> ColumnDef {
    ColumnDef::string(name, len)
}
fn l(name: &str, len: u16) -> ColumnDef {
    ColumnDef::localized(name, len)
}
fn i2(name: &str) -> ColumnDef {
    ColumnDef::int16(name)
}
fn i4(name: &str) -> ColumnDef {
    ColumnDef::int32(name)
}
fn id(name: &str, len: u16) -> ColumnDef {
    s(name, len).category(Category::Identifier)
}

use Category::{
    Cabinet, Condition as Cond, CustomSource, DefaultDir, Filename, Formatted, Guid, Language, Property as Prop, RegPath,
    Template, Text, UpperCase, Version, WildCardFilename,
};

/// Windows Installer's `MAXINT` for i4 ranges.
const I4_MAX: i32 = 0x7fff_ffff;

pub fn property() -> TableDef {
    TableDef::new("Property", vec![id("Property", 72).key(), l("Value", 0).category(Text)])
}

pub fn directory() -> TableDef {
    TableDef::new(
        "Directory",
        vec![
            id("Directory", 72).key(),
            id("Directory_Parent", 72).nullable().foreign_key("Directory", 1),
            l("DefaultDir", 255).category(DefaultDir),
        ],
    )
}

pub fn component() -> TableDef {
    TableDef::new(
        "Component",
        vec![
            id("Component", 72).key(),
            s("ComponentId", 38).nullable().category(Guid),
            id("Directory_", 72).foreign_key("Directory", 1),
            i2("Attributes"),
            s("Condition", 255).nullable().category(Cond),
            // MS: KeyTable `File;Registry;ODBCDataSource` (see module docs).
            id("KeyPath", 72).nullable(),
        ],
    )
}

pub fn feature() -> TableDef {
    TableDef::new(
        "Feature",
        vec![
            id("Feature", 38).key(),
            id("Feature_Parent", 38).nullable().foreign_key("Feature", 1),
            l("Title", 64).nullable().category(Text),
            l("Description", 255).nullable().category(Text),
            i2("Display").nullable().range(0, 32767),
            i2("Level").range(0, 32767),
            s("Directory_", 72).nullable().category(UpperCase).foreign_key("Directory", 1),
            i2("Attributes").set(&[
                "0", "1", "2", "4", "5", "6", "8", "9", "10", "16", "17", "18", "20", "21", "22", "24", "25", "26", "32", "33",
                "34", "36", "37", "38", "48", "49", "50", "52", "53", "54",
            ]),
        ],
    )
}

pub fn feature_components() -> TableDef {
    TableDef::new(
        "FeatureComponents",
        vec![
            id("Feature_", 38).key().foreign_key("Feature", 1),
            id("Component_", 72).key().foreign_key("Component", 1),
        ],
    )
}

/// Feature conditions (not LaunchCondition): sets `Feature.Level` to
/// `Level` when `Condition` is true.
pub fn condition() -> TableDef {
    TableDef::new(
        "Condition",
        vec![
            id("Feature_", 38).key().foreign_key("Feature", 1),
            i2("Level").key().range(0, 32767),
            s("Condition", 255).nullable().category(Cond),
        ],
    )
}

pub fn file() -> TableDef {
    TableDef::new(
        "File",
        vec![
            id("File", 72).key(),
            id("Component_", 72).foreign_key("Component", 1),
            l("FileName", 255).category(Filename),
            i4("FileSize").range(0, I4_MAX),
            // A version, or the key of a companion file (hence the foreign key).
            s("Version", 72).nullable().category(Version).foreign_key("File", 1),
            s("Language", 20).nullable().category(Language),
            i2("Attributes").nullable().range(0, 32767),
            i4("Sequence").range(1, I4_MAX),
        ],
    )
}

pub fn media() -> TableDef {
    TableDef::new(
        "Media",
        vec![
            i2("DiskId").key().range(1, 32767),
            i4("LastSequence").range(0, I4_MAX),
            l("DiskPrompt", 64).nullable().category(Text),
            s("Cabinet", 255).nullable().category(Cabinet),
            s("VolumeLabel", 32).nullable().category(Text),
            s("Source", 72).nullable().category(Prop),
        ],
    )
}

pub fn msi_file_hash() -> TableDef {
    TableDef::new(
        "MsiFileHash",
        vec![
            id("File_", 72).key().foreign_key("File", 1),
            i2("Options").range(0, 32767),
            i4("HashPart1"),
            i4("HashPart2"),
            i4("HashPart3"),
            i4("HashPart4"),
        ],
    )
}

pub fn ini_file() -> TableDef {
    TableDef::new(
        "IniFile",
        vec![
            id("IniFile", 72).key(),
            l("FileName", 255).category(Filename),
            id("DirProperty", 72).nullable(),
            l("Section", 96).category(Formatted),
            l("Key", 128).category(Formatted),
            l("Value", 255).category(Formatted),
            i2("Action").set(&["0", "1", "3"]),
            id("Component_", 72).foreign_key("Component", 1),
        ],
    )
}

pub fn remove_ini_file() -> TableDef {
    TableDef::new(
        "RemoveIniFile",
        vec![
            id("RemoveIniFile", 72).key(),
            l("FileName", 255).category(Filename),
            id("DirProperty", 72).nullable(),
            l("Section", 96).category(Formatted),
            l("Key", 128).category(Formatted),
            l("Value", 255).nullable().category(Formatted),
            i2("Action").set(&["2", "4"]),
            id("Component_", 72).foreign_key("Component", 1),
        ],
    )
}

pub fn registry() -> TableDef {
    TableDef::new(
        "Registry",
        vec![
            id("Registry", 72).key(),
            i2("Root").range(-1, 3),
            l("Key", 255).category(RegPath),
            l("Name", 255).nullable().category(Formatted),
            l("Value", 0).nullable().category(Formatted),
            id("Component_", 72).foreign_key("Component", 1),
        ],
    )
}

pub fn remove_file() -> TableDef {
    TableDef::new(
        "RemoveFile",
        vec![
            id("FileKey", 72).key(),
            id("Component_", 72).foreign_key("Component", 1),
            l("FileName", 255).nullable().category(WildCardFilename),
            id("DirProperty", 72),
            i2("InstallMode").set(&["1", "2", "3"]),
        ],
    )
}

pub fn create_folder() -> TableDef {
    TableDef::new(
        "CreateFolder",
        vec![
            id("Directory_", 72).key().foreign_key("Directory", 1),
            id("Component_", 72).key().foreign_key("Component", 1),
        ],
    )
}

/// Windows Installer 5.0's ACLs for what the package creates: `LockObject`
/// is the key of the row in `Table` (for CreateFolder, its directory).
pub fn msi_lock_permissions_ex() -> TableDef {
    TableDef::new(
        "MsiLockPermissionsEx",
        vec![
            id("MsiLockPermissionsEx", 72).key(),
            id("LockObject", 72),
            s("Table", 32).category(Category::Identifier),
            s("SDDLText", 0).category(Category::FormattedSddlText),
            s("Condition", 255).nullable().category(Cond),
        ],
    )
}

pub fn service_install() -> TableDef {
    TableDef::new(
        "ServiceInstall",
        vec![
            id("ServiceInstall", 72).key(),
            s("Name", 255).category(Formatted),
            l("DisplayName", 255).nullable().category(Formatted),
            i4("ServiceType").range(-I4_MAX, I4_MAX),
            i4("StartType").range(0, 4),
            i4("ErrorControl").range(-I4_MAX, I4_MAX),
            s("LoadOrderGroup", 255).nullable().category(Formatted),
            s("Dependencies", 255).nullable().category(Formatted),
            s("StartName", 255).nullable().category(Formatted),
            s("Password", 255).nullable().category(Formatted),
            s("Arguments", 255).nullable().category(Formatted),
            id("Component_", 72).foreign_key("Component", 1),
            l("Description", 255).nullable().category(Text),
        ],
    )
}

pub fn service_control() -> TableDef {
    TableDef::new(
        "ServiceControl",
        vec![
            id("ServiceControl", 72).key(),
            l("Name", 255).category(Formatted),
            i2("Event").range(0, 187),
            l("Arguments", 255).nullable().category(Formatted),
            i2("Wait").nullable().range(0, 1),
            id("Component_", 72).foreign_key("Component", 1),
        ],
    )
}

pub fn upgrade() -> TableDef {
    TableDef::new(
        "Upgrade",
        vec![
            s("UpgradeCode", 38).key().category(Guid),
            s("VersionMin", 20).key().nullable().category(Text),
            s("VersionMax", 20).key().nullable().category(Text),
            s("Language", 255).key().nullable().category(Language),
            i4("Attributes").key().range(0, I4_MAX),
            s("Remove", 255).nullable().category(Formatted),
            s("ActionProperty", 72).category(UpperCase),
        ],
    )
}

pub fn launch_condition() -> TableDef {
    TableDef::new(
        "LaunchCondition",
        vec![
            s("Condition", 255).key().category(Cond),
            l("Description", 255).category(Formatted),
        ],
    )
}

pub fn app_search() -> TableDef {
    // MS: Signature_ KeyTable `Signature;RegLocator;IniLocator;DrLocator;CompLocator`.
    TableDef::new("AppSearch", vec![id("Property", 72).key(), id("Signature_", 72).key()])
}

pub fn reg_locator() -> TableDef {
    TableDef::new(
        "RegLocator",
        vec![
            id("Signature_", 72).key(),
            i2("Root").range(0, 3),
            s("Key", 255).category(RegPath),
            s("Name", 255).nullable().category(Formatted),
            i2("Type").nullable().range(0, 18),
        ],
    )
}

pub fn custom_action() -> TableDef {
    TableDef::new(
        "CustomAction",
        vec![
            id("Action", 72).key(),
            i2("Type").range(1, 32767),
            s("Source", 72).nullable().category(CustomSource),
            s("Target", 255).nullable().category(Formatted),
            i4("ExtendedType").nullable().range(0, I4_MAX),
        ],
    )
}

/// The five sequence tables share one layout.
fn sequence(name: &str) -> TableDef {
    TableDef::new(
        name,
        vec![
            id("Action", 72).key(),
            s("Condition", 255).nullable().category(Cond),
            i2("Sequence").nullable().range(-4, 32767),
        ],
    )
}

pub fn install_execute_sequence() -> TableDef {
    sequence("InstallExecuteSequence")
}

pub fn install_ui_sequence() -> TableDef {
    sequence("InstallUISequence")
}

pub fn admin_execute_sequence() -> TableDef {
    sequence("AdminExecuteSequence")
}

pub fn admin_ui_sequence() -> TableDef {
    sequence("AdminUISequence")
}

pub fn advt_execute_sequence() -> TableDef {
    sequence("AdvtExecuteSequence")
}

/// The `Error` table (message templates by error number).
pub fn error() -> TableDef {
    TableDef::new(
        "Error",
        vec![
            i2("Error").key().range(0, 32767),
            l("Message", 0).nullable().category(Template),
        ],
    )
}

/// Patch plumbing added by a patch's paired transform.
pub fn patch_package() -> TableDef {
    TableDef::new(
        "PatchPackage",
        vec![s("PatchId", 38).key().category(Guid), i2("Media_").range(0, 32767)],
    )
}

/// Lives in the patch (.msp) database itself, not in its transforms.
pub fn msi_patch_metadata() -> TableDef {
    TableDef::new(
        "MsiPatchMetadata",
        vec![
            id("Company", 72).key().nullable(),
            id("Property", 72).key(),
            l("Value", 0).category(Text),
        ],
    )
}

/// Lives in the patch (.msp) database itself, not in its transforms.
pub fn msi_patch_sequence() -> TableDef {
    TableDef::new(
        "MsiPatchSequence",
        vec![
            id("PatchFamily", 72).key(),
            s("ProductCode", 38).key().nullable().category(Guid),
            s("Sequence", 72).category(Version),
            i4("Attributes").nullable(),
        ],
    )
}

/// Progress text and the ActionData template of an action, standard ones
/// included (e.g. to keep a value out of the log).
pub fn action_text() -> TableDef {
    TableDef::new(
        "ActionText",
        vec![
            id("Action", 72).key(),
            l("Description", 64).nullable().category(Text),
            l("Template", 128).nullable().category(Template),
        ],
    )
}

/// Binary data for custom actions (`CustomAction.Source`).
pub fn binary() -> TableDef {
    TableDef::new("Binary", vec![id("Name", 72).key(), ColumnDef::binary("Data")])
}

/// Icons (e.g. `ARPPRODUCTICON`).
pub fn icon() -> TableDef {
    TableDef::new("Icon", vec![id("Name", 72).key(), ColumnDef::binary("Data")])
}

/// Every table defined here.
pub fn all() -> Vec<TableDef> {
    vec![
        property(),
        directory(),
        component(),
        feature(),
        feature_components(),
        condition(),
        file(),
        media(),
        msi_file_hash(),
        ini_file(),
        remove_ini_file(),
        registry(),
        remove_file(),
        create_folder(),
        msi_lock_permissions_ex(),
        service_install(),
        service_control(),
        upgrade(),
        launch_condition(),
        app_search(),
        reg_locator(),
        custom_action(),
        install_execute_sequence(),
        install_ui_sequence(),
        admin_execute_sequence(),
        admin_ui_sequence(),
        advt_execute_sequence(),
        error(),
        action_text(),
        patch_package(),
        msi_patch_metadata(),
        msi_patch_sequence(),
        binary(),
        icon(),
    ]
}

/// The standard definition of `name`, if this module has one.
pub fn standard(name: &str) -> Option<TableDef> {
    all().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column names and IDT types of each table, as `msidump -t` prints
    /// them for an MSI built by wixl 0.101 (the tables wixl writes) and as
    /// WiX's Schema.msi-derived definitions give them (IniFile,
    /// RemoveIniFile, Condition, Error, ActionText, PatchPackage, MsiPatch*).
    const IDT: &[(&str, &str, &str)] = &[
        ("Property", "Property\tValue", "s72\tl0"),
        ("Directory", "Directory\tDirectory_Parent\tDefaultDir", "s72\tS72\tl255"),
        ("Component", "Component\tComponentId\tDirectory_\tAttributes\tCondition\tKeyPath", "s72\tS38\ts72\ti2\tS255\tS72"),
        (
            "Feature",
            "Feature\tFeature_Parent\tTitle\tDescription\tDisplay\tLevel\tDirectory_\tAttributes",
            "s38\tS38\tL64\tL255\tI2\ti2\tS72\ti2",
        ),
        ("FeatureComponents", "Feature_\tComponent_", "s38\ts72"),
        ("Condition", "Feature_\tLevel\tCondition", "s38\ti2\tS255"),
        (
            "File",
            "File\tComponent_\tFileName\tFileSize\tVersion\tLanguage\tAttributes\tSequence",
            "s72\ts72\tl255\ti4\tS72\tS20\tI2\ti4",
        ),
        ("Media", "DiskId\tLastSequence\tDiskPrompt\tCabinet\tVolumeLabel\tSource", "i2\ti4\tL64\tS255\tS32\tS72"),
        ("MsiFileHash", "File_\tOptions\tHashPart1\tHashPart2\tHashPart3\tHashPart4", "s72\ti2\ti4\ti4\ti4\ti4"),
        (
            "IniFile",
            "IniFile\tFileName\tDirProperty\tSection\tKey\tValue\tAction\tComponent_",
            "s72\tl255\tS72\tl96\tl128\tl255\ti2\ts72",
        ),
        (
            "RemoveIniFile",
            "RemoveIniFile\tFileName\tDirProperty\tSection\tKey\tValue\tAction\tComponent_",
            "s72\tl255\tS72\tl96\tl128\tL255\ti2\ts72",
        ),
        ("Registry", "Registry\tRoot\tKey\tName\tValue\tComponent_", "s72\ti2\tl255\tL255\tL0\ts72"),
        ("RemoveFile", "FileKey\tComponent_\tFileName\tDirProperty\tInstallMode", "s72\ts72\tL255\ts72\ti2"),
        ("CreateFolder", "Directory_\tComponent_", "s72\ts72"),
        (
            "MsiLockPermissionsEx",
            "MsiLockPermissionsEx\tLockObject\tTable\tSDDLText\tCondition",
            "s72\ts72\ts32\ts0\tS255",
        ),
        (
            "ServiceInstall",
            "ServiceInstall\tName\tDisplayName\tServiceType\tStartType\tErrorControl\tLoadOrderGroup\tDependencies\tStartName\tPassword\tArguments\tComponent_\tDescription",
            "s72\ts255\tL255\ti4\ti4\ti4\tS255\tS255\tS255\tS255\tS255\ts72\tL255",
        ),
        ("ServiceControl", "ServiceControl\tName\tEvent\tArguments\tWait\tComponent_", "s72\tl255\ti2\tL255\tI2\ts72"),
        (
            "Upgrade",
            "UpgradeCode\tVersionMin\tVersionMax\tLanguage\tAttributes\tRemove\tActionProperty",
            "s38\tS20\tS20\tS255\ti4\tS255\ts72",
        ),
        ("LaunchCondition", "Condition\tDescription", "s255\tl255"),
        ("AppSearch", "Property\tSignature_", "s72\ts72"),
        ("RegLocator", "Signature_\tRoot\tKey\tName\tType", "s72\ti2\ts255\tS255\tI2"),
        ("CustomAction", "Action\tType\tSource\tTarget\tExtendedType", "s72\ti2\tS72\tS255\tI4"),
        ("InstallExecuteSequence", "Action\tCondition\tSequence", "s72\tS255\tI2"),
        ("InstallUISequence", "Action\tCondition\tSequence", "s72\tS255\tI2"),
        ("AdminExecuteSequence", "Action\tCondition\tSequence", "s72\tS255\tI2"),
        ("AdminUISequence", "Action\tCondition\tSequence", "s72\tS255\tI2"),
        ("AdvtExecuteSequence", "Action\tCondition\tSequence", "s72\tS255\tI2"),
        ("Error", "Error\tMessage", "i2\tL0"),
        ("ActionText", "Action\tDescription\tTemplate", "s72\tL64\tL128"),
        ("PatchPackage", "PatchId\tMedia_", "s38\ti2"),
        ("MsiPatchMetadata", "Company\tProperty\tValue", "S72\ts72\tl0"),
        ("MsiPatchSequence", "PatchFamily\tProductCode\tSequence\tAttributes", "s72\tS38\ts72\tI4"),
        ("Binary", "Name\tData", "s72\tv0"),
        ("Icon", "Name\tData", "s72\tv0"),
    ];

    #[test]
    fn column_types_match_msidump_and_the_docs() {
        assert_eq!(all().len(), IDT.len());
        for (name, columns, types) in IDT {
            let t = standard(name).unwrap_or_else(|| panic!("no definition for {name}"));
            t.validate().unwrap();
            let got_cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            let got_types: Vec<String> = t.columns.iter().map(ColumnDef::idt_type).collect();
            assert_eq!(got_cols.join("\t"), *columns, "{name}");
            assert_eq!(got_types.join("\t"), *types, "{name}");
        }
    }

    #[test]
    fn keys_match_the_docs() {
        let keys = |t: TableDef| {
            t.columns[..t.key_len()]
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(keys(upgrade()), "UpgradeCode,VersionMin,VersionMax,Language,Attributes");
        assert_eq!(keys(condition()), "Feature_,Level");
        assert_eq!(keys(msi_patch_sequence()), "PatchFamily,ProductCode");
        assert_eq!(keys(msi_patch_metadata()), "Company,Property");
        assert_eq!(keys(file()), "File");
    }

    #[test]
    fn bad_definitions_are_refused() {
        let t = TableDef::new("T", vec![ColumnDef::int16("A"), ColumnDef::int16("B").key()]);
        assert!(t.validate().unwrap_err().to_string().contains("must come before"));
        let t = TableDef::new("T", vec![ColumnDef::int16("A")]);
        assert!(t.validate().unwrap_err().to_string().contains("no primary key"));
        let t = TableDef::new("9T", vec![ColumnDef::int16("A").key()]);
        assert!(t.validate().is_err());
    }
}
