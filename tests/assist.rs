//! `omnipack assist`: the answer-file template, one transform per MSI
//! (applied by Wine's msi.dll and by Wine's msiexec), command lines, the
//! ConfigMgr script (golden file: PowerShell is not installable from the
//! registries this machine reaches), Intune settings, and refusals.

use std::path::{Path, PathBuf};
use std::process::Output;

use outpost_tests::wine::Prefix;
use outpost_tests::*;

fn assist(args: &[&str]) -> Output {
    run(tool(omnipack())
        .current_dir(workspace_root())
        .arg("assist")
        .args(args))
}

fn template() -> String {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("answers.toml");
    let out = assist(&["init", "--out", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read_to_string(f).unwrap()
}

/// The template with some answers uncommented.
fn answers(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut t = template();
    for (from, to) in edits {
        assert_eq!(t.matches(from).count(), 1, "template edit `{from}`");
        t = t.replace(from, to);
    }
    let f = dir.join("answers.toml");
    std::fs::write(&f, t).unwrap();
    f
}

const CHOSEN: &[(&str, &str)] = &[
    ("# Switch = \"switch.outpost.example:443\"", "Switch = \"corp.example:9443\""),
    ("# \"Module.Content.Enabled\" = false", "\"Module.Content.Enabled\" = true"),
    ("# LogLevel = \"info\"", "LogLevel = \"DEBUG\""),
    ("# DefaultStaggerRangeSeconds = 180", "DefaultStaggerRangeSeconds = 600"),
];

#[test]
fn template_lists_every_windows_setting_with_valid_defaults() {
    let t = template();
    for key in [
        "# Switch = ",
        "# \"Module.Content.Enabled\" = false",
        "# \"Module.Pxe.Enabled\" = false",
        "# ClientCertificate = \"\"",
        "only on Windows x64",
        "# TrustedCaFile = \"\"",
        "# ReconnectSpreadSeconds = 120",
        "# HeartbeatIntervalSeconds = 20",
    ] {
        assert_contains(&t, key);
    }
    // A secret is described, but has no answer line to uncomment.
    assert!(!t.contains("ClientCertificatePassword = "), "{t}");
    assert_contains(&t, "# Secret, so not answered here: it is never written into a transform or a command line; give CLIENTCERTIFICATEPASSWORD=... to msiexec");
    // Uncommenting every default gives an answer file assist accepts.
    let all: String = t
        .lines()
        .map(|l| {
            if l.starts_with("# ") && l.contains(" = ") && !l.contains("previous_release") {
                &l[2..]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let table: toml::Table = all.parse().expect("the template is TOML");
    assert!(table.len() > 10, "{table:?}");
}

#[test]
fn transforms_apply_in_msi_dll_and_msiexec() {
    let tmp = tempfile::tempdir().unwrap();
    let f = answers(tmp.path(), CHOSEN);
    let dist = dist_windows();
    let deploy = tmp.path().join("deploy");
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        dist.to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    for name in [
        "outpost-2.1.0-x64.mst",
        "outpost-2.1.0-x86.mst",
        "commandlines.txt",
        "configmgr.ps1",
        "intune.txt",
    ] {
        assert!(deploy.join(name).is_file(), "{name} missing");
    }
    // The MSIs are never modified.
    for arch in ["x64", "x86"] {
        let out = run(tool("osslsigncode")
            .arg("verify")
            .arg("-CAfile")
            .arg(test_authenticode_ca())
            .arg("-in")
            .arg(dist.join(format!("outpost-2.1.0-{arch}.msi"))));
        assert!(out.status.success(), "{}", text(&out));
        let out = run(tool("osslsigncode")
            .arg("verify")
            .arg("-CAfile")
            .arg(test_authenticode_ca())
            .arg("-in")
            .arg(deploy.join(format!("outpost-2.1.0-{arch}.mst"))));
        assert!(out.status.success(), "signed MST: {}", text(&out));
        let info = ok(tool("msiinfo")
            .arg("suminfo")
            .arg(deploy.join(format!("outpost-2.1.0-{arch}.mst"))));
        assert_contains(&info, "Title: Transform");
    }
    let lines = std::fs::read_to_string(deploy.join("commandlines.txt")).unwrap();
    assert_contains(
        &lines,
        "msiexec.exe /i \"outpost-2.1.0-x64.msi\" TRANSFORMS=\"outpost-2.1.0-x64.mst\" /qn /l*v \"%TEMP%\\outpost-install.log\"",
    );
    assert_contains(&lines, "-ArgumentList ('/i \"outpost-2.1.0-x64.msi\" TRANSFORMS=\"outpost-2.1.0-x64.mst\" /qn /l*v \"{0}\\outpost-install.log\"' -f $env:TEMP)");
    assert_contains(
        &lines,
        "SWITCH=corp.example:9443 DEFAULTSTAGGERRANGESECONDS=600 LOGLEVEL=debug MODULE.CONTENT.ENABLED=true",
    );
    let intune = std::fs::read_to_string(deploy.join("intune.txt")).unwrap();
    assert_contains(&intune, "Detection rule:    MSI, product code {");

    // Wine's msi.dll applies each transform and reads every chosen value back.
    let w = Prefix::new();
    let msitool = mingw_build("msitool.c", "msitool.exe", "x86_64-w64-mingw32-gcc", &["-lmsi"]);
    let work = w.host("C:\\work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(&msitool, work.join("msitool.exe")).unwrap();
    for arch in ["x64", "x86"] {
        std::fs::copy(
            dist.join(format!("outpost-2.1.0-{arch}.msi")),
            work.join(format!("{arch}.msi")),
        )
        .unwrap();
        std::fs::copy(
            deploy.join(format!("outpost-2.1.0-{arch}.mst")),
            work.join(format!("{arch}.mst")),
        )
        .unwrap();
        let out = w.wine(
            &[
                "C:\\work\\msitool.exe",
                "apply",
                &format!("C:\\work\\{arch}.msi"),
                &format!("C:\\work\\{arch}.mst"),
                &format!("C:\\work\\{arch}-out.msi"),
            ],
            &[],
        );
        assert!(out.status.success(), "apply {arch}: {}", text(&out));
        let out = w.wine(
            &[
                "C:\\work\\msitool.exe",
                "query",
                &format!("C:\\work\\{arch}-out.msi"),
                "SELECT `Property`, `Value` FROM `Property`",
            ],
            &[],
        );
        let rows = String::from_utf8_lossy(&out.stdout).into_owned();
        for row in [
            "SWITCH\tcorp.example:9443",
            "MODULE.CONTENT.ENABLED\ttrue",
            "LOGLEVEL\tdebug",
            "DEFAULTSTAGGERRANGESECONDS\t600",
        ] {
            assert!(
                rows.lines().any(|l| l.trim_end() == row),
                "{arch}: `{row}` not in the transformed Property table:\n{rows}"
            );
        }
    }

    // msiexec installs with the transform: the answers land in the
    // configuration and only the chosen features are installed.
    std::fs::copy(dist.join("outpost-2.1.0-x64.msi"), work.join("outpost-2.1.0-x64.msi")).unwrap();
    std::fs::copy(deploy.join("outpost-2.1.0-x64.mst"), work.join("outpost-2.1.0-x64.mst")).unwrap();
    let r = w.msiexec(&[
        "/i",
        "C:\\work\\outpost-2.1.0-x64.msi",
        "TRANSFORMS=C:\\work\\outpost-2.1.0-x64.mst",
        "/qn",
    ]);
    assert_eq!(r.code, 0, "{r}");
    let conf = std::fs::read_to_string(w.host("C:\\ProgramData\\Outpost\\installer.conf")).unwrap();
    for line in [
        "Switch=corp.example:9443",
        "Module.Content.Enabled=true",
        "LogLevel=debug",
        "DefaultStaggerRangeSeconds=600",
        "Module.Pxe.Enabled=false",
    ] {
        assert!(
            conf.lines().any(|l| l.trim() == line),
            "installer.conf lacks `{line}`:\n{conf}"
        );
    }
    let features = w.host("C:\\Program Files\\Outpost\\features");
    assert!(features.join("content.feature").is_file());
    assert!(!features.join("pxe.feature").exists());
}

/// Runs assist into an output folder that already holds a previous result
/// and checks the refusal names file, key and reason and changes nothing.
fn refused(edits: &[(&str, &str)], key: &str, reason: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let f = answers(tmp.path(), edits);
    let deploy = tmp.path().join("deploy");
    std::fs::create_dir(&deploy).unwrap();
    std::fs::write(deploy.join("previous.txt"), "kept").unwrap();
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        dist_windows().to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(!out.status.success(), "accepted");
    let t = text(&out);
    assert_contains(&t, &format!("{}: key `{key}`: {reason}", f.display()));
    let entries: Vec<_> = std::fs::read_dir(&deploy).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("previous.txt")],
        "output folder changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".omnipack"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn unknown_setting_is_refused() {
    refused(
        &[("# Switch = \"switch.outpost.example:443\"", "Swich = \"a.example:443\"")],
        "Swich",
        "unknown setting",
    );
}

#[test]
fn bad_value_is_refused() {
    refused(
        &[("# Switch = \"switch.outpost.example:443\"", "Switch = \"no-port\"")],
        "Switch",
        "`no-port` is not host:port",
    );
}

#[test]
fn relative_trusted_ca_file_is_refused() {
    refused(
        &[("# TrustedCaFile = \"\"", "TrustedCaFile = 'relative\\ca.pem'")],
        "TrustedCaFile",
        "`relative\\ca.pem` is not an absolute windows path (or empty)",
    );
}

/// A transform is copied to every client and cached there, and command
/// lines are pasted into consoles: neither may carry a secret.
#[test]
fn secret_is_refused() {
    refused(
        &[("# Switch = \"switch.outpost.example:443\"", "ClientCertificatePassword = \"pkcs12-Pass-7f3a\"")],
        "ClientCertificatePassword",
        "a secret is never written into a transform or a command line; give CLIENTCERTIFICATEPASSWORD=... to msiexec at install time",
    );
}

#[test]
fn feature_unavailable_on_x86_is_refused() {
    refused(
        &[("# \"Module.Pxe.Enabled\" = false", "\"Module.Pxe.Enabled\" = true")],
        "Module.Pxe.Enabled",
        "feature `pxe` is not available on Windows x86",
    );
}

#[test]
fn missing_msi_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let f = answers(tmp.path(), CHOSEN);
    let from = tmp.path().join("dist");
    assert!(tool("cp")
        .arg("-a")
        .arg(dist_windows())
        .arg(&from)
        .status()
        .unwrap()
        .success());
    std::fs::remove_file(from.join("outpost-2.1.0-x86.msi")).unwrap();
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        from.to_str().unwrap(),
        "--out",
        tmp.path().join("deploy").to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(!out.status.success());
    assert_contains(
        &text(&out),
        &format!("{}: listed in", from.join("outpost-2.1.0-x86.msi").display()),
    );
    assert!(!tmp.path().join("deploy").exists());
}

/// PowerShell (`pwsh`) is published by Microsoft's own repositories and
/// GitHub, which this machine cannot reach (crates.io, PyPI, Debian and npm
/// carry no PowerShell), so the script is checked against a reviewed golden
/// file instead of PowerShell's parser.
#[test]
fn configmgr_script_matches_the_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let f = answers(tmp.path(), CHOSEN);
    let deploy = tmp.path().join("deploy");
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        dist_windows().to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let got = std::fs::read_to_string(deploy.join("configmgr.ps1"))
        .unwrap()
        .replace(&f.display().to_string(), "ANSWERS");
    let golden = workspace_root().join("tests/golden/configmgr.ps1");
    if std::env::var_os("OUTPOST_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("tests/golden/configmgr.ps1 (OUTPOST_UPDATE_GOLDEN=1 writes it)");
    assert_eq!(got, want, "configmgr.ps1 differs from the golden file");
    for cmdlet in [
        "New-CMApplication",
        "Add-CMMsiDeploymentType",
        "New-CMDeviceCollection",
        "Start-CMContentDistribution",
        "New-CMApplicationDeployment",
        "-ProductCode '{",
    ] {
        assert_contains(&got, cmdlet);
    }
}

#[test]
fn previous_release_adds_signed_patches() {
    let tmp = tempfile::tempdir().unwrap();
    let previous = dist_windows();
    let current = msi_build_version("2.1.1");
    let mut edits = CHOSEN.to_vec();
    let line = format!("previous_release = \"{}\"", previous.display());
    edits.push(("# previous_release = \"../dist-2.0.0\"", &line));
    let f = answers(tmp.path(), &edits);
    let deploy = tmp.path().join("deploy");
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        current.to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    for arch in ["x64", "x86"] {
        let msp = deploy.join(format!("outpost-2.1.1-{arch}-from-2.1.0.msp"));
        let info = ok(tool("msiinfo").arg("suminfo").arg(&msp));
        assert_contains(&info, "Title: Patch");
        let v = run(tool("osslsigncode")
            .arg("verify")
            .arg("-CAfile")
            .arg(test_authenticode_ca())
            .arg("-in")
            .arg(&msp));
        assert!(v.status.success(), "{}", text(&v));
    }
    let lines = std::fs::read_to_string(deploy.join("commandlines.txt")).unwrap();
    assert_contains(
        &lines,
        "msiexec.exe /p \"outpost-2.1.1-x64-from-2.1.0.msp\" REINSTALL=ALL REINSTALLMODE=omus /qn",
    );
}

#[test]
fn patch_command_refuses_a_major_upgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let old = dist_windows().join("outpost-2.1.0-x64.msi");
    let new = msi_build_version("2.2.0").join("outpost-2.2.0-x64.msi");
    let out_file = tmp.path().join("x.msp");
    let out = run(tool(omnipack())
        .current_dir(workspace_root())
        .args(["patch", "--unsigned", "--from"])
        .arg(&old)
        .arg("--to")
        .arg(&new)
        .arg("--out")
        .arg(&out_file));
    assert!(!out.status.success());
    assert_contains(&text(&out), "cannot make a patch: the ProductCode differs");
    assert!(!out_file.exists());
}

/// With a pkg in the release, the same answers become a configuration
/// profile for the MDM: only what was answered (a profile enforces every key
/// it has), only settings that exist on macOS, canonical values.
#[test]
fn a_release_with_a_pkg_gets_a_profile_of_the_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let f = answers(tmp.path(), CHOSEN);
    let deploy = tmp.path().join("deploy");
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        dist().to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let profile = deploy.join("outpost.mobileconfig");
    ok(tool("xmllint").arg("--noout").arg(&profile));
    let keys = ok(tool("python3")
        .arg("-c")
        .arg("import json, plistlib, sys; p = plistlib.load(open(sys.argv[1], 'rb'))['PayloadContent'][0]; print(json.dumps({k: v for k, v in p.items() if not k.startswith('Payload')}, sort_keys=True))")
        .arg(&profile));
    assert_eq!(
        keys.trim(),
        r#"{"DefaultStaggerRangeSeconds": 600, "LogLevel": "debug", "Switch": "corp.example:9443"}"#
    );
    // A Windows-only release gets none.
    let deploy = tmp.path().join("deploy-windows");
    let out = assist(&[
        "--answers",
        f.to_str().unwrap(),
        "--from",
        dist_windows().to_str().unwrap(),
        "--out",
        deploy.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!deploy.join("outpost.mobileconfig").exists());
}
