//! Client resources (modules, providers): kept by name and version under the
//! state directory, `resources/<name>/<version>/<name>`, and not downloaded
//! again while a copy with the instruction's SHA-256 is there. The hash is
//! checked on every use, so a damaged or replaced copy is fetched again.
//! Past a size limit the least recently used versions are evicted.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::url::Sha256;
use super::ContentError;

pub struct Cache {
    root: PathBuf,
    limit_bytes: u64,
}

/// A name or version: a path segment of its own, never `..` or a hidden file.
pub fn check_segment(what: &str, s: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{what}` must be 1 to 64 of A-Z a-z 0-9 . _ - and not start with a dot (got `{}`)",
            outpost_manifest::clip(s)
        ))
    }
}

impl Cache {
    pub fn new(root: PathBuf, limit_bytes: u64) -> Cache {
        Cache { root, limit_bytes }
    }

    pub fn path(&self, name: &str, version: &str) -> PathBuf {
        self.root.join(name).join(version).join(name)
    }

    /// The cached file when it is there and its hash is `sha`; a copy with
    /// another hash is removed so that it cannot be used by mistake.
    pub fn lookup(&self, name: &str, version: &str, sha: &Sha256) -> Option<PathBuf> {
        let path = self.path(name, version);
        match Sha256::of_file(&path) {
            Ok(got) if got == *sha => {
                // Least recently *used*: a hit counts as a use for eviction.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                Some(path)
            }
            Ok(got) => {
                tracing::warn!(path = %path.display(), expected = %sha, got = %got, "cached resource damaged or replaced; fetching again");
                let _ = std::fs::remove_file(&path);
                None
            }
            Err(_) => None,
        }
    }

    /// The directory a new copy is placed in (created).
    pub fn prepare(&self, name: &str, version: &str) -> Result<PathBuf, ContentError> {
        let path = self.path(name, version);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| ContentError::io("creating the resource cache", dir, e))?;
        Ok(path)
    }

    /// Removes the least recently used versions until the cache fits its
    /// limit; `keep` (the version just used) is never removed.
    pub fn evict(&self, keep: &Path) -> Vec<PathBuf> {
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort_by_key(|e| e.2);
        let mut evicted = Vec::new();
        for (path, size, _) in entries {
            if total <= self.limit_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            if let Some(dir) = path.parent() {
                if std::fs::remove_dir_all(dir).is_ok() {
                    total -= size;
                    tracing::info!(path = %path.display(), "evicted a cached resource version");
                    evicted.push(path);
                }
            }
        }
        evicted
    }

    /// Every cached file: path, size, last use. Bounded by the cache's own shape.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut out = Vec::new();
        let Ok(names) = std::fs::read_dir(&self.root) else { return out };
        for name in names.flatten() {
            let Ok(versions) = std::fs::read_dir(name.path()) else { continue };
            for version in versions.flatten() {
                let file = version.path().join(name.file_name());
                if let Ok(meta) = std::fs::metadata(&file) {
                    out.push((file, meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_are_single_safe_segments() {
        for good in ["mod-a", "1.2.3", "x_y"] {
            assert!(check_segment("name", good).is_ok(), "{good}");
        }
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a b", &"x".repeat(65)] {
            assert!(check_segment("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn least_recently_used_versions_go_first_and_the_kept_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().into(), 250);
        let t0 = SystemTime::now() - std::time::Duration::from_secs(100);
        for (i, v) in ["1", "2", "3"].iter().enumerate() {
            let p = cache.prepare("m", v).unwrap();
            std::fs::write(&p, vec![0u8; 100]).unwrap();
            let f = std::fs::File::options().append(true).open(&p).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i as u64 * 10)).unwrap();
        }
        let evicted = cache.evict(&cache.path("m", "1"));
        assert_eq!(evicted, vec![cache.path("m", "2")]);
        assert!(cache.path("m", "1").exists() && cache.path("m", "3").exists());
    }
}
