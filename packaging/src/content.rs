//! What a package installs, independent of the format: files with their
//! ownership and role, as nfpm's content model has them. Formats map the
//! roles onto their own mechanisms (deb conffiles, rpm %config(noreplace),
//! rpm %ghost).

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Owned by the package; an upgrade replaces it.
    File,
    /// The administrator's file: shipped once, never overwritten by an upgrade.
    ConfigNoReplace,
    /// Written at install time by the package's scripts; the package owns the
    /// path (so removal cleans it) but ships no content.
    Ghost,
    Dir,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Absolute path as installed.
    pub path: String,
    pub role: Role,
    pub data: Arc<[u8]>,
    pub mode: u32,
    pub user: &'static str,
    pub group: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct Payload {
    entries: Vec<Entry>,
}

impl Payload {
    fn push(&mut self, path: &str, role: Role, data: Arc<[u8]>, mode: u32) -> &mut Self {
        assert!(path.starts_with('/'), "payload paths are absolute: {path}");
        self.entries.push(Entry {
            path: path.to_string(),
            role,
            data,
            mode,
            user: "root",
            group: "root",
        });
        self
    }

    pub fn file(&mut self, path: &str, data: impl Into<Arc<[u8]>>, mode: u32) -> &mut Self {
        self.push(path, Role::File, data.into(), mode)
    }

    pub fn config_noreplace(&mut self, path: &str, data: impl Into<Arc<[u8]>>, mode: u32) -> &mut Self {
        self.push(path, Role::ConfigNoReplace, data.into(), mode)
    }

    pub fn ghost(&mut self, path: &str, mode: u32) -> &mut Self {
        self.push(path, Role::Ghost, Arc::from(&[][..]), mode)
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        self.push(path, Role::Dir, Arc::from(&[][..]), mode)
    }

    /// Entries sorted by path, so every format is written in one stable order.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// Every directory that holds an entry, parents included, `/` excluded,
    /// with the explicitly declared ones' modes.
    pub fn directories(&self) -> Vec<(String, u32)> {
        let mut dirs = std::collections::BTreeMap::new();
        for e in &self.entries {
            if e.role == Role::Dir {
                dirs.insert(e.path.clone(), e.mode);
            }
            let mut p = std::path::Path::new(&e.path).parent();
            while let Some(d) = p {
                let s = d.to_string_lossy().to_string();
                if s == "/" {
                    break;
                }
                dirs.entry(s).or_insert(0o755);
                p = d.parent();
            }
        }
        dirs.into_iter().collect()
    }
}
