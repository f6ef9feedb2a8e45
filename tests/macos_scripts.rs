//! The pkg's preinstall and postinstall, run for real by an Installer
//! stand-in (tests/support/macos.rs) in throwaway Debian roots: answers,
//! legacy removal and Switch carry-over, the administrator's file across
//! upgrades, feature choices, downgrade refusal, and a refused answer that
//! leaves the disk as it was. Apple's installer itself is not available
//! here; the README says how the release pipeline's macOS job covers it.

use outpost_tests::chroot::Root;
use outpost_tests::macos::*;
use outpost_tests::scenario::Scenario;
use outpost_tests::*;

const APP: &str = "/Library/Application Support/Outpost";
const AGENT: &str = "/Library/Application Support/Outpost/outpost-agent";
const ADMIN: &str = "/Library/Preferences/Outpost/outpost.conf";
const ANSWERS: &str = "/Library/Preferences/Outpost/installer.conf";
const STAGED: &str = "/Library/Preferences/Outpost/install-answers.conf";
const LABEL: &str = "com.outpost.client.agent";
const PLIST: &str = "/Library/LaunchDaemons/com.outpost.client.agent.plist";
const MARKER: &str = "/Library/Application Support/Outpost/features/platform.feature";

const LEGACY_ID: &str = "com.outpost.platform.agent";
const LEGACY_DIR: &str = "/Library/Application Support/Outpost Platform Agent";
const LEGACY_CONF: &str = "/Library/Preferences/com.outpost.platform/agent.conf";
const LEGACY_PLIST: &str = "/Library/LaunchDaemons/com.outpost.platform.agent.plist";
/// Not the legacy client's: must survive its removal.
const UNRELATED: &str = "/Library/Application Support/Other Vendor/keep.txt";

fn pkg() -> std::path::PathBuf {
    artifact(&dist(), "pkg").path
}

fn scenario(name: &'static str) -> Scenario {
    Scenario::new(name, Root::new())
}

#[test]
fn fresh_install_over_the_legacy_agent_carries_its_switch() {
    let s = scenario("fresh install over the legacy platform agent");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    s.step("legacy agent installed and running");
    r.write(&format!("{LEGACY_DIR}/agent"), "#!/bin/sh\n");
    r.write(LEGACY_CONF, "[Agent]\nSwitchAddress = legacy-switch.example.com:443\n");
    r.write(LEGACY_PLIST, "<plist/>");
    r.write(UNRELATED, "keep me");
    add_receipt(
        r,
        LEGACY_ID,
        "/",
        "Library/Application Support/Outpost Platform Agent/agent\nLibrary/Preferences/com.outpost.platform/agent.conf\n",
        "Library\nLibrary/Application Support\nLibrary/Application Support/Outpost Platform Agent\nLibrary/Preferences\nLibrary/Preferences/com.outpost.platform\n",
    );
    start_job(r, LEGACY_ID);

    s.step("installer -pkg outpost.pkg -target /");
    let log = mac
        .install(&[], &[])
        .unwrap_or_else(|e| s.fail(format!("installation failed:\n{e}")));
    s.has(&log, "removed legacy package com.outpost.platform.agent", "script output");

    s.step("legacy client gone, nothing else touched");
    for gone in [
        LEGACY_DIR,
        LEGACY_CONF,
        LEGACY_PLIST,
        "/Library/Preferences/com.outpost.platform",
    ] {
        s.absent(gone);
    }
    if has_receipt(r, LEGACY_ID) || job_running(r, LEGACY_ID) {
        s.fail(format!(
            "the legacy receipt or launchd job is still there; launchctl calls:\n{}",
            r.read(LAUNCHCTL_LOG).unwrap_or_default()
        ));
    }
    s.contains(UNRELATED, "keep me");
    for shared in ["/Library/Application Support", "/Library/Preferences"] {
        if !r.host(shared).is_dir() {
            s.fail(format!("{shared} was removed with the legacy client"));
        }
    }

    s.step("installed");
    s.file(AGENT, 0o755);
    s.file(PLIST, 0o644);
    s.file(MARKER, 0o644);
    s.file(ADMIN, 0o644);
    s.contains(ANSWERS, "Switch=legacy-switch.example.com:443");
    s.contains(&format!("{APP}/State/package-version"), "2.1.0-1");
    if !job_running(r, LABEL) {
        s.fail("our daemon was not bootstrapped");
    }
    for id in ["com.outpost.client.client", "com.outpost.client.platform"] {
        if !has_receipt(r, id) {
            s.fail(format!("no receipt {id}"));
        }
    }
    s.has(
        &r.read(LAUNCHCTL_LOG).unwrap_or_default(),
        &format!("launchctl bootstrap system {PLIST}"),
        "launchctl calls",
    );
}

#[test]
fn upgrade_keeps_the_administrators_file_and_answers_and_restarts_the_daemon() {
    let s = scenario("upgrade keeps the administrator's settings");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    s.step("first install with staged answers");
    r.write(STAGED, "[Settings]\nSwitch=staged.example.com:443\nLogLevel=debug\n");
    mac.install(&[], &[]).unwrap_or_else(|e| s.fail(e));
    s.contains(ANSWERS, "Switch=staged.example.com:443");
    s.contains(ANSWERS, "LogLevel=debug");

    s.step("the administrator edits the file");
    let edited = "[Settings]\nSwitch=admin.example.com:443\n";
    r.write(ADMIN, edited);
    let answers = r.read(ANSWERS).unwrap();
    std::fs::remove_file(r.host(LAUNCHCTL_LOG)).unwrap();

    s.step("the same release again, over itself");
    mac.install(&[], &[]).unwrap_or_else(|e| s.fail(e));
    if r.read(ADMIN).as_deref() != Some(edited) {
        s.fail(format!(
            "the administrator's file changed:\n{}",
            r.read(ADMIN).unwrap_or_default()
        ));
    }
    if r.read(ANSWERS).as_deref() != Some(answers.as_str()) {
        s.fail("the installer answers changed without new answers");
    }
    let calls = r.read(LAUNCHCTL_LOG).unwrap_or_default();
    let (stop, start) = (
        calls.find("launchctl bootout system/com.outpost.client.agent"),
        calls.find("launchctl bootstrap system"),
    );
    match (stop, start) {
        (Some(a), Some(b)) if a < b => {}
        _ => s.fail(format!("expected bootout of our daemon before bootstrap:\n{calls}")),
    }
    if !job_running(r, LABEL) {
        s.fail(format!(
            "the daemon is not running after the upgrade; launchctl calls:\n{calls}"
        ));
    }
}

#[test]
fn deselecting_the_platform_choice_removes_its_marker() {
    let s = scenario("platform choice deselected");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    s.step("install with every choice");
    mac.install(&[], &[]).unwrap_or_else(|e| s.fail(e));
    s.file(MARKER, 0o644);
    s.step("reinstall with platform deselected (-applyChoiceChangesXML)");
    mac.install(&["platform"], &[]).unwrap_or_else(|e| s.fail(e));
    s.absent(MARKER);
    s.file(AGENT, 0o755);
}

#[test]
fn a_bad_staged_answer_stops_the_installation_before_anything_changes() {
    let s = scenario("bad staged answer");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    r.write(
        STAGED,
        "[Settings]\nSwitch=no-port-here\nDefaultStaggerRangeSeconds=-5\nSwich=typo.example.com:443\n",
    );
    let before = s.snapshot(&["/var/log", "/tmp", "/proc"]);
    s.step("installer -pkg");
    let Err(log) = mac.install(&[], &[]) else {
        s.fail("the installation succeeded with bad answers")
    };
    for needle in [
        "Switch: `no-port-here` is not host:port",
        "DefaultStaggerRangeSeconds",
        "key `Swich`: unknown setting for macos",
        "nothing was changed",
    ] {
        s.has(&log, needle, "preinstall output");
    }
    s.same_as(&before, &s.snapshot(&["/var/log", "/tmp", "/proc"]));
}

/// The probe table's rows for a pkg (macOS Installer passes no caller
/// environment: the staged file and a planted state link).
#[test]
fn every_probe_is_refused_before_anything_changes() {
    let s = scenario("probe table");
    let mac = MacInstaller::new(&s.root, &pkg());
    let state = format!("{APP}/State");
    outpost_tests::probes::refuse_all(
        &s,
        outpost_tests::probes::unix(STAGED, &state, false),
        (STAGED, &state),
        &["/var/log", "/tmp", "/proc"],
        &|env| {
            assert!(env.is_empty());
            match mac.install(&[], &[]) {
                Ok(log) => std::process::Output { status: std::process::ExitStatus::default(), stdout: log.into_bytes(), stderr: Vec::new() },
                Err(log) => std::process::Output { status: failed(), stdout: log.into_bytes(), stderr: Vec::new() },
            }
        },
        &|| s.root.exists(AGENT),
    );
}

fn failed() -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(1 << 8)
}

#[test]
fn a_downgrade_is_refused_unless_the_flag_file_allows_it() {
    let s = scenario("downgrade");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    r.write(&format!("{APP}/State/package-version"), "9.0.0-1\n");
    s.step("older pkg over 9.0.0");
    let Err(log) = mac.install(&[], &[]) else {
        s.fail("the downgrade was not refused")
    };
    s.has(&log, "refusing to downgrade from 9.0.0-1 to 2.1.0-1", "preinstall output");
    s.absent(AGENT);
    s.step("with the allow-downgrade flag");
    r.write(&format!("{APP}/State/allow-downgrade"), "");
    mac.install(&[], &[]).unwrap_or_else(|e| s.fail(e));
    s.file(AGENT, 0o755);
    s.absent(&format!("{APP}/State/allow-downgrade"));
    s.contains(&format!("{APP}/State/package-version"), "2.1.0-1");
}

#[test]
fn the_uninstall_script_removes_everything_but_the_administrators_file() {
    let s = scenario("uninstall.sh");
    let r = &s.root;
    let mac = MacInstaller::new(r, &pkg());
    s.step("install, then the administrator edits the file");
    r.write(STAGED, "[Settings]\nSwitch=staged.example.com:443\n");
    mac.install(&[], &[]).unwrap_or_else(|e| s.fail(e));
    r.write(ADMIN, "[Settings]\nLogLevel=debug\n");
    r.write("/Library/Logs/Outpost/outpost.log", "log line\n");
    s.step("sudo uninstall.sh");
    s.ok(r.exec(&[], &[&format!("{APP}/uninstall.sh")]), "uninstall.sh");
    for gone in [APP, PLIST, ANSWERS, STAGED, "/Library/Logs/Outpost"] {
        s.absent(gone);
    }
    // `[removal] administrator_config = "keep"` in the manifest.
    s.contains(ADMIN, "LogLevel=debug");
    if job_running(r, LABEL) {
        s.fail("the daemon still runs");
    }
    for id in ["com.outpost.client.client", "com.outpost.client.platform"] {
        if has_receipt(r, id) {
            s.fail(format!("receipt {id} was not forgotten"));
        }
    }
}
