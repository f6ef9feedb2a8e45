//! The compound file (CFB) around a package. The `msi` and `cfb` crates
//! write CFB version 4 (4096-byte sectors), which osslsigncode cannot read
//! and which no Microsoft tool writes; msi.dll, WiX and wixl write version 3
//! (512-byte sectors). So every package is re-packed here into a fresh V3
//! file: each stream and storage copied, the CLSIDs kept, entries inserted
//! in name order and storage times zeroed, so the same tree always gives the
//! same bytes.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::MsiError;

/// A storage (a directory inside the compound file) with its streams and
/// child storages, by raw CFB entry name (not MSI-encoded). A patch's
/// transforms are storages; `Storage::from_cfb` turns a whole MST file into
/// one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    pub clsid: Uuid,
    pub streams: BTreeMap<String, Vec<u8>>,
    pub storages: BTreeMap<String, Storage>,
}

impl Storage {
    /// The root storage of a whole compound file (V3 or V4), e.g. an MST
    /// to embed into an MSP.
    pub fn from_cfb(bytes: &[u8]) -> Result<Storage, MsiError> {
        let mut comp = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| MsiError::format("compound file", e))?;
        read_storage(&mut comp, Path::new("/"))
    }

    /// This storage as a compound file of its own (CFB V3).
    pub fn to_cfb(&self) -> Result<Vec<u8>, MsiError> {
        write_v3(self)
    }
}

/// Reads the storage at `path` and everything below it.
pub(crate) fn read_storage<F: Read + std::io::Seek>(comp: &mut cfb::CompoundFile<F>, path: &Path) -> Result<Storage, MsiError> {
    let shown = |p: &Path| p.display().to_string();
    let entries: Vec<(PathBuf, String, bool)> = comp
        .read_storage(path)
        .map_err(|e| MsiError::stream(shown(path), e))?
        .map(|e| (e.path().to_path_buf(), e.name().to_string(), e.is_stream()))
        .collect();
    let clsid = *comp.entry(path).map_err(|e| MsiError::stream(shown(path), e))?.clsid();
    let mut storage = Storage {
        clsid,
        ..Storage::default()
    };
    for (child, name, is_stream) in entries {
        if is_stream {
            let mut data = Vec::new();
            comp.open_stream(&child)
                .and_then(|mut s| s.read_to_end(&mut data))
                .map_err(|e| MsiError::stream(shown(&child), e))?;
            storage.streams.insert(name, data);
        } else {
            storage.storages.insert(name, read_storage(comp, &child)?);
        }
    }
    Ok(storage)
}

/// CFB forbids these in entry names ([MS-CFB] 2.6.1).
const FORBIDDEN: &[char] = &['/', '\\', ':', '!'];
/// A CFB entry name holds at most 31 UTF-16 units (and a NUL).
const MAX_NAME_UNITS: usize = 31;
/// Seconds from 1601-01-01 (FILETIME 0) to 1970-01-01.
const FILETIME_EPOCH_TO_UNIX: u64 = 11_644_473_600;

fn check_name(name: &str, path: &Path) -> Result<(), MsiError> {
    let units = name.encode_utf16().count();
    if units == 0 || units > MAX_NAME_UNITS || name.contains(FORBIDDEN) {
        return Err(MsiError::stream(
            path.join(name).display().to_string(),
            "a compound-file entry name has 1 to 31 UTF-16 units and no `/`, `\\`, `:` or `!`",
        ));
    }
    Ok(())
}

/// FILETIME 0 (1601-01-01), which [MS-CFB] allows for storages and which
/// keeps the output independent of the build time.
fn zero_time() -> SystemTime {
    UNIX_EPOCH
        .checked_sub(Duration::from_secs(FILETIME_EPOCH_TO_UNIX))
        .unwrap_or(UNIX_EPOCH)
}

/// Writes `root` as a new CFB version 3 file.
pub(crate) fn write_v3(root: &Storage) -> Result<Vec<u8>, MsiError> {
    let mut comp = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .map_err(|e| MsiError::format("creating the compound file", e))?;
    write_storage(&mut comp, Path::new("/"), root)?;
    comp.flush().map_err(|e| MsiError::format("writing the compound file", e))?;
    Ok(comp.into_inner().into_inner())
}

fn write_storage<F: Read + Write + std::io::Seek>(
    comp: &mut cfb::CompoundFile<F>,
    path: &Path,
    storage: &Storage,
) -> Result<(), MsiError> {
    let err = |p: &Path, e: std::io::Error| MsiError::stream(p.display().to_string(), e);
    comp.set_storage_clsid(path, storage.clsid).map_err(|e| err(path, e))?;
    for (name, data) in &storage.streams {
        check_name(name, path)?;
        let p = path.join(name);
        comp.create_new_stream(&p)
            .and_then(|mut s| s.write_all(data))
            .map_err(|e| err(&p, e))?;
    }
    for (name, child) in &storage.storages {
        check_name(name, path)?;
        let p = path.join(name);
        comp.create_storage(&p).map_err(|e| err(&p, e))?;
        comp.set_created_time(&p, zero_time()).map_err(|e| err(&p, e))?;
        comp.set_modified_time(&p, zero_time()).map_err(|e| err(&p, e))?;
        write_storage(comp, &p, child)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Storage {
        let mut inner = Storage {
            clsid: Uuid::from_u128(0x000C1082_0000_0000_C000_000000000046),
            ..Storage::default()
        };
        inner.streams.insert("\u{5}SummaryInformation".into(), vec![1, 2, 3]);
        let mut root = Storage {
            clsid: Uuid::from_u128(0x000C1086_0000_0000_C000_000000000046),
            ..Storage::default()
        };
        root.streams.insert("big".into(), (0..10_000u32).map(|i| i as u8).collect());
        root.streams.insert("empty".into(), Vec::new());
        root.storages.insert("#RTM.1".into(), inner);
        root
    }

    #[test]
    fn v3_round_trip_is_deterministic() {
        let a = write_v3(&tree()).unwrap();
        assert_eq!(a, write_v3(&tree()).unwrap());
        assert_eq!(&a[..8], b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
        assert_eq!(u16::from_le_bytes([a[0x1a], a[0x1b]]), 3);
        assert_eq!(u16::from_le_bytes([a[0x1e], a[0x1f]]), 9);
        assert_eq!(Storage::from_cfb(&a).unwrap(), tree());
    }

    #[test]
    fn bad_names_are_refused() {
        let mut t = tree();
        t.streams.insert("a/b".into(), vec![]);
        assert!(write_v3(&t).unwrap_err().to_string().contains("a/b"));
    }
}
