//! `omnipack assist`: from an administrator's answer file and a release,
//! everything a ConfigMgr or Intune deployment needs: one settings transform
//! per MSI (the MSIs themselves are never modified or re-signed), msiexec
//! command lines for cmd and PowerShell, a ConfigMgr script, and Intune
//! Win32 app settings.

pub mod answers;
pub mod bundle;
pub mod commands;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use outpost_manifest::Manifest;
use serde::Serialize;
use tera::Context as TeraContext;

use crate::msi::Database;
use crate::output::Staging;
use crate::release::Artifact;
use crate::sign::signtool::FileSigner;
use crate::target::{Arch, Format};
use crate::templates::render;

pub struct AssistOptions {
    pub manifest: PathBuf,
    pub answers: PathBuf,
    pub from: PathBuf,
    pub out: PathBuf,
    /// Signs the transforms; None leaves them unsigned.
    pub signer: Option<FileSigner>,
}

/// Writes the answer-file template; refuses to overwrite an existing file.
pub fn init(manifest: &Manifest, out: &Path, force: bool) -> anyhow::Result<()> {
    if out.exists() && !force {
        bail!("{}: already exists; pass --force to overwrite it", out.display());
    }
    Ok(crate::output::write_atomic(out, answers::template(manifest).as_bytes())?)
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
pub fn write_patch(m: &Manifest, old: &Path, new: &Path, out: &Path, signer: Option<&FileSigner>) -> anyhow::Result<()> {
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
    Ok(crate::output::write_atomic(out, &msp)?)
}

/// The MSIs of a release folder, each with its file, checked against its
/// release.json.
fn msis_of(dir: &Path) -> anyhow::Result<Vec<(Artifact, PathBuf)>> {
    Ok(crate::release::read(dir)?.of(Format::Msi).cloned().collect())
}

/// What `run` writes for one MSI: its transform, its patch from the
/// previous release when there is one, its command lines, and its
/// ConfigMgr deployment type.
struct ForMsi<'a> {
    m: &'a Manifest,
    answers: &'a answers::Answers,
    props: Vec<(String, String)>,
    previous: Option<Vec<(Artifact, PathBuf)>>,
    signer: Option<&'a FileSigner>,
    staging: &'a Staging,
}

impl ForMsi<'_> {
    fn write(&self, a: &Artifact, path: &Path, lines: &mut String) -> anyhow::Result<PackageView> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let db = Database::from_bytes(&bytes).with_context(|| format!("{}: not a readable MSI", path.display()))?;
        let msi_name = a.path.clone();
        let mst_name = format!("{}.mst", msi_name.trim_end_matches(".msi"));
        let mut mst = crate::msi::transform::settings_transform(&db, &self.props, &[])
            .with_context(|| format!("making the transform for {msi_name}"))?;
        if let Some(signer) = self.signer {
            mst = signer.sign_bytes(&mst, "mst")?;
        }
        self.staging.write(&mst_name, &mst)?;
        if let Some(prev) = &self.previous {
            lines.push_str(&self.patch(prev, a, path)?);
        }
        let arch = a.target.arch_word();
        let log = &self.answers.deployment.log;
        let args = commands::msiexec_args(&msi_name, Some(&mst_name), &[], log);
        let direct = commands::msiexec_args(&msi_name, None, &self.props, log);
        lines.push_str(&format!(
            "\r\n== {msi_name} ({arch}) ==\r\ncmd.exe, with the transform:\r\n  {}\r\nPowerShell, with the transform:\r\n  {}\r\ncmd.exe, properties instead of the transform:\r\n  {}\r\n",
            commands::cmd(&args),
            commands::powershell(&args),
            commands::cmd(&direct)
        ));
        let m = self.m;
        Ok(PackageView {
            msi: ps(&msi_name),
            mst: Some(mst_name),
            arch: arch.to_string(),
            product_code: product_code(&db, path)?,
            deployment_type: ps(&format!("{} {} ({arch})", m.product.name, m.product.version)),
            install_command: ps(&commands::cmd(&args)),
            requirement: if a.arch() == Arch::X86_64 { "64-bit Windows 10 / Server 2016 or later".into() } else { "Windows 10 / Server 2016 or later".into() },
        })
    }

    /// The patch from the previous release's MSI of the same architecture,
    /// and its command line.
    fn patch(&self, prev: &[(Artifact, PathBuf)], a: &Artifact, path: &Path) -> anyhow::Result<String> {
        let file = &self.answers.file;
        let msi_name = &a.path;
        let Some((pa, old)) = prev.iter().find(|(pa, _)| pa.arch() == a.arch()) else {
            bail!("{file}: key `deployment.previous_release`: it has no {} MSI to patch {msi_name} from", a.target.arch_word());
        };
        let msp_name = format!("{}-from-{}.msp", msi_name.trim_end_matches(".msi"), pa.version);
        write_patch(self.m, old, path, &self.staging.path().join(&msp_name), self.signer)
            .with_context(|| format!("{file}: key `deployment.previous_release`"))?;
        Ok(format!(
            "\r\n== patch {msp_name} (installed {} -> {}) ==\r\n  msiexec.exe /p \"{msp_name}\" REINSTALL=ALL REINSTALLMODE=omus /qn /l*v \"{}\"\r\n",
            pa.version, a.version, self.answers.deployment.log
        ))
    }
}

pub fn run(opts: &AssistOptions) -> anyhow::Result<Vec<PathBuf>> {
    let m = Manifest::load(&opts.manifest)?;
    let answers = answers::load(&opts.answers, &m)?;
    let release = crate::release::read(&opts.from)?;
    let msis: Vec<(Artifact, PathBuf)> = release.of(Format::Msi).cloned().collect();
    if msis.is_empty() {
        bail!("{}: lists no MSI to deploy", opts.from.join(crate::release::FILE_NAME).display());
    }
    for (a, _) in &msis {
        answers.check_arch(&m, a.target.arch_word())?;
    }
    // A previous release: its MSI of each architecture, to patch from.
    let previous = match &answers.deployment.previous_release {
        None => None,
        Some(prev) => {
            let dir = Path::new(&answers.file).parent().unwrap_or(Path::new(".")).join(prev);
            Some(msis_of(&dir).with_context(|| format!("{}: key `deployment.previous_release`", answers.file))?)
        }
    };
    // Everything is made in a staging folder and swapped in at the end, so
    // a refused answer leaves no partial output.
    let staging = Staging::new(&opts.out)?;
    let each = ForMsi { m: &m, answers: &answers, props: answers.properties(&m), previous, signer: opts.signer.as_ref(), staging: &staging };
    let mut lines = format!(
        "{} {}: msiexec command lines (from {}).\r\nRun them from the folder holding the MSIs and transforms, elevated.\r\n",
        m.product.name, m.product.version, answers.file
    );
    let mut packages = Vec::new();
    for (a, path) in &msis {
        packages.push(each.write(a, path, &mut lines)?);
    }
    staging.write("commandlines.txt", lines.as_bytes())?;
    deployment_scripts(&m, &answers, &packages, &staging)?;
    // Macs get the same answers as a configuration profile for the MDM
    // (Installer has no install-time properties).
    if release.of(Format::Pkg).next().is_some() {
        mac_profile(&m, &answers, &staging)?;
    }
    let written: Vec<PathBuf> =
        std::fs::read_dir(staging.path())?.filter_map(|e| e.ok().map(|e| opts.out.join(e.file_name()))).collect();
    staging.swap_in()?;
    Ok(written)
}

/// The ConfigMgr script and the Intune settings.
fn deployment_scripts(m: &Manifest, answers: &answers::Answers, packages: &[PackageView], staging: &Staging) -> anyhow::Result<()> {
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
    staging.write("configmgr.ps1", render("assist/configmgr.ps1", &ctx)?.replace('\n', "\r\n").as_bytes())?;
    let intune = render("assist/intune.txt", &ctx)?.replace("''", "'");
    staging.write("intune.txt", intune.replace('\n', "\r\n").as_bytes())?;
    Ok(())
}

/// The answers as a configuration profile; Windows-only settings have no
/// meaning on a Mac and are left out.
fn mac_profile(m: &Manifest, answers: &answers::Answers, staging: &Staging) -> anyhow::Result<()> {
    let mac: std::collections::BTreeMap<String, String> = answers
        .settings
        .iter()
        .filter(|(n, _)| m.setting(n).is_some_and(|s| s.exists_on(outpost_manifest::Platform::Macos)))
        .cloned()
        .collect();
    let profile = crate::macos::mobileconfig::render_profile(m, &mac, &answers.file, crate::macos::mobileconfig::Unset::Omit)?;
    staging.write(&format!("{}.mobileconfig", m.product.id), profile.as_bytes())?;
    Ok(())
}
