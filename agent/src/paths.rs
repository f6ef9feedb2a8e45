use std::path::{Path, PathBuf};

use outpost_manifest::{windows_path_variable, Layout, Platform};

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
        Paths::for_platform(root, Platform::current())
    }

    /// Another platform's layout: tests check the macOS and Windows layers
    /// from a Linux host, under a root.
    pub fn for_platform(root: Option<PathBuf>, platform: Platform) -> anyhow::Result<Paths> {
        if let Some(r) = &root {
            anyhow::ensure!(r.is_dir(), "root `{}` is not a directory", r.display());
        }
        Ok(Paths {
            root,
            platform,
            layout: manifest().layout(platform),
        })
    }

    #[allow(dead_code)] // used by the Windows service entry
    pub fn root(&self) -> Option<&PathBuf> {
        self.root.as_ref()
    }

    /// Maps an absolute path as installed to where it is on this machine;
    /// a configured Windows path's leading variable is expanded first (see
    /// `expand`; one that is not set leaves the path as written, which then
    /// does not exist).
    pub fn resolve(&self, installed: &str) -> PathBuf {
        let expanded = self.expand(installed).unwrap_or_else(|_| installed.to_string());
        let installed = expanded.as_str();
        if self.root.is_none() && self.platform == Platform::Windows {
            if let Some(p) = self.rebase_windows(installed) {
                return p;
            }
        }
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

    /// A configured path with its leading `%Variable%` (Windows, see
    /// `outpost_manifest::WINDOWS_PATH_VARIABLES`) replaced by its value;
    /// other paths as they are. Under a test root the variables have their
    /// usual `C:` values, which `resolve` maps under the root.
    pub fn expand(&self, configured: &str) -> Result<String, String> {
        let Some((name, rest)) = windows_path_variable(configured).filter(|_| self.platform == Platform::Windows) else {
            return Ok(configured.to_string());
        };
        let value = match (&self.root, name) {
            (Some(_), "ProgramData") => Some(r"C:\ProgramData".to_string()),
            (Some(_), "ProgramFiles") => Some(r"C:\Program Files".to_string()),
            (Some(_), "SystemDrive") => Some("C:".to_string()),
            (Some(_), _) => Some(r"C:\Windows".to_string()),
            // The same ProgramData the agent finds its own files in, not
            // the service's variable (Wine gives services C:\users\Public).
            (None, "ProgramData") => program_data().map(|p| display(&p)),
            (None, _) => std::env::var(name).ok(),
        };
        let value = value.ok_or_else(|| format!("%{name}% is not set"))?;
        let expanded = format!("{value}{rest}");
        if Platform::Windows.is_absolute_path(&expanded) {
            Ok(expanded)
        } else {
            Err(format!("%{name}% is `{value}`, which does not make it absolute"))
        }
    }

    /// An MSI may install elsewhere than the manifest's `C:\Program Files`
    /// (INSTALLDIR, the x86 package on x64 Windows) and ProgramData may live
    /// on another drive: program files are found next to the running
    /// executable and data under %ProgramData%.
    fn rebase_windows(&self, installed: &str) -> Option<PathBuf> {
        let lower = installed.to_ascii_lowercase();
        let install_dir = self.layout.binary.rsplit_once('\\').map(|(d, _)| d.to_ascii_lowercase())?;
        if let Some(rest) = lower.strip_prefix(&install_dir) {
            let exe_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
            return Some(exe_dir.join(installed[installed.len() - rest.len()..].trim_start_matches('\\')));
        }
        let data = "c:\\programdata\\";
        if lower.starts_with(data) {
            return Some(program_data()?.join(&installed[data.len()..]));
        }
        None
    }

    /// Windows and macOS install one marker file per installed feature (the
    /// MSI's per-feature component, the pkg's per-feature choice), so a
    /// feature switched on in settings but not installed does not run. Linux
    /// packages install every feature the platform has.
    pub fn feature_installed(&self, feature: &str) -> bool {
        if self.platform == Platform::Linux {
            return true;
        }
        let dir = self.resolve(&self.layout.binary);
        dir.parent()
            .is_some_and(|d| d.join("features").join(format!("{feature}.feature")).is_file())
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
    /// macOS: the configuration profile's values for our preference domain,
    /// written by the system from MDM (`/Library/Managed Preferences`).
    pub fn managed_preferences(&self) -> Option<PathBuf> {
        (self.platform == Platform::Macos).then(|| {
            self.resolve(&format!(
                "/Library/Managed Preferences/{}.plist",
                manifest().product.bundle_id
            ))
        })
    }
    pub fn state_dir(&self) -> PathBuf {
        self.resolve(&self.layout.state_dir)
    }
    pub fn status_file(&self) -> PathBuf {
        self.state_dir().join("status.json")
    }
}

/// The machine's ProgramData folder as Windows Installer resolves it
/// (CommonAppDataFolder, FOLDERID_ProgramData), not the process's
/// `%ProgramData%`: a service can inherit another value (Wine gives services
/// `C:\users\Public`), and the agent would then miss the installer's files.
#[cfg(windows)]
fn program_data() -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    use windows_sys::Win32::System::Com::CoTaskMemFree;
    use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, SHGetKnownFolderPath, KF_FLAG_DEFAULT};
    let mut p: *mut u16 = std::ptr::null_mut();
    // SAFETY: `p` receives a CoTaskMem string, freed below whatever the result.
    let hr = unsafe { SHGetKnownFolderPath(&FOLDERID_ProgramData, KF_FLAG_DEFAULT as _, std::ptr::null_mut(), &mut p) };
    let found = (hr >= 0 && !p.is_null()).then(|| {
        // SAFETY: the shell returns a NUL-terminated UTF-16 string.
        let wide = unsafe {
            let len = (0..).take_while(|&i| *p.add(i) != 0).count();
            std::slice::from_raw_parts(p, len)
        };
        PathBuf::from(std::ffi::OsString::from_wide(wide))
    });
    // SAFETY: allocated by SHGetKnownFolderPath (null is allowed).
    unsafe { CoTaskMemFree(p as _) };
    found.or_else(|| std::env::var_os("ProgramData").map(PathBuf::from))
}

#[cfg(not(windows))]
fn program_data() -> Option<PathBuf> {
    std::env::var_os("ProgramData").map(PathBuf::from)
}

pub fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every configured Windows path (LogFile, TrustedCaFile, ...) may use
    /// the variables the rule accepts, not only TemporaryDirectory.
    #[test]
    fn windows_variables_resolve_like_their_values() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Windows).unwrap();
        for (variable, literal) in [
            (r"%ProgramData%\Outpost\Logs\a.log", r"C:\ProgramData\Outpost\Logs\a.log"),
            (r"%WINDIR%\Temp", r"C:\Windows\Temp"),
            (r"%SystemDrive%\ca.pem", r"C:\ca.pem"),
        ] {
            assert_eq!(paths.resolve(variable), paths.resolve(literal), "{variable}");
        }
        let linux = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Linux).unwrap();
        assert_eq!(linux.expand("/%ProgramData%/x").unwrap(), "/%ProgramData%/x");
    }

    /// The pkg's platform choice lays down this marker; without it the
    /// platform feature does not run on a Mac, whatever the settings say.
    #[test]
    fn macos_features_need_their_marker() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Macos).unwrap();
        assert!(!paths.feature_installed("platform"));
        let marker = root
            .path()
            .join("Library/Application Support/Outpost/features/platform.feature");
        std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
        std::fs::write(&marker, "").unwrap();
        assert!(paths.feature_installed("platform"));
        let linux = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Linux).unwrap();
        assert!(linux.feature_installed("platform"));
    }
}
