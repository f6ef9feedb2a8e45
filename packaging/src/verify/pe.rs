//! A PE file's Authenticode parts: the image digest as Windows computes it
//! (every byte but the CheckSum field, the security directory entry and the
//! certificate table) and the PKCS#7 signature in the certificate table.

use super::authenticode::Hash;

#[derive(Debug, thiserror::Error)]
pub enum PeError {
    #[error("not a PE file: {0}")]
    NotPe(&'static str),
    #[error("not Authenticode-signed (no certificate table)")]
    Unsigned,
    #[error("the certificate table is damaged: {0}")]
    CertificateTable(&'static str),
}

/// Where the parts the digest skips are.
struct Layout {
    checksum: usize,
    security_entry: usize,
    /// The certificate table (offset, size), when there is one.
    table: Option<(usize, usize)>,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, PeError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(PeError::NotPe("truncated header"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, PeError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(PeError::NotPe("truncated header"))
}

fn layout(b: &[u8]) -> Result<Layout, PeError> {
    if !b.starts_with(b"MZ") {
        return Err(PeError::NotPe("no MZ header"));
    }
    let pe = u32_at(b, 0x3c)? as usize;
    if b.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err(PeError::NotPe("no PE signature"));
    }
    let opt = pe + 24;
    // The data directories start 96 (PE32) or 112 (PE32+) bytes into the
    // optional header; the security directory is the fifth.
    let directories = match u16_at(b, opt)? {
        0x10b => opt + 96,
        0x20b => opt + 112,
        _ => return Err(PeError::NotPe("unknown optional header magic")),
    };
    let security_entry = directories + 4 * 8;
    let (offset, size) = (u32_at(b, security_entry)? as usize, u32_at(b, security_entry + 4)? as usize);
    let table = match (offset, size) {
        (0, _) | (_, 0) => None,
        (o, s) if o.checked_add(s).is_some_and(|e| e <= b.len()) && o >= security_entry + 8 => Some((o, s)),
        _ => return Err(PeError::CertificateTable("its directory entry points outside the file")),
    };
    Ok(Layout {
        checksum: opt + 64,
        security_entry,
        table,
    })
}

/// The Authenticode image digest of `b` with `hash`.
pub fn digest(b: &[u8], hash: Hash) -> Result<Vec<u8>, PeError> {
    let l = layout(b)?;
    let mut h = hash.hasher();
    h.update(&b[..l.checksum]);
    h.update(&b[l.checksum + 4..l.security_entry]);
    match l.table {
        Some((offset, size)) => {
            h.update(&b[l.security_entry + 8..offset]);
            h.update(&b[offset + size..]);
        }
        None => h.update(&b[l.security_entry + 8..]),
    }
    Ok(h.finish())
}

/// The PKCS#7 SignedData of the first WIN_CERTIFICATE (nested signatures
/// live inside it, as osslsigncode and signtool /as write them).
pub fn signature(b: &[u8]) -> Result<&[u8], PeError> {
    let (offset, size) = layout(b)?.table.ok_or(PeError::Unsigned)?;
    let table = &b[offset..offset + size];
    let length = u32_at(table, 0).map_err(|_| PeError::CertificateTable("truncated WIN_CERTIFICATE"))? as usize;
    let kind = u16_at(table, 6).map_err(|_| PeError::CertificateTable("truncated WIN_CERTIFICATE"))?;
    if kind != 2 {
        return Err(PeError::CertificateTable(
            "the first entry is not WIN_CERT_TYPE_PKCS_SIGNED_DATA",
        ));
    }
    table
        .get(8..length)
        .ok_or(PeError::CertificateTable("WIN_CERTIFICATE longer than the table"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest header `layout` reads: MZ, e_lfanew, PE32+ optional
    /// header with a certificate table at the end of the file.
    fn signed_stub() -> Vec<u8> {
        let mut b = vec![0u8; 0x200];
        b[..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        let opt = 0x40 + 24;
        b[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        let sec = opt + 112 + 32;
        b[sec..sec + 4].copy_from_slice(&0x180u32.to_le_bytes());
        b[sec + 4..sec + 8].copy_from_slice(&0x80u32.to_le_bytes());
        b
    }

    #[test]
    fn the_digest_skips_checksum_entry_and_table_only() {
        let b = signed_stub();
        let d = digest(&b, Hash::Sha256).unwrap();
        let opt = 0x40 + 24;
        // The CheckSum field and the certificate table do not count; the
        // rest of the headers and the sections do.
        for (at, same) in [
            (opt + 64, true),
            (opt + 67, true),
            (0x190, true),
            (0x1ff, true),
            (0x100, false),
            (0x2, false),
        ] {
            let mut c = b.clone();
            c[at] ^= 0xff;
            assert_eq!(digest(&c, Hash::Sha256).unwrap() == d, same, "byte {at:#x}");
        }
        assert!(
            matches!(signature(&b), Err(PeError::CertificateTable(_))),
            "type 0 entry refused"
        );
    }
}
