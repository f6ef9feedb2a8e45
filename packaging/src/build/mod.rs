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
    // A build of every format is a release: its bundles, SBOMs and checksums.
    let full = Format::ALL.iter().all(|f| opts.formats.contains(f));
    let schemes: BTreeSet<_> = if opts.unsigned { BTreeSet::new() } else { packagers.iter().filter_map(|p| p.scheme()).collect() };
    let mut keys = opts.keys.clone();
    if keys.test_keys.as_os_str().is_empty() {
        keys.test_keys = ws.target_dir.join("omnipack-test-keys");
    }
    let signers = crate::signers::resolve(&schemes, &keys, &manifest)?;
    let mut ctx = BuildContext {
        manifest,
        binaries: BTreeMap::new(),
        files,
        source_date,
        openpgp: signers.openpgp,
        authenticode: signers.authenticode,
        apple: signers.apple,
    };
    // Beside the packagers: the SBOMs' crate lists from `cargo metadata` (or
    // the copy kept from the last build), and the assistant, built by cargo
    // once every package has its binaries.
    let mut binaries = Binaries::new(opts, &ws, &targets);
    let (built, crates) = std::thread::scope(|s| {
        let crates = full.then(|| s.spawn(|| timed("crates", || extras::resolve_crates(&ws, &targets))));
        let assistant = || full.then(|| timed("assistant", || extras::assistant_exe(opts, &ws))).transpose();
        let built = timed("packages", || package_all(&ctx, &targets, opts.progress, |t| binaries.of(t), assistant));
        (built, crates.map(|h| h.join().expect("cargo metadata thread panicked")))
    });
    let (mut built, assistant) = built?;
    ctx.binaries = binaries.all;
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
    // The bundles and the SBOMs are made side by side.
    let (bundles, sboms) = std::thread::scope(|s| {
        let sboms = crates.map(|c| s.spawn(|| timed("sboms", || extras::sboms(&ctx, &built, &c?))));
        let bundles = assistant.map(|exe| {
            let manifest_text = std::fs::read(&opts.manifest).with_context(|| format!("reading {}", opts.manifest.display()))?;
            let r = extras::ReleaseInputs { ctx: &ctx, built: &built, assistant: &exe, manifest_text: &manifest_text };
            timed("bundles", || r.bundles(&mut release))
        });
        (bundles, sboms.map(|h| h.join().expect("SBOM thread panicked")))
    });
    files.extend(bundles.transpose()?.into_iter().flatten());
    if let Some(sboms) = sboms {
        let (sbom_files, artifacts) = sboms?;
        files.extend(sbom_files);
        release.sboms.extend(artifacts);
    }
    files.push((FILE_NAME.to_string(), (serde_json::to_string_pretty(&release)? + "\n").into_bytes().into()));
    files.extend(timed("checksums", || extras::checksums(&files, ctx.openpgp.as_deref()))?);
    timed("write", || write(&opts.out, &files))?;
    Ok(release)
}

/// Runs one stage of the build and logs its wall time (`-v`): what a slow
/// build, and `scripts/bench packages`, are read with.
fn timed<T>(stage: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let r = f();
    tracing::info!(stage, ms = start.elapsed().as_millis() as u64, "build stage done");
    r
}

/// The binaries the packagers read, by input and Rust target triple: given
/// on the command line, else compiled; each read once.
struct Binaries<'a> {
    opts: &'a BuildOptions,
    ws: &'a crate::cargo::Workspace,
    targets: &'a [Target],
    all: BTreeMap<(Input, String), Arc<[u8]>>,
}

impl<'a> Binaries<'a> {
    fn new(opts: &'a BuildOptions, ws: &'a crate::cargo::Workspace, targets: &'a [Target]) -> Self {
        Binaries { opts, ws, targets, all: BTreeMap::new() }
    }

    /// What `target`'s packager reads, compiling what is missing: with a
    /// Windows binary, every Windows target's still to come, in one cargo run.
    fn of(&mut self, target: &Target) -> anyhow::Result<BTreeMap<(Input, String), Arc<[u8]>>> {
        let triple = target.arch.rust_triple(target.platform).to_string();
        let mut out = BTreeMap::new();
        for input in formats::packager(target.format).inputs() {
            let key = (*input, triple.clone());
            if !self.all.contains_key(&key) {
                self.load(*input, &triple)?;
            }
            out.insert(key.clone(), self.all[&key].clone());
        }
        Ok(out)
    }

    fn load(&mut self, input: Input, triple: &str) -> anyhow::Result<()> {
        let key = (input, triple.to_string());
        let paths: Vec<(String, PathBuf)> = if let Some(p) = self.opts.binaries.get(&key) {
            vec![(key.1, p.clone())]
        } else {
            let mut batch = vec![triple.to_string()];
            if crate::cargo::plain_cargo(triple) {
                batch.extend(self.missing(input).filter(|t| t != triple && crate::cargo::plain_cargo(t)));
            }
            let triples: Vec<&str> = batch.iter().map(String::as_str).collect();
            let built = match input {
                Input::Agent => crate::cargo::build_agents(self.ws, &triples)?,
                Input::MsiCustomAction => crate::cargo::build_msi_ca(self.ws, &triples)?,
            };
            batch.into_iter().zip(built).collect()
        };
        let what = match input {
            Input::Agent => "agent executable",
            Input::MsiCustomAction => "MSI custom action DLL",
        };
        for (triple, path) in paths {
            let bytes = std::fs::read(&path).with_context(|| format!("reading the {what} {}", path.display()))?;
            self.all.insert((input, triple), Arc::from(bytes));
        }
        Ok(())
    }

    /// The triples whose `input` some target reads and nothing gave or built yet.
    fn missing(&self, input: Input) -> impl Iterator<Item = String> + '_ {
        let mut seen = BTreeSet::new();
        self.targets
            .iter()
            .filter(move |t| formats::packager(t.format).inputs().contains(&input))
            .map(|t| t.arch.rust_triple(t.platform).to_string())
            .filter(move |t| {
                let key = (input, t.clone());
                !self.all.contains_key(&key) && !self.opts.binaries.contains_key(&key) && seen.insert(t.clone())
            })
    }
}

/// Packages every target, each on its own thread, started as soon as
/// `binaries` gives what it reads: the first packages compress while cargo
/// checks the binaries of the next (one cargo at a time: it locks its
/// target folder). `then` runs here after the last has started.
fn package_all<T>(
    ctx: &BuildContext,
    targets: &[Target],
    progress: bool,
    mut binaries: impl FnMut(&Target) -> anyhow::Result<BTreeMap<(Input, String), Arc<[u8]>>>,
    then: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(Vec<(Target, Built)>, T)> {
    let bars = MultiProgress::new();
    if !progress {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{spinner} {prefix:>20} {msg}").expect("static template");
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        let mut started = Ok(());
        for t in targets {
            let bar = bars.add(ProgressBar::new_spinner().with_style(style.clone()).with_prefix(t.to_string()));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("compiling");
            let ctx = match binaries(t) {
                Ok(b) => BuildContext { binaries: b, ..ctx.clone() },
                Err(e) => {
                    bar.abandon_with_message("failed");
                    started = Err(e);
                    break;
                }
            };
            bar.set_message("packaging");
            handles.push(s.spawn(move || {
                let stage = format!("package {t}");
                let r = timed(&stage, || formats::packager(t.format).package(&ctx, t).with_context(|| format!("building {t}")));
                match &r {
                    Ok(b) => bar.finish_with_message(format!("{} ({} bytes)", b.file_name, b.bytes.len())),
                    Err(_) => bar.abandon_with_message("failed"),
                }
                r.map(|b| (*t, b))
            }));
        }
        // Every started package finishes, so a failure is reported once all are.
        let then = started.and_then(|()| then());
        let built: anyhow::Result<Vec<_>> = handles.into_iter().map(|h| h.join().expect("packager thread panicked")).collect();
        Ok((built?, then?))
    })
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
