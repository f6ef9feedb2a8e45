//! The deployment answer file (TOML): settings by their manifest names at
//! the top level, deployment details in `[deployment]`. `omnipack assist
//! init` writes a commented template from the manifest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use outpost_manifest::{Manifest, Platform, SettingType};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
#[error("{file}: key `{key}`: {reason}")]
pub struct AnswerError {
    pub file: String,
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// A previous release folder (with release.json) to build a patch from.
    pub previous_release: Option<PathBuf>,
    /// msiexec log path on the client, in cmd syntax (%TEMP% is expanded).
    #[serde(default = "default_log")]
    pub log: String,
    #[serde(default = "default_site")]
    pub site_code: String,
    pub application: Option<String>,
    pub collection: Option<String>,
    #[serde(default = "default_limiting")]
    pub limiting_collection: String,
    #[serde(default)]
    pub distribution_points: Vec<String>,
    /// UNC folder the packages are copied to for ConfigMgr content.
    pub content_share: Option<String>,
}

fn default_log() -> String {
    "%TEMP%\\outpost-install.log".into()
}
fn default_site() -> String {
    "PS1".into()
}
fn default_limiting() -> String {
    "All Systems".into()
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            previous_release: None,
            log: default_log(),
            site_code: default_site(),
            application: None,
            collection: None,
            limiting_collection: default_limiting(),
            distribution_points: Vec::new(),
            content_share: None,
        }
    }
}

/// A validated answer file.
#[derive(Debug, Clone)]
pub struct Answers {
    pub file: String,
    /// Setting name -> canonical value, in manifest order.
    pub settings: Vec<(String, String)>,
    pub deployment: Deployment,
}

impl Answers {
    /// MSI properties for the settings answered.
    pub fn properties(&self, m: &Manifest) -> Vec<(String, String)> {
        self.settings
            .iter()
            .filter_map(|(n, v)| m.setting(n).map(|s| (s.msi_property.clone(), v.clone())))
            .collect()
    }

    /// Refuses answers the Windows package for `arch` cannot honour: a
    /// feature it does not carry switched on.
    pub fn check_arch(&self, m: &Manifest, arch: &str) -> Result<(), AnswerError> {
        for f in m.features_on(Platform::Windows) {
            let Some(setting) = &f.enabled_by else { continue };
            let on = self.settings.iter().any(|(n, v)| n == setting && v == "true");
            if on && !f.exists_on_windows_arch(arch) {
                return Err(AnswerError {
                    file: self.file.clone(),
                    key: setting.clone(),
                    reason: format!(
                        "feature `{}` is not available on Windows {arch} (it exists on: {}); remove it or deploy only the other architecture",
                        f.id,
                        f.windows_arch.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

fn toml_value_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn load(path: &Path, m: &Manifest) -> Result<Answers, AnswerError> {
    let file = path.display().to_string();
    let e = |key: &str, reason: String| AnswerError { file: file.clone(), key: key.to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|err| e("", format!("cannot read: {err}")))?;
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| e("", err.message().to_string()))?;
    let mut settings = BTreeMap::new();
    let mut deployment = Deployment::default();
    for (key, value) in &table {
        if key == "deployment" {
            deployment = value
                .clone()
                .try_into()
                .map_err(|err: toml::de::Error| e("deployment", err.message().to_string()))?;
            continue;
        }
        if let Some(s) = m.setting(key).filter(|s| s.secret) {
            return Err(e(key, secret_refusal(m, &s.msi_property)));
        }
        let raw = toml_value_text(value).ok_or_else(|| e(key, "must be a string, integer or boolean".into()))?;
        let canonical = m.check_setting(Platform::Windows, key, &raw).map_err(|reason| e(key, reason.to_string()))?;
        settings.insert(key.clone(), canonical);
    }
    let ordered = m.settings_on(Platform::Windows).filter_map(|s| settings.get(&s.name).map(|v| (s.name.clone(), v.clone()))).collect();
    Ok(Answers { file, settings: ordered, deployment })
}

/// Why a secret is not answered here, and where it goes instead.
fn secret_refusal(m: &Manifest, property: &str) -> String {
    format!(
        "a secret is never written into a transform or a command line; give {property}=... to msiexec at install time \
         (MsiHiddenProperties keeps it out of the log) or set it in {}",
        m.layout(Platform::Windows).config_file
    )
}

fn toml_literal(kind: &SettingType, value: &str) -> String {
    match kind {
        SettingType::Bool | SettingType::Integer { .. } => value.to_string(),
        _ => format!("{value:?}"),
    }
}

fn quoted_key(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

/// The commented template `assist init` writes.
pub fn template(m: &Manifest) -> String {
    let p = &m.product;
    let mut out = format!(
        "# {} {}: deployment answers for `omnipack assist`.\n\
         #\n\
         # Every setting the Windows packages offer is listed with its default,\n\
         # commented out. Uncomment what this deployment changes; keys are the\n\
         # settings' own names. Each answer becomes a property in the transform\n\
         # (.mst) made for every MSI.\n\n",
        p.name, p.version
    );
    let feature_of = |setting: &str| m.features.iter().find(|f| f.enabled_by.as_deref() == Some(setting));
    for s in m.settings_on(Platform::Windows) {
        let default = s.default_for(Platform::Windows).unwrap_or_default();
        let _ = writeln!(out, "# {} (MSI property {})", s.description, s.msi_property);
        if let Some(f) = feature_of(&s.name) {
            let arch = if f.windows_arch.len() == 2 { String::new() } else { format!("; only on Windows {}", f.windows_arch.join(", ")) };
            let _ = writeln!(out, "# Installs and runs the `{}` feature (MSI feature {}){arch}.", f.id, f.msi_feature);
        }
        if s.secret {
            let _ = writeln!(out, "# Secret, so not answered here: {}.\n", secret_refusal(m, &s.msi_property).replacen("a secret is", "it is", 1));
            continue;
        }
        let _ = writeln!(out, "# {} = {}\n", quoted_key(&s.name), toml_literal(&s.kind, default));
    }
    out.push_str(
        "[deployment]\n\
         # A previous release folder (with release.json): also build a patch (.msp) from it.\n\
         # previous_release = \"../dist-2.0.0\"\n\
         # msiexec log on the client (cmd syntax).\n\
         log = '%TEMP%\\outpost-install.log'\n\
         # Configuration Manager: site, application, collection and distribution points.\n\
         site_code = \"PS1\"\n",
    );
    let _ = writeln!(out, "application = \"{}\"", p.name);
    let _ = writeln!(out, "collection = \"{} - All Workstations\"", p.name);
    out.push_str("limiting_collection = \"All Systems\"\ndistribution_points = [\"dp01.corp.example\"]\n");
    out.push_str("# Where ConfigMgr reads the packages from (UNC).\ncontent_share = '\\\\fileserver\\packages\\Outpost'\n");
    out
}
