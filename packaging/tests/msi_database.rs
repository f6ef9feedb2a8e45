//! The MSI database layer checked by tools we did not write: msitools
//! (`msiinfo`, `msidump`, `msiextract`), `cabextract`, `file`, and
//! `osslsigncode` with a throwaway certificate made by `openssl`. A missing
//! tool fails the test with the Debian package to install; nothing is
//! skipped.

use std::path::Path;

mod common;

use common::msi_fixture as fixture;
use common::{checked, find_file, ok, tool};
use omnipack::msi::{filename, guid, schema, Database, PackageKind, TableDef, Value};

const PAYLOAD_NAME: &str = "outpost-payload.dat";

fn payload() -> Vec<u8> {
    // Compressible but not trivial, and over several 32 KiB MSZIP blocks.
    (0..150_000u32)
        .map(|i| {
            if i % 3 == 0 {
                b'a' + (i % 26) as u8
            } else {
                (i.wrapping_mul(2_654_435_761) >> 24) as u8
            }
        })
        .collect()
}

/// A small but realistic per-machine x64 installer.
fn installer() -> Database {
    let product = fixture::Product {
        name: "Outpost Client",
        manufacturer: "Outpost Systems",
        version: "2.1.0",
        upgrade_code: "{6F0D3A52-8E4B-4C57-9A61-3B2E7D54C910}",
        code_seed: "outpost/x64/2.1.0",
    };
    let mut db = product.installer(&[
        ("SWITCH", "switch.outpost.example:443"),
        ("SecureCustomProperties", "SWITCH"),
    ]);
    db.summary.keywords = Some("Installer".into());
    db.summary.comments = Some("Endpoint agent".into());
    fixture::insert_component(&mut db, "Payload", "x64/Client/payload", Some("payload.dat"));
    fixture::insert_cab_file(&mut db, 1, "Payload", "payload.dat", PAYLOAD_NAME, "agent.cab", payload());
    fixture::insert_feature(&mut db, "Client", "Outpost Client", 1, &["Payload"]);
    fixture::insert_ini_line(&mut db, "AgentIniSwitch", "agent.ini", "switch", "[SWITCH]", "Payload");
    fixture::insert_launch_condition(&mut db, "VersionNT64", "Outpost Client needs 64-bit Windows.");
    fixture::insert_minimal_sequences(&mut db);
    db.insert(
        schema::binary(),
        vec!["Helper".into(), Value::Binary(b"not really a DLL".to_vec())],
    )
    .unwrap();
    db
}

/// What `msidump -t` should print for `table`: header lines exactly, rows
/// as a sorted set (msidump prints them in stored order, which follows
/// string-pool ids).
fn expected_idt(table: &TableDef, rows: Vec<&[Value]>) -> (Vec<String>, Vec<String>) {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let types: Vec<String> = table.columns.iter().map(|c| c.idt_type()).collect();
    let keys: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    let header = vec![
        names.join("\t"),
        types.join("\t"),
        format!("{}\t{}", table.name, keys.join("\t")),
    ];
    let mut lines: Vec<String> = rows
        .into_iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::Null => String::new(),
                    Value::Int(i) => i.to_string(),
                    Value::Str(s) => s.clone(),
                    Value::Binary(_) => "<binary>".into(),
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect();
    lines.sort();
    (header, lines)
}

fn read_idt(path: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<String> = text.split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect();
    let mut rows = lines[3..].to_vec();
    rows.sort();
    (lines[..3].to_vec(), rows)
}

#[test]
fn installer_database_passes_independent_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let db = installer();
    let bytes = db.to_bytes().unwrap();
    std::fs::write(dir.join("x.msi"), &bytes).unwrap();

    // Deterministic: a second, separately built database gives the same bytes.
    let again = installer().to_bytes().unwrap();
    assert!(bytes == again, "two builds differ");

    // CFB version 3: major version 3 at 0x1A, sector shift 9 (512 bytes).
    assert_eq!(&bytes[..8], b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
    assert_eq!(u16::from_le_bytes([bytes[0x1a], bytes[0x1b]]), 3, "CFB major version");
    assert_eq!(u16::from_le_bytes([bytes[0x1e], bytes[0x1f]]), 9, "sector shift");

    // libmagic reads the summary and its code page.
    let file = ok(tool("file").current_dir(dir).args(["x.msi"]));
    assert!(file.contains("Code page: 1252"), "{file}");
    assert!(file.contains("MSI Installer"), "{file}");

    // Summary information.
    let suminfo = ok(tool("msiinfo").current_dir(dir).args(["suminfo", "x.msi"]));
    let package_code = db.summary.revision_number.clone().unwrap();
    for expected in [
        "Title: Installation Database",
        "Subject: Outpost Client",
        "Author: Outpost Systems",
        "Keywords: Installer",
        "Comments: Endpoint agent",
        "Template: x64;1033",
        &format!("Revision number (UUID): {package_code}"),
        "Version: 500 (1f4)",
        "Source: 2 (2)",
        "Application: omnipack",
        "Security: 2 (2)",
    ] {
        assert!(suminfo.contains(expected), "`{expected}` not in msiinfo suminfo:\n{suminfo}");
    }

    // Every table we wrote is listed and dumps back with its rows.
    let tables = ok(tool("msiinfo").current_dir(dir).args(["tables", "x.msi"]));
    let listed: Vec<&str> = tables.lines().collect();
    for table in db.tables() {
        assert!(
            listed.contains(&table.name()),
            "{} not in msiinfo tables:\n{tables}",
            table.name()
        );
    }
    std::fs::create_dir(dir.join("dump")).unwrap();
    checked(tool("msidump").current_dir(dir).args(["-t", "-d", "dump", "x.msi"]));
    for table in db.tables() {
        let (header, rows) = read_idt(&dir.join("dump").join(format!("{}.idt", table.name())));
        let (want_header, want_rows) = expected_idt(table.def(), table.rows().collect());
        assert_eq!(header, want_header, "{} header", table.name());
        assert_eq!(rows.len(), want_rows.len(), "{} row count", table.name());
        if table.name() != "Binary" {
            assert_eq!(rows, want_rows, "{} rows", table.name());
        }
    }
    // Property and File spelled out, so a reader sees what msidump printed.
    let (_, property) = read_idt(&dir.join("dump/Property.idt"));
    assert!(
        property.contains(&"SWITCH\tswitch.outpost.example:443".to_string()),
        "{property:?}"
    );
    let (_, file) = read_idt(&dir.join("dump/File.idt"));
    let file_name = filename::file_name(PAYLOAD_NAME, "INSTALLDIR").unwrap();
    assert_eq!(
        file,
        vec![format!("payload.dat\tPayload\t{file_name}\t{}\t\t\t512\t1", payload().len())]
    );
    let codepage = std::fs::read_to_string(dir.join("dump/_ForceCodepage.idt")).unwrap();
    assert!(codepage.contains("1252\t_ForceCodepage"), "{codepage:?}");

    // Streams: the cabinet and the Binary row's data.
    let streams = ok(tool("msiinfo").current_dir(dir).args(["streams", "x.msi"]));
    assert!(
        streams.lines().any(|l| l == "agent.cab") && streams.lines().any(|l| l == "Binary.Helper"),
        "{streams}"
    );
    let helper = checked(tool("msiinfo").current_dir(dir).args(["extract", "x.msi", "Binary.Helper"])).stdout;
    assert_eq!(helper, b"not really a DLL");
    let cab_bytes = checked(tool("msiinfo").current_dir(dir).args(["extract", "x.msi", "agent.cab"])).stdout;
    std::fs::write(dir.join("agent.cab"), &cab_bytes).unwrap();
    let test = ok(tool("cabextract").current_dir(dir).args(["-t", "agent.cab"]));
    assert!(
        test.contains("OK") && test.contains("payload.dat") && test.contains("All done, no errors."),
        "{test}"
    );
    let list = ok(tool("cabextract").current_dir(dir).args(["-l", "agent.cab"]));
    assert!(list.contains("02.01.2026 03:04:06"), "fixed member date not in:\n{list}");

    // msiextract follows Directory/Component/File/Media into the cabinet.
    checked(tool("msiextract").current_dir(dir).args(["-C", "extracted", "x.msi"]));
    let extracted = find_file(&dir.join("extracted"), PAYLOAD_NAME).expect("msiextract did not write the payload");
    assert!(
        extracted.to_string_lossy().contains("Outpost Client"),
        "{}",
        extracted.display()
    );
    assert_eq!(std::fs::read(&extracted).unwrap(), payload());

    // osslsigncode reads the V3 file, signs it and verifies the signature.
    #[rustfmt::skip]
    let req = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "sign.key", "-out", "sign.pem", "-days", "2",
        "-subj", "/CN=omnipack msi test (throwaway)",
        "-addext", "keyUsage=critical,digitalSignature",
        "-addext", "extendedKeyUsage=codeSigning",
    ];
    checked(tool("openssl").current_dir(dir).args(&req));
    checked(tool("osslsigncode").current_dir(dir).args([
            "sign",
            "-certs",
            "sign.pem",
            "-key",
            "sign.key",
            "-h",
            "sha256",
            "-n",
            "Outpost Client",
            "-in",
            "x.msi",
            "-out",
            "signed.msi",
        ]));
    let verify = ok(tool("osslsigncode").current_dir(dir).args(["verify", "-CAfile", "sign.pem", "-in", "signed.msi"]));
    assert!(verify.contains("Signature verification: ok"), "{verify}");

    // And the model reads its own output back unchanged; the signed file
    // reads back too (the signature itself is not part of the model).
    assert_eq!(Database::from_bytes(&bytes).unwrap(), db);
    let signed = std::fs::read(dir.join("signed.msi")).unwrap();
    assert_eq!(Database::from_bytes(&signed).unwrap(), db);
}

#[test]
fn reads_a_wixl_built_msi() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("payload.txt"), "hello\n").unwrap();
    std::fs::write(
        dir.join("p.wxs"),
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="12345678-1234-1234-1234-123456789012" Name="Oracle" Language="1033" Version="1.2.3"
           Manufacturer="Example" UpgradeCode="87654321-4321-4321-4321-210987654321">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="p.cab" EmbedCab="yes"/>
    <Property Id="SWITCH" Value="a:1"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Oracle">
          <Component Id="C" Guid="11111111-2222-3333-4444-555555555555" Win64="yes">
            <File Id="payload.txt" Name="payload.txt" Source="payload.txt" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="F" Level="1"><ComponentRef Id="C"/></Feature>
  </Product>
</Wix>"#,
    )
    .unwrap();
    checked(tool("wixl").current_dir(dir).args(["-a", "x64", "-o", "p.msi", "p.wxs"]));
    let db = Database::from_bytes(&std::fs::read(dir.join("p.msi")).unwrap()).unwrap();
    assert_eq!(db.kind, PackageKind::Installer);
    assert_eq!(db.summary.template.as_deref(), Some("x64;1033"));
    // wixl writes no _Validation table, so only the storage types compare.
    let types = |t: &TableDef| t.columns.iter().map(|c| (c.name.clone(), c.idt_type())).collect::<Vec<_>>();
    for table in db.tables() {
        if let Some(standard) = schema::standard(table.name()) {
            assert_eq!(types(table.def()), types(&standard), "{}", table.name());
        }
    }
    let property = db.table("Property").unwrap();
    assert_eq!(property.get(&["SWITCH".into()]).unwrap()[1], Value::from("a:1"));
    assert_eq!(
        db.table("File").unwrap().rows().next().unwrap()[2],
        Value::from("payload.txt")
    );
    let cab = &db.streams["p.cab"];
    assert_eq!(&cab[..4], b"MSCF");
}

#[test]
fn reads_a_cfb_version_4_database() {
    // What the `msi` crate writes on its own (CFB V4, UTF-8).
    let mut package = msi::Package::create(msi::PackageType::Installer, std::io::Cursor::new(Vec::new())).unwrap();
    let columns = vec![
        msi::Column::build("Property").primary_key().id_string(72),
        msi::Column::build("Value").localizable().text_string(0),
    ];
    package.create_table("Property", columns).unwrap();
    package
        .insert_rows(msi::Insert::into("Property").row(vec!["ProductName".into(), "V4".into()]))
        .unwrap();
    let bytes = package.into_inner().unwrap().into_inner();
    assert_eq!(u16::from_le_bytes([bytes[0x1a], bytes[0x1b]]), 4);
    let mut db = Database::from_bytes(&bytes).unwrap();
    assert_eq!(db.summary.codepage, 65001);
    assert_eq!(
        db.table("Property").unwrap().get(&["ProductName".into()]).unwrap()[1],
        Value::from("V4")
    );
    // UTF-8 is refused on write until the code page is set.
    assert!(db.to_bytes().unwrap_err().to_string().contains("65001"));
    db.summary.codepage = omnipack::msi::WINDOWS_1252;
    let v3 = db.to_bytes().unwrap();
    assert_eq!(u16::from_le_bytes([v3[0x1a], v3[0x1b]]), 3);
}

#[test]
fn patch_root_keeps_its_storages_and_summary() {
    let mut db = Database::new(PackageKind::Patch);
    db.summary.template = Some(guid::guid("product-code", "outpost/x64/2.1.0"));
    db.summary.last_saved_by = Some(":RTM.1;:#RTM.1".into());
    db.summary.revision_number = Some(guid::guid("patch-code", "outpost/2.1.1"));
    db.summary.word_count = Some(4);
    db.summary.security = Some(4);
    db.insert(
        schema::msi_patch_metadata(),
        vec![Value::Null, "AllowRemoval".into(), "1".into()],
    )
    .unwrap();
    db.insert(
        schema::msi_patch_sequence(),
        vec!["OutpostClient".into(), Value::Null, "2.1.1".into(), Value::Null],
    )
    .unwrap();
    let mut transform = omnipack::msi::Storage {
        clsid: PackageKind::Transform.clsid(),
        ..Default::default()
    };
    transform.streams.insert("\u{5}SummaryInformation".into(), vec![0; 8]);
    db.storages.insert("RTM.1".into(), transform.clone());
    db.storages.insert("#RTM.1".into(), transform);
    db.streams.insert("PATCH_CAB".into(), b"MSCF".to_vec());
    let bytes = db.to_bytes().unwrap();
    assert_eq!(Database::from_bytes(&bytes).unwrap(), db);

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.msp"), &bytes).unwrap();
    let suminfo = ok(tool("msiinfo").current_dir(tmp.path()).args(["suminfo", "p.msp"]));
    assert!(
        suminfo.contains("Title: Patch") && suminfo.contains(":RTM.1;:#RTM.1"),
        "{suminfo}"
    );
    let tables = ok(tool("msiinfo").current_dir(tmp.path()).args(["tables", "p.msp"]));
    assert!(
        tables.contains("MsiPatchSequence") && tables.contains("MsiPatchMetadata"),
        "{tables}"
    );
}
