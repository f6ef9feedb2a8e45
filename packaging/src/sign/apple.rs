//! Apple code signing, in-process with the `apple-codesign` library: the
//! agent's Mach-O (every slice) with a Developer ID Application identity and
//! the hardened runtime, the product archive with a Developer ID Installer
//! identity (an RSA and a CMS signature with the certificate chain in the XAR
//! table of contents, as productsign writes them).
//!
//! Identities come from a PKCS#12 file (password in OMNIPACK_APPLE_PASSWORD,
//! read with the openssl tool) or a PEM file holding the certificate chain and the private key. With none
//! given, throwaway self-signed Developer ID certificates are generated once
//! per target directory: Gatekeeper will not trust them, and the build says so.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use apple_codesign::cryptography::InMemoryPrivateKey;
use apple_codesign::{
    AppleCertificateBuilder, CertificateProfile, CodeSignatureFlags, MachOSigner, SettingsScope, SigningSettings,
};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use x509_certificate::{CapturedX509Certificate, InMemorySigningKeyPair, X509CertificateBuilder};

use super::SignError;

/// Why a PEM or PKCS#12 file gives no signing identity; the caller names
/// the file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("not PEM: {0}")]
    NotPem(#[source] pem::PemError),
    #[error("certificate: {0}")]
    Certificate(#[source] x509_certificate::X509CertificateError),
    #[error("private key: {0}")]
    PrivateKey(#[source] apple_codesign::AppleCodesignError),
    #[error("unexpected PEM block `{0}`; allowed: CERTIFICATE, PRIVATE KEY, RSA PRIVATE KEY")]
    UnexpectedBlock(String),
    #[error("no private key in the file")]
    NoPrivateKey,
    #[error("no certificate in the file")]
    NoCertificate,
    #[error("cannot run openssl to read the PKCS#12 file: {0}")]
    Openssl(#[source] std::io::Error),
    /// openssl's first line of complaint, with and without `-legacy`.
    #[error("cannot open the PKCS#12 file (wrong password in {PASSWORD_ENV}?): {0}")]
    Pkcs12(String),
    #[error("{0}")]
    Read(#[source] std::io::Error),
}

pub const PASSWORD_ENV: &str = "OMNIPACK_APPLE_PASSWORD";
/// Apple's RFC 3161 server; notarization requires a secure timestamp on
/// Mach-O signatures, so real identities use it unless told otherwise.
pub const APPLE_TIMESTAMP_URL: &str = "http://timestamp.apple.com/ts01";

/// Where one identity's certificate and key live.
#[derive(Debug, Clone)]
pub enum AppleKeySource {
    Pkcs12(PathBuf),
    /// Certificate chain (leaf first) and private key (PKCS#8 or PKCS#1), one file.
    Pem(PathBuf),
}

/// Which of the two Developer ID identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Developer ID Application: executables.
    Application,
    /// Developer ID Installer: flat packages.
    Installer,
}

impl Role {
    fn profile(self) -> CertificateProfile {
        match self {
            Role::Application => CertificateProfile::DeveloperIdApplication,
            Role::Installer => CertificateProfile::DeveloperIdInstaller,
        }
    }
    fn file_stem(self) -> &'static str {
        match self {
            Role::Application => "developer-id-application",
            Role::Installer => "developer-id-installer",
        }
    }
}

pub struct Identity {
    pub cert: CapturedX509Certificate,
    key: InMemoryPrivateKey,
    /// Intermediates and root after the leaf.
    pub chain: Vec<CapturedX509Certificate>,
}

impl Identity {
    pub fn load(source: &AppleKeySource) -> Result<Identity, SignError> {
        let (AppleKeySource::Pkcs12(path) | AppleKeySource::Pem(path)) = source;
        Identity::read(source).map_err(|source| SignError::Identity {
            what: "Apple signing identity",
            path: path.display().to_string(),
            source,
        })
    }

    fn read(source: &AppleKeySource) -> Result<Identity, IdentityError> {
        match source {
            AppleKeySource::Pkcs12(path) => {
                // The leaf (the certificate with the key) first, then the
                // chain: from_pem takes the first certificate as the signer.
                let mut pem = pkcs12_to_pem(path, &["-clcerts"])?;
                pem.extend(pkcs12_to_pem(path, &["-cacerts", "-nokeys"])?);
                Identity::from_pem(&pem)
            }
            AppleKeySource::Pem(path) => Identity::from_pem(&std::fs::read(path).map_err(IdentityError::Read)?),
        }
    }

    fn from_pem(text: &[u8]) -> Result<Identity, IdentityError> {
        // openssl prints "Bag Attributes" lines between blocks; pem skips them.
        let mut certs = Vec::new();
        let mut key = None;
        for block in pem::parse_many(text).map_err(IdentityError::NotPem)? {
            match block.tag() {
                "CERTIFICATE" => certs.push(
                    CapturedX509Certificate::from_der(block.contents().to_vec()).map_err(IdentityError::Certificate)?,
                ),
                "PRIVATE KEY" => {
                    key = Some(InMemoryPrivateKey::from_pkcs8_der(block.contents()).map_err(IdentityError::PrivateKey)?)
                }
                "RSA PRIVATE KEY" => {
                    key = Some(InMemoryPrivateKey::from_pkcs1_der(block.contents()).map_err(IdentityError::PrivateKey)?)
                }
                other => return Err(IdentityError::UnexpectedBlock(other.to_string())),
            }
        }
        let key = key.ok_or(IdentityError::NoPrivateKey)?;
        if certs.is_empty() {
            return Err(IdentityError::NoCertificate);
        }
        let cert = certs.remove(0);
        Ok(Identity { cert, key, chain: certs })
    }

    /// A self-signed certificate with the Developer ID extensions and
    /// extended key usage of `role`, written to `dir` so later builds reuse it.
    fn throwaway(dir: &Path, role: Role) -> Result<Identity, SignError> {
        let path = dir.join(format!("{}.pem", role.file_stem()));
        if let Ok(text) = std::fs::read(&path) {
            match Identity::from_pem(&text) {
                Ok(id) => return Ok(id),
                // Damaged (not by us: it is written whole): make a new one.
                Err(_) => drop(std::fs::remove_file(&path)),
            }
        }
        let err = |reason: String| SignError::Key {
            what: "throwaway Apple identity",
            path: path.display().to_string(),
            reason,
        };
        let id_err = |source: IdentityError| SignError::Identity {
            what: "throwaway Apple identity",
            path: path.display().to_string(),
            source,
        };
        let rsa_key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| err(e.to_string()))?;
        let pkcs8 = rsa_key.to_pkcs8_der().map_err(|e| err(e.to_string()))?;
        let pair = InMemorySigningKeyPair::from_pkcs8_der(pkcs8.as_bytes()).map_err(|e| err(e.to_string()))?;
        let mut builder = X509CertificateBuilder::default();
        builder
            .apple_certificate_profile(role.profile())
            .map_err(|e| err(e.to_string()))?;
        builder
            .apple_subject("OMNITEST01", "Omnipack Throwaway Test", "US")
            .map_err(|e| err(e.to_string()))?;
        builder.validity_duration(chrono::Duration::days(3650));
        let cert = builder.create_with_key_pair(&pair).map_err(|e| err(e.to_string()))?;
        let key_pem = rsa_key.to_pkcs8_pem(LineEnding::LF).map_err(|e| err(e.to_string()))?;
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let text = format!("{}{}", cert.encode_pem(), key_pem.as_str());
        // Parallel builds may race here: whoever comes second signs with
        // the first one's identity, so every package agrees.
        if super::publish_private(&path, text.as_bytes()).map_err(|e| err(e.to_string()))? {
            Identity::from_pem(text.as_bytes()).map_err(id_err)
        } else {
            let theirs = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
            Identity::from_pem(&theirs).map_err(id_err)
        }
    }
}

/// The certificates and key of a PKCS#12 file as PEM, in memory. openssl
/// reads every MAC and cipher in use (SHA-256 MACs from OpenSSL 3, RC2 from
/// older Keychain exports with `-legacy`); the p12 parser inside
/// apple-codesign panics on SHA-256 MACs. The password goes through the
/// environment, never the command line.
fn pkcs12_to_pem(path: &Path, select: &[&str]) -> Result<Vec<u8>, IdentityError> {
    let mut last = String::new();
    for legacy in [false, true] {
        let mut cmd = std::process::Command::new("openssl");
        cmd.arg("pkcs12")
            .arg("-in")
            .arg(path)
            .args(select)
            .args(["-nodes", "-passin"]);
        if std::env::var_os(PASSWORD_ENV).is_some() {
            cmd.arg(format!("env:{PASSWORD_ENV}"));
        } else {
            cmd.arg("pass:");
        }
        if legacy {
            cmd.arg("-legacy");
        }
        let out = cmd.output().map_err(IdentityError::Openssl)?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        last = String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
    }
    Err(IdentityError::Pkcs12(last))
}

/// Both identities and the timestamp policy.
pub struct AppleSigner {
    pub application: Identity,
    pub installer: Identity,
    pub timestamp_url: Option<url::Url>,
    test: bool,
}

impl AppleSigner {
    /// `timestamp`: None means Apple's server for real identities and no
    /// timestamp for throwaway ones; Some("none") turns it off.
    pub fn new(
        application: Option<AppleKeySource>,
        installer: Option<AppleKeySource>,
        throwaway_dir: &Path,
        timestamp: Option<&str>,
    ) -> Result<AppleSigner, SignError> {
        // Half real, half throwaway would pass for release-signed at a glance.
        if application.is_some() != installer.is_some() {
            return Err(SignError::Sign(
                "give both Developer ID identities (--apple-application and --apple-installer) or neither".into(),
            ));
        }
        let test = application.is_none();
        let load = |source: Option<AppleKeySource>, role| match source {
            Some(s) => Identity::load(&s),
            None => Identity::throwaway(throwaway_dir, role),
        };
        let application = load(application, Role::Application)?;
        let installer = load(installer, Role::Installer)?;
        let timestamp_url = match timestamp {
            Some("none") => None,
            Some(u) => Some(url::Url::parse(u).map_err(|e| SignError::Sign(format!("timestamp URL `{u}`: {e}")))?),
            None if test => None,
            None => Some(url::Url::parse(APPLE_TIMESTAMP_URL).expect("constant URL")),
        };
        Ok(AppleSigner {
            application,
            installer,
            timestamp_url,
            test,
        })
    }

    pub fn is_test_key(&self) -> bool {
        self.test
    }

    fn settings<'a>(&self, id: &'a Identity) -> Result<SigningSettings<'a>, SignError> {
        let mut s = SigningSettings::default();
        s.set_signing_key(&id.key, id.cert.clone());
        // A real Developer ID certificate gets Apple's intermediate and root,
        // as codesign embeds them; a self-signed one has no chain to add.
        s.chain_apple_certificates();
        for c in &id.chain {
            s.chain_certificate(c.clone());
        }
        s.set_team_id_from_signing_certificate();
        if let Some(u) = &self.timestamp_url {
            s.set_time_stamp_url(u.as_str()).map_err(|e| SignError::Sign(e.to_string()))?;
        }
        Ok(s)
    }

    /// Signs every slice of a (universal) Mach-O with the hardened runtime,
    /// which notarization requires.
    pub fn sign_macho(&self, data: &[u8], identifier: &str) -> Result<Vec<u8>, SignError> {
        let mut s = self.settings(&self.application)?;
        s.set_binary_identifier(SettingsScope::Main, identifier);
        s.set_code_signature_flags(SettingsScope::Main, CodeSignatureFlags::RUNTIME);
        let signer = MachOSigner::new(data).map_err(|e| SignError::Sign(format!("Mach-O: {e}")))?;
        let mut out = Vec::with_capacity(data.len() + 64 * 1024);
        signer
            .write_signed_binary(&s, &mut out)
            .map_err(|e| SignError::Sign(format!("signing the Mach-O: {e}")))?;
        Ok(out)
    }

    /// Signs a flat package (the XAR's table of contents).
    pub fn sign_pkg(&self, pkg: &[u8]) -> Result<Vec<u8>, SignError> {
        let id = &self.installer;
        let s = self.settings(id)?;
        let reader = apple_xar::reader::XarReader::new(Cursor::new(pkg))
            .map_err(|e| SignError::Sign(format!("reading the pkg to sign: {e}")))?;
        let mut signer = apple_xar::signing::XarSigner::new(reader);
        let mut out = Vec::with_capacity(pkg.len() + 16 * 1024);
        signer
            .sign(
                &mut out,
                &id.key,
                &id.cert,
                self.timestamp_url.as_ref(),
                s.certificate_chain().iter().cloned(),
            )
            .map_err(|e| SignError::Sign(format!("signing the pkg: {e}")))?;
        Ok(out)
    }
}
