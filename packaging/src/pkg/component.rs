//! A component package, what pkgbuild writes: a XAR holding
//!
//! * `Bom`: the payload's bill of materials (zlib-stored);
//! * `Payload`: gzip'd odc cpio of the files under the install location;
//! * `Scripts`: gzip'd odc cpio of `./preinstall`, `./postinstall` and their
//!   helpers (only when there are scripts);
//! * `PackageInfo`: identifier, version, install location, payload size and
//!   the scripts Installer runs (zlib-stored).
//!
//! Inside a product archive the same four members sit under `<identifier>.pkg/`.

use std::sync::Arc;

use super::error::{IdentifierError, PkgError};
use super::tree::{Kind, Tree};
use super::xar::{Encoding, XarChecksum, XarWriter};
use super::{bom, cpio};
use crate::templates::render;

#[derive(Debug, Clone)]
pub struct ComponentPackage {
    /// Reverse-DNS identifier: the receipt name (`pkgutil --pkgs`), the key
    /// for upgrades, and in a product archive the `<identifier>.pkg` member.
    pub identifier: String,
    pub version: String,
    /// Absolute path the payload's root is installed to.
    pub install_location: String,
    pub payload: Tree,
    /// Run before the payload is laid down; must start with `#!`.
    pub preinstall: Option<Arc<[u8]>>,
    /// Run after the payload is laid down; must start with `#!`.
    pub postinstall: Option<Arc<[u8]>>,
    /// Other files in Scripts, beside the two scripts (helpers they call).
    pub script_helpers: Tree,
}

/// The members of a built component package and the figures the
/// Distribution's `pkg-ref` repeats.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    pub identifier: String,
    pub version: String,
    pub bom: Arc<[u8]>,
    pub payload: Arc<[u8]>,
    pub scripts: Option<Arc<[u8]>>,
    pub package_info: String,
    /// Payload entries, the root `.` included.
    pub number_of_files: u64,
    /// Payload file and link sizes, each rounded up to KiB.
    pub install_kbytes: u64,
}

impl ComponentPackage {
    /// An empty component installed at `/`.
    pub fn new(identifier: &str, version: &str) -> ComponentPackage {
        ComponentPackage {
            identifier: identifier.to_string(),
            version: version.to_string(),
            install_location: "/".to_string(),
            payload: Tree::new(),
            preinstall: None,
            postinstall: None,
            script_helpers: Tree::new(),
        }
    }

    fn error(&self, reason: impl Into<String>) -> PkgError {
        PkgError::Component {
            identifier: self.identifier.clone(),
            reason: reason.into(),
        }
    }

    /// Builds Bom, Payload, Scripts and PackageInfo; `timestamp` is every
    /// entry's mtime.
    pub fn build(&self, timestamp: u64) -> Result<BuiltComponent, PkgError> {
        check_identifier(&self.identifier).map_err(|source| PkgError::ComponentIdentifier {
            identifier: self.identifier.clone(),
            source,
        })?;
        if self.version.trim().is_empty() {
            return Err(self.error("the version is empty"));
        }
        if !self.install_location.starts_with('/') {
            return Err(self.error(format!("install location `{}` is not absolute", self.install_location)));
        }
        let scripts = self.scripts_tree()?;

        let entries = self.payload.entries();
        let number_of_files = entries.len() as u64;
        let install_kbytes = entries
            .iter()
            .filter(|e| !matches!(e.kind, Kind::Dir))
            .map(|e| (e.data().len() as u64).div_ceil(1024))
            .sum();

        let context = |what: &str| format!("{what} of {}", self.identifier);
        // The payload dominates the time; compress it beside the rest.
        let (payload, rest) = std::thread::scope(|s| {
            let payload = s.spawn(|| cpio::archive(&self.payload, timestamp, &context("the Payload")));
            let bom = bom::bom(&self.payload, timestamp);
            let scripts = scripts
                .as_ref()
                .map(|t| cpio::archive(t, timestamp, &context("the Scripts")))
                .transpose();
            (payload.join().expect("payload compression thread"), (bom, scripts))
        });
        let (bom, scripts_archive) = rest;
        let package_info = self.package_info_xml(number_of_files, install_kbytes)?;
        Ok(BuiltComponent {
            identifier: self.identifier.clone(),
            version: self.version.clone(),
            bom: bom?.into(),
            payload: payload?.into(),
            scripts: scripts_archive?.map(Into::into),
            package_info,
            number_of_files,
            install_kbytes,
        })
    }

    /// Scripts as pkgbuild archives them: executable, at the top level.
    fn scripts_tree(&self) -> Result<Option<Tree>, PkgError> {
        if self.preinstall.is_none() && self.postinstall.is_none() && self.script_helpers.is_empty() {
            return Ok(None);
        }
        let mut tree = self.script_helpers.clone();
        for (name, script) in [("preinstall", &self.preinstall), ("postinstall", &self.postinstall)] {
            if let Some(script) = script {
                // Installer execs the script; without an interpreter line
                // that fails and so does the whole installation.
                if !script.starts_with(b"#!") {
                    return Err(self.error(format!("the {name} script does not start with `#!`")));
                }
                tree.file(name, script.clone(), 0o755)
                    .map_err(|e| self.error(format!("scripts: {e}")))?;
            }
        }
        Ok(Some(tree))
    }

    /// PackageInfo as pkgbuild writes it, attribute for attribute
    /// (`templates/pkg/PackageInfo.xml`).
    fn package_info_xml(&self, number_of_files: u64, install_kbytes: u64) -> Result<String, PkgError> {
        let mut ctx = tera::Context::new();
        ctx.insert(
            "c",
            &serde_json::json!({
                "identifier": self.identifier,
                "version": self.version,
                "install_location": self.install_location,
                "number_of_files": number_of_files,
                "install_kbytes": install_kbytes,
                "preinstall": self.preinstall.is_some(),
                "postinstall": self.postinstall.is_some(),
            }),
        );
        ctx.insert("generator", concat!("omnipack ", env!("CARGO_PKG_VERSION")));
        render("pkg/PackageInfo.xml", &ctx).map_err(|e| self.error(format!("PackageInfo: {e}")))
    }
}

impl BuiltComponent {
    /// Adds the members under `dir` (None: at the archive's root).
    pub(crate) fn add_to(&self, xar: &mut XarWriter, dir: Option<&str>) -> Result<(), PkgError> {
        let at = |name: &str| dir.map_or(name.to_string(), |d| format!("{d}/{name}"));
        xar.add(&at("Bom"), self.bom.clone(), Encoding::Zlib)?;
        xar.add(&at("Payload"), self.payload.clone(), Encoding::Stored)?;
        if let Some(scripts) = &self.scripts {
            xar.add(&at("Scripts"), scripts.clone(), Encoding::Stored)?;
        }
        xar.add(&at("PackageInfo"), self.package_info.as_bytes(), Encoding::Zlib)?;
        Ok(())
    }

    /// A standalone component package, as `pkgbuild` writes one.
    pub fn flat_package(&self, checksum: XarChecksum, timestamp: u64) -> Result<Vec<u8>, PkgError> {
        let mut xar = XarWriter::new(checksum, timestamp);
        self.add_to(&mut xar, None)?;
        xar.finish()
    }

    /// The member directory in a product archive, also the `#…` reference
    /// of its `pkg-ref`.
    pub fn member_dir(&self) -> String {
        format!("{}.pkg", self.identifier)
    }
}

/// Identifiers become a XAR directory name and a URL fragment in the
/// Distribution, so only reverse-DNS characters are allowed.
pub(crate) fn check_identifier(id: &str) -> Result<(), IdentifierError> {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if id.is_empty() || !ok_chars || id.starts_with('.') || id.ends_with('.') || id.contains("..") {
        return Err(IdentifierError(id.to_string()));
    }
    Ok(())
}
