//! `cargo metadata` for a triple, kept in the target folder and reused
//! while nothing it was read from changed: an unchanged rebuild asks cargo
//! nothing for its SBOMs (five runs cost ~2 s of CPU, more than all the
//! rest of a release but its compression; bench/packages.md, "cold").
//!
//! What decides the output, and so the entry's key: `Cargo.lock` (the
//! resolve, and every registry crate by checksum, whose manifest cannot
//! change), the manifest of every path crate (workspace members, the
//! `[patch]` shim, the root) and cargo's configuration files (present or
//! not). Each entry lists those files with their SHA-256, read right after
//! cargo ran, and is used only when every one still reads the same. The
//! toolchain is not part of it: which cargo runs shows only in variables
//! that `cargo run` and rustup set and a bare run does not (CARGO,
//! RUSTUP_TOOLCHAIN), so keying on them made the two kinds of build discard
//! each other's entry; and with the resolve fixed by the lock, a newer
//! cargo could differ only in the `cfg()` of a target-specific dependency.
//!
//! The entry holds the fields [`Metadata`] reads and the paths of this
//! machine it was checked against; it stays in the target folder (what
//! `cargo clean` removes) and never reaches a document.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::metadata::Metadata;

/// Bumped when the entry's layout or [`Metadata`]'s fields change.
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    /// The workspace root: clones sharing one target folder keep apart.
    root: PathBuf,
    triple: String,
    /// Each input file and the SHA-256 of its bytes; None: it was absent.
    inputs: Vec<(PathBuf, Option<String>)>,
    metadata: Metadata,
}

/// Where the entry for the workspace at `root` and `triple` lives under `dir`.
fn path(dir: &Path, root: &Path, triple: &str) -> PathBuf {
    let workspace = hex::encode(&Sha256::digest(root.as_os_str().as_encoded_bytes())[..8]);
    dir.join(format!("{workspace}-{triple}.json"))
}

fn digest(path: &Path) -> Option<String> {
    std::fs::read(path).ok().map(|b| hex::encode(Sha256::digest(b)))
}

/// The cached metadata of the workspace at `root` for `triple`, if every
/// input still reads the same.
pub fn load(dir: &Path, root: &Path, triple: &str) -> Option<Metadata> {
    let bytes = std::fs::read(path(dir, root, triple)).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    let fresh = entry.version == VERSION
        && entry.root == root
        && entry.triple == triple
        && entry.inputs.iter().all(|(p, sha)| digest(p) == *sha);
    if !fresh {
        tracing::info!(triple, "cargo metadata cache: stale");
    }
    fresh.then_some(entry.metadata)
}

/// The files `cargo metadata` read for a workspace, from its own output:
/// the lock, the root manifest, each path package's manifest, and every
/// configuration file cargo would look for.
pub fn inputs(root: &Path, raw: &[u8]) -> Vec<PathBuf> {
    #[derive(Deserialize)]
    struct Raw {
        packages: Vec<RawPackage>,
    }
    #[derive(Deserialize)]
    struct RawPackage {
        source: Option<String>,
        manifest_path: PathBuf,
    }
    let mut files = vec![root.join("Cargo.lock"), root.join("Cargo.toml")];
    if let Ok(raw) = serde_json::from_slice::<Raw>(raw) {
        files.extend(
            raw.packages
                .into_iter()
                .filter(|p| p.source.is_none())
                .map(|p| p.manifest_path),
        );
    }
    files.extend(crate::cargo::config_files(root, crate::cargo::cargo_home().as_deref()));
    files.sort();
    files.dedup();
    files
}

/// Keeps `metadata` for `triple`, checked against `inputs` as they read
/// now. Best effort: a folder that cannot be written only costs the next
/// build a `cargo metadata` run.
pub fn store(dir: &Path, root: &Path, triple: &str, inputs: Vec<PathBuf>, metadata: Metadata) -> Metadata {
    let inputs = inputs
        .into_iter()
        .map(|p| {
            let d = digest(&p);
            (p, d)
        })
        .collect();
    let entry = Entry {
        version: VERSION,
        root: root.to_path_buf(),
        triple: triple.to_string(),
        inputs,
        metadata,
    };
    let written = std::fs::create_dir_all(dir).ok().and_then(|()| {
        let tmp = tempfile::NamedTempFile::new_in(dir).ok()?;
        serde_json::to_writer(std::io::BufWriter::new(tmp.as_file()), &entry).ok()?;
        tmp.persist(path(dir, root, triple)).ok()
    });
    if written.is_none() {
        tracing::warn!(dir = %dir.display(), "cannot keep cargo metadata's output for the next build");
    }
    entry.metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        serde_json::from_str(
            r#"{"packages":[{"id":"a 1.0.0","name":"a","version":"1.0.0","license":null,"source":null}],"resolve":null}"#,
        )
        .unwrap()
    }

    #[test]
    fn reused_until_an_input_changes_or_goes() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("Cargo.lock");
        let absent = dir.path().join(".cargo/config.toml");
        std::fs::write(&lock, "version = 4\n").unwrap();
        let cache = dir.path().join("cache");
        let keep = || store(&cache, dir.path(), "x86_64-unknown-linux-gnu", vec![lock.clone(), absent.clone()], metadata());
        keep();
        assert!(load(&cache, dir.path(), "x86_64-unknown-linux-gnu").is_some());
        assert!(load(&cache, dir.path(), "aarch64-apple-darwin").is_none(), "another triple");
        assert!(
            load(&cache, Path::new("/another/clone"), "x86_64-unknown-linux-gnu").is_none(),
            "another workspace"
        );
        std::fs::write(&lock, "version = 4\n# changed\n").unwrap();
        assert!(
            load(&cache, dir.path(), "x86_64-unknown-linux-gnu").is_none(),
            "a changed lock"
        );
        keep();
        std::fs::create_dir_all(absent.parent().unwrap()).unwrap();
        std::fs::write(&absent, "").unwrap();
        assert!(
            load(&cache, dir.path(), "x86_64-unknown-linux-gnu").is_none(),
            "a configuration file that appeared"
        );
        std::fs::write(path(&cache, dir.path(), "x86_64-unknown-linux-gnu"), "{").unwrap();
        assert!(load(&cache, dir.path(), "x86_64-unknown-linux-gnu").is_none(), "a torn entry");
    }

    #[test]
    fn inputs_are_the_lock_the_path_manifests_and_the_configurations() {
        let raw = br#"{"packages":[
            {"source":null,"manifest_path":"/w/agent/Cargo.toml"},
            {"source":"registry+https://github.com/rust-lang/crates.io-index","manifest_path":"/home/.cargo/registry/x/Cargo.toml"}]}"#;
        let files = inputs(Path::new("/w"), raw);
        for f in [
            "/w/Cargo.lock",
            "/w/Cargo.toml",
            "/w/agent/Cargo.toml",
            "/w/.cargo/config.toml",
            "/.cargo/config",
        ] {
            assert!(files.contains(&PathBuf::from(f)), "{f} in {files:?}");
        }
        assert!(
            !files.iter().any(|f| f.starts_with("/home/.cargo/registry")),
            "registry crates are the lock's"
        );
    }
}
