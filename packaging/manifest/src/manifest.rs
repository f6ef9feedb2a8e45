use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::{ManifestError, Platform, Setting, ValueRefused};

/// Features the agent implements, and where. The manifest may only place a
/// feature on a platform listed here: anything else would ship a switch that
/// enables code which does not exist in that build of the agent.
pub const AGENT_FEATURES: &[(&str, &[Platform])] = &[
    ("client", &[Platform::Linux, Platform::Macos, Platform::Windows]),
    ("platform", &[Platform::Linux, Platform::Macos, Platform::Windows]),
    ("content", &[Platform::Windows]),
    ("pxe", &[Platform::Windows]),
    ("shopping", &[Platform::Windows]),
    ("wakeup", &[Platform::Windows]),
];

#[derive(Debug, Clone)]
pub struct Manifest {
    pub product: Product,
    /// In a stable order: the required feature first, then by id.
    pub features: Vec<Feature>,
    pub settings: Vec<Setting>,
    pub service: Service,
    pub layouts: BTreeMap<Platform, Layout>,
    pub removal: Removal,
    pub legacy: Vec<LegacyProduct>,
    /// `[[file]]`: files installed beyond the agent and its configuration.
    pub files: Vec<crate::ProductFile>,
}

/// What removing the product does with the administrator's settings file.
/// `dpkg --purge` always removes it and rpm keeps an edited copy as
/// `.rpmsave` by their own rules; this decides Windows uninstall (and
/// macOS, which has no package-manager rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigOnRemoval {
    Keep,
    Remove,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removal {
    pub administrator_config: ConfigOnRemoval,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    pub id: String,
    pub vendor: String,
    pub maintainer: String,
    pub summary: String,
    pub description: String,
    pub homepage: String,
    pub help_url: String,
    pub license: String,
    pub version: String,
    pub revision: u32,
    /// Upper case, with braces, as MSI wants it.
    pub upgrade_code: String,
    pub bundle_id: String,
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub id: String,
    pub title: String,
    pub description: String,
    pub platforms: Vec<Platform>,
    pub required: bool,
    pub msi_feature: String,
    /// The bool setting that turns the feature on at run time.
    pub enabled_by: Option<String>,
    /// Windows architectures (`x64`, `x86`) whose MSI carries the feature.
    pub windows_arch: Vec<String>,
}

impl Feature {
    pub fn exists_on(&self, platform: Platform) -> bool {
        self.platforms.contains(&platform)
    }

    /// Whether the Windows package for `arch` (`x64`, `x86`) carries it.
    pub fn exists_on_windows_arch(&self, arch: &str) -> bool {
        self.exists_on(Platform::Windows) && self.windows_arch.iter().any(|a| a == arch)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub windows_name: String,
    pub launchd_label: String,
    pub restart_delay_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub binary: String,
    pub defaults_file: String,
    pub config_file: String,
    pub answers_file: String,
    pub staged_answers: String,
    pub state_dir: String,
    pub log_dir: String,
}

/// The self-validation list's file name, beside the shipped defaults.
pub const FILE_LIST_NAME: &str = "files.sha256";

impl Layout {
    /// Where the package's list of its files and their SHA-256 is installed:
    /// beside the shipped defaults, a folder the package owns and replaces on
    /// every upgrade on each platform (not the administrator's). omnipack
    /// writes it there and `outpost-agent verify` reads it from there.
    pub fn file_list(&self) -> String {
        let d = &self.defaults_file;
        match d.rfind(['/', '\\']) {
            Some(i) => format!("{}{FILE_LIST_NAME}", &d[..=i]),
            None => FILE_LIST_NAME.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LegacyProduct {
    pub id: String,
    pub name: String,
    /// Legacy setting key -> our setting name.
    pub carry: BTreeMap<String, String>,
    pub linux: Option<LegacyLinux>,
    pub macos: Option<LegacyMacos>,
    pub windows: Option<LegacyWindows>,
}

#[derive(Debug, Clone)]
pub struct LegacyLinux {
    pub package: String,
    /// Every legacy release is below this version; we obsolete up to it.
    pub below_version: String,
    pub config_file: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LegacyMacos {
    pub pkg_ids: Vec<String>,
    pub launchd_labels: Vec<String>,
    pub config_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LegacyWindows {
    pub upgrade_codes: Vec<String>,
    /// Key under HKLM holding the legacy settings (without the `HKLM\\` prefix).
    pub registry_key: Option<String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`. Errors name `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::new(&file, "", format!("cannot read: {e}")))?;
        Manifest::parse(&text, &file)
    }

    /// Parses and validates manifest text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Manifest, ManifestError> {
        let raw = crate::validate::deserialize(text, file)?;
        crate::validate::validate(raw, file).map_err(|mut e| {
            if e.line.is_none() {
                e.line = crate::validate::locate(text, &e.key);
            }
            e
        })
    }

    pub fn feature(&self, id: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.id == id)
    }

    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn features_on(&self, platform: Platform) -> impl Iterator<Item = &Feature> {
        self.features.iter().filter(move |f| f.exists_on(platform))
    }

    pub fn settings_on(&self, platform: Platform) -> impl Iterator<Item = &Setting> {
        self.settings.iter().filter(move |s| s.exists_on(platform))
    }

    /// The `[[file]]` entries installed on `platform`, with their destination.
    pub fn files_on(&self, platform: Platform) -> impl Iterator<Item = (&crate::ProductFile, &str)> {
        self.files.iter().filter_map(move |f| f.destination(platform).map(|d| (f, d)))
    }

    pub fn layout(&self, platform: Platform) -> &Layout {
        // validate() guarantees a layout for every platform the product ships on.
        &self.layouts[&platform]
    }

    /// Checks one settings entry as the agent and installers would, returning
    /// the canonical value or why it is refused (naming what is allowed).
    pub fn check_setting(&self, platform: Platform, name: &str, value: &str) -> Result<String, SettingRefused> {
        let Some(setting) = self.setting(name) else {
            let near = self
                .settings
                .iter()
                .filter(|s| s.name.eq_ignore_ascii_case(name))
                .map(|s| s.name.clone())
                .collect();
            return Err(SettingRefused::Unknown { near });
        };
        if !setting.exists_on(platform) {
            return Err(SettingRefused::NotOnPlatform {
                feature: setting.feature.clone(),
                platform,
            });
        }
        Ok(setting.kind.canonicalize(value, platform)?)
    }
}

/// Why [`Manifest::check_setting`] refused an entry. Its text is the reason
/// the agent, omnipack and the installers give after "key `Name`: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingRefused {
    /// No setting has this name; `near` lists those spelled the same but
    /// for case.
    #[error("unknown setting{}", did_you_mean(.near))]
    Unknown { near: Vec<String> },
    /// The setting belongs to `feature`, which `platform` does not have.
    #[error("belongs to feature `{}`, which does not exist on {platform}", .feature.as_deref().unwrap_or("?"))]
    NotOnPlatform { feature: Option<String>, platform: Platform },
    /// The setting exists; its type refuses the value.
    #[error(transparent)]
    Value(#[from] ValueRefused),
}

fn did_you_mean(near: &[String]) -> String {
    if near.is_empty() {
        String::new()
    } else {
        format!("; did you mean `{}`?", near.join("`, `"))
    }
}
