//! Self-validation (issue 13 item 7): `outpost-agent verify` against the
//! package's own list, in an installed Debian root and under Wine after the
//! x64 MSI: an untouched install passes, one changed byte fails naming the
//! file, and the service's start check is in `status`.

use std::process::Output;
use std::time::{Duration, Instant};

use outpost_tests::chroot::Root;
use outpost_tests::wine::Prefix;
use outpost_tests::*;

/// Flips the last byte of a host file: the smallest change verify must see.
fn flip_last_byte(host: &std::path::Path) {
    let mut data = std::fs::read(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
    *data.last_mut().expect("a non-empty file") ^= 0x01;
    std::fs::write(host, data).unwrap();
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn verify_in_an_installed_debian_root() {
    let root = Root::new();
    let deb = root.put(&artifact(&dist(), "deb").path, "/tmp/outpost.deb");
    let out = root.exec(&[], &["timeout", "120", "dpkg", "-i", &deb]);
    assert!(out.status.success(), "dpkg -i:\n{}", text(&out));
    let verify = || root.exec(&[], &["timeout", "60", "outpost-agent", "verify"]);

    let out = verify();
    assert_eq!(code(&out), Some(0), "untouched install:\n{}", text(&out));
    assert_contains(&text(&out), "all match /usr/share/outpost/files.sha256");
    // The administrator's file is theirs to edit: not verified.
    std::fs::write(root.host("/etc/outpost/outpost.conf"), "LogLevel=debug\n").unwrap();
    assert_eq!(code(&verify()), Some(0), "an edited administrator's file is not a changed program file");

    flip_last_byte(&root.host("/usr/share/outpost/defaults.conf"));
    let out = verify();
    assert_eq!(code(&out), Some(1), "one changed byte:\n{}", text(&out));
    assert_contains(&String::from_utf8_lossy(&out.stdout), "changed: /usr/share/outpost/defaults.conf\n");
    let unit = std::fs::read_dir(root.host("/lib/systemd/system"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("outpost"))
        .expect("the unit where the deb puts it");
    std::fs::remove_file(&unit).unwrap();
    let out = verify();
    assert_eq!(code(&out), Some(1), "{}", text(&out));
    let unit_name = unit.file_name().unwrap().to_string_lossy().into_owned();
    assert_contains(&String::from_utf8_lossy(&out.stdout), &format!("missing: /lib/systemd/system/{unit_name}\n"));

    std::fs::remove_file(root.host("/usr/share/outpost/files.sha256")).unwrap();
    assert_eq!(code(&verify()), Some(2), "no list: cannot verify");
}

const AGENT: &str = "C:\\Program Files\\Outpost\\outpost-agent.exe";

/// The service's start check, from `status --json`, once the service wrote it.
fn start_check(w: &Prefix) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = w.wine(&[AGENT, "status", "--json"], &[]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if !v["last"]["files"].is_null() || Instant::now() > deadline {
            return v["last"]["files"].clone();
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn verify_under_wine_after_the_msi() {
    let w = Prefix::new();
    let msi = dist_windows().join("outpost-2.1.0-x64.msi").display().to_string();
    let r = w.msiexec(&["/i", &msi, "/qn"]);
    assert!(r.ok(), "install exit {}:\n{}\n{}", r.code, r.log, r.stdout_stderr);

    let files = start_check(&w);
    assert_eq!(files["changed"], serde_json::json!([]), "start check: {files}");
    assert_eq!(files["missing"], serde_json::json!([]), "start check: {files}");
    assert!(files["checked"].as_u64().unwrap_or(0) >= 2, "start check: {files}");

    let out = w.wine(&[AGENT, "verify"], &[]);
    assert_eq!(code(&out), Some(0), "untouched install:\n{}", text(&out));

    flip_last_byte(&w.host("C:\\Program Files\\Outpost\\defaults.conf"));
    let out = w.wine(&[AGENT, "verify"], &[]);
    assert_eq!(code(&out), Some(1), "one changed byte:\n{}", text(&out));
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "changed: C:\\Program Files\\Outpost\\defaults.conf",
    );
}
