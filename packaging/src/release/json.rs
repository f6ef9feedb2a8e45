//! release.json on disk: one `artifacts` array whose entries are told
//! apart by `format`, each field as it has always been spelled.

use outpost_manifest::Platform;
use serde::{Deserialize, Serialize};

use super::{Artifact, Bundle, BundleArtifact, Release, SbomArtifact, Scheme, Signature, CYCLONEDX, ZIP};
use crate::target::{Arch, Format, Target};

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

#[derive(Serialize, Deserialize)]
struct BundleJson {
    path: String,
    format: String,
    bundle: String,
    version: String,
    sha256: String,
    size: u64,
    signed: Option<String>,
    test_signed: bool,
    contents: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct SbomJson {
    path: String,
    format: String,
    describes: String,
    platform: String,
    arch: String,
    /// The installer's target.
    target: String,
    version: String,
    sha256: String,
    size: u64,
    signed: Option<String>,
    test_signed: bool,
}

#[derive(Serialize)]
struct ReleaseOut<'a> {
    artifacts: Vec<Entry<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Package(&'a Artifact),
    Bundle(BundleJson),
    Sbom(SbomJson),
}

impl Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let packages = self.artifacts.iter().map(Entry::Package);
        let bundles = self.bundles.iter().map(|b| {
            Entry::Bundle(BundleJson {
                path: b.path.clone(),
                format: ZIP.into(),
                bundle: b.bundle.as_str().into(),
                version: b.version.clone(),
                sha256: b.sha256.clone(),
                size: b.size,
                signed: None,
                test_signed: false,
                contents: b.contents.clone(),
            })
        });
        let sboms = self.sboms.iter().map(|b| {
            Entry::Sbom(SbomJson {
                path: b.path.clone(),
                format: CYCLONEDX.into(),
                describes: b.describes.clone(),
                platform: b.target.platform.to_string(),
                arch: b.target.arch_word().into(),
                target: b.target.to_string(),
                version: b.version.clone(),
                sha256: b.sha256.clone(),
                size: b.size,
                signed: None,
                test_signed: false,
            })
        });
        ReleaseOut { artifacts: packages.chain(bundles).chain(sboms).collect() }.serialize(s)
    }
}

#[derive(Deserialize)]
struct ReleaseIn {
    artifacts: Vec<serde_json::Value>,
}

impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Release, D::Error> {
        use serde::de::Error;
        let mut release = Release::default();
        for v in ReleaseIn::deserialize(d)?.artifacts {
            match v.get("format").and_then(|f| f.as_str()) {
                Some(ZIP) => {
                    let j: BundleJson = serde_json::from_value(v).map_err(D::Error::custom)?;
                    let bundle = Bundle::ALL.into_iter().find(|b| b.as_str() == j.bundle).ok_or_else(|| {
                        let known: Vec<&str> = Bundle::ALL.iter().map(|b| b.as_str()).collect();
                        D::Error::custom(format!("`{}`: unknown bundle `{}`; known: {}", j.path, j.bundle, known.join(", ")))
                    })?;
                    release.bundles.push(BundleArtifact {
                        path: j.path,
                        bundle,
                        version: j.version,
                        sha256: j.sha256,
                        size: j.size,
                        contents: j.contents,
                    });
                }
                Some(CYCLONEDX) => {
                    let j: SbomJson = serde_json::from_value(v).map_err(D::Error::custom)?;
                    let target = target_of(&j.path, &j.target).map_err(D::Error::custom)?;
                    release.sboms.push(SbomArtifact {
                        path: j.path,
                        describes: j.describes,
                        target,
                        version: j.version,
                        sha256: j.sha256,
                        size: j.size,
                    });
                }
                _ => release.artifacts.push(serde_json::from_value(v).map_err(D::Error::custom)?),
            }
        }
        Ok(release)
    }
}

/// An SBOM's `target` that is not the `platform-arch-format` of a package.
#[derive(Debug, thiserror::Error)]
#[error("`{path}`: installer target `{word}`: {reason}")]
struct TargetWordError {
    path: String,
    word: String,
    reason: String,
}

/// `platform-arch-format` back to a target.
fn target_of(path: &str, word: &str) -> Result<Target, TargetWordError> {
    let bad = |reason: String| TargetWordError { path: path.into(), word: word.into(), reason };
    let mut parts = word.rsplitn(3, '-');
    let (Some(format), Some(arch), Some(platform)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not platform-arch-format".into()));
    };
    let format: Format = format.parse().map_err(|e: crate::target::UnknownFormat| bad(e.to_string()))?;
    let arch = Arch::from_word(format, arch).ok_or_else(|| bad(format!("no {format} architecture is called `{arch}`")))?;
    let t = Target::new(format, arch);
    if Platform::parse(platform) != Some(t.platform) {
        return Err(bad(format!("platform `{platform}` is not {format}'s")));
    }
    Ok(t)
}
