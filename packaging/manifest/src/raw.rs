//! The manifest exactly as written. Every struct refuses unknown keys; the
//! checks that span several keys live in `validate.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Platform;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    pub product: RawProduct,
    pub features: BTreeMap<String, RawFeature>,
    pub settings: Vec<RawSetting>,
    pub service: RawService,
    pub layout: BTreeMap<Platform, RawLayout>,
    #[serde(default)]
    pub legacy: Vec<RawLegacy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProduct {
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
    pub upgrade_code: String,
    pub bundle_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeature {
    pub title: String,
    pub description: String,
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub required: bool,
    pub msi_feature: String,
    pub enabled_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSetting {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub default: Option<toml::Value>,
    pub msi_property: String,
    pub description: String,
    #[serde(default)]
    pub secret: bool,
    pub feature: Option<String>,
    // Type-specific keys; validate.rs refuses them on the wrong type.
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub values: Option<Vec<String>>,
    pub allow_empty: Option<bool>,
    pub max_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub windows_name: String,
    pub launchd_label: String,
    pub restart_delay_seconds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayout {
    pub binary: String,
    pub defaults_file: String,
    pub config_file: String,
    pub answers_file: String,
    pub staged_answers: String,
    pub state_dir: String,
    pub log_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLegacy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub carry: BTreeMap<String, String>,
    pub linux: Option<RawLegacyLinux>,
    pub macos: Option<RawLegacyMacos>,
    pub windows: Option<RawLegacyWindows>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLegacyLinux {
    pub package: String,
    pub below_version: String,
    pub config_file: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLegacyMacos {
    pub pkg_ids: Vec<String>,
    #[serde(default)]
    pub launchd_labels: Vec<String>,
    pub config_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLegacyWindows {
    pub upgrade_codes: Vec<String>,
    pub config_file: Option<String>,
}
