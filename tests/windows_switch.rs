//! The Windows agent's Switch link end to end under Wine: the x64 MSI
//! installed with Wine's msiexec and properties (SWITCH, TRUSTEDCAFILE,
//! CLIENTCERTIFICATE), the OutpostClient service it starts connecting over
//! mutual TLS to the test Switch on 127.0.0.1, the Switch's instructions
//! answered from the Windows machine's facts and settings layers, and
//! `outpost-agent.exe status` reporting the link. Without a client
//! certificate the same Switch refuses the service, and `status --json`
//! says why. Each scenario has its own prefix and ends with an uninstall.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use outpost_test_switch::{ClientAuth, EventKind, Pki, Side, SwitchConfig, TestSwitch, Validity};
use outpost_tests::wine::Prefix;
use outpost_tests::*;
use serde_json::{json, Value};

const SERVICE: &str = "OutpostClient";
const AGENT_EXE: &str = "C:\\Program Files\\Outpost\\outpost-agent.exe";
const STATUS_FILE: &str = "C:\\ProgramData\\Outpost\\State\\status.json";
const DEVICE_ID_FILE: &str = "C:\\ProgramData\\Outpost\\State\\device-id";
const LOG_FILE: &str = "C:\\ProgramData\\Outpost\\Logs\\outpost.log";
const CA: &str = "C:\\certs\\ca.pem";
const CLIENT: &str = "C:\\certs\\client.pem";
/// Set as ClientCertificatePassword (a PEM bundle needs none, so it changes
/// nothing but gives the "secrets are masked" checks something to hide).
const SECRET: &str = "unused-Pkcs12-Secret-4e7b";
/// Wine is slow: the service's first attempt comes a few seconds after
/// msiexec returns, and more under load.
const WAIT: Duration = Duration::from_secs(60);

/// A Switch on 127.0.0.1 that requires client certificates from its own
/// throwaway CA, and a fresh Wine prefix with the CA (and optionally a
/// client identity) in `C:\certs`.
struct Scene {
    // Dropped first: the prefix (and the service in it) goes before the Switch.
    w: Prefix,
    pki: Pki,
    switch: TestSwitch,
    _pki_dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let pki_dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(pki_dir.path());
        let mut cfg = SwitchConfig::new(&pki);
        cfg.client_auth = ClientAuth::Required;
        let switch = TestSwitch::start(cfg);
        assert!(switch.addr().ip().is_loopback());
        let w = Prefix::new();
        let ca = w.host(CA);
        std::fs::create_dir_all(ca.parent().unwrap()).unwrap();
        std::fs::copy(pki.ca_path(), &ca).unwrap();
        Scene {
            w,
            pki,
            switch,
            _pki_dir: pki_dir,
        }
    }

    fn switch_setting(&self) -> String {
        self.switch.switch_setting("127.0.0.1")
    }

    /// `msiexec /i <x64 msi> /qn SWITCH=… TRUSTEDCAFILE=C:\certs\ca.pem …`;
    /// the install must succeed and leave the service running.
    fn install(&self, extra: &[&str]) {
        let switch = format!("SWITCH={}", self.switch_setting());
        let trusted = format!("TRUSTEDCAFILE={CA}");
        let password = format!("CLIENTCERTIFICATEPASSWORD={SECRET}");
        let msi = msi();
        let mut args = vec!["/i", msi.as_str(), "/qn", &switch, &trusted, &password];
        args.extend_from_slice(extra);
        let started = Instant::now();
        let m = self.w.msiexec(&args);
        assert!(m.ok(), "install failed:\n{m}");
        let state = self.w.wait_service(SERVICE, Some("RUNNING"), Duration::from_secs(30));
        assert_eq!(state.as_deref(), Some("RUNNING"), "service after install\n{}", self.report());
        eprintln!("windows_switch: installed in {:.1} s", started.elapsed().as_secs_f64());
    }

    /// `msiexec /x`: the service stops and is deleted, the program is gone.
    fn uninstall(&self) {
        let m = self.w.msiexec(&["/x", &msi(), "/qn"]);
        assert!(m.ok(), "uninstall failed:\n{m}");
        assert_eq!(
            self.w.wait_service(SERVICE, None, Duration::from_secs(30)),
            None,
            "the service is still there after uninstall"
        );
        assert!(!self.w.host(AGENT_EXE).exists(), "{AGENT_EXE} is still there after uninstall");
    }

    /// The status file the service keeps, read straight from the prefix (no
    /// wine process per poll); None until it is there and whole.
    fn status_file(&self) -> Option<Value> {
        let bytes = std::fs::read(self.w.host(STATUS_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Polls the status file until `pred` holds on its `link`; panics with
    /// the agent's log and the Switch's events after `WAIT`.
    #[track_caller]
    fn wait_link(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.status_file() {
                if pred(&s["link"]) {
                    return s;
                }
            }
            if Instant::now() > deadline {
                panic!("the status file never showed {what} within {WAIT:?}\n{}", self.report());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `outpost-agent.exe ARGS` under wine: exit status and stdout.
    fn agent(&self, args: &[&str]) -> (Option<i32>, String) {
        let mut argv = vec![AGENT_EXE];
        argv.extend_from_slice(args);
        let out = self.w.wine(&argv, &[]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
    }

    fn status_json(&self) -> Value {
        let (code, out) = self.agent(&["status", "--json"]);
        assert_eq!(code, Some(0), "status --json exit (0: running):\n{out}\n{}", self.report());
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json is not JSON ({e}):\n{out}"))
    }

    /// What to look at when something fails: the agent's log and status
    /// file, and what the Switch saw.
    fn report(&self) -> String {
        let log = std::fs::read_to_string(self.w.host(LOG_FILE)).unwrap_or_else(|e| format!("(no log: {e})"));
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        let status = std::fs::read_to_string(self.w.host(STATUS_FILE)).unwrap_or_else(|e| format!("(none: {e})"));
        // Where else the agent wrote a log, when it took another directory
        // for ProgramData than the MSI did.
        let drive_c = self.w.host("C:\\");
        let elsewhere: Vec<String> = find_files(&drive_c, "outpost.log", 6)
            .into_iter()
            .filter(|p| *p != self.w.host(LOG_FILE))
            .map(|p| self.w.win_path(&p))
            .collect();
        format!(
            "--- {LOG_FILE} (tail)\n{tail}\n--- {STATUS_FILE}\n{status}\n--- outpost.log elsewhere in C:: {elsewhere:?}\n--- Switch events\n{:#?}",
            self.switch.events()
        )
    }
}

fn msi() -> String {
    let file = format!("outpost-{}-x64.msi", env!("CARGO_PKG_VERSION"));
    let p: PathBuf = dist_windows().join(file);
    assert!(p.is_file(), "{} is missing", p.display());
    p.display().to_string()
}

/// Files called `name` under `dir` (not following links, skipping
/// C:\windows), at most `depth` levels down.
fn find_files(dir: &std::path::Path, name: &str, depth: usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let (path, kind) = (e.path(), e.file_type());
        if e.file_name().eq_ignore_ascii_case(name) {
            found.push(path);
        } else if depth > 0 && kind.is_ok_and(|k| k.is_dir()) && !e.file_name().eq_ignore_ascii_case("windows") {
            found.extend(find_files(&path, name, depth - 1));
        }
    }
    found
}

/// `name`'s entry in a `settings` list: (value, source).
fn setting(list: &[Value], name: &str) -> (String, String) {
    let s = list
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the settings: {list:#?}"));
    (
        s["value"].as_str().unwrap_or_default().to_string(),
        s["source"].as_str().unwrap_or_default().to_string(),
    )
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[test]
fn the_installed_service_connects_with_its_client_certificate() {
    let started = Instant::now();
    let s = Scene::new();
    let identity = s.pki.client_identity("wine-device-x64", Validity::Current);
    let client = s.w.host(CLIENT);
    identity.write_pem_bundle(&client);
    let subject = format!("CN={}", identity.common_name);
    let client_prop = format!("CLIENTCERTIFICATE={CLIENT}");
    s.install(&[&client_prop]);

    // Registered, with the certificate, as a Windows x64 machine.
    let devices = s
        .switch
        .wait_registered(1, WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.report()));
    eprintln!(
        "windows_switch: registered {:.1} s after the start",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(devices.len(), 1, "{devices:#?}");
    let device = &devices[0];
    assert_eq!(device.client_subject.as_deref(), Some(subject.as_str()));
    assert!(device.peer.ip().is_loopback(), "{}", device.peer);
    let hello = &device.hello["device"];
    assert_eq!(hello["os"]["family"], "windows", "{hello:#}");
    assert!(
        hello["os"]["version"].as_str().is_some_and(|v| v.starts_with("10.0.")),
        "a Windows 10 prefix: {hello:#}"
    );
    assert_eq!(hello["arch"], "x86_64", "{hello:#}");
    assert_eq!(hello["agent_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(hello["features"]["enabled"], json!(["client", "platform"]), "{hello:#}");
    let kept = std::fs::read_to_string(s.w.host(DEVICE_ID_FILE)).expect("the device id is kept in State");
    assert_eq!(kept.trim(), device.id, "the hello's id is the kept one");
    assert!(
        s.switch.events().iter().any(|e| matches!(
            &e.kind,
            EventKind::Hello { client_subject: Some(c), .. } if *c == subject
        )),
        "no Hello event with {subject}"
    );

    let t = Duration::from_secs(20);
    let inv = s
        .switch
        .request(&device.id, "inventory", json!({}), t)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.report()));
    assert_eq!(
        (inv["ok"].as_bool(), inv["kind"].as_str()),
        (Some(true), Some("inventory")),
        "{inv:#}"
    );
    let data = &inv["data"];
    eprintln!("windows_switch: inventory {data}");
    assert_eq!(data["device_id"], device.id.as_str());
    let hostname = data["hostname"].as_str().unwrap_or_default();
    assert!(!hostname.is_empty() && hostname != "unknown", "{data:#}");
    assert_eq!(data["hostname"], hello["hostname"], "{data:#}");
    assert_eq!(data["os"], hello["os"], "{data:#}");
    assert_eq!(data["arch"], "x86_64", "{data:#}");
    assert_eq!(data["features"]["installed"], json!(["client", "platform"]), "{data:#}");
    assert!(data["uptime"]["agent_seconds"].is_u64(), "{data:#}");
    assert!(data["uptime"]["system_seconds"].is_u64(), "{data:#}");
    for (dir, want) in [
        ("data", "C:\\ProgramData\\Outpost\\State"),
        ("temporary", "C:\\ProgramData\\Outpost\\Temp"),
    ] {
        let d = &data["disk"][dir];
        let path = d["path"].as_str().unwrap_or_default();
        assert!(
            eq_ignore_case(path, want),
            "disk.{dir}.path {path:?}, expected {want}: {data:#}"
        );
        assert!(d["free_bytes"].as_u64().is_some_and(|b| b > 0), "disk.{dir}: {data:#}");
        assert!(s.w.host(want).is_dir(), "{want} does not exist");
    }

    let settings = s
        .switch
        .request(&device.id, "settings", json!({}), t)
        .unwrap_or_else(|e| panic!("{e}\n{}", s.report()));
    assert_eq!(settings["ok"], true, "{settings:#}");
    let list = settings["data"]["settings"].as_array().expect("a settings list");
    assert_eq!(setting(list, "Switch"), (s.switch_setting(), "answers".into()));
    assert_eq!(setting(list, "TrustedCaFile"), (CA.into(), "answers".into()));
    assert_eq!(setting(list, "ClientCertificate"), (CLIENT.into(), "answers".into()));
    assert_eq!(
        setting(list, "ClientCertificatePassword"),
        ("********".into(), "answers".into())
    );
    // The MSI writes every setting, defaults included, to installer.conf.
    assert_eq!(setting(list, "HeartbeatIntervalSeconds"), ("20".into(), "answers".into()));
    assert!(
        !settings.to_string().contains(SECRET),
        "the password was revealed: {settings:#}"
    );

    let ping = s.switch.request(&device.id, "ping", json!({}), t).unwrap();
    assert_eq!(ping["data"]["pong"], true, "{ping:#}");

    // What the machine's administrator sees.
    let file = s.wait_link("connected", |l| l["phase"] == "connected");
    let link = &file["link"];
    assert_eq!(link["switch"], s.switch_setting().as_str());
    assert_eq!(link["certificate"]["in_use"]["subject"], subject.as_str(), "{link:#}");
    assert_eq!(link["certificate"]["requested_by_switch"], true, "{link:#}");
    assert_eq!(link["certificate"]["configured"], CLIENT, "{link:#}");
    assert_eq!(link["registrations"], 1, "{link:#}");
    assert_eq!(link["session"], device.session.as_deref().unwrap(), "{link:#}");
    let (code, shown) = s.agent(&["status"]);
    assert_eq!(code, Some(0), "status exit (0: running):\n{shown}\n{}", s.report());
    assert_contains(&shown, &format!("Switch {}: connected since", s.switch_setting()));
    assert_contains(
        &shown,
        &format!("client certificate: {subject} (issuer CN={}), expires", s.pki.common_name()),
    );
    assert_contains(&shown, &format!("from {CLIENT}"));
    let v = s.status_json();
    assert_eq!(v["running"], true, "{v:#}");
    assert_eq!(v["last"]["link"]["phase"], "connected", "{v:#}");
    assert_eq!(v["last"]["link"]["certificate"]["in_use"]["subject"], subject.as_str());
    let log = std::fs::read_to_string(s.w.host(LOG_FILE)).unwrap_or_default();
    assert_contains(&log, "registered with the Switch");
    assert!(!log.contains(SECRET), "the log shows the password");
    let (_, config) = s.agent(&["config", "show"]);
    assert!(!config.contains(SECRET), "config show reveals the password:\n{config}");
    assert_eq!(s.switch.hello_count(), 1, "one session throughout");

    // The uninstall stops the service, which says goodbye (1000) first.
    s.uninstall();
    let closed = s.switch.wait_event(
        Duration::from_secs(20),
        |e| matches!(&e.kind, EventKind::Closed { device_id: Some(d), .. } if *d == device.id),
    );
    match closed.map(|e| e.kind) {
        Some(EventKind::Closed { by, code, .. }) => {
            assert_eq!(
                (by, code),
                (Side::Client, Some(1000)),
                "how the session ended\n{}",
                s.report()
            )
        }
        other => panic!("the session did not end after uninstall: {other:?}\n{}", s.report()),
    }
    assert_eq!(s.switch.registered_count(), 0);
    eprintln!(
        "windows_switch: with a certificate, {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn without_a_client_certificate_the_service_is_refused_and_says_why() {
    let started = Instant::now();
    let s = Scene::new();
    s.install(&[]);

    let file = s.wait_link("the refusal", |l| {
        l["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("requires a client certificate"))
    });
    let link = &file["link"];
    assert_eq!(link["switch"], s.switch_setting().as_str(), "{link:#}");
    assert!(
        s.switch
            .wait_event(WAIT, |e| matches!(
                &e.kind,
                EventKind::TlsFailed { error } if error.contains("no certificates")
            ))
            .is_some(),
        "the Switch saw no handshake without a certificate\n{}",
        s.report()
    );

    assert_eq!(
        s.w.service(SERVICE).as_deref(),
        Some("RUNNING"),
        "a refusal is no reason to stop"
    );
    let v = s.status_json();
    assert_eq!(v["running"], true, "{v:#}");
    let link = &v["last"]["link"];
    let error = link["last_error"].as_str().unwrap_or_default();
    assert_contains(
        error,
        "the Switch requires a client certificate and none is configured (ClientCertificate)",
    );
    assert_eq!(link["certificate"]["requested_by_switch"], true, "{link:#}");
    assert_eq!(link["certificate"]["configured"], "none", "{link:#}");
    assert!(link["certificate"]["in_use"].is_null(), "{link:#}");
    assert!(link["failed_attempts"].as_u64() >= Some(1), "{link:#}");
    assert!(link["connected_since_unix"].is_null(), "{link:#}");
    assert_ne!(link["phase"], "connected", "{link:#}");
    let (_, shown) = s.agent(&["status"]);
    assert_contains(&shown, "client certificate: none configured");
    assert_contains(&shown, "the Switch asks for a client certificate and none was presented");
    assert!(!shown.contains("connected since"), "{shown}");
    let log = std::fs::read_to_string(s.w.host(LOG_FILE)).unwrap_or_default();
    assert_contains(&log, "requires a client certificate");

    assert_eq!(s.switch.hello_count(), 0, "no hello crossed a refused handshake");
    assert_eq!(s.switch.registered_count(), 0);
    s.uninstall();
    eprintln!(
        "windows_switch: without a certificate, {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}
