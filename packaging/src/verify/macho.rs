//! Mach-O code signatures, checked in-process with apple-codesign's
//! verifier (every slice: the code directory's page hashes against the
//! pages, its special slots, the CMS signature over the signed attributes)
//! plus the one link it leaves out: the CMS message digest must be the
//! digest of the code directory, or a re-hashed code directory would pass.
//! Also the odc cpio reader that finds the executables in a pkg's Payload.

use std::io::Read;

use apple_codesign::{CodeSigningSlot, MachFile};
use x509_certificate::CapturedX509Certificate;

use super::authenticode::{attribute, issuer_and_serial, Hash};
use super::der::{nth, DerError, Tlv, CTX0, OCTET_STRING, SEQUENCE, SET};

const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";

#[derive(Debug, thiserror::Error)]
pub enum MachoError {
    #[error("the code signature does not verify: {}", .0.join("; "))]
    Problems(Vec<String>),
    #[error("slice {slice}: the CMS signature cannot be read: {source}")]
    Cms {
        slice: usize,
        #[source]
        source: DerError,
    },
    #[error("slice {slice}: the CMS message digest is not the digest of the code directory")]
    CodeDirectory { slice: usize },
    #[error("the Payload is not a gzip'd odc cpio archive: {0}")]
    Payload(String),
}

fn is_macho(data: &[u8]) -> bool {
    matches!(
        data.get(..4),
        Some([0xcf, 0xfa, 0xed, 0xfe] | [0xce, 0xfa, 0xed, 0xfe] | [0xca, 0xfe, 0xba, 0xbe])
    )
}

/// Checks every slice's signature; returns the signer's common name.
pub fn verify(data: &[u8]) -> Result<String, MachoError> {
    let problems: Vec<String> = apple_codesign::verify_macho_data(data)
        .iter()
        .map(ToString::to_string)
        .collect();
    if !problems.is_empty() {
        return Err(MachoError::Problems(problems));
    }
    let file = MachFile::parse(data).map_err(|e| MachoError::Problems(vec![e.to_string()]))?;
    let mut signer = String::new();
    for (slice, macho) in file.into_iter().enumerate() {
        let sig = macho
            .code_signature()
            .ok()
            .flatten()
            .ok_or_else(|| MachoError::Problems(vec!["no code signature".into()]))?;
        let (Ok(Some(cms)), Some(cd)) = (sig.signature_data(), sig.find_slot(CodeSigningSlot::CodeDirectory)) else {
            return Err(MachoError::Problems(vec![format!(
                "slice {slice}: no CMS signature or code directory"
            )]));
        };
        let (hash, digest, name) = cms_digest(cms).map_err(|source| MachoError::Cms { slice, source })?;
        if hash.digest(cd.data) != digest {
            return Err(MachoError::CodeDirectory { slice });
        }
        signer = name;
    }
    Ok(signer)
}

/// A CMS SignedData's first signer: its digest algorithm, message digest
/// attribute and certificate's common name.
fn cms_digest(cms: &[u8]) -> Result<(Hash, Vec<u8>, String), DerError> {
    let info = Tlv::expect(cms, SEQUENCE, "a ContentInfo")?.children()?;
    let signed = Tlv::expect(
        nth(&info, 1, "content")?.tagged(CTX0, "[0] content")?.body,
        SEQUENCE,
        "SignedData",
    )?
    .children()?;
    let certs = signed
        .iter()
        .find(|p| p.tag == CTX0)
        .map(|c| c.children())
        .transpose()?
        .unwrap_or_default();
    let signers = signed
        .last()
        .ok_or(DerError::Missing("signerInfos"))?
        .tagged(SET, "signerInfos")?
        .children()?;
    let si = nth(&signers, 0, "a SignerInfo")?.children()?;
    let alg = nth(&nth(&si, 2, "digestAlgorithm")?.children()?, 0, "algorithm")?.oid()?;
    let hash = Hash::from_oid(&alg).map_err(|_| DerError::Missing("a SHA-1 or SHA-256 digest algorithm"))?;
    let attrs = nth(&si, 3, "signedAttrs")?.tagged(CTX0, "[0] signedAttrs")?;
    let md = attribute(&attrs, MESSAGE_DIGEST)?.ok_or(DerError::Missing("messageDigest"))?;
    let digest = md.tagged(OCTET_STRING, "messageDigest OCTET STRING")?.body.to_vec();
    let sid = nth(&si, 1, "sid")?.children()?;
    let (issuer, serial) = (nth(&sid, 0, "issuer")?.raw, nth(&sid, 1, "serial")?.raw);
    let name = certs
        .iter()
        .find(|c| issuer_and_serial(c).is_ok_and(|(i, s)| i == issuer && s == serial))
        .and_then(|c| CapturedX509Certificate::from_der(c.raw.to_vec()).ok())
        .and_then(|c| c.subject_common_name())
        .unwrap_or_else(|| "(signer certificate not found)".into());
    Ok((hash, digest, name))
}

/// The Mach-O files of a gzip'd odc cpio Payload, by path.
pub fn in_payload(payload: &[u8]) -> Result<Vec<(String, Vec<u8>)>, MachoError> {
    let mut cpio = Vec::new();
    flate2::read::GzDecoder::new(payload)
        .read_to_end(&mut cpio)
        .map_err(|e| MachoError::Payload(e.to_string()))?;
    let mut out = Vec::new();
    let mut rest = cpio.as_slice();
    loop {
        let field = |at: usize, len: usize| -> Result<usize, MachoError> {
            let text = rest
                .get(at..at + len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| MachoError::Payload("truncated header".into()))?;
            usize::from_str_radix(text, 8).map_err(|_| MachoError::Payload(format!("bad octal field `{text}`")))
        };
        if rest.get(..6) != Some(b"070707") {
            return Err(MachoError::Payload("no odc header magic".into()));
        }
        let (name_len, size) = (field(59, 6)?, field(65, 11)?);
        let name_end = 76 + name_len;
        let name = rest
            .get(76..name_end.saturating_sub(1))
            .ok_or_else(|| MachoError::Payload("truncated name".into()))?;
        let name = String::from_utf8_lossy(name).into_owned();
        if name == "TRAILER!!!" {
            return Ok(out);
        }
        let data = rest
            .get(name_end..name_end + size)
            .ok_or_else(|| MachoError::Payload(format!("`{name}` truncated")))?;
        if is_macho(data) {
            out.push((name, data.to_vec()));
        }
        rest = &rest[name_end + size..];
    }
}
