//! `omnipack build`: compile the agent, run every packager concurrently, and
//! publish the packages and release.json into the output folder in one step,
//! so a failed build leaves the folder as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use outpost_manifest::Manifest;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::output::Staging;
use crate::packager::{packager, BuildContext, Built};
use crate::release::{Artifact, Release, FILE_NAME};
use crate::sign::apple::{AppleKeySource, AppleSigner};
use crate::sign::authenticode::{Authenticode, AuthenticodeKey, Timestamp};
use crate::sign::openpgp::OpenPgpKey;
use crate::sign::{OpenPgpKeySource, Signer};
use crate::target::{Format, Target};

pub struct BuildOptions {
    pub manifest: PathBuf,
    pub out: PathBuf,
    pub formats: Vec<Format>,
    /// Prebuilt agent executables by Rust target triple; others are compiled.
    pub agent_bins: BTreeMap<String, PathBuf>,
    /// Prebuilt MSI custom action DLLs by Windows triple; others are compiled.
    pub msi_ca_bins: BTreeMap<String, PathBuf>,
    pub openpgp_key: Option<PathBuf>,
    /// Authenticode key for Windows packages; None: a throwaway test PKI.
    pub authenticode: Option<AuthenticodeKey>,
    /// RFC 3161 time-stamp authorities for Authenticode signatures.
    pub timestamp_urls: Vec<String>,
    /// Authenticode: a SHA-1 signature with a nested SHA-256 one, for
    /// legacy Windows; false: one SHA-256 signature.
    pub legacy_sha1: bool,
    /// Developer ID Application and Installer identities; None: throwaway.
    pub apple_application: Option<AppleKeySource>,
    pub apple_installer: Option<AppleKeySource>,
    /// RFC 3161 server for Apple signatures (`none` to turn it off); None:
    /// Apple's for real identities, none for throwaway ones.
    pub apple_timestamp_url: Option<String>,
    /// Build unsigned packages (for reproducibility checks).
    pub unsigned: bool,
    pub progress: bool,
}

pub fn run(opts: &BuildOptions) -> anyhow::Result<Release> {
    // Validate everything that can be wrong before any work or output.
    let manifest = Manifest::load(&opts.manifest)?;
    let source_date = crate::time::source_date().map_err(anyhow::Error::msg)?;
    let targets = Target::all_for(&opts.formats);
    if targets.is_empty() {
        bail!("no formats to build");
    }
    let ws = crate::cargo::workspace()?;

    let mut agent = BTreeMap::new();
    for t in &targets {
        let triple = t.arch.rust_triple(t.platform).to_string();
        if agent.contains_key(&triple) {
            continue;
        }
        let path = match opts.agent_bins.get(&triple) {
            Some(p) => p.clone(),
            None => crate::cargo::build_agent(&ws, &triple)?,
        };
        let bytes = std::fs::read(&path).with_context(|| format!("reading agent executable {}", path.display()))?;
        agent.insert(triple, Arc::<[u8]>::from(bytes));
    }
    let msi_ca = msi_custom_actions(opts, &ws, &targets)?;

    let openpgp = if opts.unsigned || !targets.iter().any(|t| t.format == Format::Rpm) {
        None
    } else {
        let source = OpenPgpKeySource::resolve(opts.openpgp_key.clone(), ws.target_dir.join("omnipack-test-keys"));
        let key = OpenPgpKey::load(&source)?;
        if key.is_test_key() {
            warn!("no OpenPGP signing key configured: signing with a THROWAWAY TEST KEY");
            eprintln!(
                "\n  *** TEST-SIGNED OUTPUT ***\n  No OpenPGP key was given (--openpgp-key, OMNIPACK_OPENPGP_KEY, OMNIPACK_OPENPGP_KEY_FILE).\n  \
                 Packages are signed with a throwaway key from {}.\n  Do not release them.\n",
                ws.target_dir.join("omnipack-test-keys").display()
            );
        } else {
            info!(fingerprint = key.fingerprint(), "signing with OpenPGP key");
        }
        Some(Arc::new(key))
    };
    let authenticode = if opts.unsigned || !targets.iter().any(|t| t.format == Format::Msi) {
        None
    } else {
        let key = opts
            .authenticode
            .clone()
            .unwrap_or_else(|| AuthenticodeKey::Throwaway(ws.target_dir.join("omnipack-test-keys/authenticode")));
        let timestamp = if opts.timestamp_urls.is_empty() {
            Timestamp::None
        } else {
            Timestamp::Url(opts.timestamp_urls.clone())
        };
        let signer =
            Authenticode::new(key, timestamp, &manifest.product.name, &manifest.product.homepage)?.with_legacy_sha1(opts.legacy_sha1);
        if signer.is_test_key() {
            warn!("no Authenticode key configured: signing with a THROWAWAY TEST CERTIFICATE");
            eprintln!(
                "\n  *** TEST-SIGNED OUTPUT ***\n  No Authenticode key was given (--authenticode-pkcs12, --authenticode-cert/--authenticode-key, \
                 --authenticode-pkcs11-module).\n  Windows packages are signed with a throwaway certificate from {}.\n  Do not release them.\n",
                ws.target_dir.join("omnipack-test-keys/authenticode").display()
            );
        }
        Some(Arc::new(signer))
    };
    let apple = if opts.unsigned || !targets.iter().any(|t| t.format == Format::Pkg) {
        None
    } else {
        let dir = ws.target_dir.join("omnipack-test-keys/apple");
        let signer = AppleSigner::new(
            opts.apple_application.clone(),
            opts.apple_installer.clone(),
            &dir,
            opts.apple_timestamp_url.as_deref(),
        )?;
        if signer.is_test_key() {
            warn!("no Developer ID identities configured: signing with THROWAWAY TEST CERTIFICATES");
            eprintln!(
                "\n  *** TEST-SIGNED OUTPUT ***\n  No Developer ID identities were given (--apple-application, --apple-installer).\n  \
                 The macOS agent and pkg are signed with throwaway self-signed certificates from {}.\n  \
                 Gatekeeper refuses them and they cannot be notarized. Do not release them.\n",
                dir.display()
            );
        }
        Some(Arc::new(signer))
    };
    let openpgp_test = openpgp.as_ref().is_some_and(|k| k.is_test_key());
    let apple_test = apple.as_ref().is_some_and(|a| a.is_test_key());
    let authenticode_test = authenticode.as_ref().is_some_and(|a| a.is_test_key());

    let public_key = openpgp.as_ref().map(|k| k.public_key_armored());
    let ctx = BuildContext {
        manifest,
        manifest_path: opts.manifest.clone(),
        agent,
        msi_ca,
        source_date,
        openpgp,
        authenticode,
        apple,
    };
    let built = package_all(&ctx, &targets, opts.progress)?;

    let release = Release {
        artifacts: built
            .iter()
            .map(|(t, b)| Artifact {
                path: b.file_name.clone(),
                format: t.format.to_string(),
                platform: t.platform.to_string(),
                arch: t.arch_word().to_string(),
                version: ctx.manifest.product.version.clone(),
                sha256: hex::encode(Sha256::digest(&b.bytes)),
                size: b.bytes.len() as u64,
                signed: b.signed.map(str::to_string),
                test_signed: match b.signed {
                    Some("openpgp") => openpgp_test,
                    Some("authenticode") => authenticode_test,
                    Some("apple") => apple_test,
                    _ => false,
                },
                target: t.to_string(),
            })
            .collect(),
    };
    let key_file = public_key.map(|k| (format!("{}-signing-key.asc", ctx.manifest.product.id), k));
    publish(&opts.out, &built, key_file.as_ref(), &release)?;
    Ok(release)
}

/// The custom action DLL (packaging/msi-ca) for every MSI's Windows
/// triple: given with `--msi-ca-bin`, else compiled.
fn msi_custom_actions(opts: &BuildOptions, ws: &crate::cargo::Workspace, targets: &[Target]) -> anyhow::Result<BTreeMap<String, Arc<[u8]>>> {
    let mut dlls = BTreeMap::new();
    for t in targets.iter().filter(|t| t.format == Format::Msi) {
        let triple = t.arch.rust_triple(t.platform).to_string();
        if dlls.contains_key(&triple) {
            continue;
        }
        let path = match opts.msi_ca_bins.get(&triple) {
            Some(p) => p.clone(),
            None => crate::cargo::build_msi_ca(ws, &triple)?,
        };
        let bytes = std::fs::read(&path).with_context(|| format!("reading the MSI custom action DLL {}", path.display()))?;
        dlls.insert(triple, Arc::<[u8]>::from(bytes));
    }
    Ok(dlls)
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
                let bar = bars.add(
                    ProgressBar::new_spinner()
                        .with_style(style.clone())
                        .with_prefix(t.to_string()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message("packaging");
                s.spawn(move || {
                    let r = packager(t.format).package(ctx, t).with_context(|| format!("building {t}"));
                    match &r {
                        Ok(b) => bar.finish_with_message(format!("{} ({} bytes)", b.file_name, b.bytes.len())),
                        Err(_) => bar.abandon_with_message("failed"),
                    }
                    r.map(|b| (*t, b))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("packager thread panicked"))
            .collect()
    });
    results.into_iter().collect()
}

/// Writes everything into a staging folder beside `out`, then swaps it in.
fn publish(
    out: &Path,
    built: &[(Target, Built)],
    public_key: Option<&(String, String)>,
    release: &Release,
) -> anyhow::Result<()> {
    let staging = Staging::new(out)?;
    for (_, b) in built {
        staging.write(&b.file_name, &b.bytes)?;
    }
    // The public half of the signing key, for `rpm --import`.
    if let Some((name, key)) = public_key {
        staging.write(name, key.as_bytes())?;
    }
    let json = serde_json::to_string_pretty(release)? + "\n";
    staging.write(FILE_NAME, json.as_bytes())?;
    staging.swap_in()?;
    Ok(())
}
