//! CycloneDX SBOMs for the installers (issue 15): for each installer, the
//! binaries it carries with every crate compiled into them (name, version,
//! licence, purl, the crates.io archive's SHA-256, the dependency graph) and
//! every file it installs with its SHA-256. Which crates: `cargo metadata
//! --filter-platform` per triple (`crates`), narrowed to what the one
//! package builds with its default features (`features`). Nothing of the
//! build machine goes in (no manifest paths, no target folder); the time is
//! the build's source date and the serial number is derived from the
//! content, so two builds of one commit give identical bytes.

mod cache;
mod crates;
mod cyclonedx;
mod features;
mod metadata;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

pub use crates::{CompiledIn, Crate, Crates, Origin};
pub use cyclonedx::SPEC_VERSION;

use crate::content::Role;
use crate::macos::universal;
use crate::packager::{BuildContext, Input, PackageError};
use crate::target::Target;

#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("running `{command}`: {source} (is cargo installed?)")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` for {triple} failed ({status}): {stderr} (it runs offline: every crate of Cargo.lock must be in cargo's cache, which `cargo fetch --locked` fills)")]
    Cargo { triple: String, command: String, status: ExitStatus, stderr: String },
    #[error("reading the output of `{command}` for {triple}: {source}")]
    Metadata {
        triple: String,
        command: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a Cargo.lock: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("the crates for {triple} were not resolved: pass it to Crates::resolve (sbom::triples gives a target's)")]
    NotResolved { triple: String },
    #[error("cargo metadata for {triple} has no workspace package `{package}`")]
    NoPackage { triple: String, package: String },
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("reading the installer back: {0}")]
    Inspect(#[from] crate::inspect::InspectError),
    #[error("writing the SBOM: {0}")]
    Json(#[from] serde_json::Error),
}

/// The SBOM's file name beside its installer.
pub fn file_name(installer_file_name: &str) -> String {
    format!("{installer_file_name}.cdx.json")
}

/// The Rust target triples `target`'s binaries are compiled for: one, or
/// both slices of a universal binary.
pub fn triples(target: &Target) -> Vec<&'static str> {
    match target.arch.rust_triple(target.platform) {
        universal::UNIVERSAL2 => vec![universal::Arch::X86_64.rust_triple(), universal::Arch::Arm64.rust_triple()],
        triple => vec![triple],
    }
}

/// The workspace package each input is built from.
pub fn package_of(input: Input) -> &'static str {
    match input {
        Input::Agent => "outpost-agent",
        Input::MsiCustomAction => "omnipack-msi-ca",
    }
}

/// A file the installer carries: where it goes, its SHA-256, and its role
/// in the content model when the model has it.
pub struct InstalledFile {
    /// As the package spells it (an MSI's in its folder notation,
    /// `[ProgramFiles64Folder]\Outpost\...`).
    pub path: String,
    pub sha256: String,
    pub role: Option<Role>,
}

/// The files in the installer's bytes, read back by `inspect` (so what the
/// format moved, added or signed is listed as shipped), each with the role
/// of the content-model entry of the same content or, failing that (a
/// signed binary), the same file name.
pub fn installed_files(ctx: &BuildContext, target: &Target, installer: &str, bytes: &[u8]) -> Result<Vec<InstalledFile>, SbomError> {
    let package = crate::inspect::inspect_bytes(Path::new(installer), bytes)?;
    let payload = ctx.payload(target)?;
    let entries = payload.entries();
    let base = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
    Ok(package
        .files
        .into_iter()
        .filter(|(_, f)| f.kind == "file")
        .filter_map(|(path, f)| {
            // A ghost (the rpm's answers file) has no content to list.
            let sha256 = f.sha256?;
            let role = entries
                .iter()
                .find(|e| e.sha256() == sha256)
                .or_else(|| entries.iter().find(|e| base(&e.path) == base(&path)))
                .map(|e| e.role);
            Some(InstalledFile { path, sha256, role })
        })
        .collect())
}

/// The SBOM of the installer `installer_file_name` built for `target`,
/// whose bytes are `installer`; `crates` must have resolved
/// [`triples`]`(target)`.
pub fn installer_sbom(
    ctx: &BuildContext,
    target: &Target,
    installer_file_name: &str,
    installer: &[u8],
    crates: &Crates,
) -> Result<Vec<u8>, SbomError> {
    let installed = installed_files(ctx, target, installer_file_name, installer)?;
    let triples = triples(target);
    let mut binaries = Vec::new();
    for input in crate::formats::packager(target.format).inputs() {
        let package = package_of(*input);
        let compiled_in = crates.compiled_into(package, &triples)?;
        let installed = match input {
            Input::Agent => installed.iter().find(|f| f.role == Some(Role::Binary)).map(|f| (f.path.clone(), f.sha256.clone())),
            Input::MsiCustomAction => None,
        };
        binaries.push(cyclonedx::Binary { package, triples: triples.clone(), compiled_in, installed });
    }
    let subject = cyclonedx::Subject {
        installer_file_name,
        product: &ctx.manifest.product,
        target: target.to_string(),
        source_date: ctx.source_date,
    };
    Ok(cyclonedx::document(&subject, &binaries, &installed)?)
}
