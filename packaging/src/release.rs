//! `release.json`: the contract the tests and the release pipeline read.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifact {
    /// Relative to the folder holding release.json.
    pub path: String,
    pub format: String,
    pub platform: String,
    /// In the platform's own words: amd64, x86_64, x64, x86, universal2.
    pub arch: String,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    /// Signature scheme, or null when unsigned.
    pub signed: Option<String>,
    /// True when signed with a throwaway test key.
    #[serde(default)]
    pub test_signed: bool,
    /// `platform-arch-format`.
    pub target: String,
}

pub const FILE_NAME: &str = "release.json";
