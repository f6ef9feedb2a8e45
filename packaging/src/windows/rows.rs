//! Typed rows of the Windows Installer tables the product writes, and the
//! SDK's values for their attribute and mode columns, by name.
//!
//! Each row lays its fields out in its table's column order
//! (`crate::msi::schema`); `insert` hands it to `Database::insert`, which
//! checks every value against the column. The constants carry the Windows
//! Installer SDK's names (msi.h / MsiDefs.h) in their docs; only the values
//! this crate writes are named here.

use crate::msi::{schema, Database, MsiError, TableDef, Value};

/// A row of one standard table.
pub trait Row {
    fn table(&self) -> TableDef;
    fn values(self) -> Vec<Value>;
}

/// Adds `row` to its table in `db`.
pub fn insert(db: &mut Database, row: impl Row) -> Result<(), MsiError> {
    let table = row.table();
    db.insert(table, row.values())
}

/// A bit set (or enumerated value) of one integer column, named by the SDK.
macro_rules! column_bits {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $bit:ident = $value:expr;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(i32);

        impl $name {
            $($(#[$cdoc])* pub const $bit: $name = $name($value);)*

            /// Both sets of bits (usable in constants, unlike `|`).
            pub const fn with(self, other: $name) -> $name {
                $name(self.0 | other.0)
            }

            pub const fn bits(self) -> i32 {
                self.0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, other: $name) -> $name {
                self.with(other)
            }
        }

        impl From<$name> for Value {
            fn from(bits: $name) -> Value {
                Value::Int(bits.0)
            }
        }
    };
}

column_bits! {
    /// `Component.Attributes`.
    ComponentAttributes {
        /// msidbComponentAttributesLocalOnly: installed on the local disk
        /// only (no bit set).
        LOCAL_ONLY = 0;
        /// msidbComponentAttributesRegistryKeyPath: `KeyPath` names a
        /// Registry row, not a File row.
        REGISTRY_KEY_PATH = 0x4;
        /// msidbComponentAttributes64bit: files and registry in the 64-bit
        /// view (no redirection to Program Files (x86) or WOW6432Node).
        BIT64 = 0x100;
    }
}

column_bits! {
    /// `Feature.Attributes`.
    FeatureAttributes {
        /// msidbFeatureAttributesFavorLocal (no bit set).
        FAVOR_LOCAL = 0;
        /// msidbFeatureAttributesUIDisallowAbsent: the UI offers no
        /// "not installed" state for the feature.
        UI_DISALLOW_ABSENT = 0x10;
    }
}

column_bits! {
    /// `File.Attributes`.
    FileAttributes {
        /// msidbFileAttributesVital: a failure to install the file stops
        /// and rolls the install back (no "Ignore").
        VITAL = 0x200;
    }
}

column_bits! {
    /// `Upgrade.Attributes`.
    UpgradeAttributes {
        /// msidbUpgradeAttributesMigrateFeatures: MigrateFeatureStates
        /// carries the found product's feature states over.
        MIGRATE_FEATURES = 0x1;
        /// msidbUpgradeAttributesOnlyDetect: set the action property, remove
        /// nothing.
        ONLY_DETECT = 0x2;
        /// msidbUpgradeAttributesVersionMinInclusive: `VersionMin` itself is
        /// in the range.
        VERSION_MIN_INCLUSIVE = 0x100;
    }
}

column_bits! {
    /// `RemoveFile.InstallMode`.
    RemoveFileInstallMode {
        /// msidbRemoveFileInstallModeOnRemove: when the component is removed.
        ON_REMOVE = 2;
    }
}

column_bits! {
    /// `IniFile.Action`.
    IniFileAction {
        /// msidbIniFileActionAddLine: write the key, replacing its value.
        ADD_LINE = 0;
    }
}

column_bits! {
    /// `Registry.Root` and `RegLocator.Root`.
    RegistryRoot {
        /// msidbRegistryRootLocalMachine: HKEY_LOCAL_MACHINE.
        LOCAL_MACHINE = 2;
    }
}

column_bits! {
    /// `RegLocator.Type`.
    LocatorType {
        /// msidbLocatorTypeRawValue: the value itself, not a path to look at.
        RAW_VALUE = 2;
        /// msidbLocatorType64bit: read the 64-bit registry view.
        BIT64 = 0x10;
    }
}

column_bits! {
    /// `CustomAction.Type`: what runs, where it comes from, how it runs.
    CustomActionType {
        /// msidbCustomActionTypeDll: a DLL entry point.
        DLL = 0x1;
        /// msidbCustomActionTypeExe: an executable with a command line.
        EXE = 0x2;
        /// msidbCustomActionTypeTextData: text (a property value, an error
        /// message) rather than code.
        TEXT_DATA = 0x3;
        /// msidbCustomActionTypeBinaryData: `Source` is a Binary row (no bit).
        BINARY_DATA = 0;
        /// msidbCustomActionTypeSourceFile: `Source` is a File row (for text
        /// data: no source, the action shows `Target` and stops).
        SOURCE_FILE = 0x10;
        /// msidbCustomActionTypeProperty: `Source` is a property (for text
        /// data: the property is set to `Target`).
        PROPERTY = 0x30;
        /// msidbCustomActionTypeInScript: deferred, run from the script.
        IN_SCRIPT = 0x400;
        /// msidbCustomActionTypeNoImpersonate: in the system context.
        NO_IMPERSONATE = 0x800;
    }
}

pub struct Property {
    pub name: String,
    pub value: String,
}

impl Row for Property {
    fn table(&self) -> TableDef {
        schema::property()
    }
    fn values(self) -> Vec<Value> {
        vec![self.name.into(), self.value.into()]
    }
}

pub struct Directory {
    pub id: String,
    pub parent: Option<String>,
    /// `DefaultDir`: `short|long` names, `.` for the parent itself.
    pub default_dir: String,
}

impl Row for Directory {
    fn table(&self) -> TableDef {
        schema::directory()
    }
    fn values(self) -> Vec<Value> {
        vec![self.id.into(), self.parent.into(), self.default_dir.into()]
    }
}

pub struct Component {
    pub id: String,
    pub guid: String,
    pub directory: String,
    pub attributes: ComponentAttributes,
    pub key_path: Option<String>,
}

impl Row for Component {
    fn table(&self) -> TableDef {
        schema::component()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.guid.into(),
            self.directory.into(),
            self.attributes.into(),
            Value::Null,
            self.key_path.into(),
        ]
    }
}

pub struct Feature {
    pub id: String,
    pub title: String,
    pub description: String,
    pub display: i32,
    pub level: i32,
    pub directory: String,
    pub attributes: FeatureAttributes,
}

impl Row for Feature {
    fn table(&self) -> TableDef {
        schema::feature()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.id.into(),
            Value::Null,
            self.title.into(),
            self.description.into(),
            self.display.into(),
            self.level.into(),
            self.directory.into(),
            self.attributes.into(),
        ]
    }
}

pub struct FeatureComponent {
    pub feature: String,
    pub component: String,
}

impl Row for FeatureComponent {
    fn table(&self) -> TableDef {
        schema::feature_components()
    }
    fn values(self) -> Vec<Value> {
        vec![self.feature.into(), self.component.into()]
    }
}

/// A feature condition: the feature's level becomes `level` when
/// `condition` is true.
pub struct FeatureCondition {
    pub feature: String,
    pub level: i32,
    pub condition: String,
}

impl Row for FeatureCondition {
    fn table(&self) -> TableDef {
        schema::condition()
    }
    fn values(self) -> Vec<Value> {
        vec![self.feature.into(), self.level.into(), self.condition.into()]
    }
}

/// A file without a version resource or language.
pub struct File {
    pub key: String,
    pub component: String,
    /// `short|long`, as `filename::file_name` makes it.
    pub name: String,
    pub size: i32,
    pub attributes: FileAttributes,
    pub sequence: i32,
}

impl Row for File {
    fn table(&self) -> TableDef {
        schema::file()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.key.into(),
            self.component.into(),
            self.name.into(),
            self.size.into(),
            Value::Null,
            Value::Null,
            self.attributes.into(),
            self.sequence.into(),
        ]
    }
}

/// The MD5 of an unversioned file, as four little-endian 32-bit parts.
pub struct FileHash {
    pub file: String,
    pub parts: [i32; 4],
}

impl Row for FileHash {
    fn table(&self) -> TableDef {
        schema::msi_file_hash()
    }
    fn values(self) -> Vec<Value> {
        // Options is reserved and must be 0.
        let [a, b, c, d] = self.parts;
        vec![self.file.into(), 0.into(), a.into(), b.into(), c.into(), d.into()]
    }
}

/// One disk whose files live in a cabinet (`#name`: a stream of the package).
pub struct Media {
    pub disk_id: i32,
    pub last_sequence: i32,
    pub cabinet: String,
}

impl Row for Media {
    fn table(&self) -> TableDef {
        schema::media()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.disk_id.into(),
            self.last_sequence.into(),
            Value::Null,
            self.cabinet.into(),
            Value::Null,
            Value::Null,
        ]
    }
}

pub struct IniFile {
    pub id: String,
    pub file_name: String,
    pub directory: String,
    pub section: String,
    pub key: String,
    pub value: String,
    pub action: IniFileAction,
    pub component: String,
}

impl Row for IniFile {
    fn table(&self) -> TableDef {
        schema::ini_file()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.file_name.into(),
            self.directory.into(),
            self.section.into(),
            self.key.into(),
            self.value.into(),
            self.action.into(),
            self.component.into(),
        ]
    }
}

pub struct Registry {
    pub id: String,
    pub root: RegistryRoot,
    pub key: String,
    pub name: String,
    pub value: String,
    pub component: String,
}

impl Row for Registry {
    fn table(&self) -> TableDef {
        schema::registry()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.root.into(),
            self.key.into(),
            self.name.into(),
            self.value.into(),
            self.component.into(),
        ]
    }
}

pub struct RegLocator {
    pub signature: String,
    pub root: RegistryRoot,
    pub key: String,
    pub name: String,
    pub kind: LocatorType,
}

impl Row for RegLocator {
    fn table(&self) -> TableDef {
        schema::reg_locator()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.signature.into(),
            self.root.into(),
            self.key.into(),
            self.name.into(),
            self.kind.into(),
        ]
    }
}

/// AppSearch sets `property` to what the locator `signature` finds.
pub struct AppSearch {
    pub property: String,
    pub signature: String,
}

impl Row for AppSearch {
    fn table(&self) -> TableDef {
        schema::app_search()
    }
    fn values(self) -> Vec<Value> {
        vec![self.property.into(), self.signature.into()]
    }
}

pub struct RemoveFile {
    pub id: String,
    pub component: String,
    /// A name or wildcard; None removes the folder itself (when empty).
    pub file_name: Option<String>,
    pub directory: String,
    pub mode: RemoveFileInstallMode,
}

impl Row for RemoveFile {
    fn table(&self) -> TableDef {
        schema::remove_file()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.id.into(),
            self.component.into(),
            self.file_name.into(),
            self.directory.into(),
            self.mode.into(),
        ]
    }
}

pub struct CreateFolder {
    pub directory: String,
    pub component: String,
}

impl Row for CreateFolder {
    fn table(&self) -> TableDef {
        schema::create_folder()
    }
    fn values(self) -> Vec<Value> {
        vec![self.directory.into(), self.component.into()]
    }
}

/// An ACL (SDDL) that CreateFolders, InstallFiles, WriteRegistryValues or
/// InstallServices applies to what it creates (Windows Installer 5.0).
pub struct LockPermissionsEx {
    pub id: String,
    /// The key of the row in `table` (a CreateFolder row: its directory).
    pub lock_object: String,
    pub table: &'static str,
    pub sddl: String,
}

impl Row for LockPermissionsEx {
    fn table(&self) -> TableDef {
        schema::msi_lock_permissions_ex()
    }
    fn values(self) -> Vec<Value> {
        vec![self.id.into(), self.lock_object.into(), self.table.into(), self.sddl.into(), Value::Null]
    }
}

/// Products that FindRelatedProducts looks for, any language.
pub struct Upgrade {
    pub upgrade_code: String,
    pub version_min: Option<String>,
    pub version_max: Option<String>,
    pub attributes: UpgradeAttributes,
    pub action_property: String,
}

impl Row for Upgrade {
    fn table(&self) -> TableDef {
        schema::upgrade()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.upgrade_code.into(),
            self.version_min.into(),
            self.version_max.into(),
            Value::Null,
            self.attributes.into(),
            Value::Null,
            self.action_property.into(),
        ]
    }
}

/// Installation stops with `description` unless `condition` is true.
pub struct LaunchCondition {
    pub condition: String,
    pub description: String,
}

impl Row for LaunchCondition {
    fn table(&self) -> TableDef {
        schema::launch_condition()
    }
    fn values(self) -> Vec<Value> {
        vec![self.condition.into(), self.description.into()]
    }
}

pub struct CustomAction {
    pub action: String,
    pub kind: CustomActionType,
    pub source: String,
    pub target: String,
}

impl Row for CustomAction {
    fn table(&self) -> TableDef {
        schema::custom_action()
    }
    fn values(self) -> Vec<Value> {
        vec![
            self.action.into(),
            self.kind.into(),
            self.source.into(),
            self.target.into(),
            Value::Null,
        ]
    }
}

/// The sequence tables an action can be scheduled in.
#[derive(Clone, Copy)]
pub enum SequenceTable {
    InstallExecute,
    InstallUi,
}

pub struct Sequence {
    pub table: SequenceTable,
    pub action: String,
    pub condition: Option<String>,
    pub number: i32,
}

impl Row for Sequence {
    fn table(&self) -> TableDef {
        match self.table {
            SequenceTable::InstallExecute => schema::install_execute_sequence(),
            SequenceTable::InstallUi => schema::install_ui_sequence(),
        }
    }
    fn values(self) -> Vec<Value> {
        vec![self.action.into(), self.condition.into(), self.number.into()]
    }
}

/// The progress text of a standard action.
pub struct ActionText {
    pub action: String,
    pub description: String,
    pub template: String,
}

impl Row for ActionText {
    fn table(&self) -> TableDef {
        schema::action_text()
    }
    fn values(self) -> Vec<Value> {
        vec![self.action.into(), self.description.into(), self.template.into()]
    }
}

/// Data for custom actions (`CustomAction.Source` of a DLL action).
pub struct Binary {
    pub name: String,
    pub data: Vec<u8>,
}

impl Row for Binary {
    fn table(&self) -> TableDef {
        schema::binary()
    }
    fn values(self) -> Vec<Value> {
        vec![self.name.into(), Value::Binary(self.data)]
    }
}
