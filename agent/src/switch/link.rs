//! One Switch session at a time, for as long as the service runs: connect,
//! hello, welcome, answer instructions, heartbeat; when the link ends, wait
//! as `backoff` says and start again. Nothing a Switch sends can panic it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info, warn};

use super::backoff::Backoff;
use super::instructions::{self, Facts};
use super::protocol::{self, DeviceInfo, Incoming, MAX_MESSAGE, PATH, PROTOCOL, SUBPROTOCOL};
use super::state::{LinkState, Phase};
use crate::clock::unix_now;
use crate::content::{self, Content};
use crate::stop::Stop;
use crate::tls::{self, ClientTls, IdentityReport, Prepared};

type Ws = WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

pub struct LinkConfig {
    /// `host:port` (`[v6]:port`), as the `Switch` setting holds it.
    pub switch: String,
    pub heartbeat: Duration,
    pub spread: Duration,
    pub welcome_timeout: Duration,
    pub connect_timeout: Duration,
    pub seed: u64,
    /// Runs `fetch-resource` and `run-script`; None: they are refused as unknown kinds.
    pub content: Option<Arc<Content>>,
}

impl LinkConfig {
    pub fn new(switch: &str, heartbeat: Duration, spread: Duration) -> LinkConfig {
        LinkConfig {
            switch: switch.to_string(),
            heartbeat,
            spread,
            welcome_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            seed: crate::device::random_seed(),
            content: None,
        }
    }

    pub fn with_content(mut self, content: Option<Arc<Content>>) -> LinkConfig {
        self.content = content;
        self
    }

    /// How long the link may be silent before it is declared dead.
    pub fn dead_after(&self) -> Duration {
        self.heartbeat * 2 + Duration::from_secs(10)
    }
}

pub struct Link {
    pub config: LinkConfig,
    pub tls: Arc<ClientTls>,
    pub device: DeviceInfo,
    pub facts: Arc<dyn Facts>,
    pub state: watch::Sender<LinkState>,
}

/// How one attempt ended.
enum Outcome {
    Stopped,
    Ended { registered: bool, reason: String },
}

/// More errors than this in a minute and the client closes (1008).
const ERROR_BUDGET: usize = 100;

impl Link {
    pub async fn run(self, stop: Stop) {
        let mut backoff = Backoff::new(self.config.spread, self.config.seed);
        self.state.send_modify(|s| s.switch = self.config.switch.clone());
        info!(switch = %self.config.switch, device = %self.device.id, "Switch link starting");
        loop {
            self.state.send_modify(|s| {
                s.phase = Phase::Connecting;
                s.next_attempt_unix = None;
            });
            let wait = match self.attempt(&stop).await {
                Outcome::Stopped => break,
                Outcome::Ended { registered, reason } => {
                    let wait = if registered {
                        backoff.after_session()
                    } else {
                        backoff.after_failure()
                    };
                    warn!(switch = %self.config.switch, error = %reason, retry_in_ms = wait.as_millis() as u64, "Switch link down");
                    self.state.send_modify(|s| {
                        s.phase = Phase::Waiting;
                        s.connected_since_unix = None;
                        s.session = None;
                        s.last_error = Some(reason);
                        s.last_error_unix = Some(unix_now());
                        s.failed_attempts += u64::from(!registered);
                        s.next_attempt_unix = Some(unix_now() + wait.as_secs() as i64);
                    });
                    wait
                }
            };
            if stop.sleep(wait).await {
                break;
            }
        }
        self.state.send_modify(|s| {
            s.phase = Phase::Stopped;
            s.connected_since_unix = None;
            s.next_attempt_unix = None;
        });
        info!("Switch link stopped");
    }

    async fn attempt(&self, stop: &Stop) -> Outcome {
        let prepared = match self.tls.prepare() {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Ended {
                    registered: false,
                    reason: e.to_string(),
                }
            }
        };
        self.note_identity(&prepared.identity);
        let connect = timeout(self.config.connect_timeout, self.connect(&prepared));
        let mut ws = tokio::select! {
            _ = stop.raised() => return Outcome::Stopped,
            r = connect => match r {
                Ok(Ok(ws)) => ws,
                Ok(Err(reason)) => return self.failed(&prepared, reason),
                Err(_) => return self.failed(&prepared, format!("no connection within {} s", self.config.connect_timeout.as_secs())),
            },
        };
        self.state
            .send_modify(|s| s.certificate.requested_by_switch = Some(tls::asked(&prepared)));
        if let Err(e) = ws.send(Message::text(protocol::hello(&self.device))).await {
            return self.failed(&prepared, explain(&e, &prepared));
        }
        let welcome = tokio::select! {
            _ = stop.raised() => {
                close(&mut ws, CloseCode::Normal, "agent stopping").await;
                return Outcome::Stopped;
            }
            w = timeout(self.config.welcome_timeout, wait_welcome(&mut ws, &prepared)) => w,
        };
        let session = match welcome {
            Ok(Ok(session)) => session,
            Ok(Err((code, reason))) => {
                if let Some(code) = code {
                    close(&mut ws, code, &reason).await;
                }
                return self.failed(&prepared, reason);
            }
            Err(_) => {
                let reason = format!("no welcome within {} s", self.config.welcome_timeout.as_secs());
                close(&mut ws, CloseCode::Protocol, &reason).await;
                return self.failed(&prepared, reason);
            }
        };
        self.state.send_modify(|s| {
            s.phase = Phase::Connected;
            s.connected_since_unix = Some(unix_now());
            s.session = Some(session.clone());
            s.registrations += 1;
            s.reconnects = s.registrations - 1;
        });
        info!(switch = %self.config.switch, session, "registered with the Switch");
        self.serve(&mut ws, stop, &prepared).await
    }

    fn failed(&self, prepared: &Prepared, reason: String) -> Outcome {
        self.state
            .send_modify(|s| s.certificate.requested_by_switch = Some(tls::asked(prepared)));
        Outcome::Ended {
            registered: false,
            reason,
        }
    }

    async fn connect(&self, prepared: &Prepared) -> Result<Ws, String> {
        let switch = &self.config.switch;
        let (host, port) = split_host_port(switch).ok_or_else(|| format!("Switch `{switch}` is not host:port"))?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {switch}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("Switch host `{host}`: {e}"))?;
        let tls = TlsConnector::from(prepared.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {switch}: {}", explain_io(&e, prepared)))?;
        let mut request = format!("wss://{switch}{PATH}")
            .into_client_request()
            .map_err(|e| format!("Switch URL: {e}"))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(SUBPROTOCOL));
        // tungstenite reserves 128 KiB per read buffer by default: half of a
        // session's memory for messages that are mostly a few hundred bytes.
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE))
            .read_buffer_size(4096);
        let (ws, response) = tokio_tungstenite::client_async_with_config(request, tls, Some(config))
            .await
            .map_err(|e| format!("WebSocket handshake with {switch}: {}", explain(&e, prepared)))?;
        let chosen = response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok());
        if chosen != Some(SUBPROTOCOL) {
            return Err(format!(
                "{switch} did not accept the {SUBPROTOCOL} subprotocol (answered {chosen:?}); is it a Switch?"
            ));
        }
        Ok(ws)
    }

    /// The registered session: instructions in, results out, heartbeats.
    async fn serve(&self, ws: &mut Ws, stop: &Stop, prepared: &Prepared) -> Outcome {
        let hb = self.config.heartbeat;
        let dead_after = self.config.dead_after();
        let mut tick = tokio::time::interval_at(Instant::now() + hb, hb);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut errors: VecDeque<Instant> = VecDeque::new();
        // Downloads and scripts take long: they run as tasks and their results
        // come back here, while the session goes on answering and pinging.
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
        let ended = |reason: String| Outcome::Ended {
            registered: true,
            reason,
        };
        loop {
            let msg = tokio::select! {
                _ = stop.raised() => {
                    close(ws, CloseCode::Normal, "agent stopping").await;
                    return Outcome::Stopped;
                }
                _ = tick.tick() => {
                    if last_heard.elapsed() > dead_after {
                        close(ws, CloseCode::Away, "no heartbeat answer").await;
                        return ended(format!("nothing heard from the Switch for {} s", last_heard.elapsed().as_secs()));
                    }
                    if let Err(e) = ws.send(Message::Ping(crate::clock::unix_now_ms().to_be_bytes().to_vec().into())).await {
                        return ended(format!("heartbeat: {}", explain(&e, prepared)));
                    }
                    continue;
                }
                Some(text) = done_rx.recv() => {
                    if let Err(e) = ws.send(Message::text(text)).await {
                        return ended(explain(&e, prepared));
                    }
                    continue;
                }
                m = ws.next() => m,
            };
            last_heard = Instant::now();
            let reply = match msg {
                None => return ended("the Switch closed the connection".into()),
                Some(Err(WsError::Capacity(e))) => {
                    close(ws, CloseCode::Size, "message over 65536 bytes").await;
                    return ended(format!("the Switch sent an oversized message ({e})"));
                }
                Some(Err(e)) => return ended(explain(&e, prepared)),
                Some(Ok(Message::Close(frame))) => return ended(closed_by_switch(frame.as_ref())),
                Some(Ok(Message::Binary(_))) => {
                    close(ws, CloseCode::Unsupported, "binary frames are not part of outpost.v1").await;
                    return ended("the Switch sent a binary frame".into());
                }
                Some(Ok(Message::Text(text))) => match self.answer(text.as_str(), &done_tx) {
                    Some(reply) => reply,
                    None => continue,
                },
                Some(Ok(_)) => continue, // ping (answered by the library), pong, raw frame
            };
            if reply.failed {
                let now = Instant::now();
                errors.push_back(now);
                while errors
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
                {
                    errors.pop_front();
                }
                if errors.len() > ERROR_BUDGET {
                    close(ws, CloseCode::Policy, "too many protocol errors").await;
                    return ended(format!(
                        "more than {ERROR_BUDGET} protocol errors from the Switch in a minute"
                    ));
                }
            }
            if let Err(e) = ws.send(Message::text(reply.text)).await {
                return ended(explain(&e, prepared));
            }
        }
    }

    /// The reply to a message, or None when a content instruction was started
    /// (its result comes through `done`).
    fn answer(&self, text: &str, done: &mpsc::UnboundedSender<String>) -> Option<Reply> {
        let refused = |r: protocol::Refusal| {
            debug!(code = ?r.code, message = %r.message, "refused a message from the Switch");
            Reply {
                text: r.to_json(),
                failed: true,
            }
        };
        Some(match protocol::parse(text) {
            Ok(Incoming::Instruction(ins)) if content::args::is_content(&ins.kind) && self.config.content.is_some() => {
                let job = match content::args::parse(&ins) {
                    Ok(job) => job,
                    Err(r) => return Some(refused(r)),
                };
                let (handler, done) = (self.config.content.clone()?, done.clone());
                tokio::spawn(async move {
                    let text = match handler.run(job).await {
                        Ok(data) => ins.answer(data),
                        Err(e) => {
                            warn!(id = %ins.id, kind = %ins.kind, error = %e, "instruction failed");
                            ins.refuse(protocol::ErrorCode::Failed, e.to_string()).to_json()
                        }
                    };
                    // The session may have ended meanwhile: the result is then lost, as the Switch expects.
                    let _ = done.send(text);
                });
                return None;
            }
            Ok(Incoming::Instruction(ins)) => match instructions::run(&ins, self.facts.as_ref()) {
                Ok(data) => {
                    debug!(id = %ins.id, kind = %ins.kind, "instruction answered");
                    Reply {
                        text: ins.answer(data),
                        failed: false,
                    }
                }
                Err(r) => refused(r),
            },
            Ok(Incoming::Welcome { .. }) => refused(protocol::Refusal::new(
                protocol::ErrorCode::Unexpected,
                "a second welcome in one session",
            )),
            Err(r) => refused(r),
        })
    }

    /// Logs a certificate problem once, when it first appears or changes.
    fn note_identity(&self, report: &IdentityReport) {
        let (in_use, problem) = match report {
            IdentityReport::NotConfigured => (None, None),
            IdentityReport::InUse(info) => (Some(info.clone()), None),
            IdentityReport::Unusable(p) => (None, Some(p.clone())),
        };
        let before = self.state.borrow().certificate.clone();
        if problem.is_some() && problem != before.problem {
            warn!(
                problem = problem.as_deref().unwrap_or_default(),
                "client certificate not usable; connecting without one"
            );
        }
        if let Some(info) = &in_use {
            if before.in_use.as_ref() != Some(info) {
                info!(subject = %info.subject, expires = %info.not_after, source = %info.source, "client certificate");
            }
        }
        self.state.send_modify(|s| {
            s.certificate.configured = self.tls.identity.describe();
            s.certificate.in_use = in_use;
            s.certificate.problem = problem;
        });
    }
}

struct Reply {
    text: String,
    failed: bool,
}

/// Reads until the welcome; before it the client accepts nothing else.
async fn wait_welcome(ws: &mut Ws, prepared: &Prepared) -> Result<String, (Option<CloseCode>, String)> {
    loop {
        match ws.next().await {
            None => return Err((None, "the Switch closed the connection before its welcome".into())),
            Some(Err(e)) => return Err((None, explain(&e, prepared))),
            Some(Ok(Message::Close(frame))) => return Err((None, closed_by_switch(frame.as_ref()))),
            Some(Ok(Message::Text(text))) => {
                return match protocol::parse(text.as_str()) {
                    Ok(Incoming::Welcome { protocol, session }) if protocol == PROTOCOL => Ok(session),
                    Ok(Incoming::Welcome { protocol, .. }) => Err((
                        Some(CloseCode::Protocol),
                        format!("the Switch speaks protocol {protocol}; this agent speaks {PROTOCOL}"),
                    )),
                    Ok(Incoming::Instruction(_)) => Err((Some(CloseCode::Protocol), "an instruction before the welcome".into())),
                    Err(r) => Err((Some(CloseCode::Protocol), format!("instead of a welcome: {}", r.message))),
                }
            }
            Some(Ok(Message::Binary(_))) => {
                return Err((Some(CloseCode::Unsupported), "a binary frame before the welcome".into()))
            }
            Some(Ok(_)) => continue,
        }
    }
}

async fn close(ws: &mut Ws, code: CloseCode, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: outpost_manifest::clip(reason).into(),
    };
    // Best effort: the peer may already be gone.
    let _ = timeout(Duration::from_secs(2), ws.close(Some(frame))).await;
}

fn closed_by_switch(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(f) => format!(
            "the Switch closed the session: {} {}",
            u16::from(f.code),
            outpost_manifest::clip(&f.reason)
        ),
        None => "the Switch closed the session".into(),
    }
}

/// An error in words an administrator can act on: a refused handshake says
/// whether the Switch asked for a client certificate and what was sent.
fn explain(e: &WsError, prepared: &Prepared) -> String {
    match e {
        WsError::Io(io) => explain_io(io, prepared),
        WsError::Tls(t) => format!("TLS: {t}"),
        WsError::Http(r) => format!("the Switch answered HTTP {}", r.status()),
        other => other.to_string(),
    }
}

fn explain_io(e: &std::io::Error, prepared: &Prepared) -> String {
    let text = e.to_string();
    let alert = text.contains("alert");
    if alert && tls::asked(prepared) {
        match &prepared.identity {
            IdentityReport::NotConfigured => {
                return format!("{text}: the Switch requires a client certificate and none is configured (ClientCertificate)")
            }
            IdentityReport::Unusable(p) => {
                return format!("{text}: the Switch requires a client certificate and the configured one is not usable: {p}")
            }
            IdentityReport::InUse(info) => {
                return format!(
                    "{text}: the Switch refused the client certificate {} (issuer {})",
                    info.subject, info.issuer
                )
            }
        }
    }
    text
}

/// `host:port` or `[v6]:port`; the setting was validated against the schema.
pub fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?,
        None => s.rsplit_once(':')?,
    };
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_and_port_including_ipv6() {
        use super::split_host_port as s;
        assert_eq!(s("switch.example:443"), Some(("switch.example".into(), 443)));
        assert_eq!(s("[::1]:8443"), Some(("::1".into(), 8443)));
        assert_eq!(s("127.0.0.1:1"), Some(("127.0.0.1".into(), 1)));
        assert_eq!(s("nope"), None);
        assert_eq!(s("a:99999"), None);
    }
}
