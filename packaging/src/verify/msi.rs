//! A compound file's (MSI, MST, MSP) Authenticode parts: the digest Windows'
//! MSI SIP computes over the streams, the `\u{5}DigitalSignature` stream, and
//! the executables an MSI carries (cabinet files, Binary table cells) so
//! their own signatures can be checked.
//!
//! The digest, as osslsigncode's msi.c computes it and as checked against it
//! (/work/shared/notes/windows.md §4.2): starting at the root, each
//! storage's children in the order of their raw names (UTF-16LE with the
//! terminating NUL, compared bytewise), streams' content hashed, storages
//! recursed into, then the storage's own CLSID as stored; the root's two
//! signature streams are left out.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::authenticode::{Hash, Hasher};

const SIGNATURE: &str = "\u{5}DigitalSignature";
const SIGNATURE_EX: &str = "\u{5}MsiDigitalSignatureEx";

#[derive(Debug, thiserror::Error)]
pub enum MsiSigError {
    #[error("not a compound file: {0}")]
    NotCfb(#[source] std::io::Error),
    #[error("stream `{stream}` cannot be read: {source}")]
    Stream {
        stream: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not Authenticode-signed (no \\x05DigitalSignature stream)")]
    Unsigned,
    #[error("has an \\x05MsiDigitalSignatureEx stream (a metadata pre-hash), which this reader does not check")]
    Extended,
    #[error("the installer database cannot be read: {0}")]
    Database(#[source] crate::msi::MsiError),
    #[error("cabinet `{cabinet}` cannot be read: {source}")]
    Cabinet {
        cabinet: String,
        #[source]
        source: std::io::Error,
    },
}

type Cfb<'a> = cfb::CompoundFile<Cursor<&'a [u8]>>;

fn open(bytes: &[u8]) -> Result<Cfb<'_>, MsiSigError> {
    cfb::CompoundFile::open(Cursor::new(bytes)).map_err(MsiSigError::NotCfb)
}

fn read_stream(c: &mut Cfb, path: &Path) -> Result<Vec<u8>, MsiSigError> {
    let mut data = Vec::new();
    c.open_stream(path)
        .and_then(|mut s| s.read_to_end(&mut data))
        .map_err(|source| MsiSigError::Stream {
            stream: path.display().to_string(),
            source,
        })?;
    Ok(data)
}

/// The signature stream's PKCS#7 SignedData.
pub fn signature(bytes: &[u8]) -> Result<Vec<u8>, MsiSigError> {
    let mut c = open(bytes)?;
    let root = Path::new("/");
    if c.exists(root.join(SIGNATURE_EX)) {
        return Err(MsiSigError::Extended);
    }
    if !c.is_stream(root.join(SIGNATURE)) {
        return Err(MsiSigError::Unsigned);
    }
    read_stream(&mut c, &root.join(SIGNATURE))
}

/// The Authenticode digest of a compound file with `hash`.
pub fn digest(bytes: &[u8], hash: Hash) -> Result<Vec<u8>, MsiSigError> {
    let mut c = open(bytes)?;
    let mut h = hash.hasher();
    hash_storage(&mut c, Path::new("/"), &mut h)?;
    Ok(h.finish())
}

/// A raw entry name as the digest orders it.
fn sort_key(name: &str) -> Vec<u8> {
    name.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

fn hash_storage(c: &mut Cfb, path: &Path, h: &mut Hasher) -> Result<(), MsiSigError> {
    let is_root = path == Path::new("/");
    let stream_error = |source| MsiSigError::Stream {
        stream: path.display().to_string(),
        source,
    };
    let mut children: Vec<(Vec<u8>, PathBuf, bool)> = c
        .read_storage(path)
        .map_err(stream_error)?
        .filter(|e| !(is_root && (e.name() == SIGNATURE || e.name() == SIGNATURE_EX)))
        .map(|e| (sort_key(e.name()), e.path().to_path_buf(), e.is_stream()))
        .collect();
    children.sort();
    for (_, child, is_stream) in children {
        if is_stream {
            h.update(&read_stream(c, &child)?);
        } else {
            hash_storage(c, &child, h)?;
        }
    }
    let clsid = *c.entry(path).map_err(stream_error)?.clsid();
    h.update(&clsid.to_bytes_le());
    Ok(())
}

/// Every PE file an MSI carries, named by where it is: the files of its
/// cabinets (by the File table's long name) and the Binary table's cells.
pub fn executables(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, MsiSigError> {
    let db = crate::msi::Database::from_bytes(bytes).map_err(MsiSigError::Database)?;
    let mut out = Vec::new();
    let long_name = |key: &str| -> String {
        db.table("File")
            .and_then(|t| {
                t.rows()
                    .find(|r| r[0].as_str() == Some(key))
                    .and_then(|r| r[2].as_str().map(str::to_string))
            })
            .map(|n| n.rsplit('|').next().unwrap_or(&n).to_string())
            .unwrap_or_else(|| key.to_string())
    };
    for (stream, data) in &db.streams {
        if !data.starts_with(b"MSCF") {
            continue;
        }
        let cab_error = |source| MsiSigError::Cabinet {
            cabinet: stream.clone(),
            source,
        };
        let mut cab = cab::Cabinet::new(Cursor::new(data.as_slice())).map_err(cab_error)?;
        let names: Vec<String> = cab
            .folder_entries()
            .flat_map(|f| f.file_entries().map(|e| e.name().to_string()).collect::<Vec<_>>())
            .collect();
        for name in names {
            let mut file = Vec::new();
            cab.read_file(&name)
                .and_then(|mut r| r.read_to_end(&mut file))
                .map_err(cab_error)?;
            if file.starts_with(b"MZ") {
                out.push((format!("{} (cabinet {stream})", long_name(&name)), file));
            }
        }
    }
    if let Some(binary) = db.table("Binary") {
        for row in binary.rows() {
            if let (Some(name), crate::msi::Value::Binary(data)) = (row[0].as_str(), &row[1]) {
                if data.starts_with(b"MZ") {
                    out.push((format!("{name} (Binary table)"), data.clone()));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_their_utf16le_bytes() {
        // U+0100 sorts before U+0041 'A' bytewise (00 01 < 41 00), though
        // not by code unit; a prefix sorts before the longer name.
        let mut names = vec!["A", "\u{100}", "AB", "\u{5}SummaryInformation"];
        names.sort_by_key(|n| sort_key(n));
        assert_eq!(names, ["\u{100}", "\u{5}SummaryInformation", "A", "AB"]);
    }
}
