//! The probe table of issue 11: install-time answers an attacker or a typo
//! would give (newlines that add a setting, a CR, bytes that are not UTF-8,
//! numbers that overflow, bad IPv6 and ports, 100 KB values, sections,
//! duplicates, globs, command substitutions) and a planted state-directory
//! link. Every package manager's test runs each row and expects a refusal
//! before anything changes, with the one line given here.

use crate::chroot::Root;

/// Created by a probe value if anything ever ran it.
pub const EXECUTED: &str = "/probe-was-executed";

pub enum Plant {
    /// Environment variables, as `sudo VAR=... apt install` passes them.
    Env(Vec<(&'static str, String)>),
    /// The staged answers file's bytes.
    Staged(Vec<u8>),
    /// The state directory is a symbolic link to another directory.
    StateLink,
}

pub struct Probe {
    pub name: &'static str,
    pub plant: Plant,
    /// A line of the refusal.
    pub says: String,
}

fn env(name: &'static str, var: &'static str, value: impl Into<String>, says: &str) -> Probe {
    Probe { name, plant: Plant::Env(vec![(var, value.into())]), says: format!("environment variable {var}: {says}") }
}

fn staged(name: &'static str, text: &[u8], says: &str) -> Probe {
    Probe { name, plant: Plant::Staged(text.to_vec()), says: says.to_string() }
}

/// The rows for a Unix package; `staged_path` is where the platform stages
/// answers, `state_dir` its state directory, `env` whether the installer
/// passes the caller's environment (macOS Installer does not).
pub fn unix(staged_path: &str, state_dir: &str, with_env: bool) -> Vec<Probe> {
    let ctl = "a value must be a single line without control characters";
    let mut rows = Vec::new();
    if with_env {
        rows.extend([
            env("newline adds Switch", "OUTPOST_TEMPORARYDIRECTORY", "/tmp\nSwitch=evil.example:443", &format!("TemporaryDirectory: {ctl}")),
            env("newline adds LogFile", "OUTPOST_BACKGROUNDCHANNELURL", "https://a.example/\nLogFile=/etc/passwd", &format!("BackgroundChannelUrl: {ctl}")),
            env("newline in a certificate", "OUTPOST_CLIENTCERTIFICATE", "/etc/c.pem\nLogFile=/etc/cron.d/evil", &format!("ClientCertificate: {ctl}")),
            env("newline after host:port", "OUTPOST_SWITCH", "a:1\nBackgroundChannelUrl=https://evil.example/", &format!("Switch: {ctl}")),
            env("carriage return", "OUTPOST_SWITCH", "a.example:443\r", &format!("Switch: {ctl}")),
            env("integer overflow", "OUTPOST_DEFAULTSTAGGERRANGESECONDS", "99999999999999999999", "DefaultStaggerRangeSeconds: `99999999999999999999` is not an integer; allowed: 0..=86400"),
            env("bad IPv6", "OUTPOST_SWITCH", "[1]:443", "Switch: `[1]:443` is not host:port"),
            env("port out of range", "OUTPOST_BACKGROUNDCHANNELURL", "https://a.example:99999/", "BackgroundChannelUrl: `https://a.example:99999/` is not an https:// URL"),
            env("100 KB value", "OUTPOST_TEMPORARYDIRECTORY", format!("/{}", "t".repeat(100_000)), "TemporaryDirectory: must be at most 1024 bytes"),
            env("command substitution", "OUTPOST_SWITCH", format!("$(touch {EXECUTED}):1"), "Switch: `$(touch /probe-was-executed):1` is not host:port"),
            env("backticks", "OUTPOST_LOGLEVEL", format!("`touch {EXECUTED}`"), "LogLevel: ``touch /probe-was-executed`` is not allowed"),
        ]);
    }
    rows.extend([
        staged("staged: newline-free CR inside a value", b"[Settings]\nSwitch=a\r.example:443\n", &format!("{staged_path}: Switch: {ctl}")),
        staged("staged: not UTF-8", b"[Settings]\nTemporaryDirectory=/tmp/\xff\n", &format!("{staged_path}: not UTF-8 text")),
        staged("staged: a NUL byte", b"[Settings]\nSwitch=a.example:443\x00\n", &format!("{staged_path}: contains a NUL byte")),
        staged("staged: duplicate key", b"[Settings]\nSwitch=a.example:443\nSwitch=b.example:443\n", &format!("{staged_path}:3: key `Switch`: set twice (first on line 2)")),
        staged("staged: another section", b"[Settings]\n[Other]\nSwitch=evil.example:443\n", &format!("{staged_path}:2: unknown section `[Other]`; allowed: [Settings]")),
        staged("staged: a glob key", b"[Settings]\n*=1\n", &format!("{staged_path}:2: key `*`: unknown setting for")),
        staged("staged: integer overflow", b"[Settings]\nDefaultStaggerRangeSeconds=99999999999999999999\n", "DefaultStaggerRangeSeconds: `99999999999999999999` is not an integer"),
        Probe { name: "state directory is a symbolic link", plant: Plant::StateLink, says: format!("installation refused: {state_dir} is a symbolic link; the installer does not write through links") },
    ]);
    rows
}

impl Probe {
    /// Puts the probe's file or link into `root`; returns the environment.
    pub fn plant(&self, root: &Root, staged_path: &str, state_dir: &str) -> Vec<(&'static str, String)> {
        match &self.plant {
            Plant::Env(vars) => vars.clone(),
            Plant::Staged(bytes) => {
                let p = root.host(staged_path);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
                Vec::new()
            }
            Plant::StateLink => {
                let p = root.host(state_dir);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::create_dir_all(root.host("/srv/elsewhere")).unwrap();
                std::os::unix::fs::symlink("/srv/elsewhere", p).unwrap();
                Vec::new()
            }
        }
    }

    /// Removes what `plant` put there, after the root was compared.
    pub fn unplant(&self, root: &Root, staged_path: &str, state_dir: &str) {
        match &self.plant {
            Plant::Env(_) => {}
            Plant::Staged(_) => std::fs::remove_file(root.host(staged_path)).unwrap(),
            Plant::StateLink => {
                std::fs::remove_file(root.host(state_dir)).unwrap();
                std::fs::remove_dir(root.host("/srv/elsewhere")).unwrap();
            }
        }
    }

    /// The refusal says the probe's line, quotes no injected text and at
    /// most ~100 bytes of a value, and nothing ran.
    pub fn check(&self, root: &Root, refusal: &str) -> Result<(), String> {
        if !refusal.contains(&self.says) {
            return Err(format!("{}: the refusal lacks `{}`:\n{}", self.name, self.says, outpost_manifest::clip(refusal)));
        }
        if refusal.contains("evil.example") || refusal.contains("/etc/passwd") || refusal.contains("cron.d") {
            return Err(format!("{}: the refusal echoes the injected setting:\n{refusal}", self.name));
        }
        if refusal.len() > 4000 {
            return Err(format!("{}: a {}-byte refusal", self.name, refusal.len()));
        }
        if root.exists(EXECUTED) {
            return Err(format!("{}: a value was executed", self.name));
        }
        Ok(())
    }
}

/// Runs every row in `s`'s root, one after another (each refusal leaves the
/// root as it was, so one root serves them all): `install` with the row's
/// environment must fail with the row's line, leave the root as it was but
/// for the paths in `volatile`, and leave the package not `installed`.
pub fn refuse_all(
    s: &crate::scenario::Scenario,
    rows: Vec<Probe>,
    (staged_path, state_dir): (&str, &str),
    volatile: &[&str],
    install: &dyn Fn(&[(&str, &str)]) -> std::process::Output,
    installed: &dyn Fn() -> bool,
) {
    let mut failures = Vec::new();
    for probe in rows {
        s.step(probe.name);
        let env = probe.plant(&s.root, staged_path, state_dir);
        let before = s.snapshot(volatile);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = install(&env);
        if out.status.success() {
            failures.push(format!("{}: installed", probe.name));
        } else if let Err(e) = probe.check(&s.root, &crate::text(&out)) {
            failures.push(e);
        } else if installed() {
            failures.push(format!("{}: the package is installed after the refusal", probe.name));
        }
        s.same_as(&before, &s.snapshot(volatile));
        probe.unplant(&s.root, staged_path, state_dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
