//! The agent's Switch link against the test Switch on loopback: the real
//! `outpost-agent run` binary, configured through its settings files under a
//! test root, and a Switch that records what it saw (TLS refusals, hellos,
//! answers). Mutual TLS off / optional / required, PEM and PKCS#12
//! identities, untrusted and misnamed Switch certificates, heartbeats through
//! an idle-timeout proxy, restarts, and hostile frames.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use outpost_test_switch::{ClientAuth, EventKind, IdleProxy, Pki, Received, SwitchConfig, TestSwitch, Validity};
use outpost_tests::*;
use serde_json::{json, Value};

const REGISTER: Duration = Duration::from_secs(30);

/// `outpost-agent run` under a Linux-layout root, stopped with SIGTERM on drop.
struct Agent {
    root: tempfile::TempDir,
    child: Child,
}

impl Agent {
    fn start(switch: &str, settings: &[(&str, &str)]) -> Agent {
        let root = tempfile::tempdir().unwrap();
        let conf = root.path().join("etc/outpost/outpost.conf");
        std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
        let mut text = format!("[Settings]\nSwitch={switch}\nTrustedCaFile=/etc/outpost/ca.pem\n");
        for (k, v) in settings {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let child = tool(agent())
            .arg("--root")
            .arg(root.path())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Agent { root, child }
    }

    /// A file at an installed path inside the root (`/etc/outpost/ca.pem`).
    fn file(&self, installed: &str) -> PathBuf {
        self.root.path().join(installed.trim_start_matches('/'))
    }

    fn status(&self) -> Value {
        let out = run(tool(agent()).arg("--root").arg(self.root.path()).args(["status", "--json"]));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("status --json: {e}: {}", text(&out)))
    }

    /// Waits until `status --json` satisfies `pred`; panics with the last one.
    #[track_caller]
    fn wait_status(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + REGISTER;
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("status never showed {what}:\n{s:#}\n--- log\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.file("/var/log/outpost/outpost.log")).unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn text_status(&self) -> String {
        text(&run(tool(agent()).arg("--root").arg(self.root.path()).arg("status")))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(15));
    }
}

/// A Switch with its PKI; `pki_dir` outlives the Switch.
struct Fixture {
    pki: Pki,
    switch: TestSwitch,
    _dir: tempfile::TempDir,
}

fn fixture(client_auth: ClientAuth) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let mut cfg = SwitchConfig::new(&pki);
    cfg.client_auth = client_auth;
    Fixture {
        switch: TestSwitch::start(cfg),
        pki,
        _dir: dir,
    }
}

/// Starts an agent that trusts the fixture's CA; `prepare` puts files into the root first.
fn agent_for(f: &Fixture, host: &str, settings: &[(&str, &str)], prepare: impl FnOnce(&Agent)) -> Agent {
    let a = Agent::start(&f.switch.switch_setting(host), settings);
    std::fs::copy(f.pki.ca_path(), a.file("/etc/outpost/ca.pem")).unwrap();
    prepare(&a);
    a
}

fn link(status: &Value) -> &Value {
    &status["last"]["link"]
}

fn registered_id(f: &Fixture, a: &Agent) -> String {
    let devices = f
        .switch
        .wait_registered(1, REGISTER)
        .unwrap_or_else(|e| panic!("{e}\nevents: {:#?}\n--- log\n{}", f.switch.events(), a.log()));
    devices[0].id.clone()
}

#[test]
fn no_certificate_needed_hello_and_every_instruction() {
    let f = fixture(ClientAuth::Off);
    let a = agent_for(&f, "localhost", &[], |_| {});
    let id = registered_id(&f, &a);
    let device = f.switch.device(&id).unwrap();
    let hello = &device.hello["device"];
    assert_eq!(hello["agent_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(hello["os"]["family"], "linux");
    assert_eq!(hello["arch"], std::env::consts::ARCH);
    assert_eq!(hello["features"]["enabled"], json!(["client", "platform"]));
    // The id is the one kept in the state directory.
    let kept = std::fs::read_to_string(a.file("/var/lib/outpost/device-id")).unwrap();
    assert_eq!(kept.trim(), id);

    let t = Duration::from_secs(10);
    let inv = f.switch.request(&id, "inventory", json!({}), t).unwrap();
    assert_eq!(
        (inv["ok"].as_bool(), inv["kind"].as_str()),
        (Some(true), Some("inventory")),
        "{inv}"
    );
    let data = &inv["data"];
    assert_eq!(data["device_id"], id.as_str());
    assert!(data["disk"]["data"]["free_bytes"].as_u64().unwrap() > 0, "{data}");
    assert!(
        data["disk"]["temporary"]["path"]
            .as_str()
            .unwrap()
            .ends_with("var/tmp/outpost"),
        "{data}"
    );
    assert!(data["uptime"]["agent_seconds"].is_u64());
    assert_eq!(data["features"]["installed"], json!(["client", "platform"]));

    let settings = f.switch.request(&id, "settings", json!({}), t).unwrap();
    let list = settings["data"]["settings"].as_array().unwrap();
    let switch = list.iter().find(|s| s["name"] == "Switch").unwrap();
    assert_eq!(
        (switch["value"].as_str(), switch["source"].as_str()),
        (Some(f.switch.switch_setting("localhost").as_str()), Some("admin"))
    );
    assert!(list
        .iter()
        .any(|s| s["name"] == "HeartbeatIntervalSeconds" && s["source"] == "built-in"));

    let ping = f.switch.request(&id, "ping", json!({}), t).unwrap();
    assert_eq!(ping["data"]["pong"], true);

    // Unknown kinds and bad versions are refused; the session stays up.
    let refused = f.switch.request(&id, "run-command", json!({"cmd": "rm -rf /"}), t).unwrap();
    assert_eq!(
        (refused["ok"].as_bool(), refused["error"]["code"].as_str()),
        (Some(false), Some("unknown-kind")),
        "{refused}"
    );
    let ping = f.switch.request(&id, "ping", json!({}), t).unwrap();
    assert_eq!(ping["ok"], true);
    assert_eq!(f.switch.hello_count(), 1, "one session throughout");

    let s = a.wait_status("connected", |s| link(s)["phase"] == "connected");
    assert_eq!(link(&s)["reconnects"], 0);
    assert!(link(&s)["connected_since_unix"].is_i64());
    let shown = a.text_status();
    assert_contains(&shown, "connected since");
    assert_contains(&shown, "client certificate: none configured");
}

#[test]
fn a_required_certificate_that_is_missing_or_expired_is_refused_and_reported() {
    let f = fixture(ClientAuth::Required);
    let none = agent_for(&f, "127.0.0.1", &[], |_| {});
    let s = none.wait_status("the refusal", |s| {
        link(s)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("requires a client certificate"))
    });
    assert_contains(link(&s)["last_error"].as_str().unwrap(), "none is configured");
    assert_eq!(link(&s)["certificate"]["requested_by_switch"], true);
    assert!(f
        .switch
        .wait_event(
            REGISTER,
            |e| matches!(&e.kind, EventKind::TlsFailed { error } if error.contains("no certificates"))
        )
        .is_some());

    let expired = f.pki.client_identity("expired-device", Validity::Expired);
    let old = agent_for(&f, "127.0.0.1", &[("ClientCertificate", "/etc/outpost/client.pem")], |a| {
        expired.write_pem_bundle(a.file("/etc/outpost/client.pem"));
    });
    let s = old.wait_status("the expired certificate", |s| {
        link(s)["certificate"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("expired"))
    });
    assert!(link(&s)["certificate"]["in_use"].is_null());
    let s = old.wait_status("a refused attempt", |s| link(s)["failed_attempts"].as_u64() >= Some(1));
    assert_contains(link(&s)["last_error"].as_str().unwrap(), "not usable");
    assert_contains(&old.text_status(), "NOT USABLE");
    assert_contains(&old.log(), "client certificate not usable");
    assert_eq!(f.switch.registered_count(), 0, "nobody got in");
}

#[test]
fn pem_and_pkcs12_certificates_are_accepted_where_required() {
    let f = fixture(ClientAuth::Required);
    let id = f.pki.client_identity("pem-device", Validity::Current);
    let pem = agent_for(&f, "localhost", &[("ClientCertificate", "/etc/outpost/client.pem")], |a| {
        id.write_pem_bundle(a.file("/etc/outpost/client.pem"));
    });
    let device = registered_id(&f, &pem);
    assert_eq!(
        f.switch.device(&device).unwrap().client_subject.as_deref(),
        Some("CN=pem-device")
    );
    let s = pem.wait_status("the certificate in use", |s| link(s)["phase"] == "connected");
    assert_eq!(link(&s)["certificate"]["in_use"]["subject"], "CN=pem-device");
    assert!(link(&s)["certificate"]["in_use"]["not_after"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // PKCS#12 as openssl writes it today (AES-256, PBKDF2) and in its legacy form (3DES/RC2, SHA-1 MAC).
    let dir = tempfile::tempdir().unwrap();
    let p12id = f.pki.client_identity("p12-device", Validity::Current);
    p12id.write_cert(dir.path().join("c.pem"));
    p12id.write_key(dir.path().join("k.pem"));
    for (name, legacy) in [("modern.p12", false), ("legacy.pfx", true)] {
        let out = dir.path().join(name);
        let mut cmd = tool("openssl");
        cmd.args(["pkcs12", "-export", "-passout", "pass:s3cret pass"])
            .arg("-in")
            .arg(dir.path().join("c.pem"))
            .arg("-inkey")
            .arg(dir.path().join("k.pem"))
            .arg("-out")
            .arg(&out);
        if legacy {
            cmd.arg("-legacy");
        }
        ok(&mut cmd);
        let installed = format!("/etc/outpost/{name}");
        let a = agent_for(
            &f,
            "localhost",
            &[
                ("ClientCertificate", &installed),
                ("ClientCertificatePassword", "s3cret pass"),
            ],
            |a| {
                std::fs::copy(&out, a.file(&installed)).unwrap();
            },
        );
        let s = a.wait_status("the PKCS#12 certificate connected", |s| link(s)["phase"] == "connected");
        assert_eq!(link(&s)["certificate"]["in_use"]["subject"], "CN=p12-device", "{name}");
        // The password never shows.
        let shown = ok(tool(agent()).arg("--root").arg(a.root.path()).args(["config", "show"]));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
    let wrong = agent_for(
        &f,
        "localhost",
        &[
            ("ClientCertificate", "/etc/outpost/c.p12"),
            ("ClientCertificatePassword", "wrong"),
        ],
        |a| {
            std::fs::copy(dir.path().join("modern.p12"), a.file("/etc/outpost/c.p12")).unwrap();
        },
    );
    wrong.wait_status("a wrong password", |s| {
        link(s)["certificate"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("wrong password"))
    });
    let p12_hellos = f
        .switch
        .events()
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Hello { client_subject: Some(s), .. } if s == "CN=p12-device"))
        .count();
    assert!(p12_hellos >= 2, "{p12_hellos} hellos with the PKCS#12 certificate");
}

#[test]
fn an_optional_certificate_switch_takes_clients_with_and_without() {
    let f = fixture(ClientAuth::Optional);
    let _bare = agent_for(&f, "localhost", &[], |_| {});
    let id = f.pki.client_identity("optional-device", Validity::Current);
    let _with = agent_for(&f, "localhost", &[("ClientCertificate", "/etc/outpost/client.pem")], |a| {
        id.write_pem_bundle(a.file("/etc/outpost/client.pem"));
    });
    let devices = f.switch.wait_registered(2, REGISTER).unwrap();
    let mut subjects: Vec<_> = devices.iter().map(|d| d.client_subject.clone()).collect();
    subjects.sort();
    assert_eq!(subjects, [None, Some("CN=optional-device".to_string())]);
}

#[test]
fn untrusted_or_misnamed_switch_certificates_are_refused() {
    // Signed by a CA the agent does not trust.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::other_ca(other_dir.path());
    let f = fixture(ClientAuth::Off);
    let mut cfg = SwitchConfig::new(&f.pki);
    cfg.identity = other.server_identity(&["localhost", "127.0.0.1"]);
    let rogue = TestSwitch::start(cfg);
    let a = Agent::start(&rogue.switch_setting("localhost"), &[]);
    std::fs::copy(f.pki.ca_path(), a.file("/etc/outpost/ca.pem")).unwrap();
    let s = a.wait_status("an untrusted certificate", |s| {
        link(s)["last_error"].as_str().is_some_and(|e| e.contains("UnknownIssuer"))
    });
    assert_eq!(link(&s)["phase"], "waiting");
    // Trusted CA, but for another name.
    let mut cfg = SwitchConfig::new(&f.pki);
    cfg.identity = f.pki.server_identity(&["switch.other.example"]);
    let misnamed = TestSwitch::start(cfg);
    let b = Agent::start(&misnamed.switch_setting("localhost"), &[]);
    std::fs::copy(f.pki.ca_path(), b.file("/etc/outpost/ca.pem")).unwrap();
    b.wait_status("a name mismatch", |s| {
        link(s)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not valid for name \"localhost\""))
    });
    assert_eq!(
        rogue.hello_count() + misnamed.hello_count(),
        0,
        "no hello crossed an unverified link"
    );
    // A TrustedCaFile that does not exist is named.
    let c = Agent::start(&f.switch.switch_setting("localhost"), &[]);
    c.wait_status("the missing TrustedCaFile", |s| {
        link(s)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("TrustedCaFile") && e.contains("ca.pem"))
    });
}

/// A middlebox that drops connections idle for 30 s: with heartbeats every
/// 10 s the session outlives it; with heartbeats every 60 s the same link is
/// cut and the agent has to come back (so the first half can fail).
#[test]
fn heartbeats_keep_a_link_through_a_30_second_idle_timeout() {
    let f = fixture(ClientAuth::Off);
    let proxy_hb = IdleProxy::start(f.switch.addr(), Duration::from_secs(30));
    let proxy_slow = IdleProxy::start(f.switch.addr(), Duration::from_secs(30));
    let kept = Agent::start(
        &format!("localhost:{}", proxy_hb.addr().port()),
        &[("HeartbeatIntervalSeconds", "10")],
    );
    let cut = Agent::start(
        &format!("localhost:{}", proxy_slow.addr().port()),
        &[("HeartbeatIntervalSeconds", "60"), ("ReconnectSpreadSeconds", "0")],
    );
    for a in [&kept, &cut] {
        std::fs::copy(f.pki.ca_path(), a.file("/etc/outpost/ca.pem")).unwrap();
    }
    let devices = f.switch.wait_registered(2, REGISTER).unwrap();
    let id_of = |a: &Agent| {
        std::fs::read_to_string(a.file("/var/lib/outpost/device-id"))
            .unwrap()
            .trim()
            .to_string()
    };
    let (kept_id, cut_id) = (id_of(&kept), id_of(&cut));
    assert!(devices.iter().any(|d| d.id == kept_id) && devices.iter().any(|d| d.id == cut_id));
    std::thread::sleep(Duration::from_secs(45));
    let hellos = |id: &str| {
        f.switch
            .events()
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Hello { device_id, .. } if device_id == id))
            .count()
    };
    assert_eq!(proxy_hb.idle_closes(), 0, "the heartbeat link went idle");
    assert_eq!(hellos(&kept_id), 1, "the heartbeat link was re-established");
    assert!(
        f.switch.ping_times(&kept_id).len() >= 4,
        "pings every 10 s: {:?}",
        f.switch.ping_times(&kept_id).len()
    );
    assert!(proxy_slow.idle_closes() >= 1, "the control link was never idle-closed");
    assert!(
        f.switch.wait_until(REGISTER, |_| hellos(&cut_id) >= 2),
        "the cut link did not come back"
    );
    let answer = f
        .switch
        .request(&kept_id, "ping", json!({}), Duration::from_secs(10))
        .unwrap();
    assert_eq!(answer["ok"], true);
}

#[test]
fn the_agent_comes_back_after_a_switch_restart() {
    let f = fixture(ClientAuth::Off);
    let a = agent_for(&f, "localhost", &[("ReconnectSpreadSeconds", "3")], |_| {});
    let id = registered_id(&f, &a);
    f.switch.stop();
    let s = a.wait_status("the link down", |s| link(s)["phase"] == "waiting");
    // The Switch's going-away close (1001), or, when the first reconnect
    // (spread over 0-3 s) came before this status was read, the refusal
    // of the stopped Switch's port.
    let why = link(&s)["last_error"].as_str().unwrap().to_string();
    assert!(why.contains("1001") || why.contains("Connection refused"), "{why}");
    f.switch.restart();
    f.switch.wait_hellos(2, REGISTER).unwrap();
    f.switch.wait_registered(1, REGISTER).unwrap();
    let s = a.wait_status("one reconnect", |s| {
        link(s)["phase"] == "connected" && link(s)["reconnects"] == 1
    });
    assert_eq!(link(&s)["registrations"], 2);
    let again = f
        .switch
        .request(&id, "inventory", json!({}), Duration::from_secs(10))
        .unwrap();
    assert_eq!(again["data"]["device_id"], id.as_str(), "same device id after the restart");
}

/// Hundreds of hostile frames: random bytes and JSON shapes, wrong types,
/// huge ids, oversized and binary frames. The agent answers or closes with a
/// reason, comes back, and never dies.
#[test]
fn hostile_frames_never_crash_the_agent() {
    let f = fixture(ClientAuth::Off);
    let mut a = agent_for(&f, "localhost", &[("ReconnectSpreadSeconds", "0")], |_| {});
    let id = registered_id(&f, &a);
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let shapes = [
        r#"{"type":"instruction"}"#.to_string(),
        r#"{"type":"instruction","id":{"a":1},"kind":"ping"}"#.into(),
        r#"{"type":"instruction","id":"1","kind":"inventory","args":"rm -rf /"}"#.into(),
        r#"{"type":"instruction","id":"1","kind":"settings","version":99}"#.into(),
        r#"{"type":"welcome","protocol":1}"#.into(),
        r#"{"type":null}"#.into(),
        r#"{"type":"reboot","now":true}"#.into(),
        "null".into(),
        "[]".into(),
        "\"\\ud800\"".into(),
        format!(r#"{{"type":"instruction","id":"{}","kind":"ping"}}"#, "9".repeat(5000)),
        format!("{}", "[".repeat(10_000)),
        format!(r#"{{"type":"instruction","id":"x","kind":"{}"}}"#, "k".repeat(60_000)),
    ];
    let mut sent = 0;
    let mut closes = 0;
    let id_ref = id.as_str();
    let answered = |n: usize| move |s: &TestSwitch| s.messages(id_ref).len() > n || s.registered_count() == 0;
    for round in 0..300 {
        // The agent closes on purpose (binary, oversized, error budget): wait for it to come back.
        if f.switch.registered_count() == 0 {
            closes += 1;
            assert!(
                f.switch.wait_until(REGISTER, |s| s.registered_count() == 1),
                "no return after round {round}"
            );
        }
        let before = f.switch.messages(&id).len();
        let frame = match rng.u8(0..10) {
            0..=3 => shapes[rng.usize(0..shapes.len())].clone(),
            4..=6 => (0..rng.usize(0..200)).map(|_| rng.char('\u{0}'..='\u{10ffff}')).collect(),
            7 => {
                let kind = ["ping", "inventory", "settings", "exec"][rng.usize(0..4)];
                json!({"type": "instruction", "id": rng.u64(..).to_string(), "kind": kind, "args": {}}).to_string()
            }
            8 if rng.u8(0..8) == 0 => "x".repeat(70_000),
            8 => (0..rng.usize(0..300)).map(|_| rng.alphanumeric()).collect(),
            _ if rng.u8(0..10) == 0 => {
                if f.switch
                    .send_binary(&id, (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect())
                    .is_ok()
                {
                    sent += 1;
                }
                f.switch.wait_until(Duration::from_secs(5), answered(before));
                continue;
            }
            _ => "{\"type\":\"instruction\",\"id\":\"ok\",\"kind\":\"ping\"}".into(),
        };
        if f.switch.send_text(&id, frame).is_ok() {
            sent += 1;
            // Every text frame gets an answer, or the session ends with a reason.
            assert!(
                f.switch.wait_until(Duration::from_secs(5), answered(before)),
                "round {round}: no answer and no close"
            );
        }
        assert!(a.alive(), "the agent died after {sent} frames\n{}", a.log());
    }
    assert!(sent >= 250, "only {sent} frames went out");
    assert!(closes >= 1, "no binary or oversized frame closed a session");
    assert!(f.switch.wait_until(REGISTER, |s| s.registered_count() == 1));
    let answer = f.switch.request(&id, "ping", json!({}), Duration::from_secs(10)).unwrap();
    assert_eq!(
        answer["ok"], true,
        "the agent still answers after {sent} hostile frames and {closes} closes"
    );
    // Errors were answered, not ignored: every kind of refusal shows up.
    let codes: std::collections::BTreeSet<String> = f
        .switch
        .messages(&id)
        .iter()
        .filter_map(Received::json)
        .filter_map(|m| m["code"].as_str().or(m["error"]["code"].as_str()).map(str::to_string))
        .collect();
    for code in [
        "malformed",
        "unknown-type",
        "unknown-kind",
        "unsupported-version",
        "unexpected",
    ] {
        assert!(codes.contains(code), "no `{code}` among {codes:?}");
    }
    assert!(a.alive());
}

/// A `ClientCertificate` the schema lets through but the agent cannot use (a
/// relative path, a store selector off Windows): reported, and a Switch that
/// does not ask for a certificate still gets the device.
#[test]
fn an_unusable_certificate_setting_is_reported_and_the_link_goes_on() {
    let f = fixture(ClientAuth::Off);
    let rel = agent_for(&f, "localhost", &[("ClientCertificate", "certs/client.pem")], |_| {});
    let store = agent_for(
        &f,
        "localhost",
        &[("ClientCertificate", "store:LocalMachine\\My?subject=ws")],
        |_| {},
    );
    f.switch.wait_registered(2, REGISTER).unwrap();
    let s = rel.wait_status("the relative path", |s| link(s)["phase"] == "connected");
    assert_contains(
        link(&s)["certificate"]["problem"].as_str().unwrap(),
        "neither empty, an absolute path",
    );
    let s = store.wait_status("the store selector", |s| link(s)["phase"] == "connected");
    assert_contains(link(&s)["certificate"]["problem"].as_str().unwrap(), "only on Windows");
    assert_contains(&rel.text_status(), "NOT USABLE");
}
