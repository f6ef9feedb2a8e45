//! The client certificate (`ClientCertificate`): none, a PEM file holding the
//! chain and its key, a PKCS#12 file (password in `ClientCertificatePassword`),
//! or on Windows a selector into a certificate store. Loading never fails the
//! agent: a problem is a sentence for the log and `status`.

use std::path::PathBuf;
use std::sync::Arc;

use outpost_manifest::clip;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

/// Facts about the certificate in use, for `status` and the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// Where it came from: a file path or the store selector.
    pub source: String,
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
    pub not_after_unix: i64,
}

pub struct Identity {
    pub certified: Arc<CertifiedKey>,
    pub info: CertInfo,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("info", &self.info).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    LocalMachine,
    CurrentUser,
}

/// `store:LocalMachine\My?issuer=...&subject=...`: the newest certificate
/// that is valid now, has a private key, and whose issuer and subject
/// contain the given texts (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSelector {
    pub location: StoreLocation,
    pub store: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    None,
    File(PathBuf),
    Store(StoreSelector),
    /// A setting the agent cannot use: reported at every attempt like a
    /// missing file, and the link goes on without a certificate.
    Invalid(String),
}

impl IdentitySource {
    /// Reads the setting. `resolve` maps an installed path to this machine
    /// (a test root); the value was already checked against the schema.
    pub fn parse(
        raw: &str,
        platform: outpost_manifest::Platform,
        resolve: impl Fn(&str) -> PathBuf,
    ) -> Result<IdentitySource, String> {
        if raw.is_empty() {
            return Ok(IdentitySource::None);
        }
        if let Some(sel) = raw.strip_prefix("store:") {
            return StoreSelector::parse(sel).map(IdentitySource::Store);
        }
        if !platform.is_absolute_path(raw) {
            return Err(format!(
                "ClientCertificate `{}` is neither empty, an absolute path, nor a store: selector",
                clip(raw)
            ));
        }
        Ok(IdentitySource::File(resolve(raw)))
    }

    pub fn describe(&self) -> String {
        match self {
            IdentitySource::None => "none".into(),
            IdentitySource::File(p) => p.display().to_string(),
            IdentitySource::Store(s) => format!("store {:?}\\{}", s.location, s.store),
            IdentitySource::Invalid(_) => "an invalid setting".into(),
        }
    }

    /// The identity for one connection attempt, read fresh (a replaced file
    /// is picked up without a restart). `Err` is the problem to report.
    pub fn load(&self, password: &str, now: i64) -> Result<Option<Identity>, String> {
        let (chain, key, source) = match self {
            IdentitySource::None => return Ok(None),
            IdentitySource::Invalid(problem) => return Err(problem.clone()),
            IdentitySource::File(path) => {
                let what = path.display().to_string();
                let bytes = std::fs::read(path).map_err(|e| format!("client certificate {what}: cannot read: {e}"))?;
                let (chain, key) = if looks_like_pem(&bytes) {
                    from_pem(&bytes)
                } else {
                    from_pkcs12(&bytes, password)
                }
                .map_err(|e| format!("client certificate {what}: {e}"))?;
                (chain, Key::Der(key), what)
            }
            IdentitySource::Store(sel) => {
                #[cfg(windows)]
                {
                    let (chain, key) = super::cng::find(sel, now)?;
                    (chain, Key::Signing(key), self.describe())
                }
                #[cfg(not(windows))]
                {
                    let _ = sel;
                    return Err("ClientCertificate: certificate store selectors (store:...) exist only on Windows; give a PEM or PKCS#12 file".into());
                }
            }
        };
        let (info, not_before) = describe(&chain[0], &source)?;
        if now > info.not_after_unix {
            return Err(format!(
                "client certificate {source} ({}) expired on {}",
                info.subject, info.not_after
            ));
        }
        if now < not_before {
            return Err(format!(
                "client certificate {source} ({}) is not valid before {}",
                info.subject,
                crate::clock::rfc3339(not_before)
            ));
        }
        let signing = match key {
            Key::Der(der) => rustls::crypto::ring::default_provider()
                .key_provider
                .load_private_key(der)
                .map_err(|e| format!("client certificate {source}: the private key cannot be used: {e}"))?,
            #[cfg(windows)]
            Key::Signing(k) => k,
        };
        let certified = CertifiedKey::new(chain, signing);
        certified
            .keys_match()
            .map_err(|_| format!("client certificate {source}: the private key does not belong to the certificate"))?;
        Ok(Some(Identity {
            certified: Arc::new(certified),
            info,
        }))
    }
}

enum Key {
    Der(PrivateKeyDer<'static>),
    #[cfg(windows)]
    Signing(Arc<dyn rustls::sign::SigningKey>),
}

impl StoreSelector {
    fn parse(sel: &str) -> Result<StoreSelector, String> {
        let bad = |why: &str| {
            format!(
                "ClientCertificate `store:{}`: {why}; expected store:LocalMachine\\My?issuer=...&subject=...",
                clip(sel)
            )
        };
        let (path, query) = sel.split_once('?').unwrap_or((sel, ""));
        let (location, store) = path.split_once('\\').ok_or_else(|| bad("no store name"))?;
        let location = match location.to_ascii_lowercase().as_str() {
            "localmachine" => StoreLocation::LocalMachine,
            "currentuser" => StoreLocation::CurrentUser,
            _ => return Err(bad("the location must be LocalMachine or CurrentUser")),
        };
        if store.is_empty() || !store.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("the store name must be letters and digits, e.g. My"));
        }
        let mut selector = StoreSelector {
            location,
            store: store.to_string(),
            issuer: None,
            subject: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| bad("a filter must be key=value"))?;
            let slot = match k.to_ascii_lowercase().as_str() {
                "issuer" => &mut selector.issuer,
                "subject" => &mut selector.subject,
                _ => return Err(bad("filters are issuer= and subject=")),
            };
            if v.is_empty() || slot.is_some() {
                return Err(bad("each filter once, with a value"));
            }
            *slot = Some(v.to_string());
        }
        Ok(selector)
    }

    /// Whether a certificate's issuer and subject pass the filters.
    pub fn matches(&self, issuer: &str, subject: &str) -> bool {
        let has =
            |hay: &str, needle: &Option<String>| needle.as_ref().is_none_or(|n| hay.to_lowercase().contains(&n.to_lowercase()));
        has(issuer, &self.issuer) && has(subject, &self.subject)
    }
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

type Chain = Vec<CertificateDer<'static>>;

fn from_pem(bytes: &[u8]) -> Result<(Chain, PrivateKeyDer<'static>), String> {
    let mut chain = Vec::new();
    let mut key = None;
    let mut encrypted = false;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = item.map_err(|e| format!("not a valid PEM file: {e}"))?;
        match kind {
            SectionKind::Certificate => chain.push(CertificateDer::from(der)),
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey if key.is_none() => {
                key = PrivateKeyDer::from_pem(kind, der);
            }
            _ => {}
        }
    }
    if bytes.windows(29).any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY--") {
        encrypted = true;
    }
    if chain.is_empty() {
        return Err("holds no certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    match key {
        Some(k) => Ok((chain, k)),
        None if encrypted => Err(
            "the private key is encrypted; give an unencrypted PEM key or a PKCS#12 file with ClientCertificatePassword".into(),
        ),
        None => Err("holds no private key (a PEM file must hold the certificate chain and its key)".into()),
    }
}

fn from_pkcs12(bytes: &[u8], password: &str) -> Result<(Chain, PrivateKeyDer<'static>), String> {
    use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
    let store = KeyStore::from_pkcs12(bytes, password, Pkcs12ImportPolicy::Relaxed).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => {
            "PKCS#12: wrong password (ClientCertificatePassword) or damaged file".to_string()
        }
        other => format!("neither PEM nor a readable PKCS#12 file: {other}"),
    })?;
    let (_, entry) = store
        .private_key_chain()
        .ok_or("the PKCS#12 file holds no private key with its certificate")?;
    if entry.certs().is_empty() {
        return Err("the PKCS#12 file holds a private key without its certificate".into());
    }
    let chain = entry
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::try_from(entry.key().as_der().to_vec()).map_err(|e| format!("PKCS#12 private key: {e}"))?;
    Ok((chain, key))
}

/// What `status` shows of a leaf certificate, and the start of its validity
/// (one parse for both).
pub(crate) fn describe(leaf: &CertificateDer<'_>, source: &str) -> Result<(CertInfo, i64), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("client certificate {source}: not an X.509 certificate: {e}"))?;
    let validity = cert.validity();
    let not_after_unix = validity.not_after.timestamp();
    let info = CertInfo {
        source: source.to_string(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: crate::clock::rfc3339(not_after_unix),
        not_after_unix,
    };
    Ok((info, validity.not_before.timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_manifest::Platform;

    fn parse(raw: &str) -> Result<IdentitySource, String> {
        IdentitySource::parse(raw, Platform::Windows, |p: &str| PathBuf::from(p))
    }

    #[test]
    fn store_selectors_parse_and_match() {
        let IdentitySource::Store(s) = parse("store:LocalMachine\\My?issuer=Corp CA&subject=CN=ws-042").unwrap() else {
            panic!()
        };
        assert_eq!(s.location, StoreLocation::LocalMachine);
        assert_eq!(s.store, "My");
        assert!(s.matches("CN=Corp CA Issuing 2, O=Corp", "CN=WS-042.corp.example"));
        assert!(!s.matches("CN=Other CA", "CN=ws-042"));
        assert!(matches!(parse("store:CurrentUser\\My").unwrap(), IdentitySource::Store(_)));
        for bad in [
            "store:Elsewhere\\My",
            "store:LocalMachine",
            "store:LocalMachine\\",
            "store:LocalMachine\\My?colour=red",
            "store:LocalMachine\\My?issuer=",
            "store:LocalMachine\\My?issuer=a&issuer=b",
            "store:LocalMachine\\M y",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn paths_must_be_absolute_for_the_platform() {
        assert_eq!(parse("").unwrap(), IdentitySource::None);
        assert!(matches!(parse("C:\\certs\\client.pem").unwrap(), IdentitySource::File(_)));
        assert!(parse("client.pem").is_err());
        let linux = IdentitySource::parse("/etc/outpost/client.pem", Platform::Linux, |p: &str| PathBuf::from(p)).unwrap();
        assert_eq!(linux, IdentitySource::File("/etc/outpost/client.pem".into()));
        let long = "x".repeat(5000);
        assert!(
            IdentitySource::parse(&long, Platform::Linux, |p: &str| PathBuf::from(p))
                .unwrap_err()
                .len()
                < 300
        );
    }

    #[test]
    fn unreadable_and_keyless_files_are_problems_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let missing = IdentitySource::File(dir.path().join("missing.pem"));
        assert!(missing.load("", 0).unwrap_err().contains("cannot read"));
        let f = dir.path().join("cert-only.pem");
        std::fs::write(&f, "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n").unwrap();
        let e = IdentitySource::File(f.clone()).load("", 0).unwrap_err();
        assert!(e.contains("no private key"), "{e}");
        std::fs::write(&f, [0x30, 0x82, 0x01, 0x00, 0xff, 0xfe]).unwrap();
        let e = IdentitySource::File(f).load("pw", 0).unwrap_err();
        assert!(e.contains("PKCS#12"), "{e}");
    }
}
