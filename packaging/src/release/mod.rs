//! `release.json`: the contract the tests and the release pipeline read, as
//! types. The JSON is exactly what it always was (strings in each format's
//! own words); in memory an artifact is a [`Target`] and a [`Signature`],
//! so no reader filters on `"msi"` or `"x64"` and a typo cannot mark a
//! throwaway-signed package fit for release.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::target::{Arch, Format, Target};

mod json;

pub const FILE_NAME: &str = "release.json";

/// Everything a release folder holds besides `SHA256SUMS`: on disk one
/// `artifacts` array, told apart by `format` (`zip` for a bundle,
/// `cyclonedx` for an SBOM, else a package).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    /// The installers.
    pub artifacts: Vec<Artifact>,
    /// The downloads that gather them (a full build only).
    pub bundles: Vec<BundleArtifact>,
    /// One per installer (a full build only).
    pub sboms: Vec<SbomArtifact>,
}

impl Release {
    /// Every file release.json lists, with its recorded hash and size.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        let a = self.artifacts.iter().map(|a| (a.path.as_str(), a.sha256.as_str(), a.size));
        let b = self.bundles.iter().map(|b| (b.path.as_str(), b.sha256.as_str(), b.size));
        let s = self.sboms.iter().map(|s| (s.path.as_str(), s.sha256.as_str(), s.size));
        a.chain(b).chain(s)
    }
}

/// The three downloads of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bundle {
    /// Both MSIs, their release.json, the answer-file template, a README.
    Windows,
    /// The deb, rpm and pkg, the repository keys, the macOS profile template.
    NonWindows,
    /// The deployment assistant for Windows administrators.
    Assistant,
}

impl Bundle {
    pub const ALL: [Bundle; 3] = [Bundle::Windows, Bundle::NonWindows, Bundle::Assistant];

    /// As release.json's `bundle` field has it.
    pub fn as_str(self) -> &'static str {
        match self {
            Bundle::Windows => "windows",
            Bundle::NonWindows => "non-windows",
            Bundle::Assistant => "assistant",
        }
    }

    /// `outpost-2.1.0-windows.zip`, `outpost-assist-2.1.0-windows.zip`.
    pub fn file_name(self, product_id: &str, version: &str) -> String {
        match self {
            Bundle::Windows => format!("{product_id}-{version}-windows.zip"),
            Bundle::NonWindows => format!("{product_id}-{version}-non-windows.zip"),
            Bundle::Assistant => format!("{product_id}-assist-{version}-windows.zip"),
        }
    }
}

/// A zip of a release's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleArtifact {
    pub path: String,
    pub bundle: Bundle,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    /// The names inside the zip, in its order.
    pub contents: Vec<String>,
}

/// A CycloneDX SBOM of one installer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomArtifact {
    pub path: String,
    /// The installer it describes (its `path` in release.json).
    pub describes: String,
    pub target: Target,
    pub version: String,
    pub sha256: String,
    pub size: u64,
}

pub const ZIP: &str = "zip";
pub const CYCLONEDX: &str = "cyclonedx";

/// How a package is signed, said by whoever signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    OpenPgp,
    Authenticode,
    Apple,
}

impl Scheme {
    pub const ALL: [Scheme; 3] = [Scheme::OpenPgp, Scheme::Authenticode, Scheme::Apple];

    /// As `release.json`'s `signed` field has it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::OpenPgp => "openpgp",
            Scheme::Authenticode => "authenticode",
            Scheme::Apple => "apple",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    Unsigned,
    /// Signed with a key the build was given.
    Release(Scheme),
    /// Signed with a throwaway key omnipack made: never to be released.
    Test(Scheme),
}

impl Signature {
    /// A signature by `scheme` with a key that is, or is not, a test key.
    pub fn by(scheme: Scheme, test_key: bool) -> Signature {
        if test_key {
            Signature::Test(scheme)
        } else {
            Signature::Release(scheme)
        }
    }

    pub fn scheme(self) -> Option<Scheme> {
        match self {
            Signature::Unsigned => None,
            Signature::Release(s) | Signature::Test(s) => Some(s),
        }
    }

    pub fn is_test(self) -> bool {
        matches!(self, Signature::Test(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Relative to the folder holding release.json.
    pub path: String,
    pub target: Target,
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub signature: Signature,
}

impl Artifact {
    pub fn new(path: String, target: Target, version: String, bytes: &[u8], signature: Signature) -> Artifact {
        Artifact {
            path,
            target,
            version,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
            signature,
        }
    }

    pub fn format(&self) -> Format {
        self.target.format
    }

    pub fn arch(&self) -> Arch {
        self.target.arch
    }
}

/// `release.json` of a build folder that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{path}: cannot read (is it a build output folder?): {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a release manifest: {source}")]
    NotARelease {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: listed in {release} but cannot be read: {source}")]
    Missing {
        file: PathBuf,
        release: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: does not match the sha256/size recorded in {release}; refusing to use an altered package")]
    Altered { file: PathBuf, release: PathBuf },
}

/// A build folder's release.json with every artifact's file checked
/// against it, so a package altered after the build is never used.
pub struct Checked {
    pub release: Release,
    /// Each artifact with its file, in release.json's order.
    pub files: Vec<(Artifact, PathBuf)>,
}

impl Checked {
    pub fn of(&self, format: Format) -> impl Iterator<Item = &(Artifact, PathBuf)> {
        self.files.iter().filter(move |(a, _)| a.format() == format)
    }
}

/// Reads `dir/release.json` and checks every listed file's sha256 and size
/// (bundles and SBOMs too).
pub fn read(dir: &Path) -> Result<Checked, ReleaseError> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read(&path).map_err(|source| ReleaseError::Unreadable { path: path.clone(), source })?;
    let release: Release =
        serde_json::from_slice(&text).map_err(|source| ReleaseError::NotARelease { path: path.clone(), source })?;
    for (name, sha256, size) in release.files() {
        let file = dir.join(name);
        let bytes = std::fs::read(&file).map_err(|source| ReleaseError::Missing {
            file: file.clone(),
            release: path.clone(),
            source,
        })?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 || bytes.len() as u64 != size {
            return Err(ReleaseError::Altered { file, release: path });
        }
    }
    let files = release.artifacts.iter().map(|a| (a.clone(), dir.join(&a.path))).collect();
    Ok(Checked { release, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_and_signature_reads_back_as_written() {
        for format in Format::ALL {
            for arch in Arch::ALL {
                let target = Target::new(format, arch);
                for signature in [Signature::Unsigned, Signature::Release(Scheme::Apple), Signature::Test(Scheme::OpenPgp)] {
                    let a = Artifact::new("x".into(), target, "1.0".into(), b"abc", signature);
                    let json = serde_json::to_string(&a).unwrap();
                    let back: Artifact = serde_json::from_str(&json).unwrap();
                    assert_eq!(back, a, "{json}");
                }
            }
        }
    }

    #[test]
    fn the_json_keeps_its_field_names_and_words() {
        let a = Artifact::new(
            "outpost_2.1.0-1_amd64.deb".into(),
            Target::new(Format::Deb, Arch::X86_64),
            "2.1.0".into(),
            b"",
            Signature::Test(Scheme::OpenPgp),
        );
        let v: serde_json::Value = serde_json::to_value(&a).unwrap();
        assert_eq!(v["format"], "deb");
        assert_eq!(v["platform"], "linux");
        assert_eq!(v["arch"], "amd64");
        assert_eq!(v["signed"], "openpgp");
        assert_eq!(v["test_signed"], true);
        assert_eq!(v["target"], "linux-amd64-deb");
    }

    #[test]
    fn inconsistent_or_unknown_words_are_refused() {
        let good = serde_json::to_value(Artifact::new(
            "a.msi".into(),
            Target::new(Format::Msi, Arch::X86),
            "1".into(),
            b"",
            Signature::Unsigned,
        ))
        .unwrap();
        for (key, value, says) in [
            ("arch", "amd64", "no msi architecture is called `amd64`"),
            ("format", "apk", "unknown format `apk`"),
            ("platform", "linux", "do not agree"),
            ("signed", "gpg", "unknown signature scheme `gpg`"),
        ] {
            let mut bad = good.clone();
            bad[key] = value.into();
            let e = serde_json::from_value::<Artifact>(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{key}={value}: {e}");
        }
    }

    #[test]
    fn bundles_and_sboms_share_the_artifacts_array_and_read_back() {
        let deb = Artifact::new("o.deb".into(), Target::new(Format::Deb, Arch::X86_64), "1".into(), b"d", Signature::Unsigned);
        let release = Release {
            artifacts: vec![deb],
            bundles: vec![BundleArtifact {
                path: "o-1-windows.zip".into(),
                bundle: Bundle::Windows,
                version: "1".into(),
                sha256: "00".into(),
                size: 3,
                contents: vec!["a.msi".into(), "release.json".into()],
            }],
            sboms: vec![SbomArtifact {
                path: "o.deb.cdx.json".into(),
                describes: "o.deb".into(),
                target: Target::new(Format::Deb, Arch::X86_64),
                version: "1".into(),
                sha256: "11".into(),
                size: 4,
            }],
        };
        let v = serde_json::to_value(&release).unwrap();
        let formats: Vec<&str> = v["artifacts"].as_array().unwrap().iter().map(|a| a["format"].as_str().unwrap()).collect();
        assert_eq!(formats, ["deb", "zip", "cyclonedx"]);
        assert_eq!(v["artifacts"][1]["bundle"], "windows");
        assert_eq!(v["artifacts"][2]["target"], "linux-amd64-deb");
        let back: Release = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, release);
        let mut bad = v;
        bad["artifacts"][1]["bundle"] = "mac".into();
        let e = serde_json::from_value::<Release>(bad).unwrap_err().to_string();
        assert!(e.contains("unknown bundle `mac`"), "{e}");
    }
}
