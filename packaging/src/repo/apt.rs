//! The apt repository: pool/, dists/<suite>/{InRelease,Release,Release.gpg},
//! dists/<suite>/<component>/binary-<arch>/Packages(.xz).
//!
//! The pool is append-only: a file, once published, never changes, and every
//! .deb in it stays listed. Each publish regenerates all indices from the
//! pool, signs them before touching the published ones, and replaces the
//! Release last so a client never sees a Release that lists files not yet
//! written.

mod control;
mod debfile;
mod index;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use sha2::Sha256;

use super::{write_atomic, RepoError};
use crate::sign::Signer;
use debfile::DebFile;
pub use control::ControlError;
pub use debfile::{ControlTarError, DebError};
use index::{IndexFile, PoolEntry};

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
    /// The packages this call copied into the pool (the others were already
    /// there, byte for byte).
    pub added: Vec<PathBuf>,
    /// The architectures the suite now has indices for.
    pub architectures: Vec<String>,
}

/// xz preset for Packages.xz (dpkg's and apt-ftparchive's default).
const XZ_PRESET: u32 = 6;

/// Adds `debs` to the apt repository rooted at `dir`, then regenerates and
/// signs the indices from every .deb in its pool.
pub fn publish(dir: &Path, debs: &[PathBuf], signer: &dyn Signer, opts: &AptOptions) -> Result<AptSummary, RepoError> {
    check_options(dir, opts)?;
    let mut pool = scan_pool(dir)?;
    check_unique(dir, &pool)?;
    let added = add_to_pool(dir, debs, &opts.component, &mut pool)?;
    pool.sort_by(|a, b| listing_order(&a.deb, &b.deb).then_with(|| a.filename.cmp(&b.filename)));

    let archs = architectures(&pool);
    if archs.is_empty() {
        return Err(RepoError::Package {
            path: dir.join("pool"),
            reason: "nothing to publish: the pool has no .deb and none was given".into(),
        });
    }
    let components: Vec<String> = pool
        .iter()
        .filter_map(|e| component_of(&e.filename))
        .chain([opts.component.as_str()])
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let suite_dir = dir.join("dists").join(&opts.suite);
    let indices = render_indices(&suite_dir, opts, &pool, &components, &archs)?;
    let listed: Vec<IndexFile> = indices.iter().map(|(path, bytes)| index_file(path, bytes)).collect();
    let release = index::release(opts, &archs, &components, &listed);
    // Sign before writing anything: a signer that fails must leave the
    // published indices consistent with the published Release.
    let detached = signer.sign_detached(release.as_bytes())?;
    // The line break before the signature armour belongs to the armour, so
    // signing the text without its final newline gives the InRelease gpg
    // --clearsign and the Debian archive produce: Release's text, then the
    // signature, with no blank line between.
    let inline = signer.sign_cleartext(release.strip_suffix('\n').unwrap_or(&release))?;

    for (path, bytes) in &indices {
        write_atomic(&suite_dir.join(path), bytes)?;
    }
    write_atomic(&suite_dir.join("Release.gpg"), detached.as_bytes())?;
    write_atomic(&suite_dir.join("InRelease"), inline.as_bytes())?;
    write_atomic(&suite_dir.join("Release"), release.as_bytes())?;
    tracing::info!(repo = %dir.display(), suite = %opts.suite, packages = pool.len(), added = added.len(), "apt repository published");

    Ok(AptSummary {
        packages: pool.iter().map(|e| PathBuf::from(&e.filename)).collect(),
        added: added.into_iter().map(PathBuf::from).collect(),
        architectures: archs,
    })
}

fn bad(path: impl Into<PathBuf>, reason: impl Into<String>) -> RepoError {
    RepoError::Package {
        path: path.into(),
        reason: reason.into(),
    }
}

fn deb_err(path: &Path) -> impl FnOnce(DebError) -> RepoError + '_ {
    move |source| RepoError::Deb { path: path.to_path_buf(), source }
}

/// Suite and component become directory names and Release fields; the other
/// options become Release fields, where a newline would forge a field.
fn check_options(dir: &Path, opts: &AptOptions) -> Result<(), RepoError> {
    for (what, value) in [("suite", &opts.suite), ("component", &opts.component)] {
        if !valid_segment(value) {
            return Err(bad(
                dir,
                format!("apt {what} `{value}` must be letters, digits, `.`, `_`, `+`, `-`, starting with a letter or digit"),
            ));
        }
    }
    for (what, value) in [
        ("origin", &opts.origin),
        ("label", &opts.label),
        ("description", &opts.description),
    ] {
        if value.contains(['\n', '\r']) || value.trim() != value.as_str() {
            return Err(bad(
                dir,
                format!("apt {what} `{value}` must be one line without leading or trailing spaces"),
            ));
        }
    }
    Ok(())
}

fn valid_segment(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// `pool/<component>/...` → `<component>`.
fn component_of(filename: &str) -> Option<&str> {
    let mut parts = filename.split('/');
    parts.next().filter(|p| *p == "pool")?;
    parts.next()
}

/// Debian's pool prefix: `libf` for `libfoo`, else the first letter.
fn pool_prefix(source: &str) -> &str {
    let n = if source.len() > 3 && source.starts_with("lib") { 4 } else { 1 };
    // Package names are ASCII (checked when the control file is read).
    source.get(..n).unwrap_or(source)
}

/// Every .deb under `dir/pool`, read and hashed, in path order.
fn scan_pool(dir: &Path) -> Result<Vec<PoolEntry>, RepoError> {
    let mut files = Vec::new();
    let pool = dir.join("pool");
    if pool.is_dir() {
        collect_debs(&pool, &mut files)?;
    }
    files.sort();
    let mut entries = Vec::with_capacity(files.len());
    for path in files {
        let filename = relative_name(dir, &path)?;
        match component_of(&filename) {
            Some(c) if valid_segment(c) && filename.matches('/').count() >= 2 => {}
            _ => return Err(bad(&path, "a .deb in the pool must be under pool/<component>/")),
        }
        let file = std::fs::File::open(&path).map_err(RepoError::io(&path))?;
        let deb = DebFile::read(&mut std::io::BufReader::new(file)).map_err(deb_err(&path))?;
        entries.push(PoolEntry { filename, deb });
    }
    Ok(entries)
}

/// Recursively lists `*.deb` files, skipping hidden names (write_atomic's
/// temporary files start with a dot).
fn collect_debs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), RepoError> {
    for entry in std::fs::read_dir(dir).map_err(RepoError::io(dir))? {
        let entry = entry.map_err(RepoError::io(dir))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(RepoError::io(&path))?;
        if meta.is_dir() {
            collect_debs(&path, out)?;
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "deb") {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `dir`, '/'-separated as `Filename:` wants it.
fn relative_name(dir: &Path, path: &Path) -> Result<String, RepoError> {
    let rel = path
        .strip_prefix(dir)
        .map_err(|_| bad(path, "not under the repository root"))?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let parts = parts.ok_or_else(|| bad(path, "the file name is not UTF-8"))?;
    Ok(parts.join("/"))
}

/// The order stanzas are listed in: name, then dpkg version order, then the
/// version text and architecture so equal-ranking versions still sort stably.
fn listing_order(a: &DebFile, b: &DebFile) -> std::cmp::Ordering {
    a.package
        .cmp(&b.package)
        .then_with(|| control::compare_versions(&a.version, &b.version))
        .then_with(|| a.version.cmp(&b.version))
        .then_with(|| a.arch.cmp(&b.arch))
}

/// Two files for one package version and architecture would let apt pick
/// either; a version published once must keep meaning one file.
fn check_unique(dir: &Path, pool: &[PoolEntry]) -> Result<(), RepoError> {
    for (i, a) in pool.iter().enumerate() {
        if let Some(b) = pool[..i].iter().find(|b| same_version(&a.deb, &b.deb)) {
            return Err(bad(
                dir.join(&a.filename),
                format!(
                    "{} {} ({}) is also published as {}; remove one of them",
                    a.deb.package, a.deb.version, a.deb.arch, b.filename
                ),
            ));
        }
    }
    Ok(())
}

fn same_version(a: &DebFile, b: &DebFile) -> bool {
    a.package == b.package && a.version == b.version && a.arch == b.arch
}

/// Validates every input first, then copies the new ones, so a bad input
/// adds nothing. Returns the pool names of the files copied.
fn add_to_pool(dir: &Path, debs: &[PathBuf], component: &str, pool: &mut Vec<PoolEntry>) -> Result<Vec<String>, RepoError> {
    let mut pending: Vec<(PoolEntry, Vec<u8>)> = Vec::new();
    for src in debs {
        let bytes = std::fs::read(src).map_err(RepoError::io(src))?;
        let deb = DebFile::read(&mut Cursor::new(&bytes)).map_err(deb_err(src))?;
        let name = input_file_name(src)?;
        let filename = format!("pool/{component}/{}/{}/{name}", pool_prefix(&deb.source), deb.source);
        let entry = PoolEntry { filename, deb };
        let known = pool.iter().chain(pending.iter().map(|(e, _)| e));
        if let Some(same_name) = known.clone().find(|e| e.filename == entry.filename) {
            if same_name.deb.sha256 == entry.deb.sha256 && same_name.deb.size == entry.deb.size {
                tracing::debug!(file = %entry.filename, "already in the pool");
                continue;
            }
            let reason = format!(
                "{} is already published with different contents; a published file never changes, so give the package a new version",
                entry.filename
            );
            return Err(bad(src, reason));
        }
        if let Some(other) = known.clone().find(|e| same_version(&e.deb, &entry.deb)) {
            let d = &entry.deb;
            let reason = format!(
                "{} {} ({}) is already published as {}; a published version never changes",
                d.package, d.version, d.arch, other.filename
            );
            return Err(bad(src, reason));
        }
        pending.push((entry, bytes));
    }
    let mut added = Vec::with_capacity(pending.len());
    for (entry, bytes) in pending {
        write_atomic(&dir.join(&entry.filename), &bytes)?;
        tracing::info!(file = %entry.filename, "added to the pool");
        added.push(entry.filename.clone());
        pool.push(entry);
    }
    Ok(added)
}

/// The input's own file name, which the pool keeps; it must be a visible
/// `.deb` name that fits in a `Filename:` line and a URL path.
fn input_file_name(src: &Path) -> Result<&str, RepoError> {
    let name = src
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad(src, "the file name is not UTF-8"))?;
    let ok = name.ends_with(".deb")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'~' | b'%'));
    if !ok {
        return Err(bad(
            src,
            "a package file name must end in .deb and use only letters, digits and `._+-~%`",
        ));
    }
    Ok(name)
}

/// Architectures with indices: every concrete one in the pool. `all`
/// packages are listed in each, so apt never needs a binary-all index,
/// except when the pool has nothing else.
fn architectures(pool: &[PoolEntry]) -> Vec<String> {
    let concrete: BTreeSet<&str> = pool.iter().map(|e| e.deb.arch.as_str()).filter(|a| *a != "all").collect();
    if concrete.is_empty() && !pool.is_empty() {
        return vec!["all".into()];
    }
    concrete.into_iter().map(str::to_string).collect()
}

/// Every index under the suite as (path relative to `dists/<suite>/`, bytes),
/// sorted by path, which is also the order Release lists them in.
fn render_indices(
    suite_dir: &Path,
    opts: &AptOptions,
    pool: &[PoolEntry],
    components: &[String],
    archs: &[String],
) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
    let mut out = Vec::new();
    for component in components {
        for arch in archs {
            let listed = pool
                .iter()
                .filter(|e| component_of(&e.filename) == Some(component.as_str()))
                .filter(|e| e.deb.arch == *arch || e.deb.arch == "all");
            let packages = index::packages(listed).into_bytes();
            let base = format!("{component}/binary-{arch}");
            let xz_path = format!("{base}/Packages.xz");
            let xz = crate::compress::xz(&packages, XZ_PRESET).map_err(RepoError::io(suite_dir.join(&xz_path)))?;
            out.push((format!("{base}/Packages"), packages));
            out.push((xz_path, xz));
            out.push((
                format!("{base}/Release"),
                index::arch_release(opts, component, arch).into_bytes(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn index_file(path: &str, bytes: &[u8]) -> IndexFile {
    IndexFile {
        path: path.to_string(),
        size: bytes.len() as u64,
        md5: hex::encode(Md5::digest(bytes)),
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_prefix_follows_debian() {
        assert_eq!(pool_prefix("outpost"), "o");
        assert_eq!(pool_prefix("libfoo"), "libf");
        assert_eq!(pool_prefix("lib"), "l");
        assert_eq!(pool_prefix("libc6"), "libc");
    }

    #[test]
    fn options_that_would_escape_or_forge_are_refused() {
        let base = || AptOptions {
            suite: "stable".into(),
            component: "main".into(),
            origin: "O".into(),
            label: "L".into(),
            description: "D".into(),
            date: 0,
        };
        assert!(check_options(Path::new("/r"), &base()).is_ok());
        for opts in [
            AptOptions {
                suite: "../x".into(),
                ..base()
            },
            AptOptions {
                component: "main/x".into(),
                ..base()
            },
            AptOptions {
                component: "".into(),
                ..base()
            },
            AptOptions {
                label: "L\nSHA256:".into(),
                ..base()
            },
        ] {
            assert!(check_options(Path::new("/r"), &opts).is_err());
        }
    }

    #[test]
    fn component_comes_from_the_pool_path() {
        assert_eq!(component_of("pool/main/o/outpost/x.deb"), Some("main"));
        assert_eq!(component_of("other/main/x.deb"), None);
    }
}
