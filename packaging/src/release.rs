//! `release.json`: the contract the tests and the release pipeline read, as
//! types. The JSON is exactly what it always was (strings in each format's
//! own words); in memory an artifact is a [`Target`] and a [`Signature`],
//! so no reader filters on `"msi"` or `"x64"` and a typo cannot mark a
//! throwaway-signed package fit for release.

use std::path::{Path, PathBuf};

use outpost_manifest::Platform;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::target::{Arch, Format, Target};

pub const FILE_NAME: &str = "release.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Release {
    pub artifacts: Vec<Artifact>,
}

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

/// The JSON shape, field for field as release.json has always had it.
#[derive(Serialize, Deserialize)]
struct ArtifactJson {
    path: String,
    format: String,
    platform: String,
    /// In the platform's own words: amd64, x86_64, x64, x86, universal2.
    arch: String,
    version: String,
    sha256: String,
    size: u64,
    /// Signature scheme, or null when unsigned.
    signed: Option<String>,
    /// True when signed with a throwaway test key.
    #[serde(default)]
    test_signed: bool,
    /// `platform-arch-format`.
    target: String,
}

impl Serialize for Artifact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.target;
        ArtifactJson {
            path: self.path.clone(),
            format: t.format.to_string(),
            platform: t.platform.to_string(),
            arch: t.arch_word().to_string(),
            version: self.version.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
            signed: self.signature.scheme().map(|s| s.as_str().to_string()),
            test_signed: self.signature.is_test(),
            target: t.to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Artifact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Artifact, D::Error> {
        use serde::de::Error;
        let j = ArtifactJson::deserialize(d)?;
        let format: Format = j.format.parse().map_err(D::Error::custom)?;
        let arch = Arch::from_word(format, &j.arch)
            .ok_or_else(|| D::Error::custom(format!("`{}`: no {format} architecture is called `{}`", j.path, j.arch)))?;
        let target = Target::new(format, arch);
        if Platform::parse(&j.platform) != Some(target.platform) || j.target != target.to_string() {
            return Err(D::Error::custom(format!(
                "`{}`: platform `{}` and target `{}` do not agree with format {format} and arch {}",
                j.path, j.platform, j.target, j.arch
            )));
        }
        let signature = match j.signed.as_deref() {
            None if j.test_signed => return Err(D::Error::custom(format!("`{}`: test_signed without a signature", j.path))),
            None => Signature::Unsigned,
            Some(name) => {
                let scheme = Scheme::ALL
                    .into_iter()
                    .find(|s| s.as_str() == name)
                    .ok_or_else(|| D::Error::custom(format!("`{}`: unknown signature scheme `{name}`", j.path)))?;
                Signature::by(scheme, j.test_signed)
            }
        };
        Ok(Artifact {
            path: j.path,
            target,
            version: j.version,
            sha256: j.sha256,
            size: j.size,
            signature,
        })
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

/// Reads `dir/release.json` and checks every listed file's sha256 and size.
pub fn read(dir: &Path) -> Result<Checked, ReleaseError> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read(&path).map_err(|source| ReleaseError::Unreadable { path: path.clone(), source })?;
    let release: Release =
        serde_json::from_slice(&text).map_err(|source| ReleaseError::NotARelease { path: path.clone(), source })?;
    let mut files = Vec::new();
    for a in &release.artifacts {
        let file = dir.join(&a.path);
        let bytes = std::fs::read(&file).map_err(|source| ReleaseError::Missing {
            file: file.clone(),
            release: path.clone(),
            source,
        })?;
        if hex::encode(Sha256::digest(&bytes)) != a.sha256 || bytes.len() as u64 != a.size {
            return Err(ReleaseError::Altered { file, release: path });
        }
        files.push((a.clone(), file));
    }
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
}
