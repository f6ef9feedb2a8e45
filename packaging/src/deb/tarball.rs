//! Deterministic tar members for control.tar and data.tar: `./` paths,
//! parents before children, explicit owners and modes, one mtime.

use tar::{EntryType, Header};

pub struct Tarball {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl Tarball {
    pub fn new(mtime: u64) -> Tarball {
        Tarball::with_capacity(mtime, 0)
    }

    /// `capacity`: the tar's expected size, so it is not copied as it grows.
    pub fn with_capacity(mtime: u64, capacity: usize) -> Tarball {
        let mut builder = tar::Builder::new(Vec::with_capacity(capacity));
        builder.mode(tar::HeaderMode::Deterministic);
        Tarball { builder, mtime }
    }

    fn header(&self, kind: EntryType, mode: u32, size: u64, user: &str, group: &str) -> std::io::Result<Header> {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username(user)?;
        h.set_groupname(group)?;
        Ok(h)
    }

    /// `path` is absolute (`/usr/bin/x`) or `.`; stored as `./usr/bin/x/`.
    pub fn dir(&mut self, path: &str, mode: u32) -> std::io::Result<()> {
        let mut h = self.header(EntryType::Directory, mode, 0, "root", "root")?;
        let name = if path == "." { "./".to_string() } else { format!(".{path}/") };
        self.builder.append_data(&mut h, name, std::io::empty())
    }

    pub fn file(&mut self, path: &str, mode: u32, user: &str, group: &str, data: &[u8]) -> std::io::Result<()> {
        let mut h = self.header(EntryType::Regular, mode, data.len() as u64, user, group)?;
        let name = match path.strip_prefix('/') {
            Some(rel) => format!("./{rel}"),
            None => format!("./{path}"),
        };
        self.builder.append_data(&mut h, name, data)
    }

    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        self.builder.into_inner()
    }
}
