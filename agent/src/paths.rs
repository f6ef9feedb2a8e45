use std::path::{Path, PathBuf};

use outpost_manifest::{Layout, Platform};

use crate::schema::manifest;

/// Where the agent's files are, from the manifest's layout for this
/// platform, optionally re-rooted under another directory.
pub struct Paths {
    root: Option<PathBuf>,
    pub platform: Platform,
    layout: &'static Layout,
}

impl Paths {
    pub fn new(root: Option<PathBuf>) -> anyhow::Result<Paths> {
        if let Some(r) = &root {
            anyhow::ensure!(r.is_dir(), "root `{}` is not a directory", r.display());
        }
        let platform = Platform::current();
        Ok(Paths { root, platform, layout: manifest().layout(platform) })
    }

    #[allow(dead_code)] // used by the Windows service entry
    pub fn root(&self) -> Option<&PathBuf> {
        self.root.as_ref()
    }

    /// Maps an absolute path as installed to where it is on this machine.
    pub fn resolve(&self, installed: &str) -> PathBuf {
        match &self.root {
            None => PathBuf::from(installed),
            Some(root) => {
                let rel = installed.trim_start_matches(['/', '\\']);
                // A Windows drive prefix has no meaning under a test root.
                let rel = rel.split_once(":\\").map_or(rel, |(_, r)| r);
                root.join(rel)
            }
        }
    }

    pub fn defaults_file(&self) -> PathBuf {
        self.resolve(&self.layout.defaults_file)
    }
    pub fn answers_file(&self) -> PathBuf {
        self.resolve(&self.layout.answers_file)
    }
    pub fn config_file(&self) -> PathBuf {
        self.resolve(&self.layout.config_file)
    }
    pub fn state_dir(&self) -> PathBuf {
        self.resolve(&self.layout.state_dir)
    }
    pub fn status_file(&self) -> PathBuf {
        self.state_dir().join("status.json")
    }
}

pub fn display(p: &Path) -> String {
    p.display().to_string()
}
