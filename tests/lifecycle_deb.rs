//! Debian lifecycle through apt, from the signed repository that
//! `omnipack publish` writes, in a throwaway debootstrap root per scenario.

use outpost_test_tools::tool;
use outpost_tests::chroot::Root;
use outpost_tests::fixtures::{self, CURRENT, PREVIOUS};
use outpost_tests::scenario::Scenario;

const KEYRING: &str = "/etc/apt/keyrings/outpost-archive-keyring.asc";

/// What dpkg, apt and the chroot itself change; everything else must come
/// back exactly as it was after a purge.
const VOLATILE: &[&str] = &[
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/cache",
    "/var/log",
    "/tmp",
    "/var/tmp",
    "/run",
    "/var/lib/systemd/deb-systemd-helper-masked",
];

/// A root with the repository as an apt source: deb822, `Signed-By:` the
/// armoured key, the Debian mirror removed so nothing comes from the network.
fn apt_root(name: &'static str) -> Scenario {
    apt_root_in(name, Root::new())
}

fn apt_root_in(name: &'static str, root: Root) -> Scenario {
    let repo = fixtures::repo();
    copy_dir(&repo, &root.host("/srv/repo"));
    let _ = std::fs::remove_file(root.host("/etc/apt/sources.list"));
    let _ = std::fs::remove_dir_all(root.host("/etc/apt/sources.list.d"));
    root.put(&repo.join("outpost-archive-keyring.asc"), KEYRING);
    root.write(
        "/etc/apt/sources.list.d/outpost.sources",
        &format!("Types: deb\nURIs: file:///srv/repo/deb\nSuites: stable\nComponents: main\nSigned-By: {KEYRING}\n"),
    );
    let s = Scenario::new(name, root);
    s.step("apt-get update");
    // buster's apt 1.8 has no --error-on; its warnings are checked below.
    let update: &[&str] = if s.root.release().0 == "buster" {
        &["apt-get", "-q", "update"]
    } else {
        &["apt-get", "-q", "--error-on=any", "update"]
    };
    let out = s.ok(s.root.exec(&[], update), &update.join(" "));
    if let Some(l) = out
        .lines()
        .find(|l| l.starts_with("W:") || l.starts_with("E:") || l.starts_with("Err:"))
    {
        s.fail(format!("apt-get update: `{l}`"));
    }
    s
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let st = tool("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

fn apt(s: &Scenario, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut a = vec!["apt-get", "-y", "-q"];
    a.extend_from_slice(args);
    s.root.exec(env, &a)
}

/// `dpkg-query` status and version of `pkg`, empty when dpkg never heard of it.
fn status(s: &Scenario, pkg: &str) -> String {
    let out = s.root.exec(&[], &["dpkg-query", "-W", "-f", "${Status} ${Version}", pkg]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The installed product: files, owners, modes and dpkg's own verification.
fn check_installed(s: &Scenario, version: &str) {
    if status(s, "outpost") != format!("install ok installed {version}") {
        s.fail(format!(
            "dpkg status of outpost is `{}`, expected installed {version}",
            status(s, "outpost")
        ));
    }
    s.file("/usr/bin/outpost-agent", 0o755);
    s.file("/usr/share/outpost/defaults.conf", 0o644);
    s.file("/etc/outpost/outpost.conf", 0o644);
    s.file("/lib/systemd/system/outpost.service", 0o644);
    s.file("/var/lib/outpost", 0o755);
    s.file("/var/log/outpost", 0o755);
    s.file("/etc/systemd/system/multi-user.target.wants/outpost.service", 0o777);
    s.absent("/var/lib/outpost/installer-answers.pending");
    let verify = s.root.exec(&[], &["dpkg", "-V", "outpost"]);
    let out = s.ok(verify, "dpkg -V outpost");
    // Only the administrator's conffile may differ from the package.
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        if !line.ends_with(" c /etc/outpost/outpost.conf") {
            s.fail(format!("dpkg -V reports `{line}`"));
        }
    }
}

#[test]
fn fresh_install_with_defaults() {
    let s = apt_root("deb fresh install, defaults");
    let before = s.snapshot(VOLATILE);
    s.step("apt-get install outpost");
    let out = s.ok(apt(&s, &[], &["install", "outpost"]), "apt-get install outpost");
    s.has(&out, &format!("outpost ({CURRENT})"), "apt picks the newest version");
    check_installed(&s, CURRENT);
    s.absent("/etc/outpost/installer.conf");
    s.setting("Switch", "switch.outpost.example:443", "defaults");
    s.setting("Module.Platform.Enabled", "true", "defaults");
    s.setting("LogLevel", "info", "defaults");

    s.step("apt-get remove outpost");
    s.ok(apt(&s, &[], &["remove", "outpost"]), "apt-get remove");
    s.absent("/lib/systemd/system/outpost.service");
    s.absent("/usr/bin/outpost-agent");
    s.file("/etc/outpost/outpost.conf", 0o644);
    if !status(&s, "outpost").starts_with("deinstall ok config-files") {
        s.fail(format!("after remove dpkg says `{}`", status(&s, "outpost")));
    }

    s.step("apt-get purge outpost");
    s.ok(apt(&s, &[], &["purge", "outpost"]), "apt-get purge");
    for p in [
        "/etc/outpost",
        "/var/lib/outpost",
        "/var/log/outpost",
        "/usr/share/outpost",
        "/usr/share/doc/outpost",
        "/etc/logrotate.d/outpost",
    ] {
        s.absent(p);
    }
    s.absent("/etc/systemd/system/multi-user.target.wants/outpost.service");
    let after = s.snapshot(VOLATILE);
    s.same_as(&before, &after);
}

#[test]
fn fresh_install_with_environment_and_staged_answers() {
    let s = apt_root("deb fresh install, env + staged answers");
    s.root.write(
        "/etc/outpost/install-answers.conf",
        "[Settings]\nSwitch=staged.corp.example:443\nLogLevel=warn\n",
    );
    s.step("OUTPOST_LOGLEVEL=debug apt-get install outpost");
    s.ok(
        apt(
            &s,
            &[("OUTPOST_LOGLEVEL", "debug"), ("OUTPOST_DEFAULTSTAGGERRANGESECONDS", "30")],
            &["install", "outpost"],
        ),
        "apt-get install",
    );
    check_installed(&s, CURRENT);
    s.file("/etc/outpost/installer.conf", 0o644);
    s.setting("Switch", "staged.corp.example:443", "answers");
    s.setting("LogLevel", "debug", "answers");
    s.setting("DefaultStaggerRangeSeconds", "30", "answers");
    s.setting(
        "BackgroundChannelUrl",
        "https://switch.outpost.example/Background/",
        "defaults",
    );
}

fn over_legacy(name: &'static str, legacy: &str, legacy_version: &str, unit: &str, legacy_conf: Option<(&str, &str)>) {
    let s = apt_root(name);
    s.step(&format!("apt-get install {legacy}"));
    s.ok(apt(&s, &[], &["install", legacy]), "installing the legacy client");
    if status(&s, legacy) != format!("install ok installed {legacy_version}") {
        s.fail(format!("legacy status `{}`", status(&s, legacy)));
    }
    s.file(&format!("/lib/systemd/system/{unit}"), 0o644);
    if let Some((conf, line)) = legacy_conf {
        // The administrator had configured the legacy client.
        let text = s.root.read(conf).unwrap_or_else(|| s.fail(format!("file {conf}: missing")));
        s.root.write(conf, &format!("{text}\n{line}\n"));
    }

    s.step("apt-get install outpost over the legacy client");
    let out = s.ok(apt(&s, &[], &["install", "outpost"]), "apt-get install outpost");
    s.has(
        &out,
        &format!("The following packages will be REMOVED:\n  {legacy}\n"),
        "apt announces the legacy removal",
    );
    let status = status(&s, legacy);
    if !(status.is_empty() || status.starts_with("deinstall ok config-files")) {
        s.fail(format!("legacy package still installed: `{status}`"));
    }
    s.absent(&format!("/lib/systemd/system/{unit}"));
    s.absent(&format!("/etc/systemd/system/multi-user.target.wants/{unit}"));
    s.absent(&format!("/usr/bin/{legacy}"));
    check_installed(&s, CURRENT);
    match legacy_conf {
        Some(_) => s.setting("Switch", "legacy.corp.example:8443", "answers"),
        None => s.setting("Switch", "switch.outpost.example:443", "defaults"),
    }
}

#[test]
fn install_over_legacy_platform_agent() {
    over_legacy(
        "deb over legacy platform agent",
        "outpost-platform-agent",
        "2.5.0-1",
        "outpost-platform-agent.service",
        Some(("/etc/outpost-platform/agent.conf", "SwitchAddress=legacy.corp.example:8443")),
    );
}

#[test]
fn install_over_legacy_wakeup_agent() {
    over_legacy(
        "deb over legacy wake-up agent",
        "outpost-wakeup",
        "1.4.0-1",
        "outpost-wakeup.service",
        None,
    );
}

#[test]
fn upgrade_keeps_the_administrators_edit_and_answers() {
    let s = apt_root("deb upgrade with an edited config");
    s.step(&format!("apt-get install outpost={PREVIOUS}"));
    s.ok(
        apt(
            &s,
            &[("OUTPOST_SWITCH", "answered.corp.example:443")],
            &["install", &format!("outpost={PREVIOUS}")],
        ),
        "installing the previous release",
    );
    check_installed(&s, PREVIOUS);
    let conf = s.root.read("/etc/outpost/outpost.conf").unwrap();
    s.root.write("/etc/outpost/outpost.conf", &format!("{conf}LogLevel=warn\n"));

    s.step("apt-get install outpost (upgrade, no new answers, stdin closed)");
    // No --force-conf* options: the shipped template did not change, so
    // dpkg must not prompt (a prompt would fail on the closed stdin).
    let out = s.ok(apt(&s, &[], &["install", "outpost"]), "upgrade");
    s.has(
        &out,
        &format!("Unpacking outpost ({CURRENT}) over ({PREVIOUS})"),
        "dpkg upgrade line",
    );
    check_installed(&s, CURRENT);
    s.contains("/etc/outpost/outpost.conf", "\nLogLevel=warn\n");
    for leftover in [".dpkg-dist", ".dpkg-old", ".dpkg-new"] {
        s.absent(&format!("/etc/outpost/outpost.conf{leftover}"));
    }
    s.setting("LogLevel", "warn", "admin");
    s.setting("Switch", "answered.corp.example:443", "answers");

    s.step("upgrade with a new answer in the environment");
    s.ok(
        apt(
            &s,
            &[("OUTPOST_DEFAULTSTAGGERRANGESECONDS", "900")],
            &["install", "--reinstall", "outpost"],
        ),
        "reinstall with an answer",
    );
    s.setting("DefaultStaggerRangeSeconds", "900", "answers");
    s.setting("Switch", "answered.corp.example:443", "answers");
}

#[test]
fn downgrade_is_refused() {
    let s = apt_root("deb downgrade");
    s.step("apt-get install outpost");
    s.ok(apt(&s, &[], &["install", "outpost"]), "install");
    s.step(&format!("apt-get install outpost={PREVIOUS}"));
    let out = s.refused(
        apt(&s, &[], &["install", &format!("outpost={PREVIOUS}")]),
        "apt downgrade without --allow-downgrades",
    );
    s.has(&out, "downgraded", "apt's refusal");
    s.step("apt-get install --allow-downgrades");
    let out = s.refused(
        apt(&s, &[], &["install", "--allow-downgrades", &format!("outpost={PREVIOUS}")]),
        "downgrade",
    );
    s.has(
        &out,
        &format!("refusing to downgrade from {CURRENT} to {PREVIOUS}"),
        "preinst message",
    );
    s.has(&out, "OUTPOST_ALLOW_DOWNGRADE=1", "how to force it");
    check_installed(&s, CURRENT);
    s.step("OUTPOST_ALLOW_DOWNGRADE=1");
    s.ok(
        apt(
            &s,
            &[("OUTPOST_ALLOW_DOWNGRADE", "1")],
            &["install", "--allow-downgrades", &format!("outpost={PREVIOUS}")],
        ),
        "forced downgrade",
    );
    check_installed(&s, PREVIOUS);
}

#[test]
fn bad_answer_leaves_the_system_as_it_was() {
    let s = apt_root("deb bad answer");
    let before = s.snapshot(VOLATILE);
    s.step("OUTPOST_SWITCH=no-port apt-get install outpost");
    let out = s.refused(
        apt(&s, &[("OUTPOST_SWITCH", "no-port")], &["install", "outpost"]),
        "install with a bad value",
    );
    s.has(
        &out,
        "environment variable OUTPOST_SWITCH: Switch: `no-port` is not host:port",
        "message",
    );
    s.same_as(&before, &s.snapshot(VOLATILE));
    // Every row of the probe table through apt.
    outpost_tests::probes::refuse_all(
        &s,
        outpost_tests::probes::unix("/etc/outpost/install-answers.conf", "/var/lib/outpost", true),
        ("/etc/outpost/install-answers.conf", "/var/lib/outpost"),
        VOLATILE,
        &|env| apt(&s, env, &["install", "outpost"]),
        &|| status(&s, "outpost").starts_with("install ok installed"),
    );
}

#[test]
fn altered_repository_is_refused() {
    for file in ["InRelease", "Release.gpg"] {
        let s = apt_root("deb altered repository");
        s.step(&format!("alter dists/stable/{file}"));
        let _ = std::fs::remove_file(s.root.host(if file == "InRelease" {
            "/srv/repo/deb/dists/stable/Release.gpg"
        } else {
            "/srv/repo/deb/dists/stable/InRelease"
        }));
        let path = s.root.host(&format!("/srv/repo/deb/dists/stable/{file}"));
        let text = std::fs::read_to_string(&path).unwrap();
        let altered = if file == "InRelease" {
            text.replacen("Suite: stable", "Suite: stab1e", 1)
        } else {
            text
        };
        std::fs::write(&path, altered).unwrap();
        if file == "Release.gpg" {
            // Alter the signed file instead of the signature.
            let rel = s.root.host("/srv/repo/deb/dists/stable/Release");
            let r = std::fs::read_to_string(&rel).unwrap();
            std::fs::write(&rel, r.replacen("Suite: stable", "Suite: stab1e", 1)).unwrap();
        }
        let _ = std::fs::remove_dir_all(s.root.host("/var/lib/apt/lists"));
        std::fs::create_dir_all(s.root.host("/var/lib/apt/lists/partial")).unwrap();
        s.step("apt-get --error-on=any update");
        let out = s.refused(
            s.root.exec(&[], &["apt-get", "-q", "--error-on=any", "update"]),
            "update from an altered repository",
        );
        s.has(&out, "signature", "apt names the signature problem");
    }
}

/// Issue 14's must-show: the oldest Debian root debootstrap reaches here
/// (`scripts/prepare-chroot oldest`: buster, else bullseye) installs the deb
/// with apt from the signed repository, and the agent (linked against glibc
/// 2.17) runs there.
#[test]
fn oldest_debian_installs_from_the_signed_repository_and_runs_the_agent() {
    let root = Root::oldest();
    let (codename, version) = root.release();
    assert!(
        ["buster", "bullseye"].contains(&codename.as_str()),
        "the oldest root is `{codename}` {version}, expected buster or bullseye"
    );
    let libc = String::from_utf8_lossy(&root.exec(&[], &["dpkg-query", "-W", "-f", "${Version}", "libc6"]).stdout).into_owned();
    eprintln!("oldest Debian root: {codename} ({version}), libc6 {libc}");
    let s = apt_root_in("deb on the oldest Debian root", root);
    // The answers pre-check runs on this release's dash, mawk, grep and iconv:
    // a bad staged file is refused, a good one and a variable are applied.
    s.root
        .write("/etc/outpost/install-answers.conf", "[Settings]\nSwich=a.example:443\n");
    s.step(&format!("apt-get install outpost on {codename}, a bad staged answer"));
    let out = s.refused(apt(&s, &[], &["install", "outpost"]), "apt-get install with `Swich=`");
    s.has(&out, "key `Swich`: unknown setting for linux", "the pre-check's refusal");
    s.root.write(
        "/etc/outpost/install-answers.conf",
        "[Settings]\nSwitch=staged.corp.example:443\n",
    );
    s.step(&format!("OUTPOST_LOGLEVEL=debug apt-get install outpost on {codename}"));
    let out = s.ok(
        apt(&s, &[("OUTPOST_LOGLEVEL", "debug")], &["install", "outpost"]),
        "apt-get install outpost",
    );
    s.has(&out, &format!("outpost ({CURRENT})"), "apt installs the current release");
    check_installed(&s, CURRENT);
    s.setting("Switch", "staged.corp.example:443", "answers");
    s.setting("LogLevel", "debug", "answers");

    s.step(&format!("outpost-agent config show on {codename}"));
    let shown = s.ok(
        s.root.exec(&[], &["outpost-agent", "config", "show"]),
        "outpost-agent config show",
    );
    s.has(&shown, "staged.corp.example:443", "the answered Switch");
    s.setting("Module.Platform.Enabled", "true", "defaults");

    s.step(&format!("apt-get purge outpost on {codename}"));
    s.ok(apt(&s, &[], &["purge", "outpost"]), "apt-get purge");
    s.absent("/usr/bin/outpost-agent");
    s.absent("/etc/systemd/system/multi-user.target.wants/outpost.service");
}

/// init-system-helpers is Essential and no longer a declared dependency: the
/// scripts use its commands only when they are there, so a root without
/// deb-systemd-helper and deb-systemd-invoke installs, removes and purges.
#[test]
fn installs_and_purges_without_the_systemd_helpers() {
    let s = apt_root("deb without deb-systemd-helper");
    for helper in ["/usr/bin/deb-systemd-helper", "/usr/bin/deb-systemd-invoke"] {
        std::fs::rename(s.root.host(helper), s.root.host(&format!("{helper}.away"))).unwrap();
    }
    s.step("apt-get install outpost");
    s.ok(apt(&s, &[], &["install", "outpost"]), "apt-get install outpost");
    s.file("/usr/bin/outpost-agent", 0o755);
    s.file("/lib/systemd/system/outpost.service", 0o644);
    s.absent("/etc/systemd/system/multi-user.target.wants/outpost.service");
    s.setting("Switch", "switch.outpost.example:443", "defaults");
    s.step("apt-get remove outpost");
    s.ok(apt(&s, &[], &["remove", "outpost"]), "apt-get remove");
    s.step("apt-get purge outpost");
    s.ok(apt(&s, &[], &["purge", "outpost"]), "apt-get purge");
    s.absent("/etc/outpost");
    s.absent("/var/lib/outpost");
}
