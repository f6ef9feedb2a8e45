//! Signed package repositories, written by our code: an apt repository for
//! the debs and a yum/dnf repository for the rpms. Publishing adds packages
//! to a pool and regenerates the indices from everything in it, so later
//! versions join without rewriting the older packages.

pub mod apt;
pub mod yum;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{path}: {reason}")]
    Package { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A .deb (given or in the pool) that an index cannot list.
    #[error("{path}: {source}")]
    Deb {
        path: PathBuf,
        #[source]
        source: apt::DebError,
    },
    /// An .rpm (given or in the pool) that the repodata cannot describe.
    #[error("{path}: {source}")]
    Rpm {
        path: PathBuf,
        #[source]
        source: yum::RpmError,
    },
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
}

impl RepoError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RepoError {
        let path = path.into();
        move |source| RepoError::Io { path, source }
    }
}

/// Writes `data` to `path` atomically (`crate::output::write_atomic`), so a
/// client never reads half an index.
pub fn write_atomic(path: &std::path::Path, data: &[u8]) -> Result<(), RepoError> {
    crate::output::write_atomic(path, data).map_err(|e| RepoError::Io { path: e.path, source: e.source })
}
