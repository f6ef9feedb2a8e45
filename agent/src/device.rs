//! Facts about this machine for the hello and `inventory`: a stable device
//! id, host name, operating system, architecture, uptime and free space.

use std::io::Write;
use std::path::Path;

use crate::switch::protocol::OsInfo;

/// The device id kept in the state directory: created once (a random
/// UUID), then the same across restarts, upgrades and reconnects.
pub fn device_id(state_dir: &Path) -> std::io::Result<String> {
    let file = state_dir.join("device-id");
    if let Some(id) = read_id(&file) {
        return Ok(id);
    }
    std::fs::create_dir_all(state_dir)?;
    let id = random_uuid();
    // Write aside and rename: a crash never leaves a half id, and a damaged
    // file (not a UUID) is replaced rather than sent.
    let tmp = state_dir.join(format!("device-id.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{id}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &file)?;
    Ok(id)
}

fn read_id(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = text.trim();
    is_uuid(id).then(|| id.to_ascii_lowercase())
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn random_uuid() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random number generator");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A seed for jitter that differs between machines and starts.
pub fn random_seed() -> u64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    u64::from_le_bytes(b)
}

pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "x86",
        other => other,
    }
}

pub fn hostname() -> String {
    sys::hostname().unwrap_or_else(|| "unknown".into())
}

pub fn os() -> OsInfo {
    sys::os()
}

/// Seconds since the machine booted, where the system tells.
pub fn system_uptime() -> Option<u64> {
    sys::uptime()
}

/// Bytes free for an unprivileged writer under `path`, where it exists.
pub fn free_bytes(path: &Path) -> Option<u64> {
    sys::free_bytes(path)
}

#[cfg(target_os = "linux")]
mod sys {
    use super::OsInfo;
    use std::path::Path;

    pub fn hostname() -> Option<String> {
        super::unix::hostname()
    }

    pub fn os() -> OsInfo {
        let text = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
        };
        OsInfo {
            family: "linux".into(),
            name: get("NAME").unwrap_or_else(|| "Linux".into()),
            version: get("VERSION_ID").unwrap_or_default(),
        }
    }

    pub fn uptime() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/uptime").ok()?;
        text.split('.').next()?.parse().ok()
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        super::unix::free_bytes(path)
    }
}

#[cfg(target_os = "macos")]
mod sys {
    use super::OsInfo;
    use std::path::Path;

    pub fn hostname() -> Option<String> {
        super::unix::hostname()
    }

    fn sysctl_string(name: &str) -> Option<String> {
        let cname = std::ffi::CString::new(name).ok()?;
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: buf and len describe a writable buffer of len bytes.
        let r = unsafe { libc::sysctlbyname(cname.as_ptr(), buf.as_mut_ptr().cast(), &mut len, std::ptr::null_mut(), 0) };
        (r == 0).then(|| String::from_utf8_lossy(&buf[..len]).trim_end_matches('\0').to_string())
    }

    pub fn os() -> OsInfo {
        OsInfo {
            family: "macos".into(),
            name: "macOS".into(),
            version: sysctl_string("kern.osproductversion").unwrap_or_default(),
        }
    }

    pub fn uptime() -> Option<u64> {
        let cname = std::ffi::CString::new("kern.boottime").ok()?;
        let mut tv: libc::timeval = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::timeval>();
        // SAFETY: tv and len describe a writable timeval.
        let r = unsafe {
            libc::sysctlbyname(
                cname.as_ptr(),
                (&mut tv as *mut libc::timeval).cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        let now = crate::clock::unix_now();
        (r == 0).then(|| (now - tv.tv_sec as i64).max(0) as u64)
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        super::unix::free_bytes(path)
    }
}

#[cfg(unix)]
mod unix {
    use std::path::Path;

    pub fn hostname() -> Option<String> {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its length.
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        (r == 0 && end > 0).then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: c is a NUL-terminated path, st a writable statvfs.
        let r = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
        (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }
}

#[cfg(windows)]
mod sys {
    use super::OsInfo;
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;

    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    use windows_sys::Win32::System::Registry::{RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_DWORD, RRF_RT_REG_SZ};
    use windows_sys::Win32::System::SystemInformation::{ComputerNameDnsHostname, GetComputerNameExW, GetTickCount64};

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    const CURRENT_VERSION: &str = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";

    fn reg_sz(value: &str) -> Option<String> {
        let (key, name) = (wide(CURRENT_VERSION), wide(value));
        let mut buf = [0u16; 256];
        let mut len = (buf.len() * 2) as u32;
        // SAFETY: buf and len describe a writable buffer of len bytes.
        let r = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                name.as_ptr(),
                RRF_RT_REG_SZ,
                std::ptr::null_mut(),
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let chars = (len as usize / 2).saturating_sub(1);
        (r == 0).then(|| String::from_utf16_lossy(&buf[..chars.min(buf.len())]))
    }

    fn reg_dword(value: &str) -> Option<u32> {
        let (key, name) = (wide(CURRENT_VERSION), wide(value));
        let mut v = 0u32;
        let mut len = 4u32;
        // SAFETY: v is a writable DWORD of len bytes.
        let r = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                name.as_ptr(),
                RRF_RT_REG_DWORD,
                std::ptr::null_mut(),
                (&mut v as *mut u32).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(v)
    }

    pub fn hostname() -> Option<String> {
        let mut buf = [0u16; 256];
        let mut len = buf.len() as u32;
        // SAFETY: buf holds len UTF-16 units.
        let ok = unsafe { GetComputerNameExW(ComputerNameDnsHostname, buf.as_mut_ptr(), &mut len) };
        if ok != 0 {
            return Some(String::from_utf16_lossy(&buf[..len as usize]));
        }
        std::env::var("COMPUTERNAME").ok()
    }

    /// The registry rather than GetVersionEx, which reports what the
    /// executable's manifest admits to, not the real version.
    pub fn os() -> OsInfo {
        let base = match (reg_dword("CurrentMajorVersionNumber"), reg_dword("CurrentMinorVersionNumber")) {
            (Some(a), Some(b)) => format!("{a}.{b}"),
            _ => reg_sz("CurrentVersion").unwrap_or_default(),
        };
        let build = reg_sz("CurrentBuildNumber").unwrap_or_default();
        OsInfo {
            family: "windows".into(),
            name: reg_sz("ProductName").unwrap_or_else(|| "Windows".into()),
            version: if build.is_empty() { base } else { format!("{base}.{build}") },
        }
    }

    pub fn uptime() -> Option<u64> {
        // SAFETY: no arguments.
        Some(unsafe { GetTickCount64() } / 1000)
    }

    pub fn free_bytes(path: &Path) -> Option<u64> {
        let w: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
        let mut avail = 0u64;
        // SAFETY: w is NUL-terminated; the out pointer is a writable u64.
        let ok = unsafe { GetDiskFreeSpaceExW(w.as_ptr(), &mut avail, std::ptr::null_mut(), std::ptr::null_mut()) };
        (ok != 0).then_some(avail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_id_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let a = device_id(&state).unwrap();
        assert!(is_uuid(&a), "{a}");
        assert_eq!(&a[14..15], "4");
        assert_eq!(device_id(&state).unwrap(), a);
        // A damaged file is replaced, never sent.
        std::fs::write(state.join("device-id"), "not-a-uuid\n").unwrap();
        let b = device_id(&state).unwrap();
        assert!(is_uuid(&b) && b != a);
        assert_ne!(random_uuid(), random_uuid());
    }

    #[test]
    fn machine_facts_are_there() {
        assert!(!hostname().is_empty());
        let os = os();
        assert_eq!(os.family, std::env::consts::OS);
        assert!(free_bytes(Path::new("/")).is_some_and(|b| b > 0));
        assert!(free_bytes(Path::new("/no/such/dir")).is_none());
        assert!(system_uptime().is_some());
    }
}
