//! The MSIs as built by `omnipack build --formats msi`, checked with msitools,
//! cabextract, file and osslsigncode (no Wine needed).

use std::path::Path;

use outpost_tests::*;

fn msi(arch: &str) -> std::path::PathBuf {
    let dist = dist_windows();
    let release: serde_json::Value = serde_json::from_slice(&std::fs::read(dist.join("release.json")).unwrap()).unwrap();
    let a = release["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arch"] == arch)
        .unwrap_or_else(|| panic!("no {arch} msi"));
    assert_eq!(a["format"], "msi");
    assert_eq!(a["platform"], "windows");
    assert_eq!(a["signed"], "authenticode");
    dist.join(a["path"].as_str().unwrap())
}

#[test]
fn msitools_read_the_summary_and_tables() {
    for (arch, template) in [("x64", "x64;1033"), ("x86", "Intel;1033")] {
        let m = msi(arch);
        let file = ok(tool("file").arg(&m));
        assert_contains(&file, "MSI Installer, Code page: 1252");
        let info = ok(tool("msiinfo").arg("suminfo").arg(&m));
        assert_contains(&info, &format!("Template: {template}"));
        assert_contains(&info, "Subject: Outpost Client");
        assert_contains(&info, "Author: Outpost Systems");
        let tables = ok(tool("msiinfo").arg("tables").arg(&m));
        for t in [
            "Property",
            "Feature",
            "Component",
            "FeatureComponents",
            "File",
            "Media",
            "IniFile",
            "ServiceInstall",
            "ServiceControl",
            "Upgrade",
            "LaunchCondition",
            "Registry",
            "RegLocator",
            "AppSearch",
            "CustomAction",
            "Condition",
            "MsiFileHash",
        ] {
            assert!(tables.lines().any(|l| l.trim() == t), "{arch}: table {t} missing:\n{tables}");
        }
        let props = ok(tool("msiinfo").args(["export"]).arg(&m).arg("Property"));
        for p in [
            "ALLUSERS\t1",
            "ProductVersion\t2.1.0",
            "ARPNOMODIFY\t1",
            "UpgradeCode\t{6F0D3A52-8E4B-4C57-9A61-3B2E7D54C910}",
            "ARPHELPLINK\thttps://outpost.example/support",
        ] {
            assert_contains(&props, p);
        }
        assert_contains(&props, "SecureCustomProperties\tSWITCH;BACKGROUNDCHANNELURL;");
        let features = ok(tool("msiinfo").args(["export"]).arg(&m).arg("Feature"));
        for f in ["Client\t", "Platform\t", "Content\t", "Shopping\t", "WakeUp\t"] {
            assert_contains(&features, f);
        }
        // The manifest limits PXE to x64 (`windows_arch`).
        assert_eq!(features.contains("Pxe\t"), arch == "x64", "{arch}: Pxe feature:\n{features}");
        let upgrade = ok(tool("msiinfo").args(["export"]).arg(&m).arg("Upgrade"));
        for code in [
            "{2B6E1C0A-5D7F-4F08-8C3E-91A4D6E2B731}",
            "{9C4F2E61-3A0B-47D5-B8E2-6F1D0C7A5E94}",
            "{D17A8B3C-64E2-4E9F-A05B-2C8F7E1D3B60}",
            "{5E0B9D27-C8A1-4B63-9F74-A2D61E3C8B05}",
        ] {
            assert_contains(&upgrade, code);
        }
        let service = ok(tool("msiinfo").args(["export"]).arg(&m).arg("ServiceInstall"));
        assert_contains(&service, "OutpostClient\tOutpost Client\t16\t2\t");
        assert_contains(&service, "run --service");
        let ini = ok(tool("msiinfo").args(["export"]).arg(&m).arg("IniFile"));
        assert_contains(&ini, "Settings\tSwitch\t[SWITCH]");
        // A secret: written to the answers file, hidden from the log (its
        // value and the ActionData of the line written), never remembered.
        assert_contains(&ini, "Settings\tClientCertificatePassword\t[CLIENTCERTIFICATEPASSWORD]");
        assert!(
            props.lines().any(|l| l == "MsiHiddenProperties\tCLIENTCERTIFICATEPASSWORD"),
            "{arch}:\n{props}"
        );
        let action_text = ok(tool("msiinfo").args(["export"]).arg(&m).arg("ActionText"));
        assert!(
            action_text
                .lines()
                .any(|l| l == "WriteIniValues\tWriting the installer answers\tFile: [1], Section: [2], Key: [3]"),
            "{arch}:\n{action_text}"
        );
        let registry = ok(tool("msiinfo").args(["export"]).arg(&m).arg("Registry"));
        assert_contains(&registry, "\tTrustedCaFile\t[TRUSTEDCAFILE]\t");
        assert!(
            !registry.contains("CLIENTCERTIFICATEPASSWORD"),
            "{arch}: a secret is remembered:\n{registry}"
        );
        // The state folder (the content module's token, the device id) is
        // SYSTEM's and the Administrators' only, not every user's as
        // %ProgramData% would give it.
        let acl = ok(tool("msiinfo").args(["export"]).arg(&m).arg("MsiLockPermissionsEx"));
        assert!(
            acl.lines().any(|l| l == "StateFolderAcl\tSTATEDIR\tCreateFolder\tD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)\t"),
            "{arch}:\n{acl}"
        );
    }
}

#[test]
fn msidump_and_msiextract_and_cabextract_accept_the_package() {
    let m = msi("x64");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("dump")).unwrap();
    // msidump writes Binary-table streams under ./Binary, whatever -d says.
    ok(tool("msidump")
        .current_dir(tmp.path())
        .arg("-t")
        .arg("-s")
        .arg("-d")
        .arg(tmp.path().join("dump"))
        .arg(&m));
    assert!(tmp.path().join("dump/File.idt").is_file());
    ok(tool("msiextract").arg("-C").arg(tmp.path().join("x")).arg(&m));
    let root = find_file(&tmp.path().join("x"), "outpost-agent.exe")
        .expect("agent extracted")
        .parent()
        .unwrap()
        .to_path_buf();
    for f in [
        "outpost-agent.exe",
        "defaults.conf",
        "features/content.feature",
        "features/platform.feature",
    ] {
        assert!(root.join(f).is_file(), "{f} not extracted");
    }
    let defaults = std::fs::read_to_string(root.join("defaults.conf")).unwrap();
    assert_contains(&defaults, "Module.Content.Enabled=false\r\n");
    assert_contains(&defaults, "LogFile=C:\\ProgramData\\Outpost\\Logs\\outpost.log\r\n");
    let cab = tmp.path().join("product.cab");
    let bytes = run(tool("msiinfo").arg("extract").arg(&m).arg("product.cab")).stdout;
    std::fs::write(&cab, bytes).unwrap();
    let t = ok(tool("cabextract").arg("-t").arg(&cab));
    assert_contains(&t, "All done, no errors.");
}


fn verify(path: &Path) -> std::process::Output {
    run(tool("osslsigncode")
        .arg("verify")
        .arg("-CAfile")
        .arg(test_authenticode_ca())
        .arg("-in")
        .arg(path))
}

#[test]
fn authenticode_signatures_verify_and_tampering_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    for arch in ["x64", "x86"] {
        let m = msi(arch);
        let out = verify(&m);
        assert!(out.status.success(), "{arch} msi: {}", text(&out));
        // The executable inside was signed before it went into the cabinet.
        ok(tool("msiextract").arg("-C").arg(tmp.path().join(arch)).arg(&m));
        let exe = find_file(&tmp.path().join(arch), "outpost-agent.exe").expect("agent extracted");
        let out = verify(&exe);
        assert!(out.status.success(), "{arch} exe: {}", text(&out));
        // One changed byte in the database (a property value) breaks it.
        let mut bytes = std::fs::read(&m).unwrap();
        let at = bytes
            .windows(10)
            .position(|w| w == b"Outpost Sy")
            .expect("vendor string in the string pool");
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
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
            "{name} differs"
        );
        let out = run(tool("osslsigncode").arg("verify").arg("-in").arg(a.join(&name)));
        assert!(!out.status.success(), "an --unsigned MSI carries a signature");
    }
}

/// A one-shot RFC 3161 time-stamp authority on loopback, answering with
/// `openssl ts -reply` and the throwaway TSA certificate, so the
/// `--timestamp-url` path runs for real without the network.
fn local_tsa(pki: &Path, work: &Path) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let cfg = work.join("tsa.cnf");
    std::fs::write(
        &cfg,
        format!(
            "[ tsa ]\ndefault_tsa = t\n[ t ]\ndir = {0}\nserial = {0}/tsa-serial\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.55555.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ness_cert_id_alg = sha256\n",
            work.display()
        ),
    )
    .unwrap();
    std::fs::write(work.join("tsa-serial"), "01\n").unwrap();
    let (pki, work) = (pki.to_path_buf(), work.to_path_buf());
    let handle = std::thread::spawn(move || {
        // Two architectures, each signing the executable, the custom action
        // DLL and then the MSI.
        for _ in 0..6 {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut query = vec![0; len];
            reader.read_exact(&mut query).unwrap();
            std::fs::write(work.join("q.tsq"), &query).unwrap();
            let out = tool("openssl")
                .args(["ts", "-reply", "-config"])
                .arg(work.join("tsa.cnf"))
                .arg("-queryfile")
                .arg(work.join("q.tsq"))
                .arg("-inkey")
                .arg(pki.join("test-tsa.key"))
                .arg("-signer")
                .arg(pki.join("test-tsa.pem"))
                .arg("-chain")
                .arg(pki.join("test-ca.pem"))
                .arg("-out")
                .arg(work.join("r.tsr"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl ts -reply: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let reply = std::fs::read(work.join("r.tsr")).unwrap();
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\n\r\n",
                reply.len()
            );
            let _ = s.write_all(&reply);
        }
    });
    (url, handle)
}

#[test]
fn pkcs12_key_and_rfc3161_timestamp() {
    let tmp = tempfile::tempdir().unwrap();
    let _ = dist_windows(); // makes the throwaway PKI
    let pki = test_key_dir().join("authenticode");
    let p12 = tmp.path().join("codesign.p12");
    ok(tool("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:s3cret", "-inkey"])
        .arg(pki.join("test-codesign.key"))
        .arg("-in")
        .arg(pki.join("test-codesign.pem"))
        .arg("-certfile")
        .arg(pki.join("test-ca.pem"))
        .arg("-out")
        .arg(&p12));
    let (url, tsa) = local_tsa(&pki, tmp.path());
    let out_dir = tmp.path().join("dist");
    let out = run(tool(omnipack())
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env("OMNIPACK_AUTHENTICODE_PASSWORD", "s3cret")
        .args(["build", "--formats", "msi", "--out"])
        .arg(&out_dir)
        .arg("--agent-bin")
        .arg(format!(
            "x86_64-pc-windows-gnu={}",
            windows_agent("x86_64-pc-windows-gnu").display()
        ))
        .arg("--agent-bin")
        .arg(format!(
            "i686-pc-windows-gnu={}",
            windows_agent("i686-pc-windows-gnu").display()
        ))
        .arg("--msi-ca-bin")
        .arg(format!("x86_64-pc-windows-gnu={}", msi_ca_dll("x86_64-pc-windows-gnu").display()))
        .arg("--msi-ca-bin")
        .arg(format!("i686-pc-windows-gnu={}", msi_ca_dll("i686-pc-windows-gnu").display()))
        .arg("--authenticode-pkcs12")
        .arg(&p12)
        .args(["--timestamp-url", &url])
        // One SHA-256 signature with an RFC 3161 time stamp, as before the
        // legacy SHA-1 one (tests/windows_signatures.rs has the dual case).
        .arg("--legacy-sha1=off"));
    let _ = tsa.join();
    assert!(out.status.success(), "{}", text(&out));
    let release: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join("release.json")).unwrap()).unwrap();
    let x64 = release["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arch"] == "x64")
        .unwrap();
    assert_eq!(x64["test_signed"], false, "a configured key is not a test key");
    let m = out_dir.join(x64["path"].as_str().unwrap());
    let out = run(tool("osslsigncode")
        .arg("verify")
        .arg("-CAfile")
        .arg(pki.join("test-ca.pem"))
        .arg("-TSA-CAfile")
        .arg(pki.join("test-ca.pem"))
        .arg("-in")
        .arg(&m));
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_contains(&t, "Timestamp Server Signature verification: ok");
    assert_eq!(outpost_tests::authenticode::assert_single_sha256(&m).timestamps, 1);

    // A wrong password fails the build with a clear message and no output.
    let out = run(tool(omnipack())
        .current_dir(workspace_root())
        .env("OMNIPACK_AUTHENTICODE_PASSWORD", "wrong")
        .args(["build", "--formats", "msi", "--out"])
        .arg(tmp.path().join("dist2"))
        .arg("--agent-bin")
        .arg(format!(
            "x86_64-pc-windows-gnu={}",
            windows_agent("x86_64-pc-windows-gnu").display()
        ))
        .arg("--agent-bin")
        .arg(format!(
            "i686-pc-windows-gnu={}",
            windows_agent("i686-pc-windows-gnu").display()
        ))
        .arg("--msi-ca-bin")
        .arg(format!("x86_64-pc-windows-gnu={}", msi_ca_dll("x86_64-pc-windows-gnu").display()))
        .arg("--msi-ca-bin")
        .arg(format!("i686-pc-windows-gnu={}", msi_ca_dll("i686-pc-windows-gnu").display()))
        .arg("--authenticode-pkcs12")
        .arg(&p12));
    assert!(!out.status.success());
    assert_contains(&text(&out), "osslsigncode sign");
    assert!(!tmp.path().join("dist2").exists(), "a failed build left output");
}
