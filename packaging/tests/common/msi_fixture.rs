//! Small MSI databases built by hand with omnipack's database model: a
//! per-machine x64 product with files from an embedded cabinet, INI values
//! and the standard actions, for the checks by tools we did not write
//! (msitools, Wine's msi.dll). Shared by packaging/tests (`common::msi_fixture`)
//! and tests/ (`outpost_tests::msi_fixture`, taken in by path).

use omnipack::msi::{cab, filename, guid, schema, Database, FileTime, PackageKind, Value};

/// Fixed build time (SOURCE_DATE_EPOCH style): 2026-01-02 03:04:06 UTC.
pub const BUILD_TIME: u64 = 1_767_323_046;

/// Who a hand-built product is.
pub struct Product<'a> {
    /// ProductName, the summary's Subject, and the folder under Program Files.
    pub name: &'a str,
    pub manufacturer: &'a str,
    pub version: &'a str,
    pub upgrade_code: &'a str,
    /// What the product and package codes are derived from (`guid::guid`).
    pub code_seed: &'a str,
}

impl Product<'_> {
    pub fn product_code(&self) -> String {
        guid::guid("product-code", self.code_seed)
    }

    /// An installer database with the summary information, the Property
    /// rows that name the product, then `properties`, and the directories
    /// TARGETDIR > ProgramFiles64Folder > INSTALLDIR.
    pub fn installer(&self, properties: &[(&str, &str)]) -> Database {
        let mut db = Database::new(PackageKind::Installer);
        let s = &mut db.summary;
        s.subject = Some(self.name.into());
        s.author = Some(self.manufacturer.into());
        s.template = Some("x64;1033".into());
        s.revision_number = Some(guid::guid("package-code", self.code_seed));
        s.create_time = Some(FileTime::from_unix_seconds(BUILD_TIME));
        s.last_save_time = Some(FileTime::from_unix_seconds(BUILD_TIME));
        s.page_count = Some(500);
        s.word_count = Some(2);
        s.creating_application = Some("omnipack".into());
        s.security = Some(2);

        let product_code = self.product_code();
        let named = [
            ("ProductCode", product_code.as_str()),
            ("ProductName", self.name),
            ("ProductVersion", self.version),
            ("ProductLanguage", "1033"),
            ("Manufacturer", self.manufacturer),
            ("UpgradeCode", self.upgrade_code),
            ("ALLUSERS", "1"),
        ];
        for (name, value) in named.iter().chain(properties) {
            db.insert(schema::property(), vec![Value::from(*name), Value::from(*value)])
                .unwrap();
        }

        let install_dir = filename::directory_name(self.name, "ProgramFiles64Folder").unwrap();
        for (id, parent, default) in [
            ("TARGETDIR", None, "SourceDir".to_string()),
            ("ProgramFiles64Folder", Some("TARGETDIR"), ".".to_string()),
            ("INSTALLDIR", Some("ProgramFiles64Folder"), install_dir),
        ] {
            db.insert(schema::directory(), vec![id.into(), parent.into(), default.into()])
                .unwrap();
        }
        db
    }
}

/// A 64-bit component in INSTALLDIR; its GUID derives from `guid_seed`.
pub fn insert_component(db: &mut Database, id: &str, guid_seed: &str, key_path: Option<&str>) {
    #[rustfmt::skip]
    db.insert(schema::component(), vec![
        id.into(), guid::guid("component", guid_seed).into(), "INSTALLDIR".into(),
        256.into(), /* msidbComponentAttributes64bit */ Value::Null, key_path.into(),
    ]).unwrap();
}

/// File `key` of `component`, installed as `long_name` in INSTALLDIR, the
/// only file of disk `disk` (its sequence number too): the cabinet `cab`,
/// embedded as a stream.
pub fn insert_cab_file(db: &mut Database, disk: i32, component: &str, key: &str, long_name: &str, cab: &str, data: Vec<u8>) {
    #[rustfmt::skip]
    db.insert(schema::file(), vec![
        key.into(), component.into(), filename::file_name(long_name, "INSTALLDIR").unwrap().into(),
        (data.len() as i32).into(), Value::Null, Value::Null, 512.into(), /* msidbFileAttributesVital */ disk.into(),
    ]).unwrap();
    #[rustfmt::skip]
    db.insert(schema::media(), vec![disk.into(), disk.into(), Value::Null, format!("#{cab}").into(), Value::Null, Value::Null])
        .unwrap();
    db.streams
        .insert(cab.into(), cab::cabinet(&[(key.into(), data)], BUILD_TIME).unwrap());
}

/// A top-level feature at `level` (1: installed by default) in INSTALLDIR.
pub fn insert_feature(db: &mut Database, id: &str, title: &str, level: i32, components: &[&str]) {
    #[rustfmt::skip]
    db.insert(schema::feature(), vec![
        id.into(), Value::Null, title.into(), Value::Null, 1.into(), level.into(), "INSTALLDIR".into(), 0.into(),
    ]).unwrap();
    for c in components {
        db.insert(schema::feature_components(), vec![id.into(), (*c).into()])
            .unwrap();
    }
}

/// `key=value` in section `[server]` of INSTALLDIR\\`file`, written with
/// `component` (`value` may name a property: `[SWITCH]`).
pub fn insert_ini_line(db: &mut Database, id: &str, file: &str, key: &str, value: &str, component: &str) {
    #[rustfmt::skip]
    db.insert(schema::ini_file(), vec![
        id.into(), file.into(), "INSTALLDIR".into(), "server".into(), key.into(), value.into(),
        0.into(), /* msidbIniFileActionAddLine */ component.into(),
    ]).unwrap();
}

/// A LaunchCondition: installing stops with `message` unless `condition`.
pub fn insert_launch_condition(db: &mut Database, condition: &str, message: &str) {
    db.insert(schema::launch_condition(), vec![condition.into(), message.into()])
        .unwrap();
}

/// The costing actions both sequences start with.
const COSTING: [(&str, i32); 5] = [
    ("LaunchConditions", 100),
    ("ValidateProductID", 700),
    ("CostInitialize", 800),
    ("FileCost", 900),
    ("CostFinalize", 1000),
];

/// The standard actions a small hand-built MSI needs to install files and
/// INI values, in InstallExecuteSequence and InstallUISequence.
pub fn insert_minimal_sequences(db: &mut Database) {
    let seq = |action: &str, n: i32| vec![Value::from(action), Value::Null, Value::from(n)];
    let execute = [
        ("InstallValidate", 1400),
        ("InstallInitialize", 1500),
        ("ProcessComponents", 1600),
        ("UnpublishFeatures", 1800),
        ("RemoveIniValues", 3100),
        ("RemoveFiles", 3500),
        ("RemoveFolders", 3600),
        ("CreateFolders", 3700),
        ("InstallFiles", 4000),
        ("WriteIniValues", 5100),
        ("RegisterUser", 6000),
        ("RegisterProduct", 6100),
        ("PublishFeatures", 6300),
        ("PublishProduct", 6400),
        ("InstallFinalize", 6600),
    ];
    for (action, n) in COSTING.into_iter().chain(execute) {
        db.insert(schema::install_execute_sequence(), seq(action, n)).unwrap();
    }
    for (action, n) in COSTING.into_iter().chain([("ExecuteAction", 1300)]) {
        db.insert(schema::install_ui_sequence(), seq(action, n)).unwrap();
    }
}
