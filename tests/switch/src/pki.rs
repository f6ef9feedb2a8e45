//! A throwaway certificate authority and the identities it issues.
//!
//! Everything is ECDSA P-256 (fast to generate in debug builds, supported by every TLS stack the
//! agent links) and lives in a directory the test owns, so nothing touches a system trust store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

/// The common name of the CA that `Pki::new` makes; the agent's tests trust it by `ca.pem`.
pub const CA_NAME: &str = "Outpost Test CA";
/// The common name of `Pki::other_ca`: a CA nobody trusts, for "untrusted Switch/client" tests.
pub const OTHER_CA_NAME: &str = "Outpost Untrusted Test CA";

/// When a certificate is valid, relative to now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// From an hour ago for a year.
    Current,
    /// Ended yesterday (valid from 30 days ago).
    Expired,
    /// Starts tomorrow (for 30 days).
    NotYetValid,
}

impl Validity {
    fn range(self) -> (OffsetDateTime, OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        match self {
            Validity::Current => (now - Duration::hours(1), now + Duration::days(365)),
            Validity::Expired => (now - Duration::days(30), now - Duration::days(1)),
            Validity::NotYetValid => (now + Duration::days(1), now + Duration::days(31)),
        }
    }
}

/// A certificate chain (leaf first, then the CA) and its PKCS#8 private key, as PEM.
#[derive(Clone, Debug)]
pub struct Identity {
    /// Leaf then CA certificate.
    pub cert_pem: String,
    /// The leaf alone.
    pub leaf_pem: String,
    /// PKCS#8 ("BEGIN PRIVATE KEY").
    pub key_pem: String,
    /// The leaf's subject common name.
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Identity {
    /// One file with chain and key: the form the agent's `ClientCertificate` accepts as PEM.
    pub fn write_pem_bundle(&self, path: impl AsRef<Path>) {
        write_private(path.as_ref(), &format!("{}{}", self.cert_pem, self.key_pem));
    }

    /// The chain (leaf then CA).
    pub fn write_cert(&self, path: impl AsRef<Path>) {
        write_file(path.as_ref(), &self.cert_pem);
    }

    pub fn write_key(&self, path: impl AsRef<Path>) {
        write_private(path.as_ref(), &self.key_pem);
    }

    pub fn cert_chain_der(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("our own PEM parses")
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("our own key PEM parses")
    }
}

/// A CA with its key, able to issue server and client identities until dropped.
pub struct Pki {
    dir: PathBuf,
    common_name: String,
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    /// Creates the test CA and writes `dir/ca.pem` and `dir/ca-key.pem` (creating `dir`).
    pub fn new(dir: &Path) -> Pki {
        Pki::with_name(dir, CA_NAME)
    }

    /// An unrelated CA (different key and name) in `dir`: give it another directory than the
    /// trusted one, since it writes the same file names.
    pub fn other_ca(dir: &Path) -> Pki {
        Pki::with_name(dir, OTHER_CA_NAME)
    }

    pub fn with_name(dir: &Path, common_name: &str) -> Pki {
        let key = KeyPair::generate().expect("generate CA key");
        let params = ca_params(common_name);
        let cert = params.self_signed(&key).expect("self-sign CA");
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        write_file(&dir.join("ca.pem"), &cert.pem());
        write_private(&dir.join("ca-key.pem"), &key.serialize_pem());
        Pki {
            dir: dir.to_path_buf(),
            common_name: common_name.to_string(),
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Reuses the CA in `dir` if `ca.pem` and `ca-key.pem` are there, else creates one.
    ///
    /// A Switch process that is killed and started again must keep its CA: the agents under
    /// test trust the `ca.pem` they were given, so a new CA would fail every reconnect.
    pub fn open_or_create(dir: &Path) -> Pki {
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        if !(cert_path.exists() && key_path.exists()) {
            return Pki::new(dir);
        }
        let ca_pem = fs::read_to_string(&cert_path).unwrap_or_else(|e| panic!("read {}: {e}", cert_path.display()));
        let key_pem = fs::read_to_string(&key_path).unwrap_or_else(|e| panic!("read {}: {e}", key_path.display()));
        let key = KeyPair::from_pem(&key_pem).unwrap_or_else(|e| panic!("{}: {e}", key_path.display()));
        let der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", cert_path.display()));
        // rcgen encodes a name the same way every time, so rebuilding the CA's parameters from
        // its common name gives leaves an issuer name byte-identical to the CA's subject, and
        // the key identifier is derived from the same key.
        let common_name = subject_attributes(&der)
            .and_then(|attrs| attrs.into_iter().find(|(k, _)| k == "CN").map(|(_, v)| v))
            .unwrap_or_else(|| panic!("{}: no subject common name", cert_path.display()));
        Pki {
            dir: dir.to_path_buf(),
            issuer: Issuer::new(ca_params(&common_name), key),
            common_name,
            ca_pem,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// A TLS server leaf for `names` (DNS names or IP addresses), valid now.
    pub fn server_identity(&self, names: &[&str]) -> Identity {
        self.server_identity_with_validity(names, Validity::Current)
    }

    /// For tests of a client refusing a Switch whose certificate is out of date.
    pub fn server_identity_with_validity(&self, names: &[&str], validity: Validity) -> Identity {
        let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(owned).unwrap_or_else(|e| panic!("names {names:?}: {e}"));
        let cn = names.first().copied().unwrap_or("outpost-test-switch");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, cn, validity)
    }

    /// A client (mutual TLS) leaf with extendedKeyUsage clientAuth.
    pub fn client_identity(&self, common_name: &str, validity: Validity) -> Identity {
        let mut params = CertificateParams::default();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, common_name, validity)
    }

    fn issue(&self, mut params: CertificateParams, common_name: &str, validity: Validity) -> Identity {
        let (not_before, not_after) = validity.range();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(fresh_serial());
        let key = KeyPair::generate().expect("generate leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Identity {
            cert_pem: format!("{}{}", cert.pem(), self.ca_pem),
            leaf_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            common_name: common_name.to_string(),
            not_before,
            not_after,
        }
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, common_name);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(fresh_serial());
    params
}

/// Distinct serials per process and across runs (time-based), so no two leaves of one CA clash.
fn fresh_serial() -> SerialNumber {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut bytes = vec![0x01]; // positive, non-zero leading byte
    bytes.extend_from_slice(&nanos.to_be_bytes());
    bytes.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    SerialNumber::from_slice(&bytes)
}

fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Keys are written owner-only, as an agent may refuse a key others can read.
fn write_private(path: &Path, text: &str) {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `CN=dev-1, O=Example`: the subject of a DER certificate, for recording who connected.
pub fn subject_string(cert: &[u8]) -> Option<String> {
    let attrs = subject_attributes(cert)?;
    Some(attrs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
}

/// The subject's (type, value) pairs in order. A few lines of DER walking instead of an X.509
/// crate: only the subject is needed, and certificates come from our own CA or a test's.
pub fn subject_attributes(cert: &[u8]) -> Option<Vec<(String, String)>> {
    let (_, certificate, _) = tlv(cert)?;
    let (_, mut tbs, _) = tlv(certificate)?;
    let mut fields = Vec::new();
    while !tbs.is_empty() {
        let (tag, content, rest) = tlv(tbs)?;
        if tag != 0xa0 {
            fields.push((tag, content));
        }
        tbs = rest;
    }
    // serial, signature algorithm, issuer, validity, subject
    let (tag, mut name) = *fields.get(4)?;
    if tag != 0x30 {
        return None;
    }
    let mut out = Vec::new();
    while !name.is_empty() {
        let (_, mut set, rest) = tlv(name)?;
        name = rest;
        while !set.is_empty() {
            let (_, pair, rest) = tlv(set)?;
            set = rest;
            let (_, oid, after) = tlv(pair)?;
            let (_, value, _) = tlv(after)?;
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN".to_string(),
                [0x55, 0x04, 0x06] => "C".to_string(),
                [0x55, 0x04, 0x07] => "L".to_string(),
                [0x55, 0x04, 0x08] => "ST".to_string(),
                [0x55, 0x04, 0x0a] => "O".to_string(),
                [0x55, 0x04, 0x0b] => "OU".to_string(),
                other => format!("OID.{}", other.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            };
            out.push((key, String::from_utf8_lossy(value).into_owned()));
        }
    }
    Some(out)
}

/// One DER tag-length-value: (tag, content, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}
