use std::fmt;

use serde::Deserialize;

/// An operating-system family a package targets. Architecture is a property of
/// a build target, not of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Linux,
    Macos,
    Windows,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Linux, Platform::Macos, Platform::Windows];

    /// The platform this code was compiled for.
    pub fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Linux
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Macos => "macos",
            Platform::Windows => "windows",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether `path` is absolute in this platform's own terms: a drive or UNC
    /// path on Windows, a `/` path elsewhere. Checked textually so that omnipack
    /// on Linux can validate Windows paths.
    pub fn is_absolute_path(self, path: &str) -> bool {
        match self {
            Platform::Windows => {
                let b = path.as_bytes();
                let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/');
                let unc = path.starts_with("\\\\") && path.len() > 2;
                drive || unc
            }
            _ => path.starts_with('/'),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
