//! How omnipack writes what it makes: one file atomically (a reader sees the
//! old file or the new one, never half), or a whole folder staged beside its
//! destination and swapped in, with the previous folder put back when the
//! swap fails. Every writer of the crate goes through here.

use std::path::{Path, PathBuf};

/// A write that could not be finished; the destination is as it was.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct OutputError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> OutputError + 'a {
    move |source| OutputError { what, path: path.to_path_buf(), source }
}

/// Writes `data` to `path` through a temporary file in the same folder and a
/// rename, creating the folder when needed.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), OutputError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().unwrap_or_default().to_string_lossy()));
    std::fs::write(&tmp, data).map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("writing", path)(e)
    })
}

/// A folder being filled beside its destination; [`Staging::swap_in`]
/// replaces the destination with it in one step. Dropped without a swap,
/// it is removed and the destination is untouched.
pub struct Staging {
    dir: tempfile::TempDir,
    dest: PathBuf,
}

impl Staging {
    pub fn new(dest: &Path) -> Result<Staging, OutputError> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
        let dir = tempfile::Builder::new()
            .prefix(".omnipack-staging-")
            .tempdir_in(&parent)
            .map_err(io("creating a staging folder in", &parent))?;
        Ok(Staging { dir, dest: dest.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes one file into the staging folder (`name` relative to it).
    pub fn write(&self, name: &str, data: &[u8]) -> Result<(), OutputError> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, data).map_err(io("writing", &path))
    }

    /// Moves the previous destination aside, the staging folder in, and the
    /// previous one away; when the move in fails, the previous folder is put
    /// back, so the destination is never left empty.
    pub fn swap_in(self) -> Result<(), OutputError> {
        let dest = self.dest;
        let parent = self.dir.path().parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let old = parent.join(format!(".omnipack-old-{}", std::process::id()));
        if dest.exists() {
            std::fs::rename(&dest, &old).map_err(io("moving aside the previous", &dest))?;
        }
        let staged = self.dir.keep();
        if let Err(e) = std::fs::rename(&staged, &dest) {
            if old.exists() {
                let _ = std::fs::rename(&old, &dest);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(io("moving the new output into", &dest)(e));
        }
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io("removing", &old))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_replaces_the_folder_and_a_dropped_staging_leaves_it() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), "1").unwrap();

        let s = Staging::new(&dest).unwrap();
        s.write("new", b"2").unwrap();
        drop(s);
        assert!(dest.join("old").exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1, "the dropped staging folder is gone");

        let s = Staging::new(&dest).unwrap();
        s.write("new", b"2").unwrap();
        s.swap_in().unwrap();
        assert!(!dest.join("old").exists());
        assert_eq!(std::fs::read(dest.join("new")).unwrap(), b"2");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_swap_that_cannot_move_in_puts_the_previous_folder_back() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("old"), "1").unwrap();
        let s = Staging::new(&dest).unwrap();
        // The staging folder vanishes before the swap: the move in fails.
        std::fs::remove_dir_all(s.path()).unwrap();
        assert!(s.swap_in().is_err());
        assert_eq!(std::fs::read(dest.join("old")).unwrap(), b"1");
    }

    #[test]
    fn an_atomic_write_leaves_no_temporary_file() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("a/b.txt");
        write_atomic(&p, b"x").unwrap();
        write_atomic(&p, b"y").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"y");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
