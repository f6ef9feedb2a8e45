//! What a build of every format adds to the packages: the deployment
//! assistant for Windows (signed like the MSIs), the three bundles, an SBOM
//! per installer, and the checksums of everything, signed by the release key.

use std::borrow::Cow;

use anyhow::Context as _;

use super::BuildOptions;
use crate::bundle::{self, Inputs};
use crate::checksums;
use crate::packager::{BuildContext, Built};
use crate::release::{Artifact, Release, SbomArtifact, Scheme, Signature};
use crate::sbom::{self, Crates};
use crate::sign::openpgp::OpenPgpKey;
use crate::sign::Signer as _;
use crate::target::Target;

/// A file of the release folder: its name and bytes.
pub(super) type File<'a> = (String, Cow<'a, [u8]>);

/// The assistant's bytes: given with `--assistant-bin`, else built.
pub(super) fn assistant_exe(opts: &BuildOptions, ws: &crate::cargo::Workspace) -> anyhow::Result<Vec<u8>> {
    let path = match &opts.assistant {
        Some(p) => p.clone(),
        None => crate::cargo::build_assistant(ws)?,
    };
    std::fs::read(&path).with_context(|| format!("reading the assistant {}", path.display()))
}

pub(super) struct ReleaseInputs<'a> {
    pub ctx: &'a BuildContext,
    pub built: &'a [(Target, Built)],
    pub assistant: &'a [u8],
    pub manifest_text: &'a [u8],
}

impl ReleaseInputs<'_> {
    /// The bundles, recorded in `release`.
    pub fn bundles(&self, release: &mut Release) -> anyhow::Result<Vec<File<'static>>> {
        let ctx = self.ctx;
        let exe: Cow<[u8]> = match &ctx.authenticode {
            Some(signer) => signer.sign_bytes(self.assistant, "exe").context("signing the assistant")?.into(),
            None => self.assistant.into(),
        };
        let keys = match &ctx.openpgp {
            Some(k) => {
                let [asc, gpg] = bundle::keyring_file_names(&ctx.manifest.product.id);
                vec![(asc, k.public_key_armored().into_bytes()), (gpg, k.public_key_binary())]
            }
            None => Vec::new(),
        };
        let artifacts: Vec<&Artifact> = release.artifacts.iter().collect();
        let packages = artifacts.iter().zip(self.built).map(|(a, (_, b))| (*a, &b.bytes[..])).collect();
        let inputs = Inputs {
            manifest: &ctx.manifest,
            manifest_text: self.manifest_text,
            packages,
            keys,
            assistant_exe: &exe,
            source_date: ctx.source_date,
        };
        let made = bundle::make(&inputs)?;
        let mut files = Vec::new();
        for (artifact, bytes) in made {
            files.push((artifact.path.clone(), Cow::Owned(bytes)));
            release.bundles.push(artifact);
        }
        Ok(files)
    }
}

/// SHA256SUMS over `files`, and its signature when the build signs.
pub(super) fn checksums(files: &[File], openpgp: Option<&OpenPgpKey>) -> anyhow::Result<Vec<File<'static>>> {
    let sums = checksums::render(files.iter().map(|(n, b)| (n.as_str(), &b[..])));
    let mut out = Vec::new();
    if let Some(key) = openpgp {
        let sig = key.sign_detached(sums.as_bytes()).context("signing SHA256SUMS")?;
        out.push((checksums::SIGNATURE_FILE_NAME.to_string(), Cow::Owned(sig.into_bytes())));
    }
    out.insert(0, (checksums::FILE_NAME.to_string(), Cow::Owned(sums.into_bytes())));
    Ok(out)
}

/// The crates of every binary the installers of `targets` carry.
pub(super) fn resolve_crates(ws: &crate::cargo::Workspace, targets: &[Target]) -> anyhow::Result<Crates> {
    let mut triples: Vec<&str> = targets.iter().flat_map(sbom::triples).collect();
    triples.sort_unstable();
    triples.dedup();
    Ok(Crates::resolve(&ws.root, &triples, Some(&ws.target_dir.join("omnipack-cargo-metadata")))?)
}

/// An SBOM per installer (each read back from its bytes, side by side),
/// and its entry for release.json.
pub(super) fn sboms(ctx: &BuildContext, built: &[(Target, Built)], crates: &Crates) -> anyhow::Result<(Vec<File<'static>>, Vec<SbomArtifact>)> {
    let made: Vec<anyhow::Result<Vec<u8>>> = std::thread::scope(|s| {
        let runs: Vec<_> = built
            .iter()
            .map(|(t, b)| {
                s.spawn(move || {
                    sbom::installer_sbom(ctx, t, &b.file_name, &b.bytes, crates).with_context(|| format!("the SBOM of {}", b.file_name))
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().expect("SBOM thread panicked")).collect()
    });
    let mut files = Vec::new();
    let mut artifacts = Vec::new();
    for ((t, b), bytes) in built.iter().zip(made) {
        let bytes = bytes?;
        let artifact = SbomArtifact {
            path: sbom::file_name(&b.file_name),
            describes: b.file_name.clone(),
            target: *t,
            version: ctx.manifest.product.version.clone(),
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            size: bytes.len() as u64,
        };
        files.push((artifact.path.clone(), Cow::Owned(bytes)));
        artifacts.push(artifact);
    }
    Ok((files, artifacts))
}

/// Notarizes every package signed with a Developer ID (Apple's notary
/// accepts nothing else) and staples its ticket, so the bundles, SBOMs and
/// checksums are made from the stapled bytes.
pub(super) fn notarize(built: &mut [(Target, Built)], api_key: &std::path::Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("a folder for notarization")?;
    for (_, b) in built.iter_mut().filter(|(_, b)| b.signature.scheme() == Some(Scheme::Apple)) {
        if b.signature == Signature::Test(Scheme::Apple) {
            anyhow::bail!("{}: signed with a throwaway test identity, which Apple does not notarize; give the Developer ID identities", b.file_name);
        }
        let path = dir.path().join(&b.file_name);
        std::fs::write(&path, &b.bytes).with_context(|| format!("writing {}", path.display()))?;
        crate::macos::notarize::notarize_and_staple(&path, api_key, std::time::Duration::from_secs(1800))?;
        b.bytes = std::fs::read(&path).with_context(|| format!("reading the stapled {}", path.display()))?;
        eprintln!("{}: notarized and stapled", b.file_name);
    }
    Ok(())
}
