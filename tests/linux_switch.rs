//! End to end through the Linux packages: installed in a throwaway Debian
//! root with the Switch and certificate settings as `sudo VAR=... dpkg -i`
//! (or `rpm -i`) passes them, then the installed agent run from that root
//! (`chroot ROOT /usr/bin/outpost-agent run`, as systemd would start it)
//! registers with the test Switch over mutual TLS and answers `inventory`.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use outpost_test_switch::{ClientAuth, Pki, SwitchConfig, TestSwitch, Validity};
use outpost_tests::chroot::Root;
use outpost_tests::*;
use serde_json::json;

/// The installed agent, running inside the root until dropped (SIGTERM:
/// `chroot` and `env` exec, so the child is the agent itself).
struct Running(Child);

impl Running {
    fn start(root: &Root) -> Running {
        let child = tool("chroot")
            .arg(root.path())
            .args([
                "/usr/bin/env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "/usr/bin/outpost-agent",
                "run",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Running(child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        terminate(&mut self.0, Duration::from_secs(15));
    }
}

fn required_switch(dir: &std::path::Path) -> (Pki, TestSwitch) {
    let pki = Pki::new(dir);
    let mut cfg = SwitchConfig::new(&pki);
    cfg.client_auth = ClientAuth::Required;
    let switch = TestSwitch::start(cfg);
    (pki, switch)
}

/// Registers, answers inventory from the installed layout, and `status` in
/// the root says connected with the certificate's subject.
fn check_session(root: &Root, switch: &TestSwitch, cn: &str, log: impl Fn() -> String) {
    let devices = switch
        .wait_registered(1, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n--- events\n{:#?}\n--- agent log\n{}", switch.events(), log()));
    let d = &devices[0];
    assert_eq!(d.client_subject.as_deref(), Some(format!("CN={cn}").as_str()));
    let inv = switch
        .request(&d.id, "inventory", json!({}), Duration::from_secs(15))
        .unwrap();
    assert_eq!(inv["ok"], true, "{inv}");
    let data = &inv["data"];
    assert_eq!(data["disk"]["data"]["path"], "/var/lib/outpost");
    assert_eq!(data["disk"]["temporary"]["path"], "/var/tmp/outpost");
    assert_eq!(data["os"]["name"], "Debian GNU/Linux", "the root's os-release");
    assert_eq!(data["features"]["enabled"], json!(["client", "platform"]));
    let kept = root.read("/var/lib/outpost/device-id").unwrap();
    assert_eq!(kept.trim(), d.id);
    let settings = switch.request(&d.id, "settings", json!({}), Duration::from_secs(15)).unwrap();
    let list = settings["data"]["settings"].as_array().unwrap();
    let switch_setting = list.iter().find(|s| s["name"] == "Switch").unwrap();
    assert_eq!(switch_setting["source"], "answers", "{switch_setting}");
    // The status file follows the link within a moment of each change.
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let status = root.exec(&[], &["/usr/bin/outpost-agent", "status"]);
        let shown = text(&status);
        if status.status.success() && shown.contains("connected since") || Instant::now() > deadline {
            break shown;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_contains(&shown, "connected since");
    assert_contains(&shown, &format!("client certificate: CN={cn}"));
}

#[test]
fn the_deb_installed_with_answers_connects_with_a_pkcs12_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, switch) = required_switch(dir.path());
    let root = Root::new();
    root.put(&pki.ca_path(), "/etc/ssl/corp/ca.pem");
    let id = pki.client_identity("deb-device", Validity::Current);
    id.write_cert(dir.path().join("c.pem"));
    id.write_key(dir.path().join("k.pem"));
    ok(tool("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:p12 pass;$(id)"])
        .arg("-in")
        .arg(dir.path().join("c.pem"))
        .arg("-inkey")
        .arg(dir.path().join("k.pem"))
        .arg("-out")
        .arg(root.host("/etc/ssl/corp/device.p12")));
    let deb = root.put(&artifact(&dist(), "deb").path, "/tmp/outpost.deb");
    let port = switch.addr().port().to_string();
    let env = [
        ("OUTPOST_SWITCH", format!("127.0.0.1:{port}")),
        ("OUTPOST_TRUSTEDCAFILE", "/etc/ssl/corp/ca.pem".into()),
        ("OUTPOST_CLIENTCERTIFICATE", "/etc/ssl/corp/device.p12".into()),
        ("OUTPOST_CLIENTCERTIFICATEPASSWORD", "p12 pass;$(id)".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = root.exec(&env, &["dpkg", "-i", &deb]);
    assert!(out.status.success(), "dpkg -i:\n{}", text(&out));
    let answers = root.read("/etc/outpost/installer.conf").unwrap();
    assert_contains(&answers, "ClientCertificatePassword=p12 pass;$(id)");
    let _agent = Running::start(&root);
    check_session(&root, &switch, "deb-device", || {
        root.read("/var/log/outpost/outpost.log").unwrap_or_default()
    });
    // The password works from the answers file and never shows.
    let shown = text(&root.exec(&[], &["/usr/bin/outpost-agent", "config", "show"]));
    assert!(!shown.contains("p12 pass"), "{shown}");
}

#[test]
fn the_rpm_installed_with_answers_connects_with_a_pem_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, switch) = required_switch(dir.path());
    let root = Root::new();
    // debootstrap's minbase has no /etc/hosts; every installed system does.
    root.write("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n");
    ok(tool("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["--dbpath", "/var/lib/rpm", "--initdb"]));
    root.put(&pki.ca_path(), "/etc/pki/corp/ca.pem");
    pki.client_identity("rpm-device", Validity::Current)
        .write_pem_bundle(root.host("/etc/pki/corp/device.pem"));
    let rpm = root.put(&artifact(&dist(), "rpm").path, "/tmp/outpost.rpm");
    // Debian's rpm with its own database inside the root (as linux_install.rs).
    let out = run(tool("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["--dbpath", "/var/lib/rpm", "--force-debian", "--nodeps", "-i"])
        .arg(root.host(&rpm))
        .env("OUTPOST_SWITCH", format!("localhost:{}", switch.addr().port()))
        .env("OUTPOST_TRUSTEDCAFILE", "/etc/pki/corp/ca.pem")
        .env("OUTPOST_CLIENTCERTIFICATE", "/etc/pki/corp/device.pem")
        .env("OUTPOST_HEARTBEATINTERVALSECONDS", "15"));
    assert!(out.status.success(), "rpm -i:\n{}", text(&out));
    let _agent = Running::start(&root);
    check_session(&root, &switch, "rpm-device", || {
        root.read("/var/log/outpost/outpost.log").unwrap_or_default()
    });
}
