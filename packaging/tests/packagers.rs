//! Every packager in-process, from the product manifest held in memory and
//! stand-in binaries (a fake `BuildContext`: no cargo, no signing, no
//! files): each package is checked to hold what the content model says its
//! target installs, read back by a reader we did not write.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{archive, ok, tool};
use omnipack::content::{Kind, Role};
use omnipack::formats;
use omnipack::packager::{BuildContext, Built};
use omnipack::target::{Format, Target};

use common::in_process::MANIFEST;

fn context() -> BuildContext {
    common::in_process::context(MANIFEST)
}

/// Packages every target of `format` in-process; says how long each took.
fn package(ctx: &BuildContext, format: Format) -> Vec<(Target, Built)> {
    let p = formats::packager(format);
    p.targets()
        .into_iter()
        .map(|t| {
            let start = Instant::now();
            let built = p.package(ctx, &t).unwrap_or_else(|e| panic!("{t}: {e}"));
            eprintln!("{t}: {} bytes in {:?}", built.bytes.len(), start.elapsed());
            (t, built)
        })
        .collect()
}

/// The paths a target's payload installs as files (not folders, not what
/// the scripts write).
fn payload_files(ctx: &BuildContext, t: &Target) -> Vec<(Role, String)> {
    let payload = ctx.payload(t).unwrap();
    payload.entries().iter().filter(|e| matches!(e.kind(), Kind::File | Kind::ConfigNoReplace)).map(|e| (e.role, e.path.clone())).collect()
}

fn write(dir: &Path, b: &Built) -> std::path::PathBuf {
    let p = dir.join(&b.file_name);
    std::fs::write(&p, &b.bytes).unwrap();
    p
}

#[test]
fn the_deb_holds_its_payload() {
    let ctx = context();
    let tmp = tempfile::tempdir().unwrap();
    for (t, b) in package(&ctx, Format::Deb) {
        let listing = ok(tool("dpkg-deb").arg("--contents").arg(write(tmp.path(), &b)));
        for (role, path) in payload_files(&ctx, &t) {
            // The deb puts the unit where Ubuntu 18.04's helpers look.
            let path = if role == Role::Service { path.replace("/usr/lib/systemd", "/lib/systemd") } else { path };
            assert!(listing.contains(&format!(" {}\n", &path[1..])), "{t}: {path} not in:\n{listing}");
        }
    }
}

/// The deb's self-validation list names the files as the deb installs
/// them (its relocated unit) with the bytes it installs, and leaves out the
/// administrator's files.
#[test]
fn the_deb_lists_its_program_files_as_installed() {
    use sha2::{Digest, Sha256};
    let ctx = context();
    let tmp = tempfile::tempdir().unwrap();
    for (t, b) in package(&ctx, Format::Deb) {
        let root = tmp.path().join(t.to_string());
        ok(tool("dpkg-deb").arg("-x").arg(write(tmp.path(), &b)).arg(&root));
        let list_path = ctx.manifest.layout(t.platform).file_list();
        let list = std::fs::read_to_string(root.join(&list_path[1..])).unwrap();
        let mut listed = Vec::new();
        for line in list.lines() {
            let (sum, path) = line.split_once("  ").unwrap();
            let data = std::fs::read(root.join(&path[1..])).unwrap_or_else(|e| panic!("{t}: {path}: {e}"));
            assert_eq!(sum, hex::encode(Sha256::digest(&data)), "{t}: {path}");
            listed.push(path);
        }
        let l = ctx.manifest.layout(t.platform);
        assert!(listed.contains(&l.binary.as_str()) && listed.contains(&l.defaults_file.as_str()), "{t}: {list}");
        assert!(listed.iter().any(|p| p.starts_with("/lib/systemd/system/")), "{t}: the unit where the deb puts it: {list}");
        assert!(!listed.contains(&l.config_file.as_str()), "{t}: the administrator's file is not verified");
    }
}

#[test]
fn the_rpm_holds_its_payload() {
    let ctx = context();
    for (t, b) in package(&ctx, Format::Rpm) {
        let pkg = rpm::Package::parse(&mut &b.bytes[..]).unwrap();
        let paths: Vec<String> = pkg.metadata.get_file_paths().unwrap().iter().map(|p| p.display().to_string()).collect();
        for (_, path) in payload_files(&ctx, &t) {
            assert!(paths.contains(&path), "{t}: {path} not in {paths:?}");
        }
        let answers = ctx.payload(&t).unwrap().one(Role::Answers).path.clone();
        assert!(paths.contains(&answers), "{t}: the answers file is owned (%ghost)");
    }
}

#[test]
fn each_msi_holds_its_program_files() {
    let ctx = context();
    for (t, b) in package(&ctx, Format::Msi) {
        let db = omnipack::msi::Database::from_bytes(&b.bytes).unwrap();
        let names: Vec<String> = db
            .table("File")
            .unwrap()
            .rows()
            .map(|r| r[2].as_str().unwrap().rsplit('|').next().unwrap().to_string())
            .collect();
        let payload = ctx.payload(&t).unwrap();
        for role in [Role::Binary, Role::Defaults, Role::FileList] {
            let name = payload.one(role).file_name();
            assert!(names.iter().any(|n| n == name), "{t}: {name} not in {names:?}");
        }
        let markers = payload.entries().iter().filter(|e| e.role == Role::FeatureMarker).count();
        assert_eq!(names.iter().filter(|n| n.ends_with(".feature")).count(), markers, "{t}: {names:?}");
    }
}

#[test]
fn the_pkg_holds_its_payload() {
    let ctx = context();
    let tmp = tempfile::tempdir().unwrap();
    for (t, b) in package(&ctx, Format::Pkg) {
        let x = tmp.path().join("x");
        ok(tool("7zz").arg("x").arg(format!("-o{}", x.display())).arg(write(tmp.path(), &b)));
        let mut listed = Vec::new();
        for entry in std::fs::read_dir(&x).unwrap() {
            let payload = entry.unwrap().path().join("Payload");
            if payload.is_file() {
                listed.extend(archive::cpio_listing(&payload).into_iter().map(|e| format!("/{}", e.name.trim_start_matches("./"))));
            }
        }
        for (role, path) in payload_files(&ctx, &t) {
            // The administrator's file ships as an example (Installer
            // overwrites payload files); the real one is made once.
            let path = if role == Role::AdminConfig { omnipack::macos::scripts::admin_example(&ctx.manifest) } else { path };
            assert!(listed.contains(&path), "{t}: {path} not in {listed:?}");
        }
    }
}
