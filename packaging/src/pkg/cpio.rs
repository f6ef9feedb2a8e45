//! Payload and Scripts archives: "odc" (POSIX.1 portable ASCII) cpio, as
//! pkgbuild writes them by default, gzip-compressed. Names are `.` and
//! `./path` in byte order, owners 0:0, one mtime for every entry, inode
//! numbers counted from 1 so no two entries look like hard links.

use std::io::Write;

use super::error::PkgError;
use super::tree::{Kind, Tree};

const MAGIC: &str = "070707";
const TRAILER: &str = "TRAILER!!!";

/// gzip level for Payload and Scripts. pkgbuild's "legacy" compression is
/// zlib's default, 6; flate2's zlib-rs backend at 6 writes 3% more than
/// zlib there and needs 9 to match it (packaging/src/msi/cab.rs says why).
const GZIP_LEVEL: u32 = 9;

/// `n` as exactly `width` octal digits, or an error naming the field.
fn octal(n: u64, width: usize, what: &str, name: &str) -> Result<String, PkgError> {
    let s = format!("{n:0width$o}");
    if s.len() > width {
        return Err(PkgError::limit(
            "odc cpio",
            name,
            format!("{what} {n} does not fit in {width} octal digits"),
        ));
    }
    Ok(s)
}

/// The uncompressed odc archive of `tree`.
pub fn odc(tree: &Tree, mtime: u64) -> Result<Vec<u8>, PkgError> {
    let entries = tree.entries();
    let mut out = Vec::with_capacity(entries.iter().map(|e| 80 + e.path.len() + e.data().len()).sum());
    // A directory's link count is 2 plus one per subdirectory, as on disk.
    let mut subdirs = std::collections::HashMap::<&str, u64>::new();
    for e in entries.iter().skip(1).filter(|e| matches!(e.kind, Kind::Dir)) {
        let parent = e.path.rsplit_once('/').map_or("", |(p, _)| p);
        *subdirs.entry(parent).or_default() += 1;
    }
    for (i, e) in entries.iter().enumerate() {
        let name = e.archive_name();
        let nlink = match e.kind {
            Kind::Dir => 2 + subdirs.get(e.path.as_str()).copied().unwrap_or(0),
            _ => 1,
        };
        header(
            &mut out,
            &name,
            i as u64 + 1,
            e.st_mode().into(),
            nlink,
            mtime,
            e.data().len() as u64,
        )?;
        out.extend_from_slice(e.data());
    }
    header(&mut out, TRAILER, 0, 0, 1, 0, 0)?;
    Ok(out)
}

fn header(out: &mut Vec<u8>, name: &str, ino: u64, mode: u64, nlink: u64, mtime: u64, size: u64) -> Result<(), PkgError> {
    let h = format!(
        "{MAGIC}{dev}{ino}{mode}{uid}{gid}{nlink}{rdev}{mtime}{namesize}{filesize}",
        dev = octal(0, 6, "device", name)?,
        ino = octal(ino, 6, "inode number (entry count)", name)?,
        mode = octal(mode, 6, "mode", name)?,
        uid = octal(0, 6, "uid", name)?,
        gid = octal(0, 6, "gid", name)?,
        nlink = octal(nlink, 6, "link count", name)?,
        rdev = octal(0, 6, "rdev", name)?,
        mtime = octal(mtime, 11, "mtime", name)?,
        namesize = octal(name.len() as u64 + 1, 6, "name length", name)?,
        filesize = octal(size, 11, "size", name)?,
    );
    debug_assert_eq!(h.len(), 76);
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    Ok(())
}

/// gzip without a file name and with a zero timestamp, so equal input gives
/// equal bytes.
pub fn gzip(data: &[u8], what: &str) -> Result<Vec<u8>, PkgError> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(GZIP_LEVEL));
    enc.write_all(data).map_err(PkgError::compress(what))?;
    enc.finish().map_err(PkgError::compress(what))
}

/// `gzip(odc(tree))`: a Payload or Scripts member.
pub fn archive(tree: &Tree, mtime: u64, what: &str) -> Result<Vec<u8>, PkgError> {
    gzip(&odc(tree, mtime)?, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_odc_headers() {
        let mut t = Tree::new();
        t.file("bin/x", &b"hello"[..], 0o755).unwrap();
        let a = odc(&t, 0o17).unwrap();
        let s = String::from_utf8_lossy(&a);
        let root = concat!(
            "070707",
            "000000",
            "000001",
            "040755",
            "000000",
            "000000",
            "000003",
            "000000",
            "00000000017",
            "000002",
            "00000000000",
            ".\0"
        );
        let file = concat!(
            "070707",
            "000000",
            "000003",
            "100755",
            "000000",
            "000000",
            "000001",
            "000000",
            "00000000017",
            "000010",
            "00000000005",
            "./bin/x\0hello"
        );
        let trailer = concat!(
            "070707",
            "000000",
            "000000",
            "000000",
            "000000",
            "000000",
            "000001",
            "000000",
            "00000000000",
            "000013",
            "00000000000",
            "TRAILER!!!\0"
        );
        assert!(s.starts_with(root), "{s}");
        assert!(s.contains(file), "{s}");
        assert!(s.ends_with(trailer), "{s}");
    }

    #[test]
    fn refuses_what_odc_cannot_hold() {
        let t = Tree::new();
        let e = odc(&t, 1 << 40).unwrap_err().to_string();
        assert!(e.contains("mtime") && e.contains("11 octal digits"), "{e}");
    }
}
