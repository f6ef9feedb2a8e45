//! Bad input is refused with the file, the key and what is allowed, and
//! nothing half-written is left in the output folder.

use std::path::Path;

use outpost_tests::*;

const MANIFEST: &str = include_str!("../packaging/outpost.toml");

/// Builds with the real manifest edited by `from` -> `to` into an output
/// folder that already holds a previous release, and returns stderr.
fn refused_build(from: &str, to: &str) -> String {
    assert_eq!(MANIFEST.matches(from).count(), 1, "fixture edit must match once: {from}");
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("outpost.toml");
    std::fs::write(&manifest, MANIFEST.replacen(from, to, 1)).unwrap();
    let out_dir = tmp.path().join("dist");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("release.json"), "previous").unwrap();
    let out = omnipack_build(&out_dir, &["--manifest", manifest.to_str().unwrap()]);
    assert!(!out.status.success(), "bad manifest accepted");
    assert_eq!(out.status.code(), Some(1));
    let entries: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("release.json")],
        "output folder changed"
    );
    assert_eq!(std::fs::read_to_string(out_dir.join("release.json")).unwrap(), "previous");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".omnipack"))
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_contains(&err, &manifest.display().to_string());
    err
}

#[test]
fn unknown_key() {
    let err = refused_build("msi_property = \"SWITCH\"", "msi_property = \"SWITCH\"\ndefualt = 1");
    assert_contains(&err, "key `settings[0].defualt`");
    assert_contains(&err, "unknown field `defualt`, expected one of");
}

#[test]
fn wrong_type() {
    let err = refused_build("revision = 1", "revision = \"one\"");
    assert_contains(&err, "key `product.revision`");
    assert_contains(&err, "invalid type: string \"one\", expected u32");
}

#[test]
fn bad_default() {
    let err = refused_build(
        "default = \"switch.outpost.example:443\"",
        "default = \"switch.outpost.example\"",
    );
    assert_contains(&err, "key `settings[Switch].default`");
    assert_contains(&err, "is not host:port");
}

#[test]
fn feature_on_a_platform_it_does_not_support() {
    let err = refused_build(
        "platforms = [\"windows\"]\nmsi_feature = \"Shopping\"",
        "platforms = [\"windows\", \"macos\"]\nmsi_feature = \"Shopping\"",
    );
    assert_contains(&err, "key `features.shopping.platforms`");
    assert_contains(&err, "feature `shopping` is not supported on macos; it exists on: windows");
}

#[test]
fn bad_msi_property_name() {
    let err = refused_build("msi_property = \"LOGLEVEL\"", "msi_property = \"LOG-LEVEL\"");
    assert_contains(&err, "key `settings[LogLevel].msi_property`");
    assert_contains(&err, "`LOG-LEVEL` is not a public MSI property name");
}

#[test]
fn missing_manifest_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = omnipack_build(&tmp.path().join("dist"), &["--manifest", "/nonexistent/outpost.toml"]);
    assert!(!out.status.success());
    assert_contains(&text(&out), "/nonexistent/outpost.toml: cannot read");
    assert!(!tmp.path().join("dist").exists());
}

#[test]
fn unknown_format_is_refused() {
    let out = run(tool(omnipack()).args(["build", "--formats", "deb,apk"]));
    assert_eq!(out.status.code(), Some(2));
    assert_contains(&text(&out), "unknown format `apk`; this omnipack builds: deb, rpm");
}

#[test]
fn agent_config_check_reports_each_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("answers.conf");
    std::fs::write(
        &f,
        "[Settings]\nSwitch=no-port\nModule.Platform.Enabled=maybe\nLogLevel=info\nSwich=x:1\n",
    )
    .unwrap();
    let out = run(tool(agent()).arg("config").arg("check").arg(&f));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = f.display().to_string();
    assert_contains(&err, &format!("{name}:2: key `Switch`: `no-port` is not host:port"));
    assert_contains(
        &err,
        &format!("{name}:3: key `Module.Platform.Enabled`: `maybe` is not a boolean; allowed: true, false, 1, 0"),
    );
    assert_contains(&err, &format!("{name}:5: key `Swich`: unknown setting"));
    assert!(!err.contains(":4:"), "a valid line was reported: {err}");

    std::fs::write(&f, "[Settings]\nSwitch=sw.example:443\n").unwrap();
    let out = run(tool(agent()).arg("config").arg("check").arg(&f));
    assert!(out.status.success(), "{}", text(&out));
    // A Windows-only feature's setting is refused on Linux.
    std::fs::write(&f, "[Settings]\nModule.Content.Enabled=true\n").unwrap();
    let out = run(tool(agent()).arg("config").arg("check").arg(Path::new(&f)));
    assert_eq!(out.status.code(), Some(1));
    assert_contains(&text(&out), "belongs to feature `content`, which does not exist on linux");
}
