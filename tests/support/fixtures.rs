//! Builds and a signed repository shared by the lifecycle tests: the
//! current product, its previous release, and the legacy clients it
//! replaces, all built by omnipack and published by `omnipack publish`.

use outpost_test_tools::tool;
use std::path::{Path, PathBuf};

use crate::*;

pub const CURRENT: &str = "2.1.0-1";
pub const PREVIOUS: &str = "2.0.0-1";

/// The real manifest with its version changed to the previous release.
fn previous_manifest() -> PathBuf {
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    assert_eq!(text.matches("version = \"2.1.0\"").count(), 1);
    let p = fixtures_dir().join("outpost-previous.toml");
    let edited = text.replace("version = \"2.1.0\"", "version = \"2.0.0\"");
    if std::fs::read_to_string(&p).ok().as_deref() != Some(&edited) {
        std::fs::write(&p, edited).unwrap();
    }
    p
}

fn build_from(manifest: &Path, name: &str) -> PathBuf {
    let dir = fixtures_dir().join(name);
    let _lock = lock(name);
    let stamp = dir.join("release.json");
    let newest = [omnipack(), linux_agent(), manifest.to_path_buf()]
        .iter()
        .map(|p| mtime(p))
        .max()
        .unwrap();
    if mtime(&stamp) < newest {
        let out = omnipack_build(&dir, &["--manifest", manifest.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "omnipack build --manifest {}:\n{}",
            manifest.display(),
            text(&out)
        );
    }
    dir
}

pub struct Builds {
    pub current: PathBuf,
    pub previous: PathBuf,
    pub legacy_platform: PathBuf,
    pub legacy_wakeup: PathBuf,
}

pub fn builds() -> Builds {
    Builds {
        current: dist(),
        previous: build_from(&previous_manifest(), "dist-previous"),
        legacy_platform: build_from(
            &workspace_root().join("tests/legacy/platform-agent.toml"),
            "dist-legacy-platform",
        ),
        legacy_wakeup: build_from(&workspace_root().join("tests/legacy/wakeup.toml"), "dist-legacy-wakeup"),
    }
}

/// A repository holding every build, published oldest first as a release
/// pipeline would, rebuilt when any build changed.
pub fn repo() -> PathBuf {
    let b = builds();
    let dir = fixtures_dir().join("repo");
    let _lock = lock("repo");
    let stamp = dir.join(".published");
    let newest = [&b.current, &b.previous, &b.legacy_platform, &b.legacy_wakeup]
        .iter()
        .map(|d| mtime(&d.join("release.json")))
        .max()
        .unwrap();
    if mtime(&stamp) < newest {
        let _ = std::fs::remove_dir_all(&dir);
        for from in [&b.legacy_platform, &b.legacy_wakeup, &b.previous, &b.current] {
            let out = run(tool(omnipack())
                .current_dir(workspace_root())
                .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
                .arg("publish")
                .arg("--from")
                .arg(from)
                .arg("--repo-dir")
                .arg(&dir));
            assert!(
                out.status.success(),
                "omnipack publish --from {}:\n{}",
                from.display(),
                text(&out)
            );
        }
        std::fs::write(&stamp, "").unwrap();
    }
    dir
}

/// A stand-in for the operating system's own yum repository: one signed
/// `test-base` package that provides what our packages require from the OS
/// (libc sonames, /bin/sh), which an empty installroot lacks. The debootstrap
/// tree underneath supplies the real files.
pub fn base_repo() -> PathBuf {
    let b = builds();
    let dir = fixtures_dir().join("base-repo");
    let _lock = lock("base-repo");
    let stamp = dir.join(".published");
    if mtime(&stamp) >= mtime(&b.current.join("release.json")) {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut provides = std::collections::BTreeSet::new();
    for d in [&b.current, &b.previous, &b.legacy_platform, &b.legacy_wakeup] {
        let rpm = artifact(d, "rpm").path;
        let reqs = ok(tool("rpm").args(["-qp", "--nosignature", "--requires"]).arg(&rpm));
        for r in reqs.lines().map(str::trim) {
            let name = r.split_whitespace().next().unwrap_or("");
            if !name.is_empty() && !name.starts_with("rpmlib(") && !name.starts_with("config(") {
                provides.insert(name.to_string());
            }
        }
    }
    provides.insert("/bin/sh".into());
    let mut builder = rpm::PackageBuilder::new("test-base", "1.0", "MIT", "noarch", "operating system stand-in for tests");
    builder
        .using_config(rpm::BuildConfig::v4().source_date(1_700_000_000u32))
        .release("1")
        .description("Provides what the OS would.");
    for p in &provides {
        builder.provides(rpm::Dependency::any(p));
    }
    let key = omnipack::sign::openpgp::OpenPgpKey::load(&omnipack::sign::OpenPgpKeySource::Throwaway(test_key_dir())).unwrap();
    let pkg = builder.build_and_sign(key.rpm_signer().unwrap()).unwrap();
    let staging = tempfile::tempdir_in(fixtures_dir()).unwrap();
    let file = staging.path().join("test-base-1.0-1.noarch.rpm");
    pkg.write_file(&file).unwrap();
    omnipack::repo::yum::publish(&dir, &[file], &key, &omnipack::repo::yum::YumOptions { date: 1_700_000_000 }).unwrap();
    std::fs::write(&stamp, "").unwrap();
    dir
}
