//! Builds and a signed repository shared by the lifecycle tests: the
//! current product, its previous release, and the legacy clients it
//! replaces, all built by omnipack and published by `omnipack publish`.

use std::path::{Path, PathBuf};
use std::process::Command;

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
    let newest = [omnipack(), agent(), manifest.to_path_buf()].iter().map(|p| mtime(p)).max().unwrap();
    if mtime(&stamp) < newest {
        let out = omnipack_build(&dir, &["--manifest", manifest.to_str().unwrap()]);
        assert!(out.status.success(), "omnipack build --manifest {}:\n{}", manifest.display(), text(&out));
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
        legacy_platform: build_from(&workspace_root().join("tests/legacy/platform-agent.toml"), "dist-legacy-platform"),
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
    let newest = [&b.current, &b.previous, &b.legacy_platform, &b.legacy_wakeup].iter().map(|d| mtime(&d.join("release.json"))).max().unwrap();
    if mtime(&stamp) < newest {
        let _ = std::fs::remove_dir_all(&dir);
        for from in [&b.legacy_platform, &b.legacy_wakeup, &b.previous, &b.current] {
            let out = run(Command::new(omnipack())
                .current_dir(workspace_root())
                .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
                .arg("publish")
                .arg("--from")
                .arg(from)
                .arg("--repo-dir")
                .arg(&dir));
            assert!(out.status.success(), "omnipack publish --from {}:\n{}", from.display(), text(&out));
        }
        std::fs::write(&stamp, "").unwrap();
    }
    dir
}
