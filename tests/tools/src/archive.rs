//! Archive listings by readers we did not write, parsed once: GNU cpio's
//! `-itv`, 7-Zip's `l -slt` and libarchive's `-tf`, with the `ls -l` mode
//! strings they print and coreutils `cksum`, the CRC a macOS Bom records.

use std::path::Path;

use crate::{ok, pipe, run_with_input, text, tool};

pub const S_IFMT: u32 = 0o170_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;

/// One line of `cpio -itv --numeric-uid-gid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    pub name: String,
    /// As `ls -l` prints it: `drwxr-xr-x`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// A symlink's target (`name -> target`).
    pub link: Option<String>,
}

impl CpioEntry {
    /// The mode as `st_mode` bits.
    pub fn st_mode(&self) -> u32 {
        st_mode(&self.mode)
    }
}

/// `gunzip -c member | cpio -itv --numeric-uid-gid`, parsed: the listing of
/// a gzip'd cpio archive (a macOS Payload or Scripts member).
#[track_caller]
pub fn cpio_listing(gz_cpio: &Path) -> Vec<CpioEntry> {
    let gz = std::fs::read(gz_cpio).unwrap_or_else(|e| panic!("{}: {e}", gz_cpio.display()));
    parse_cpio_listing(&pipe("gunzip -c | cpio -itv --numeric-uid-gid --quiet", &gz, Path::new("/")))
}

/// Parses what `cpio -itv --numeric-uid-gid` prints.
pub fn parse_cpio_listing(listing: &str) -> Vec<CpioEntry> {
    listing
        .lines()
        .map(|line| {
            // -rwxr-xr-x   1 0        0         4586432 Nov 14  2023 ./name with spaces[ -> target]
            let (f, name_part) = fields(line, 8);
            let (name, link) = match name_part.split_once(" -> ") {
                Some((n, l)) => (n.to_string(), Some(l.to_string())),
                None => (name_part.to_string(), None),
            };
            let num = |s: &str| s.parse().unwrap_or_else(|_| panic!("`{s}` is not a number in `{line}`"));
            CpioEntry {
                name,
                mode: f[0].to_string(),
                uid: num(f[2]) as u32,
                gid: num(f[3]) as u32,
                size: num(f[4]),
                link,
            }
        })
        .collect()
}

/// The first `n` whitespace-separated fields of `line` and the rest (which
/// may hold spaces, like a file name).
#[track_caller]
pub fn fields(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut out = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest
            .find(char::is_whitespace)
            .unwrap_or_else(|| panic!("short line `{line}`"));
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    (out, rest.strip_prefix(' ').unwrap_or(rest))
}

/// `st_mode` bits as `ls -l` prints them: 0o040755 -> `drwxr-xr-x` (no
/// setuid, setgid or sticky bit: we ship none).
pub fn ls_mode(mode: u32) -> String {
    let kind = match mode & S_IFMT {
        S_IFDIR => 'd',
        S_IFLNK => 'l',
        _ => '-',
    };
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// The inverse of [`ls_mode`]: `drwxr-xr-x` -> 0o040755.
#[track_caller]
pub fn st_mode(s: &str) -> u32 {
    let kind = match s.as_bytes()[0] {
        b'd' => S_IFDIR,
        b'-' => S_IFREG,
        b'l' => S_IFLNK,
        other => panic!("unexpected file type `{}` in `{s}`", other as char),
    };
    s[1..].bytes().fold(0, |acc, c| (acc << 1) | u32::from(c != b'-')) | kind
}

/// The member paths of `7zz l -slt` output, in order: the archive itself
/// and a XAR's `[TOC].xml` left out.
pub fn sevenzip_paths(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter_map(|l| l.strip_prefix("Path = "))
        .skip(1) // the archive itself
        .filter(|p| *p != "[TOC].xml")
        .collect()
}

/// `bsdtar -tf archive`: the member names in order, directories without
/// their trailing `/`.
#[track_caller]
pub fn bsdtar_names(archive: &Path) -> Vec<String> {
    ok(tool("bsdtar").arg("-tf").arg(archive))
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

/// coreutils `cksum` of `data`: the CRC mkbom records per file.
#[track_caller]
pub fn cksum(data: &[u8]) -> u32 {
    let out = run_with_input(&mut tool("cksum"), data);
    assert!(out.status.success(), "cksum failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("cksum printed {}", text(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_lines_parse_with_spaces_and_links() {
        let l = parse_cpio_listing(
            "drwxr-xr-x   4 0        0               0 Nov 14  2023 .\n\
             -rwxr-xr-x   1 0        0         4586432 Nov 14  2023 ./a name\n\
             lrwxr-xr-x   1 0        80             12 Nov 14  2023 ./l -> /x y\n",
        );
        assert_eq!(l.len(), 3);
        assert_eq!((l[1].name.as_str(), l[1].size, l[1].st_mode()), ("./a name", 4586432, 0o100_755));
        assert_eq!((l[2].gid, l[2].link.as_deref(), l[2].st_mode()), (80, Some("/x y"), 0o120_755));
    }

    #[test]
    fn ls_mode_round_trips() {
        for m in [0o040_755, 0o100_644, 0o100_600, 0o120_777, 0o040_750] {
            assert_eq!(st_mode(&ls_mode(m)), m);
        }
    }
}
