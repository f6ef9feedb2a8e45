//! The house rules that hold across every format: a package's bytes change
//! only when what it installs changes (a redesign of omnipack must give
//! byte-identical packages), and one content model feeds every format.

use outpost_tests::stand_ins::{self, sha256_hex};
use outpost_tests::*;

/// `tests/golden/artifacts.sha256`: the sha256 of every artifact and of
/// release.json, built unsigned with `SOURCE_DATE_EPOCH` and the stand-in
/// binaries from the real manifest. Written before the house redesign (issue
/// 12) and unchanged by it. `OUTPOST_UPDATE_GOLDEN=1` rewrites it: only for a
/// change that means to change what the packages hold, and say so.
#[test]
fn unsigned_packages_are_byte_identical_to_the_golden_build() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dist");
    let mut cmd = tool(omnipack());
    cmd.args(["build", "--unsigned", "--out"])
        .arg(&out)
        .args(stand_ins::build_args(&tmp.path().join("bin")))
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    ok(&mut cmd);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let got: String = names
        .iter()
        .map(|n| format!("{}  {n}\n", sha256_hex(&std::fs::read(out.join(n)).unwrap())))
        .collect();
    let golden = workspace_root().join("tests/golden/artifacts.sha256");
    if std::env::var_os("OUTPOST_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("tests/golden/artifacts.sha256 (OUTPOST_UPDATE_GOLDEN=1 writes it)");
    assert_eq!(got, want, "the packages differ from the golden build (built in {})", {
        let keep = tmp.keep();
        keep.display().to_string()
    });
}

/// The real manifest as a TOML value, for a test to edit.
fn real_manifest() -> toml::Table {
    std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap().parse().unwrap()
}

fn setting<'a>(m: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    m["settings"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|s| s.as_table_mut().unwrap())
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap()
}

fn table<'a>(m: &'a mut toml::Table, path: &[&str]) -> &'a mut toml::Table {
    path.iter().fold(m, |t, k| t.get_mut(*k).and_then(toml::Value::as_table_mut).unwrap())
}

/// `omnipack check` and `omnipack build` on `manifest`: both must refuse it,
/// with the same one error line; returns it.
fn refused_alike(dir: &std::path::Path, manifest: &std::path::Path) -> String {
    let check = run(tool(omnipack()).args(["check", "--manifest"]).arg(manifest));
    let out = dir.join("dist");
    let build = run(tool(omnipack())
        .args(["build", "--unsigned", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(manifest)
        .args(stand_ins::build_args(&dir.join("bin")))
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH));
    assert_eq!(check.status.code(), Some(1), "check accepted it:\n{}", text(&check));
    assert_eq!(build.status.code(), Some(1), "build accepted it:\n{}", text(&build));
    assert!(!out.exists(), "a refused build wrote {}", out.display());
    let line = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stderr).lines().filter(|l| l.starts_with("omnipack: error:")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(line(&check), line(&build), "check and build refuse differently");
    line(&check)
}

/// Every kind of refusal — the manifest's own and those only a format used
/// to find while packaging (quoting for the shell scripts, the MSI's folder
/// shape, its sequence space and literals, the pkg's labels, a `[[file]]`
/// source) — is refused by `check` exactly as by `build`, before any work.
#[test]
fn check_refuses_what_build_refuses_with_the_same_message() {
    type Edit = fn(&mut toml::Table);
    let cases: &[(&str, Edit, &str)] = &[
        ("a manifest key", |m| {
            setting(m, "Switch").insert("defualt".into(), 1.into());
        }, "settings[0].defualt"),
        ("shell quoting (deb, rpm)", |m| {
            table(m, &["layout", "linux"]).insert("binary".into(), "/usr/bin/outpost'agent".into());
        }, "layout.linux.binary"),
        ("shell quoting (pkg legacy)", |m| {
            let legacy = m["legacy"].as_array_mut().unwrap();
            let mac = legacy.iter_mut().find_map(|l| l.get_mut("macos")).expect("a legacy macOS product");
            mac.as_table_mut().unwrap().insert("pkg_ids".into(), toml::Value::Array(vec!["com.legacy.it's".into()]));
        }, "legacy["),
        ("shell quoting (pkg label)", |m| {
            table(m, &["service"]).insert("launchd_label".into(), "com.outpost.it's".into());
        }, "launchd_label"),
        ("the MSI's data folder shape", |m| {
            table(m, &["layout", "windows"]).insert("answers_file".into(), r"C:\ProgramData\Other\installer.conf".into());
        }, "layout.windows.answers_file"),
        ("the MSI's folder shape", |m| {
            table(m, &["layout", "windows"]).insert("binary".into(), r"C:\Program Files\Outpost\bin\outpost-agent.exe".into());
        }, "layout.windows.binary"),
        ("an MSI property literal", |m| {
            setting(m, "ClientCertificate").insert("default".into(), "a[b]".into());
        }, "settings[ClientCertificate].default"),
        ("the MSI's 100 settings", |m| {
            let settings = m["settings"].as_array_mut().unwrap();
            for i in settings.len()..101 {
                let mut s = toml::Table::new();
                for (k, v) in [("name", format!("Extra{i}")), ("type", "bool".into()), ("msi_property", format!("EXTRA{i}")), ("description", "x".into())] {
                    s.insert(k.into(), v.into());
                }
                s.insert("default".into(), false.into());
                settings.push(s.into());
            }
        }, "100 settings"),
        ("a [[file]] source", |m| {
            let mut f = toml::Table::new();
            f.insert("source".into(), "no-such-file.txt".into());
            f.insert("linux".into(), "/usr/share/doc/outpost/extra.txt".into());
            m.insert("file".into(), toml::Value::Array(vec![f.into()]));
        }, "file[0].source"),
        ("a [[file]] the MSI cannot place", |m| {
            let mut f = toml::Table::new();
            f.insert("source".into(), "outpost.toml".into());
            f.insert("windows".into(), r"C:\Windows\System32\extra.txt".into());
            m.insert("file".into(), toml::Value::Array(vec![f.into()]));
        }, "file[0].windows"),
    ];
    for (what, edit, says) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut m = real_manifest();
        edit(&mut m);
        let manifest = tmp.path().join("outpost.toml");
        std::fs::write(&manifest, toml::to_string(&m).unwrap()).unwrap();
        let line = refused_alike(tmp.path(), &manifest);
        assert!(line.contains(says), "{what}: `{says}` not in: {line}");
        assert!(line.contains(&manifest.display().to_string()), "{what}: the file is not named: {line}");
    }
}

/// Adding a file to the product is one `[[file]]` in the manifest: it is in
/// the deb, the rpm, both MSIs and the pkg, with its content, read back by
/// tools we did not write, and no format's code names it.
#[test]
fn a_file_added_to_the_manifest_is_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let notice = b"Third-party notices for Outpost Client.\n";
    std::fs::create_dir(tmp.path().join("extra")).unwrap();
    std::fs::write(tmp.path().join("extra/NOTICE.txt"), notice).unwrap();
    let mut m = real_manifest();
    let mut f = toml::Table::new();
    for (k, v) in [
        ("source", "extra/NOTICE.txt"),
        ("linux", "/usr/share/doc/outpost/NOTICE.txt"),
        ("macos", "/Library/Application Support/Outpost/NOTICE.txt"),
        ("windows", r"C:\Program Files\Outpost\NOTICE.txt"),
    ] {
        f.insert(k.into(), v.into());
    }
    m.insert("file".into(), toml::Value::Array(vec![f.into()]));
    let manifest = tmp.path().join("outpost.toml");
    std::fs::write(&manifest, toml::to_string(&m).unwrap()).unwrap();
    let out = tmp.path().join("dist");
    ok(tool(omnipack())
        .args(["build", "--unsigned", "--out"])
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest)
        .args(stand_ins::build_args(&tmp.path().join("bin")))
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH));
    let file = |ext: &str| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == ext)).collect();
        v.sort();
        v
    };

    // deb: in data.tar, with its content.
    let deb = &file("deb")[0];
    let got = ok(tool("sh").arg("-c").arg("dpkg-deb --fsys-tarfile \"$1\" | tar -xO usr/share/doc/outpost/NOTICE.txt").arg("sh").arg(deb));
    assert_eq!(got.as_bytes(), notice, "deb");

    // rpm: in the header's file list, with its digest.
    let rpm = &file("rpm")[0];
    let dump = ok(tool("rpm").args(["-qp", "--dump"]).arg(rpm));
    let line = dump.lines().find(|l| l.starts_with("/usr/share/doc/outpost/NOTICE.txt ")).unwrap_or_else(|| panic!("rpm: not listed:\n{dump}"));
    assert!(line.contains(&sha256_hex(notice)), "rpm: {line}");

    // Both MSIs: in the cabinet, installed beside the agent.
    for msi in file("msi") {
        let x = tmp.path().join(format!("x-{}", msi.file_name().unwrap().to_string_lossy()));
        ok(tool("msiextract").arg("-C").arg(&x).arg(&msi));
        let agent = find_file(&x, "outpost-agent.exe").unwrap_or_else(|| panic!("{}: no agent", msi.display()));
        assert_eq!(std::fs::read(agent.with_file_name("NOTICE.txt")).unwrap(), notice, "{}", msi.display());
    }

    // pkg: in the client component's payload.
    let pkg = &file("pkg")[0];
    let x = tmp.path().join("pkg");
    ok(tool("7zz").arg("x").arg(format!("-o{}", x.display())).arg(pkg));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&x).unwrap() {
        let payload = entry.unwrap().path().join("Payload");
        if payload.is_file() {
            let into = tmp.path().join("pkg-root").join(payload.parent().unwrap().file_name().unwrap());
            outpost_tests::macos::extract(&payload, &into);
            if let Some(p) = find_file(&into, "NOTICE.txt") {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "pkg: NOTICE.txt in {found:?}");
    assert!(found[0].ends_with("Library/Application Support/Outpost/NOTICE.txt"), "{}", found[0].display());
    assert_eq!(std::fs::read(&found[0]).unwrap(), notice, "pkg");
}
