//! Transforms (.mst) checked by tools we did not write: Wine's msi.dll
//! through a tiny mingw-built driver (tests/wine/msitool.c:
//! `MsiDatabaseApplyTransform` + SQL queries), Wine's `msiexec
//! TRANSFORMS=`, `msiinfo suminfo` and `osslsigncode sign/verify`. libmsi
//! (msitools) is not used to apply transforms: its transform reader is
//! broken for table streams. A missing tool fails the test with the Debian
//! package to install; nothing is skipped. Set `MST_TEST_DIR` to an
//! existing directory to keep the MSI/MST files for inspection.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

mod common;

use common::msi_fixture as fixture;
use common::{ok, text, tool};
use omnipack::msi::transform::{self, TableShape, TransformOptions};
use omnipack::msi::{schema, ColumnDef, Database, FileTime, TableDef, Value};

const UPGRADE_CODE: &str = "{6F0D3A52-8E4B-4C57-9A61-3B2E7D54C910}";

const PRODUCT: fixture::Product = fixture::Product {
    name: "Outpost Client",
    manufacturer: "Outpost Systems",
    version: "2.1.0",
    upgrade_code: UPGRADE_CODE,
    code_seed: "outpost/x64/2.1.0",
};

fn product_code() -> String {
    PRODUCT.product_code()
}

/// A small per-machine x64 installer: one file, an agent.ini line driven by
/// the SWITCH property, and an optional feature (Level 200, off by
/// default) that adds another agent.ini line.
fn installer() -> Database {
    let mut db = PRODUCT.installer(&[
        ("SWITCH", "switch.outpost.example:443"),
        ("SecureCustomProperties", "SWITCH"),
    ]);
    fixture::insert_component(&mut db, "Payload", "x64/Payload", Some("payload.dat"));
    fixture::insert_component(&mut db, "Diagnostics", "x64/Diagnostics", None);
    let data = b"outpost payload\n".to_vec();
    fixture::insert_cab_file(&mut db, 1, "Payload", "payload.dat", "payload.dat", "agent.cab", data);
    fixture::insert_feature(&mut db, "Client", "Outpost Client", 1, &["Payload"]);
    fixture::insert_feature(&mut db, "Diagnostics", "Diagnostics", 200, &["Diagnostics"]);
    fixture::insert_ini_line(&mut db, "AgentIniSwitch", "agent.ini", "switch", "[SWITCH]", "Payload");
    fixture::insert_ini_line(&mut db, "AgentIniDiag", "agent.ini", "diagnostics", "on", "Diagnostics");
    fixture::insert_launch_condition(&mut db, "VersionNT64", "Outpost Client needs 64-bit Windows.");
    fixture::insert_minimal_sequences(&mut db);
    db.insert(schema::binary(), vec!["Helper".into(), Value::Binary(b"helper v1".to_vec())])
        .unwrap();
    db.insert(
        wide(),
        (0..19)
            .map(|i| if i == 0 { Value::from("Row") } else { Value::Int(i) })
            .collect(),
    )
    .unwrap();
    db.insert(tweaks(false), vec!["Mode".into(), 1.into()]).unwrap();
    db.insert(tweaks(false), vec!["Retry".into(), 3.into()]).unwrap();
    db
}

/// A custom table; the target appends a column to it.
fn tweaks(extended: bool) -> TableDef {
    let mut columns = vec![
        ColumnDef::string("Tweak", 72).key().category(msi::Category::Identifier),
        ColumnDef::int16("Value").range(0, 100),
    ];
    if extended {
        columns.push(ColumnDef::localized("Note", 0).nullable().category(msi::Category::Text));
    }
    TableDef::new("OutpostTweaks", columns)
}

/// 19 columns: an update past the 16-bit mask.
fn wide() -> TableDef {
    let mut columns = vec![ColumnDef::string("Wide", 72).key()];
    columns.extend((1..19).map(|i| ColumnDef::int16(&format!("N{i}")).nullable()));
    TableDef::new("OutpostWide", columns)
}

/// A table the transform creates: every column type, validation facts.
fn settings_table() -> TableDef {
    TableDef::new(
        "OutpostSettings",
        vec![
            ColumnDef::string("Setting", 72).key().category(msi::Category::Identifier),
            ColumnDef::int16("Order").key().range(0, 1000),
            ColumnDef::localized("Value", 0).nullable().category(msi::Category::Formatted),
            ColumnDef::int32("Weight").nullable(),
            ColumnDef::string("Kind", 8).set(&["flag", "text"]),
            ColumnDef::binary("Blob"),
        ],
    )
}

/// Everything a transform can carry, in one target.
fn changed(base: &Database) -> Database {
    let mut t = base.clone();
    let property = t.table_mut("Property").unwrap();
    property.set(&["SWITCH".into()], "Value", "corp.example:9443").unwrap();
    property
        .set(&["Manufacturer".into()], "Value", "Outpost Systems — café")
        .unwrap();
    property.push(vec!["AGENT_TOKEN".into(), "abc123".into()]).unwrap();
    t.table_mut("Feature")
        .unwrap()
        .set(&["Diagnostics".into()], "Level", 1)
        .unwrap();
    t.table_mut("InstallUISequence")
        .unwrap()
        .remove(&["ValidateProductID".into()])
        .unwrap();
    t.table_mut("Binary")
        .unwrap()
        .set(&["Helper".into()], "Data", Value::Binary(b"helper v2".to_vec()))
        .unwrap();
    t.insert(schema::binary(), vec!["Extra".into(), Value::Binary((0..=255u8).collect())])
        .unwrap();
    for (key, order, value, weight, kind) in [
        ("Stagger", 1, Some("300"), Some(-2_000_000_000), "text"),
        ("Verbose", 2, None, None, "flag"),
    ] {
        let blob = Value::Binary(format!("blob of {key}").into_bytes());
        t.insert(
            settings_table(),
            vec![key.into(), order.into(), value.into(), weight.into(), kind.into(), blob],
        )
        .unwrap();
    }
    let wide_row = t.table_mut("OutpostWide").unwrap();
    wide_row.set(&["Row".into()], "N2", 200).unwrap();
    wide_row.set(&["Row".into()], "N17", Value::Null).unwrap();
    wide_row.set(&["Row".into()], "N18", 1800).unwrap();
    // Append a column to an existing table: existing rows get NULL or a value.
    let old = t.remove_table("OutpostTweaks").unwrap();
    for row in old.rows() {
        let note = if row[0] == Value::from("Mode") {
            Value::from("set by transform")
        } else {
            Value::Null
        };
        t.insert(tweaks(true), vec![row[0].clone(), row[1].clone(), note]).unwrap();
    }
    t.insert(tweaks(true), vec!["Burst".into(), 7.into(), Value::Null]).unwrap();
    t
}

/// A second cabinet, embedded in the transform as a root stream, with a
/// new file in a new component of the Client feature.
fn with_extra_file(base: &Database) -> Database {
    let mut t = base.clone();
    fixture::insert_component(&mut t, "Extra", "x64/Extra", Some("extra.txt"));
    t.insert(schema::feature_components(), vec!["Client".into(), "Extra".into()])
        .unwrap();
    let data = b"shipped by a transform\n".to_vec();
    fixture::insert_cab_file(&mut t, 2, "Extra", "extra.txt", "extra.txt", "extra.cab", data);
    t
}

// ---------------------------------------------------------------------- //

/// A fresh headless Wine prefix (killed on drop).
struct Wine {
    prefix: tempfile::TempDir,
    dir: PathBuf,
}

impl Wine {
    fn new(dir: &Path) -> Wine {
        let prefix = tempfile::Builder::new().prefix("wine-mst-").tempdir().unwrap();
        let w = Wine {
            prefix,
            dir: dir.to_path_buf(),
        };
        for args in [&["wineboot", "--init"][..], &["winecfg", "-v", "win10"][..]] {
            let out = w.run("wine", args);
            assert!(out.status.success(), "wine {args:?}: {}", text(&out));
        }
        w.settle();
        w
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        common::run(
            tool(program)
                .args(args)
                .current_dir(&self.dir)
                .env("WINEPREFIX", self.prefix.path())
                .env("WINEDEBUG", "-all")
                .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
                .env_remove("DISPLAY"),
        )
    }

    fn settle(&self) {
        let _ = self.run("wineserver", &["-w"]);
    }

    /// `wine msitool.exe ARGS`, which must succeed; its stdout.
    #[track_caller]
    fn msitool(&self, args: &[&str]) -> String {
        let mut a = vec!["msitool.exe"];
        a.extend_from_slice(args);
        let out = self.run("wine", &a);
        assert!(
            out.status.success(),
            "wine msitool.exe {args:?} failed ({}):\n{}",
            out.status,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs every query in one msitool call (`query DB` or `view DB MST
    /// FLAGS` before them) and returns each result's lines, sorted (msi.dll
    /// returns rows in stored order, which follows string ids).
    #[track_caller]
    fn queries(&self, head: &[&str], sql: &[&str]) -> Vec<Vec<String>> {
        let mut args = head.to_vec();
        args.extend_from_slice(sql);
        let out = self.msitool(&args);
        let mut results = vec![Vec::new()];
        for line in out.lines() {
            if line == "----" {
                results.last_mut().unwrap().sort();
                results.push(Vec::new());
            } else {
                results.last_mut().unwrap().push(line.to_string());
            }
        }
        results.pop();
        assert_eq!(results.len(), sql.len(), "msitool output:\n{out}");
        results
    }

    fn host(&self, rel: &str) -> PathBuf {
        self.prefix.path().join("drive_c").join(rel)
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let _ = self.run("wineserver", &["-k"]);
    }
}

fn build_msitool(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/wine/msitool.c");
    ok(tool("x86_64-w64-mingw32-gcc").current_dir(dir).args(["-O2", "-o", "msitool.exe", src.to_str().unwrap(), "-lmsi"]));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    eprintln!("[time] {what}: {:.2} s", t.elapsed().as_secs_f64());
    r
}

#[test]
fn transforms_apply_in_wine_and_round_trip() {
    let start = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let dir_keep = std::env::var("MST_TEST_DIR").map(PathBuf::from);
    let dir = dir_keep.as_deref().unwrap_or(dir);
    let base = installer();
    std::fs::write(dir.join("base.msi"), base.to_bytes().unwrap()).unwrap();

    // The diff names every change.
    let target = changed(&base);
    let set = transform::diff(&base, &target).unwrap();
    let names: Vec<&str> = set.tables.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "Binary",
            "Feature",
            "InstallUISequence",
            "OutpostSettings",
            "OutpostTweaks",
            "OutpostWide",
            "Property",
            "_Validation"
        ]
    );
    assert_eq!(set.tables["OutpostSettings"].shape, TableShape::New);
    assert_eq!(set.tables["OutpostTweaks"].shape, TableShape::Extended { first_new: 2 });
    let property = &set.tables["Property"];
    assert_eq!(
        property.inserted,
        vec![vec![Value::from("AGENT_TOKEN"), Value::from("abc123")]]
    );
    assert_eq!(property.updated.len(), 2);
    assert_eq!(
        set.tables["InstallUISequence"].deleted,
        vec![vec![Value::from("ValidateProductID")]]
    );
    assert_eq!(set.base.product_code, Some(product_code()));
    assert_eq!(set.base.platform_language(), "x64;1033");

    let options = TransformOptions {
        time: Some(FileTime::from_unix_seconds(fixture::BUILD_TIME)),
        comments: Some("Outpost settings".into()),
        ..TransformOptions::settings()
    };
    let mst = timed("encode", || transform::encode(&base, &set, &options).unwrap());
    assert_eq!(mst, transform::encode(&base, &set, &options).unwrap(), "two encodings differ");
    assert_eq!(u16::from_le_bytes([mst[0x1a], mst[0x1b]]), 3, "CFB major version");
    std::fs::write(dir.join("x.mst"), &mst).unwrap();

    // msitools reads the summary.
    let suminfo = ok(tool("msiinfo").current_dir(dir).args(["suminfo", "x.mst"]));
    eprintln!("msiinfo suminfo x.mst:\n{suminfo}");
    let revision = format!("{}2.1.0;{}2.1.0;{UPGRADE_CODE}", product_code(), product_code());
    for expected in [
        "Title: Transform",
        "Subject: Outpost Client",
        "Author: Outpost Systems",
        "Comments: Outpost settings",
        "Template: x64;1033",
        "Last author: x64;1033",
        &format!("Revision number (UUID): {revision}"),
        "Version: 500 (1f4)",
        "Restrict: 134414367 (803001f)",
        "Application: omnipack",
        "Security: 4 (4)",
    ] {
        assert!(suminfo.contains(expected), "`{expected}` not in msiinfo suminfo:\n{suminfo}");
    }

    // osslsigncode signs and verifies the transform.
    #[rustfmt::skip]
    let req = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "sign.key", "-out", "sign.pem", "-days", "2",
        "-subj", "/CN=omnipack mst test (throwaway)",
        "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning",
    ];
    ok(tool("openssl").current_dir(dir).args(&req));
    #[rustfmt::skip]
    let sign = [
        "sign", "-certs", "sign.pem", "-key", "sign.key", "-h", "sha256", "-n", "Outpost settings",
        "-in", "x.mst", "-out", "x-signed.mst",
    ];
    ok(tool("osslsigncode").current_dir(dir).args(&sign));
    let verify = ok(tool("osslsigncode").current_dir(dir).args(["verify", "-CAfile", "sign.pem", "-in", "x-signed.mst"]));
    assert!(verify.contains("Signature verification: ok"), "{verify}");
    eprintln!(
        "osslsigncode verify: {}",
        verify
            .lines()
            .filter(|l| l.contains("verification"))
            .collect::<Vec<_>>()
            .join(" | ")
    );

    // Wine's msi.dll applies it; every change reads back.
    timed("mingw msitool.exe", || build_msitool(dir));
    let wine = timed("wineboot", || Wine::new(dir));
    let summary = wine.msitool(&["suminfo", "x.mst"]);
    eprintln!("wine msitool.exe suminfo x.mst:\n{summary}");
    assert!(
        summary.contains(&format!("9\t{revision}")) && summary.contains("16\t134414367"),
        "{summary}"
    );
    let applied = timed("msitool apply", || wine.msitool(&["apply", "base.msi", "x.mst", "out.msi"]));
    eprintln!("wine msitool.exe apply base.msi x.mst out.msi:\n{applied}");
    let hex_all = hex(&(0..=255u8).collect::<Vec<_>>());
    let expected: Vec<(&str, Vec<String>)> = vec![
        ("SELECT `Value` FROM `Property` WHERE `Property`='SWITCH'", vec!["corp.example:9443".into()]),
        ("SELECT `Value` FROM `Property` WHERE `Property`='AGENT_TOKEN'", vec!["abc123".into()]),
        ("SELECT `Value` FROM `Property` WHERE `Property`='Manufacturer'", vec!["Outpost Systems — café".into()]),
        ("SELECT `Value` FROM `Property` WHERE `Property`='ProductName'", vec!["Outpost Client".into()]),
        ("SELECT `Feature`, `Level` FROM `Feature`", vec!["Client\t1".into(), "Diagnostics\t1".into()]),
        ("SELECT `Action` FROM `InstallUISequence` WHERE `Action`='ValidateProductID'", vec![]),
        ("SELECT `Sequence` FROM `InstallUISequence` WHERE `Action`='CostInitialize'", vec!["800".into()]),
        ("SELECT `Data` FROM `Binary` WHERE `Name`='Extra'", vec![format!("bin:{hex_all}")]),
        (
            "SELECT * FROM `OutpostSettings`",
            vec![
                format!("Stagger\t1\t300\t-2000000000\ttext\tbin:{}", hex(b"blob of Stagger")),
                format!("Verbose\t2\t<NULL>\t<NULL>\tflag\tbin:{}", hex(b"blob of Verbose")),
            ],
        ),
        (
            "SELECT `Tweak`, `Value`, `Note` FROM `OutpostTweaks`",
            vec!["Burst\t7\t<NULL>".into(), "Mode\t1\tset by transform".into(), "Retry\t3\t<NULL>".into()],
        ),
        (
            "SELECT `Nullable`, `MinValue`, `MaxValue`, `Category` FROM `_Validation` WHERE `Table`='OutpostSettings' AND `Column`='Order'",
            vec!["N\t0\t1000\t<NULL>".into()],
        ),
        (
            "SELECT `N1`, `N2`, `N16`, `N17`, `N18` FROM `OutpostWide`",
            vec!["1\t200\t16\t<NULL>\t1800".into()],
        ),
        (
            "SELECT `Nullable`, `Category` FROM `_Validation` WHERE `Table`='OutpostTweaks' AND `Column`='Note'",
            vec!["Y\tText".into()],
        ),
    ];
    let sql: Vec<&str> = expected.iter().map(|(q, _)| *q).collect();
    let got = timed("msitool query (committed)", || wine.queries(&["query", "out.msi"], &sql));
    for ((q, want), got) in expected.iter().zip(&got) {
        assert_eq!(got, want, "{q}");
    }
    // A changed stream the file already has: msi.dll sees the new data once
    // the transform is applied, but Wine's MsiDatabaseCommit skips streams
    // that exist in the file, so out.msi keeps the old bytes (see below).
    let helper = "SELECT `Data` FROM `Binary` WHERE `Name`='Helper'";
    let in_memory = wine.queries(&["view", "base.msi", "x.mst", "0"], &[helper, sql[0]]);
    assert_eq!(in_memory[0], [format!("bin:{}", hex(b"helper v2"))]);
    assert_eq!(in_memory[1], ["corp.example:9443"]);
    let committed = wine.queries(&["query", "out.msi"], &[helper]);
    assert_eq!(
        committed[0],
        [format!("bin:{}", hex(b"helper v1"))],
        "Wine now rewrites streams on commit: tighten this test"
    );

    // Round trip: what Wine made of base + transform is the target again.
    let out = Database::from_bytes(&std::fs::read(dir.join("out.msi")).unwrap()).unwrap();
    // The only difference Wine's commit allows: the rewritten Binary.Helper stream.
    let again = transform::diff(&base, &out).unwrap();
    let mut expected = set.clone();
    let binary = expected.tables.get_mut("Binary").unwrap();
    assert_eq!(binary.updated.len(), 1);
    binary.updated.clear();
    assert_eq!(
        again, expected,
        "diff(base, apply(base, mst)) differs from the transform's set"
    );

    // More than 65535 strings: 3-byte string references in the transform.
    let mut big = base.clone();
    // 31 columns, not 32: Wine 8 inserts nothing into a 32-column table
    // (`(1 << num_cols) - 1` in TABLE_insert_row overflows).
    let mut columns = vec![ColumnDef::int32("Id").key()];
    columns.extend((1..=30).map(|c| ColumnDef::string(&format!("C{c}"), 0)));
    let big_def = TableDef::new("OutpostBig", columns);
    for r in 0..2_200 {
        let mut row = vec![Value::Int(r)];
        row.extend((1..=30).map(|c| Value::Str(format!("r{r}c{c}"))));
        big.insert(big_def.clone(), row).unwrap();
    }
    let big_set = transform::diff(&base, &big).unwrap();
    let big_mst = transform::encode(&base, &big_set, &options).unwrap();
    let pool = omnipack::msi::Storage::from_cfb(&big_mst).unwrap().streams[&transform::encode_stream_name("_StringPool", true)]
        [..4]
        .to_vec();
    assert_eq!(pool, (0x8000_0000u32 | 1252).to_le_bytes(), "long string references expected");
    std::fs::write(dir.join("big.mst"), &big_mst).unwrap();
    timed("msitool apply (66k strings)", || {
        wine.msitool(&["apply", "base.msi", "big.mst", "big.msi"])
    });
    let got = wine.queries(
        &["query", "big.msi"],
        &[
            "SELECT `Id`, `C1`, `C30` FROM `OutpostBig` WHERE `Id` = 2199",
            "SELECT `Id` FROM `OutpostBig` WHERE `C17` = 'r1000c17'",
        ],
    );
    assert_eq!(got, [vec!["2199\tr2199c1\tr2199c30".to_string()], vec!["1000".to_string()]]);
    // No read-back of big.msi: Wine's commit switches the file's pool to
    // 3-byte references but rewrites only the tables it loaded, leaving the
    // others with 2-byte ones (Wine's reader copes; the `msi` crate does not).

    // An administrator's settings transform, honoured by msiexec.
    let settings = transform::settings_transform(
        &base,
        &[
            ("SWITCH".into(), "corp.example:9443".into()),
            ("AGENT_TOKEN".into(), "abc123".into()),
        ],
        &[("Diagnostics".into(), 1)],
    )
    .unwrap();
    std::fs::write(dir.join("settings.mst"), &settings).unwrap();
    // And a second transform that carries a new cabinet as a root stream.
    let files = transform::diff(&base, &with_extra_file(&base)).unwrap();
    assert_eq!(files.streams.keys().collect::<Vec<_>>(), ["extra.cab"]);
    std::fs::write(
        dir.join("files.mst"),
        transform::encode(&base, &files, &TransformOptions::settings()).unwrap(),
    )
    .unwrap();
    let out = timed("msiexec /i TRANSFORMS=", || {
        wine.run(
            "wine",
            &[
                "msiexec",
                "/i",
                "base.msi",
                "TRANSFORMS=settings.mst;files.mst",
                "/qn",
                "/l*v",
                "install.log",
            ],
        )
    });
    wine.settle();
    let log = std::fs::read(dir.join("install.log"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(
        out.status.success(),
        "msiexec failed ({}):\n{}",
        out.status,
        log.lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    let ini = std::fs::read_to_string(wine.host("Program Files/Outpost Client/agent.ini"))
        .unwrap_or_else(|e| panic!("agent.ini not installed ({e}); log:\n{log}"));
    eprintln!("agent.ini after msiexec /i base.msi TRANSFORMS=settings.mst;files.mst:\n{ini}");
    assert!(ini.contains("switch=corp.example:9443"), "{ini}");
    assert!(
        ini.contains("diagnostics=on"),
        "the Feature.Level change did not install Diagnostics:\n{ini}"
    );
    assert!(log.contains("AGENT_TOKEN = abc123"), "AGENT_TOKEN not in the log");
    let extra = std::fs::read_to_string(wine.host("Program Files/Outpost Client/extra.txt"));
    assert_eq!(
        extra.ok().as_deref(),
        Some("shipped by a transform\n"),
        "extra.txt from the transform's cabinet"
    );
    eprintln!("[time] whole test: {:.1} s", start.elapsed().as_secs_f64());
}

#[test]
fn settings_transforms_refuse_bad_input_by_name() {
    let base = installer();
    let e = transform::settings_transform(&base, &[], &[("Nope".into(), 1)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("table `Feature`") && e.contains("Nope") && e.contains("no such feature"),
        "{e}"
    );
    let e = transform::settings_transform(&base, &[("SWITCH".into(), "".into())], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("column `Value`") && e.contains("SWITCH"), "{e}");
    let e = transform::settings_transform(&base, &[("bad name".into(), "x".into())], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("column `Property`") && e.contains("bad name"), "{e}");
    let e = transform::settings_transform(&base, &[], &[("Client".into(), 40_000)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("column `Level`") && e.contains("40000"), "{e}");
    let e = transform::settings_transform(&base, &[("SWITCH".into(), "日本".into())], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("table `Property`, column `Value`") && e.contains("U+65E5"), "{e}");
    // Nothing to change is still a valid (empty) transform.
    let empty = transform::settings_transform(&base, &[("SWITCH".into(), "switch.outpost.example:443".into())], &[]).unwrap();
    assert!(omnipack::msi::Storage::from_cfb(&empty).unwrap().streams.len() == 3);
}

#[test]
fn diff_refuses_what_a_transform_cannot_express() {
    let base = installer();
    let mut retyped = base.clone();
    let property = retyped.remove_table("Property").unwrap();
    let mut def = schema::property();
    def.columns[1] = ColumnDef::localized("Value", 255).category(msi::Category::Text);
    for row in property.rows() {
        retyped.insert(def.clone(), row.to_vec()).unwrap();
    }
    let e = transform::diff(&base, &retyped).unwrap_err().to_string();
    assert_eq!(
        e,
        "table `Property`: column `Value` changes its type from l0 to l255; a transform cannot change the type of an existing column"
    );

    let mut fewer = base.clone();
    let tweaks_rows: Vec<Vec<Value>> = fewer
        .remove_table("OutpostTweaks")
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect();
    let one = TableDef::new("OutpostTweaks", vec![tweaks(false).columns[0].clone()]);
    for row in tweaks_rows {
        fewer.insert(one.clone(), vec![row[0].clone()]).unwrap();
    }
    let e = transform::diff(&base, &fewer).unwrap_err().to_string();
    assert!(
        e.contains("table `OutpostTweaks`: column `Value`") && e.contains("cannot remove a column"),
        "{e}"
    );

    let mut dropped = base.clone();
    dropped.remove_table("OutpostTweaks");
    let e = transform::diff(&base, &dropped).unwrap_err().to_string();
    assert!(
        e.contains("table `OutpostTweaks`") && e.contains("does not drop tables"),
        "{e}"
    );

    let mut no_cab = base.clone();
    no_cab.streams.clear();
    let e = transform::diff(&base, &no_cab).unwrap_err().to_string();
    assert!(
        e.contains("stream `agent.cab`") && e.contains("cannot remove a stream"),
        "{e}"
    );

    // Validation needs what it validates.
    let mut anonymous = base.clone();
    anonymous.table_mut("Property").unwrap().remove(&["UpgradeCode".into()]);
    let set = transform::diff(&anonymous, &anonymous).unwrap();
    assert!(set.is_empty());
    let e = transform::encode(&anonymous, &set, &TransformOptions::settings())
        .unwrap_err()
        .to_string();
    assert!(e.contains("upgrade code") && e.contains("revision_number"), "{e}");
}
