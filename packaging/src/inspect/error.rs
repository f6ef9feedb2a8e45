//! Errors of the package readers. A reader works on bytes and says which
//! part of the package is wrong; `read_file` adds the file's name.

use std::path::PathBuf;

/// A part of a package that cannot be read: the member, table or stream,
/// and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{part}: {reason}")]
pub struct Malformed {
    pub part: String,
    pub reason: String,
}

impl Malformed {
    pub fn new(part: impl Into<String>, reason: impl ToString) -> Malformed {
        Malformed {
            part: part.into(),
            reason: reason.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: not a package omnipack reads (first bytes {magic}); allowed: deb (ar), rpm, \
         Windows Installer MSI/MST/MSP (compound file), macOS pkg (xar)",
        file.display()
    )]
    Unknown { file: PathBuf, magic: String },
    #[error("{}: {kind} package: {source}", file.display())]
    Malformed {
        file: PathBuf,
        kind: &'static str,
        #[source]
        source: Malformed,
    },
    #[error(
        "{} is a {a} package and {} a {b} package: diff compares two builds of the same package",
        first.display(),
        second.display()
    )]
    DifferentFormats {
        first: PathBuf,
        second: PathBuf,
        a: &'static str,
        b: &'static str,
    },
}
