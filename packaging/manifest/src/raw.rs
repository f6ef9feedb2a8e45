//! The manifest as written, where it differs from the validated model
//! (product, service and layout deserialize straight into their final types). Every struct refuses unknown keys; the
//! checks that span several keys live in `validate.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Layout, Platform, Product, Removal, Service};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    pub product: Product,
    pub features: BTreeMap<String, RawFeature>,
    pub settings: Vec<RawSetting>,
    pub service: Service,
    pub layout: BTreeMap<Platform, Layout>,
    pub removal: Removal,
    #[serde(default)]
    pub legacy: Vec<RawLegacy>,
    #[serde(default)]
    pub file: Vec<crate::files::RawFile>,
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
    /// Windows architectures the feature exists on (`x64`, `x86`); all when absent.
    pub windows_arch: Option<Vec<String>>,
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
    pub registry_key: Option<String>,
}
