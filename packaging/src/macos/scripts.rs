//! The pkg's installer scripts and the uninstall script it installs: one
//! template context for all of them, from the manifest.

use std::path::Path;

use outpost_manifest::{ConfigOnRemoval, Manifest, Platform};
use serde::Serialize;
use tera::Context;

use crate::answers_sh::{script_context, sh_safe};
use crate::packager::PackageError;
use crate::service::launchd;
use crate::templates::render;

/// The component package identifier (receipt name) of a feature.
pub fn component_id(m: &Manifest, feature: &str) -> String {
    format!("{}.{feature}", m.product.bundle_id)
}

/// The folder of the agent executable.
pub fn app_dir(m: &Manifest) -> String {
    let binary = &m.layout(Platform::Macos).binary;
    Path::new(binary).parent().map(|p| p.display().to_string()).unwrap_or_default()
}

/// Where the pkg installs the administrator's file as an example (Installer
/// overwrites payload files on upgrade, so the real one is made by the
/// postinstall script, once).
pub fn admin_example(m: &Manifest) -> String {
    format!("{}/{}.conf.example", app_dir(m), m.product.id)
}

pub fn uninstall_path(m: &Manifest) -> String {
    format!("{}/uninstall.sh", app_dir(m))
}

#[derive(Serialize)]
struct LegacyView {
    name: String,
    labels: Vec<String>,
    pkg_ids: Vec<String>,
}

/// Every value a macOS script uses; each one a shell script quotes is
/// checked `sh_safe` (so `omnipack check` refuses what would break them).
pub fn context(m: &Manifest) -> Result<Context, PackageError> {
    let label = &m.service.launchd_label;
    let app_dir = app_dir(m);
    let mut sctx = script_context(m, Platform::Macos, label)?;
    let mut legacy = Vec::new();
    for l in &m.legacy {
        let Some(mac) = &l.macos else { continue };
        for v in mac.launchd_labels.iter().chain(&mac.pkg_ids) {
            sh_safe(&format!("legacy[{}].macos", l.id), v)?;
        }
        legacy.push(LegacyView {
            name: l.name.clone(),
            labels: mac.launchd_labels.clone(),
            pkg_ids: mac.pkg_ids.clone(),
        });
    }
    for (what, v) in [("service.launchd_label", label.as_str()), ("layout.macos.binary", &app_dir)] {
        sh_safe(what, v)?;
    }
    let receipts: Vec<String> = m.features_on(Platform::Macos).map(|f| component_id(m, &f.id)).collect();
    sctx.insert("legacy", &legacy);
    sctx.insert("label", label);
    sctx.insert("plist", &launchd::plist_path(label));
    sctx.insert("features_dir", &format!("{app_dir}/features"));
    sctx.insert("admin_example", &admin_example(m));
    sctx.insert("self_path", &uninstall_path(m));
    sctx.insert("app_dir", &app_dir);
    sctx.insert("receipts", &receipts);
    sctx.insert("keep_config", &(m.removal.administrator_config == ConfigOnRemoval::Keep));
    Ok(sctx)
}

pub fn uninstall(m: &Manifest) -> Result<String, PackageError> {
    Ok(render("pkg/uninstall.sh", &context(m)?)?)
}
