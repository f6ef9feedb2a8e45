//! `omnipack build`: check the manifest as every format will, compile the
//! binaries, run every packager concurrently, and swap the packages and
//! release.json into the output folder in one step, so a failed build
//! leaves the folder as it was. Nothing here names a format.

mod extras;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use outpost_manifest::Manifest;

use crate::formats;
use crate::output::Staging;
use crate::packager::{BuildContext, Built, Input, Packager};
use crate::release::{Artifact, Release, FILE_NAME};
use crate::sign::Signer as _;
use crate::signers::KeyOptions;
use crate::target::{Format, Target};

pub struct BuildOptions {
    pub manifest: PathBuf,
    pub out: PathBuf,
    pub formats: Vec<Format>,
    /// Prebuilt binaries by input and Rust target triple; others are compiled.
    pub binaries: BTreeMap<(Input, String), PathBuf>,
    /// Signing keys; `test_keys` is filled in from the workspace when empty.
    pub keys: KeyOptions,
    /// The deployment assistant for Windows, prebuilt; else compiled when
    /// the build makes the bundles (every format).
    pub assistant: Option<PathBuf>,
    /// Notarize and staple Apple-signed packages with this App Store
    /// Connect API key before anything is made from them.
    pub notarize_api_key: Option<PathBuf>,
    /// Build unsigned packages (for reproducibility checks).
    pub unsigned: bool,
    pub progress: bool,
}

/// `omnipack check`: the manifest's own validation, its `[[file]]`
/// sources, then every refusal the `formats` add, before anything is
/// compiled. `build` starts with it.
pub fn check(manifest: &Path, formats: &[Format]) -> anyhow::Result<(Manifest, Files)> {
    let m = Manifest::load(manifest)?;
    let files = read_files(manifest, &m)?;
    for f in formats {
        formats::packager(*f).check(&m).with_context(|| format!("{}: {f}", manifest.display()))?;
    }
    Ok((m, files))
}

/// The content of each `[[file]]`, by its `source`.
pub type Files = BTreeMap<PathBuf, Arc<[u8]>>;

fn read_files(manifest: &Path, m: &Manifest) -> anyhow::Result<Files> {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut files = BTreeMap::new();
    for (i, f) in m.files.iter().enumerate() {
        let path = dir.join(&f.source);
        let bytes = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!("{}: key `file[{i}].source`: cannot read {}: {e}", manifest.display(), path.display())
        })?;
        files.insert(f.source.clone(), Arc::from(bytes));
    }
    Ok(files)
}

pub fn run(opts: &BuildOptions) -> anyhow::Result<Release> {
    // Everything that can be wrong with the input is refused before any work.
    let (manifest, files) = check(&opts.manifest, &opts.formats)?;
    let source_date = crate::time::source_date()?;
    let packagers: Vec<&dyn Packager> = opts.formats.iter().map(|f| formats::packager(*f)).collect();
    let targets: Vec<Target> = packagers.iter().flat_map(|p| p.targets()).collect();
    if targets.is_empty() {
        bail!("no formats to build");
    }
    let ws = crate::cargo::workspace()?;
    let binaries = binaries(opts, &ws, &packagers)?;
    // A build of every format is a release: its bundles, SBOMs and checksums.
    let full = Format::ALL.iter().all(|f| opts.formats.contains(f));
    let assistant = if full { Some(extras::assistant_exe(opts, &ws)?) } else { None };
    let schemes: BTreeSet<_> = if opts.unsigned { BTreeSet::new() } else { packagers.iter().filter_map(|p| p.scheme()).collect() };
    let mut keys = opts.keys.clone();
    if keys.test_keys.as_os_str().is_empty() {
        keys.test_keys = ws.target_dir.join("omnipack-test-keys");
    }
    let signers = crate::signers::resolve(&schemes, &keys, &manifest)?;
    let ctx = BuildContext {
        manifest,
        binaries,
        files,
        source_date,
        openpgp: signers.openpgp,
        authenticode: signers.authenticode,
        apple: signers.apple,
    };
    // The SBOMs' crate lists come from `cargo metadata`, run beside the packagers.
    let (built, crates) = std::thread::scope(|s| {
        let crates = assistant.is_some().then(|| s.spawn(|| extras::resolve_crates(&ws, &targets)));
        let built = package_all(&ctx, &targets, opts.progress);
        (built, crates.map(|h| h.join().expect("cargo metadata thread panicked")))
    });
    let mut built = built?;
    if let Some(key) = &opts.notarize_api_key {
        extras::notarize(&mut built, key)?;
    }
    let version = &ctx.manifest.product.version;
    let mut release = Release {
        artifacts: built
            .iter()
            .map(|(t, b)| Artifact::new(b.file_name.clone(), *t, version.clone(), &b.bytes, b.signature))
            .collect(),
        ..Default::default()
    };
    let mut files: Vec<(String, Cow<[u8]>)> = built.iter().map(|(_, b)| (b.file_name.clone(), Cow::Borrowed(&b.bytes[..]))).collect();
    // The public half of the signing key, for `rpm --import`.
    if let Some(k) = &ctx.openpgp {
        files.push((format!("{}-signing-key.asc", ctx.manifest.product.id), k.public_key_armored().into_bytes().into()));
    }
    if let Some(exe) = assistant {
        let manifest_text = std::fs::read(&opts.manifest).with_context(|| format!("reading {}", opts.manifest.display()))?;
        let r = extras::ReleaseInputs { ctx: &ctx, built: &built, assistant: &exe, manifest_text: &manifest_text };
        files.extend(r.bundles(&mut release)?);
    }
    if let Some(crates) = crates {
        files.extend(extras::sboms(&ctx, &built, &crates?, &mut release)?);
    }
    files.push((FILE_NAME.to_string(), (serde_json::to_string_pretty(&release)? + "\n").into_bytes().into()));
    files.extend(extras::checksums(&files, ctx.openpgp.as_deref())?);
    write(&opts.out, &files)?;
    Ok(release)
}

/// Every binary the packagers need, per target triple: given on the
/// command line, else compiled.
fn binaries(
    opts: &BuildOptions,
    ws: &crate::cargo::Workspace,
    packagers: &[&dyn Packager],
) -> anyhow::Result<BTreeMap<(Input, String), Arc<[u8]>>> {
    let mut out = BTreeMap::new();
    for p in packagers {
        for (input, t) in p.inputs().iter().flat_map(|i| p.targets().into_iter().map(move |t| (*i, t))) {
            let key = (input, t.arch.rust_triple(t.platform).to_string());
            if out.contains_key(&key) {
                continue;
            }
            let path = match (opts.binaries.get(&key), input) {
                (Some(p), _) => p.clone(),
                (None, Input::Agent) => crate::cargo::build_agent(ws, &key.1)?,
                (None, Input::MsiCustomAction) => crate::cargo::build_msi_ca(ws, &key.1)?,
            };
            let what = match input {
                Input::Agent => "agent executable",
                Input::MsiCustomAction => "MSI custom action DLL",
            };
            let bytes = std::fs::read(&path).with_context(|| format!("reading the {what} {}", path.display()))?;
            out.insert(key, Arc::<[u8]>::from(bytes));
        }
    }
    Ok(out)
}

fn package_all(ctx: &BuildContext, targets: &[Target], progress: bool) -> anyhow::Result<Vec<(Target, Built)>> {
    let bars = MultiProgress::new();
    if !progress {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{spinner} {prefix:>20} {msg}").expect("static template");
    let results: Vec<anyhow::Result<(Target, Built)>> = std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| {
                let bar = bars.add(ProgressBar::new_spinner().with_style(style.clone()).with_prefix(t.to_string()));
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message("packaging");
                s.spawn(move || {
                    let r = formats::packager(t.format).package(ctx, t).with_context(|| format!("building {t}"));
                    match &r {
                        Ok(b) => bar.finish_with_message(format!("{} ({} bytes)", b.file_name, b.bytes.len())),
                        Err(_) => bar.abandon_with_message("failed"),
                    }
                    r.map(|b| (*t, b))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("packager thread panicked")).collect()
    });
    results.into_iter().collect()
}

/// Writes everything into a staging folder beside `out`, then swaps it in.
fn write(out: &Path, files: &[(String, Cow<[u8]>)]) -> anyhow::Result<()> {
    let staging = Staging::new(out)?;
    for (name, bytes) in files {
        staging.write(name, bytes)?;
    }
    staging.swap_in()?;
    Ok(())
}
