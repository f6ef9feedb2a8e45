//! Install-time settings through the real package managers, in a throwaway
//! Debian root: environment variables (as `sudo VAR=... apt/dnf install`
//! passes them), a staged answer file, and bad values that must refuse the
//! install and leave the root as it was.

use outpost_tests::chroot::Root;
use outpost_tests::*;

enum Pm {
    Dpkg,
    Rpm,
}

impl Pm {
    fn install(&self, root: &Root, env: &[(&str, &str)]) -> std::process::Output {
        match self {
            Pm::Dpkg => {
                let deb = root.put(&artifact(&dist(), "deb").path, "/tmp/outpost.deb");
                root.exec(env, &["dpkg", "-i", &deb])
            }
            Pm::Rpm => {
                let rpm = root.put(&artifact(&dist(), "rpm").path, "/tmp/outpost.rpm");
                // Debian's rpm: its own database inside the root; the minbase
                // root has no rpm-provided /bin/sh or libc, hence --nodeps.
                let mut cmd = tool("rpm");
                cmd.arg("--root")
                    .arg(root.path())
                    .args(["--dbpath", "/var/lib/rpm", "--force-debian", "--nodeps", "-i"])
                    .arg(root.host(&rpm));
                for (k, v) in env {
                    cmd.env(k, v);
                }
                run(&mut cmd)
            }
        }
    }

    /// The install with no answers, under `timeout` (exit 124): a step that
    /// would block forever (reading a FIFO) fails the test instead of hanging it.
    fn install_bounded(&self, root: &Root) -> std::process::Output {
        match self {
            Pm::Dpkg => {
                let deb = root.put(&artifact(&dist(), "deb").path, "/tmp/outpost.deb");
                root.exec(&[], &["timeout", "120", "dpkg", "-i", &deb])
            }
            Pm::Rpm => {
                let rpm = root.put(&artifact(&dist(), "rpm").path, "/tmp/outpost.rpm");
                run(tool("timeout")
                    .args(["120", "rpm", "--root"])
                    .arg(root.path())
                    .args(["--dbpath", "/var/lib/rpm", "--force-debian", "--nodeps", "-i"])
                    .arg(root.host(&rpm)))
            }
        }
    }

    fn installed(&self, root: &Root) -> bool {
        match self {
            Pm::Dpkg => root.exec(&[], &["dpkg-query", "-W", "-f", "${Status}", "outpost"]).stdout == b"install ok installed",
            Pm::Rpm => run(tool("rpm")
                .arg("--root")
                .arg(root.path())
                .args(["--dbpath", "/var/lib/rpm", "-q", "outpost"]))
            .status
            .success(),
        }
    }

    fn fresh_root(&self) -> Root {
        let root = Root::new();
        if let Pm::Rpm = self {
            ok(tool("rpm")
                .arg("--root")
                .arg(root.path())
                .args(["--dbpath", "/var/lib/rpm", "--initdb"]));
        }
        root
    }
}

fn shown(root: &Root, name: &str) -> (String, String) {
    let out = root.exec(&[], &["outpost-agent", "config", "show", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = v["settings"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap();
    (
        s["value"].as_str().unwrap().to_string(),
        s["source"].as_str().unwrap().to_string(),
    )
}

fn defaults_only(pm: Pm) {
    let root = pm.fresh_root();
    let out = pm.install(&root, &[]);
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert!(pm.installed(&root));
    assert!(
        !root.exists("/etc/outpost/installer.conf"),
        "answers written though none were given"
    );
    assert_eq!(
        shown(&root, "Switch"),
        ("switch.outpost.example:443".into(), "defaults".into())
    );
    for p in [
        "/usr/bin/outpost-agent",
        "/etc/outpost/outpost.conf",
        "/usr/lib/systemd/system/outpost.service",
        "/var/lib/outpost",
        "/var/log/outpost",
    ] {
        assert!(root.exists(p), "{p} missing after install");
    }
    assert!(!root.exists("/var/lib/outpost/.fresh-install"), "install marker left behind");
}

fn mode(root: &Root, p: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(root.host(p)).unwrap().permissions().mode() & 0o7777
}

const PASSWORD: &str = "pkcs12-Pass-7f3a";

fn environment_answers(pm: Pm) {
    let root = pm.fresh_root();
    let out = pm.install(
        &root,
        &[
            ("OUTPOST_SWITCH", "sw.corp.example:4443"),
            ("OUTPOST_MODULE_PLATFORM_ENABLED", "0"),
            ("OUTPOST_LOGLEVEL", "DEBUG"),
            ("OUTPOST_TRUSTEDCAFILE", "/etc/outpost/corp-ca.pem"),
            ("OUTPOST_HEARTBEATINTERVALSECONDS", "45"),
            ("OUTPOST_CLIENTCERTIFICATEPASSWORD", PASSWORD),
        ],
    );
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert!(
        !text(&out).contains(PASSWORD),
        "the installer printed the secret:\n{}",
        text(&out)
    );
    let answers = root.read("/etc/outpost/installer.conf").expect("answers file written");
    assert_contains(&answers, "Switch=sw.corp.example:4443\n");
    assert_contains(&answers, "Module.Platform.Enabled=false\n");
    assert_contains(&answers, "LogLevel=debug\n");
    assert_contains(&answers, "TrustedCaFile=/etc/outpost/corp-ca.pem\n");
    assert_contains(&answers, "HeartbeatIntervalSeconds=45\n");
    assert_contains(&answers, &format!("ClientCertificatePassword={PASSWORD}\n"));
    // It holds a secret: root only.
    assert_eq!(mode(&root, "/etc/outpost/installer.conf"), 0o600);
    assert_eq!(shown(&root, "Switch"), ("sw.corp.example:4443".into(), "answers".into()));
    assert_eq!(
        shown(&root, "TrustedCaFile"),
        ("/etc/outpost/corp-ca.pem".into(), "answers".into())
    );
    assert_eq!(
        shown(&root, "ClientCertificatePassword"),
        ("********".into(), "answers".into())
    );
    assert_eq!(shown(&root, "BackgroundChannelUrl").1, "defaults");
    assert_eq!(shown(&root, "ReconnectSpreadSeconds"), ("120".into(), "defaults".into()));
    assert!(!root.exists("/var/lib/outpost/installer-answers.pending"));
}

fn staged_answer_file(pm: Pm) {
    let root = pm.fresh_root();
    root.write(
        "/etc/outpost/install-answers.conf",
        "; staged by the administrator\n[Settings]\nSwitch=staged.example:443\nDefaultStaggerRangeSeconds=600\n",
    );
    // The environment wins over the staged file for the same setting; an
    // empty TrustedCaFile (the system store only) is a valid answer.
    let out = pm.install(
        &root,
        &[("OUTPOST_DEFAULTSTAGGERRANGESECONDS", "60"), ("OUTPOST_TRUSTEDCAFILE", "")],
    );
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert_eq!(shown(&root, "Switch"), ("staged.example:443".into(), "answers".into()));
    assert_eq!(shown(&root, "DefaultStaggerRangeSeconds"), ("60".into(), "answers".into()));
    assert_eq!(shown(&root, "TrustedCaFile"), ("".into(), "answers".into()));
    assert_contains(&root.read("/etc/outpost/installer.conf").unwrap(), "\nTrustedCaFile=\n");
    // No secret in it: readable as before.
    assert_eq!(mode(&root, "/etc/outpost/installer.conf"), 0o644);
    // The administrator's staged file is theirs: left in place.
    assert!(root.exists("/etc/outpost/install-answers.conf"));
}

/// A legacy client's settings file (its package is installed by the
/// lifecycle tests; here only the file it leaves behind matters).
fn legacy_settings_are_carried_over(pm: Pm) {
    let root = pm.fresh_root();
    root.write("/etc/outpost-platform/agent.conf", "# legacy platform agent\nSwitchAddress = legacy.corp.example:8443\nBackgroundUrl=https://legacy.corp.example/bg/\r\nOther=1\n");
    // An explicit answer beats the legacy value.
    let out = pm.install(&root, &[("OUTPOST_BACKGROUNDCHANNELURL", "https://new.corp.example/bg/")]);
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert_eq!(shown(&root, "Switch"), ("legacy.corp.example:8443".into(), "answers".into()));
    assert_eq!(
        shown(&root, "BackgroundChannelUrl"),
        ("https://new.corp.example/bg/".into(), "answers".into())
    );
    // A bad legacy value refuses the install and names where it came from.
    let root = pm.fresh_root();
    root.write("/etc/outpost-platform/agent.conf", "SwitchAddress=legacy-without-port\n");
    let out = pm.install(&root, &[]);
    assert!(!out.status.success());
    assert_contains(
        &text(&out),
        "/etc/outpost-platform/agent.conf (legacy SwitchAddress): Switch: `legacy-without-port` is not host:port",
    );
}

fn bad_values_refuse_the_install(pm: Pm) {
    let root = pm.fresh_root();
    let out = pm.install(
        &root,
        &[
            ("OUTPOST_SWITCH", "no-port"),
            ("OUTPOST_MODULE_PLATFORM_ENABLED", "maybe"),
            ("OUTPOST_TRUSTEDCAFILE", "relative"),
            ("OUTPOST_CLIENTCERTIFICATEPASSWORD", PASSWORD),
            // A newline must not smuggle a second setting into installer.conf.
            ("OUTPOST_TEMPORARYDIRECTORY", "/tmp\nLogFile=/etc/cron.d/evil"),
            ("OUTPOST_BACKGROUNDCHANNELURL", "https://a.example/\rSwitch=evil.example:443"),
        ],
    );
    assert!(!out.status.success(), "install with bad values succeeded");
    let t = text(&out);
    assert_contains(&t, "environment variable OUTPOST_SWITCH: Switch: `no-port` is not host:port");
    assert_contains(&t, "environment variable OUTPOST_MODULE_PLATFORM_ENABLED: Module.Platform.Enabled: `maybe` is not a boolean; allowed: true, false, 1, 0");
    assert_contains(
        &t,
        "environment variable OUTPOST_TRUSTEDCAFILE: TrustedCaFile: `relative` is not an absolute linux path (or empty)",
    );
    for var in [
        "OUTPOST_TEMPORARYDIRECTORY: TemporaryDirectory",
        "OUTPOST_BACKGROUNDCHANNELURL: BackgroundChannelUrl",
    ] {
        assert_contains(
            &t,
            &format!("environment variable {var}: a value must be a single line without control characters"),
        );
    }
    assert!(!t.contains("evil"), "the refusal echoed the injected text:\n{t}");
    assert!(!t.contains(PASSWORD), "the refusal printed the secret:\n{t}");
    assert_contains(&t, "installation refused");
    assert!(!pm.installed(&root), "package is installed after a refused install");
    for p in [
        "/etc/outpost",
        "/var/lib/outpost",
        "/usr/bin/outpost-agent",
        "/usr/lib/systemd/system/outpost.service",
    ] {
        assert!(!root.exists(p), "{p} exists after a refused install");
    }

    // A typo in the staged file is refused too, naming file and key.
    let root = pm.fresh_root();
    root.write("/etc/outpost/install-answers.conf", "[Settings]\nSwich=a.example:443\n");
    let out = pm.install(&root, &[]);
    assert!(!out.status.success(), "install with an unknown staged key succeeded");
    assert_contains(
        &text(&out),
        "/etc/outpost/install-answers.conf:2: key `Swich`: unknown setting for linux; allowed: Switch,",
    );
    assert!(!pm.installed(&root));
}

/// The staged answers file is read only as a regular file owned by root:
/// a symbolic link (to /etc/shadow), a FIFO (which used to hang dpkg) and a
/// file owned by another user each refuse the install before anything is
/// unpacked, with one line naming the file and why.
fn unsafe_staged_files_are_refused(pm: Pm) {
    const STAGED: &str = "/etc/outpost/install-answers.conf";
    let cases: [(&str, &dyn Fn(&Root)); 3] = [
        ("is a symbolic link", &|root: &Root| {
            std::fs::create_dir_all(root.host("/etc/outpost")).unwrap();
            std::os::unix::fs::symlink("/etc/shadow", root.host(STAGED)).unwrap();
        }),
        ("is not a regular file", &|root: &Root| {
            std::fs::create_dir_all(root.host("/etc/outpost")).unwrap();
            let c = std::ffi::CString::new(root.host(STAGED).as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
        }),
        ("is not owned by root", &|root: &Root| {
            root.write(STAGED, "[Settings]\nSwitch=planted.example:443\n");
            std::os::unix::fs::chown(root.host(STAGED), Some(1000), Some(1000)).unwrap();
        }),
    ];
    for (why, plant) in cases {
        let root = pm.fresh_root();
        plant(&root);
        let out = pm.install_bounded(&root);
        let t = text(&out);
        assert_ne!(out.status.code(), Some(124), "the install hung on a staged file that {why}");
        assert!(!out.status.success(), "installed although the staged file {why}:\n{t}");
        assert_contains(
            &t,
            &format!("{STAGED}: {why}; stage the answers as a regular file owned by root"),
        );
        assert!(!t.contains("root:"), "the refusal echoed what the link points to:\n{t}");
        assert!(!pm.installed(&root), "package installed although the staged file {why}");
        assert!(
            !root.exists("/etc/outpost/installer.conf"),
            "answers written although the staged file {why}"
        );
        assert!(
            !root.exists("/usr/bin/outpost-agent"),
            "unpacked although the staged file {why}"
        );
    }
}

#[test]
fn dpkg_unsafe_staged_files_are_refused() {
    unsafe_staged_files_are_refused(Pm::Dpkg);
}

#[test]
fn rpm_unsafe_staged_files_are_refused() {
    unsafe_staged_files_are_refused(Pm::Rpm);
}

#[test]
fn dpkg_defaults_only() {
    defaults_only(Pm::Dpkg);
}
#[test]
fn rpm_defaults_only() {
    defaults_only(Pm::Rpm);
}
#[test]
fn dpkg_legacy_settings_are_carried_over() {
    legacy_settings_are_carried_over(Pm::Dpkg);
}
#[test]
fn rpm_legacy_settings_are_carried_over() {
    legacy_settings_are_carried_over(Pm::Rpm);
}
#[test]
fn dpkg_environment_answers() {
    environment_answers(Pm::Dpkg);
}
#[test]
fn dpkg_staged_answer_file() {
    staged_answer_file(Pm::Dpkg);
}
#[test]
fn dpkg_bad_values_refuse_the_install() {
    bad_values_refuse_the_install(Pm::Dpkg);
}
#[test]
fn rpm_environment_answers() {
    environment_answers(Pm::Rpm);
}
#[test]
fn rpm_staged_answer_file() {
    staged_answer_file(Pm::Rpm);
}
#[test]
fn rpm_bad_values_refuse_the_install() {
    bad_values_refuse_the_install(Pm::Rpm);
}

/// What dpkg and rpm themselves change when they refuse a package.
const PM_STATE: &[&str] = &["/var/lib/dpkg", "/var/lib/rpm", "/var/log", "/tmp", "/var/tmp", "/run", "/proc"];

/// Every row of the probe table, in one root: refused before anything is
/// unpacked, with its one line, the root as it was (paths, modes, owners,
/// sizes, modification times), nothing executed, the package not installed.
fn every_probe_is_refused_before_anything_changes(pm: Pm) {
    let s = outpost_tests::scenario::Scenario::new("probe table", pm.fresh_root());
    outpost_tests::probes::refuse_all(
        &s,
        outpost_tests::probes::unix("/etc/outpost/install-answers.conf", "/var/lib/outpost", true),
        ("/etc/outpost/install-answers.conf", "/var/lib/outpost"),
        PM_STATE,
        &|env| pm.install(&s.root, env),
        &|| pm.installed(&s.root),
    );
}

#[test]
fn dpkg_refuses_every_probe_before_anything_changes() {
    every_probe_is_refused_before_anything_changes(Pm::Dpkg);
}

#[test]
fn rpm_refuses_every_probe_before_anything_changes() {
    every_probe_is_refused_before_anything_changes(Pm::Rpm);
}
