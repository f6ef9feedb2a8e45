//! The smallest executables omnipack's packagers accept, in place of the real
//! agent and custom action DLL, so a package's bytes depend only on omnipack
//! and the manifest: what the byte-identity and content tests need (a real
//! agent changes with every agent commit).

use std::path::{Path, PathBuf};

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
const LC_BUILD_VERSION: u32 = 0x32;

/// A 64-bit little-endian ELF header with no program or section headers:
/// `object` parses it, and it links no library.
pub fn elf64() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little-endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h
}

/// A thin Mach-O executable: a mach_header_64 and one LC_BUILD_VERSION
/// naming `min` as its minimum macOS, then filler.
fn thin(cputype: u32, min: (u32, u32)) -> Vec<u8> {
    let mut v = Vec::new();
    let mut le = |x: u32| v.extend_from_slice(&x.to_le_bytes());
    let subtype = if cputype == CPU_TYPE_X86_64 { 3 } else { 0 };
    for x in [0xfeed_facf, cputype, subtype, 2 /* MH_EXECUTE */, 1, 24, 0, 0] {
        le(x);
    }
    for x in [LC_BUILD_VERSION, 24, 1 /* PLATFORM_MACOS */, (min.0 << 16) | (min.1 << 8), 14 << 16, 0] {
        le(x);
    }
    v.resize(v.len() + 256, 0x90);
    v
}

/// A universal (x86_64 for 10.14, arm64 for 11.0) Mach-O executable.
pub fn universal() -> Vec<u8> {
    omnipack::macos::universal::join(&thin(CPU_TYPE_X86_64, (10, 14)), &thin(CPU_TYPE_ARM64, (11, 0)))
        .expect("two thin stand-ins join")
}

/// Stand-in bytes for a Windows executable or DLL: the MSI only carries them.
pub fn windows(what: &str) -> Vec<u8> {
    format!("MZ stand-in {what}\n").into_bytes()
}

/// Writes every stand-in into `dir` and returns the `omnipack build`
/// arguments that package them (`--agent-bin`, `--msi-ca-bin`).
pub fn build_args(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, bytes: Vec<u8>| -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut args = Vec::new();
    for (flag, triple, path) in [
        ("--agent-bin", "x86_64-unknown-linux-gnu", write("agent-linux", elf64())),
        ("--agent-bin", "universal2-apple-darwin", write("agent-macos", universal())),
        ("--agent-bin", "x86_64-pc-windows-gnu", write("agent-x64.exe", windows("agent x64"))),
        ("--agent-bin", "i686-pc-windows-gnu", write("agent-x86.exe", windows("agent x86"))),
        ("--msi-ca-bin", "x86_64-pc-windows-gnu", write("ca-x64.dll", windows("custom action x64"))),
        ("--msi-ca-bin", "i686-pc-windows-gnu", write("ca-x86.dll", windows("custom action x86"))),
    ] {
        args.push(flag.to_string());
        args.push(format!("{triple}={}", path.display()));
    }
    args.push("--assistant-bin".into());
    args.push(write("assistant.exe", windows("deployment assistant")).display().to_string());
    args
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
