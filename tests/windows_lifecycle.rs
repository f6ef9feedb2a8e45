//! Windows lifecycle under Wine's msiexec, one fresh headless prefix per
//! scenario: install with properties, legacy removal, major upgrade,
//! downgrade, bad values, uninstall. Only the x64 MSI installs here (Wine's
//! 32-bit half is not installable on this machine); the x86 MSI is checked
//! structurally in windows_packages.rs.

use std::path::Path;

use outpost_tests::wine::Prefix;
use outpost_tests::*;

/// What these scenarios read from a prefix, on top of the shared harness.
trait PrefixExt {
    fn reg(&self, key: &str) -> String;
    fn products(&self) -> Vec<String>;
    fn run(&self, args: &[&str]) -> (u32, String);
}

impl PrefixExt for Prefix {
    fn reg(&self, key: &str) -> String {
        String::from_utf8_lossy(&self.wine(&["reg", "query", key], &[]).stdout).into_owned()
    }

    /// ProductCodes registered in Add/Remove Programs.
    fn products(&self) -> Vec<String> {
        self.reg("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall")
            .lines()
            .filter_map(|l| l.rsplit('\\').next().filter(|k| k.starts_with('{')).map(str::to_string))
            .collect()
    }

    /// `msiexec ARGS`: the Windows exit code and the log (with the harness's
    /// own summary appended, so a failure shows what happened).
    fn run(&self, args: &[&str]) -> (u32, String) {
        let r = self.msiexec(args);
        (r.code, format!("{}\n{}", r.log, r.stdout_stderr))
    }
}

fn msi(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[track_caller]
fn expect(cond: bool, what: &str, log: &str) {
    if !cond {
        let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{what}\n--- msiexec log (tail)\n{}", tail.join("\n"));
    }
}

const ANSWERS: &str = "C:\\ProgramData\\Outpost\\installer.conf";
const REMEMBERED: &str = "HKLM\\SOFTWARE\\Outpost Systems\\Outpost Client\\Settings";
/// A secret setting's value (ClientCertificatePassword).
const PASSWORD: &str = "pkcs12-Pass-7f3a";

/// The log lines that show the secret. Wine's msi ignores MsiHiddenProperties
/// in the property dump that closes a log (`Property(S): NAME = value`, which
/// Windows writes as asterisks); any other line would be the package's doing.
fn secret_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(PASSWORD)
                && !l.starts_with("Property(S): CLIENTCERTIFICATEPASSWORD = ")
                && !l.starts_with("Property(C): CLIENTCERTIFICATEPASSWORD = ")
        })
        .collect()
}

#[test]
fn install_with_properties_then_uninstall() {
    let w = Prefix::new();
    let dist = dist_windows();
    let password = format!("CLIENTCERTIFICATEPASSWORD={PASSWORD}");
    let (code, log) = w.run(&[
        "/i",
        &msi(&dist, "outpost-2.1.0-x64.msi"),
        "/qn",
        "SWITCH=corp.example:9443",
        "MODULE.CONTENT.ENABLED=1",
        "TRUSTEDCAFILE=C:\\ProgramData\\Outpost\\corp-ca.pem",
        "HEARTBEATINTERVALSECONDS=45",
        &password,
    ]);
    expect(code == 0, &format!("install exit {code}"), &log);
    assert_eq!(
        w.service("OutpostClient").as_deref(),
        Some("RUNNING"),
        "service after install"
    );
    let answers = std::fs::read_to_string(w.host(ANSWERS)).expect("installer.conf written");
    for line in [
        "Switch=corp.example:9443",
        "Module.Content.Enabled=true",
        "Module.Platform.Enabled=true",
        "LogLevel=info",
        "Module.Pxe.Enabled=false",
        "DefaultStaggerRangeSeconds=180",
        "TrustedCaFile=C:\\ProgramData\\Outpost\\corp-ca.pem",
        "HeartbeatIntervalSeconds=45",
        "ReconnectSpreadSeconds=120",
        &format!("ClientCertificatePassword={PASSWORD}"),
    ] {
        assert!(
            answers.lines().any(|l| l.trim() == line),
            "installer.conf lacks `{line}`:\n{answers}"
        );
    }
    // The secret reaches the answers file only: not the log, not the registry.
    expect(
        secret_lines(&log).is_empty(),
        &format!("the msiexec log shows the secret: {:?}", secret_lines(&log)),
        &log,
    );
    let remembered = w.reg(REMEMBERED);
    assert_contains(&remembered, "TrustedCaFile");
    assert!(
        !remembered.contains("ClientCertificatePassword") && !remembered.contains(PASSWORD),
        "a secret was remembered:\n{remembered}"
    );
    let features = w.host("C:\\Program Files\\Outpost\\features");
    for (f, present) in [
        ("platform", true),
        ("content", true),
        ("pxe", false),
        ("shopping", false),
        ("wakeup", false),
    ] {
        assert_eq!(features.join(format!("{f}.feature")).is_file(), present, "feature {f} files");
    }
    let arp = w.reg(&format!(
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{}",
        w.products().first().expect("an ARP entry")
    ));
    for v in [
        "DisplayName    REG_SZ    Outpost Client",
        "DisplayVersion    REG_SZ    2.1.0",
        "Publisher    REG_SZ    Outpost Systems",
        "HelpLink    REG_SZ    https://outpost.example/support",
        "NoModify    REG_DWORD    0x1",
    ] {
        assert_contains(&arp, v);
    }
    // The agent itself reads the layers on Windows.
    let show = w.wine(
        &["C:\\Program Files\\Outpost\\outpost-agent.exe", "config", "show", "--json"],
        &[],
    );
    let v: serde_json::Value =
        serde_json::from_slice(&show.stdout).unwrap_or_else(|e| panic!("config show: {e}: {}", text(&show)));
    let shown = |name: &str| {
        let s = v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} not shown"));
        (
            s["value"].as_str().unwrap().to_string(),
            s["source"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(shown("Switch"), ("corp.example:9443".into(), "answers".into()));
    assert_eq!(shown("ClientCertificatePassword"), ("********".into(), "answers".into()));

    // The administrator's own file is theirs: uninstall keeps it.
    std::fs::write(
        w.host("C:\\ProgramData\\Outpost\\outpost.conf"),
        "[Settings]\r\nLogLevel=warn\r\n",
    )
    .unwrap();
    let (code, log) = w.run(&["/x", &msi(&dist, "outpost-2.1.0-x64.msi"), "/qn"]);
    expect(code == 0, &format!("uninstall exit {code}"), &log);
    assert_eq!(w.service("OutpostClient"), None, "service after uninstall");
    assert!(!w.host("C:\\Program Files\\Outpost").exists(), "program files left behind");
    assert!(!w.host(ANSWERS).exists(), "installer answers left behind");
    // The logs and state are the agent's own files, removed by wildcard
    // RemoveFile rows (`*` in LOGDIR and STATEDIR, then the folders), which
    // Windows Installer expands. Wine 8's RemoveFiles does not expand a
    // wildcard (its log lists `File: RemoveLogs` and deletes nothing), so
    // here the rows are checked, and the folders may hold only the files the
    // running agent wrote, nothing the package installed.
    let rows = outpost_tests::ok(
        tool("msiinfo")
            .arg("export")
            .arg(msi(&dist, "outpost-2.1.0-x64.msi"))
            .arg("RemoveFile"),
    );
    for row in [
        "RemoveLogs\tDataFolders\t*\tLOGDIR\t2",
        "RemoveLogDir\tDataFolders\t\tLOGDIR\t2",
        "RemoveState\tDataFolders\t*\tSTATEDIR\t2",
        "RemoveStateDir\tDataFolders\t\tSTATEDIR\t2",
    ] {
        assert!(
            rows.lines().any(|l| l.trim_end_matches('\r') == row),
            "RemoveFile lacks `{row}`:\n{rows}"
        );
    }
    for (dir, agents) in [("Logs", &["outpost.log"][..]), ("State", &["device-id", "status.json"][..])] {
        let left: Vec<String> = std::fs::read_dir(w.host(&format!("C:\\ProgramData\\Outpost\\{dir}")))
            .map(|r| r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        assert!(
            left.iter().all(|f| agents.contains(&f.as_str())),
            "{dir} left behind with {left:?}"
        );
    }
    assert!(
        w.host("C:\\ProgramData\\Outpost\\outpost.conf").is_file(),
        "the administrator's file was removed"
    );
    assert!(w.products().is_empty(), "ARP entries left: {:?}", w.products());
    assert!(!w.reg(REMEMBERED).contains("Switch"), "remembered settings left");
}

#[test]
fn bad_property_values_fail_and_change_nothing() {
    let w = Prefix::new();
    let dist = dist_windows();
    let password = format!("CLIENTCERTIFICATEPASSWORD={PASSWORD}");
    let (code, log) = w.run(&[
        "/i",
        &msi(&dist, "outpost-2.1.0-x64.msi"),
        "/qn",
        "SWITCH=no-port",
        "MODULE.CONTENT.ENABLED=maybe",
        "TRUSTEDCAFILE=relative\\path",
        "HEARTBEATINTERVALSECONDS=4",
        &password,
    ]);
    expect(
        code == 1603,
        &format!("install with bad values exited {code}, expected 1603"),
        &log,
    );
    expect(
        log.contains("SWITCH=no-port (`no-port` is not host:port"),
        "log does not name SWITCH",
        &log,
    );
    expect(
        log.contains("MODULE.CONTENT.ENABLED=maybe (`maybe` is not a boolean; allowed: true, false, 1, 0)"),
        "log does not name MODULE.CONTENT.ENABLED",
        &log,
    );
    expect(
        log.contains("TRUSTEDCAFILE=relative\\path (`relative\\path` is not an absolute windows path (or empty))"),
        "log does not name TRUSTEDCAFILE",
        &log,
    );
    expect(
        log.contains("HEARTBEATINTERVALSECONDS=4 (4 is out of range; allowed: 5..=600)"),
        "log does not name HEARTBEATINTERVALSECONDS",
        &log,
    );
    expect(
        secret_lines(&log).is_empty(),
        &format!("the msiexec log shows the secret: {:?}", secret_lines(&log)),
        &log,
    );
    assert!(!w.host("C:\\Program Files\\Outpost").exists());
    assert!(!w.host("C:\\ProgramData\\Outpost").exists());
    assert_eq!(w.service("OutpostClient"), None);
    assert!(w.products().is_empty());
}

#[test]
fn major_upgrade_keeps_settings_and_downgrade_is_refused() {
    let w = Prefix::new();
    let current = dist_windows();
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    let next_manifest = fixtures_dir().join("outpost-next.toml");
    let next_text = text.replace("version = \"2.1.0\"", "version = \"2.2.0\"");
    if std::fs::read_to_string(&next_manifest).ok().as_deref() != Some(&next_text) {
        std::fs::write(&next_manifest, next_text).unwrap();
    }
    let next = msi_build(&next_manifest, "dist-windows-next", &[]);

    let (code, log) = w.run(&[
        "/i",
        &msi(&current, "outpost-2.1.0-x64.msi"),
        "/qn",
        "SWITCH=first.example:443",
        "LOGLEVEL=debug",
        "MODULE.CONTENT.ENABLED=1",
    ]);
    expect(code == 0, &format!("install 2.1.0 exit {code}"), &log);
    let (code, log) = w.run(&["/i", &msi(&next, "outpost-2.2.0-x64.msi"), "/qn"]);
    expect(code == 0, &format!("upgrade to 2.2.0 exit {code}"), &log);
    let answers = std::fs::read_to_string(w.host(ANSWERS)).unwrap();
    for line in ["Switch=first.example:443", "LogLevel=debug", "Module.Content.Enabled=true"] {
        assert!(answers.lines().any(|l| l.trim() == line), "upgrade lost `{line}`:\n{answers}");
    }
    assert!(
        w.host("C:\\Program Files\\Outpost\\features\\content.feature").is_file(),
        "upgrade dropped a feature"
    );
    let products = w.products();
    assert_eq!(products.len(), 1, "the old version was not removed: {products:?}");
    assert_contains(
        &w.reg(&format!(
            "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{}",
            products[0]
        )),
        "DisplayVersion    REG_SZ    2.2.0",
    );
    assert_eq!(w.service("OutpostClient").as_deref(), Some("RUNNING"));

    let (code, log) = w.run(&["/i", &msi(&current, "outpost-2.1.0-x64.msi"), "/qn"]);
    expect(code == 1603, &format!("downgrade exited {code}, expected 1603"), &log);
    expect(log.contains("BlockDowngrade"), "the downgrade block did not run", &log);
    assert_contains(
        &w.reg(&format!(
            "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{}",
            products[0]
        )),
        "DisplayVersion    REG_SZ    2.2.0",
    );
}

#[test]
fn install_over_every_legacy_client() {
    let w = Prefix::new();
    let exe64 = mingw_build("legacy-agent.c", "legacy-agent-x64.exe", "x86_64-w64-mingw32-gcc", &[]);
    let exe32 = mingw_build("legacy-agent.c", "legacy-agent-x86.exe", "i686-w64-mingw32-gcc", &[]);
    let bins = [
        format!("x86_64-pc-windows-gnu={}", exe64.display()),
        format!("i686-pc-windows-gnu={}", exe32.display()),
    ];
    let mut legacy = Vec::new();
    for (name, file, props) in [
        (
            "platform-agent",
            "outpost-platform-agent-2.5.0-x64.msi",
            vec!["SWITCHADDRESS=legacy.corp.example:8443"],
        ),
        ("content-branch", "outpost-content-branch-3.2.0-x64.msi", vec![]),
        ("shopping", "outpost-shopping-3.2.0-x64.msi", vec![]),
        ("wakeup", "outpost-wakeup-1.4.0-x64.msi", vec![]),
    ] {
        let dir = msi_build(
            &workspace_root().join(format!("tests/legacy/{name}.toml")),
            &format!("dist-legacy-win-{name}"),
            &["--agent-bin", &bins[0], "--agent-bin", &bins[1]],
        );
        let mut args = vec!["/i".to_string(), msi(&dir, file), "/qn".to_string()];
        args.extend(props.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, log) = w.run(&args);
        expect(code == 0, &format!("installing legacy {name} exit {code}"), &log);
        legacy.push(format!("outpost{}", name.replace('-', "")));
    }
    assert_eq!(w.products().len(), 4);
    let (code, log) = w.run(&["/i", &msi(&dist_windows(), "outpost-2.1.0-x64.msi"), "/qn"]);
    expect(code == 0, &format!("install over legacy exit {code}"), &log);
    assert_eq!(w.products().len(), 1, "legacy products still registered");
    for svc in &legacy {
        assert_eq!(w.service(svc), None, "legacy service {svc} still exists");
    }
    for dir in [
        "outpost-platform-agent",
        "outpost-content-branch",
        "outpost-shopping",
        "outpost-wakeup",
    ] {
        assert!(
            !w.host(&format!("C:\\Program Files\\{dir}")).exists(),
            "legacy files in {dir} left"
        );
    }
    let answers = std::fs::read_to_string(w.host(ANSWERS)).unwrap();
    assert!(
        answers.lines().any(|l| l.trim() == "Switch=legacy.corp.example:8443"),
        "legacy Switch not carried over:\n{answers}"
    );
    assert_eq!(w.service("OutpostClient").as_deref(), Some("RUNNING"));
}

#[test]
fn repair_keeps_settings() {
    let w = Prefix::new();
    let m = msi(&dist_windows(), "outpost-2.1.0-x64.msi");
    let password = format!("CLIENTCERTIFICATEPASSWORD={PASSWORD}");
    let (code, log) = w.run(&[
        "/i",
        &m,
        "/qn",
        "SWITCH=repair.example:443",
        "DEFAULTSTAGGERRANGESECONDS=42",
        &password,
    ]);
    expect(code == 0, &format!("install exit {code}"), &log);
    let answers = std::fs::read_to_string(w.host(ANSWERS)).unwrap();
    // TRUSTEDCAFILE not given: empty (the system store only) passes the check.
    for line in ["TrustedCaFile=", &format!("ClientCertificatePassword={PASSWORD}")] {
        assert!(
            answers.lines().any(|l| l.trim() == line),
            "install lacks `{line}`:\n{answers}"
        );
    }
    std::fs::remove_file(w.host("C:\\Program Files\\Outpost\\defaults.conf")).unwrap();
    // Repair with no properties: files come back, remembered settings stay.
    let product = w.products().first().cloned().expect("installed product");
    // What `msiexec /fa` means; Wine 8's msiexec refuses the /f switch itself.
    let (code, log) = w.run(&["/i", &product, "REINSTALL=ALL", "REINSTALLMODE=amus", "/qn"]);
    expect(code == 0, &format!("repair exit {code}"), &log);
    assert!(
        w.host("C:\\Program Files\\Outpost\\defaults.conf").is_file(),
        "repair did not restore the file"
    );
    let answers = std::fs::read_to_string(w.host(ANSWERS)).unwrap();
    for line in ["Switch=repair.example:443", "DefaultStaggerRangeSeconds=42"] {
        assert!(answers.lines().any(|l| l.trim() == line), "repair lost `{line}`:\n{answers}");
    }
    // A secret is not remembered (the registry is plain text, readable by
    // every user): a repair without it leaves it empty, as README says.
    assert!(answers.lines().any(|l| l.trim() == "ClientCertificatePassword="), "{answers}");
    expect(
        secret_lines(&log).is_empty(),
        &format!("the repair log shows the secret: {:?}", secret_lines(&log)),
        &log,
    );
}
