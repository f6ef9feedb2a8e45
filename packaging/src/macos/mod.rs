//! The macOS product archive from the product manifest, on the flat-package
//! writers in `crate::pkg`.
//!
//! One component per feature that exists on macOS, one choice per component
//! (so `installer -applyChoiceChangesXML` can leave a feature out):
//!
//! * `client` (required): the signed universal agent, the shipped defaults,
//!   the administrator's example file, the LaunchDaemon and an uninstall
//!   script; its preinstall checks the installer answers, stops our daemon and
//!   removes legacy clients; its postinstall applies the answers, creates the
//!   administrator's file once and bootstraps the daemon;
//! * every other feature: a marker file the agent requires before it runs
//!   that feature (as the MSI's per-feature components do on Windows).
//!
//! The administrator's file is not in any payload: Installer overwrites
//! payload files on upgrade.

pub mod mobileconfig;
pub mod universal;

use std::path::Path;

use outpost_manifest::{settings_file, ConfigOnRemoval, Manifest, Platform};
use serde::Serialize;

use crate::answers_sh::{script_context, sh_safe};
use crate::cargo::MACOS_X86_64_MIN_VERSION;
use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::pkg::{Choice, ComponentPackage, Customize, Distribution, ProductArchive, Tree};
use crate::service::{launchd, ServiceSpec};
use crate::target::{Format, Target};
use crate::templates::render;

pub struct PkgPackager;

impl Packager for PkgPackager {
    fn format(&self) -> Format {
        Format::Pkg
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let m = &ctx.manifest;
        let mut agent = ctx.agent_for(target)?.to_vec();
        // The Distribution allows every macOS from the x86_64 minimum on: an
        // agent (e.g. from --agent-bin) that needs more would not start.
        universal::check_universal(&agent).map_err(|e| PackageError::Invalid(format!("pkg: {e}")))?;
        // Each slice is signed before it goes into the payload, so the
        // installed file carries its own signature (Gatekeeper and
        // notarization look at the binary, not only the pkg).
        if let Some(signer) = &ctx.apple {
            agent = signer
                .sign_macho(&agent, &agent_identifier(m))
                .map_err(|e| PackageError::Invalid(e.to_string()))?;
        }
        let archive = product_archive(m, agent)?;
        let mut bytes = archive
            .build(ctx.source_date)
            .map_err(|e| PackageError::Invalid(format!("pkg: {e}")))?;
        let mut signed = None;
        if let Some(signer) = &ctx.apple {
            bytes = signer.sign_pkg(&bytes).map_err(|e| PackageError::Invalid(e.to_string()))?;
            signed = Some("apple");
        }
        Ok(Built {
            file_name: format!("{}-{}-{}.pkg", m.product.id, m.product.version, target.arch_word()),
            bytes,
            signed,
        })
    }
}

/// The code-signing identifier of the agent executable.
pub fn agent_identifier(m: &Manifest) -> String {
    format!("{}.agent", m.product.bundle_id)
}

/// The component package identifier (receipt name) of a feature.
pub fn component_id(m: &Manifest, feature: &str) -> String {
    format!("{}.{feature}", m.product.bundle_id)
}

fn app_dir(m: &Manifest) -> String {
    let binary = &m.layout(Platform::Macos).binary;
    Path::new(binary)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn features_dir(m: &Manifest) -> String {
    format!("{}/features", app_dir(m))
}

fn invalid(e: impl std::fmt::Display) -> PackageError {
    PackageError::Invalid(format!("pkg: {e}"))
}

#[derive(Serialize)]
struct LegacyView {
    name: String,
    labels: Vec<String>,
    pkg_ids: Vec<String>,
}

/// Everything the pkg installs, as components and a Distribution.
pub fn product_archive(m: &Manifest, agent: Vec<u8>) -> Result<ProductArchive, PackageError> {
    let layout = m.layout(Platform::Macos);
    let label = &m.service.launchd_label;
    let spec = ServiceSpec::from_manifest(m, Platform::Macos);
    let plist = launchd::plist_path(label);
    let app_dir = app_dir(m);
    let admin_example = format!("{app_dir}/{}.conf.example", m.product.id);
    let uninstall = format!("{app_dir}/uninstall.sh");
    let features: Vec<_> = m.features_on(Platform::Macos).collect();

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
    let receipts: Vec<String> = features.iter().map(|f| component_id(m, &f.id)).collect();
    sctx.insert("legacy", &legacy);
    sctx.insert("label", label);
    sctx.insert("plist", &plist);
    sctx.insert("features_dir", &features_dir(m));
    sctx.insert("admin_example", &admin_example);
    sctx.insert("app_dir", &app_dir);
    sctx.insert("self_path", &uninstall);
    sctx.insert("receipts", &receipts);
    sctx.insert("keep_config", &(m.removal.administrator_config == ConfigOnRemoval::Keep));

    let version = &m.product.version;
    let mut components = Vec::new();
    let mut choices = Vec::new();
    let mut agent = Some(agent);
    for f in &features {
        let id = component_id(m, &f.id);
        let mut c = ComponentPackage::new(&id, version);
        if f.required {
            let payload = &mut c.payload;
            let file = |t: &mut Tree, path: &str, data: Vec<u8>, mode| t.file(path, data, mode).map(|_| ()).map_err(invalid);
            file(payload, &layout.binary, agent.take().expect("one required feature"), 0o755)?;
            file(
                payload,
                &layout.defaults_file,
                settings_file::render_defaults(m, Platform::Macos).into_bytes(),
                0o644,
            )?;
            file(
                payload,
                &admin_example,
                settings_file::render_admin_template(m, Platform::Macos).into_bytes(),
                0o644,
            )?;
            file(payload, &uninstall, render("pkg/uninstall.sh", &sctx)?.into_bytes(), 0o755)?;
            file(
                payload,
                &plist,
                launchd::render_daemon(&spec, label, &layout.log_dir)?.into_bytes(),
                0o644,
            )?;
            for dir in [&layout.state_dir, &layout.log_dir] {
                payload.dir(dir, 0o755).map_err(invalid)?;
            }
            c.preinstall = Some(render("pkg/preinstall", &sctx)?.into_bytes().into());
            c.postinstall = Some(render("pkg/postinstall", &sctx)?.into_bytes().into());
        } else {
            let marker = format!(
                "# {} is installed; `{}` in the settings turns it on.\n",
                f.title,
                f.enabled_by.as_deref().unwrap_or("-")
            );
            c.payload
                .file(&format!("{}/{}.feature", features_dir(m), f.id), marker.into_bytes(), 0o644)
                .map_err(invalid)?;
        }
        components.push(c);
        choices.push(Choice {
            id: f.id.clone(),
            title: f.title.clone(),
            description: Some(f.description.clone()),
            visible: true,
            // The client cannot be deselected.
            enabled: !f.required,
            start_selected: f.required || feature_default_on(m, f),
            packages: vec![id],
        });
    }
    if agent.is_some() {
        return Err(PackageError::Invalid(
            "pkg: no feature available on macOS is `required`, so nothing would install the agent".into(),
        ));
    }
    let mut d = Distribution::new(&m.product.name);
    d.product_id = Some(m.product.bundle_id.clone());
    d.product_version = Some(version.clone());
    // The x86_64 slice's minimum: Installer on an Intel Mac with 10.14 may
    // proceed; an Apple Silicon Mac always has 11.0 or later, the arm64 one.
    d.min_os_version = Some(MACOS_X86_64_MIN_VERSION.to_string());
    d.customize = Customize::Allow;
    d.choices = choices;
    let mut archive = ProductArchive::new(d);
    archive.components = components;
    Ok(archive)
}

/// A feature is selected by default when its enabling setting defaults to on.
fn feature_default_on(m: &Manifest, f: &outpost_manifest::Feature) -> bool {
    f.enabled_by
        .as_deref()
        .and_then(|s| m.setting(s))
        .and_then(|s| s.default_for(Platform::Macos))
        .is_none_or(|v| v == "true")
}
