//! The status file the running service keeps in its state directory, and the
//! `status` command that reads it.

use std::path::Path;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::paths::{display, Paths};
use crate::switch::LinkState;

#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub version: String,
    pub state: String,
    pub started_unix: u64,
    pub features: Vec<String>,
    #[serde(default)]
    pub device_id: Option<String>,
    /// The Switch link, when the platform feature runs.
    #[serde(default)]
    pub link: Option<LinkState>,
    /// The self-validation the service ran at start (`verify`).
    #[serde(default)]
    pub files: Option<crate::verify::Verification>,
    #[serde(default)]
    pub temporary_directory: Option<crate::tempdir::TemporaryDirectory>,
}

pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so `status` never reads half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(status)?)?;
    std::fs::rename(tmp, path)
}

fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // Signal 0 checks existence; EPERM still means the process exists.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
        use windows_sys::Win32::System::Threading::{GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
        // SAFETY: the handle is checked and closed; the exit code is a writable u32.
        unsafe {
            let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
            if h.is_null() {
                // Access denied still means the process exists.
                return std::io::Error::last_os_error().raw_os_error() == Some(5);
            }
            let mut code = 0u32;
            let ok = GetExitCodeProcess(h, &mut code) != 0;
            CloseHandle(h);
            ok && code == STILL_ACTIVE as u32
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = pid;
        true
    }
}

/// Exit codes follow LSB `status`: 0 running, 3 not running.
pub fn show(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let file = paths.status_file();
    let status: Option<Status> = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let running = status.as_ref().is_some_and(|s| s.state == "running" && alive(s.pid));
    if json {
        let v = serde_json::json!({ "running": running, "status_file": display(&file), "last": status });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        match &status {
            Some(s) if running => {
                println!(
                    "running (pid {}), version {}, features: {}",
                    s.pid,
                    s.version,
                    s.features.join(", ")
                );
                for line in s.link.iter().flat_map(LinkState::describe) {
                    println!("{line}");
                }
                s.files.iter().for_each(|v| println!("{}", v.describe()));
                s.temporary_directory.iter().for_each(|t| println!("{}", t.describe()));
            }
            Some(s) => println!("not running (last state: {}, version {})", s.state, s.version),
            None => println!("not running (no status in {})", display(&file)),
        }
    }
    Ok(if running { ExitCode::SUCCESS } else { ExitCode::from(3) })
}
