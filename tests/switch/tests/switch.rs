//! The test Switch against a minimal client written here (tokio-tungstenite over rustls), so
//! the Switch is checked by something other than the agent it is meant to test.

use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use outpost_test_switch::{ClientAuth, EventKind, Identity, IdleProxy, Pki, Side, SwitchConfig, TestSwitch, Validity};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TlsStream<TcpStream>>;

const T: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn switch_with(pki: &Pki, change: impl FnOnce(&mut SwitchConfig)) -> TestSwitch {
    let mut cfg = SwitchConfig::new(pki);
    change(&mut cfg);
    TestSwitch::start(cfg)
}

/// TLS (trusting `ca_pem` only) and the upgrade to `path`, offering `outpost.v1`.
async fn connect(addr: SocketAddr, ca_pem: &str, identity: Option<&Identity>, path: &str) -> Result<Ws, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in <rustls_pki_types::CertificateDer as rustls_pki_types::pem::PemObject>::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some(id) => builder.with_client_auth_cert(id.cert_chain_der(), id.key_der()).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let mut request = format!("wss://localhost:{}{path}", addr.port())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("outpost.v1"));
    let (ws, response) = tokio_tungstenite::client_async(request, tls)
        .await
        .map_err(|e| format!("upgrade: {e}"))?;
    let selected = response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok());
    if selected != Some("outpost.v1") {
        return Err(format!("subprotocol not selected: {selected:?}"));
    }
    Ok(ws)
}

fn hello(device_id: &str) -> Value {
    json!({"type": "hello", "protocol": 1,
           "device": {"id": device_id, "hostname": "test-host", "os": {"family": "linux", "name": "Debian GNU/Linux", "version": "12"},
                      "arch": "x86_64", "agent_version": "2.1.0",
                      "features": {"installed": ["client", "platform"], "enabled": ["client", "platform"]}}})
}

/// How a scripted agent's session ended.
#[derive(Debug, Default)]
struct Outcome {
    welcome: Option<Value>,
    close: Option<(u16, String)>,
}

/// Plays the agent: hello, then answers instructions with `{"echo": args}`, non-JSON with an
/// error, binary with close 1003; returns when the link closes (bounded by 30 s).
async fn agent(mut ws: Ws, device_id: String) -> Outcome {
    let mut outcome = Outcome::default();
    ws.send(Message::text(hello(&device_id).to_string())).await.unwrap();
    let run = async {
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
                    Ok(v) if v["type"] == "welcome" => outcome.welcome = Some(v),
                    Ok(v) if v["type"] == "instruction" => {
                        let result =
                            json!({"type": "result", "id": v["id"], "kind": v["kind"], "ok": true, "data": {"echo": v["args"]}});
                        ws.send(Message::text(result.to_string())).await.unwrap();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let error = json!({"type": "error", "code": "malformed", "message": format!("not JSON: {e}")});
                        ws.send(Message::text(error.to_string())).await.unwrap();
                    }
                },
                Message::Binary(_) => {
                    let frame = CloseFrame {
                        code: CloseCode::Unsupported,
                        reason: "binary frame".into(),
                    };
                    let _ = ws.send(Message::Close(Some(frame))).await;
                }
                Message::Close(frame) => {
                    outcome.close = frame.map(|f| (u16::from(f.code), f.reason.as_str().to_string()));
                }
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), run).await;
    outcome
}

fn closed_by(switch: &TestSwitch, by: Side, code: u16) -> Option<outpost_test_switch::Event> {
    switch.wait_event(
        T,
        |e| matches!(&e.kind, EventKind::Closed { by: b, code: Some(c), .. } if *b == by && *c == code),
    )
}

#[test]
fn hello_welcome_request_and_raw_frames() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    assert!(dir.path().join("ca.pem").exists());
    let switch = switch_with(&pki, |_| {});
    assert!(switch.addr().ip().is_loopback() && switch.addr().port() != 0);
    let rt = runtime();

    let ws = rt
        .block_on(connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1"))
        .unwrap();
    let task = rt.spawn(agent(ws, "dev-1".into()));
    let devices = switch.wait_registered(1, T).unwrap();
    assert_eq!(devices.len(), 1);
    let device = &devices[0];
    assert_eq!(device.id, "dev-1");
    assert_eq!(device.hello, hello("dev-1"));
    assert_eq!(device.client_subject, None);
    assert!(device.session.as_deref().is_some_and(|s| !s.is_empty()));
    assert_eq!(switch.hello_count(), 1);
    assert_eq!(switch.hello_times().len(), 1);

    let result = switch.request("dev-1", "ping", json!({"x": 1}), T).unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["kind"], "ping");
    assert_eq!(result["data"]["echo"], json!({"x": 1}));
    let second = switch.request("dev-1", "inventory", json!({}), T).unwrap();
    assert_ne!(result["id"], second["id"], "instruction ids are fresh");
    assert!(switch
        .request("nobody", "ping", json!({}), T)
        .unwrap_err()
        .contains("not connected"));

    switch.send_text("dev-1", "{not json".into()).unwrap();
    let error = switch.next_message("dev-1", T).expect("an error message");
    assert_eq!(error.message_type(), Some("error"));
    assert_eq!(error.json().unwrap()["code"], "malformed");
    assert_eq!(
        switch.next_message("dev-1", Duration::from_millis(100)),
        None,
        "results were not left unread"
    );

    switch.send_binary("dev-1", vec![1, 2, 3]).unwrap();
    let outcome = rt.block_on(task).unwrap();
    assert_eq!(outcome.welcome.as_ref().unwrap()["protocol"], 1);
    assert_eq!(
        outcome.welcome.as_ref().unwrap()["session"].as_str(),
        device.session.as_deref()
    );
    let closed = closed_by(&switch, Side::Client, 1003).expect("client closed with 1003");
    assert!(matches!(closed.kind, EventKind::Closed { device_id: Some(ref d), .. } if d == "dev-1"));
    switch.wait_until(T, |s| s.devices().is_empty());
    assert!(switch.devices().is_empty(), "closed session is no longer registered");

    let log = switch.messages("dev-1");
    let types: Vec<_> = log.iter().map(|m| m.message_type().unwrap_or("?")).collect();
    assert_eq!(types, ["hello", "result", "result", "error"]);
    let kinds: Vec<_> = switch.events().iter().map(|e| std::mem::discriminant(&e.kind)).collect();
    assert_eq!(kinds[0], std::mem::discriminant(&EventKind::Accepted));
    assert!(switch
        .events()
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Hello { device_id, .. } if device_id == "dev-1")));
}

#[test]
fn required_client_auth_refuses_without_a_valid_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("trusted"));
    let other = Pki::other_ca(&dir.path().join("other"));
    assert_ne!(pki.ca_pem(), other.ca_pem());
    let switch = switch_with(&pki, |c| c.client_auth = ClientAuth::Required);
    let rt = runtime();

    let failures = || -> Vec<String> {
        switch
            .events()
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::TlsFailed { error } => Some(error),
                _ => None,
            })
            .collect()
    };
    // The n-th TLS failure the Switch recorded (1-based).
    let tls_failure = |n: usize| -> String {
        assert!(
            switch.wait_until(T, |_| failures().len() >= n),
            "only {} TLS failures",
            failures().len()
        );
        failures()[n - 1].clone()
    };

    let err = rt
        .block_on(connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1"))
        .unwrap_err();
    assert!(!err.is_empty());
    assert_eq!(tls_failure(1), "peer sent no certificates");

    let expired = pki.client_identity("dev-old", Validity::Expired);
    assert!(rt
        .block_on(connect(switch.addr(), pki.ca_pem(), Some(&expired), "/outpost/v1"))
        .is_err());
    assert!(tls_failure(2).contains("expired"), "{}", tls_failure(2));

    let stranger = other.client_identity("dev-x", Validity::Current);
    assert!(rt
        .block_on(connect(switch.addr(), pki.ca_pem(), Some(&stranger), "/outpost/v1"))
        .is_err());
    assert!(tls_failure(3).contains("UnknownIssuer"), "{}", tls_failure(3));

    let good = pki.client_identity("dev-7", Validity::Current);
    let ws = rt
        .block_on(connect(switch.addr(), pki.ca_pem(), Some(&good), "/outpost/v1"))
        .unwrap();
    rt.spawn(agent(ws, "dev-7".into()));
    let devices = switch.wait_registered(1, T).unwrap();
    assert_eq!(devices[0].client_subject.as_deref(), Some("CN=dev-7"));
    assert_eq!(switch.hello_count(), 1);
}

#[test]
fn optional_and_off_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let identity = pki.client_identity("dev-opt", Validity::Current);
    let rt = runtime();

    let optional = switch_with(&pki, |c| c.client_auth = ClientAuth::Optional);
    let ws = rt
        .block_on(connect(optional.addr(), pki.ca_pem(), None, "/outpost/v1"))
        .unwrap();
    rt.spawn(agent(ws, "anon".into()));
    let ws = rt
        .block_on(connect(optional.addr(), pki.ca_pem(), Some(&identity), "/outpost/v1"))
        .unwrap();
    rt.spawn(agent(ws, "dev-opt".into()));
    optional.wait_registered(2, T).unwrap();
    assert_eq!(optional.device("anon").unwrap().client_subject, None);
    assert_eq!(
        optional.device("dev-opt").unwrap().client_subject.as_deref(),
        Some("CN=dev-opt")
    );

    // Off: no certificate request, so even a client that has one sends none.
    let off = switch_with(&pki, |_| {});
    let ws = rt
        .block_on(connect(off.addr(), pki.ca_pem(), Some(&identity), "/outpost/v1"))
        .unwrap();
    rt.spawn(agent(ws, "dev-off".into()));
    let devices = off.wait_registered(1, T).unwrap();
    assert_eq!(devices[0].client_subject, None);
}

#[test]
fn wrong_path_is_404_and_untrusting_client_fails_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("a"));
    let other = Pki::other_ca(&dir.path().join("b"));
    let switch = switch_with(&pki, |_| {});
    let rt = runtime();

    let err = rt.block_on(connect(switch.addr(), pki.ca_pem(), None, "/other")).unwrap_err();
    assert!(err.contains("404"), "{err}");
    let event = switch
        .wait_event(T, |e| matches!(e.kind, EventKind::WebSocketFailed { .. }))
        .unwrap();
    match event.kind {
        EventKind::WebSocketFailed { path, error } => {
            assert_eq!(path.as_deref(), Some("/other"));
            assert!(error.contains("404"), "{error}");
        }
        _ => unreachable!(),
    }

    // A client that trusts another CA refuses the Switch; the Switch hears the alert.
    let err = rt
        .block_on(connect(switch.addr(), other.ca_pem(), None, "/outpost/v1"))
        .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    let event = switch
        .wait_event(T, |e| matches!(e.kind, EventKind::TlsFailed { .. }))
        .unwrap();
    assert!(
        matches!(&event.kind, EventKind::TlsFailed { error } if error.contains("UnknownCA")),
        "{event:?}"
    );
    assert_eq!(switch.hello_count(), 0);
}

#[test]
fn subprotocol_can_be_withheld() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |c| c.select_subprotocol = false);
    let err = runtime()
        .block_on(connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1"))
        .unwrap_err();
    assert!(err.contains("subprotocol") || err.contains("SubProtocol"), "{err}");
}

#[test]
fn stop_closes_with_1001_and_restart_reuses_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |_| {});
    let addr = switch.addr();
    let rt = runtime();

    let ws = rt.block_on(connect(addr, pki.ca_pem(), None, "/outpost/v1")).unwrap();
    let task = rt.spawn(agent(ws, "dev-r".into()));
    switch.wait_registered(1, T).unwrap();

    switch.stop();
    assert!(!switch.is_listening());
    let outcome = rt.block_on(task).unwrap();
    assert_eq!(outcome.close, Some((1001, "switch restarting".to_string())));
    assert!(closed_by(&switch, Side::Switch, 1001).is_some());
    assert!(switch.devices().is_empty());
    assert!(
        StdTcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "port still open after stop"
    );

    switch.restart();
    assert_eq!(switch.addr(), addr);
    let ws = rt.block_on(connect(addr, pki.ca_pem(), None, "/outpost/v1")).unwrap();
    rt.spawn(agent(ws, "dev-r".into()));
    switch.wait_registered(1, T).unwrap();
    assert_eq!(switch.hello_count(), 2);
    let times = switch.hello_times();
    assert!(times[1] > times[0]);
}

#[test]
fn without_welcome_the_hello_is_recorded_but_not_registered() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |c| c.welcome = false);
    let rt = runtime();
    let ws = rt
        .block_on(connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1"))
        .unwrap();
    let task = rt.spawn(agent(ws, "dev-w".into()));
    switch.wait_hellos(1, T).unwrap();
    assert!(switch.wait_registered(1, Duration::from_millis(300)).is_err());
    let device = switch.device("dev-w").unwrap();
    assert_eq!(device.session, None);
    switch.close_session("dev-w", 1000, "bye").unwrap();
    let outcome = rt.block_on(task).unwrap();
    assert_eq!(outcome.welcome, None);
    assert_eq!(outcome.close, Some((1000, "bye".into())));
}

#[test]
fn bad_hello_and_oversized_message_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |_| {});
    let rt = runtime();

    let (close, after) = rt.block_on(async {
        let mut ws = connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1").await.unwrap();
        let bad = json!({"type": "hello", "protocol": 2, "device": {"id": "dev-b"}});
        ws.send(Message::text(bad.to_string())).await.unwrap();
        let close = tokio::time::timeout(T, ws.next()).await.unwrap();

        let mut ws = connect(switch.addr(), pki.ca_pem(), None, "/outpost/v1").await.unwrap();
        ws.send(Message::text(hello("dev-big").to_string())).await.unwrap();
        let _welcome = tokio::time::timeout(T, ws.next()).await.unwrap();
        ws.send(Message::text("x".repeat(70_000))).await.unwrap();
        let after = tokio::time::timeout(T, ws.next()).await.unwrap();
        (close, after)
    });
    assert!(
        matches!(close, Some(Ok(Message::Close(Some(ref f)))) if u16::from(f.code) == 1008),
        "{close:?}"
    );
    assert!(switch
        .events()
        .iter()
        .any(|e| matches!(&e.kind, EventKind::BadHello { error } if error.contains("protocol 2"))));
    assert!(
        matches!(after, Some(Ok(Message::Close(Some(ref f)))) if u16::from(f.code) == 1009),
        "{after:?}"
    );
    assert!(closed_by(&switch, Side::Switch, 1009).is_some());
    assert_eq!(switch.hello_count(), 1);
}

/// An echo server on the test runtime, as the upstream of the proxy.
fn echo_server(rt: &Runtime) -> SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        for _ in 0..16 {
            let Ok((mut s, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn idle_proxy_closes_idle_links_and_keeps_busy_ones() {
    let rt = runtime();
    let upstream = echo_server(&rt);
    let proxy = IdleProxy::start(upstream, Duration::from_millis(300));
    assert!(proxy.addr().ip().is_loopback());

    rt.block_on(async {
        // A byte every 100 ms for 1.5 s (five idle periods), while the other link goes quiet.
        let mut busy = TcpStream::connect(proxy.addr()).await.unwrap();
        let busy = tokio::spawn(async move {
            for i in 0..15u8 {
                busy.write_all(&[i]).await.map_err(|e| format!("write {i}: {e}"))?;
                let mut b = [0u8; 1];
                match tokio::time::timeout(Duration::from_secs(2), busy.read_exact(&mut b)).await {
                    Ok(Ok(_)) if b[0] == i => {}
                    other => return Err(format!("echo {i}: {other:?} {b:?}")),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok::<_, String>(())
        });

        let mut idle = TcpStream::connect(proxy.addr()).await.unwrap();
        idle.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        idle.read_exact(&mut b).await.unwrap();
        let last = Instant::now();
        let n = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut b))
            .await
            .expect("closed within 3 s")
            .unwrap_or(0);
        let waited = last.elapsed();
        assert_eq!(n, 0, "the idle link was closed");
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_millis(1500),
            "closed after {waited:?}"
        );
        assert_eq!(proxy.idle_closes(), 1);

        busy.await.unwrap().unwrap();
        assert_eq!(proxy.idle_closes(), 1, "the busy link was never idle");
    });
    assert_eq!(proxy.connections(), 2);
}

#[test]
fn tls_passes_through_the_idle_proxy_until_the_link_goes_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |_| {});
    let proxy = IdleProxy::start(switch.addr(), Duration::from_millis(500));
    let rt = runtime();

    let ws = rt.block_on(connect(proxy.addr(), pki.ca_pem(), None, "/outpost/v1")).unwrap();
    let task = rt.spawn(agent(ws, "dev-p".into()));
    switch.wait_registered(1, T).unwrap();
    assert_eq!(switch.request("dev-p", "ping", json!({}), T).unwrap()["type"], "result");
    // Nobody pings, so the proxy cuts the link; both ends see it end without a close frame.
    let closed = switch
        .wait_event(T, |e| matches!(e.kind, EventKind::Closed { by: Side::Transport, .. }))
        .expect("link cut");
    assert!(matches!(&closed.kind, EventKind::Closed { device_id: Some(d), .. } if d == "dev-p"));
    assert_eq!(proxy.idle_closes(), 1);
    let outcome = rt.block_on(task).unwrap();
    assert!(outcome.welcome.is_some());
    assert_eq!(outcome.close, None);
}

#[test]
fn reopened_pki_issues_certificates_the_first_ca_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let first = Pki::new(dir.path());
    let reopened = Pki::open_or_create(dir.path());
    assert_eq!(reopened.ca_pem(), first.ca_pem());
    assert_eq!(reopened.common_name(), "Outpost Test CA");
    let client = reopened.client_identity("dev-re", Validity::Current);
    client.write_pem_bundle(dir.path().join("client.pem"));
    let bundle = std::fs::read_to_string(dir.path().join("client.pem")).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(bundle.matches("BEGIN PRIVATE KEY").count(), 1);

    // Server leaf from the reopened CA, client CA = the original PEM: both directions verify.
    let switch = switch_with(&first, |c| {
        c.identity = reopened.server_identity(&["localhost", "127.0.0.1"]);
        c.client_auth = ClientAuth::Required;
    });
    let rt = runtime();
    let ws = rt
        .block_on(connect(switch.addr(), first.ca_pem(), Some(&client), "/outpost/v1"))
        .unwrap();
    rt.spawn(agent(ws, "dev-re".into()));
    assert_eq!(
        switch.wait_registered(1, T).unwrap()[0].client_subject.as_deref(),
        Some("CN=dev-re")
    );
}

#[test]
fn not_yet_valid_and_expired_identities_have_the_dates_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let now = time::OffsetDateTime::now_utc();
    let expired = pki.client_identity("a", Validity::Expired);
    assert!(expired.not_after < now);
    let future = pki.client_identity("b", Validity::NotYetValid);
    assert!(future.not_before > now);
    let current = pki.client_identity("c", Validity::Current);
    assert!(current.not_before < now && current.not_after > now);
    let der = &current.cert_chain_der()[0];
    assert_eq!(outpost_test_switch::pki::subject_string(der).as_deref(), Some("CN=c"));
    let ca = &current.cert_chain_der()[1];
    assert_eq!(
        outpost_test_switch::pki::subject_string(ca).as_deref(),
        Some("CN=Outpost Test CA")
    );
}

#[test]
fn a_thousand_concurrent_sessions() {
    const N: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let switch = switch_with(&pki, |_| {});
    let rt = runtime();
    let started = Instant::now();
    let ca = pki.ca_pem().to_string();
    let addr = switch.addr();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let ca = ca.clone();
            rt.spawn(async move {
                let ws = connect(addr, &ca, None, "/outpost/v1").await.unwrap();
                agent(ws, format!("dev-{i}")).await
            })
        })
        .collect();
    let devices = switch.wait_registered(N, Duration::from_secs(120)).unwrap();
    eprintln!("{N} sessions registered in {:?}", started.elapsed());
    assert_eq!(devices.len(), N);
    assert_eq!(switch.request("dev-500", "ping", json!({}), T).unwrap()["type"], "result");

    switch.stop();
    let outcomes = rt.block_on(async {
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        all
    });
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.close == Some((1001, "switch restarting".into())))
            .count(),
        N
    );
    assert_eq!(switch.hello_count(), N);
}

#[test]
fn the_binary_prints_listening_hello_and_stats_and_stops_on_sigterm() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost-test-switch"))
        .args(["--pki", dir.path().join("pki").to_str().unwrap(), "--client-auth", "optional"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok).take(1000) {
            if tx.send(serde_json::from_str::<Value>(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        let deadline = Instant::now() + T;
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no {what} line"));
            if line["event"] == what {
                return line;
            }
        }
    };
    let listening = next("listening");
    let addr: SocketAddr = listening["addr"].as_str().unwrap().parse().unwrap();
    assert!(addr.ip().is_loopback());
    let ca = std::fs::read_to_string(dir.path().join("pki/ca.pem")).unwrap();

    let rt = runtime();
    let ws = rt.block_on(connect(addr, &ca, None, "/outpost/v1")).unwrap();
    let task = rt.spawn(agent(ws, "dev-bin".into()));
    let hello = next("hello");
    assert_eq!(hello["device"], "dev-bin");
    assert!(hello["unix_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let stats = loop {
        let stats = next("stats");
        if stats["registered"] == 1 {
            break stats;
        }
    };
    assert_eq!(stats["hellos_total"], 1);
    assert!(stats["rss_kb"].as_u64().unwrap() > 0);

    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(next("stopped")["signal"], "SIGTERM");
    let outcome = rt.block_on(task).unwrap();
    assert_eq!(outcome.close, Some((1001, "switch restarting".into())));
    let deadline = Instant::now() + T;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
