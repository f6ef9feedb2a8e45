//! TLS for every link the agent opens (the Switch now, the Background Channel
//! next): rustls with the ring provider, TLS 1.2 and 1.3 only, the server's
//! name always verified, trust from the system store plus `TrustedCaFile`,
//! and the client certificate `ClientCertificate` names.

#[cfg(windows)]
mod cng;
pub mod identity;
pub mod trust;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, SignatureScheme};

pub use identity::{CertInfo, IdentitySource};
pub use trust::Trust;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TrustedCaFile {file}: {reason}")]
    TrustedCaFile { file: PathBuf, reason: String },
    #[error("no trusted certificate authorities: the system store is empty and TrustedCaFile is not set")]
    NoTrust,
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
}

/// What became of `ClientCertificate` for one connection attempt.
#[derive(Debug, Clone)]
pub enum IdentityReport {
    NotConfigured,
    InUse(CertInfo),
    /// Configured but not usable; the attempt goes on without a certificate.
    Unusable(String),
}

/// Everything needed to build a client configuration, shared by the
/// sessions of one process.
pub struct ClientTls {
    pub trust: Trust,
    pub identity: IdentitySource,
    pub password: String,
}

/// One attempt's configuration, and whether the server asked for a
/// certificate during the handshake (to say why a refusal happened).
pub struct Prepared {
    pub config: Arc<ClientConfig>,
    pub identity: IdentityReport,
    pub asked: Arc<AtomicBool>,
}

impl ClientTls {
    pub fn prepare(&self) -> Result<Prepared, TlsError> {
        let roots = self.trust.roots()?;
        let (certified, identity) = match self.identity.load(&self.password, crate::clock::unix_now()) {
            Ok(None) => (None, IdentityReport::NotConfigured),
            Ok(Some(id)) => (Some(id.certified), IdentityReport::InUse(id.info)),
            Err(problem) => (None, IdentityReport::Unusable(problem)),
        };
        let asked = Arc::new(AtomicBool::new(false));
        let resolver = Arc::new(Resolver {
            certified,
            asked: asked.clone(),
        });
        let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_client_cert_resolver(resolver);
        Ok(Prepared {
            config: Arc::new(config),
            identity,
            asked,
        })
    }
}

/// Presents the configured identity, if any, and notes that the server asked.
#[derive(Debug)]
struct Resolver {
    certified: Option<Arc<CertifiedKey>>,
    asked: Arc<AtomicBool>,
}

impl ResolvesClientCert for Resolver {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.certified.clone()
    }

    fn has_certs(&self) -> bool {
        self.certified.is_some()
    }
}

pub fn asked(p: &Prepared) -> bool {
    p.asked.load(Ordering::Relaxed)
}
