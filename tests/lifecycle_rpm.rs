//! RPM lifecycle through dnf `--installroot` with gpgcheck=1 and
//! repo_gpgcheck=1 against the signed yum repository `omnipack publish`
//! writes, and rpm `--root` for queries and verification. Debian's rpm 4.18
//! and dnf 4.14: the closest to RHEL that runs offline here.

use std::path::{Path, PathBuf};
use outpost_test_tools::tool;
use std::process::Output;

use outpost_tests::chroot::Root;
use outpost_tests::fixtures::{self, CURRENT, PREVIOUS};
use outpost_tests::run;
use outpost_tests::scenario::Scenario;

/// The package databases, caches and logs dnf and rpm change by design.
const VOLATILE: &[&str] = &[
    "/root/.rpmdb",
    "/var/lib/rpm",
    "/var/lib/dnf",
    "/var/cache",
    "/var/log",
    "/tmp",
    "/var/tmp",
    "/run",
    "/etc/dnf",
];

struct Dnf {
    s: Scenario,
    _conf_dir: tempfile::TempDir,
    conf: PathBuf,
}

fn dnf_conf(dir: &Path, repo: &Path, base: &Path) -> PathBuf {
    let key = repo.join("outpost-archive-keyring.asc");
    let conf = dir.join("dnf.conf");
    std::fs::write(
        &conf,
        format!(
            "[main]\ngpgcheck=1\nrepo_gpgcheck=1\nreposdir=/nonexistent\ninstall_weak_deps=0\n\n\
             [outpost]\nname=Outpost Client\nbaseurl=file://{}\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{}\n\n\
             [base]\nname=OS stand-in\nbaseurl=file://{}\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://{}\n",
            repo.join("rpm").display(),
            key.display(),
            base.display(),
            key.display()
        ),
    )
    .unwrap();
    conf
}

impl Dnf {
    fn new(name: &'static str) -> Dnf {
        Self::with_repo(name, &fixtures::repo())
    }

    fn with_repo(name: &'static str, repo: &Path) -> Dnf {
        let conf_dir = tempfile::tempdir().unwrap();
        let conf = dnf_conf(conf_dir.path(), repo, &fixtures::base_repo());
        Dnf {
            s: Scenario::new(name, Root::new()),
            _conf_dir: conf_dir,
            conf,
        }
    }

    fn dnf(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let root = self.s.root.path();
        let mut cmd = tool("dnf");
        cmd.env("HOME", "/root")
            .arg("-y")
            .arg("--config")
            .arg(&self.conf)
            .arg("--installroot")
            .arg(root)
            .args(["--releasever", "9"])
            // dnf resolves cachedir inside the installroot.
            .arg("--setopt=cachedir=/var/cache/dnf")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(&mut cmd)
    }

    fn rpm(&self, args: &[&str]) -> Output {
        run(tool("rpm")
            .env("HOME", "/root")
            .arg("--root")
            .arg(self.s.root.path())
            .args(args))
    }

    fn version(&self, pkg: &str) -> Option<String> {
        let out = self.rpm(&["-q", "--qf", "%{VERSION}-%{RELEASE}", pkg]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn check_installed(&self, version: &str) {
        let s = &self.s;
        if self.version("outpost").as_deref() != Some(version) {
            s.fail(format!("rpm -q outpost: {:?}, expected {version}", self.version("outpost")));
        }
        s.file("/usr/bin/outpost-agent", 0o755);
        s.file("/usr/share/outpost/defaults.conf", 0o644);
        s.file("/etc/outpost/outpost.conf", 0o644);
        s.file("/usr/lib/systemd/system/outpost.service", 0o644);
        s.file("/var/lib/outpost", 0o755);
        s.file("/var/log/outpost", 0o755);
        s.absent("/var/lib/outpost/installer-answers.pending");
        s.absent("/var/lib/outpost/.fresh-install");
        // rpm -V: only the administrator's %config may differ; --nodeps
        // because the stand-in base package has no files behind its provides.
        let out = self.rpm(&["-V", "--nodeps", "outpost"]);
        let t = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in t.lines().filter(|l| !l.trim().is_empty()) {
            if !line.ends_with(" c /etc/outpost/outpost.conf") {
                s.fail(format!("rpm -V reports `{line}`"));
            }
        }
    }
}

#[test]
fn fresh_install_with_defaults_then_erase() {
    let d = Dnf::new("rpm fresh install, defaults");
    let s = &d.s;
    let before = s.snapshot(VOLATILE);
    s.step("dnf install outpost");
    let out = s.ok(d.dnf(&[], &["install", "outpost"]), "dnf install outpost");
    s.has(&out, &format!("outpost-{CURRENT}"), "dnf picks the newest version");
    d.check_installed(CURRENT);
    s.absent("/etc/outpost/installer.conf");
    s.setting("Switch", "switch.outpost.example:443", "defaults");

    s.step("dnf remove outpost");
    s.ok(d.dnf(&[], &["remove", "outpost"]), "dnf remove");
    if d.version("outpost").is_some() {
        s.fail("outpost still installed after dnf remove");
    }
    for p in [
        "/etc/outpost",
        "/var/lib/outpost",
        "/var/log/outpost",
        "/usr/share/outpost",
        "/usr/bin/outpost-agent",
        "/usr/lib/systemd/system/outpost.service",
        "/etc/logrotate.d/outpost",
    ] {
        s.absent(p);
    }
    s.same_as(&before, &s.snapshot(VOLATILE));
}

#[test]
fn fresh_install_with_environment_and_staged_answers() {
    let d = Dnf::new("rpm fresh install, env + staged answers");
    let s = &d.s;
    s.root.write(
        "/etc/outpost/install-answers.conf",
        "[Settings]\nSwitch=staged.corp.example:443\nLogLevel=warn\n",
    );
    s.step("OUTPOST_LOGLEVEL=debug dnf install outpost");
    s.ok(
        d.dnf(&[("OUTPOST_LOGLEVEL", "debug")], &["install", "outpost"]),
        "dnf install",
    );
    d.check_installed(CURRENT);
    s.setting("Switch", "staged.corp.example:443", "answers");
    s.setting("LogLevel", "debug", "answers");
    s.setting(
        "BackgroundChannelUrl",
        "https://switch.outpost.example/Background/",
        "defaults",
    );
}

fn over_legacy(name: &'static str, legacy: &str, legacy_version: &str, unit: &str, legacy_conf: Option<(&str, &str)>) {
    let d = Dnf::new(name);
    let s = &d.s;
    // The machine had the legacy client before Outpost existed: without
    // obsoletes, or dnf would pick outpost, which obsoletes and provides it.
    s.step(&format!("dnf install {legacy}-{legacy_version}"));
    s.ok(
        d.dnf(
            &[],
            &["--setopt=obsoletes=False", "install", &format!("{legacy}-{legacy_version}")],
        ),
        "installing the legacy client",
    );
    if d.version(legacy).as_deref() != Some(legacy_version) {
        s.fail(format!("legacy version {:?}", d.version(legacy)));
    }
    s.file(&format!("/usr/lib/systemd/system/{unit}"), 0o644);
    if let Some((conf, line)) = legacy_conf {
        let text = s.root.read(conf).unwrap_or_else(|| s.fail(format!("file {conf}: missing")));
        s.root.write(conf, &format!("{text}\n{line}\n"));
    }
    s.step("dnf install outpost over the legacy client");
    let out = s.ok(d.dnf(&[], &["install", "outpost"]), "dnf install outpost");
    s.has(&out, legacy, "dnf names the obsoleted legacy package");
    if let Some(v) = d.version(legacy) {
        s.fail(format!("legacy {legacy} {v} still installed"));
    }
    s.absent(&format!("/usr/lib/systemd/system/{unit}"));
    s.absent(&format!("/usr/bin/{legacy}"));
    d.check_installed(CURRENT);
    match legacy_conf {
        Some(_) => s.setting("Switch", "legacy.corp.example:8443", "answers"),
        None => s.setting("Switch", "switch.outpost.example:443", "defaults"),
    }
}

#[test]
fn install_over_legacy_platform_agent() {
    over_legacy(
        "rpm over legacy platform agent",
        "outpost-platform-agent",
        "2.5.0-1",
        "outpost-platform-agent.service",
        Some(("/etc/outpost-platform/agent.conf", "SwitchAddress=legacy.corp.example:8443")),
    );
}

#[test]
fn install_over_legacy_wakeup_agent() {
    over_legacy(
        "rpm over legacy wake-up agent",
        "outpost-wakeup",
        "1.4.0-1",
        "outpost-wakeup.service",
        None,
    );
}

#[test]
fn upgrade_keeps_the_administrators_edit_then_erase_saves_it() {
    let d = Dnf::new("rpm upgrade with an edited config");
    let s = &d.s;
    s.step(&format!("dnf install outpost-{PREVIOUS}"));
    s.ok(
        d.dnf(
            &[("OUTPOST_SWITCH", "answered.corp.example:443")],
            &["install", &format!("outpost-{PREVIOUS}")],
        ),
        "installing the previous release",
    );
    d.check_installed(PREVIOUS);
    let conf = s.root.read("/etc/outpost/outpost.conf").unwrap();
    s.root.write("/etc/outpost/outpost.conf", &format!("{conf}LogLevel=warn\n"));

    s.step("dnf upgrade outpost");
    s.ok(d.dnf(&[], &["upgrade", "outpost"]), "dnf upgrade");
    d.check_installed(CURRENT);
    s.contains("/etc/outpost/outpost.conf", "\nLogLevel=warn\n");
    // The shipped template did not change, so rpm keeps the edit in place
    // and writes no .rpmnew.
    s.absent("/etc/outpost/outpost.conf.rpmnew");
    s.absent("/etc/outpost/outpost.conf.rpmsave");
    s.setting("LogLevel", "warn", "admin");
    s.setting("Switch", "answered.corp.example:443", "answers");

    s.step("dnf remove outpost");
    s.ok(d.dnf(&[], &["remove", "outpost"]), "dnf remove");
    // rpm's rule for an edited %config(noreplace): kept as .rpmsave.
    s.contains("/etc/outpost/outpost.conf.rpmsave", "\nLogLevel=warn\n");
    s.absent("/etc/outpost/outpost.conf");
    s.absent("/etc/outpost/installer.conf");
    s.absent("/var/lib/outpost");
}

#[test]
fn downgrade_is_refused() {
    let d = Dnf::new("rpm downgrade");
    let s = &d.s;
    s.step("dnf install outpost");
    s.ok(d.dnf(&[], &["install", "outpost"]), "install");
    s.step("dnf downgrade outpost");
    let out = s.refused(d.dnf(&[], &["downgrade", "outpost"]), "dnf downgrade");
    s.has(
        &out,
        &format!("refusing to downgrade from {CURRENT} to {PREVIOUS}"),
        "%pre message",
    );
    d.check_installed(CURRENT);
    s.step("OUTPOST_ALLOW_DOWNGRADE=1 dnf downgrade outpost");
    s.ok(
        d.dnf(&[("OUTPOST_ALLOW_DOWNGRADE", "1")], &["downgrade", "outpost"]),
        "forced downgrade",
    );
    d.check_installed(PREVIOUS);
}

#[test]
fn bad_answer_leaves_the_system_as_it_was() {
    let d = Dnf::new("rpm bad answer");
    let s = &d.s;
    s.step("dnf makecache");
    s.ok(d.dnf(&[], &["makecache"]), "dnf makecache");
    let before = s.snapshot(VOLATILE);
    s.step("OUTPOST_SWITCH=no-port dnf install outpost");
    let out = s.refused(
        d.dnf(&[("OUTPOST_SWITCH", "no-port")], &["install", "outpost"]),
        "install with a bad value",
    );
    s.has(
        &out,
        "environment variable OUTPOST_SWITCH: Switch: `no-port` is not host:port",
        "message",
    );
    if d.version("outpost").is_some() {
        s.fail("outpost is installed after a refused install");
    }
    s.same_as(&before, &s.snapshot(VOLATILE));
    // Every row of the probe table through dnf.
    outpost_tests::probes::refuse_all(
        s,
        outpost_tests::probes::unix("/etc/outpost/install-answers.conf", "/var/lib/outpost", true),
        ("/etc/outpost/install-answers.conf", "/var/lib/outpost"),
        VOLATILE,
        &|env| d.dnf(env, &["install", "outpost"]),
        &|| d.version("outpost").is_some(),
    );
}

#[test]
fn altered_repository_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    assert!(tool("cp")
        .arg("-a")
        .arg(fixtures::repo())
        .arg(&repo)
        .status()
        .unwrap()
        .success());
    let repomd = repo.join("rpm/repodata/repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, text.replacen("<revision>", "<revision>1", 1)).unwrap();
    let d = Dnf::with_repo("rpm altered repository", &repo);
    let s = &d.s;
    s.step("dnf install outpost from an altered repository");
    let out = s.refused(d.dnf(&[], &["install", "outpost"]), "install from an altered repository");
    s.has(&out.to_lowercase(), "signature", "dnf names the signature problem");
    if d.version("outpost").is_some() {
        s.fail("installed from an altered repository");
    }
}
