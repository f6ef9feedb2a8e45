//! Runs a downloaded instruction script with an interpreter from a fixed
//! list, its arguments passed as a list (never through a shell string), with
//! a timeout that ends the whole process tree and capped output.
//!
//! The tree: on Unix the script leads its own process group and the group is
//! killed; on Windows it is put in a Job object that kills every process in
//! it when the job is closed. Either way, when the script itself ends,
//! whatever it left running is ended too: an instruction does not leave
//! processes behind, and the output pipes close.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ContentError;

/// The interpreters a Switch may name, per platform. Nothing else runs.
#[cfg(unix)]
pub const INTERPRETERS: &[&str] = &["sh"];
#[cfg(windows)]
pub const INTERPRETERS: &[&str] = &["powershell"];

pub fn default_interpreter() -> &'static str {
    INTERPRETERS[0]
}

/// The file suffix the interpreter expects (PowerShell's -File wants .ps1).
pub fn suffix(interpreter: &str) -> &'static str {
    match interpreter {
        "powershell" => ".ps1",
        _ => ".sh",
    }
}

fn command(interpreter: &str, script: &Path) -> Command {
    #[cfg(unix)]
    {
        let _ = interpreter;
        let mut c = Command::new("/bin/sh");
        c.arg(script);
        c
    }
    #[cfg(windows)]
    {
        let _ = interpreter;
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        let exe = Path::new(&root).join(r"System32\WindowsPowerShell\v1.0\powershell.exe");
        let mut c = Command::new(exe);
        c.args(["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File"]);
        c.arg(script);
        c
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub duration: Duration,
}

/// Runs the script to its end or the timeout; blocking (call it off the runtime).
pub fn run(interpreter: &str, script: &Path, args: &[String], limit: Duration, cap: usize) -> Result<Output, ContentError> {
    let started = Instant::now();
    let mut cmd = command(interpreter, script);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = script.parent() {
        cmd.current_dir(dir);
    }
    let mut tree = Tree::spawn(cmd).map_err(|e| ContentError::Spawn(e.to_string()))?;
    let out = reader(tree.child.stdout.take(), cap);
    let err = reader(tree.child.stderr.take(), cap);
    let mut timed_out = false;
    let status = loop {
        match tree.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limit => {
                timed_out = true;
                tree.kill();
                break tree.child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    // Leftovers of the script go with it, so the pipes reach their end.
    tree.kill();
    let (stdout, stdout_truncated) = out.join().unwrap_or_default();
    let (stderr, stderr_truncated) = err.join().unwrap_or_default();
    Ok(Output {
        exit_code: if timed_out { None } else { status.and_then(|s| s.code()) },
        timed_out,
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        duration: started.elapsed(),
    })
}

/// Keeps the first `cap` bytes and drains the rest, so a chatty script never
/// blocks on a full pipe.
fn reader(pipe: Option<impl Read + Send + 'static>, cap: usize) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let Some(mut pipe) = pipe else { return (kept, truncated) };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = cap.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
            truncated |= n > room;
        }
        (kept, truncated)
    })
}

/// The script's process and everything it starts.
struct Tree {
    child: Child,
    #[cfg(windows)]
    job: job::Job,
}

#[cfg(unix)]
impl Tree {
    fn spawn(mut cmd: Command) -> std::io::Result<Tree> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        Ok(Tree { child: cmd.spawn()? })
    }

    fn kill(&mut self) {
        // The group id is the child's pid (process_group(0)); negative means the group.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a pid value has no memory effects.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

#[cfg(windows)]
impl Tree {
    fn spawn(mut cmd: Command) -> std::io::Result<Tree> {
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NO_WINDOW);
        let job = job::Job::new()?;
        let child = cmd.spawn()?;
        let mut tree = Tree { child, job };
        if let Err(e) = tree.job.assign(&tree.child) {
            let _ = tree.child.kill();
            return Err(e);
        }
        Ok(tree)
    }

    fn kill(&mut self) {
        self.job.terminate();
    }
}

#[cfg(windows)]
mod job {
    use std::os::windows::io::AsRawHandle;

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation, SetInformationJobObject,
        TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    };

    /// A Job object with KILL_ON_JOB_CLOSE: closing it (also when the agent
    /// dies) ends every process in it.
    pub struct Job(HANDLE);

    // SAFETY: a job handle may be used from any thread.
    unsafe impl Send for Job {}

    impl Job {
        pub fn new() -> std::io::Result<Job> {
            // SAFETY: plain Win32 calls; the handle is owned by Job and closed in Drop.
            unsafe {
                let h = CreateJobObjectW(std::ptr::null(), std::ptr::null());
                if h.is_null() {
                    return Err(std::io::Error::last_os_error());
                }
                let job = Job(h);
                let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
                info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
                let ok = SetInformationJobObject(
                    h,
                    JobObjectExtendedLimitInformation,
                    &info as *const _ as *const core::ffi::c_void,
                    std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                );
                if ok == 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(job)
            }
        }

        pub fn assign(&self, child: &std::process::Child) -> std::io::Result<()> {
            // SAFETY: both handles are valid for the duration of the call.
            let ok = unsafe { AssignProcessToJobObject(self.0, child.as_raw_handle() as HANDLE) };
            if ok == 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        }

        pub fn terminate(&self) {
            // SAFETY: the handle is valid until Drop.
            unsafe {
                TerminateJobObject(self.0, 1);
            }
        }
    }

    impl Drop for Job {
        fn drop(&mut self) {
            // SAFETY: closed once, here.
            unsafe {
                CloseHandle(self.0);
            }
        }
    }
}
