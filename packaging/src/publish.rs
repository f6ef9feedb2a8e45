//! `omnipack publish`: adds a build's packages to signed apt and yum
//! repositories and puts the public key, in the forms clients import, at the
//! top of the repository folder.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::release::FILE_NAME;
use crate::target::Format;
use crate::repo::{apt, write_atomic, yum};
use crate::sign::openpgp::OpenPgpKey;
use crate::sign::Signer;

pub struct PublishOptions {
    pub from: PathBuf,
    pub repo_dir: PathBuf,
    pub suite: String,
    pub component: String,
    pub date: u64,
    /// Names the key files (`<id>-archive-keyring.asc`).
    pub product_id: String,
    /// The Release `Origin:`/`Label:` (the vendor).
    pub origin: String,
}

pub struct Published {
    pub apt_packages: Vec<PathBuf>,
    pub yum_packages: Vec<PathBuf>,
    pub key_files: Vec<PathBuf>,
}

pub fn publish(opts: &PublishOptions, key: &OpenPgpKey) -> anyhow::Result<Published> {
    let release = crate::release::read(&opts.from)?;
    let debs: Vec<PathBuf> = release.of(Format::Deb).map(|(_, p)| p.clone()).collect();
    let rpms: Vec<PathBuf> = release.of(Format::Rpm).map(|(_, p)| p.clone()).collect();
    if debs.is_empty() && rpms.is_empty() {
        bail!("{}: lists no deb or rpm packages", opts.from.join(FILE_NAME).display());
    }
    // dnf checks each package against the repository's key (gpgcheck=1):
    // refuse a package signed with another key or not at all, here, rather
    // than at every client.
    let verifier = ::rpm::signature::pgp::Verifier::from_asc(&key.public_key_armored())
        .map_err(|e| anyhow::anyhow!("loading the repository key for verification: {e}"))?;
    for rpm in &rpms {
        let pkg = ::rpm::Package::open(rpm).with_context(|| format!("{}: not a readable rpm", rpm.display()))?;
        pkg.verify_signature(verifier.clone()).map_err(|e| {
            anyhow::anyhow!(
                "{}: not signed with the repository key {} ({e}); rebuild it with the same --openpgp-key",
                rpm.display(),
                key.fingerprint()
            )
        })?;
    }

    let id = &opts.product_id;
    let mut key_files = Vec::new();
    let [asc, gpg] = crate::bundle::keyring_file_names(id);
    let armored = opts.repo_dir.join(asc);
    write_atomic(&armored, key.public_key_armored().as_bytes())?;
    let binary = opts.repo_dir.join(gpg);
    write_atomic(&binary, &key.public_key_binary())?;
    key_files.extend([armored, binary]);

    let mut apt_packages = Vec::new();
    if !debs.is_empty() {
        let apt_opts = apt::AptOptions {
            suite: opts.suite.clone(),
            component: opts.component.clone(),
            origin: opts.origin.clone(),
            label: opts.origin.clone(),
            description: format!("{id} packages"),
            date: opts.date,
        };
        apt_packages = apt::publish(&opts.repo_dir.join(Format::Deb.as_str()), &debs, key, &apt_opts)?.packages;
    }
    let mut yum_packages = Vec::new();
    if !rpms.is_empty() {
        yum_packages = yum::publish(&opts.repo_dir.join(Format::Rpm.as_str()), &rpms, key, &yum::YumOptions { date: opts.date })?.packages;
    }
    Ok(Published {
        apt_packages,
        yum_packages,
        key_files,
    })
}
