//! A flat package's (XAR) signature: the table of contents' checksum, each
//! member's archived checksum (what ties the members to the signed TOC),
//! and the RSA and CMS signatures over the checksum with the certificates
//! the TOC holds, each certificate signed by the next one in the chain.

use std::io::Cursor;

use apple_xar::reader::XarReader;
use sha2::{Digest as _, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum XarError {
    #[error("the pkg (XAR) cannot be read: {0}")]
    Read(String),
    #[error("the table of contents does not match its checksum")]
    TocChecksum,
    #[error("member `{member}` does not match its archived checksum in the table of contents")]
    Member { member: String },
    #[error("no RSA signature in the table of contents (not signed)")]
    Unsigned,
    #[error("the RSA signature over the table-of-contents checksum does not verify with the certificate `{signer}`")]
    Rsa { signer: String },
    #[error("the CMS signature over the table-of-contents checksum does not verify: {0}")]
    Cms(String),
    #[error("certificate `{subject}` is not signed by the next one in the chain, `{issuer}`")]
    Chain { subject: String, issuer: String },
}

/// Who signed a pkg.
pub struct Signer {
    pub name: String,
    pub sha256: String,
    pub chain_len: usize,
}

fn name(c: &x509_certificate::CapturedX509Certificate) -> String {
    c.subject_common_name().unwrap_or_else(|| "(no common name)".into())
}

/// The TOC checksum and every member's archived checksum.
pub fn check_integrity(pkg: &[u8]) -> Result<(), XarError> {
    let read = |e: apple_xar::Error| XarError::Read(e.to_string());
    let mut x = XarReader::new(Cursor::new(pkg)).map_err(read)?;
    if !x.verify_table_of_contents_checksum().map_err(read)? {
        return Err(XarError::TocChecksum);
    }
    for (member, file) in x.files().map_err(read)? {
        let Some(data) = &file.data else { continue };
        let mut heap = Vec::new();
        x.write_file_data_heap_from_file(&file, &mut heap).map_err(read)?;
        let digest = data.archived_checksum.style.digest_data(&heap).map_err(read)?;
        if hex::encode(digest) != data.archived_checksum.checksum.to_ascii_lowercase() {
            return Err(XarError::Member { member });
        }
    }
    Ok(())
}

/// The RSA and CMS signatures and the certificate chain.
pub fn check_signature(pkg: &[u8]) -> Result<Signer, XarError> {
    let read = |e: apple_xar::Error| XarError::Read(e.to_string());
    let mut x = XarReader::new(Cursor::new(pkg)).map_err(read)?;
    let (_, certs) = x.rsa_signature().map_err(read)?.ok_or(XarError::Unsigned)?;
    let leaf = certs.first().ok_or(XarError::Unsigned)?;
    let signer = name(leaf);
    match x.verify_rsa_checksum_signature() {
        Ok(true) => {}
        Ok(false) | Err(_) => return Err(XarError::Rsa { signer }),
    }
    match x.verify_cms_signature() {
        Ok(_) => {}
        Err(e) => return Err(XarError::Cms(e.to_string())),
    }
    for pair in certs.windows(2) {
        if pair[0].verify_signed_by_certificate(&pair[1]).is_err() {
            return Err(XarError::Chain {
                subject: name(&pair[0]),
                issuer: name(&pair[1]),
            });
        }
    }
    let der = leaf.encode_der().map_err(|e| XarError::Read(e.to_string()))?;
    Ok(Signer {
        name: signer,
        sha256: hex::encode(Sha256::digest(der)),
        chain_len: certs.len(),
    })
}

/// Every member's data, decoded, whose name ends with `suffix`.
pub fn members(pkg: &[u8], suffix: &str) -> Result<Vec<(String, Vec<u8>)>, XarError> {
    let read = |e: apple_xar::Error| XarError::Read(e.to_string());
    let mut x = XarReader::new(Cursor::new(pkg)).map_err(read)?;
    let mut out = Vec::new();
    for (member, file) in x.files().map_err(read)? {
        if member.ends_with(suffix) && file.data.is_some() {
            let mut data = Vec::new();
            x.write_file_data_decoded_from_file(&file, &mut data).map_err(read)?;
            out.push((member, data));
        }
    }
    Ok(out)
}
