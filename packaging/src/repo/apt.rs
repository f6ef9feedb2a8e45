//! The apt repository: pool/, dists/<suite>/{InRelease,Release,Release.gpg},
//! dists/<suite>/<component>/binary-<arch>/Packages(.xz).

use std::path::{Path, PathBuf};

use super::RepoError;
use crate::sign::Signer;

pub struct AptOptions {
    pub suite: String,
    pub component: String,
    pub origin: String,
    pub label: String,
    pub description: String,
    /// Seconds since the epoch for the Release `Date:` field.
    pub date: u64,
}

pub struct AptSummary {
    /// Every package in the pool after publishing, relative to the repo root.
    pub packages: Vec<PathBuf>,
}

/// Adds `debs` to the apt repository rooted at `dir`, then regenerates and
/// signs the indices from every .deb in its pool.
pub fn publish(dir: &Path, debs: &[PathBuf], signer: &dyn Signer, opts: &AptOptions) -> Result<AptSummary, RepoError> {
    let _ = (dir, debs, signer, opts);
    todo!("apt repository writer")
}
