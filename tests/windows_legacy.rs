//! Legacy Windows under Wine 8 (issue 14, items 4 and 6), x64 MSI only
//! (Wine's 32-bit half is not installable here; the x86 MSI's rows are
//! checked structurally):
//!
//! * Launch conditions. No agent is shipped for Windows before 10 (Rust's
//!   std needs Windows 10 since 1.78), so the MSI refuses NT 5.x (XP, Server
//!   2003) with its own message and Vista to 8.1 / Server 2008 to 2012 R2
//!   with one naming the supported versions, before any custom action runs
//!   and before anything changes. The prefix for those cases has no
//!   `bcryptprimitives.dll` shim, so Wine cannot supply what a real Windows
//!   7 lacks (the agent does not start there, shown first). Windows 10 is
//!   told from 8.1 by the registry, since Windows Installer reports
//!   `VersionNT` 603 on both.
//! * `winecfg -v V` writes `CurrentVersion`, `CurrentBuildNumber` and (Wine
//!   8, for every NT version, unlike Windows where it exists from 10 on)
//!   `CurrentMajorVersionNumber` under `HKLM\SOFTWARE\Microsoft\Windows
//!   NT\CurrentVersion`, in both registry views; each case prints them. The
//!   64-bit winecfg has no `winxp` (it exits 1 and changes nothing): XP is
//!   `winxp64` (XP Professional x64, NT 5.2 build 3790) here.
//! * The legacy PXE agent (tests/legacy/pxe-agent.toml, built by omnipack
//!   like the other legacy fixtures) is removed by installing ours on
//!   Windows 10, its Switch carried over; a repair and an uninstall of ours
//!   are not blocked once the prefix says Windows 7.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use outpost_tests::wine::{Msiexec, Prefix};
use outpost_tests::*;

const CURRENT_VERSION: &str = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const UNINSTALL: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall";
const OUR_KEY: &str = r"HKLM\SOFTWARE\Outpost Systems\Outpost Client";
const PXE_SETTINGS: &str = r"HKLM\SOFTWARE\Outpost Systems\Outpost PXE Agent\Settings";
const PXE_SERVICE: &str = "outpostpxeagent";
const PXE_UPGRADE_CODE: &str = "{FD3BE8F5-F83C-4B39-B52A-DE18164D0FE3}";
const ANSWERS: &str = r"C:\ProgramData\Outpost\installer.conf";
const AGENT: &str = r"C:\Program Files\Outpost\outpost-agent.exe";

const SUPPORTED: &str = "Windows 10, Windows 11, Windows Server 2016, Windows Server 2019 or Windows Server 2022";

fn nt5_message() -> String {
    format!(
        "Outpost Client cannot be installed on Windows XP or Windows Server 2003; it needs {SUPPORTED}. Nothing was installed."
    )
}

fn nt6_message() -> String {
    format!(
        "Outpost Client needs {SUPPORTED}: its service cannot run on Windows Vista to 8.1 or Windows Server 2008 to 2012 R2. Nothing was installed."
    )
}

fn x64_msi() -> String {
    dist_windows().join("outpost-2.1.0-x64.msi").display().to_string()
}

/// The legacy PXE agent's x64 MSI, with the legacy test service (C, no
/// Rust: it runs without the shim).
fn legacy_pxe_msi() -> String {
    let exe64 = mingw_build("legacy-agent.c", "legacy-agent-x64.exe", "x86_64-w64-mingw32-gcc", &[]);
    let exe32 = mingw_build("legacy-agent.c", "legacy-agent-x86.exe", "i686-w64-mingw32-gcc", &[]);
    let dir = msi_build(
        &workspace_root().join("tests/legacy/pxe-agent.toml"),
        "dist-legacy-win-pxe-agent",
        &[
            "--agent-bin",
            &format!("x86_64-pc-windows-gnu={}", exe64.display()),
            "--agent-bin",
            &format!("i686-pc-windows-gnu={}", exe32.display()),
        ],
    );
    dir.join("outpost-pxe-agent-1.6.0-x64.msi").display().to_string()
}

/// `winecfg -v VERSION`, then what it wrote (64-bit view), printed.
fn set_windows(w: &Prefix, version: &str) -> BTreeMap<String, String> {
    let out = w.wine(&["winecfg", "-v", version], &[]);
    assert!(out.status.success(), "winecfg -v {version}: {}\n{}", out.status, text(&out));
    let values = w.reg_values(CURRENT_VERSION).expect("the CurrentVersion key");
    let shown = |name: &str| values.get(name).map_or("(absent)", String::as_str).to_string();
    eprintln!(
        "winecfg -v {version}: CurrentVersion={} CurrentBuildNumber={} CurrentMajorVersionNumber={} ProductName={}",
        shown("CurrentVersion"),
        shown("CurrentBuildNumber"),
        shown("CurrentMajorVersionNumber"),
        shown("ProductName")
    );
    values
}

/// `Property(S): NAME = value` from the property dump that ends a log.
fn dumped<'a>(log: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("Property(S): {name} = ");
    log.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

fn action_started(log: &str, action: &str) -> bool {
    log.lines()
        .any(|l| l.starts_with("Action start ") && l.ends_with(&format!(": {action}.")))
}

fn action_result(log: &str, action: &str) -> Option<String> {
    let needle = format!(": {action}. Return value ");
    log.lines().find_map(|l| {
        l.split_once(needle.as_str())
            .map(|(_, v)| v.trim_end_matches('.').to_string())
    })
}

/// ProductCodes registered in Add/Remove Programs.
fn products(w: &Prefix) -> Vec<String> {
    String::from_utf8_lossy(&w.wine(&["reg", "query", UNINSTALL], &[]).stdout)
        .lines()
        .filter_map(|l| l.rsplit('\\').next().filter(|k| k.starts_with('{')).map(str::to_string))
        .collect()
}

/// Removes the test-only `bcryptprimitives.dll` the harness puts into every
/// prefix: from here on the prefix lacks `ProcessPrng`, as Windows 7 to 8.1 do.
fn remove_shim(w: &Prefix) {
    for dir in ["system32", "syswow64"] {
        let dll = w.host(&format!(r"C:\windows\{dir}\bcryptprimitives.dll"));
        if dir == "system32" {
            assert!(
                dll.is_file(),
                "{} missing before its removal: the harness changed",
                dll.display()
            );
        }
        if dll.exists() {
            std::fs::remove_file(&dll).unwrap();
        }
    }
}

#[track_caller]
fn refused(r: &Msiexec, message: &str) {
    assert_eq!(r.code, 1603, "expected a refusal:\n{r}");
    assert_eq!(r.failed_action().as_deref(), Some("LaunchConditions"), "{r}");
    let line = format!("[wine-harness] LaunchCondition message: {message}");
    assert!(r.log.lines().any(|l| l == line), "the refusal does not say `{message}`:\n{r}");
    // Before any custom action and before the transaction: the CheckAnswers
    // DLL (Rust) could not even load on those systems.
    for later in ["CheckAnswers", "InstallInitialize", "RemoveExistingProducts"] {
        assert!(!action_started(&r.log, later), "{later} ran before the refusal:\n{r}");
    }
}

/// Nothing of ours on the machine: service, files, settings, product.
#[track_caller]
fn nothing_of_ours(w: &Prefix, products_before: &[String]) {
    assert_eq!(w.service("OutpostClient"), None, "a service was left");
    for dir in [r"C:\Program Files\Outpost", r"C:\ProgramData\Outpost"] {
        assert!(!w.host(dir).exists(), "{dir} was created");
    }
    assert!(!w.reg_key_exists(OUR_KEY), "{OUR_KEY} was written");
    assert_eq!(products(w), products_before, "the registered products changed");
}

#[test]
fn legacy_windows_is_refused_before_anything_changes() {
    let w = Prefix::new();
    // The legacy PXE agent first, while the prefix is still Windows 10 with
    // the shim (its package runs the Rust CheckAnswers DLL too): a refused
    // install must leave it as it was.
    let r = w.msiexec(&["/i", &legacy_pxe_msi(), "/qn", "SWITCHADDRESS=pxe.corp.example:8443"]);
    r.expect_code(0);
    let before = products(&w);
    assert_eq!(before.len(), 1, "{before:?}");

    remove_shim(&w);
    let agent = windows_agent("x86_64-pc-windows-gnu").display().to_string();
    let out = w.wine(&[&agent, "--version"], &[("WINEDEBUG", "err+module")]);
    assert_eq!(
        out.status.code(),
        Some(53),
        "the agent started without the shim: {}",
        text(&out)
    );
    assert_contains(&text(&out), "Library bcryptprimitives.dll");

    let msi = x64_msi();
    let nt5 = nt5_message();
    let nt6 = nt6_message();
    for (version, message, nt) in [
        ("winxp64", &nt5, "502"),
        ("win2003", &nt5, "502"),
        ("vista", &nt6, "600"),
        ("win2008", &nt6, "600"),
        ("win7", &nt6, "601"),
        ("win2008r2", &nt6, "601"),
        ("win8", &nt6, "602"),
        // 8.1: VersionNT 603, as on Windows 10; only the registry differs.
        ("win81", &nt6, "603"),
    ] {
        let v = set_windows(&w, version);
        let r = w.msiexec(&["/i", &msi, "/qn"]);
        refused(&r, message);
        assert_eq!(dumped(&r.log, "VersionNT"), Some(nt), "{version}:\n{r}");
        // What AppSearch read: the build as stored, the DWORD as `#n`.
        assert_eq!(
            dumped(&r.log, "OUTPOSTOSBUILD"),
            v.get("CurrentBuildNumber").map(String::as_str),
            "{version}:\n{r}"
        );
        let major = v.get("CurrentMajorVersionNumber").map(|m| format!("#{m}"));
        assert_eq!(dumped(&r.log, "OUTPOSTOSMAJOR"), major.as_deref(), "{version}:\n{r}");
        nothing_of_ours(&w, &before);
    }
    // Windows 10 whose 64-bit view has neither value: refused (the package
    // fails closed and reads the 64-bit view, not the 32-bit copy that
    // winecfg also wrote).
    set_windows(&w, "win10");
    for value in ["CurrentBuildNumber", "CurrentMajorVersionNumber"] {
        let out = w.wine(&["reg", "delete", CURRENT_VERSION, "/v", value, "/f", "/reg:64"], &[]);
        assert!(out.status.success(), "reg delete {value}: {}", text(&out));
    }
    let wow = w.wine(&["reg", "query", CURRENT_VERSION, "/v", "CurrentBuildNumber", "/reg:32"], &[]);
    assert!(
        wow.status.success(),
        "the 32-bit view lost CurrentBuildNumber too: {}",
        text(&wow)
    );
    let r = w.msiexec(&["/i", &msi, "/qn"]);
    refused(&r, &nt6);
    assert_eq!(dumped(&r.log, "VersionNT"), Some("603"), "{r}");
    assert_eq!(dumped(&r.log, "OUTPOSTOSBUILD"), None, "{r}");
    nothing_of_ours(&w, &before);

    // The legacy agent was left alone by every refusal.
    assert_eq!(w.service(PXE_SERVICE).as_deref(), Some("RUNNING"));
    assert_eq!(
        w.reg_value(PXE_SETTINGS, "SwitchAddress").as_deref(),
        Some("pxe.corp.example:8443")
    );
}

#[test]
fn windows_10_replaces_the_legacy_pxe_agent_and_installed_is_never_blocked() {
    let w = Prefix::new();
    let v = set_windows(&w, "win10");
    assert_eq!(v.get("CurrentMajorVersionNumber").map(String::as_str), Some("10"));
    let build = v.get("CurrentBuildNumber").cloned().expect("CurrentBuildNumber");

    let r = w.msiexec(&[
        "/i",
        &legacy_pxe_msi(),
        "/qn",
        "SWITCHADDRESS=pxe.corp.example:8443",
        "DHCPSNOOPING=1",
    ]);
    r.expect_code(0);
    assert_eq!(w.service(PXE_SERVICE).as_deref(), Some("RUNNING"));
    assert_eq!(
        w.reg_value(PXE_SETTINGS, "SwitchAddress").as_deref(),
        Some("pxe.corp.example:8443")
    );
    assert_eq!(w.reg_value(PXE_SETTINGS, "DhcpSnooping").as_deref(), Some("1"));
    let legacy = products(&w);
    assert_eq!(legacy.len(), 1, "{legacy:?}");

    let msi = x64_msi();
    let r = w.msiexec(&["/i", &msi, "/qn"]);
    r.expect_code(0);
    assert_eq!(action_result(&r.log, "LaunchConditions").as_deref(), Some("1"), "{r}");
    // Windows Installer says 8.1; the registry says 10.
    assert_eq!(dumped(&r.log, "VersionNT"), Some("603"), "{r}");
    assert_eq!(dumped(&r.log, "WindowsBuild"), Some("9600"), "{r}");
    assert_eq!(dumped(&r.log, "OUTPOSTOSBUILD"), Some(build.as_str()), "{r}");
    assert_eq!(dumped(&r.log, "OUTPOSTOSMAJOR"), Some("#10"), "{r}");
    for refusal in [nt5_message(), nt6_message()] {
        assert!(!r.log.contains(&refusal), "Windows 10 got a refusal:\n{r}");
    }
    assert!(!r.log.contains("[wine-harness]"), "{r}");

    // The legacy PXE agent is gone; its Switch is ours, its DHCP snooping
    // (no setting of ours) is not.
    assert!(action_started(&r.log, "RemoveExistingProducts"), "{r}");
    assert_eq!(w.service(PXE_SERVICE), None, "the legacy PXE service is still there");
    assert!(
        !w.host(r"C:\Program Files\outpost-pxe-agent").exists(),
        "legacy PXE files left"
    );
    let now = products(&w);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, legacy, "the legacy PXE agent is still registered");
    assert_eq!(w.reg_value(PXE_SETTINGS, "SwitchAddress"), None, "legacy settings left");
    let answers = std::fs::read_to_string(w.host(ANSWERS)).expect("installer.conf");
    assert!(
        answers.lines().any(|l| l.trim() == "Switch=pxe.corp.example:8443"),
        "Switch not carried:\n{answers}"
    );
    assert!(
        !answers.to_ascii_lowercase().contains("dhcp"),
        "a legacy-only setting was carried:\n{answers}"
    );

    // The agent runs: the service, and its own status (0: running).
    assert_eq!(
        w.wait_service("OutpostClient", Some("RUNNING"), Duration::from_secs(30))
            .as_deref(),
        Some("RUNNING")
    );
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let out = w.wine(&[AGENT, "status"], &[]);
        if out.status.success() || Instant::now() > until {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        status.status.success(),
        "outpost-agent status: {}\n{}",
        status.status,
        text(&status)
    );

    // On a legacy Windows the installed product can still be repaired and
    // removed: every launch condition starts with `Installed`.
    let product = now[0].clone();
    set_windows(&w, "win7");
    let r = w.msiexec(&["/i", &product, "REINSTALL=ALL", "REINSTALLMODE=amus", "/qn"]);
    r.expect_code(0);
    assert_eq!(action_result(&r.log, "LaunchConditions").as_deref(), Some("1"), "{r}");
    assert_eq!(dumped(&r.log, "VersionNT"), Some("601"), "{r}");
    let r = w.msiexec(&["/x", &product, "/qn"]);
    r.expect_code(0);
    assert_eq!(w.service("OutpostClient"), None);
    assert!(products(&w).is_empty(), "{:?}", products(&w));
}

fn export(msi: &Path, table: &str) -> Vec<Vec<String>> {
    ok(tool("msiinfo").arg("export").arg(msi).arg(table))
        .lines()
        .skip(3) // column names, types, table name and keys
        .map(|l| l.trim_end_matches('\r').split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn both_packages_decide_from_the_registry_before_any_custom_action() {
    for (arch, locator) in [("x64", "18"), ("x86", "2")] {
        let msi = dist_windows().join(format!("outpost-2.1.0-{arch}.msi"));
        // Minimum Windows Installer 2.0: XP's 3.1 and Vista's 4.5 open the
        // package and reach the launch conditions (5.0 would stop them first
        // with Windows Installer's own "newer version needed" error).
        let summary = ok(tool("msiinfo").arg("suminfo").arg(&msi));
        assert!(summary.lines().any(|l| l.trim() == "Version: 200 (c8)"), "{arch}:\n{summary}");
        let conditions = export(&msi, "LaunchCondition");
        assert!(
            conditions.iter().all(|c| c[0].starts_with("Installed OR ")),
            "{arch}: {conditions:?}"
        );
        let message = |m: String| conditions.iter().find(|c| c[1] == m).map(|c| c[0].clone());
        assert_eq!(
            message(nt5_message()).as_deref(),
            Some("Installed OR VersionNT>=600"),
            "{arch}"
        );
        assert_eq!(
            message(nt6_message()).as_deref(),
            Some("Installed OR VersionNT<600 OR VersionNT>603 OR OUTPOSTOSMAJOR=\"#10\" OR OUTPOSTOSBUILD>=10240"),
            "{arch}"
        );
        assert_eq!(conditions.len(), if arch == "x64" { 3 } else { 2 }, "{arch}: {conditions:?}");

        // msidbLocatorTypeRawValue, plus the 64-bit view on x64.
        let locators = export(&msi, "RegLocator");
        for (sig, name) in [("OsBuild", "CurrentBuildNumber"), ("OsMajor", "CurrentMajorVersionNumber")] {
            let row = vec![
                sig.to_string(),
                "2".into(),
                r"SOFTWARE\Microsoft\Windows NT\CurrentVersion".into(),
                name.into(),
                locator.into(),
            ];
            assert!(locators.contains(&row), "{arch}: no {row:?} in {locators:?}");
        }
        let search = export(&msi, "AppSearch");
        for row in [["OUTPOSTOSBUILD", "OsBuild"], ["OUTPOSTOSMAJOR", "OsMajor"]] {
            assert!(search.iter().any(|r| r == &row), "{arch}: {search:?}");
        }

        let sequence = export(&msi, "InstallExecuteSequence");
        let at = |action: &str| -> i32 {
            sequence
                .iter()
                .find(|r| r[0] == action)
                .unwrap_or_else(|| panic!("{arch}: {action} not sequenced"))[2]
                .parse()
                .unwrap()
        };
        assert!(at("AppSearch") < at("LaunchConditions"), "{arch}");
        for later in ["CheckAnswers", "RefuseInvalidSettings", "InstallInitialize"] {
            assert!(at("LaunchConditions") < at(later), "{arch}: LaunchConditions after {later}");
        }

        // The legacy PXE agent: removed by UpgradeCode (every version), its
        // Switch read from its registry key.
        let upgrade = export(&msi, "Upgrade");
        assert!(
            upgrade
                .iter()
                .any(|r| r[0] == PXE_UPGRADE_CODE && r[1] == "0.0.0" && r[2].is_empty() && r[4] == "256"),
            "{arch}: {upgrade:?}"
        );
        assert!(
            locators
                .iter()
                .any(|r| r[2] == r"SOFTWARE\Outpost Systems\Outpost PXE Agent\Settings" && r[3] == "SwitchAddress"),
            "{arch}: {locators:?}"
        );
    }
}
