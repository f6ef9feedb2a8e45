//! The three downloads of a release: `<id>-<v>-windows.zip` (both MSIs, a
//! release.json of them, the answer-file template, a README),
//! `<id>-<v>-non-windows.zip` (deb, rpm, pkg, the release key, the macOS
//! profile template, a README) and `<id>-assist-<v>-windows.zip` (the
//! deployment assistant built for Windows, the product manifest it checks
//! answers against, a README). Made from the packages already built; the
//! packages inside are the same bytes as the loose ones.

pub mod zip;

use std::borrow::Cow;

use outpost_manifest::Manifest;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tera::Context;

use crate::macos::mobileconfig;
use crate::release::{Artifact, Bundle, BundleArtifact, Release};
use crate::target::Format;
use crate::templates::{render, RenderError};
use zip::{Member, ZipError};

/// The assistant's name inside its bundle (the README and the pipeline say it).
pub const ASSISTANT_EXE: &str = "omnipack.exe";
/// The product manifest's name beside it, where the assistant looks for it.
pub const ASSISTANT_MANIFEST: &str = "outpost.toml";
/// The answer-file template in the Windows bundle.
pub const ANSWERS: &str = "answers.toml";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{bundle}: {source}")]
    Zip {
        bundle: String,
        #[source]
        source: ZipError,
    },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{bundle}: the build has no {what}")]
    Missing { bundle: String, what: String },
    #[error("the macOS profile template: {0}")]
    Profile(#[source] Box<crate::packager::PackageError>),
    #[error("serialising the Windows bundle's release.json: {0}")]
    Json(#[from] serde_json::Error),
}

/// What the bundles are made of.
pub struct Inputs<'a> {
    pub manifest: &'a Manifest,
    /// The manifest file as written (the assistant reads it on Windows).
    pub manifest_text: &'a [u8],
    /// Every package built, with its bytes.
    pub packages: Vec<(&'a Artifact, &'a [u8])>,
    /// The release key's public half: (file name, bytes), armoured and binary.
    pub keys: Vec<(String, Vec<u8>)>,
    /// The assistant for Windows, signed when the build signs.
    pub assistant_exe: &'a [u8],
    pub source_date: u64,
}

/// `<id>-archive-keyring.asc` and `.gpg`: the names `publish` gives the key
/// too, so the bundle's key is the one apt and dnf are told about.
pub fn keyring_file_names(product_id: &str) -> [String; 2] {
    [format!("{product_id}-archive-keyring.asc"), format!("{product_id}-archive-keyring.gpg")]
}

/// The three bundles, each with its bytes.
pub fn make(i: &Inputs) -> Result<Vec<(BundleArtifact, Vec<u8>)>, BundleError> {
    // One thread per bundle: the assistant's deflate is most of the work,
    // and the other two (stored packages) go beside it.
    std::thread::scope(|s| {
        let made: Vec<_> = Bundle::ALL.into_iter().map(|b| s.spawn(move || bundle(b, i))).collect();
        made.into_iter().map(|h| h.join().expect("bundle thread panicked")).collect()
    })
}

fn bundle(b: Bundle, i: &Inputs) -> Result<(BundleArtifact, Vec<u8>), BundleError> {
    let name = b.file_name(&i.manifest.product.id, &i.manifest.product.version);
    let members = members(b, i, &name)?;
    let bytes = zip::write(&members, i.source_date).map_err(|source| BundleError::Zip { bundle: name.clone(), source })?;
    let artifact = BundleArtifact {
        path: name,
        bundle: b,
        version: i.manifest.product.version.clone(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        contents: members.iter().map(|m| m.name.clone()).collect(),
    };
    Ok((artifact, bytes))
}

fn members<'a>(b: Bundle, i: &'a Inputs<'a>, bundle: &str) -> Result<Vec<Member<'a>>, BundleError> {
    let mut out = Vec::new();
    let mut add = |name: String, bytes: Cow<'a, [u8]>, executable: bool| out.push(Member { name, bytes, executable });
    let m = i.manifest;
    match b {
        Bundle::Windows => {
            let msis = packages(i, &[Format::Msi], bundle)?;
            for (a, data) in &msis {
                add(a.path.clone(), Cow::Borrowed(*data), false);
            }
            let release = Release { artifacts: msis.iter().map(|(a, _)| (*a).clone()).collect(), ..Default::default() };
            add(crate::release::FILE_NAME.into(), (serde_json::to_string_pretty(&release)? + "\n").into_bytes().into(), false);
            add(ANSWERS.into(), crate::assist::answers::template(m).into_bytes().into(), false);
            add("README-windows.txt".into(), crlf(&readme_windows(m, &msis)?), false);
        }
        Bundle::NonWindows => {
            let pkgs = packages(i, &[Format::Deb, Format::Rpm, Format::Pkg], bundle)?;
            for (a, data) in &pkgs {
                add(a.path.clone(), Cow::Borrowed(*data), false);
            }
            for (name, data) in &i.keys {
                add(name.clone(), Cow::Borrowed(data.as_slice()), false);
            }
            let profile_name = format!("{}.mobileconfig", m.product.id);
            let profile = mobileconfig::render_profile(m, &Default::default(), "the bundle's profile", mobileconfig::Unset::Defaults)
                .map_err(|e| BundleError::Profile(Box::new(e)))?;
            add(profile_name.clone(), profile.into_bytes().into(), false);
            let keys: Vec<&str> = i.keys.iter().map(|(n, _)| n.as_str()).collect();
            add("README-non-windows.txt".into(), readme_non_windows(m, &pkgs, &keys, &profile_name)?.into_bytes().into(), false);
        }
        Bundle::Assistant => {
            add(ASSISTANT_EXE.into(), Cow::Borrowed(i.assistant_exe), true);
            add(ASSISTANT_MANIFEST.into(), Cow::Borrowed(i.manifest_text), false);
            add("README-assist.txt".into(), crlf(&render("bundle/README-assist.txt", &base_context(m))?), false);
        }
    }
    Ok(out)
}

/// The packages of `formats`, in that order; each format must have one.
fn packages<'a>(i: &Inputs<'a>, formats: &[Format], bundle: &str) -> Result<Vec<(&'a Artifact, &'a [u8])>, BundleError> {
    let mut out = Vec::new();
    for f in formats {
        let found: Vec<_> = i.packages.iter().filter(|(a, _)| a.format() == *f).copied().collect();
        if found.is_empty() {
            return Err(BundleError::Missing { bundle: bundle.into(), what: format!("{f} package") });
        }
        out.extend(found);
    }
    Ok(out)
}

/// Notepad before Windows 10 1809 shows LF-only text as one line.
fn crlf(text: &str) -> Cow<'static, [u8]> {
    text.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes().into()
}

fn base_context(m: &Manifest) -> Context {
    let mut c = Context::new();
    c.insert("name", &m.product.name);
    c.insert("id", &m.product.id);
    c.insert("version", &m.product.version);
    c.insert("homepage", &m.product.homepage);
    c
}

#[derive(Serialize)]
struct Line {
    file: String,
    arch: String,
    what: String,
}

fn readme_windows(m: &Manifest, msis: &[(&Artifact, &[u8])]) -> Result<String, RenderError> {
    let mut c = base_context(m);
    let lines: Vec<Line> = msis
        .iter()
        .map(|(a, _)| Line { file: a.path.clone(), arch: a.target.arch_word().into(), what: String::new() })
        .collect();
    c.insert("msis", &lines);
    render("bundle/README-windows.txt", &c)
}

fn readme_non_windows(m: &Manifest, pkgs: &[(&Artifact, &[u8])], keys: &[&str], profile: &str) -> Result<String, RenderError> {
    let mut c = base_context(m);
    let lines: Vec<Line> = pkgs
        .iter()
        .map(|(a, _)| Line {
            file: a.path.clone(),
            arch: a.target.arch_word().into(),
            what: format!("{} {} ({})", a.target.platform, a.target.arch_word(), a.format()),
        })
        .collect();
    for f in [Format::Deb, Format::Rpm, Format::Pkg] {
        let name = pkgs.iter().find(|(a, _)| a.format() == f).map(|(a, _)| a.path.clone()).unwrap_or_default();
        c.insert(f.as_str(), &name);
    }
    c.insert("packages", &lines);
    c.insert("keys", &keys.iter().filter(|k| k.ends_with(".asc")).collect::<Vec<_>>());
    if let Some(gpg) = keys.iter().find(|k| k.ends_with(".gpg")) {
        c.insert("gpg_keyring", gpg);
    }
    c.insert("profile", profile);
    render("bundle/README-non-windows.txt", &c)
}
