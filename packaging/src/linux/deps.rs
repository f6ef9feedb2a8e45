//! Shared-library dependencies of the agent, read from its ELF dynamic
//! section, as dpkg-shlibdeps and rpm's find-requires would find them.

use object::read::elf::{Dyn, ElfFile64, FileHeader};
use object::{elf, Endianness};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfDeps {
    /// DT_NEEDED sonames, e.g. `libc.so.6`.
    pub needed: Vec<String>,
    /// Highest GLIBC_x.y symbol version referenced, e.g. (2, 34).
    pub glibc: Option<(u32, u32)>,
}

/// Why the agent's dependencies cannot be read, by the part of the ELF file
/// at fault. The messages are `object`'s own, which name the table.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("agent is not a 64-bit ELF executable: {0}")]
    NotElf(#[source] object::Error),
    #[error("{0}")]
    Sections(#[source] object::Error),
    #[error("{0}")]
    DynamicSection(#[source] object::Error),
    #[error("{0}")]
    DynamicStrings(#[source] object::Error),
    #[error("{0}")]
    NeededName(#[source] object::Error),
}

pub fn read(binary: &[u8]) -> Result<ElfDeps, ElfError> {
    let file = ElfFile64::<Endianness>::parse(binary).map_err(ElfError::NotElf)?;
    let endian = file.endian();
    let header = file.elf_header();
    let sections = header.sections(endian, binary).map_err(ElfError::Sections)?;
    let mut needed = Vec::new();
    if let Some((dynamic, link)) = sections.dynamic(endian, binary).map_err(ElfError::DynamicSection)? {
        let strings = sections.strings(endian, binary, link).map_err(ElfError::DynamicStrings)?;
        for d in dynamic {
            if d.tag32(endian) == Some(elf::DT_NEEDED) {
                let name = d.string(endian, strings).map_err(ElfError::NeededName)?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok(ElfDeps {
        needed,
        glibc: max_glibc(binary),
    })
}

/// Version-needed entries are NUL-terminated `GLIBC_x.y` strings in .dynstr;
/// scanning for them is simpler than walking .gnu.version_r and gives the same maximum.
fn max_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    let pat = b"GLIBC_2.";
    let mut best = None;
    let mut i = 0;
    while let Some(pos) = binary[i..].windows(pat.len()).position(|w| w == pat) {
        let start = i + pos + pat.len();
        let digits: Vec<u8> = binary[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .copied()
            .collect();
        let end = start + digits.len();
        if binary.get(end) == Some(&0) {
            let text = String::from_utf8_lossy(&digits);
            let minor = text.split('.').next().and_then(|m| m.parse::<u32>().ok());
            if let Some(m) = minor {
                best = best.max(Some((2, m)));
            }
        }
        i = start;
    }
    best
}

/// Maps a soname to the Debian package that provides it.
pub fn debian_package(soname: &str) -> Option<&'static str> {
    match soname {
        "libc.so.6" | "libm.so.6" | "libpthread.so.0" | "libdl.so.2" | "librt.so.1" | "ld-linux-x86-64.so.2" | "libutil.so.1" => {
            Some("libc6")
        }
        // libgcc1 before Debian 11 / Ubuntu 20.04.
        "libgcc_s.so.1" => Some("libgcc-s1 | libgcc1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_test_binary() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let deps = super::read(&exe).unwrap();
        assert!(deps.needed.iter().any(|n| n == "libc.so.6"), "{deps:?}");
        assert!(deps.glibc.unwrap() >= (2, 2));
    }
}
