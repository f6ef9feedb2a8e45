//! Which certificate authorities the agent trusts for the Switch and the
//! Background Channel: the operating system's store, plus the PEM bundle an
//! administrator names in `TrustedCaFile`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use super::TlsError;

pub struct Trust {
    extra: Option<PathBuf>,
    os: OnceLock<(Arc<RootCertStore>, Vec<String>)>,
    /// The last combined store and the `TrustedCaFile` bytes it was made
    /// from: sessions share one copy until the file changes.
    combined: Mutex<Option<(Vec<u8>, Arc<RootCertStore>)>>,
}

impl Trust {
    /// `extra`: the resolved `TrustedCaFile`, `None` when the setting is empty.
    pub fn new(extra: Option<PathBuf>) -> Trust {
        Trust {
            extra,
            os: OnceLock::new(),
            combined: Mutex::new(None),
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
        let bytes = std::fs::read(file).map_err(|e| TlsError::TrustedCaFile {
            file: file.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        let mut cached = self.combined.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, store)) = cached.as_ref() {
            if *seen == bytes {
                return Ok(store.clone());
            }
        }
        let mut store = (**os).clone();
        for cert in parse_bundle(file, &bytes)? {
            store.add(cert).map_err(|e| TlsError::TrustedCaFile {
                file: file.clone(),
                reason: format!("a certificate cannot be used as a trust anchor: {e}"),
            })?;
        }
        let store = Arc::new(store);
        *cached = Some((bytes, store.clone()));
        Ok(store)
    }
}

/// Every certificate of a PEM bundle; a file with none is an error (it is
/// always a mistake, and would silently fall back to the system store).
fn parse_bundle(file: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::TrustedCaFile {
        file: file.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_ca_file_problems_are_named_and_a_changed_file_is_reread() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        let trust = Trust::new(Some(file.clone()));
        let e = trust.roots().unwrap_err().to_string();
        assert!(e.contains("ca.pem") && e.contains("cannot read"), "{e}");
        std::fs::write(&file, "no certificates here\n").unwrap();
        let e = trust.roots().unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let ca = test_ca();
        std::fs::write(&file, &ca).unwrap();
        let a = trust.roots().unwrap();
        let b = trust.roots().unwrap();
        assert!(Arc::ptr_eq(&a, &b), "an unchanged file reuses the store");
        assert_eq!(a.len(), trust.os_store().0.len() + 1);
        std::fs::write(&file, format!("{ca}{ca}")).unwrap();
        assert!(!Arc::ptr_eq(&a, &trust.roots().unwrap()), "a changed file is read again");
    }

    /// A self-signed CA certificate (P-256), made once with openssl and
    /// embedded: the agent has no certificate generator.
    fn test_ca() -> String {
        include_str!("testdata/ca.pem").to_string()
    }
}
