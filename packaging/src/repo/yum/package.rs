//! One .rpm read into what the three metadata files say about it, with the
//! values createrepo_c derives (reference: createrepo_c 0.17 `parsepkg.c`,
//! `parsehdr.c`, `misc.c`).

use std::collections::HashSet;

use rpm::{FileFlags, IndexSignatureTag, IndexTag, PackageMetadata};
use sha2::{Digest, Sha256};

use super::deps::{self, Deps};

/// Why an .rpm cannot be listed; the caller adds the path.
#[derive(Debug, thiserror::Error)]
pub enum RpmError {
    #[error("not an rpm package (no rpm lead magic at the start of the file)")]
    NotRpm,
    #[error("unreadable rpm header: {0}")]
    Header(#[from] rpm::Error),
    #[error("truncated rpm: the header ends early")]
    HeaderEndsEarly,
    #[error("rpm signature header too large")]
    SignatureTooLarge,
    #[error("truncated rpm: the header ends at byte {end}, the file at {len}")]
    Truncated { end: u64, len: usize },
    /// createrepo_c refuses these: XML 1.0 cannot carry them.
    #[error("control character in header text {text:?}: XML cannot carry it")]
    ControlChar { text: String },
}

/// The rpm lead starts with these bytes; anything else is not a package.
const RPM_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
/// createrepo_c's default `--changelog-limit`: the newest entries only.
const CHANGELOG_LIMIT: usize = 10;

#[derive(Debug)]
pub struct Package {
    /// `packages/<file>`, relative to the repository root.
    pub href: String,
    /// sha256 of the whole file, hex.
    pub pkgid: String,
    pub name: String,
    pub arch: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    pub summary: String,
    pub description: String,
    pub packager: String,
    pub url: String,
    /// The file's mtime, as createrepo_c reports it.
    pub time_file: u64,
    pub time_build: u64,
    pub size_package: u64,
    pub size_installed: u64,
    pub size_archive: u64,
    pub license: String,
    pub vendor: String,
    pub group: String,
    pub buildhost: String,
    pub sourcerpm: String,
    pub header_start: u64,
    pub header_end: u64,
    pub deps: Deps,
    pub files: Vec<File>,
    /// Oldest first, as createrepo_c writes them.
    pub changelogs: Vec<Changelog>,
    /// Whether the signature header holds a header signature (checked by
    /// clients, not here).
    pub signed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Ghost,
}

#[derive(Debug)]
pub struct File {
    pub path: String,
    pub kind: FileKind,
}

#[derive(Debug)]
pub struct Changelog {
    pub author: String,
    pub date: u64,
    pub text: String,
}

/// Parses `bytes` (the whole .rpm). Errors are reasons; the caller adds the
/// path.
pub fn read(bytes: &[u8], href: String, time_file: u64) -> Result<Package, RpmError> {
    if bytes.len() < RPM_MAGIC.len() || bytes[..4] != RPM_MAGIC {
        return Err(RpmError::NotRpm);
    }
    let meta = PackageMetadata::parse(&mut &bytes[..])?;
    let (header_start, header_end) = header_range(bytes)?;
    let p = from_metadata(&meta, href, time_file)?;
    let p = Package {
        pkgid: hex::encode(Sha256::digest(bytes)),
        size_package: bytes.len() as u64,
        header_start,
        header_end,
        ..p
    };
    check_control_chars(&p)?;
    Ok(p)
}

fn from_metadata(meta: &PackageMetadata, href: String, time_file: u64) -> Result<Package, rpm::Error> {
    let h = &meta.header;
    let text = |tag: IndexTag| optional(h.get_entry_data_as_string(tag)).map(|s| s.unwrap_or_default().to_string());
    let i18n = |tag: IndexTag| optional(h.get_entry_data_as_i18n_string(tag)).map(|s| s.unwrap_or_default().to_string());
    let source = optional(h.get_entry_data_as_u32(IndexTag::RPMTAG_SOURCEPACKAGE))?.is_some_and(|v| v != 0);
    let name = meta.get_name()?.to_string();
    let arch = if source {
        "src".to_string()
    } else {
        meta.get_arch()?.to_string()
    };
    let (version, release) = (meta.get_version()?.to_string(), meta.get_release()?.to_string());
    let epoch = optional(meta.get_epoch())?.unwrap_or(0);
    let nevra = format!("{name}-{epoch}:{version}-{release}.{arch}");
    let files = files(meta)?;
    let paths: HashSet<String> = files.iter().map(|f| f.path.clone()).collect();
    Ok(Package {
        href,
        pkgid: String::new(),
        summary: i18n(IndexTag::RPMTAG_SUMMARY)?,
        description: i18n(IndexTag::RPMTAG_DESCRIPTION)?,
        packager: text(IndexTag::RPMTAG_PACKAGER)?,
        url: text(IndexTag::RPMTAG_URL)?,
        time_file,
        time_build: optional(meta.get_build_time())?.unwrap_or(0),
        size_package: 0,
        size_installed: optional(meta.get_installed_size())?.unwrap_or(0),
        size_archive: archive_size(meta)?,
        license: text(IndexTag::RPMTAG_LICENSE)?,
        vendor: text(IndexTag::RPMTAG_VENDOR)?,
        group: i18n(IndexTag::RPMTAG_GROUP)?,
        buildhost: text(IndexTag::RPMTAG_BUILDHOST)?,
        sourcerpm: text(IndexTag::RPMTAG_SOURCERPM)?,
        header_start: 0,
        header_end: 0,
        deps: deps::collect(meta, &paths, &nevra)?,
        files,
        changelogs: changelogs(meta)?,
        signed: meta.raw_signatures().is_ok_and(|s| !s.is_empty()),
        name,
        arch,
        epoch,
        version,
        release,
    })
}

/// A missing tag is `None`; any other failure (bad UTF-8, wrong type) stays
/// an error.
fn optional<T>(r: Result<T, rpm::Error>) -> Result<Option<T>, rpm::Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rpm::Error::TagNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Uncompressed payload size. rpm merges the legacy signature-header tags
/// into the main header only where the main header lacks them, and reads the
/// 64-bit tag before the 32-bit one; createrepo_c gets 0 when none exists.
fn archive_size(meta: &PackageMetadata) -> Result<u64, rpm::Error> {
    let (h, s) = (&meta.header, &meta.signature);
    let candidates = [
        optional(h.get_entry_data_as_u64(IndexTag::RPMTAG_LONGARCHIVESIZE))?,
        optional(s.get_entry_data_as_u64(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE))?,
        optional(h.get_entry_data_as_u32(IndexTag::RPMTAG_ARCHIVESIZE))?.map(u64::from),
        optional(s.get_entry_data_as_u32(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE))?.map(u64::from),
    ];
    Ok(candidates.into_iter().flatten().next().unwrap_or(0))
}

/// Every path in header order. A directory is "dir" even when it is also a
/// ghost.
fn files(meta: &PackageMetadata) -> Result<Vec<File>, rpm::Error> {
    const S_IFMT: u16 = 0o170000;
    const S_IFDIR: u16 = 0o040000;
    let entries = meta.get_file_entries()?;
    Ok(entries
        .iter()
        .map(|e| {
            let kind = if e.mode().raw_mode() & S_IFMT == S_IFDIR {
                FileKind::Dir
            } else if e.flags().contains(FileFlags::GHOST) {
                FileKind::Ghost
            } else {
                FileKind::File
            };
            File {
                path: format!("{}{}", e.dirname(), e.basename()),
                kind,
            }
        })
        .collect())
}

/// The newest `CHANGELOG_LIMIT` entries, written oldest first. Entries that
/// share a timestamp get their older neighbours' dates bumped by a second
/// each, as createrepo_c does, so dnf sees distinct dates.
fn changelogs(meta: &PackageMetadata) -> Result<Vec<Changelog>, rpm::Error> {
    let mut out: Vec<Changelog> = Vec::new();
    let mut last_time = 0u64;
    for e in meta.get_changelog_entries()?.into_iter().take(CHANGELOG_LIMIT) {
        let time = e.timestamp;
        out.push(Changelog {
            author: trim_author(&e.name),
            date: time,
            text: e.description,
        });
        if last_time == time {
            // Walk back over the entries read before this one while each
            // holds the date the bump before it would collide with.
            for (t, prev) in (time..).zip(out.iter_mut().rev().skip(1)) {
                if prev.date != t {
                    break;
                }
                prev.date += 1;
            }
        } else {
            last_time = time;
        }
    }
    out.reverse();
    Ok(out)
}

/// Trailing spaces go; createrepo_c never strips the first character.
fn trim_author(name: &str) -> String {
    match name.char_indices().next() {
        Some((_, c)) => {
            let first = c.len_utf8();
            format!("{}{}", &name[..first], name[first..].trim_end_matches(' '))
        }
        None => String::new(),
    }
}

/// Byte range of the main header, computed from the raw file as
/// createrepo_c does: lead (96) + signature header (16 + 16·n + data, padded
/// to 8) gives the start; the header's own index and data sizes give the end.
fn header_range(bytes: &[u8]) -> Result<(u64, u64), RpmError> {
    let be32 = |at: usize| -> Result<u64, RpmError> {
        bytes
            .get(at..at + 4)
            .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            .ok_or(RpmError::HeaderEndsEarly)
    };
    let sig_size = be32(104)? * 16 + be32(108)?;
    let start = 112 + sig_size + (8 - sig_size % 8) % 8;
    let at = usize::try_from(start).map_err(|_| RpmError::SignatureTooLarge)?;
    let end = start + 16 + be32(at + 8)? * 16 + be32(at + 12)?;
    if end > bytes.len() as u64 {
        return Err(RpmError::Truncated { end, len: bytes.len() });
    }
    Ok((start, end))
}

/// createrepo_c refuses packages with control characters other than tab,
/// newline and carriage return: XML 1.0 cannot carry them.
fn check_control_chars(p: &Package) -> Result<(), RpmError> {
    let bad = |s: &str| s.chars().any(|c| (c as u32) < 32 && !matches!(c, '\t' | '\n' | '\r'));
    let d = &p.deps;
    let fields = [
        &p.name,
        &p.arch,
        &p.version,
        &p.release,
        &p.summary,
        &p.description,
        &p.url,
        &p.license,
        &p.vendor,
        &p.group,
        &p.buildhost,
        &p.sourcerpm,
        &p.packager,
        &p.href,
    ];
    let dep_lists = [
        &d.provides,
        &d.requires,
        &d.conflicts,
        &d.obsoletes,
        &d.suggests,
        &d.enhances,
        &d.recommends,
        &d.supplements,
    ];
    let dep_texts = dep_lists.iter().flat_map(|l| l.iter()).flat_map(|d| {
        [Some(&d.name), d.epoch.as_ref(), d.ver.as_ref(), d.rel.as_ref()]
            .into_iter()
            .flatten()
    });
    let file_texts = p.files.iter().map(|f| &f.path);
    let log_texts = p.changelogs.iter().flat_map(|c| [&c.author, &c.text]);
    match fields
        .into_iter()
        .chain(dep_texts)
        .chain(file_texts)
        .chain(log_texts)
        .find(|s| bad(s))
    {
        Some(s) => Err(RpmError::ControlChar { text: s.clone() }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_trim_keeps_first_char() {
        assert_eq!(trim_author("Jo Bloggs  "), "Jo Bloggs");
        assert_eq!(trim_author(" "), " ");
        assert_eq!(trim_author(""), "");
    }

    #[test]
    fn not_an_rpm() {
        let e = read(b"hello world, definitely not an rpm", "packages/x.rpm".into(), 0).unwrap_err().to_string();
        assert!(e.contains("not an rpm"), "{e}");
    }
}
