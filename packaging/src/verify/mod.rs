//! `omnipack verify DIR`: a release folder checked whole, by omnipack's own
//! readers (no osslsigncode, gpg or rpm): every file against release.json
//! and SHA256SUMS, SHA256SUMS.asc and each rpm with the release key, the
//! Authenticode signatures of the MSIs, of the executables inside them and
//! of the Windows assistant, the pkg's XAR signature and the agent's Mach-O
//! code signatures, and the bundles' members against the loose files.
//! Every problem is reported, one line each; nothing stops at the first.

mod authenticode;
mod bundles;
mod der;
mod listing;
mod macho;
mod msi;
mod openpgp;
mod packages;
mod pe;
mod report;
mod xar;

use std::path::Path;

use crate::release::Signature;
pub use report::{Outcome, Report};

/// What a run is for.
pub struct Context<'a> {
    pub dir: &'a Path,
    /// `--release`: a test-signed or unsigned artifact is a failure.
    pub release: bool,
}

impl Context<'_> {
    /// A signature that verified: a notice (a failure with --release) when
    /// it is a throwaway test one, naming the key or certificate.
    fn signed(&self, r: &mut Report, file: &str, signature: Signature, by: &str) {
        if signature.is_test() {
            self.not_for_release(
                r,
                file,
                "test-signed",
                format!("test-signed with {by} (throwaway test key, never to be released)"),
            );
        }
    }

    /// A notice, or with --release a failure.
    fn not_for_release(&self, r: &mut Report, file: &str, check: &str, detail: String) {
        if self.release {
            r.fail(file, check, format!("{detail} (--release)"));
        } else {
            r.notice(file, check, detail);
        }
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(name)).ok()
    }
}

/// Every check on `dir`.
pub fn run(dir: &Path, release: bool) -> Report {
    let ctx = Context { dir, release };
    let mut r = Report::new(&dir.display().to_string());
    let key = listing::release_key(&ctx, &mut r);
    let rel = listing::check(&ctx, key.as_ref(), &mut r);
    if let Some(rel) = &rel {
        packages::check(&ctx, rel, key.as_ref(), &mut r);
        bundles::check(&ctx, rel, key.as_ref(), &mut r);
    }
    r.finish();
    r
}

pub fn command(dir: &Path, json: bool, release: bool) -> anyhow::Result<()> {
    if !dir.is_dir() {
        anyhow::bail!(
            "{}: not a folder (give the release folder `omnipack build --out` wrote)",
            dir.display()
        );
    }
    let report = run(dir, release);
    let problems = report.lines(Outcome::Fail);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for line in &problems {
            println!("{line}");
        }
        for line in report.lines(Outcome::Notice) {
            eprintln!("notice: {line}");
        }
        let (files, checks) = report.count();
        eprintln!(
            "{}: {files} files, {checks} checks, {} problems",
            dir.display(),
            problems.len()
        );
    }
    if !problems.is_empty() {
        anyhow::bail!("{}: {} problem(s) found", dir.display(), problems.len());
    }
    Ok(())
}
