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
pub mod notarize;
pub mod scripts;
pub mod universal;

use outpost_manifest::{Manifest, Platform};

use crate::cargo::MACOS_X86_64_MIN_VERSION;
use crate::content::{Kind, Payload, Role};
use crate::packager::{BuildContext, Built, PackageError, Packager};
use crate::pkg::{Choice, ComponentPackage, Customize, Distribution, ProductArchive, Tree};
use crate::release::{Scheme, Signature};
use crate::target::{Arch, Format, Target};
use crate::templates::render;

pub use scripts::component_id;

pub struct PkgPackager;

impl Packager for PkgPackager {
    fn format(&self) -> Format {
        Format::Pkg
    }

    fn archs(&self) -> &'static [Arch] {
        &[Arch::Universal2]
    }

    fn scheme(&self) -> Option<Scheme> {
        Some(Scheme::Apple)
    }

    fn check(&self, m: &Manifest) -> Result<(), PackageError> {
        scripts::context(m)?;
        required_feature(m).map(|_| ())
    }

    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError> {
        let m = &ctx.manifest;
        let mut payload = ctx.payload(target)?;
        let agent = &payload.one(Role::Binary).data;
        // The Distribution allows every macOS from the x86_64 minimum on: an
        // agent (e.g. from --agent-bin) that needs more would not start.
        universal::check_universal(agent)?;
        // Each slice is signed before it goes into the payload, so the
        // installed file carries its own signature (Gatekeeper and
        // notarization look at the binary, not only the pkg).
        if let Some(signer) = &ctx.apple {
            let signed = signer.sign_macho(agent, &agent_identifier(m))?;
            payload.replace_data(Role::Binary, signed);
        }
        let mut bytes = product_archive(m, &payload)?.build(ctx.source_date)?;
        let mut signature = Signature::Unsigned;
        if let Some(signer) = &ctx.apple {
            bytes = signer.sign_pkg(&bytes)?;
            signature = Signature::by(Scheme::Apple, signer.is_test_key());
        }
        Ok(Built {
            file_name: format!("{}-{}-{}.pkg", m.product.id, m.product.version, target.arch_word()),
            bytes,
            signature,
        })
    }
}

/// The code-signing identifier of the agent executable.
pub fn agent_identifier(m: &Manifest) -> String {
    format!("{}.agent", m.product.bundle_id)
}

/// The feature whose component installs the client (the agent and its files).
fn required_feature(m: &Manifest) -> Result<&outpost_manifest::Feature, PackageError> {
    m.features_on(Platform::Macos).find(|f| f.required).ok_or_else(|| {
        PackageError::Refused("pkg: no feature available on macOS is `required`, so nothing would install the agent".into())
    })
}

/// One payload entry into a component's tree, as the pkg installs it: the
/// administrator's file as an example beside the agent, folders as folders,
/// and nothing for what the scripts write (the installer answers).
fn add_to_tree(m: &Manifest, tree: &mut Tree, e: &crate::content::Entry) -> Result<(), PackageError> {
    match (e.role, e.kind()) {
        (Role::AdminConfig, _) => tree.file(&scripts::admin_example(m), e.data.to_vec(), e.mode).map(|_| ())?,
        (_, Kind::Ghost) => {}
        (_, Kind::Dir) => tree.dir(&e.path, e.mode).map(|_| ())?,
        _ => tree.file(&e.path, e.data.to_vec(), e.mode).map(|_| ())?,
    }
    Ok(())
}

/// Everything the pkg installs, as components and a Distribution.
pub fn product_archive(m: &Manifest, payload: &Payload) -> Result<ProductArchive, PackageError> {
    let sctx = scripts::context(m)?;
    let version = &m.product.version;
    let client = required_feature(m)?.id.clone();
    let mut components = Vec::new();
    let mut choices = Vec::new();
    for f in m.features_on(Platform::Macos) {
        let id = component_id(m, &f.id);
        let mut c = ComponentPackage::new(&id, version);
        for e in payload.entries() {
            if e.feature.as_deref().unwrap_or(&client) == f.id {
                add_to_tree(m, &mut c.payload, e)?;
            }
        }
        if f.required {
            c.preinstall = Some(render("pkg/preinstall", &sctx)?.into_bytes().into());
            c.postinstall = Some(render("pkg/postinstall", &sctx)?.into_bytes().into());
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
