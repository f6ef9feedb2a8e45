//! An Authenticode signature (PKCS#7 SignedData over SpcIndirectDataContent),
//! read and checked in-process: the file digest it carries, the signed
//! attributes' message digest over that content, the signer's RSA signature
//! over the attributes with the certificate the SignedData holds, and the
//! same for every signature nested in it (szOID_NESTED_SIGNATURE: our dual
//! SHA-1 + SHA-256 signatures). Comparing the file digest with the file is
//! the caller's part (pe.rs, msi.rs): only it knows what is hashed.

use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use x509_certificate::{CapturedX509Certificate, KeyAlgorithm, SignatureAlgorithm};

use super::der::{nth, DerError, Tlv, CTX0, CTX1, OCTET_STRING, OID, SEQUENCE, SET};

const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const SPC_INDIRECT_DATA: &str = "1.3.6.1.4.1.311.2.1.4";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const NESTED_SIGNATURE: &str = "1.3.6.1.4.1.311.2.4.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
/// SpcIndirectDataContent.data of a PE file.
pub const PE_IMAGE_DATA: &str = "1.3.6.1.4.1.311.2.1.15";
/// SpcIndirectDataContent.data of a file a SIP hashes (MSI, MST, MSP).
pub const SIP_INFO: &str = "1.3.6.1.4.1.311.2.1.30";

#[derive(Debug, thiserror::Error)]
pub enum AuthenticodeError {
    #[error("the PKCS#7 signature cannot be read: {0}")]
    Der(#[from] DerError),
    #[error("the PKCS#7 signature is not {0}")]
    Unexpected(&'static str),
    #[error("digest algorithm {0} is not supported (SHA-1 and SHA-256 are)")]
    UnsupportedDigest(String),
    #[error("the signed attributes' message digest does not match the SpcIndirectDataContent ({0} signature)")]
    MessageDigest(Hash),
    #[error("the signer's certificate is not in the PKCS#7 SignedData ({0} signature)")]
    NoSignerCertificate(Hash),
    #[error("the PKCS#7 signature does not verify with the signer certificate `{signer}` ({hash} signature): {reason}")]
    BadSignature { hash: Hash, signer: String, reason: String },
    #[error("Authenticode digest does not match the file ({0} signature)")]
    Digest(Hash),
    #[error("the {0} signature is over a {1}, not this kind of file")]
    DataType(Hash, String),
    #[error("neither a PE file nor a compound file (MSI, MST, MSP)")]
    UnknownFile,
    #[error(transparent)]
    Pe(#[from] super::pe::PeError),
    #[error(transparent)]
    Msi(#[from] super::msi::MsiSigError),
}

/// Checks every signature of a PE or compound file: each PKCS#7 part and
/// each file digest against the file. Returns the signatures, primary first.
pub fn check_file(bytes: &[u8]) -> Result<Vec<Signature>, AuthenticodeError> {
    let pe = bytes.starts_with(b"MZ");
    let cfb = bytes.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    let signatures = match (pe, cfb) {
        (true, _) => read(super::pe::signature(bytes)?)?,
        (_, true) => read(&super::msi::signature(bytes)?)?,
        _ => return Err(AuthenticodeError::UnknownFile),
    };
    for s in &signatures {
        let wanted_type = if pe { PE_IMAGE_DATA } else { SIP_INFO };
        if s.data_type != wanted_type {
            return Err(AuthenticodeError::DataType(s.hash, s.data_type.clone()));
        }
        let digest = if pe {
            super::pe::digest(bytes, s.hash)?
        } else {
            super::msi::digest(bytes, s.hash)?
        };
        if digest != s.file_digest {
            return Err(AuthenticodeError::Digest(s.hash));
        }
    }
    Ok(signatures)
}

/// The digest algorithms Authenticode uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha256 => "SHA-256",
        })
    }
}

impl Hash {
    pub(super) fn from_oid(oid: &str) -> Result<Hash, AuthenticodeError> {
        match oid {
            "1.3.14.3.2.26" => Ok(Hash::Sha1),
            "2.16.840.1.101.3.4.2.1" => Ok(Hash::Sha256),
            other => Err(AuthenticodeError::UnsupportedDigest(other.to_string())),
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Hash::Sha1 => Hasher::Sha1(Sha1::new()),
            Hash::Sha256 => Hasher::Sha256(Sha256::new()),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

pub enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// One signature whose PKCS#7 part verified.
#[derive(Debug, Clone)]
pub struct Signature {
    pub hash: Hash,
    /// SpcIndirectDataContent.data's type: [`PE_IMAGE_DATA`] or [`SIP_INFO`].
    pub data_type: String,
    /// The file digest the signer signed.
    pub file_digest: Vec<u8>,
    /// The signer certificate's common name and SHA-256 fingerprint.
    pub signer: String,
    pub signer_sha256: String,
}

/// Every signature in `pkcs7` (a DER ContentInfo), the primary first, each
/// nested one after the one it is nested in.
pub fn read(pkcs7: &[u8]) -> Result<Vec<Signature>, AuthenticodeError> {
    let mut out = Vec::new();
    read_into(pkcs7, &mut out)?;
    Ok(out)
}

fn read_into(pkcs7: &[u8], out: &mut Vec<Signature>) -> Result<(), AuthenticodeError> {
    let info = Tlv::expect(pkcs7, SEQUENCE, "a ContentInfo SEQUENCE")?.children()?;
    if nth(&info, 0, "contentType")?.oid()? != SIGNED_DATA {
        return Err(AuthenticodeError::Unexpected("a PKCS#7 SignedData"));
    }
    let signed = Tlv::expect(
        nth(&info, 1, "content")?.tagged(CTX0, "[0] content")?.body,
        SEQUENCE,
        "SignedData",
    )?;
    let parts = signed.children()?;
    let encap = nth(&parts, 2, "encapContentInfo")?
        .tagged(SEQUENCE, "encapContentInfo")?
        .children()?;
    if nth(&encap, 0, "eContentType")?.oid()? != SPC_INDIRECT_DATA {
        return Err(AuthenticodeError::Unexpected("over an SpcIndirectDataContent"));
    }
    let indirect = Tlv::expect(
        nth(&encap, 1, "eContent")?.tagged(CTX0, "[0] eContent")?.body,
        SEQUENCE,
        "SpcIndirectDataContent",
    )?;
    let (data_type, hash, file_digest) = indirect_data(&indirect)?;
    let certs: Vec<Tlv> = match parts.iter().find(|p| p.tag == CTX0) {
        Some(c) => c.children()?,
        None => Vec::new(),
    };
    let signer_infos = parts
        .last()
        .ok_or(DerError::Missing("signerInfos"))?
        .tagged(SET, "signerInfos SET")?
        .children()?;
    let info = nth(&signer_infos, 0, "a SignerInfo")?.children()?;
    let (signer, signer_sha256) = check_signer(&info, hash, &indirect, &certs)?;
    out.push(Signature {
        hash,
        data_type,
        file_digest,
        signer,
        signer_sha256,
    });
    for nested in unsigned_attribute(&info, NESTED_SIGNATURE)? {
        read_into(nested.raw, out)?;
    }
    Ok(())
}

/// SpcIndirectDataContent: (data type, digest algorithm, file digest).
fn indirect_data(indirect: &Tlv) -> Result<(String, Hash, Vec<u8>), AuthenticodeError> {
    let c = indirect.children()?;
    let data_type = nth(&nth(&c, 0, "SpcAttributeTypeAndOptionalValue")?.children()?, 0, "data type")?.oid()?;
    let digest_info = nth(&c, 1, "DigestInfo")?.children()?;
    let alg = nth(&nth(&digest_info, 0, "digestAlgorithm")?.children()?, 0, "algorithm")?.oid()?;
    let digest = nth(&digest_info, 1, "digest")?.tagged(OCTET_STRING, "the digest OCTET STRING")?;
    Ok((data_type, Hash::from_oid(&alg)?, digest.body.to_vec()))
}

/// Checks one SignerInfo against the content and returns its certificate's
/// name and fingerprint.
fn check_signer(info: &[Tlv], hash: Hash, indirect: &Tlv, certs: &[Tlv]) -> Result<(String, String), AuthenticodeError> {
    let sid = nth(info, 1, "sid")?.tagged(SEQUENCE, "IssuerAndSerialNumber")?.children()?;
    let (issuer, serial) = (nth(&sid, 0, "issuer")?, nth(&sid, 1, "serialNumber")?);
    let signer_hash = Hash::from_oid(&nth(&nth(info, 2, "digestAlgorithm")?.children()?, 0, "algorithm")?.oid()?)?;
    let attrs = nth(info, 3, "signedAttrs")?.tagged(CTX0, "[0] signedAttrs")?;
    // Authenticode digests SpcIndirectDataContent without its tag and length.
    let wanted = signer_hash.digest(indirect.body);
    let message_digest = attribute(&attrs, MESSAGE_DIGEST)?.ok_or(DerError::Missing("the messageDigest attribute"))?;
    if message_digest.tagged(OCTET_STRING, "messageDigest OCTET STRING")?.body != wanted.as_slice() {
        return Err(AuthenticodeError::MessageDigest(hash));
    }
    let sig_alg = nth(&nth(info, 4, "signatureAlgorithm")?.children()?, 0, "algorithm")?;
    let signature = nth(info, 5, "signature")?.tagged(OCTET_STRING, "signature OCTET STRING")?;
    let cert = certs
        .iter()
        .find(|c| issuer_and_serial(c).is_ok_and(|(i, s)| i == issuer.raw && s == serial.raw))
        .ok_or(AuthenticodeError::NoSignerCertificate(hash))?;
    let x509 = CapturedX509Certificate::from_der(cert.raw.to_vec()).map_err(|e| AuthenticodeError::BadSignature {
        hash,
        signer: "?".into(),
        reason: format!("certificate: {e}"),
    })?;
    let name = x509.subject_common_name().unwrap_or_else(|| "(no common name)".into());
    let bad = |reason: String| AuthenticodeError::BadSignature {
        hash,
        signer: name.clone(),
        reason,
    };
    // The signature is over the attributes as a SET OF, not as [0].
    let mut signed = attrs.raw.to_vec();
    signed[0] = SET;
    // rsaEncryption, or RSA with the signer's own digest: all osslsigncode
    // and signtool write.
    let algorithm = match (sig_alg.oid()?.as_str(), signer_hash) {
        (RSA_ENCRYPTION, Hash::Sha1) | (SHA1_WITH_RSA, Hash::Sha1) => SignatureAlgorithm::RsaSha1,
        (RSA_ENCRYPTION, Hash::Sha256) | (SHA256_WITH_RSA, Hash::Sha256) => SignatureAlgorithm::RsaSha256,
        (other, _) => {
            return Err(bad(format!(
                "signature algorithm {other} with {signer_hash} is not supported"
            )))
        }
    };
    let verifier = algorithm
        .resolve_verification_algorithm(KeyAlgorithm::Rsa)
        .map_err(|e| bad(e.to_string()))?;
    x509.verify_signed_data_with_algorithm(&signed, signature.body, verifier)
        .map_err(|e| bad(e.to_string()))?;
    Ok((name, hex::encode(Sha256::digest(cert.raw))))
}

/// A certificate's issuer Name and serialNumber, as encoded.
pub(super) fn issuer_and_serial<'a>(cert: &Tlv<'a>) -> Result<(&'a [u8], &'a [u8]), DerError> {
    let tbs = nth(&cert.children()?, 0, "tbsCertificate")?.children()?;
    // A [0] version comes first in every v3 certificate.
    let skip = usize::from(tbs.first().is_some_and(|t| t.tag == CTX0));
    Ok((nth(&tbs, skip + 2, "issuer")?.raw, nth(&tbs, skip, "serialNumber")?.raw))
}

/// The first value of attribute `oid` in a [0] or [1] attribute set.
pub(super) fn attribute<'a>(set: &Tlv<'a>, oid: &str) -> Result<Option<Tlv<'a>>, DerError> {
    Ok(attribute_values(set, oid)?.into_iter().next())
}

fn attribute_values<'a>(set: &Tlv<'a>, oid: &str) -> Result<Vec<Tlv<'a>>, DerError> {
    let mut out = Vec::new();
    for a in set.children()? {
        let parts = a.children()?;
        if nth(&parts, 0, "attribute type")?.tagged(OID, "an attribute type")?.oid()? == oid {
            out.extend(nth(&parts, 1, "attribute values")?.children()?);
        }
    }
    Ok(out)
}

/// Every value of unsigned attribute `oid` of a SignerInfo.
fn unsigned_attribute<'a>(info: &[Tlv<'a>], oid: &str) -> Result<Vec<Tlv<'a>>, DerError> {
    match info.iter().find(|t| t.tag == CTX1) {
        Some(set) => attribute_values(set, oid),
        None => Ok(Vec::new()),
    }
}
