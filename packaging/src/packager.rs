//! The seam every format implements: product and target in, bytes out. A
//! format declares here everything `build` needs to know about it (its
//! architectures, its signature scheme, the binaries it packages, the
//! manifest refusals it adds), so `build` names no format.

use std::collections::BTreeMap;
use std::sync::Arc;

use outpost_manifest::Manifest;

use crate::content::Payload;
use crate::release::{Scheme, Signature};
use crate::sign::apple::AppleSigner;
use crate::sign::authenticode::Authenticode;
use crate::sign::openpgp::OpenPgpKey;
use crate::target::{Arch, Format, Target};

/// A binary a format packages, built from this workspace per target triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    /// The agent executable (`agent/`).
    Agent,
    /// The MSI's custom action DLL (`packaging/msi-ca`).
    MsiCustomAction,
}

/// Everything a packager may read. Packagers do no I/O of their own except
/// through this, which keeps them testable and builds reproducible. Cloning
/// copies the manifest; the rest is shared.
#[derive(Clone)]
pub struct BuildContext {
    pub manifest: Manifest,
    /// The binaries per input and Rust target triple.
    pub binaries: BTreeMap<(Input, String), Arc<[u8]>>,
    /// The content of each `[[file]]` of the manifest, by its `source`.
    pub files: BTreeMap<std::path::PathBuf, Arc<[u8]>>,
    /// Seconds since the epoch stamped on every file and header.
    pub source_date: u64,
    /// The signer of each scheme, when the build signs (`crate::signers`).
    pub openpgp: Option<Arc<OpenPgpKey>>,
    pub authenticode: Option<Arc<Authenticode>>,
    pub apple: Option<Arc<AppleSigner>>,
}

impl BuildContext {
    pub fn binary(&self, input: Input, target: &Target) -> Result<Arc<[u8]>, PackageError> {
        let triple = target.arch.rust_triple(target.platform);
        self.binaries
            .get(&(input, triple.to_string()))
            .cloned()
            .ok_or(PackageError::Missing { input, triple })
    }

    /// What `target`'s package installs (`crate::content`).
    pub fn payload(&self, target: &Target) -> Result<Payload, PackageError> {
        Payload::of(self, target)
    }
}

pub struct Built {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub signature: Signature,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("no {input:?} binary was built for {triple}")]
    Missing { input: Input, triple: &'static str },
    #[error(transparent)]
    Render(#[from] crate::templates::RenderError),
    /// A refusal of our own: the manifest asks for what the format cannot
    /// express. The message names the key and says what is allowed.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Elf(#[from] crate::linux::deps::ElfError),
    #[error("pkg: {0}")]
    MachO(#[from] crate::macos::universal::MachOError),
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
    /// The architectures this format builds, one package each.
    fn archs(&self) -> &'static [Arch];
    /// The binaries its packages hold.
    fn inputs(&self) -> &'static [Input] {
        &[Input::Agent]
    }
    /// The scheme its packages are signed with, when the build signs.
    fn scheme(&self) -> Option<Scheme>;
    /// Every refusal of the manifest this format adds to the manifest's own
    /// validation, without compiling or compressing anything: `omnipack
    /// check` runs it, and `build` runs it before any work.
    fn check(&self, _m: &Manifest) -> Result<(), PackageError> {
        Ok(())
    }
    fn package(&self, ctx: &BuildContext, target: &Target) -> Result<Built, PackageError>;

    fn targets(&self) -> Vec<Target> {
        self.archs().iter().map(|a| Target::new(self.format(), *a)).collect()
    }
}
