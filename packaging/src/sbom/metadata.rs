//! The parts of `cargo metadata --format-version 1` the SBOM reads. Fields
//! not named here (`manifest_path`, `targets`, authors...) are never read,
//! so a path of the build machine cannot reach a document. Serialize is for
//! the copy kept between builds (`cache`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Serialize)]
pub struct Metadata {
    pub packages: Vec<Package>,
    pub resolve: Option<Resolve>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Package {
    pub id: String,
    pub name: String,
    pub version: String,
    pub license: Option<String>,
    /// `registry+https://...`, `git+https://...`; None for path crates.
    pub source: Option<String>,
    #[serde(default)]
    pub features: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub dependencies: Vec<Declared>,
}

/// A dependency as the package's Cargo.toml declares it.
#[derive(Debug, Deserialize, Serialize)]
pub struct Declared {
    pub name: String,
    pub rename: Option<String>,
    /// None: a normal dependency; "dev" or "build" otherwise.
    pub kind: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default = "yes")]
    pub uses_default_features: bool,
    #[serde(default)]
    pub features: Vec<String>,
    /// The `cfg(...)` or triple of a `[target.X.dependencies]` table.
    pub target: Option<String>,
}

fn yes() -> bool {
    true
}

impl Declared {
    /// The name features refer to it by (`dep:X`, `X/f`): the key in Cargo.toml.
    pub fn key(&self) -> &str {
        self.rename.as_deref().unwrap_or(&self.name)
    }

    pub fn is_normal(&self) -> bool {
        self.kind.is_none()
    }
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Resolve {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct Node {
    pub id: String,
    pub deps: Vec<NodeDep>,
}

/// An edge of cargo's resolve, already filtered to the platform.
#[derive(Debug, Deserialize, Serialize)]
pub struct NodeDep {
    /// The extern crate name (a rename, `-` as `_`).
    pub name: String,
    pub pkg: String,
    pub dep_kinds: Vec<DepKind>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct DepKind {
    pub kind: Option<String>,
    pub target: Option<String>,
}
