//! Reproducible zips: members in the order given, one timestamp
//! (SOURCE_DATE_EPOCH) for all, fixed Unix modes, no extra fields, so two
//! builds of the same inputs give the same bytes. Nothing here knows what
//! goes in them.

use std::borrow::Cow;
use std::io::{Cursor, Write as _};

use zip::write::{SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime};

/// One file of a zip.
pub struct Member<'a> {
    pub name: String,
    pub bytes: Cow<'a, [u8]>,
    /// Mode 0755 rather than 0644 (unpacked by `unzip` on Unix).
    pub executable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("zip member `{name}`: {source}")]
    Write {
        name: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("zip member `{name}` appears twice")]
    Duplicate { name: String },
}

/// Members that are already compressed (packages) are stored: deflating them
/// again costs time and saves nothing.
fn compressed_already(name: &str) -> bool {
    [".msi", ".deb", ".rpm", ".pkg", ".zip", ".gpg"].iter().any(|ext| name.ends_with(ext))
}

/// The DOS timestamp zips carry, clamped to the years it can hold.
fn dos_time(secs: u64) -> DateTime {
    let (y, mo, d, h, mi, s) = crate::time::civil(secs);
    let y = y.clamp(1980, 2107) as u16;
    DateTime::from_date_and_time(y, mo as u8, d as u8, h as u8, mi as u8, s as u8).unwrap_or_default()
}

pub fn write(members: &[Member], source_date: u64) -> Result<Vec<u8>, ZipError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let time = dos_time(source_date);
    for m in members {
        if !seen.insert(m.name.as_str()) {
            return Err(ZipError::Duplicate { name: m.name.clone() });
        }
        let err = |source| ZipError::Write { name: m.name.clone(), source };
        let method = if compressed_already(&m.name) { CompressionMethod::Stored } else { CompressionMethod::Deflated };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(time)
            .unix_permissions(if m.executable { 0o755 } else { 0o644 })
            .large_file(m.bytes.len() as u64 >= u32::MAX as u64);
        w.start_file(m.name.as_str(), options).map_err(err)?;
        w.write_all(&m.bytes).map_err(|e| err(e.into()))?;
    }
    let out = w.finish().map_err(|source| ZipError::Write { name: "(central directory)".into(), source })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members<'a>(text: &'a [u8], pkg: &'a [u8]) -> Vec<Member<'a>> {
        vec![
            Member { name: "README.txt".into(), bytes: text.into(), executable: false },
            Member { name: "a.msi".into(), bytes: pkg.into(), executable: false },
            Member { name: "tool.exe".into(), bytes: text.into(), executable: true },
        ]
    }

    #[test]
    fn same_inputs_same_bytes_and_every_member_reads_back() {
        let text = b"hello hello hello hello".repeat(100);
        let pkg: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let a = write(&members(&text, &pkg), 1_700_000_000).unwrap();
        let b = write(&members(&text, &pkg), 1_700_000_000).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, write(&members(&text, &pkg), 1_800_000_000).unwrap(), "the timestamp is in the bytes");
        let mut z = zip::ZipArchive::new(Cursor::new(a)).unwrap();
        let names: Vec<String> = z.file_names().map(str::to_string).collect();
        assert_eq!(names.len(), 3);
        let msi = z.by_name("a.msi").unwrap();
        assert_eq!(msi.compression(), CompressionMethod::Stored);
        drop(msi);
        let exe = z.by_name("tool.exe").unwrap();
        assert_eq!(exe.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(exe.compression(), CompressionMethod::Deflated);
        assert_eq!(exe.last_modified().map(|t| (t.year(), t.month(), t.day())), Some((2023, 11, 14)));
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        let m = [Member { name: "x".into(), bytes: b"1"[..].into(), executable: false }, Member { name: "x".into(), bytes: b"2"[..].into(), executable: false }];
        assert!(matches!(write(&m, 0), Err(ZipError::Duplicate { .. })));
    }
}
