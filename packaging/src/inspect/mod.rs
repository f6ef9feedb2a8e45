//! `omnipack inspect FILE` and `omnipack diff A B`: what is inside a
//! package omnipack makes, and what changed between two builds of one.
//!
//! The format is read from the file's first bytes (ar, rpm lead, compound
//! file with the MSI/MST/MSP class id, xar), never from its name. Every
//! reader fills one model (`model::Package`), which `diff` compares, so a
//! difference in any format is named the same way. The settings and their
//! defaults are read from the package (the shipped defaults file; in an
//! MSI also the property each setting is written from and the default the
//! installer gives it), not from the manifest.

mod ar;
mod bom;
mod cpio;
mod deb;
pub mod diff;
mod error;
pub mod model;
mod msi;
mod mst;
mod pkg;
mod rpm;
mod settings;
mod text;
mod xml;

use std::io::Write as _;
use std::path::Path;

pub use error::{InspectError, Malformed};
pub use model::{Kind, Package};

const RPM_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const CFB_MAGIC: [u8; 8] = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
const XAR_MAGIC: &[u8] = b"xar!";

/// What the bytes are, or None.
pub fn kind_of(bytes: &[u8]) -> Option<Kind> {
    if ar::is_ar(bytes) {
        Some(Kind::Deb)
    } else if bytes.starts_with(&RPM_MAGIC) {
        Some(Kind::Rpm)
    } else if bytes.starts_with(XAR_MAGIC) {
        Some(Kind::Pkg)
    } else if bytes.starts_with(&CFB_MAGIC) {
        let clsid = crate::msi::Storage::from_cfb(bytes).ok()?.clsid;
        use crate::msi::PackageKind as P;
        [(P::Installer, Kind::Msi), (P::Transform, Kind::Mst), (P::Patch, Kind::Msp)]
            .into_iter()
            .find(|(p, _)| p.clsid() == clsid)
            .map(|(_, k)| k)
    } else {
        None
    }
}

/// The package in `bytes`; `file` names it in errors.
pub fn inspect_bytes(file: &Path, bytes: &[u8]) -> Result<Package, InspectError> {
    let kind = kind_of(bytes).ok_or_else(|| InspectError::Unknown {
        file: file.to_path_buf(),
        magic: bytes.iter().take(8).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "),
    })?;
    let read = match kind {
        Kind::Deb => deb::read(bytes),
        Kind::Rpm => rpm::read(bytes),
        Kind::Msi | Kind::Msp => {
            msi::read(bytes, kind).and_then(|p| if kind == Kind::Msp { mst::patch(bytes, p) } else { Ok(p) })
        }
        Kind::Mst => mst::read(bytes),
        Kind::Pkg => pkg::read(bytes),
    };
    read.map_err(|source| InspectError::Malformed {
        file: file.to_path_buf(),
        kind: kind.name(),
        source,
    })
}

pub fn inspect_file(file: &Path) -> Result<Package, InspectError> {
    let bytes = std::fs::read(file).map_err(|source| InspectError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    inspect_bytes(file, &bytes)
}

/// The changes from `a` to `b`, refusing two different formats.
pub fn diff_files(a: &Path, b: &Path) -> Result<Vec<diff::Change>, InspectError> {
    let (pa, pb) = (inspect_file(a)?, inspect_file(b)?);
    if pa.format != pb.format {
        return Err(InspectError::DifferentFormats {
            first: a.to_path_buf(),
            second: b.to_path_buf(),
            a: pa.format.name(),
            b: pb.format.name(),
        });
    }
    Ok(diff::diff(&pa, &pb))
}

pub fn command(file: &Path, json: bool) -> anyhow::Result<()> {
    let p = inspect_file(file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", text::package(&file.display().to_string(), &p));
    }
    Ok(())
}

/// Exit 0 when the two are the same, 1 when they differ (as diff(1)), 2 on
/// an error (printed here, as `main` prints the others): `main`'s own
/// error exit is 1, which would read as "they differ".
pub fn diff_command(a: &Path, b: &Path, json: bool) -> i32 {
    match diff_report(a, b, json) {
        Ok(same) => i32::from(!same),
        Err(e) => {
            eprintln!("omnipack: error: {e:#}");
            2
        }
    }
}

/// Prints the changes; true when there are none.
fn diff_report(a: &Path, b: &Path, json: bool) -> anyhow::Result<bool> {
    let changes = diff_files(a, b)?;
    let out = if json {
        let v = serde_json::json!({
            "a": a.display().to_string(),
            "b": b.display().to_string(),
            "identical": changes.is_empty(),
            "changes": changes,
        });
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        text::changes(&a.display().to_string(), &b.display().to_string(), &changes)
    };
    // The caller exits at once: nothing may stay buffered.
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(changes.is_empty())
}
