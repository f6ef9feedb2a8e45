//! The universal macOS agent: an x86_64 slice built for macOS 10.14 and an
//! arm64 slice built for 11.0 (Apple Silicon starts there), joined into one
//! fat Mach-O.
//!
//! `cargo zigbuild --target universal2-apple-darwin` cannot do this: it runs
//! one cargo with both targets in one environment, and rustc, cc-rs and zig
//! take the deployment target from the single `MACOSX_DEPLOYMENT_TARGET`.
//! So `crate::cargo::build_agent` builds the two targets apart, and the fat
//! file is written here with apple-codesign's `UniversalBinaryBuilder` (the
//! writer behind `rcodesign macho-universal-create`: FAT_MAGIC, one
//! `fat_arch` per slice, slices on 16 KiB boundaries).
//!
//! The minimums are read back from each slice's `LC_BUILD_VERSION` (or
//! `LC_VERSION_MIN_MACOSX`), so a linker that ignored the deployment target,
//! or a prebuilt agent that needs a newer macOS than the pkg allows, is
//! refused instead of shipped.

use apple_codesign::{AppleCodesignError, MachFile, UniversalBinaryBuilder};

use crate::cargo::{MACOS_ARM64_MIN_VERSION, MACOS_X86_64_MIN_VERSION};

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;

/// The Rust triple of a universal macOS build.
pub const UNIVERSAL2: &str = "universal2-apple-darwin";

/// A slice's architecture, in Apple's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    pub fn rust_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-apple-darwin",
            Arch::Arm64 => "aarch64-apple-darwin",
        }
    }

    /// The oldest macOS this slice is built for (`MACOSX_DEPLOYMENT_TARGET`).
    pub fn min_version(self) -> &'static str {
        match self {
            Arch::X86_64 => MACOS_X86_64_MIN_VERSION,
            Arch::Arm64 => MACOS_ARM64_MIN_VERSION,
        }
    }

    pub fn from_rust_triple(triple: &str) -> Option<Arch> {
        [Arch::X86_64, Arch::Arm64].into_iter().find(|a| a.rust_triple() == triple)
    }
}

/// What a slice says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub arch: Arch,
    /// The minimum macOS (major, minor, patch), from LC_BUILD_VERSION or
    /// LC_VERSION_MIN_MACOSX.
    pub min_os: (u64, u64, u64),
}

/// Why an agent executable cannot go into the pkg, by slice where one is
/// at fault.
#[derive(Debug, thiserror::Error)]
pub enum MachOError {
    #[error("not a Mach-O executable: {0}")]
    NotMachO(#[source] AppleCodesignError),
    #[error("a slice for CPU type {0:#x}; only x86_64 and arm64 are shipped")]
    UnknownCpu(u32),
    #[error("{arch}: {source}")]
    Targeting {
        arch: &'static str,
        #[source]
        source: AppleCodesignError,
    },
    #[error("{arch}: no LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX")]
    NoTargeting { arch: &'static str },
    #[error("{arch}: built for {platform:?}, not macOS")]
    NotMacOs { arch: &'static str, platform: apple_codesign::Platform },
    #[error("the {arch} agent says macOS {found} in its load commands, not {want} (MACOSX_DEPLOYMENT_TARGET was not honoured)")]
    DeploymentTarget { arch: &'static str, found: String, want: &'static str },
    #[error("expected one {arch} slice, found {found:?}")]
    NotOneSlice { arch: &'static str, found: Vec<&'static str> },
    #[error("the macOS agent must be universal (x86_64 and arm64); it has {found:?}")]
    NotUniversal { found: Vec<&'static str> },
    #[error(
        "the agent's {arch} slice needs macOS {needs}, but the pkg allows {min} and later (build it with MACOSX_DEPLOYMENT_TARGET={min})"
    )]
    TooNew { arch: &'static str, needs: String, min: &'static str },
    #[error("expected a thin {arch} executable")]
    NotThin { arch: &'static str },
    /// apple-codesign does not export its universal writer's error type.
    #[error("{arch}: {reason}")]
    AddSlice { arch: &'static str, reason: String },
    #[error("writing the universal agent: {0}")]
    Write(String),
}

/// `"10.14"` as (10, 14, 0).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some((major, minor, patch))
}

fn version_text((major, minor, patch): (u64, u64, u64)) -> String {
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

/// Every slice of a thin or fat Mach-O, in file order.
pub fn slices(data: &[u8]) -> Result<Vec<Slice>, MachOError> {
    let file = MachFile::parse(data).map_err(MachOError::NotMachO)?;
    let mut out = Vec::new();
    for m in file.iter_macho() {
        let arch = match m.macho.header.cputype {
            CPU_TYPE_X86_64 => Arch::X86_64,
            CPU_TYPE_ARM64 => Arch::Arm64,
            other => return Err(MachOError::UnknownCpu(other)),
        };
        let target = m
            .find_targeting()
            .map_err(|source| MachOError::Targeting { arch: arch.name(), source })?
            .ok_or(MachOError::NoTargeting { arch: arch.name() })?;
        if target.platform != apple_codesign::Platform::MacOs {
            return Err(MachOError::NotMacOs { arch: arch.name(), platform: target.platform });
        }
        let v = &target.minimum_os_version;
        out.push(Slice {
            arch,
            min_os: (v.major, v.minor, v.patch),
        });
    }
    Ok(out)
}

/// A thin slice built for `arch` must say exactly its deployment target:
/// zig stamps its own newest macOS when it does not get one.
pub fn check_thin(data: &[u8], arch: Arch) -> Result<(), MachOError> {
    let s = slices(data)?;
    let want = parse_version(arch.min_version()).expect("the minimums are versions");
    match s.as_slice() {
        [one] if one.arch == arch && one.min_os == want => Ok(()),
        [one] if one.arch == arch => Err(MachOError::DeploymentTarget {
            arch: arch.name(),
            found: version_text(one.min_os),
            want: arch.min_version(),
        }),
        _ => Err(MachOError::NotOneSlice {
            arch: arch.name(),
            found: s.iter().map(|s| s.arch.name()).collect(),
        }),
    }
}

/// The universal agent the pkg ships: exactly an x86_64 and an arm64 slice,
/// neither needing a newer macOS than its minimum (the Distribution's
/// `allowed-os-versions` is the x86_64 one).
pub fn check_universal(data: &[u8]) -> Result<(), MachOError> {
    let mut s = slices(data)?;
    s.sort_by_key(|s| s.arch);
    let arches: Vec<Arch> = s.iter().map(|s| s.arch).collect();
    if arches != [Arch::X86_64, Arch::Arm64] {
        return Err(MachOError::NotUniversal {
            found: arches.iter().map(|a| a.name()).collect(),
        });
    }
    for slice in &s {
        let max = parse_version(slice.arch.min_version()).expect("the minimums are versions");
        if slice.min_os > max {
            return Err(MachOError::TooNew {
                arch: slice.arch.name(),
                needs: version_text(slice.min_os),
                min: slice.arch.min_version(),
            });
        }
    }
    Ok(())
}

/// Joins a thin x86_64 and a thin arm64 executable into one fat Mach-O.
pub fn join(x86_64: &[u8], arm64: &[u8]) -> Result<Vec<u8>, MachOError> {
    let mut b = UniversalBinaryBuilder::default();
    for (arch, data) in [(Arch::X86_64, x86_64), (Arch::Arm64, arm64)] {
        let s = slices(data)?;
        if s.len() != 1 || s[0].arch != arch {
            return Err(MachOError::NotThin { arch: arch.name() });
        }
        b.add_binary(data).map_err(|e| MachOError::AddSlice { arch: arch.name(), reason: e.to_string() })?;
    }
    let mut out = Vec::new();
    b.write(&mut out).map_err(|e| MachOError::Write(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LC_BUILD_VERSION: u32 = 0x32;
    const LC_VERSION_MIN_MACOSX: u32 = 0x24;

    fn nibbles((major, minor, patch): (u32, u32, u32)) -> u32 {
        (major << 16) | (minor << 8) | patch
    }

    /// The smallest thin executable the parsers take: a mach_header_64 and
    /// one version load command, then `body` bytes of filler.
    fn thin(cputype: u32, lc: u32, min: (u32, u32, u32), body: usize) -> Vec<u8> {
        let mut cmd = Vec::new();
        let le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
        if lc == LC_BUILD_VERSION {
            for x in [lc, 24, 1 /* PLATFORM_MACOS */, nibbles(min), nibbles((14, 0, 0)), 0] {
                le(&mut cmd, x);
            }
        } else {
            for x in [lc, 16, nibbles(min), nibbles((10, 14, 0))] {
                le(&mut cmd, x);
            }
        }
        let mut v = Vec::new();
        let subtype = if cputype == CPU_TYPE_X86_64 { 3 } else { 0 };
        for x in [
            0xfeed_facf,
            cputype,
            subtype,
            2, /* MH_EXECUTE */
            1,
            cmd.len() as u32,
            0,
            0,
        ] {
            le(&mut v, x);
        }
        v.extend(cmd);
        v.resize(v.len() + body, 0x90);
        v
    }

    fn be(data: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn join_writes_a_fat_header_with_page_aligned_slices() {
        let x = thin(CPU_TYPE_X86_64, LC_VERSION_MIN_MACOSX, (10, 14, 0), 5000);
        let a = thin(CPU_TYPE_ARM64, LC_BUILD_VERSION, (11, 0, 0), 70_000);
        let fat = join(&x, &a).unwrap();

        // fat_header and fat_arch are big-endian whatever the slices are.
        assert_eq!(be(&fat, 0), 0xcafe_babe);
        assert_eq!(be(&fat, 4), 2);
        let mut end = 0;
        for (i, (cputype, slice)) in [(CPU_TYPE_X86_64, &x), (CPU_TYPE_ARM64, &a)].into_iter().enumerate() {
            let at = 8 + 20 * i;
            let (offset, size, align) = (be(&fat, at + 8) as usize, be(&fat, at + 12) as usize, be(&fat, at + 16));
            assert_eq!(be(&fat, at), cputype);
            assert!(align >= 12, "alignment 2^{align} is below a page");
            assert_eq!(offset % (1 << align), 0, "slice {i} at {offset}");
            assert!(offset >= end, "slices overlap");
            assert_eq!(&fat[offset..offset + size], &slice[..]);
            end = offset + size;
        }
        assert_eq!(fat.len(), end);

        let s = slices(&fat).unwrap();
        assert_eq!(
            s,
            [
                Slice {
                    arch: Arch::X86_64,
                    min_os: (10, 14, 0)
                },
                Slice {
                    arch: Arch::Arm64,
                    min_os: (11, 0, 0)
                },
            ]
        );
        check_universal(&fat).unwrap();
    }

    #[test]
    fn join_takes_only_the_right_thin_slices() {
        let x = thin(CPU_TYPE_X86_64, LC_BUILD_VERSION, (10, 14, 0), 100);
        let a = thin(CPU_TYPE_ARM64, LC_BUILD_VERSION, (11, 0, 0), 100);
        assert!(join(&a, &x).unwrap_err().to_string().contains("thin x86_64"));
        let fat = join(&x, &a).unwrap();
        assert!(join(&fat, &a).unwrap_err().to_string().contains("thin x86_64"));
        assert!(join(b"#!/bin/sh\n", &a).unwrap_err().to_string().contains("not a Mach-O"));
    }

    #[test]
    fn thin_slices_must_carry_their_deployment_target() {
        check_thin(&thin(CPU_TYPE_X86_64, LC_BUILD_VERSION, (10, 14, 0), 0), Arch::X86_64).unwrap();
        check_thin(&thin(CPU_TYPE_ARM64, LC_BUILD_VERSION, (11, 0, 0), 0), Arch::Arm64).unwrap();
        // What zig writes without MACOSX_DEPLOYMENT_TARGET.
        let e = check_thin(&thin(CPU_TYPE_X86_64, LC_BUILD_VERSION, (15, 0, 0), 0), Arch::X86_64).unwrap_err().to_string();
        assert!(e.contains("macOS 15.0") && e.contains("not 10.14"), "{e}");
        let e = check_thin(&thin(CPU_TYPE_ARM64, LC_BUILD_VERSION, (11, 0, 0), 0), Arch::X86_64).unwrap_err().to_string();
        assert!(e.contains("expected one x86_64 slice"), "{e}");
    }

    #[test]
    fn a_universal_agent_newer_than_the_pkg_allows_is_refused() {
        let arm = thin(CPU_TYPE_ARM64, LC_BUILD_VERSION, (11, 0, 0), 10);
        // The old build: both slices for 11.0.
        let fat = join(&thin(CPU_TYPE_X86_64, LC_BUILD_VERSION, (11, 0, 0), 10), &arm).unwrap();
        let e = check_universal(&fat).unwrap_err().to_string();
        assert!(
            e.contains("x86_64 slice needs macOS 11.0") && e.contains("allows 10.14"),
            "{e}"
        );
        // Older than the minimum is fine.
        let fat = join(&thin(CPU_TYPE_X86_64, LC_VERSION_MIN_MACOSX, (10, 12, 0), 10), &arm).unwrap();
        check_universal(&fat).unwrap();
        // One slice is not universal.
        let e = check_universal(&arm).unwrap_err().to_string();
        assert!(e.contains("must be universal"), "{e}");
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("10.14"), Some((10, 14, 0)));
        assert_eq!(parse_version("11.0"), Some((11, 0, 0)));
        assert_eq!(parse_version("10.14.6"), Some((10, 14, 6)));
        assert_eq!(parse_version("11"), Some((11, 0, 0)));
        assert_eq!(parse_version("10.x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
        assert!(parse_version(MACOS_X86_64_MIN_VERSION).unwrap() < parse_version(MACOS_ARM64_MIN_VERSION).unwrap());
    }
}
