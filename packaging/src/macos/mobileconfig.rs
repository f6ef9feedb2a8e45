//! A configuration profile for MDM (Jamf, Intune, Kandji...): one payload
//! whose type is the agent's preference domain, so macOS writes the values to
//! `/Library/Managed Preferences/<domain>.plist`, which the agent reads above
//! every other layer. Written from the manifest's schema: every macOS setting
//! with its default (a sample to edit), or with an administrator's answers,
//! checked against the schema first.

use std::collections::BTreeMap;

use outpost_manifest::{Manifest, Platform, SettingType};
use serde::Serialize;
use tera::Context;

use crate::msi::guid::guid;
use crate::packager::PackageError;
use crate::templates::render;

/// The preference domain the agent reads (`<bundle_id>`).
pub fn domain(m: &Manifest) -> String {
    m.product.bundle_id.clone()
}

#[derive(Serialize)]
struct SettingView {
    name: String,
    kind: &'static str,
    value: String,
    description: String,
}

/// Which settings a profile carries besides those given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// Every other setting with its default: a sample to edit.
    Defaults,
    /// None: the profile enforces only what was chosen.
    Omit,
}

/// The profile with `values` (setting name -> value). A secret is refused:
/// macOS keeps a profile's values in `/Library/Managed Preferences`, which
/// every user can read, and the agent ignores secrets there; a sample never
/// lists one.
pub fn render_profile(
    m: &Manifest,
    values: &BTreeMap<String, String>,
    source: &str,
    unset: Unset,
) -> Result<String, PackageError> {
    for name in values.keys() {
        match m.setting(name) {
            Some(s) if s.exists_on(Platform::Macos) && s.secret => {
                let layout = m.layout(Platform::Macos);
                return Err(PackageError::Refused(format!(
                    "{source}: key `{name}`: a secret cannot go in a configuration profile (macOS stores \
                     its values readable by every user, and the agent ignores secrets there); set it in \
                     {} or stage it in {}",
                    layout.config_file, layout.staged_answers
                )));
            }
            Some(s) if s.exists_on(Platform::Macos) => {}
            _ => {
                let allowed: Vec<&str> = m
                    .settings_on(Platform::Macos)
                    .filter(|s| !s.secret)
                    .map(|s| s.name.as_str())
                    .collect();
                return Err(PackageError::Refused(format!(
                    "{source}: key `{name}`: unknown setting for macos; allowed: {}",
                    allowed.join(", ")
                )));
            }
        }
    }
    let mut settings = Vec::new();
    for s in m.settings_on(Platform::Macos).filter(|s| !s.secret) {
        let value = match values.get(&s.name) {
            Some(v) => m
                .check_setting(Platform::Macos, &s.name, v)
                .map_err(|reason| PackageError::Refused(format!("{source}: key `{}`: {reason}", s.name)))?,
            None if unset == Unset::Omit => continue,
            None => s.default_for(Platform::Macos).unwrap_or_default().to_string(),
        };
        let kind = match s.kind {
            SettingType::Bool => "bool",
            SettingType::Integer { .. } => "integer",
            _ => "string",
        };
        settings.push(SettingView {
            name: s.name.clone(),
            kind,
            value,
            // Inside an XML comment `--` is not allowed.
            description: s.description.replace("--", "-"),
        });
    }
    let d = domain(m);
    let mut ctx = Context::new();
    ctx.insert("domain", &d);
    ctx.insert(
        "product",
        &serde_json::json!({ "name": m.product.name, "vendor": m.product.vendor }),
    );
    ctx.insert("settings", &settings);
    // Stable identities: MDM replaces a profile with the same identifier
    // and UUID instead of installing a second one.
    let uuid = |name: &str| guid(&m.product.upgrade_code, name).trim_matches(['{', '}']).to_string();
    ctx.insert("profile_uuid", &uuid(&format!("{d}.profile")));
    ctx.insert("settings_uuid", &uuid(&format!("{d}.settings")));
    Ok(render("pkg/profile.mobileconfig", &ctx)?)
}
