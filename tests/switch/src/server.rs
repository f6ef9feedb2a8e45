//! `TestSwitch`: the synchronous face of a WSS Switch that runs on its own tokio runtime, so
//! tests stay plain `#[test]` functions and can block while agents (separate processes or
//! threads) talk to it.
//!
//! The API blocks; call it from ordinary threads, not from inside an async runtime.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{mpsc as std_mpsc, Arc, Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::events::{unix_ms, Device, Event, EventKind, Received};
use crate::pki::{Identity, Pki};
use crate::session;

/// The HTTP path of the upgrade; anything else is answered 404.
pub const PATH: &str = "/outpost/v1";
pub const SUBPROTOCOL: &str = "outpost.v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No CertificateRequest: clients send no certificate.
    Off,
    /// Ask; a client without a certificate is still accepted (one with a bad one is not).
    Optional,
    /// Ask and refuse the handshake without a valid certificate.
    Required,
}

#[derive(Clone, Debug)]
pub struct SwitchConfig {
    pub listen: SocketAddr,
    pub identity: Identity,
    pub client_auth: ClientAuth,
    /// PEM of the CA(s) client certificates must chain to; needed unless `client_auth` is Off.
    pub client_ca: Option<String>,
    /// false: take the hello but never answer it, to exercise the client's welcome timeout.
    pub welcome: bool,
    /// false: complete the upgrade without selecting `outpost.v1`, which a client must refuse.
    pub select_subprotocol: bool,
    /// Largest frame and message accepted from a client; a larger one is closed with 1009.
    pub max_message: usize,
}

impl SwitchConfig {
    /// 127.0.0.1 on a free port, a server certificate for localhost/127.0.0.1/::1 from `pki`,
    /// client certificates checked against `pki`'s CA when asked for (Off by default).
    pub fn new(pki: &Pki) -> SwitchConfig {
        SwitchConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            identity: pki.server_identity(&["localhost", "127.0.0.1", "::1"]),
            client_auth: ClientAuth::Off,
            client_ca: Some(pki.ca_pem().to_string()),
            welcome: true,
            select_subprotocol: true,
            max_message: 65536,
        }
    }
}

/// Messages from the API to one session's task.
#[derive(Debug)]
pub(crate) enum Command {
    Text(String),
    Binary(Vec<u8>),
    Close(u16, String),
}

/// A connected session that said hello.
pub(crate) struct Live {
    pub device: Device,
    pub tx: mpsc::UnboundedSender<Command>,
}

/// Everything a device sent, kept across its sessions.
#[derive(Default)]
pub(crate) struct Mailbox {
    pub log: Vec<Received>,
    /// Messages not consumed as the answer to a `request` and not yet taken by `next_message`.
    pub unread: VecDeque<Received>,
    /// Request id -> its result once it arrives.
    pub pending: HashMap<String, Option<Value>>,
    pub pings: Vec<Instant>,
}

#[derive(Default)]
pub(crate) struct State {
    pub events: Vec<Event>,
    pub subscribers: Vec<std_mpsc::Sender<Event>>,
    pub hello_times: Vec<Instant>,
    pub live: HashMap<String, Live>,
    pub mailboxes: HashMap<String, Mailbox>,
    pub next_conn: u64,
    pub next_request: u64,
    pub next_session: u64,
}

pub(crate) struct Shared {
    pub cfg: SwitchConfig,
    pub tls: Arc<ServerConfig>,
    pub state: Mutex<State>,
    /// Signalled on every change of `state`, for the blocking waits.
    pub changed: Condvar,
    /// Distinguishes session strings of different `TestSwitch`es and processes.
    pub instance: String,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn event(&self, conn: u64, peer: SocketAddr, kind: EventKind) {
        let event = Event {
            conn,
            peer,
            at: Instant::now(),
            unix_ms: unix_ms(),
            kind,
        };
        let mut st = self.lock();
        st.subscribers.retain(|s| s.send(event.clone()).is_ok());
        st.events.push(event);
        drop(st);
        self.changed.notify_all();
    }
}

struct Running {
    shutdown: watch::Sender<bool>,
    done: std_mpsc::Receiver<()>,
}

pub struct TestSwitch {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    addr: SocketAddr,
    running: Mutex<Option<Running>>,
}

impl TestSwitch {
    /// Listens on `cfg.listen`; panics if the configuration or the bind fails.
    pub fn start(cfg: SwitchConfig) -> TestSwitch {
        raise_fd_limit();
        let tls = Arc::new(tls_config(&cfg).unwrap_or_else(|e| panic!("TLS configuration: {e}")));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-switch")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let instance = format!("{:x}-{:x}", std::process::id(), unix_ms());
        let listen = cfg.listen;
        let shared = Arc::new(Shared {
            cfg,
            tls,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            instance,
        });
        let mut switch = TestSwitch {
            runtime: Some(runtime),
            shared,
            addr: listen,
            running: Mutex::new(None),
        };
        switch.addr = switch.listen(listen).unwrap_or_else(|e| panic!("listen on {listen}: {e}"));
        switch
    }

    /// The bound address (the real port when the config said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss://127.0.0.1:PORT/outpost/v1` style URL of this Switch for a given host name.
    pub fn url(&self, host: &str) -> String {
        format!("wss://{host}:{}{PATH}", self.addr.port())
    }

    /// The agent's `Switch` setting for this Switch: `host:port`.
    pub fn switch_setting(&self, host: &str) -> String {
        format!("{host}:{}", self.addr.port())
    }

    /// Sends close 1001 "switch restarting" to every session, waits (up to 5 s) for them to end
    /// and closes the listener, so the port is free. Does nothing when already stopped.
    pub fn stop(&self) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(running) = running {
            let _ = running.shutdown.send(true);
            let _ = running.done.recv_timeout(Duration::from_secs(15));
        }
    }

    /// Listens again on the same address and configuration (after `stop`). Retries the bind for
    /// up to 5 s in case the kernel has not let go of the port yet; panics if it stays taken.
    pub fn restart(&self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.listen(self.addr) {
                Ok(_) => return,
                Err(e) if Instant::now() >= deadline => panic!("relisten on {}: {e}", self.addr),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn is_listening(&self) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn listen(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let runtime = self.runtime.as_ref().expect("runtime");
        let _guard = runtime.enter();
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // A deep backlog: a benchmark opens 1,000 connections at once, and a full queue turns
        // into SYN retransmits (1 s, 3 s …) that would be measured as Switch latency.
        let listener = socket.listen(4096)?;
        let bound = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done_tx, done) = std_mpsc::channel();
        runtime.spawn(accept_loop(self.shared.clone(), listener, shutdown_rx, done_tx));
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Running { shutdown, done });
        Ok(bound)
    }

    /// Blocks until `check` (run under the lock, again after every change) answers, or
    /// `timeout` passes; then hands back the locked state so the caller can say what it saw.
    fn wait_for<T>(&self, timeout: Duration, mut check: impl FnMut(&mut State) -> Option<T>) -> Result<T, MutexGuard<'_, State>> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(found) = check(&mut st) {
                return Ok(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(st);
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits until at least `n` devices are connected and welcomed; returns them all.
    pub fn wait_registered(&self, n: usize, timeout: Duration) -> Result<Vec<Device>, String> {
        let registered = |st: &State| -> Vec<Device> {
            st.live
                .values()
                .filter(|l| l.device.session.is_some())
                .map(|l| l.device.clone())
                .collect()
        };
        self.wait_for(timeout, |st| Some(registered(st)).filter(|r| r.len() >= n))
            .map_err(|st| format!("{} of {n} devices registered after {timeout:?}", registered(&st).len()))
    }

    /// How many connected devices are welcomed, without copying them.
    pub fn registered_count(&self) -> usize {
        self.shared
            .lock()
            .live
            .values()
            .filter(|l| l.device.session.is_some())
            .count()
    }

    /// Connected devices that said hello (welcomed or not), in no particular order.
    pub fn devices(&self) -> Vec<Device> {
        self.shared.lock().live.values().map(|l| l.device.clone()).collect()
    }

    pub fn device(&self, device_id: &str) -> Option<Device> {
        self.shared.lock().live.get(device_id).map(|l| l.device.clone())
    }

    /// Valid hellos received since `start`, across restarts.
    pub fn hello_count(&self) -> usize {
        self.shared.lock().hello_times.len()
    }

    /// When each of those hellos arrived, in order.
    pub fn hello_times(&self) -> Vec<Instant> {
        self.shared.lock().hello_times.clone()
    }

    /// Waits until `hello_count() >= n`.
    pub fn wait_hellos(&self, n: usize, timeout: Duration) -> Result<usize, String> {
        self.wait_for(timeout, |st| Some(st.hello_times.len()).filter(|c| *c >= n))
            .map_err(|st| format!("{} of {n} hellos after {timeout:?}", st.hello_times.len()))
    }

    /// Sends an instruction and waits for the result with the same id (the whole message).
    /// Fails when the device is not connected, its session ends first, or on timeout (a result
    /// arriving later then shows up in `next_message`).
    pub fn request(&self, device_id: &str, kind: &str, args: Value, timeout: Duration) -> Result<Value, String> {
        let mut st = self.shared.lock();
        st.next_request += 1;
        let id = format!("i{}", st.next_request);
        let message = json!({"type": "instruction", "id": id, "kind": kind, "version": 1, "args": args});
        let conn = {
            let live = st
                .live
                .get(device_id)
                .ok_or_else(|| format!("device {device_id} is not connected"))?;
            live.tx
                .send(Command::Text(message.to_string()))
                .map_err(|_| format!("session of {device_id} is ending"))?;
            live.device.conn
        };
        st.mailboxes
            .entry(device_id.to_string())
            .or_default()
            .pending
            .insert(id.clone(), None);
        drop(st);
        let ended = || format!("session of {device_id} ended before the result for {kind} (id {id})");
        let answer = self.wait_for(timeout, |st| {
            let mailbox = st.mailboxes.get_mut(device_id).expect("mailbox made above");
            if let Some(Some(_)) = mailbox.pending.get(&id) {
                return Some(mailbox.pending.remove(&id).flatten().ok_or_else(ended));
            }
            let still_connected = st.live.get(device_id).is_some_and(|l| l.device.conn == conn);
            (!still_connected).then(|| Err(ended()))
        });
        match answer {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => {
                self.shared
                    .lock()
                    .mailboxes
                    .get_mut(device_id)
                    .expect("mailbox")
                    .pending
                    .remove(&id);
                Err(e)
            }
            Err(mut st) => {
                st.mailboxes.get_mut(device_id).expect("mailbox").pending.remove(&id);
                Err(format!("no result for {kind} (id {id}) from {device_id} within {timeout:?}"))
            }
        }
    }

    /// A raw text frame (need not be JSON), for malformed-input tests.
    pub fn send_text(&self, device_id: &str, text: String) -> Result<(), String> {
        self.command(device_id, Command::Text(text))
    }

    pub fn send_binary(&self, device_id: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.command(device_id, Command::Binary(bytes))
    }

    /// Closes one session from the Switch side with this code and reason.
    pub fn close_session(&self, device_id: &str, code: u16, reason: &str) -> Result<(), String> {
        self.command(device_id, Command::Close(code, reason.to_string()))
    }

    fn command(&self, device_id: &str, command: Command) -> Result<(), String> {
        let st = self.shared.lock();
        let live = st
            .live
            .get(device_id)
            .ok_or_else(|| format!("device {device_id} is not connected"))?;
        live.tx.send(command).map_err(|_| format!("session of {device_id} is ending"))
    }

    /// The next message from the device that was not the answer to a pending `request`
    /// (errors, late results, anything unexpected), waiting up to `timeout`.
    pub fn next_message(&self, device_id: &str, timeout: Duration) -> Option<Received> {
        self.wait_for(timeout, |st| {
            st.mailboxes.get_mut(device_id).and_then(|m| m.unread.pop_front())
        })
        .ok()
    }

    /// Every message the device sent, hellos and results included, across its sessions.
    pub fn messages(&self, device_id: &str) -> Vec<Received> {
        self.shared
            .lock()
            .mailboxes
            .get(device_id)
            .map(|m| m.log.clone())
            .unwrap_or_default()
    }

    /// When the device's WebSocket pings arrived (its heartbeat).
    pub fn ping_times(&self, device_id: &str) -> Vec<Instant> {
        self.shared
            .lock()
            .mailboxes
            .get(device_id)
            .map(|m| m.pings.clone())
            .unwrap_or_default()
    }

    pub fn events(&self) -> Vec<Event> {
        self.shared.lock().events.clone()
    }

    /// Waits for an event (past or future) matching `pred`. `pred` runs under the Switch's lock:
    /// it must not call the Switch (use `wait_until` for that).
    pub fn wait_event(&self, timeout: Duration, pred: impl Fn(&Event) -> bool) -> Option<Event> {
        self.wait_for(timeout, |st| st.events.iter().find(|e| pred(e)).cloned()).ok()
    }

    /// Waits until `pred` (which may call the Switch) holds; re-checked on every change, and at
    /// least every 50 ms. Returns whether it held before the timeout.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&TestSwitch) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let st = self.shared.lock();
            let _ = self
                .shared
                .changed
                .wait_timeout(st, (deadline - now).min(Duration::from_millis(50)));
        }
    }

    /// Every event from now on, as it happens (for printing progress without polling).
    pub fn subscribe(&self) -> std_mpsc::Receiver<Event> {
        let (tx, rx) = std_mpsc::channel();
        self.shared.lock().subscribers.push(tx);
        rx
    }
}

impl Drop for TestSwitch {
    fn drop(&mut self) {
        self.stop();
        if let Some(runtime) = self.runtime.take() {
            // Not `drop(runtime)`: that panics when the last owner is inside another runtime.
            runtime.shutdown_background();
        }
    }
}

pub(crate) fn tls_config(cfg: &SwitchConfig) -> Result<ServerConfig, String> {
    // An explicit provider: the process default is ambiguous if anything in the build enables
    // aws-lc-rs as well, and this crate must only ever use ring.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match cfg.client_auth {
        ClientAuth::Off => builder.with_no_client_auth(),
        ClientAuth::Optional | ClientAuth::Required => {
            let pem = cfg.client_ca.as_deref().ok_or("client_auth needs client_ca")?;
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots
                    .add(cert.map_err(|e| format!("client_ca: {e}"))?)
                    .map_err(|e| format!("client_ca: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if cfg.client_auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
    };
    builder
        .with_single_cert(cfg.identity.cert_chain_der(), cfg.identity.key_der())
        .map_err(|e| format!("server identity: {e}"))
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    done: std_mpsc::Sender<()>,
) {
    let local = listener.local_addr().unwrap_or_else(|_| shared.cfg.listen);
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let conn = {
                        let mut st = shared.lock();
                        st.next_conn += 1;
                        st.next_conn
                    };
                    shared.event(conn, peer, EventKind::Accepted);
                    sessions.spawn(session::run(shared.clone(), tcp, peer, conn, shutdown.clone()));
                }
                Err(e) => {
                    shared.event(0, local, EventKind::AcceptFailed { error: e.to_string() });
                    // EMFILE and friends persist for a while; don't spin on them.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    // Sessions saw the same shutdown signal and are closing with 1001.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    sessions.abort_all();
    while sessions.join_next().await.is_some() {}
    let _ = done.send(());
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, once per process.
///
/// Every session is a socket, and tests and benchmarks run 1,000+ of them (often with the
/// clients in the same process, doubling the count); the usual soft limit of 1024 would make
/// `accept` fail with EMFILE long before anything interesting is measured.
pub fn raise_fd_limit() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        unsafe {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    });
}
