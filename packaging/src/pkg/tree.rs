//! A file tree as a flat package carries it (the Payload under the install
//! location, or the Scripts): relative paths, a mode per entry, owners always
//! root:wheel (0:0) because Installer applies the recorded owners and anything
//! else would hand system files to whoever built the package.
//!
//! Parent directories that were not added explicitly are implied with 0755,
//! as pkgbuild records the directories of its staging root.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::PkgError;

pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFREG: u32 = 0o100_000;
pub const S_IFLNK: u32 = 0o120_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Arc<[u8]>),
    /// The link target, stored verbatim.
    Symlink(String),
}

static IMPLIED_DIR: Kind = Kind::Dir;

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    mode: u32,
}

#[derive(Debug, Clone)]
pub struct Tree {
    root_mode: u32,
    nodes: BTreeMap<String, Node>,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

/// One entry of [`Tree::entries`].
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Relative path without a leading `./`; empty for the root.
    pub path: String,
    pub kind: &'a Kind,
    /// Permission bits (with setuid, setgid, sticky), no file-type bits.
    pub mode: u32,
}

impl Entry<'_> {
    /// `st_mode` with the file-type bits, as cpio and BOM store it.
    pub fn st_mode(&self) -> u32 {
        self.mode
            | match self.kind {
                Kind::Dir => S_IFDIR,
                Kind::File(_) => S_IFREG,
                Kind::Symlink(_) => S_IFLNK,
            }
    }

    /// The name pkgbuild writes: `.` for the root, else `./path`.
    pub fn archive_name(&self) -> String {
        if self.path.is_empty() {
            ".".to_string()
        } else {
            format!("./{}", self.path)
        }
    }

    /// The bytes an archive stores for this entry: file contents, a link's
    /// target, nothing for a directory.
    pub fn data(&self) -> &[u8] {
        match self.kind {
            Kind::Dir => &[],
            Kind::File(data) => data,
            Kind::Symlink(target) => target.as_bytes(),
        }
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            root_mode: 0o755,
            nodes: BTreeMap::new(),
        }
    }

    /// A directory. `"/"` or `"."` sets the mode of the root itself (0755
    /// unless set), which Installer applies to the install location.
    pub fn dir(&mut self, path: &str, mode: u32) -> Result<&mut Tree, PkgError> {
        check_mode(path, mode)?;
        if matches!(path, "/" | "." | "./") {
            self.root_mode = mode;
            return Ok(self);
        }
        self.insert(path, Kind::Dir, mode)
    }

    pub fn file(&mut self, path: &str, data: impl Into<Arc<[u8]>>, mode: u32) -> Result<&mut Tree, PkgError> {
        check_mode(path, mode)?;
        self.insert(path, Kind::File(data.into()), mode)
    }

    /// A symbolic link. macOS shows symlink modes (commonly 0755) although it
    /// ignores them; the mode is recorded as given.
    pub fn symlink(&mut self, path: &str, target: &str, mode: u32) -> Result<&mut Tree, PkgError> {
        check_mode(path, mode)?;
        if target.is_empty() || target.contains('\0') {
            return Err(PkgError::path(
                path,
                format!("symlink target {target:?} is empty or contains NUL"),
            ));
        }
        self.insert(path, Kind::Symlink(target.to_string()), mode)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn insert(&mut self, path: &str, kind: Kind, mode: u32) -> Result<&mut Tree, PkgError> {
        let rel = normalize(path)?;
        if self.nodes.contains_key(&rel) {
            return Err(PkgError::path(path, "added twice"));
        }
        let mut ancestor = rel.as_str();
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            if let Some(node) = self.nodes.get(parent) {
                if node.kind != Kind::Dir {
                    return Err(PkgError::path(path, format!("`{parent}` is not a directory")));
                }
            }
            ancestor = parent;
        }
        if kind != Kind::Dir {
            let prefix = format!("{rel}/");
            if let Some((child, _)) = self
                .nodes
                .range(prefix.clone()..)
                .next()
                .filter(|(k, _)| k.starts_with(&prefix))
            {
                return Err(PkgError::path(path, format!("cannot be a file: `{child}` is inside it")));
            }
        }
        self.nodes.insert(rel, Node { kind, mode });
        Ok(self)
    }

    /// Every entry: the root first, then all paths (implied parents included)
    /// in byte order, which puts every directory before its contents.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let mut all: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
        for (path, node) in &self.nodes {
            all.insert(
                path,
                Entry {
                    path: path.clone(),
                    kind: &node.kind,
                    mode: node.mode,
                },
            );
            let mut p = path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                all.entry(parent).or_insert_with(|| Entry {
                    path: parent.to_string(),
                    kind: &IMPLIED_DIR,
                    mode: 0o755,
                });
                p = parent;
            }
        }
        let root = Entry {
            path: String::new(),
            kind: &IMPLIED_DIR,
            mode: self.root_mode,
        };
        std::iter::once(root).chain(all.into_values()).collect()
    }
}

fn check_mode(path: &str, mode: u32) -> Result<(), PkgError> {
    if mode & !0o7777 != 0 {
        return Err(PkgError::path(
            path,
            format!("mode {mode:#o} has bits beyond 0o7777 (give permission bits only; the type is implied)"),
        ));
    }
    Ok(())
}

/// `/a/b`, `./a/b` and `a/b` all name `a/b`; `..`, `.`, empty components and
/// NUL are refused so that no entry can land outside the install location.
fn normalize(path: &str) -> Result<String, PkgError> {
    let rel = path.strip_prefix("./").or_else(|| path.strip_prefix('/')).unwrap_or(path);
    let rel = rel.strip_suffix('/').unwrap_or(rel);
    if rel.is_empty() {
        return Err(PkgError::path(path, "is empty"));
    }
    if rel.contains('\0') {
        return Err(PkgError::path(path, "contains NUL"));
    }
    if let Some(bad) = rel.split('/').find(|c| c.is_empty() || *c == "." || *c == "..") {
        return Err(PkgError::path(path, format!("has a `{bad}` component")));
    }
    Ok(rel.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implies_parents_and_sorts() {
        let mut t = Tree::new();
        t.file("/usr/local/bin/x", &b"x"[..], 0o755).unwrap();
        t.dir("./usr/local", 0o775).unwrap();
        t.symlink("a-b", "usr/local/bin/x", 0o755).unwrap();
        let names: Vec<(String, u32)> = t.entries().iter().map(|e| (e.archive_name(), e.st_mode())).collect();
        assert_eq!(
            names,
            [
                (".".to_string(), 0o40755),
                ("./a-b".to_string(), 0o120755),
                ("./usr".to_string(), 0o40755),
                ("./usr/local".to_string(), 0o40775),
                ("./usr/local/bin".to_string(), 0o40755),
                ("./usr/local/bin/x".to_string(), 0o100755),
            ]
        );
    }

    #[test]
    fn refuses_bad_paths() {
        let mut t = Tree::new();
        t.file("a", &b""[..], 0o644).unwrap();
        for (path, why) in [
            ("a", "added twice"),
            ("a/b", "`a` is not a directory"),
            ("../etc/passwd", "`..`"),
            ("x//y", "`` component"),
            ("", "is empty"),
        ] {
            let e = t.file(path, &b""[..], 0o644).unwrap_err().to_string();
            assert!(e.contains(why), "{path}: {e}");
        }
        t.dir("d", 0o755).unwrap().file("d/f", &b""[..], 0o644).unwrap();
        assert!(t.symlink("d", "x", 0o755).unwrap_err().to_string().contains("added twice"));
        let mut u = Tree::new();
        u.file("d/f", &b""[..], 0o644).unwrap();
        assert!(u
            .file("d", &b""[..], 0o644)
            .unwrap_err()
            .to_string()
            .contains("`d/f` is inside it"));
        assert!(u
            .file("m", &b""[..], 0o100644)
            .unwrap_err()
            .to_string()
            .contains("beyond 0o7777"));
    }
}
