//! The MSIs as built by `omnipack build --formats msi`, checked with msitools,
//! cabextract, file and osslsigncode (no Wine needed).

use std::path::Path;
use std::process::Command;

use outpost_tests::*;

fn msi(arch: &str) -> std::path::PathBuf {
    let dist = dist_windows();
    let release: serde_json::Value = serde_json::from_slice(&std::fs::read(dist.join("release.json")).unwrap()).unwrap();
    let a = release["artifacts"].as_array().unwrap().iter().find(|a| a["arch"] == arch).unwrap_or_else(|| panic!("no {arch} msi"));
    assert_eq!(a["format"], "msi");
    assert_eq!(a["platform"], "windows");
    assert_eq!(a["signed"], "authenticode");
    dist.join(a["path"].as_str().unwrap())
}

#[test]
fn msitools_read_the_summary_and_tables() {
    for (arch, template) in [("x64", "x64;1033"), ("x86", "Intel;1033")] {
        let m = msi(arch);
        let file = ok(Command::new("file").arg(&m));
        assert_contains(&file, "MSI Installer, Code page: 1252");
        let info = ok(Command::new("msiinfo").arg("suminfo").arg(&m));
        assert_contains(&info, &format!("Template: {template}"));
        assert_contains(&info, "Subject: Outpost Client");
        assert_contains(&info, "Author: Outpost Systems");
        let tables = ok(Command::new("msiinfo").arg("tables").arg(&m));
        for t in ["Property", "Feature", "Component", "FeatureComponents", "File", "Media", "IniFile", "ServiceInstall", "ServiceControl", "Upgrade", "LaunchCondition", "Registry", "RegLocator", "AppSearch", "CustomAction", "Condition", "MsiFileHash"] {
            assert!(tables.lines().any(|l| l.trim() == t), "{arch}: table {t} missing:\n{tables}");
        }
        let props = ok(Command::new("msiinfo").args(["export"]).arg(&m).arg("Property"));
        for p in ["ALLUSERS\t1", "ProductVersion\t2.1.0", "ARPNOMODIFY\t1", "UpgradeCode\t{6F0D3A52-8E4B-4C57-9A61-3B2E7D54C910}", "ARPHELPLINK\thttps://outpost.example/support"] {
            assert_contains(&props, p);
        }
        assert_contains(&props, "SecureCustomProperties\tSWITCH;BACKGROUNDCHANNELURL;");
        let features = ok(Command::new("msiinfo").args(["export"]).arg(&m).arg("Feature"));
        for f in ["Client\t", "Platform\t", "Content\t", "Pxe\t", "Shopping\t", "WakeUp\t"] {
            assert_contains(&features, f);
        }
        let upgrade = ok(Command::new("msiinfo").args(["export"]).arg(&m).arg("Upgrade"));
        for code in ["{2B6E1C0A-5D7F-4F08-8C3E-91A4D6E2B731}", "{9C4F2E61-3A0B-47D5-B8E2-6F1D0C7A5E94}", "{D17A8B3C-64E2-4E9F-A05B-2C8F7E1D3B60}", "{5E0B9D27-C8A1-4B63-9F74-A2D61E3C8B05}"] {
            assert_contains(&upgrade, code);
        }
        let service = ok(Command::new("msiinfo").args(["export"]).arg(&m).arg("ServiceInstall"));
        assert_contains(&service, "OutpostClient\tOutpost Client\t16\t2\t");
        assert_contains(&service, "run --service");
        let ini = ok(Command::new("msiinfo").args(["export"]).arg(&m).arg("IniFile"));
        assert_contains(&ini, "Settings\tSwitch\t[SWITCH]");
    }
}

#[test]
fn msidump_and_msiextract_and_cabextract_accept_the_package() {
    let m = msi("x64");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("dump")).unwrap();
    ok(Command::new("msidump").arg("-t").arg("-s").arg("-d").arg(tmp.path().join("dump")).arg(&m));
    assert!(tmp.path().join("dump/File.idt").is_file());
    ok(Command::new("msiextract").arg("-C").arg(tmp.path().join("x")).arg(&m));
    let root = find(&tmp.path().join("x"), "outpost-agent.exe").expect("agent extracted").parent().unwrap().to_path_buf();
    for f in ["outpost-agent.exe", "defaults.conf", "features/content.feature", "features/platform.feature"] {
        assert!(root.join(f).is_file(), "{f} not extracted");
    }
    let defaults = std::fs::read_to_string(root.join("defaults.conf")).unwrap();
    assert_contains(&defaults, "Module.Content.Enabled=false\r\n");
    assert_contains(&defaults, "LogFile=C:\\ProgramData\\Outpost\\Logs\\outpost.log\r\n");
    let cab = tmp.path().join("product.cab");
    let bytes = run(Command::new("msiinfo").arg("extract").arg(&m).arg("product.cab")).stdout;
    std::fs::write(&cab, bytes).unwrap();
    let t = ok(Command::new("cabextract").arg("-t").arg(&cab));
    assert_contains(&t, "All done, no errors.");
}

/// msiextract names ProgramFilesFolder differently per architecture; find
/// the file wherever it put it.
fn find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

fn verify(path: &Path) -> std::process::Output {
    run(Command::new("osslsigncode").arg("verify").arg("-CAfile").arg(test_authenticode_ca()).arg("-in").arg(path))
}

#[test]
fn authenticode_signatures_verify_and_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    for arch in ["x64", "x86"] {
        let m = msi(arch);
        let out = verify(&m);
        assert!(out.status.success(), "{arch} msi: {}", text(&out));
        // The executable inside was signed before it went into the cabinet.
        ok(Command::new("msiextract").arg("-C").arg(tmp.path().join(arch)).arg(&m));
        let exe = find(&tmp.path().join(arch), "outpost-agent.exe").expect("agent extracted");
        let out = verify(&exe);
        assert!(out.status.success(), "{arch} exe: {}", text(&out));
        // One changed byte in the database (a property value) breaks it.
        let mut bytes = std::fs::read(&m).unwrap();
        let at = bytes.windows(10).position(|w| w == b"Outpost Sy").expect("vendor string in the string pool");
        bytes[at] = b'X';
        let bad = tmp.path().join(format!("tampered-{arch}.msi"));
        std::fs::write(&bad, bytes).unwrap();
        let out = verify(&bad);
        assert!(!out.status.success(), "tampered {arch} msi verified:\n{}", text(&out));
    }
}

#[test]
fn two_unsigned_builds_are_identical() {
    let manifest = workspace_root().join("packaging/outpost.toml");
    let a = msi_build(&manifest, "dist-windows-unsigned-a", &["--unsigned"]);
    let b = msi_build(&manifest, "dist-windows-unsigned-b", &["--unsigned"]);
    for arch in ["x64", "x86"] {
        let name = format!("outpost-2.1.0-{arch}.msi");
        assert_eq!(std::fs::read(a.join(&name)).unwrap(), std::fs::read(b.join(&name)).unwrap(), "{name} differs");
        let out = run(Command::new("osslsigncode").arg("verify").arg("-in").arg(a.join(&name)));
        assert!(!out.status.success(), "an --unsigned MSI carries a signature");
    }
}
