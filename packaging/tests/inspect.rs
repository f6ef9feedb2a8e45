//! `omnipack inspect` and `omnipack diff` on every format, built in-process
//! from the product manifest and stand-in binaries (as tests/packagers.rs):
//! inspect shows every setting's default as the manifest gives it for the
//! package's platform, read back from the package's bytes; diff of two
//! builds with one changed default names exactly that setting; diff of two
//! identical builds is empty; a truncated or random file is an error naming
//! it; and the real binary runs once for each command.
//!
//! "Exactly" means: in the `settings` section the one changed setting and
//! nothing else, and besides it only what must follow from one changed
//! file of text, listed per format in `follows`: the defaults file and the
//! self-validation list that holds its SHA-256 (files), the sizes derived
//! from file sizes (Installed-Size, installKBytes), and in the MSI the
//! custom action that sets the property's default, the File and
//! MsiFileHash rows, the cabinet stream and the package code (summary
//! Revision Number, a hash of the manifest and the packaged bytes).

mod common;

use std::path::Path;

use common::{ok, run, text, tool};
use omnipack::formats;
use omnipack::inspect::diff::{diff, Change};
use omnipack::inspect::{inspect_bytes, inspect_file, Kind, Package};
use omnipack::packager::{BuildContext, Built};
use omnipack::target::{Format, Target};
use outpost_manifest::Platform;

use common::in_process::MANIFEST;
/// The setting whose default the second build changes, and how.
const CHANGED: &str = "DefaultStaggerRangeSeconds";
const OLD_LINE: &str = "default = 180\nmsi_property = \"DEFAULTSTAGGERRANGESECONDS\"";
const NEW_LINE: &str = "default = 1800\nmsi_property = \"DEFAULTSTAGGERRANGESECONDS\"";

fn context(manifest: &str) -> BuildContext {
    common::in_process::context(manifest)
}

/// Every target of every format: deb, rpm, the x64 and x86 MSIs, the pkg.
fn build_all(ctx: &BuildContext) -> Vec<(Target, Built)> {
    let mut out = Vec::new();
    for format in Format::ALL {
        let p = formats::packager(format);
        for t in p.targets() {
            let built = p.package(ctx, &t).unwrap_or_else(|e| panic!("{t}: {e}"));
            out.push((t, built));
        }
    }
    let formats: Vec<Format> = out.iter().map(|(t, _)| t.format).collect();
    assert_eq!(
        formats.iter().filter(|f| **f == Format::Msi).count(),
        2,
        "both MSIs: {formats:?}"
    );
    out
}

fn inspect(t: &Target, b: &Built) -> Package {
    inspect_bytes(Path::new(&b.file_name), &b.bytes).unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn expected_kind(f: Format) -> Kind {
    match f {
        Format::Deb => Kind::Deb,
        Format::Rpm => Kind::Rpm,
        Format::Msi => Kind::Msi,
        Format::Pkg => Kind::Pkg,
    }
}

#[test]
fn inspect_shows_every_default_of_the_manifest() {
    let ctx = context(MANIFEST);
    let m = &ctx.manifest;
    for (t, b) in build_all(&ctx) {
        let p = inspect(&t, &b);
        assert_eq!(p.format, expected_kind(t.format), "{t}");
        let platform = t.platform;
        let defaults_file = &m.layout(platform).defaults_file;
        assert_eq!(
            p.settings.file.as_deref().map(|f| f.rsplit(['/', '\\']).next()),
            Some(defaults_file.rsplit(['/', '\\']).next()),
            "{t}"
        );
        let expected: Vec<&str> = m.settings_on(platform).map(|s| s.name.as_str()).collect();
        let mut found: Vec<&str> = p.settings.values.keys().map(String::as_str).collect();
        found.sort();
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(found, sorted, "{t}: the settings the package carries");
        for s in m.settings_on(platform) {
            let got = &p.settings.values[&s.name];
            let want = s.default_for(platform).unwrap();
            assert_eq!(got.default.as_deref(), Some(want), "{t}: {} in the shipped defaults", s.name);
            if platform == Platform::Windows {
                assert_eq!(got.property.as_deref(), Some(s.msi_property.as_str()), "{t}: {}", s.name);
                assert_eq!(
                    got.installer_default.as_deref(),
                    Some(want),
                    "{t}: {}'s installer default",
                    s.name
                );
            }
        }
        // The payload's files are all there with their digests.
        let payload = ctx.payload(&t).unwrap();
        let defaults = payload.one(omnipack::content::Role::Defaults);
        let shown = p
            .files
            .iter()
            .find(|(path, _)| path.ends_with(defaults.file_name()))
            .map(|(_, f)| f)
            .unwrap();
        assert_eq!(
            shown.sha256.as_deref(),
            Some(defaults.sha256()),
            "{t}: the defaults file's digest"
        );
        assert!(!p.scripts.is_empty() || t.format == Format::Msi, "{t}: scripts");
        // Only the format's own words: a disagreement between two records of
        // a file (Bom and Payload, File table and cabinet, rpm header digest
        // and payload) would be a flag too.
        let words = ["conffile", "config", "noreplace", "ghost", "doc", "license", "missingok"];
        for (path, f) in &p.files {
            for flag in &f.flags {
                assert!(
                    words.contains(&flag.as_str()) || flag.starts_with("component "),
                    "{t}: {path}: {flag}"
                );
            }
        }
        if t.format == Format::Rpm {
            let flags = |path: &str| p.files[path].flags.clone();
            assert_eq!(flags(&m.layout(platform).config_file), ["config", "noreplace"], "{t}");
            assert_eq!(flags(&m.layout(platform).answers_file), ["ghost"], "{t}");
            assert_eq!(p.metadata["payload-compressor"], "xz", "{t}");
        }
        if t.format == Format::Deb {
            assert_eq!(p.files[&m.layout(platform).config_file].flags, ["conffile"], "{t}");
        }
    }
}

/// What a one-line change of the defaults file brings along in `format`
/// besides the setting itself: (section, key) pairs, a key ending in `*`
/// a prefix.
fn follows(format: Format, p: &Package) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let file_list = p
        .files
        .keys()
        .find(|k| k.ends_with(outpost_manifest::FILE_LIST_NAME))
        .cloned()
        .unwrap();
    v.push(("files".into(), p.settings.file.clone().unwrap()));
    v.push(("files".into(), file_list));
    let pairs: &[(&str, &str)] = match format {
        Format::Deb => &[("metadata", "Installed-Size")],
        Format::Rpm => &[("metadata", "installed-size")],
        Format::Pkg => &[("components", "*"), ("pkg-refs", "*")],
        Format::Msi => &[
            ("metadata", "package-code"),
            ("CustomAction", "Default*"),
            ("tables", "CustomAction"),
            ("tables", "File"),
            ("tables", "MsiFileHash"),
            ("streams", "*"),
        ],
    };
    v.extend(pairs.iter().map(|(s, k)| (s.to_string(), k.to_string())));
    v
}

fn allowed(c: &Change, follows: &[(String, String)]) -> bool {
    follows
        .iter()
        .any(|(s, k)| *s == c.section && (k == &c.key || k.strip_suffix('*').is_some_and(|p| c.key.starts_with(p))))
}

#[test]
fn diff_names_exactly_the_changed_default() {
    assert!(MANIFEST.contains(OLD_LINE), "the manifest no longer has {OLD_LINE:?}");
    let (one, two) = (context(MANIFEST), context(&MANIFEST.replace(OLD_LINE, NEW_LINE)));
    for ((t, a), (_, b)) in build_all(&one).iter().zip(build_all(&two).iter()) {
        let (pa, pb) = (inspect(t, a), inspect(t, b));
        let changes = diff(&pa, &pb);
        let shown = format!("{t}: {changes:#?}");
        let settings: Vec<&Change> = changes.iter().filter(|c| c.section == "settings").collect();
        assert_eq!(settings.len(), 1, "{shown}");
        assert_eq!(settings[0].key, CHANGED, "{shown}");
        assert!(settings[0].old.as_deref().unwrap().contains("default 180"), "{shown}");
        assert!(settings[0].new.as_deref().unwrap().contains("default 1800"), "{shown}");
        if t.format == Format::Msi {
            assert!(
                settings[0].new.as_deref().unwrap().contains("installer default 1800"),
                "{shown}"
            );
        }
        let follows = follows(t.format, &pa);
        let extra: Vec<&Change> = changes
            .iter()
            .filter(|c| c.section != "settings" && !allowed(c, &follows))
            .collect();
        assert!(
            extra.is_empty(),
            "{t}: changes beyond the setting and what follows from it: {extra:#?}"
        );
        let defaults = pa.settings.file.clone().unwrap();
        assert!(changes.iter().any(|c| c.section == "files" && c.key == defaults), "{shown}");
    }
}

#[test]
fn diff_of_identical_builds_is_empty_and_inspect_refuses_bad_files() {
    let ctx = context(MANIFEST);
    let tmp = tempfile::tempdir().unwrap();
    for ((t, a), (_, b)) in build_all(&ctx).iter().zip(build_all(&ctx).iter()) {
        let changes = diff(&inspect(t, a), &inspect(t, b));
        assert!(changes.is_empty(), "{t}: {changes:#?}");
        // Cut in the middle: a clear error naming the file, never a panic
        // or a partial answer.
        let cut = tmp.path().join(format!("cut-{}", a.file_name));
        std::fs::write(&cut, &a.bytes[..a.bytes.len() / 2]).unwrap();
        let e = inspect_file(&cut)
            .expect_err(&format!("{t}: a truncated package must be refused"))
            .to_string();
        assert!(e.contains(&cut.display().to_string()), "{t}: {e}");
    }
    let random = tmp.path().join("random.msi");
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&random, &bytes).unwrap();
    let e = inspect_file(&random).unwrap_err().to_string();
    assert!(
        e.contains(&random.display().to_string()) && e.contains("not a package"),
        "{e}"
    );
}

#[test]
fn a_settings_transform_shows_what_it_changes() {
    use omnipack::msi::{transform, Database};
    let ctx = context(MANIFEST);
    let p = formats::packager(Format::Msi);
    let t = p.targets().into_iter().next().unwrap();
    let msi = p.package(&ctx, &t).unwrap();
    let base = Database::from_bytes(&msi.bytes).unwrap();
    let mst = transform::settings_transform(
        &base,
        &[("SWITCH".into(), "switch.example.net:8443".into())],
        &[("Pxe".into(), 1)],
    )
    .unwrap();
    let shown = inspect_bytes(Path::new("settings.mst"), &mst).unwrap();
    assert_eq!(shown.format, Kind::Mst);
    let property = &shown.sections["Property"]["SWITCH"];
    assert_eq!(property["Value"], "switch.example.net:8443", "{shown:#?}");
    assert_eq!(property["change"], "insert");
    let feature = &shown.sections["Feature"]["Pxe"];
    assert_eq!(
        (feature["change"].as_str(), feature["Level"].as_str()),
        ("update", "1"),
        "{shown:#?}"
    );
    assert_eq!(
        shown.sections.len(),
        2,
        "only Property and Feature change: {:?}",
        shown.sections.keys()
    );
    assert!(
        shown.metadata["template"].starts_with("x64;") || shown.metadata["template"].starts_with("Intel;"),
        "{:?}",
        shown.metadata
    );
}

/// The command edge: `omnipack inspect --json` and `omnipack diff` with
/// their exit codes (0 same, 1 different, 2 error).
#[test]
fn the_commands_run() {
    let omnipack = env!("CARGO_BIN_EXE_omnipack");
    let tmp = tempfile::tempdir().unwrap();
    let one = context(MANIFEST);
    let two = context(&MANIFEST.replace(OLD_LINE, NEW_LINE));
    let deb = |ctx: &BuildContext, name: &str| {
        let p = formats::packager(Format::Deb);
        let t = p.targets().into_iter().next().unwrap();
        let path = tmp.path().join(name);
        std::fs::write(&path, p.package(ctx, &t).unwrap().bytes).unwrap();
        path
    };
    let (a, b) = (deb(&one, "a.deb"), deb(&two, "b.deb"));
    let json: serde_json::Value = serde_json::from_str(&ok(tool(omnipack).arg("inspect").arg("--json").arg(&a))).unwrap();
    assert_eq!(json["format"], "deb");
    assert_eq!(json["settings"]["values"][CHANGED]["default"], "180", "{json:#}");
    let human = ok(tool(omnipack).arg("inspect").arg(&a));
    assert!(human.contains(&format!("{CHANGED} = 180")), "{human}");

    let same = run(tool(omnipack).arg("diff").arg(&a).arg(&a));
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    let differ = run(tool(omnipack).arg("diff").arg("--json").arg(&a).arg(&b));
    assert_eq!(differ.status.code(), Some(1), "{}", text(&differ));
    let out: serde_json::Value = serde_json::from_slice(&differ.stdout).unwrap();
    let names: Vec<&str> = out["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["section"] == "settings")
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(names, [CHANGED], "{out:#}");

    let rpm = {
        let p = formats::packager(Format::Rpm);
        let t = p.targets().into_iter().next().unwrap();
        let path = tmp.path().join("a.rpm");
        std::fs::write(&path, p.package(&one, &t).unwrap().bytes).unwrap();
        path
    };
    let mixed = run(tool(omnipack).arg("diff").arg(&a).arg(&rpm));
    assert_eq!(mixed.status.code(), Some(2), "{}", text(&mixed));
    assert!(text(&mixed).contains("same package"), "{}", text(&mixed));
    let junk = tmp.path().join("junk.deb");
    std::fs::write(&junk, b"!<arch>\nnot really").unwrap();
    let refused = run(tool(omnipack).arg("inspect").arg(&junk));
    assert!(!refused.status.success());
    assert!(text(&refused).contains(&junk.display().to_string()), "{}", text(&refused));
}

#[test]
fn a_patch_shows_its_transforms() {
    use omnipack::msi::patch::{patch_msis, PatchOptions};
    let p = formats::packager(Format::Msi);
    let t = p.targets().into_iter().next().unwrap();
    let old = p.package(&context(MANIFEST), &t).unwrap();
    let new = p
        .package(&context(&MANIFEST.replace("version = \"2.1.0\"", "version = \"2.1.1\"")), &t)
        .unwrap();
    let msp = patch_msis(
        &old.bytes,
        &new.bytes,
        &PatchOptions::hotfix("Outpost", "Outpost 2.1.1", "Hotfix"),
    )
    .unwrap();
    let shown = inspect_bytes(Path::new("hotfix.msp"), &msp).unwrap();
    assert_eq!(shown.format, Kind::Msp);
    assert!(shown.metadata["patch-code"].starts_with('{'), "{:?}", shown.metadata);
    // The target transform sets the new version.
    let versions: Vec<&str> = shown
        .sections
        .iter()
        .filter(|(name, _)| name.ends_with(": Property"))
        .filter_map(|(_, rows)| rows.get("ProductVersion"))
        .map(|r| r["Value"].as_str())
        .collect();
    assert!(
        versions.contains(&"2.1.1"),
        "{:#?}",
        shown.sections.keys().collect::<Vec<_>>()
    );
}
