//! The agent started from the installed layout: an extracted package root.

use std::process::Stdio;
use std::time::{Duration, Instant};

use outpost_tests::*;

fn extracted_deb() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    ok(tool("dpkg-deb").arg("-x").arg(artifact(&dist(), "deb").path).arg(root.path()));
    root
}

fn show(root: &std::path::Path) -> serde_json::Value {
    let out = ok(tool(root.join("usr/bin/outpost-agent"))
        .arg("--root")
        .arg(root)
        .args(["config", "show", "--json"]));
    serde_json::from_str(&out).unwrap()
}

fn setting<'a>(shown: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    shown["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not shown"))
}

#[test]
fn config_show_reports_every_layer_and_its_source() {
    let root = extracted_deb();
    let r = root.path();
    // As shipped: the defaults file answers everything, the admin file is all comments.
    let shown = show(r);
    assert_eq!(setting(&shown, "Switch")["source"], "defaults");
    assert_eq!(setting(&shown, "Switch")["value"], "switch.outpost.example:443");
    let layers: Vec<(&str, &str)> = shown["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["source"].as_str().unwrap(), l["state"].as_str().unwrap()))
        .collect();
    assert_eq!(layers, [("defaults", "loaded"), ("answers", "missing"), ("admin", "loaded")]);

    std::fs::write(
        r.join("etc/outpost/installer.conf"),
        "[Settings]\nSwitch=answers.example:443\nLogLevel=debug\n",
    )
    .unwrap();
    let admin = std::fs::read_to_string(r.join("etc/outpost/outpost.conf")).unwrap();
    std::fs::write(r.join("etc/outpost/outpost.conf"), format!("{admin}LogLevel=warn\n")).unwrap();
    // Remove one setting from the shipped defaults to expose the built-in layer.
    let defaults = std::fs::read_to_string(r.join("usr/share/outpost/defaults.conf")).unwrap();
    std::fs::write(
        r.join("usr/share/outpost/defaults.conf"),
        defaults.replace("DefaultStaggerRangeSeconds=180\n", ""),
    )
    .unwrap();

    let shown = show(r);
    let expect = [
        ("Switch", "answers.example:443", "answers"),
        ("LogLevel", "warn", "admin"),
        ("DefaultStaggerRangeSeconds", "180", "built-in"),
        (
            "BackgroundChannelUrl",
            "https://switch.outpost.example/Background/",
            "defaults",
        ),
    ];
    for (name, value, source) in expect {
        let s = setting(&shown, name);
        assert_eq!(
            (s["value"].as_str().unwrap(), s["source"].as_str().unwrap()),
            (value, source),
            "{name}"
        );
    }
    assert!(shown["settings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| !s["name"].as_str().unwrap().starts_with("Module.Content")));
    assert_eq!(shown["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn runs_from_the_extracted_root_and_exits_0_on_sigterm() {
    let root = extracted_deb();
    let r = root.path();
    std::fs::write(
        r.join("etc/outpost/installer.conf"),
        // A TemporaryDirectory that does not exist: not created, the default used (issue 13.6).
        "[Settings]\nSwitch=127.0.0.1:9\nModule.Platform.Enabled=true\nTemporaryDirectory=/srv/outpost-stage\n",
    )
    .unwrap();
    let mut child = tool(r.join("usr/bin/outpost-agent"))
        .arg("--root")
        .arg(r)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = r.join("var/lib/outpost/status.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&status_file).is_ok_and(|s| s.contains("\"running\"")) {
        assert!(Instant::now() < deadline, "agent never reported running");
        assert!(child.try_wait().unwrap().is_none(), "agent exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = ok(tool(r.join("usr/bin/outpost-agent")).arg("--root").arg(r).arg("status"));
    assert_contains(&status, "running (pid");
    assert_contains(&status, "features: client, platform");
    let fallback = "configured `/srv/outpost-stage` does not exist; the default is used";
    assert_contains(
        &status,
        &format!("TemporaryDirectory: {} ({fallback}", r.join("var/tmp/outpost").display()),
    );

    let code = terminate(&mut child, Duration::from_secs(15)).expect("agent did not stop within 15 s of SIGTERM");
    assert_eq!(code.code(), Some(0), "exit status after SIGTERM");
    let log = std::fs::read_to_string(r.join("var/log/outpost/outpost.log")).unwrap();
    for line in [
        "Outpost Client starting",
        "layer=\"installer answers\"",
        "Switch link starting switch=127.0.0.1:9",
        "stopped",
    ] {
        assert_contains(&log, line);
    }
    assert_contains(&log, fallback);
    assert!(!r.join("srv/outpost-stage").exists(), "a configured TemporaryDirectory was created");
    assert!(r.join("var/tmp/outpost").is_dir(), "the default TemporaryDirectory not created");
    let out = run(tool(r.join("usr/bin/outpost-agent")).arg("--root").arg(r).arg("status"));
    assert_eq!(out.status.code(), Some(3), "status after stop: {}", text(&out));
}
