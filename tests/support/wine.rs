//! Windows Installer packages under Wine 8, headless, for install tests: a
//! throwaway WINEPREFIX per test, `msiexec` with its Windows exit code and
//! decoded log, and the queries install checks need (services, registry,
//! Add/Remove Programs).
//!
//! What this relies on, measured on the test machine with Wine 8.0 (Debian
//! 8.0~repack-4; see also the shared Windows notes §6 and §7):
//!
//! * A new prefix (`wineboot --init`, 4.6–7.3 s depending on load) reports
//!   Windows 7; `winecfg -v win10` (~0.2 s) makes it 10.0.18362. That is done
//!   once into a pristine prefix under [`fixtures_dir`] (~13 s with the final
//!   `wineserver -w`); each [`Prefix`] is a `cp -a` of it (0.4–2.8 s, ~700 MB,
//!   depending on the page cache and load) plus 0.5–0.9 s for the first
//!   command, which starts the prefix's services: 1.1–3.4 s in all, against
//!   5–7 s for a fresh `wineboot --init` + `winecfg`.
//! * `wine msiexec …` runs `start.exe /exec msiexec.exe …`, which waits for
//!   msiexec.exe and exits with its exit code; msiexec.exe runs the
//!   installation synchronously. So it returns when the installation has
//!   finished: the log's final `Action ended …: INSTALL.` line and the
//!   installed files are there right after it returns (checked 20 of 20
//!   install/uninstall cycles), and neither `start /wait` nor `wineserver -w`
//!   is needed. `wineserver -w` would even hang while a service the package
//!   started is running.
//! * The `/l*v` log is ANSI: code page 1252 (the en-US locale pinned below;
//!   `é` is one byte 0xE9, `€` 0x80), LF line ends, no BOM, also with `/l*vx`
//!   and `/l*v!`. It is decoded as such; a log with a UTF-16 BOM would be
//!   read as UTF-16, and CRLF becomes LF.
//! * The exit status is the Windows code mod 256, see [`windows_code`].
//! * Wine's log writes `Action ended …: X. Return value 1.` on success and
//!   `Return value 0.` on failure (Windows: 1, and 3 on failure).
//! * Wine does not log a false LaunchCondition's message under `/qn` (it
//!   only shows it in a message box when there is a UI), see
//!   [`Prefix::msiexec`] for what the harness does about it.
//! * Console output (`reg query`, `sc query`) is in the OEM code page 437 and
//!   loses characters; registry values are therefore read with `reg export`
//!   (a UTF-16 file), which is lossless.
//! * Wine's msi reports `VersionNT = 603`, `WindowsBuild = 9600` and
//!   `VersionMsi = 4.5` in the Windows 10 prefix (see any `/l*v` log); keep
//!   that in mind when a LaunchCondition tests them.
//! * Wine writes every ARP value, empty ones included (`HelpLink` "" when
//!   ARPHELPLINK is not set), and `UninstallString` as `MsiExec.exe /I{…}`.
//! * The wineserver of a prefix exits 3 s after its last non-system process
//!   and takes the prefix's services with it; each [`Prefix`] therefore keeps
//!   its own wineserver up (`wineserver -p`) until it is dropped.

use outpost_test_tools::tool;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{fixtures_dir, text};

/// No Mono/Gecko install prompts, and no winemenubuilder writing .desktop
/// files into the real `$HOME` when a package has shortcuts.
pub const DLL_OVERRIDES: &str = "mscoree,mshtml=;winemenubuilder.exe=d";
/// How long one wine command may run before the harness kills it.
const COMMAND_LIMIT: Duration = Duration::from_secs(300);
/// How long a prefix's wineserver outlives its last client (`wineserver
/// -p`): long enough that services survive idle stretches of a test, short
/// enough that a test process killed before its drop does not leave it
/// forever (the next `Prefix::new` also sweeps such leftovers).
const SERVER_PERSIST_SECS: u32 = 600;
/// Changes whenever the recipe of the pristine prefix changes.
const PRISTINE_FORMAT: &str = "wine-harness pristine 1";
const STAMP_FILE: &str = ".outpost-pristine";
const UNINSTALL_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall";

/// Where `scripts/prepare-wine` puts the test-only shim (same rule as the
/// chroot tarball: `$OMNIPACK_CACHE`, else `~/.cache/omnipack`).
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("OMNIPACK_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache/omnipack"),
    }
}

/// The TEST-ONLY `bcryptprimitives.dll` (x86_64) that lets Rust std >= 1.78
/// binaries start under Wine 8. Never shipped.
pub fn shim() -> PathBuf {
    let p = cache_dir().join("wine/bcryptprimitives.dll");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/prepare-wine (it builds the test-only shim from tests/wine/)",
        p.display()
    );
    p
}

/// The i686 build of the shim, for syswow64; only there when
/// `scripts/prepare-wine` found i686-w64-mingw32-gcc.
fn shim32() -> Option<PathBuf> {
    Some(cache_dir().join("wine/i686/bcryptprimitives.dll")).filter(|p| p.is_file())
}

/// `wine --version`, or a panic that says how to get Wine.
pub fn wine_version() -> String {
    let out = tool("wine")
        .arg("--version")
        .env("WINEDEBUG", "-all")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `wine` ({e}): run scripts/prepare-wine (installs wine and wine64)"));
    assert!(out.status.success(), "`wine --version` failed: {}", text(&out));
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let server = tool("wineserver").arg("--version").output();
    assert!(
        server.is_ok(),
        "cannot run `wineserver`: run scripts/prepare-wine (installs wine and wine64)"
    );
    v
}

/// A throwaway, headless Windows 10 (x64) prefix with its own wineserver,
/// killed and removed on drop (also when the test panics). Set
/// `OUTPOST_TEST_WINE_KEEP=1` to keep it for a look afterwards.
pub struct Prefix {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    counter: AtomicU32,
}

impl Prefix {
    pub fn new() -> Prefix {
        let started = Instant::now();
        let version = wine_version();
        let shim = shim();
        sweep_stale_prefixes();
        let (pristine, guard) = pristine(&version, &shim);
        let dir = tempfile::Builder::new()
            .prefix(&format!("wine-{}-", std::process::id()))
            .tempdir_in(fixtures_dir())
            .unwrap();
        let copy_started = Instant::now();
        let prefix = Prefix {
            path: dir.path().to_path_buf(),
            dir: Some(dir),
            counter: AtomicU32::new(0),
        };
        // From here on, a panic still kills and removes the prefix (Drop).
        crate::ok(
            tool("cp")
                .arg("-a")
                .arg("--reflink=auto")
                .arg(pristine.join("."))
                .arg(&prefix.path),
        );
        drop(guard);
        let copied = copy_started.elapsed();
        std::fs::create_dir_all(prefix.harness_dir()).unwrap();
        let out = run_limited(
            prefix.command("wineserver").arg(format!("-p{SERVER_PERSIST_SECS}")),
            COMMAND_LIMIT,
        );
        assert!(out.status.success(), "wineserver -p failed:\n{}", text(&out));
        let ver = prefix.wine(&["cmd", "/c", "ver"], &[]);
        assert!(
            text(&ver).contains("Windows 10.0."),
            "the copied prefix {} does not report Windows 10 (a damaged {}? remove it to have it made again):\n{}",
            prefix.path.display(),
            pristine.display(),
            text(&ver)
        );
        eprintln!(
            "wine: prefix {} ready in {:.1} s (copy {:.1} s)",
            prefix.path.display(),
            started.elapsed().as_secs_f64(),
            copied.as_secs_f64()
        );
        prefix
    }

    /// The WINEPREFIX.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The host path of a Windows path: `C:\ProgramData\Outpost\x.conf` ->
    /// `<prefix>/drive_c/ProgramData/Outpost/x.conf`. Drive letters follow
    /// the prefix's `dosdevices` (`Z:` is `/`); `\` and `/` both separate;
    /// existing components are matched case-insensitively, as Windows does.
    pub fn host(&self, windows_path: &str) -> PathBuf {
        let p = windows_path.replace('/', "\\");
        let b = p.as_bytes();
        assert!(
            b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':',
            "{windows_path:?} is not an absolute Windows path (like C:\\ProgramData\\x)"
        );
        let mut host = self.drive(b[0].to_ascii_lowercase() as char);
        let root_depth = host.components().count();
        for part in p[2..].split('\\').filter(|s| !s.is_empty() && *s != ".") {
            if part == ".." {
                if host.components().count() > root_depth {
                    host.pop();
                }
            } else {
                host = child_ignoring_case(&host, part);
            }
        }
        host
    }

    /// How Wine names a host path: `C:\...` inside the prefix's drive C,
    /// `Z:\...` elsewhere. Handy for msiexec arguments and properties.
    pub fn win_path(&self, host: &Path) -> String {
        let host = if host.is_absolute() {
            host.to_path_buf()
        } else {
            std::env::current_dir().unwrap().join(host)
        };
        let (drive, rest) = match host.strip_prefix(self.path.join("drive_c")) {
            Ok(rest) => ("C:", rest.to_path_buf()),
            Err(_) => ("Z:", host.strip_prefix("/").unwrap().to_path_buf()),
        };
        let parts: Vec<String> = rest
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        format!("{drive}\\{}", parts.join("\\"))
    }

    /// Runs `wine <args>` in this prefix with `env` added; never panics on
    /// the command's own failure (only when it cannot start or runs longer
    /// than 300 s).
    pub fn wine(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command("wine");
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_limited(&mut cmd, COMMAND_LIMIT)
    }

    /// Runs `wine msiexec <args> /l*v <log>` (the log option is left out
    /// when `args` has its own `/l…`, whose file is then read) and returns
    /// the Windows exit code and the decoded log. `wine msiexec` returns
    /// when the installation has finished (see the module notes).
    ///
    /// When the failing action is LaunchConditions, Wine 8 logs no message
    /// under `/qn` (Windows logs the LaunchCondition's Description). The
    /// harness then runs the same command once more with `WINEDEBUG=+msi`
    /// (nothing is installed before LaunchConditions, so this changes
    /// nothing), takes the condition that evaluated false from the trace and
    /// its Description from the package's LaunchCondition table, and appends
    /// both to `log` as lines starting with `[wine-harness]`, so tests that
    /// look for the message work the same on Windows and under Wine.
    pub fn msiexec(&self, args: &[&str]) -> Msiexec {
        let mut argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let log_path = match log_option(&argv) {
            Some(i) => {
                let file = argv
                    .get(i + 1)
                    .unwrap_or_else(|| panic!("msiexec {args:?}: `{}` needs a file", argv[i]));
                self.arg_path(file)
            }
            None => {
                let p = self.harness_file("msiexec", "log");
                argv.push("/l*v".into());
                argv.push(p.to_string_lossy().into_owned());
                p
            }
        };
        let started = Instant::now();
        let mut cmd = self.command("wine");
        cmd.arg("msiexec").args(&argv);
        let out = run_limited(&mut cmd, COMMAND_LIMIT);
        let seconds = started.elapsed().as_secs_f64();
        let (code, note) = windows_code(out.status);
        let mut m = Msiexec {
            code,
            log: String::new(),
            stdout_stderr: text(&out),
            raw_status: out.status.code(),
            notes: note.into_iter().collect(),
            args: argv,
            seconds,
        };
        match std::fs::read(&log_path) {
            Ok(bytes) => m.log = decode_log(&bytes),
            Err(e) => m.notes.push(format!("no log at {} ({e})", log_path.display())),
        }
        if m.ok() && !m.log.lines().any(is_top_level_end) {
            m.notes.push("the log has no final `Action ended …: INSTALL.` line".into());
        }
        if m.failed_action().as_deref() == Some("LaunchConditions") {
            self.explain_launch_condition(&mut m);
        }
        m
    }

    /// The state `sc query` reports (`RUNNING`, `STOPPED`, `START_PENDING`,
    /// …), or None when there is no such service.
    pub fn service(&self, name: &str) -> Option<String> {
        let out = self.wine(&["sc", "query", name], &[]);
        let t = text(&out);
        if let Some(state) = parse_sc_state(&t) {
            return Some(state);
        }
        // Wine's sc prints nothing and exits 1 for an unknown service;
        // Windows prints `FAILED 1060`. Either way, cross-check with the
        // service's registry key before saying "no such service".
        let key = format!(r"HKLM\System\CurrentControlSet\Services\{name}");
        if t.contains("1060") || !self.reg_key_exists(&key) {
            return None;
        }
        panic!(
            "`sc query {name}` printed no STATE although {key} exists ({}):\n{t}",
            out.status
        )
    }

    /// Polls [`Prefix::service`] until it reports `state` (None: until the
    /// service is gone) or `timeout` passes; returns the last answer.
    pub fn wait_service(&self, name: &str, state: Option<&str>, timeout: Duration) -> Option<String> {
        let until = Instant::now() + timeout;
        loop {
            let now = self.service(name);
            if now.as_deref() == state || Instant::now() >= until {
                return now;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One registry value in the 64-bit view (`/reg:64`; use
    /// `HKLM\Software\WOW6432Node\…` for the 32-bit one), None when the key
    /// or value is absent. `name` "" is the key's default value. Strings
    /// come back as stored, REG_DWORD/REG_QWORD in decimal ("1"),
    /// REG_MULTI_SZ joined with '\n', other types as lowercase hex.
    pub fn reg_value(&self, key: &str, name: &str) -> Option<String> {
        self.reg_values(key)?
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All values of a key (64-bit view; subkeys are not included), as
    /// [`Prefix::reg_value`] formats them; None when the key is absent.
    pub fn reg_values(&self, key: &str) -> Option<BTreeMap<String, String>> {
        self.reg_export(key, "/reg:64")
    }

    pub fn reg_key_exists(&self, key: &str) -> bool {
        let out = self.wine(&["reg", "query", key, "/reg:64"], &[]);
        if out.status.success() {
            return true;
        }
        assert!(
            text(&out).contains("Unable to find"),
            "`reg query {key}` failed ({}):\n{}",
            out.status,
            text(&out)
        );
        false
    }

    /// The Add/Remove Programs values of a product (DisplayName,
    /// DisplayVersion, Publisher, HelpLink, NoModify, UninstallString, …),
    /// from `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\{code}`
    /// in the 64-bit view, else the 32-bit one; None when neither exists.
    /// Formatted as [`Prefix::reg_value`] does (NoModify is "1").
    pub fn uninstall_entry(&self, product_code: &str) -> Option<BTreeMap<String, String>> {
        let code = product_code.trim_matches(|c| c == '{' || c == '}').to_ascii_uppercase();
        let key = format!("{UNINSTALL_KEY}\\{{{code}}}");
        self.reg_export(&key, "/reg:64").or_else(|| self.reg_export(&key, "/reg:32"))
    }

    fn reg_export(&self, key: &str, view: &str) -> Option<BTreeMap<String, String>> {
        let file = self.harness_file("reg", "reg");
        let file_arg = file.to_string_lossy().into_owned();
        let out = self.wine(&["reg", "export", key, &file_arg, "/y", view], &[]);
        if !out.status.success() {
            assert!(
                text(&out).contains("Unable to find"),
                "`reg export {key} {view}` failed ({}):\n{}",
                out.status,
                text(&out)
            );
            return None;
        }
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("reg export wrote no {}: {e}", file.display()));
        let _ = std::fs::remove_file(&file);
        let exported = decode_text(&bytes);
        Some(parse_reg_export(&exported).unwrap_or_else(|e| panic!("cannot read `reg export {key}`: {e}\n{exported}")))
    }

    fn explain_launch_condition(&self, m: &mut Msiexec) {
        // The same command, logging to a throwaway file (never over a log
        // the caller asked for), with Wine's msi trace on stderr.
        let mut argv = m.args.clone();
        if let Some(i) = log_option(&argv) {
            argv.drain(i..(i + 2).min(argv.len()));
        }
        argv.push("/l*v".into());
        argv.push(self.harness_file("msiexec-trace", "log").to_string_lossy().into_owned());
        let mut cmd = self.command("wine");
        cmd.arg("msiexec").args(&argv).env("WINEDEBUG", "-all,+msi");
        let out = run_limited(&mut cmd, COMMAND_LIMIT);
        let trace = String::from_utf8_lossy(&out.stderr);
        let Some(condition) = false_launch_condition(&trace) else {
            m.notes.push(format!(
                "LaunchConditions failed, but a re-run with WINEDEBUG=+msi (exit status {:?}) showed no false condition",
                out.status.code()
            ));
            return;
        };
        let mut added = format!("[wine-harness] LaunchConditions: condition evaluated false: {condition}\n");
        match self.package_of(&m.args).map(|p| launch_condition_message(&p, &condition)) {
            Some(Ok(message)) => added.push_str(&format!("[wine-harness] LaunchCondition message: {message}\n")),
            Some(Err(e)) => m.notes.push(format!("no LaunchCondition message: {e}")),
            None => m
                .notes
                .push("no LaunchCondition message: no package file found in the msiexec arguments".into()),
        }
        m.notes.push(
            "Wine 8 logs no LaunchCondition message under /qn; the [wine-harness] lines in the log come from a \
             WINEDEBUG=+msi re-run and the package's LaunchCondition table"
                .into(),
        );
        if !m.log.ends_with('\n') && !m.log.is_empty() {
            m.log.push('\n');
        }
        m.log.push_str(&added);
    }

    /// The package file: the first argument after `/i`, `/package`, `/x`,
    /// `/uninstall`, `/a`, `/f…` or `/j…`, or ending in `.msi`, that is a file.
    fn package_of(&self, args: &[String]) -> Option<PathBuf> {
        let after_option = args.windows(2).filter_map(|w| {
            let o = w[0].to_ascii_lowercase();
            let name = o.trim_start_matches(['/', '-']);
            let takes_package = o.starts_with(['/', '-'])
                && (["i", "package", "x", "uninstall", "a"].contains(&name) || name.starts_with('f') || name.starts_with('j'));
            takes_package.then(|| w[1].clone())
        });
        let named_msi = args.iter().filter(|a| a.to_ascii_lowercase().ends_with(".msi")).cloned();
        after_option
            .chain(named_msi)
            .filter(|a| !a.starts_with('{'))
            .map(|a| self.arg_path(&a))
            .find(|p| p.is_file())
    }

    /// A path as msiexec would take it: Windows (`C:\…`), Unix absolute, or
    /// relative to the current directory.
    fn arg_path(&self, arg: &str) -> PathBuf {
        let b = arg.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            self.host(arg)
        } else {
            std::env::current_dir().unwrap().join(arg)
        }
    }

    fn drive(&self, letter: char) -> PathBuf {
        let devices = self.path.join("dosdevices");
        let link = std::fs::read_link(devices.join(format!("{letter}:"))).unwrap_or_else(|_| {
            panic!(
                "drive {}: is not mapped in the prefix {}",
                letter.to_ascii_uppercase(),
                self.path.display()
            )
        });
        normalize(&devices.join(link))
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = wine_command(program);
        cmd.env("WINEPREFIX", &self.path);
        cmd
    }

    fn harness_dir(&self) -> PathBuf {
        self.path.join("harness")
    }

    /// A fresh file name under `<prefix>/harness` (outside drive C).
    fn harness_file(&self, stem: &str, ext: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.harness_dir().join(format!("{stem}-{n}.{ext}"))
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let started = Instant::now();
        kill_prefix(&self.path);
        let Some(dir) = self.dir.take() else { return };
        if std::env::var_os("OUTPOST_TEST_WINE_KEEP").is_some_and(|v| v == "1") {
            eprintln!("wine: kept the prefix {} (OUTPOST_TEST_WINE_KEEP=1)", dir.keep().display());
            return;
        }
        if let Err(e) = dir.close() {
            eprintln!("wine: cannot remove the prefix {}: {e}", self.path.display());
        }
        eprintln!("wine: prefix stopped and removed in {:.1} s", started.elapsed().as_secs_f64());
    }
}

/// What `Prefix::msiexec` observed.
pub struct Msiexec {
    /// The Windows exit code (0, 1602, 1603, 1618, 1620, 1638, 3010, …),
    /// mapped back from Wine's exit status, see [`windows_code`].
    pub code: u32,
    /// The decoded `/l*v` log, plus `[wine-harness]` lines for a failed
    /// LaunchCondition (see [`Prefix::msiexec`]).
    pub log: String,
    pub stdout_stderr: String,
    /// Wine's exit status as the process returned it (None: killed by a signal).
    pub raw_status: Option<i32>,
    /// What the harness noticed: unknown exit statuses, a missing log, ….
    pub notes: Vec<String>,
    /// The msiexec arguments, including the log option the harness added.
    pub args: Vec<String>,
    pub seconds: f64,
}

impl Msiexec {
    /// 0 or 3010 (success, reboot required).
    pub fn ok(&self) -> bool {
        self.code == 0 || self.code == 3010
    }

    pub fn log_has(&self, needle: &str) -> bool {
        self.log.contains(needle)
    }

    /// The first action the log reports as failed (`Action ended …: X.
    /// Return value` other than 1), innermost first.
    pub fn failed_action(&self) -> Option<String> {
        self.log.lines().find_map(|l| {
            let (name, value) = action_ended(l)?;
            (value != "1").then(|| name.to_string())
        })
    }

    /// Panics with everything useful unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: u32) -> &Msiexec {
        assert!(self.code == code, "expected msiexec exit code {code}:\n{self}");
        self
    }
}

impl std::fmt::Display for Msiexec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.raw_status.map_or_else(|| "none: killed".to_string(), |s| s.to_string());
        writeln!(
            f,
            "msiexec {}\n  exit code {} (wine exit status {status}) after {:.1} s",
            self.args.join(" "),
            self.code,
            self.seconds
        )?;
        if let Some(a) = self.failed_action() {
            writeln!(f, "  failed action: {a}")?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        if !self.stdout_stderr.trim().is_empty() {
            writeln!(f, "--- stdout/stderr\n{}", self.stdout_stderr.trim_end())?;
        }
        let lines: Vec<&str> = self.log.lines().collect();
        let from = lines.len().saturating_sub(60);
        writeln!(f, "--- log (lines {}..{} of {})", from + 1, lines.len(), lines.len())?;
        for l in &lines[from..] {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Msiexec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Maps Wine's exit status (the Windows exit code mod 256) back to the
/// Windows Installer exit code; the second value is a note when the status
/// is not one msiexec gives for that reason.
///
/// | wine status | Windows code  | meaning |
/// |-------------|---------------|---------|
/// | 0           | 0             | ERROR_SUCCESS |
/// | 65..=118    | 1601..=1654   | the Windows Installer range (status + 1536): 66 → 1602 user exit, 67 → 1603 fatal error, 69 → 1605 unknown product, 82 → 1618 another installation running, 83 → 1619 package cannot be opened, 84 → 1620 invalid package, 88 → 1624 transform, 89 → 1625 refused by policy, 102 → 1638 another version installed, 103 → 1639 invalid command line, 105 → 1641 reboot started |
/// | 194         | 3010          | ERROR_SUCCESS_REBOOT_REQUIRED |
/// | 195         | 3011          | ERROR_SUCCESS_RESTART_REQUIRED |
/// | other       | kept as is    | with a note: 1 is Wine msiexec's usage error (Windows: 1639), 2 its "package file not found" (Windows: 1619), 53 is NTSTATUS 0xC0000135 (a DLL is missing, msiexec did not start) |
/// | signal      | u32::MAX      | with a note |
///
/// 87 is ambiguous: 1623 (ERROR_INSTALL_LANGUAGE_UNSUPPORTED) or
/// ERROR_INVALID_PARAMETER (87); it maps to 1623 with a note.
pub fn windows_code(status: ExitStatus) -> (u32, Option<String>) {
    use std::os::unix::process::ExitStatusExt;
    let Some(raw) = status.code() else {
        return (u32::MAX, Some(format!("msiexec was killed by signal {:?}", status.signal())));
    };
    match raw {
        0 => (0, None),
        87 => (
            1623,
            Some("wine exit status 87 is 1623 or ERROR_INVALID_PARAMETER (87); taken as 1623".into()),
        ),
        65..=118 => (raw as u32 + 1536, None),
        194 => (3010, None),
        195 => (3011, None),
        _ => {
            let what = match raw {
                1 => " (Wine's msiexec exits 1 after printing its usage: a command line it does not understand)",
                2 => " (ERROR_FILE_NOT_FOUND: Wine's msiexec could not find the package; Windows says 1619)",
                53 => " (NTSTATUS 0xC0000135 mod 256: a DLL is missing, msiexec did not start)",
                _ => "",
            };
            (
                raw as u32,
                Some(format!(
                    "wine exit status {raw} is not a Windows Installer code mod 256; kept as is{what}"
                )),
            )
        }
    }
}

/// Decodes a log or text file the way Windows tools write them: UTF-16LE
/// or UTF-16BE with a BOM, UTF-8 (with or without BOM), else code page
/// 1252. CRLF becomes LF.
pub fn decode_text(bytes: &[u8]) -> String {
    let utf16 = |units: Vec<u16>| String::from_utf16_lossy(&units);
    let s = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
    } else if bytes.len() >= 4 && bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0 {
        // UTF-16LE without a BOM (ASCII text in it has every odd byte 0).
        utf16(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
    } else {
        let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => b.iter().map(|&c| cp1252(c)).collect(),
        }
    };
    s.replace("\r\n", "\n")
}

/// An msiexec log: UTF-16 when it has a BOM, else ANSI (code page 1252,
/// what Wine writes here), never guessed as UTF-8. CRLF becomes LF.
fn decode_log(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return decode_text(bytes);
    }
    bytes.iter().map(|&c| cp1252(c)).collect::<String>().replace("\r\n", "\n")
}

fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(HIGH[(b - 0x80) as usize] as u32).unwrap(),
        _ => b as char,
    }
}

/// `Action ended 6:34:07: LaunchConditions. Return value 0.` -> (name, "0").
fn action_ended(line: &str) -> Option<(&str, &str)> {
    let rest = &line[line.find("Action ended ")? + "Action ended ".len()..];
    let (head, value) = rest.split_once(". Return value ")?;
    let (_, name) = head.rsplit_once(": ")?;
    Some((name.trim(), value.trim_end_matches('.').trim()))
}

fn is_top_level_end(line: &str) -> bool {
    action_ended(line).is_some_and(|(name, _)| ["INSTALL", "ADMIN", "ADVERTISE"].contains(&name))
}

/// The index of a `/l…` log option (`/l*v`, `/Lv+`, `-l!`, …) in msiexec
/// arguments; unlike a Unix path such as `/lib/x.msi`, it has only log
/// mode letters after the `l`.
fn log_option(args: &[String]) -> Option<usize> {
    args.iter().position(|a| {
        let b = a.as_bytes();
        b.len() >= 2
            && (b[0] == b'/' || b[0] == b'-')
            && (b[1] == b'l' || b[1] == b'L')
            && a[2..].chars().all(|c| "iwearucmopvx+!*".contains(c.to_ascii_lowercase()))
    })
}

/// The state word of `sc query`'s `STATE : 4  RUNNING` line, or its name
/// for the number when the word is missing.
pub fn parse_sc_state(output: &str) -> Option<String> {
    for line in output.lines() {
        let t = line.trim();
        let Some((label, value)) = t.split_once(':') else { continue };
        if !label.trim().eq_ignore_ascii_case("STATE") {
            continue;
        }
        let mut words = value.split_whitespace();
        let number = words.next()?;
        if let Some(name) = words
            .next()
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        {
            return Some(name.to_ascii_uppercase());
        }
        let name = match number {
            "1" => "STOPPED",
            "2" => "START_PENDING",
            "3" => "STOP_PENDING",
            "4" => "RUNNING",
            "5" => "CONTINUE_PENDING",
            "6" => "PAUSE_PENDING",
            "7" => "PAUSED",
            other => return Some(other.to_string()),
        };
        return Some(name.into());
    }
    None
}

/// The values of the first key in a `reg export` file (REGEDIT5 format),
/// formatted as [`Prefix::reg_value`] describes.
pub fn parse_reg_export(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("").trim_start_matches('\u{feff}');
    if header.trim() != "Windows Registry Editor Version 5.00" {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut values = BTreeMap::new();
    let mut in_key = false;
    let mut logical = String::new();
    for line in lines {
        if logical.is_empty() && line.starts_with('[') {
            if in_key {
                break; // a subkey
            }
            in_key = true;
            continue;
        }
        if !in_key || (logical.is_empty() && line.trim().is_empty()) {
            continue;
        }
        logical.push_str(line.trim_start());
        // Hex data continues on the next line after a trailing backslash.
        if logical.contains("=hex") && logical.ends_with('\\') {
            logical.pop();
            continue;
        }
        let (name, value) = parse_reg_entry(&logical)?;
        values.insert(name, value);
        logical.clear();
    }
    Ok(values)
}

fn parse_reg_entry(entry: &str) -> Result<(String, String), String> {
    let (name, data) = if let Some(data) = entry.strip_prefix("@=") {
        (String::new(), data)
    } else if entry.starts_with('"') {
        let (name, rest) = reg_string(entry).ok_or_else(|| format!("bad value name in {entry:?}"))?;
        (name, rest.strip_prefix('=').ok_or_else(|| format!("no = in {entry:?}"))?)
    } else {
        return Err(format!("unexpected line {entry:?}"));
    };
    let value = if data.starts_with('"') {
        reg_string(data).ok_or_else(|| format!("bad string in {entry:?}"))?.0
    } else if let Some(hex) = data.strip_prefix("dword:") {
        u32::from_str_radix(hex, 16)
            .map_err(|e| format!("{entry:?}: {e}"))?
            .to_string()
    } else if let Some(rest) = data.strip_prefix("hex") {
        let (kind, bytes) = match rest.strip_prefix(':') {
            Some(b) => ("3", b),
            None => {
                let r = rest.strip_prefix('(').ok_or_else(|| format!("bad hex in {entry:?}"))?;
                r.split_once("):").ok_or_else(|| format!("bad hex type in {entry:?}"))?
            }
        };
        let bytes: Vec<u8> = bytes
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(|b| u8::from_str_radix(b, 16).map_err(|e| format!("{entry:?}: {e}")))
            .collect::<Result<_, _>>()?;
        let utf16 = |b: &[u8]| -> Vec<String> {
            let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            units.split(|&u| u == 0).map(String::from_utf16_lossy).collect()
        };
        match kind {
            // REG_SZ, REG_EXPAND_SZ: up to the terminating NUL.
            "1" | "2" => utf16(&bytes).into_iter().next().unwrap_or_default(),
            // REG_MULTI_SZ: the strings before the empty one that ends the list.
            "7" => {
                let items = utf16(&bytes);
                let end = items.iter().position(String::is_empty).unwrap_or(items.len());
                items[..end].join("\n")
            }
            // REG_DWORD (little endian), REG_QWORD.
            "4" if bytes.len() == 4 => u32::from_le_bytes(bytes[..4].try_into().unwrap()).to_string(),
            "b" if bytes.len() == 8 => u64::from_le_bytes(bytes[..8].try_into().unwrap()).to_string(),
            _ => hex::encode(&bytes),
        }
    } else {
        return Err(format!("unknown data in {entry:?}"));
    };
    Ok((name, value))
}

/// A `"…"` string with `\\`, `\"`, `\n`, `\r`, `\0` escapes at the start of
/// `s`, and what follows it.
fn reg_string(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.strip_prefix('"')?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The launch condition Wine's `+msi` trace shows evaluating false, from
/// `MSI_EvaluateConditionW 0 <- L"NOT BLOCK"` after `ACTION_LaunchConditions`.
fn false_launch_condition(trace: &str) -> Option<String> {
    let from = trace.find("ACTION_LaunchConditions")?;
    for line in trace[from..].lines() {
        if let Some(i) = line.find("MSI_EvaluateConditionW 0 <- ") {
            return unescape_debugstr(&line[i + "MSI_EvaluateConditionW 0 <- ".len()..]);
        }
        if line.contains("Execution halted") {
            break;
        }
    }
    None
}

/// Wine's `debugstr_w`: `L"…"` with `\"`, `\\`, `\n`, `\r`, `\t` and
/// `\xxxx` (hex) escapes, `...` appended when truncated.
fn unescape_debugstr(s: &str) -> Option<String> {
    let body = s.trim().strip_prefix("L\"")?;
    let (body, truncated) = match body.strip_suffix("\"...") {
        Some(b) => (b, true),
        None => (body.strip_suffix('"')?, false),
    };
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            h if h.is_ascii_hexdigit() => {
                let mut hex = h.to_string();
                while hex.len() < 4 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                    hex.push(chars.next().unwrap());
                }
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
    }
    if truncated {
        out.push_str("...");
    }
    Some(out)
}

/// The Description of the LaunchCondition row whose Condition is
/// `condition` (a trace truncated with `...` matches by prefix).
fn launch_condition_message(package: &Path, condition: &str) -> Result<String, String> {
    use omnipack::msi::{Database, Value};
    let bytes = std::fs::read(package).map_err(|e| format!("{}: {e}", package.display()))?;
    let db = Database::from_bytes(&bytes).map_err(|e| format!("{}: {e}", package.display()))?;
    let table = db
        .table("LaunchCondition")
        .ok_or_else(|| format!("{} has no LaunchCondition table", package.display()))?;
    let wanted = |c: &str| match condition.strip_suffix("...") {
        Some(prefix) => c.starts_with(prefix),
        None => c == condition,
    };
    let message = table.rows().find_map(|row| match (&row[0], &row[1]) {
        (Value::Str(c), Value::Str(d)) if wanted(c) => Some(d.clone()),
        _ => None,
    });
    message.ok_or_else(|| format!("no LaunchCondition row with condition {condition:?} in {}", package.display()))
}

/// `program` with the environment every wine command here gets.
fn wine_command(program: &str) -> Command {
    let mut cmd = tool(program);
    cmd.env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", DLL_OVERRIDES)
        // English messages and en-US / code page 1252 inside, whatever the
        // caller's locale; LANGUAGE would pick Wine's UI language.
        .env("LC_ALL", "C.UTF-8")
        .env_remove("LANGUAGE")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WINEARCH")
        .env_remove("WINESERVER")
        .env_remove("WINELOADER");
    cmd
}

/// Runs `cmd` with stdin closed and stdout/stderr in files (a background
/// process that inherits them cannot block us), killing it after `limit`.
fn run_limited(cmd: &mut Command, limit: Duration) -> Output {
    let mut out_f = tempfile::tempfile().unwrap();
    let mut err_f = tempfile::tempfile().unwrap();
    cmd.stdin(Stdio::null())
        .stdout(out_f.try_clone().unwrap())
        .stderr(err_f.try_clone().unwrap());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |f: &mut File| {
        let mut v = Vec::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut v).unwrap();
        v
    };
    let (stdout, stderr) = (read(&mut out_f), read(&mut err_f));
    match status {
        Some(status) => Output { status, stdout, stderr },
        None => panic!(
            "{cmd:?} did not finish within {} s (a dialog waiting for input? msiexec needs /qn):\n{}{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// The pristine prefix (made once, reused while Wine, the shim and the
/// recipe stay the same) and a shared lock on it, held while copying.
fn pristine(version: &str, shim: &Path) -> (PathBuf, File) {
    let dir = fixtures_dir().join("wine-pristine");
    let sha = |p: &Path| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
    };
    let stamp = format!(
        "{PRISTINE_FORMAT}\n{version}\nshim {}\nshim32 {}\n",
        sha(shim),
        shim32().map_or_else(|| "-".to_string(), |p| sha(&p))
    );
    let lock = File::create(fixtures_dir().join("wine-pristine.lock")).unwrap();
    lock.lock().unwrap();
    if std::fs::read_to_string(dir.join(STAMP_FILE)).ok().as_deref() != Some(stamp.as_str()) {
        build_pristine(&dir, &stamp, shim);
    }
    lock.unlock().unwrap();
    lock.lock_shared().unwrap();
    (dir, lock)
}

fn build_pristine(dir: &Path, stamp: &str, shim: &Path) {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix(&format!("wine-{}-pristine-", std::process::id()))
        .tempdir_in(fixtures_dir())
        .unwrap();
    let p = tmp.path();
    let wine = |args: &[&str]| {
        let mut cmd = wine_command("wine");
        cmd.env("WINEPREFIX", p).args(args);
        let out = run_limited(&mut cmd, COMMAND_LIMIT);
        (out.status.success(), text(&out))
    };
    let result = (|| {
        let (ok, t) = wine(&["wineboot", "--init"]);
        if !ok {
            return Err(format!("`wine wineboot --init` failed in a new prefix:\n{t}"));
        }
        let booted = started.elapsed();
        let (ok, t) = wine(&["winecfg", "-v", "win10"]);
        if !ok {
            return Err(format!("`wine winecfg -v win10` failed:\n{t}"));
        }
        let (_, t) = wine(&["cmd", "/c", "ver"]);
        if !t.contains("Windows 10.0.") {
            return Err(format!(
                "after `winecfg -v win10` the prefix does not report Windows 10:\n{t}"
            ));
        }
        let windows = p.join("drive_c/windows");
        std::fs::copy(shim, windows.join("system32/bcryptprimitives.dll")).map_err(|e| format!("shim: {e}"))?;
        if let (true, Some(shim32)) = (windows.join("syswow64").is_dir(), shim32()) {
            std::fs::copy(shim32, windows.join("syswow64/bcryptprimitives.dll")).map_err(|e| format!("shim32: {e}"))?;
        }
        // Let everything settle and the registry reach the disk.
        let mut w = wine_command("wineserver");
        w.env("WINEPREFIX", p).arg("-w");
        let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_limited(&mut w, Duration::from_secs(60))));
        if waited.is_err() {
            eprintln!("wine: `wineserver -w` did not return within 60 s; killing it");
        }
        Ok(booted)
    })();
    kill_prefix(p);
    let booted = result.unwrap_or_else(|e| panic!("cannot make the pristine wine prefix: {e}"));
    std::fs::write(p.join(STAMP_FILE), stamp).unwrap();
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("cannot remove the old {}: {e}", dir.display()),
        _ => {}
    }
    std::fs::rename(tmp.keep(), dir).unwrap();
    eprintln!(
        "wine: made the pristine prefix in {:.1} s (wineboot --init {:.1} s)",
        started.elapsed().as_secs_f64(),
        booted.as_secs_f64()
    );
}

/// Stops the prefix's wineserver (which ends its processes) and kills any
/// process still running with this WINEPREFIX.
fn kill_prefix(prefix: &Path) {
    let mut k = wine_command("wineserver");
    k.env("WINEPREFIX", prefix).arg("-k");
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_limited(&mut k, Duration::from_secs(30))));
    for _ in 0..50 {
        let left = processes_of(prefix);
        if left.is_empty() {
            return;
        }
        for pid in left {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Processes whose environment has `WINEPREFIX=<prefix>` (Wine passes it
/// on to every process of the prefix, the wineserver included).
pub fn processes_of(prefix: &Path) -> Vec<i32> {
    let want = format!("WINEPREFIX={}", prefix.display()).into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == want.as_slice()))
        })
        .collect()
}

/// Removes prefixes (`wine-<pid>-…`) left by test processes that died
/// before their drop ran, with whatever still runs in them.
fn sweep_stale_prefixes() {
    let Ok(entries) = std::fs::read_dir(fixtures_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("wine-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = unsafe { libc::kill(pid, 0) == 0 } || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if pid == std::process::id() as i32 || alive || !e.path().is_dir() {
            continue;
        }
        kill_prefix(&e.path());
        let _ = std::fs::remove_dir_all(e.path());
    }
}

fn child_ignoring_case(dir: &Path, name: &str) -> PathBuf {
    let exact = dir.join(name);
    if exact.symlink_metadata().is_ok() {
        return exact;
    }
    let lower = name.to_lowercase();
    std::fs::read_dir(dir)
        .ok()
        .and_then(|entries| {
            entries
                .flatten()
                .find(|e| e.file_name().to_string_lossy().to_lowercase() == lower)
                .map(|e| e.path())
        })
        .unwrap_or(exact)
}

/// `a/dosdevices/../drive_c` -> `a/drive_c`, without following symlinks.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_codes_map_back() {
        let code = |raw: i32| windows_code(ExitStatus::from_raw(raw << 8));
        for (raw, windows) in [
            (0, 0),
            (66, 1602),
            (67, 1603),
            (82, 1618),
            (84, 1620),
            (102, 1638),
            (194, 3010),
        ] {
            assert_eq!(code(raw), (windows, None), "status {raw}");
        }
        assert_eq!(code(87).0, 1623);
        assert!(code(87).1.is_some());
        let (c, note) = code(2);
        assert_eq!(c, 2);
        assert!(note.unwrap().contains("kept as is"));
        let (c, note) = windows_code(ExitStatus::from_raw(9));
        assert_eq!(c, u32::MAX);
        assert!(note.unwrap().contains("signal"));
    }

    #[test]
    fn decodes_logs() {
        assert_eq!(decode_text(b"a\r\nb\xe9\x80\n"), "a\nb\u{e9}\u{20ac}\n");
        assert_eq!(decode_text("Grüße\r\n".as_bytes()), "Grüße\n");
        assert_eq!(decode_log(b"SWITCH = Gr\xfc\xdfe\x80\n"), "SWITCH = Grüße€\n");
        assert_eq!(decode_log("é".as_bytes()), "Ã©");
        let utf16: Vec<u8> = [0xFEFFu16]
            .into_iter()
            .chain("x=é\r\n".encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode_text(&utf16), "x=é\n");
    }

    #[test]
    fn reads_the_log() {
        let m = Msiexec {
            code: 1603,
            log: "Action ended 6:34:21: LaunchConditions. Return value 0.\nAction ended 6:34:21: INSTALL. Return value 0.\n"
                .into(),
            stdout_stderr: String::new(),
            raw_status: Some(67),
            notes: vec![],
            args: vec![],
            seconds: 0.0,
        };
        assert_eq!(m.failed_action().as_deref(), Some("LaunchConditions"));
        assert!(m.log.lines().any(is_top_level_end));
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(log_option(&args(&["/i", "/lib/x.msi", "/L*V", "x.log"])), Some(2));
        assert_eq!(log_option(&args(&["/i", "/lib/x.msi", "/qn"])), None);
    }

    #[test]
    fn parses_sc_and_reg() {
        let sc = "SERVICE_NAME: X\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        STATE              : 4  RUNNING\r\n                                (STOPPABLE, NOT_PAUSABLE)\r\n";
        assert_eq!(parse_sc_state(sc).as_deref(), Some("RUNNING"));
        assert_eq!(parse_sc_state("        STATE : 1\n").as_deref(), Some("STOPPED"));
        assert_eq!(parse_sc_state("[SC] OpenService FAILED 1060:\n"), None);
        let exported = "\u{feff}Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\Software\\U]\n@=\"def\"\n\
            \"B\"=hex:0a,0b\n\"D\"=dword:ffffffff\n\"Ex\"=hex(2):25,00,53,00,\\\n  25,00,00,00\n\
            \"Multi\"=hex(7):78,00,00,00,79,00,00,00,00,00\n\"N\"=\"Gr\u{fc}\u{df}e \\\"q\\\" C:\\\\x\"\n\
            \"Q\"=hex(b):05,00,00,00,00,00,00,00\n\n[HKEY_LOCAL_MACHINE\\Software\\U\\Sub]\n\"S\"=\"s\"\n";
        let v = parse_reg_export(exported).unwrap();
        let want: BTreeMap<String, String> = [
            ("", "def"),
            ("B", "0a0b"),
            ("D", "4294967295"),
            ("Ex", "%S%"),
            ("Multi", "x\ny"),
            ("N", "Grüße \"q\" C:\\x"),
            ("Q", "5"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(v, want);
    }

    #[test]
    fn finds_the_false_condition() {
        let trace = "0024:trace:msi:MSI_EvaluateConditionW 0 <- L\"NOT Installed\"\n\
            0024:trace:msi:ACTION_LaunchConditions Checking launch conditions\n\
            0024:trace:msi:MSI_EvaluateConditionW 1 <- L\"VersionNT64\"\n\
            0024:trace:msi:MSI_EvaluateConditionW 0 <- L\"NOT BLOCK OR X = \\\"a\\\\b\\00e9\\\"\"\n\
            0024:err:msi:ITERATE_Actions Execution halted, action L\"LaunchConditions\" returned 1603\n";
        assert_eq!(
            false_launch_condition(trace).as_deref(),
            Some("NOT BLOCK OR X = \"a\\b\u{e9}\"")
        );
    }
}
