//! `TemporaryDirectory` as the product documents it: an existing absolute
//! folder the administrator prepared (and excluded from anti-virus scans).
//! The agent never creates a configured folder, so a typo cannot scatter
//! downloads over a new, scanned folder; when it is missing the default is
//! used, and `status` and the log say why.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use outpost_manifest::Platform;

use crate::config::Effective;
use crate::paths::{display, Paths};
use crate::schema::manifest;

const SETTING: &str = "TemporaryDirectory";

/// The folder in use and why, as the status file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryDirectory {
    pub path: String,
    /// The setting's value as configured (e.g. `%ProgramData%\Outpost\Temp`).
    pub configured: String,
    /// Why this folder: "the default", "configured `...`", or what was wrong.
    pub reason: String,
    /// False when even the default could not be created: downloads fail.
    pub usable: bool,
}

impl TemporaryDirectory {
    pub fn path(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }

    /// The `status` line.
    pub fn describe(&self) -> String {
        format!("{SETTING}: {} ({})", self.path, self.reason)
    }
}

/// Chooses the folder once at start and logs the choice.
pub fn choose(paths: &Paths, cfg: &Effective) -> TemporaryDirectory {
    let configured = cfg.get(SETTING).to_string();
    let default = manifest()
        .setting(SETTING)
        .and_then(|s| s.default_for(paths.platform))
        .unwrap_or_default()
        .to_string();
    let default_dir = paths.resolve(&default);
    // `%ProgramData%\Outpost\Temp` is the default folder spelled otherwise:
    // the agent's own, created like the default.
    let is_default = |dir: &PathBuf| {
        let (a, b) = (display(dir), display(&default_dir));
        a == b || (paths.platform == Platform::Windows && a.eq_ignore_ascii_case(&b))
    };
    let refusal = match paths.expand(&configured).map(|p| paths.resolve(&p)) {
        Ok(dir) if is_default(&dir) => return fallback(paths, configured, &default, None),
        Ok(dir) if dir.is_dir() => {
            let reason = format!("configured `{configured}`");
            info!(setting = SETTING, path = %dir.display(), "temporary directory: {reason}");
            return TemporaryDirectory {
                path: display(&dir),
                configured,
                reason,
                usable: true,
            };
        }
        Ok(dir) if dir.exists() => format!("configured `{configured}` is not a directory"),
        Ok(_) => format!("configured `{configured}` does not exist"),
        Err(why) => format!("configured `{configured}` cannot be used: {why}"),
    };
    fallback(paths, configured, &default, Some(refusal))
}

/// The default folder, which is the agent's own (the packages remove it
/// on purge): created when missing, so that a removed folder does not stop
/// downloads; when even that fails the agent runs on and says so.
fn fallback(paths: &Paths, configured: String, default: &str, refusal: Option<String>) -> TemporaryDirectory {
    let dir = paths.resolve(default);
    let mut reason = match &refusal {
        None if configured == default => "the default".to_string(),
        None => format!("configured `{configured}`, the default"),
        Some(refusal) => format!("{refusal}; the default is used"),
    };
    let mut usable = true;
    if !dir.is_dir() {
        match std::fs::create_dir_all(&dir) {
            Ok(()) => reason.push_str(" (it did not exist and was created)"),
            Err(e) => {
                reason.push_str(&format!(" (it does not exist and cannot be created: {e})"));
                usable = false;
            }
        }
    }
    if !usable {
        error!(setting = SETTING, path = %dir.display(), "temporary directory: {reason}; downloads will fail");
    } else if refusal.is_some() {
        warn!(setting = SETTING, path = %dir.display(), "temporary directory: {reason}");
    } else {
        info!(setting = SETTING, path = %dir.display(), "temporary directory: {reason}");
    }
    TemporaryDirectory {
        path: display(&dir),
        configured,
        reason,
        usable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose_with(platform: Platform, value: &str) -> (tempfile::TempDir, Paths, TemporaryDirectory) {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), platform).unwrap();
        let file = paths.config_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("[Settings]\n{SETTING}={value}\n")).unwrap();
        let cfg = crate::config::load(&paths);
        let t = choose(&paths, &cfg);
        (root, paths, t)
    }

    #[test]
    fn a_missing_folder_is_not_created_and_the_default_is_used() {
        let (root, _, t) = choose_with(Platform::Linux, "/srv/outpost-tmp");
        assert!(!root.path().join("srv/outpost-tmp").exists(), "configured folder created");
        assert_eq!(PathBuf::from(&t.path), root.path().join("var/tmp/outpost"));
        assert!(t.path().is_dir() && t.usable);
        assert_eq!(
            t.reason,
            "configured `/srv/outpost-tmp` does not exist; the default is used (it did not exist and was created)"
        );
    }

    #[test]
    fn an_existing_folder_is_used() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("srv/t")).unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Linux).unwrap();
        std::fs::create_dir_all(paths.config_file().parent().unwrap()).unwrap();
        std::fs::write(paths.config_file(), "[Settings]\nTemporaryDirectory=/srv/t\n").unwrap();
        let t = choose(&paths, &crate::config::load(&paths));
        assert_eq!(
            (PathBuf::from(&t.path), t.reason.as_str()),
            (root.path().join("srv/t"), "configured `/srv/t`")
        );
    }

    #[test]
    fn windows_variables_are_expanded() {
        // The default folder spelled otherwise: the agent's own, created.
        let (root, _, t) = choose_with(Platform::Windows, r"%ProgramData%\Outpost\Temp");
        assert_eq!(PathBuf::from(&t.path), root.path().join(r"ProgramData\Outpost\Temp"));
        assert_eq!(
            t.describe(),
            format!(
                r"TemporaryDirectory: {} (configured `%ProgramData%\Outpost\Temp`, the default (it did not exist and was created))",
                t.path
            )
        );
        // Another folder: used when it exists, never created.
        let (root, paths, t) = choose_with(Platform::Windows, r"%SystemRoot%\Temp");
        assert!(
            t.reason
                .starts_with(r"configured `%SystemRoot%\Temp` does not exist; the default is used"),
            "{}",
            t.reason
        );
        assert!(!root.path().join(r"Windows\Temp").exists());
        std::fs::create_dir(root.path().join(r"Windows\Temp")).unwrap();
        let t = choose(&paths, &crate::config::load(&paths));
        assert_eq!(
            (PathBuf::from(&t.path), t.reason.as_str()),
            (root.path().join(r"Windows\Temp"), r"configured `%SystemRoot%\Temp`")
        );
    }

    #[test]
    fn a_relative_path_is_refused_and_the_default_used() {
        for (platform, value) in [(Platform::Windows, r"Outpost\Temp"), (Platform::Linux, "tmp/outpost")] {
            let (_, _, t) = choose_with(platform, value);
            assert_eq!(
                t.configured,
                manifest().setting(SETTING).unwrap().default_for(platform).unwrap()
            );
            assert_eq!(t.reason, "the default (it did not exist and was created)");
        }
    }
}
