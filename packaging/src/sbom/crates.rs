//! The crates compiled into each binary, per Rust target triple, from
//! `cargo metadata` (one run per triple, kept between builds by `cache`)
//! and the SHA-256 of each registry crate's archive from `Cargo.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::features::{compiled_in, Graph};
use super::SbomError;

const CRATES_IO: [&str; 2] = ["registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"];

/// Where a crate's source comes from, as the document may say it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    CratesIo,
    /// A path dependency: a crate of this repository.
    Local,
    /// Another registry or a git repository, its URL without credentials.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    pub name: String,
    pub version: String,
    /// The `license` field as the crate wrote it.
    pub license: Option<String>,
    pub origin: Origin,
    /// Cargo.lock's SHA-256 of the `.crate` archive (registry crates).
    pub checksum: Option<String>,
}

impl Crate {
    pub fn purl(&self) -> String {
        format!("pkg:cargo/{}@{}", self.name, self.version)
    }

    /// The licence as an SPDX expression: the `/` that older crates wrote
    /// for a choice (`MIT/Apache-2.0`) is `OR`.
    pub fn license_expression(&self) -> Option<String> {
        let l = self.license.as_deref()?.trim();
        Some(if l.contains('/') { l.split('/').map(str::trim).collect::<Vec<_>>().join(" OR ") } else { l.to_string() })
    }
}

/// The crates one workspace package compiles in, with their dependencies;
/// both keyed by purl.
#[derive(Debug, Clone, Default)]
pub struct CompiledIn {
    pub root: String,
    pub crates: BTreeMap<String, Crate>,
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

/// Cargo.lock's checksum of each crate by name, version and source.
type Checksums = BTreeMap<(String, String, String), String>;

/// `cargo metadata`'s resolve for each triple asked for.
pub struct Crates {
    graphs: BTreeMap<String, Graph>,
    checksums: Checksums,
}

impl Crates {
    /// Runs `cargo metadata --filter-platform` in `workspace_root` once per
    /// triple (offline and locked: the lock file is the truth) and reads
    /// its `Cargo.lock`. With a `cache` folder, a triple's output is kept
    /// there and reused while the files it came from read the same.
    pub fn resolve(workspace_root: &Path, triples: &[&str], cache: Option<&Path>) -> Result<Crates, SbomError> {
        let mut graphs = BTreeMap::new();
        for triple in triples {
            let m = match cache.and_then(|dir| super::cache::load(dir, workspace_root, triple)) {
                Some(m) => m,
                None => metadata(workspace_root, triple, cache)?,
            };
            graphs.insert(triple.to_string(), Graph::new(m));
        }
        Ok(Crates { graphs, checksums: lock_checksums(&workspace_root.join("Cargo.lock"))? })
    }

    /// The crates the workspace package `package` compiles in for any of
    /// `triples` (the union: a universal binary holds both slices).
    pub fn compiled_into(&self, package: &str, triples: &[&str]) -> Result<CompiledIn, SbomError> {
        let mut out = CompiledIn::default();
        for triple in triples {
            let g = self.graphs.get(*triple).ok_or_else(|| SbomError::NotResolved { triple: triple.to_string() })?;
            let root = g.package_id(package).ok_or_else(|| SbomError::NoPackage { triple: triple.to_string(), package: package.to_string() })?;
            for (id, deps) in compiled_in(g, root) {
                let c = self.crate_of(g, id);
                let purl = c.purl();
                let edges = out.edges.entry(purl.clone()).or_default();
                edges.extend(deps.into_iter().map(|d| self.crate_of(g, d).purl()));
                if id == root {
                    out.root = purl.clone();
                }
                out.crates.insert(purl, c);
            }
        }
        Ok(out)
    }

    fn crate_of(&self, g: &Graph, id: &str) -> Crate {
        let p = &g.packages[id];
        let origin = match p.source.as_deref() {
            None => Origin::Local,
            Some(s) if CRATES_IO.contains(&s) => Origin::CratesIo,
            Some(s) => Origin::Other(without_credentials(s)),
        };
        let key = (p.name.clone(), p.version.clone(), p.source.clone().unwrap_or_default());
        Crate { name: p.name.clone(), version: p.version.clone(), license: p.license.clone(), origin, checksum: self.checksums.get(&key).cloned() }
    }
}

fn metadata(root: &Path, triple: &str, cache: Option<&Path>) -> Result<super::metadata::Metadata, SbomError> {
    let args = ["metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", triple];
    let command = format!("cargo {}", args.join(" "));
    let out = crate::cargo::command()
        .current_dir(root)
        .args(args)
        .output()
        .map_err(|source| SbomError::Spawn { command: command.clone(), source })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(SbomError::Cargo { triple: triple.to_string(), command, status: out.status, stderr });
    }
    let m = serde_json::from_slice(&out.stdout).map_err(|source| SbomError::Metadata { triple: triple.to_string(), command, source })?;
    Ok(match cache {
        Some(dir) => super::cache::store(dir, root, triple, super::cache::inputs(root, &out.stdout), m),
        None => m,
    })
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Locked>,
}

#[derive(Deserialize)]
struct Locked {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

fn lock_checksums(path: &Path) -> Result<Checksums, SbomError> {
    let text = std::fs::read_to_string(path).map_err(|source| SbomError::Read { path: path.to_path_buf(), source })?;
    let lock: Lock = toml::from_str(&text).map_err(|source| SbomError::Lock { path: path.to_path_buf(), source })?;
    Ok(lock
        .package
        .into_iter()
        .filter_map(|p| Some(((p.name, p.version, p.source.unwrap_or_default()), p.checksum?)))
        .collect())
}

/// A source URL as a document may show it: no user or token, and no
/// local path (a `file://` registry or git checkout is this machine's).
fn without_credentials(source: &str) -> String {
    let (kind, rest) = source.split_once('+').unwrap_or(("", source));
    match url::Url::parse(rest) {
        Ok(u) if u.scheme() == "file" => format!("{kind}+local"),
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            format!("{kind}+{u}")
        }
        Err(_) => format!("{kind}+unparsable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(license: &str) -> Crate {
        Crate { name: "x".into(), version: "1.0.0".into(), license: Some(license.into()), origin: Origin::CratesIo, checksum: None }
    }

    #[test]
    fn slash_licences_become_spdx_or() {
        assert_eq!(krate("MIT/Apache-2.0").license_expression().unwrap(), "MIT OR Apache-2.0");
        assert_eq!(krate("Apache-2.0 / MIT").license_expression().unwrap(), "Apache-2.0 OR MIT");
        assert_eq!(krate("(MIT OR Apache-2.0) AND Unicode-3.0").license_expression().unwrap(), "(MIT OR Apache-2.0) AND Unicode-3.0");
    }

    #[test]
    fn sources_lose_credentials_and_local_paths() {
        assert_eq!(without_credentials("git+https://user:tok@example.com/r.git#abc"), "git+https://example.com/r.git#abc");
        assert_eq!(without_credentials("registry+file:///root/vendor"), "registry+local");
    }
}
