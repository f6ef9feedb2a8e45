//! A product archive, what productbuild writes and what MDM and
//! `installer -pkg` want: a XAR holding `Distribution` at the root and each
//! component package's members under `<identifier>.pkg/`.
//!
//! The Distribution is the installer's script: title, options, the choices
//! a user (or `-applyChoiceChangesXML`) can toggle, and a `pkg-ref` per
//! component telling where it is (`#<identifier>.pkg`). A choice installs
//! only the components it lists, so anything that can be switched off must
//! be a component of its own.

use std::collections::BTreeSet;

use super::component::{check_identifier, BuiltComponent, ComponentPackage};
use super::error::PkgError;
use super::xar::{Encoding, XarChecksum, XarWriter};
use crate::templates::render;
use serde::Serialize;

/// Whether Installer's GUI offers the "Customize" button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Customize {
    Never,
    Allow,
    Always,
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// The `choiceIdentifier` of ChoiceChangesXML.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub visible: bool,
    /// False: the user cannot change the selection (a core component).
    pub enabled: bool,
    pub start_selected: bool,
    /// Identifiers of the component packages this choice installs.
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Distribution {
    pub title: String,
    pub product_id: Option<String>,
    pub product_version: Option<String>,
    /// Written as `hostArchitectures`; without `arm64` Apple Silicon Macs
    /// ask for Rosetta before installing.
    pub host_architectures: Vec<String>,
    /// `allowed-os-versions`: the oldest macOS, e.g. `11.0`.
    pub min_os_version: Option<String>,
    pub customize: Customize,
    /// In outline order, which is also the order components install in.
    pub choices: Vec<Choice>,
}

impl Distribution {
    /// Universal (x86_64 and arm64), customizable, no choices yet.
    pub fn new(title: &str) -> Distribution {
        Distribution {
            title: title.to_string(),
            product_id: None,
            product_version: None,
            host_architectures: vec!["x86_64".to_string(), "arm64".to_string()],
            min_os_version: None,
            customize: Customize::Allow,
            choices: Vec::new(),
        }
    }

    /// Every choice names known components, every component is in some
    /// choice (else it would never install), ids are unique.
    fn check(&self, components: &[BuiltComponent]) -> Result<(), PkgError> {
        let err = |m: String| Err(PkgError::Product(m));
        if self.title.trim().is_empty() {
            return err("the Distribution title is empty".into());
        }
        if self.choices.is_empty() {
            return err("the Distribution has no choices, so nothing would install".into());
        }
        let mut ids = BTreeSet::new();
        for c in components {
            if !ids.insert(c.identifier.as_str()) {
                return err(format!("component `{}` is added twice", c.identifier));
            }
        }
        let mut choice_ids = BTreeSet::new();
        let mut referenced = BTreeSet::new();
        for choice in &self.choices {
            check_identifier(&choice.id).map_err(PkgError::ChoiceIdentifier)?;
            if !choice_ids.insert(choice.id.as_str()) {
                return err(format!("choice `{}` appears twice", choice.id));
            }
            for p in &choice.packages {
                if !ids.contains(p.as_str()) {
                    return err(format!(
                        "choice `{}` lists component `{p}`, which is not in the archive",
                        choice.id
                    ));
                }
                referenced.insert(p.as_str());
            }
        }
        if let Some(orphan) = ids.difference(&referenced).next() {
            return err(format!("component `{orphan}` is in no choice, so it would never install"));
        }
        Ok(())
    }

    /// The Distribution XML for `components` (already built, since the
    /// `pkg-ref`s repeat their versions and sizes).
    pub fn xml(&self, components: &[BuiltComponent]) -> Result<String, PkgError> {
        self.check(components)?;
        let mut ctx = tera::Context::new();
        ctx.insert("d", self);
        let refs: Vec<_> = components
            .iter()
            .map(|c| {
                serde_json::json!({
                    "identifier": c.identifier,
                    "version": c.version,
                    "install_kbytes": c.install_kbytes,
                })
            })
            .collect();
        ctx.insert("components", &refs);
        render("pkg/Distribution.xml", &ctx).map_err(|e| PkgError::Product(format!("Distribution: {e}")))
    }
}

#[derive(Debug, Clone)]
pub struct ProductArchive {
    pub distribution: Distribution,
    /// In the order their members are stored.
    pub components: Vec<ComponentPackage>,
    pub checksum: XarChecksum,
}

impl ProductArchive {
    pub fn new(distribution: Distribution) -> ProductArchive {
        ProductArchive {
            distribution,
            components: Vec::new(),
            checksum: XarChecksum::Sha1,
        }
    }

    /// The unsigned `.pkg`; `timestamp` goes on every entry and member.
    pub fn build(&self, timestamp: u64) -> Result<Vec<u8>, PkgError> {
        let built = self
            .components
            .iter()
            .map(|c| c.build(timestamp))
            .collect::<Result<Vec<_>, _>>()?;
        write(&self.distribution, &built, self.checksum, timestamp)
    }
}

/// A product archive from components built beforehand.
pub fn write(
    distribution: &Distribution,
    components: &[BuiltComponent],
    checksum: XarChecksum,
    timestamp: u64,
) -> Result<Vec<u8>, PkgError> {
    let xml = distribution.xml(components)?;
    let mut xar = XarWriter::new(checksum, timestamp);
    xar.add("Distribution", xml.as_bytes(), Encoding::Zlib)?;
    for c in components {
        c.add_to(&mut xar, Some(&c.member_dir()))?;
    }
    xar.finish()
}
