//! The yum/dnf repository: packages/ and repodata/ (primary, filelists,
//! other, repomd.xml signed as repomd.xml.asc).

use std::path::{Path, PathBuf};

use super::RepoError;
use crate::sign::Signer;

pub struct YumOptions {
    /// Seconds since the epoch for repomd `revision` and timestamps.
    pub date: u64,
}

pub struct YumSummary {
    /// Every package in the repository after publishing, relative to its root.
    pub packages: Vec<PathBuf>,
}

/// Adds `rpms` to the yum repository rooted at `dir`, then regenerates the
/// repodata from every rpm in it and signs repomd.xml.
pub fn publish(dir: &Path, rpms: &[PathBuf], signer: &dyn Signer, opts: &YumOptions) -> Result<YumSummary, RepoError> {
    let _ = (dir, rpms, signer, opts);
    todo!("yum repository writer")
}
