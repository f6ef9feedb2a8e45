//! Which certificate authorities the agent trusts for the Switch and the
//! Background Channel: the operating system's store, plus the PEM bundle an
//! administrator names in `TrustedCaFile`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::TlsError;

pub struct Trust {
    extra: Option<PathBuf>,
    os: OnceLock<(Arc<RootCertStore>, Vec<String>)>,
}

impl Trust {
    /// `extra`: the resolved `TrustedCaFile`, `None` when the setting is empty.
    pub fn new(extra: Option<PathBuf>) -> Trust {
        Trust {
            extra,
            os: OnceLock::new(),
        }
    }

    /// The operating system's anchors, read once per process (on macOS it
    /// runs a command), and what could not be read of them.
    pub fn os_store(&self) -> &(Arc<RootCertStore>, Vec<String>) {
        self.os.get_or_init(|| {
            let (certs, problems) = os_certificates();
            let mut store = RootCertStore::empty();
            let (_, ignored) = store.add_parsable_certificates(certs);
            let mut problems = problems;
            if ignored > 0 {
                problems.push(format!("{ignored} certificates of the system store could not be used"));
            }
            (Arc::new(store), problems)
        })
    }

    /// The anchors for one connection attempt. `TrustedCaFile` is read again
    /// each time, so a corrected file takes effect without a restart.
    pub fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let (os, _) = self.os_store();
        let Some(file) = &self.extra else {
            if os.is_empty() {
                return Err(TlsError::NoTrust);
            }
            return Ok(os.clone());
        };
        let extra = read_bundle(file)?;
        let mut store = (**os).clone();
        for cert in extra {
            store.add(cert).map_err(|e| TlsError::TrustedCaFile {
                file: file.clone(),
                reason: format!("a certificate cannot be used as a trust anchor: {e}"),
            })?;
        }
        Ok(Arc::new(store))
    }
}

/// Every certificate of a PEM bundle; a file with none is an error (it is
/// always a mistake, and would silently fall back to the system store).
pub fn read_bundle(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::TrustedCaFile {
        file: file.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(file).map_err(|e| bad(format!("cannot read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

#[cfg(not(target_os = "macos"))]
fn os_certificates() -> (Vec<CertificateDer<'static>>, Vec<String>) {
    let found = rustls_native_certs::load_native_certs();
    let problems = found.errors.iter().map(|e| format!("system trust store: {e}")).collect();
    (found.certs, problems)
}

/// macOS: the system roots and the System keychain (where an MDM puts an
/// organisation's CA), read with `security`, because linking the Security
/// framework would need Apple's SDK at build time. Trust settings (a root an
/// administrator distrusted) are not read; `TrustedCaFile` adds, never removes.
#[cfg(target_os = "macos")]
fn os_certificates() -> (Vec<CertificateDer<'static>>, Vec<String>) {
    let mut certs = Vec::new();
    let mut problems = Vec::new();
    for keychain in [
        "/System/Library/Keychains/SystemRootCertificates.keychain",
        "/Library/Keychains/System.keychain",
    ] {
        match std::process::Command::new("/usr/bin/security")
            .args(["find-certificate", "-a", "-p", keychain])
            .output()
        {
            Ok(out) if out.status.success() => {
                certs.extend(CertificateDer::pem_slice_iter(&out.stdout).filter_map(Result::ok));
            }
            Ok(out) => problems.push(format!("security find-certificate {keychain}: {}", out.status)),
            Err(e) => problems.push(format!("cannot run /usr/bin/security: {e}")),
        }
    }
    if certs.is_empty() {
        // The OpenSSL-format copy of the system roots that macOS keeps.
        if let Ok(pem) = std::fs::read("/etc/ssl/cert.pem") {
            certs.extend(CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok));
        }
    }
    (certs, problems)
}
