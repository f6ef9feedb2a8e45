//! XAR archives, the container of every flat package, laid out as pkgbuild
//! and productbuild write them:
//!
//! * a 28-byte big-endian header: `xar!`, header size 28, version 1, the
//!   compressed and uncompressed TOC lengths, and the checksum algorithm in
//!   Apple's numbering (1 = SHA-1, 3 = SHA-256);
//! * the zlib-compressed table of contents (XML);
//! * the heap: the digest of the *compressed* TOC at offset 0, then each
//!   member's stored bytes at the offset its `<data>` names, in TOC order.
//!
//! Every `<data>` carries the archived (stored bytes) and extracted (decoded
//! bytes) checksums. Members are stored raw (`application/octet-stream`) or
//! zlib-compressed (`application/x-gzip`, which in XAR means zlib).
//!
//! The TOC uses only elements apple-xar's parser knows (it refuses any other),
//! because rcodesign and apple-codesign sign a package by parsing this TOC,
//! adding `<signature>`/`<x-signature>` and rewriting the heap.

use std::io::Write;
use std::sync::Arc;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::error::PkgError;
use super::xml::Xml;

const MAGIC: &[u8; 4] = b"xar!";
const HEADER_LEN: u16 = 28;
/// zlib level for the TOC and compressed members; any fixed level keeps the
/// output reproducible.
const ZLIB_LEVEL: u32 = 9;

/// The TOC and member checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XarChecksum {
    /// What pkgbuild and productbuild write, and what every reader checks.
    #[default]
    Sha1,
    /// Read by 7-Zip and apple-xar, but libarchive 3.6 (bsdtar) does not
    /// recognise such an archive at all ("Unrecognized archive format").
    Sha256,
}

impl XarChecksum {
    /// The header's algorithm number, Apple's numbering (mackyle's xar 1.6
    /// instead writes 3 = "other" with a name, in a 64-byte header).
    fn header_id(self) -> u32 {
        match self {
            XarChecksum::Sha1 => 1,
            XarChecksum::Sha256 => 3,
        }
    }

    fn style(self) -> &'static str {
        match self {
            XarChecksum::Sha1 => "sha1",
            XarChecksum::Sha256 => "sha256",
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            XarChecksum::Sha1 => Sha1::digest(data).to_vec(),
            XarChecksum::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn len(self) -> usize {
        match self {
            XarChecksum::Sha1 => 20,
            XarChecksum::Sha256 => 32,
        }
    }
}

/// How a member is stored in the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As is. For Payload and Scripts, which are gzip already.
    Stored,
    /// zlib, as productbuild stores Bom, PackageInfo and Distribution.
    Zlib,
}

#[derive(Debug)]
enum Member {
    Dir {
        name: String,
        children: Vec<Member>,
    },
    File {
        name: String,
        data: Arc<[u8]>,
        encoding: Encoding,
    },
}

impl Member {
    fn name(&self) -> &str {
        match self {
            Member::Dir { name, .. } | Member::File { name, .. } => name,
        }
    }
}

/// Collects members, then writes the archive in one go.
#[derive(Debug)]
pub struct XarWriter {
    checksum: XarChecksum,
    timestamp: u64,
    root: Vec<Member>,
}

impl XarWriter {
    /// `timestamp` (seconds since 1970) is the creation time and every
    /// member's time.
    pub fn new(checksum: XarChecksum, timestamp: u64) -> XarWriter {
        XarWriter {
            checksum,
            timestamp,
            root: Vec::new(),
        }
    }

    /// Adds a member at `path` (`Distribution`, `core.pkg/Payload`); parent
    /// directories are created. Members keep the order they were added in.
    pub fn add(&mut self, path: &str, data: impl Into<Arc<[u8]>>, encoding: Encoding) -> Result<&mut XarWriter, PkgError> {
        let parts: Vec<&str> = path.split('/').collect();
        if let Some(bad) = parts
            .iter()
            .find(|p| p.is_empty() || **p == "." || **p == ".." || p.contains('\0'))
        {
            return Err(PkgError::path(path, format!("XAR member path has a {bad:?} component")));
        }
        let (file, dirs) = parts.split_last().expect("split yields one part");
        let mut level = &mut self.root;
        for dir in dirs {
            let at = match level.iter().position(|m| m.name() == *dir) {
                Some(at) => at,
                None => {
                    level.push(Member::Dir {
                        name: dir.to_string(),
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level = match &mut level[at] {
                Member::Dir { children, .. } => children,
                Member::File { .. } => return Err(PkgError::path(path, format!("XAR member `{dir}` is a file"))),
            };
        }
        if level.iter().any(|m| m.name() == *file) {
            return Err(PkgError::path(path, "XAR member added twice"));
        }
        level.push(Member::File {
            name: file.to_string(),
            data: data.into(),
            encoding,
        });
        Ok(self)
    }

    pub fn finish(self) -> Result<Vec<u8>, PkgError> {
        let sum = self.checksum;
        let mut heap = vec![0u8; sum.len()];
        let mut toc = Xml::new("XAR table of contents", " ");
        toc.open("xar", &[])?;
        toc.open("toc", &[])?;
        toc.leaf("creation-time", &[], &iso8601(self.timestamp, false))?;
        toc.open("checksum", &[("style", sum.style())])?;
        toc.leaf("offset", &[], "0")?;
        toc.leaf("size", &[], &sum.len().to_string())?;
        toc.close();
        let mut next_id = 1u64;
        let time = iso8601(self.timestamp, true);
        for member in &self.root {
            write_member(&mut toc, &mut heap, &mut next_id, member, sum, &time)?;
        }
        toc.close();
        toc.close();
        let toc = toc.finish();

        let toc_z = zlib(toc.as_bytes(), "the XAR table of contents")?;
        heap[..sum.len()].copy_from_slice(&sum.digest(&toc_z));

        let mut out = Vec::with_capacity(HEADER_LEN as usize + toc_z.len() + heap.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&HEADER_LEN.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&(toc_z.len() as u64).to_be_bytes());
        out.extend_from_slice(&(toc.len() as u64).to_be_bytes());
        out.extend_from_slice(&sum.header_id().to_be_bytes());
        out.extend_from_slice(&toc_z);
        out.extend_from_slice(&heap);
        Ok(out)
    }
}

/// One `<file>`: element order as Apple's tools and apple-xar write it
/// (data, times, owners, mode, type, name, children).
fn write_member(
    toc: &mut Xml,
    heap: &mut Vec<u8>,
    next_id: &mut u64,
    member: &Member,
    sum: XarChecksum,
    time: &str,
) -> Result<(), PkgError> {
    let id = next_id.to_string();
    *next_id += 1;
    toc.open("file", &[("id", &id)])?;
    if let Member::File { name, data, encoding } = member {
        let (stored, style) = match encoding {
            Encoding::Stored => (None, "application/octet-stream"),
            Encoding::Zlib => (Some(zlib(data, name)?), "application/x-gzip"),
        };
        let stored_bytes: &[u8] = stored.as_deref().unwrap_or(data);
        toc.open("data", &[])?;
        toc.leaf("length", &[], &stored_bytes.len().to_string())?;
        toc.leaf("offset", &[], &heap.len().to_string())?;
        toc.leaf("size", &[], &data.len().to_string())?;
        toc.empty("encoding", &[("style", style)])?;
        toc.leaf(
            "extracted-checksum",
            &[("style", sum.style())],
            &hex::encode(sum.digest(data)),
        )?;
        toc.leaf(
            "archived-checksum",
            &[("style", sum.style())],
            &hex::encode(sum.digest(stored_bytes)),
        )?;
        toc.close();
        heap.extend_from_slice(stored_bytes);
    }
    for t in ["ctime", "mtime", "atime"] {
        toc.leaf(t, &[], time)?;
    }
    toc.leaf("group", &[], "wheel")?;
    toc.leaf("gid", &[], "0")?;
    toc.leaf("user", &[], "root")?;
    toc.leaf("uid", &[], "0")?;
    match member {
        Member::File { name, .. } => {
            toc.leaf("mode", &[], "0644")?;
            toc.leaf("type", &[], "file")?;
            toc.leaf("name", &[], name)?;
        }
        Member::Dir { name, children } => {
            toc.leaf("mode", &[], "0755")?;
            toc.leaf("type", &[], "directory")?;
            toc.leaf("name", &[], name)?;
            for child in children {
                write_member(toc, heap, next_id, child, sum, time)?;
            }
        }
    }
    toc.close();
    Ok(())
}

fn zlib(data: &[u8], what: &str) -> Result<Vec<u8>, PkgError> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(ZLIB_LEVEL));
    enc.write_all(data).map_err(PkgError::compress(what))?;
    enc.finish().map_err(PkgError::compress(what))
}

/// `2023-11-14T22:13:20`, with `Z` for member times as Apple writes them.
fn iso8601(secs: u64, zulu: bool) -> String {
    crate::time::iso8601(secs, zulu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(iso8601(0, false), "1970-01-01T00:00:00");
        assert_eq!(iso8601(1_700_000_000, true), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400, false), "2000-02-29T00:00:00");
    }

    #[test]
    fn header_and_toc_checksum() {
        let mut w = XarWriter::new(XarChecksum::Sha1, 0);
        w.add("a.pkg/Payload", &b"payload"[..], Encoding::Stored).unwrap();
        w.add("Distribution", &b"<x/>"[..], Encoding::Zlib).unwrap();
        assert!(w.add("a.pkg", &b""[..], Encoding::Stored).is_err());
        assert!(w.add("a.pkg/Payload/x", &b""[..], Encoding::Stored).is_err());
        let x = w.finish().unwrap();
        assert_eq!(&x[..8], b"xar!\0\x1c\0\x01");
        let toc_len = u64::from_be_bytes(x[8..16].try_into().unwrap()) as usize;
        assert_eq!(u32::from_be_bytes(x[24..28].try_into().unwrap()), 1);
        let toc_z = &x[28..28 + toc_len];
        assert_eq!(&x[28 + toc_len..28 + toc_len + 20], Sha1::digest(toc_z).as_slice());
        let mut toc = String::new();
        std::io::Read::read_to_string(&mut flate2::read::ZlibDecoder::new(toc_z), &mut toc).unwrap();
        assert!(toc.contains("<name>a.pkg</name>\n   <file id=\"2\">"), "{toc}");
        assert_eq!(&x[28 + toc_len + 20..28 + toc_len + 27], b"payload");
    }
}
