//! The yum/dnf repository: packages/ and repodata/ (primary, filelists,
//! other, repomd.xml signed as repomd.xml.asc).
//!
//! The metadata is what createrepo_c 0.17 writes for the same directory
//! with `--no-database` and unique file names (the default), except that
//! timestamps and the revision come from [`YumOptions::date`] instead of the
//! clock, so the output is reproducible.

mod deps;
mod package;
mod xml;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::{write_atomic, RepoError};
use crate::sign::Signer;

use package::Package;
pub use package::RpmError;

#[derive(Debug, Clone)]
pub struct YumOptions {
    /// Seconds since the epoch for repomd `revision` and timestamps.
    pub date: u64,
}

#[derive(Debug)]
pub struct YumSummary {
    /// Every package in the repository after publishing, relative to its root.
    pub packages: Vec<PathBuf>,
    /// The packages this call copied in (the others were there already).
    pub added: Vec<PathBuf>,
    /// `repodata/repomd.xml`'s revision.
    pub revision: u64,
}

const POOL: &str = "packages";
const REPODATA: &str = "repodata";

/// Adds `rpms` to the yum repository rooted at `dir`, then regenerates the
/// repodata from every rpm in it and signs repomd.xml.
pub fn publish(dir: &Path, rpms: &[PathBuf], signer: &dyn Signer, opts: &YumOptions) -> Result<YumSummary, RepoError> {
    let added = add_to_pool(dir, rpms)?;
    let pkgs = scan_pool(dir)?;
    for p in pkgs.iter().filter(|p| !p.signed) {
        tracing::warn!(
            "{}: the package has no OpenPGP signature; clients with gpgcheck=1 will refuse it",
            p.href
        );
    }
    write_repodata(dir, &pkgs, signer, opts.date)?;
    Ok(YumSummary {
        packages: pkgs.iter().map(|p| PathBuf::from(&p.href)).collect(),
        added,
        revision: opts.date,
    })
}

/// An input checked and read, ready to be copied.
struct Incoming {
    source: PathBuf,
    file_name: String,
    bytes: Vec<u8>,
    build_time: u64,
}

/// Copies the inputs into packages/. Everything is checked before anything
/// is copied, so a bad input leaves the pool as it was.
fn add_to_pool(dir: &Path, rpms: &[PathBuf]) -> Result<Vec<PathBuf>, RepoError> {
    let pool = dir.join(POOL);
    let mut incoming: Vec<Incoming> = Vec::new();
    for source in rpms {
        let inc = read_incoming(source)?;
        if let Some(prev) = incoming.iter().find(|i| i.file_name == inc.file_name) {
            if prev.bytes != inc.bytes {
                return Err(pkg_err(
                    source,
                    format!("same file name as {} but different contents", prev.source.display()),
                ));
            }
            continue;
        }
        if let Some(existing) = read_if_exists(&pool.join(&inc.file_name))? {
            if existing != inc.bytes {
                return Err(changed_err(&pool.join(&inc.file_name), source));
            }
        }
        incoming.push(inc);
    }
    std::fs::create_dir_all(&pool).map_err(RepoError::io(&pool))?;
    let mut added = Vec::new();
    for inc in &incoming {
        if copy_new(&pool, inc)? {
            added.push(Path::new(POOL).join(&inc.file_name));
        }
    }
    Ok(added)
}

fn read_incoming(source: &Path) -> Result<Incoming, RepoError> {
    let file_name = source
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(".rpm") && !n.starts_with('.'))
        .ok_or_else(|| pkg_err(source, "not an .rpm file name (the repository only lists *.rpm)".into()))?
        .to_string();
    let bytes = std::fs::read(source).map_err(RepoError::io(source))?;
    let p = package::read(&bytes, format!("{POOL}/{file_name}"), 0).map_err(rpm_err(source))?;
    Ok(Incoming {
        source: source.to_path_buf(),
        file_name,
        bytes,
        build_time: p.time_build,
    })
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, RepoError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RepoError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Copies one package under its final name without ever replacing a file:
/// the bytes go to a temporary file that is then hard-linked into place,
/// which fails if the name was taken meanwhile. Returns false when an
/// identical file was already there.
///
/// The copy's mtime is set to the package's build time: createrepo_c
/// reports the mtime as `<time file=…>`, and a fixed value keeps that field
/// reproducible.
fn copy_new(pool: &Path, inc: &Incoming) -> Result<bool, RepoError> {
    let dest = pool.join(&inc.file_name);
    match read_if_exists(&dest)? {
        Some(existing) if existing == inc.bytes => return Ok(false),
        Some(_) => return Err(changed_err(&dest, &inc.source)),
        None => {}
    }
    let tmp = pool.join(format!(".{}.tmp", inc.file_name));
    write_tmp(&tmp, &inc.bytes, inc.build_time)?;
    let linked = std::fs::hard_link(&tmp, &dest);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_if_exists(&dest)? {
            Some(existing) if existing == inc.bytes => Ok(false),
            _ => Err(changed_err(&dest, &inc.source)),
        },
        Err(e) => Err(RepoError::Io { path: dest, source: e }),
    }
}

fn write_tmp(tmp: &Path, bytes: &[u8], mtime: u64) -> Result<(), RepoError> {
    let mut f = std::fs::File::create(tmp).map_err(RepoError::io(tmp))?;
    f.write_all(bytes).map_err(RepoError::io(tmp))?;
    if mtime > 0 {
        f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
            .map_err(RepoError::io(tmp))?;
    }
    f.sync_all().map_err(RepoError::io(tmp))
}

/// Reads every .rpm under packages/, in createrepo_c's order: by file name,
/// then by directory.
fn scan_pool(dir: &Path) -> Result<Vec<Package>, RepoError> {
    let mut found = Vec::new();
    walk(&dir.join(POOL), Path::new(POOL), &mut found)?;
    found.sort_by(|a: &PathBuf, b: &PathBuf| (a.file_name(), a.parent()).cmp(&(b.file_name(), b.parent())));
    found.iter().map(|rel| read_pooled(dir, rel)).collect()
}

fn walk(abs: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> Result<(), RepoError> {
    let entries = match std::fs::read_dir(abs) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel == Path::new(POOL) => return Ok(()),
        Err(e) => {
            return Err(RepoError::Io {
                path: abs.to_path_buf(),
                source: e,
            })
        }
    };
    for entry in entries {
        let entry = entry.map_err(RepoError::io(abs))?;
        let path = entry.path();
        // Follows symlinks, as createrepo_c does.
        let meta = std::fs::metadata(&path).map_err(RepoError::io(&path))?;
        let name = entry.file_name();
        if meta.is_dir() {
            walk(&path, &rel.join(&name), found)?;
        } else if meta.is_file() && name.to_str().is_some_and(|n| n.ends_with(".rpm")) {
            found.push(rel.join(&name));
        }
    }
    Ok(())
}

fn read_pooled(dir: &Path, rel: &Path) -> Result<Package, RepoError> {
    let path = dir.join(rel);
    let href = rel
        .to_str()
        .ok_or_else(|| pkg_err(&path, "file name is not UTF-8".into()))?
        .replace(std::path::MAIN_SEPARATOR, "/");
    let bytes = std::fs::read(&path).map_err(RepoError::io(&path))?;
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(RepoError::io(&path))?
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    package::read(&bytes, href, mtime).map_err(rpm_err(&path))
}

/// Writes the three data files under content-addressed names, then the key,
/// the signature and repomd.xml, then removes data files the new repomd.xml
/// no longer names. A client reading concurrently sees either the old or
/// the new repomd.xml, and the files either names exist.
fn write_repodata(dir: &Path, pkgs: &[Package], signer: &dyn Signer, date: u64) -> Result<(), RepoError> {
    let repodata = dir.join(REPODATA);
    let mut records = Vec::new();
    for (kind, doc) in [
        ("primary", xml::primary(pkgs)),
        ("filelists", xml::filelists(pkgs)),
        ("other", xml::other(pkgs)),
    ] {
        records.push(write_data_file(&repodata, kind, doc.as_bytes(), date)?);
    }
    let repomd = xml::repomd(date, &records);
    let signature = signer.sign_detached(repomd.as_bytes())?;
    write_atomic(&repodata.join("repomd.xml.key"), signer.public_key_armored().as_bytes())?;
    write_atomic(&repodata.join("repomd.xml.asc"), signature.as_bytes())?;
    write_atomic(&repodata.join("repomd.xml"), repomd.as_bytes())?;
    let keep: HashSet<String> = records
        .iter()
        .map(|r| r.href.trim_start_matches("repodata/").to_string())
        .collect();
    remove_stale(&repodata, &keep)
}

fn write_data_file(repodata: &Path, kind: &'static str, doc: &[u8], date: u64) -> Result<xml::Record, RepoError> {
    let gz = crate::compress::gzip_n(doc).map_err(RepoError::io(repodata))?;
    let checksum = hex::encode(Sha256::digest(&gz));
    let name = format!("{checksum}-{kind}.xml.gz");
    write_atomic(&repodata.join(&name), &gz)?;
    Ok(xml::Record {
        kind,
        checksum,
        open_checksum: hex::encode(Sha256::digest(doc)),
        href: format!("{REPODATA}/{name}"),
        timestamp: date,
        size: gz.len() as u64,
        open_size: doc.len() as u64,
    })
}

/// Removes `<sha256>-*` files (ours or createrepo_c's) that repomd.xml no
/// longer names; other files in repodata/ are left alone.
fn remove_stale(repodata: &Path, keep: &HashSet<String>) -> Result<(), RepoError> {
    let entries = std::fs::read_dir(repodata).map_err(RepoError::io(repodata))?;
    for entry in entries {
        let entry = entry.map_err(RepoError::io(repodata))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if keep.contains(&name) || !is_content_addressed(&name) {
            continue;
        }
        let path = entry.path();
        std::fs::remove_file(&path).map_err(RepoError::io(&path))?;
        tracing::info!("removed stale {}", path.display());
    }
    Ok(())
}

fn is_content_addressed(name: &str) -> bool {
    name.len() > 65 && name.as_bytes()[64] == b'-' && name.as_bytes()[..64].iter().all(|b| b.is_ascii_hexdigit())
}

fn pkg_err(path: &Path, reason: String) -> RepoError {
    RepoError::Package {
        path: path.to_path_buf(),
        reason,
    }
}

fn rpm_err(path: &Path) -> impl FnOnce(RpmError) -> RepoError + '_ {
    move |source| RepoError::Rpm { path: path.to_path_buf(), source }
}

fn changed_err(dest: &Path, source: &Path) -> RepoError {
    pkg_err(
        dest,
        format!(
            "already published with different contents than {}; a published package never changes, so give the new build a new version or release",
            source.display()
        ),
    )
}
