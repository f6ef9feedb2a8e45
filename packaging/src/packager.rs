//! The seam every format implements: product and target in, bytes out.

use std::path::PathBuf;
use std::sync::Arc;

use outpost_manifest::Manifest;

use crate::sign::openpgp::OpenPgpKey;
use crate::target::{Format, Target};

/// Everything a packager may read. Packagers do no I/O of their own except
/// through this, which keeps them testable and builds reproducible.
pub struct BuildContext {
    pub manifest: Manifest,
    /// Where the manifest came from, for messages.
    pub manifest_path: PathBuf,
    /// The agent executable per Rust target triple.
    pub agent: std::collections::BTreeMap<String, Arc<[u8]>>,
    /// The MSI custom action DLL (packaging/msi-ca) per Windows triple.
    pub msi_ca: std::collections::BTreeMap<String, Arc<[u8]>>,
    /// Seconds since the epoch stamped on every file and header.
    pub source_date: u64,
    /// OpenPGP key for formats signed with OpenPGP (rpm).
    pub openpgp: Option<Arc<OpenPgpKey>>,
    /// Authenticode signer for Windows formats (exe inside, then the MSI).
    pub authenticode: Option<Arc<crate::sign::authenticode::Authenticode>>,
    /// Developer ID identities for macOS (the agent's Mach-O, then the pkg).
    pub apple: Option<Arc<crate::sign::apple::AppleSigner>>,
}

impl BuildContext {
    pub fn agent_for(&self, target: &Target) -> Result<Arc<[u8]>, PackageError> {
        let triple = target.arch.rust_triple(target.platform);
        self.agent
            .get(triple)
            .cloned()
            .ok_or_else(|| PackageError::MissingAgent(triple.to_string()))
    }

    pub fn msi_ca_for(&self, target: &Target) -> Result<Arc<[u8]>, PackageError> {
        let triple = target.arch.rust_triple(target.platform);
        self.msi_ca
            .get(triple)
            .cloned()
            .ok_or_else(|| PackageError::MissingMsiCa(triple.to_string()))
    }
}

pub struct Built {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// The signature scheme applied, e.g. `openpgp`, or None.
    pub signed: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("no agent binary was built for {0}")]
    MissingAgent(String),
    #[error("no MSI custom action DLL was built for {0}")]
    MissingMsiCa(String),
    #[error(transparent)]
    Render(#[from] crate::templates::RenderError),
    #[error("{0}")]
    Invalid(String),
    #[error("rpm: {0}")]
    Rpm(#[from] ::rpm::Error),
    #[error("MSI: {0}")]
    Msi(#[from] crate::msi::MsiError),
    #[error("pkg: {0}")]
    Pkg(#[from] crate::pkg::PkgError),
    #[error(transparent)]
    Sign(#[from] crate::sign::SignError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

pub trait Packager: Sync {
    fn format(&self) -> Format;
    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError>;
}

/// The registry: an explicit match, no global side effects.
pub fn packager(format: Format) -> &'static dyn Packager {
    match format {
        Format::Deb => &crate::deb::DebPackager,
        Format::Rpm => &crate::rpm::RpmPackager,
        Format::Msi => &crate::windows::MsiPackager,
        Format::Pkg => &crate::macos::PkgPackager,
    }
}
