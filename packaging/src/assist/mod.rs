//! `omnipack assist`: from an administrator's answer file and a release,
//! everything a ConfigMgr or Intune deployment needs: one settings transform
//! per MSI (the MSIs themselves are never modified or re-signed), msiexec
//! command lines for cmd and PowerShell, a ConfigMgr script, and Intune
//! Win32 app settings.

pub mod answers;
pub mod commands;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use outpost_manifest::Manifest;
use serde::Serialize;
use tera::Context as TeraContext;

use crate::msi::Database;
use crate::sign::authenticode::Authenticode;
use crate::templates::render;

pub struct AssistOptions {
    pub manifest: PathBuf,
    pub answers: PathBuf,
    pub from: PathBuf,
    pub out: PathBuf,
    /// Signs the transforms; None leaves them unsigned.
    pub signer: Option<Authenticode>,
}

/// Writes the answer-file template; refuses to overwrite an existing file.
pub fn init(manifest: &Manifest, out: &Path, force: bool) -> anyhow::Result<()> {
    if out.exists() && !force {
        bail!("{}: already exists; pass --force to overwrite it", out.display());
    }
    std::fs::write(out, answers::template(manifest)).with_context(|| format!("writing {}", out.display()))
}

/// A string inside single quotes in PowerShell.
fn ps(s: &str) -> String {
    s.replace('\'', "''")
}

#[derive(Serialize)]
struct PackageView {
    msi: String,
    mst: Option<String>,
    arch: String,
    product_code: String,
    deployment_type: String,
    install_command: String,
    requirement: String,
}

fn product_code(db: &Database, msi: &Path) -> anyhow::Result<String> {
    db.table("Property")
        .and_then(|t| t.get(&["ProductCode".into()]).and_then(|row| row.get(1).and_then(|v| v.as_str().map(str::to_string))))
        .with_context(|| format!("{}: no ProductCode property", msi.display()))
}

/// Builds a cumulative hotfix patch from two MSIs of one product line and
/// signs it when a signer is given.
pub fn write_patch(m: &Manifest, old: &Path, new: &Path, out: &Path, signer: Option<&Authenticode>) -> anyhow::Result<()> {
    let old_bytes = std::fs::read(old).with_context(|| format!("reading {}", old.display()))?;
    let new_bytes = std::fs::read(new).with_context(|| format!("reading {}", new.display()))?;
    let family = format!("{}Hotfix", m.product.id.replace(['-', '.'], "_"));
    let new_db = Database::from_bytes(&new_bytes).with_context(|| format!("{}: not a readable MSI", new.display()))?;
    let version = new_db
        .table("Property")
        .and_then(|t| t.get(&["ProductVersion".into()]).and_then(|r| r.get(1).and_then(|v| v.as_str().map(str::to_string))))
        .unwrap_or_default();
    let options = crate::msi::patch::PatchOptions::hotfix(
        &family,
        &format!("{} {version} hotfix", m.product.name),
        &format!("Cumulative hotfix bringing {} to {version}.", m.product.name),
    );
    let mut msp = crate::msi::patch::patch_msis(&old_bytes, &new_bytes, &options)
        .with_context(|| format!("patching {} -> {}", old.display(), new.display()))?;
    if let Some(s) = signer {
        msp = s.sign_bytes(&msp, "msp")?;
    }
    let tmp = out.with_extension("msp.tmp");
    std::fs::write(&tmp, msp).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))
}

pub fn run(opts: &AssistOptions) -> anyhow::Result<Vec<PathBuf>> {
    let m = Manifest::load(&opts.manifest)?;
    let answers = answers::load(&opts.answers, &m)?;
    let (release, files) = crate::publish::read_release(&opts.from)?;
    let msis: Vec<(&crate::release::Artifact, &PathBuf)> =
        release.artifacts.iter().zip(files.iter().map(|(_, p)| p)).filter(|(a, _)| a.format == "msi").collect();
    if msis.is_empty() {
        bail!("{}: lists no MSI to deploy", opts.from.join(crate::release::FILE_NAME).display());
    }
    for (a, _) in &msis {
        answers.check_arch(&m, &a.arch)?;
    }
    // A previous release: its MSI of each architecture, to patch from.
    let previous = match &answers.deployment.previous_release {
        None => None,
        Some(prev) => {
            let dir = Path::new(&answers.file).parent().unwrap_or(Path::new(".")).join(prev);
            let (rel, files) = crate::publish::read_release(&dir)
                .with_context(|| format!("{}: key `deployment.previous_release`", answers.file))?;
            Some(rel.artifacts.into_iter().zip(files.into_iter().map(|(_, p)| p)).filter(|(a, _)| a.format == "msi").collect::<Vec<_>>())
        }
    };

    // Everything is made in a staging folder and swapped in at the end, so
    // a refused answer leaves no partial output.
    let parent = opts.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new().prefix(".omnipack-assist-").tempdir_in(parent)?;
    let props = answers.properties(&m);
    let mut packages = Vec::new();
    let mut lines = format!(
        "{} {}: msiexec command lines (from {}).\r\nRun them from the folder holding the MSIs and transforms, elevated.\r\n",
        m.product.name, m.product.version, answers.file
    );
    for (a, path) in &msis {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let db = Database::from_bytes(&bytes).with_context(|| format!("{}: not a readable MSI", path.display()))?;
        let code = product_code(&db, path)?;
        let msi_name = a.path.clone();
        let mst_name = format!("{}.mst", msi_name.trim_end_matches(".msi"));
        let mut mst = crate::msi::transform::settings_transform(&db, &props, &[]).with_context(|| format!("making the transform for {msi_name}"))?;
        if let Some(signer) = &opts.signer {
            mst = signer.sign_bytes(&mst, "mst")?;
        }
        std::fs::write(staging.path().join(&mst_name), &mst)?;
        if let Some(prev) = &previous {
            let Some((pa, old)) = prev.iter().find(|(pa, _)| pa.arch == a.arch) else {
                bail!("{}: key `deployment.previous_release`: it has no {} MSI to patch {msi_name} from", answers.file, a.arch);
            };
            let msp_name = format!("{}-from-{}.msp", msi_name.trim_end_matches(".msi"), pa.version);
            write_patch(&m, old, path, &staging.path().join(&msp_name), opts.signer.as_ref())
                .with_context(|| format!("{}: key `deployment.previous_release`", answers.file))?;
            lines.push_str(&format!(
                "\r\n== patch {msp_name} (installed {} -> {}) ==\r\n  msiexec.exe /p \"{msp_name}\" REINSTALL=ALL REINSTALLMODE=omus /qn /l*v \"{}\"\r\n",
                pa.version, a.version, answers.deployment.log
            ));
        }
        let args = commands::msiexec_args(&msi_name, Some(&mst_name), &[], &answers.deployment.log);
        let direct = commands::msiexec_args(&msi_name, None, &props, &answers.deployment.log);
        lines.push_str(&format!(
            "\r\n== {msi_name} ({}) ==\r\ncmd.exe, with the transform:\r\n  {}\r\nPowerShell, with the transform:\r\n  {}\r\ncmd.exe, properties instead of the transform:\r\n  {}\r\n",
            a.arch,
            commands::cmd(&args),
            commands::powershell(&args),
            commands::cmd(&direct)
        ));
        packages.push(PackageView {
            msi: ps(&msi_name),
            mst: Some(mst_name),
            arch: a.arch.clone(),
            product_code: code,
            deployment_type: ps(&format!("{} {} ({})", m.product.name, m.product.version, a.arch)),
            install_command: ps(&commands::cmd(&args)),
            requirement: if a.arch == "x64" { "64-bit Windows 10 / Server 2016 or later".into() } else { "Windows 10 / Server 2016 or later".into() },
        });
    }
    std::fs::write(staging.path().join("commandlines.txt"), lines)?;

    let d = &answers.deployment;
    let mut ctx = TeraContext::new();
    ctx.insert("product", &serde_json::json!({
        "name": ps(&m.product.name), "version": m.product.version, "vendor": ps(&m.product.vendor), "summary": ps(&m.product.summary)
    }));
    ctx.insert("answers_file", &ps(&answers.file));
    ctx.insert("site_code", &ps(&d.site_code));
    ctx.insert("content_share", &ps(d.content_share.as_deref().unwrap_or("\\\\fileserver\\packages\\Outpost")));
    ctx.insert("application", &ps(d.application.as_deref().unwrap_or(&m.product.name)));
    ctx.insert("collection", &ps(d.collection.as_deref().unwrap_or(&format!("{} - All Workstations", m.product.name))));
    ctx.insert("limiting_collection", &ps(&d.limiting_collection));
    ctx.insert("distribution_points", &d.distribution_points.iter().map(|s| ps(s)).collect::<Vec<_>>());
    ctx.insert("packages", &packages);
    std::fs::write(staging.path().join("configmgr.ps1"), render("assist/configmgr.ps1", &ctx)?.replace('\n', "\r\n"))?;
    let intune = render("assist/intune.txt", &ctx)?.replace("''", "'");
    std::fs::write(staging.path().join("intune.txt"), intune.replace('\n', "\r\n"))?;

    // Macs get the same answers as a configuration profile for the MDM
    // (Installer has no install-time properties); Windows-only settings
    // have no meaning there and are left out.
    if release.artifacts.iter().any(|a| a.format == "pkg") {
        let mac: std::collections::BTreeMap<String, String> = answers
            .settings
            .iter()
            .filter(|(n, _)| m.setting(n).is_some_and(|s| s.exists_on(outpost_manifest::Platform::Macos)))
            .cloned()
            .collect();
        let profile = crate::macos::mobileconfig::render_profile(&m, &mac, &answers.file, crate::macos::mobileconfig::Unset::Omit)?;
        std::fs::write(staging.path().join(format!("{}.mobileconfig", m.product.id)), profile)?;
    }

    let written: Vec<PathBuf> =
        std::fs::read_dir(staging.path())?.filter_map(|e| e.ok().map(|e| opts.out.join(e.file_name()))).collect();
    let old = parent.join(format!(".omnipack-assist-old-{}", std::process::id()));
    if opts.out.exists() {
        std::fs::rename(&opts.out, &old).with_context(|| format!("moving the previous {} aside", opts.out.display()))?;
    }
    std::fs::rename(staging.keep(), &opts.out).with_context(|| format!("writing {}", opts.out.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(written)
}
