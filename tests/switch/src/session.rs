//! One connection from TCP accept to close: TLS, the upgrade, hello/welcome, then relaying
//! frames between the client and `TestSwitch`'s API. One task per connection, no thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::events::{unix_ms, Device, EventKind, Received, Side};
use crate::pki::subject_string;
use crate::server::{Command, Live, Shared, PATH, SUBPROTOCOL};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing session waits for the client's close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

type Ws = WebSocketStream<TlsStream<TcpStream>>;

pub(crate) async fn run(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr, conn: u64, mut shutdown: watch::Receiver<bool>) {
    let _ = tcp.set_nodelay(true);
    let acceptor = TlsAcceptor::from(shared.tls.clone());
    let tls = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return shared.event(conn, peer, EventKind::TlsFailed { error: e.to_string() }),
            Err(_) => return shared.event(conn, peer, EventKind::TlsFailed { error: format!("no TLS handshake within {HANDSHAKE_TIMEOUT:?}") }),
        },
        _ = shutdown.changed() => return,
    };
    let client_subject = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|c| subject_string(c));

    let max = shared.cfg.max_message;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let select_subprotocol = shared.cfg.select_subprotocol;
    let mut path = None;
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        path = Some(request.uri().path().to_string());
        if request.uri().path() != PATH {
            let mut refusal = ErrorResponse::new(Some(format!("no such path; use {PATH}\n")));
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            return Err(refusal);
        }
        let offered = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == SUBPROTOCOL);
        if offered && select_subprotocol {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_static(SUBPROTOCOL));
        }
        Ok(response)
    };
    let upgraded = tokio::select! {
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, tokio_tungstenite::accept_hdr_async_with_config(tls, callback, Some(ws_config))) => r,
        _ = shutdown.changed() => return,
    };
    let ws = match upgraded {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            return shared.event(
                conn,
                peer,
                EventKind::WebSocketFailed {
                    path,
                    error: describe_ws_error(&e),
                },
            )
        }
        Err(_) => {
            let error = format!("no upgrade within {HANDSHAKE_TIMEOUT:?}");
            return shared.event(conn, peer, EventKind::WebSocketFailed { path, error });
        }
    };
    let mut session = Session {
        shared: shared.clone(),
        peer,
        conn,
        client_subject,
        device: None,
        closed: false,
    };
    session.relay(ws, shutdown).await;
    session.unregister();
}

fn describe_ws_error(e: &WsError) -> String {
    match e {
        WsError::Http(response) => format!("HTTP {} refused", response.status()),
        other => other.to_string(),
    }
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    conn: u64,
    client_subject: Option<String>,
    device: Option<String>,
    /// A Closed event was recorded (only the first close counts).
    closed: bool,
}

impl Session {
    async fn relay(&mut self, mut ws: Ws, mut shutdown: watch::Receiver<bool>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tx = Some(tx);
        let mut commands_open = true;
        let mut closing_since: Option<Instant> = None;
        loop {
            let grace_over = async move {
                match closing_since {
                    Some(t) => tokio::time::sleep_until((t + CLOSE_GRACE).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                incoming = ws.next() => match incoming {
                    None => return self.record_close(Side::Transport, None, "connection ended without a close frame".into()),
                    Some(Err(WsError::Capacity(e))) => {
                        self.record_close(Side::Switch, Some(1009), e.to_string());
                        let _ = ws.send(close_message(1009, "message too big")).await;
                        return;
                    }
                    Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                        return self.record_close(Side::Transport, None, "connection closed".into());
                    }
                    Some(Err(e)) => return self.record_close(Side::Transport, None, e.to_string()),
                    Some(Ok(message)) => {
                        if let Some(close) = self.on_message(message, &mut ws, &mut tx).await {
                            if closing_since.is_none() {
                                closing_since = Some(Instant::now());
                            }
                            if let Some((code, reason)) = close {
                                let _ = ws.send(close_message(code, &reason)).await;
                            }
                        }
                    }
                },
                command = rx.recv(), if commands_open => match command {
                    None => commands_open = false,
                    Some(command) => {
                        let (message, close) = match command {
                            Command::Text(text) => (Message::text(text), None),
                            Command::Binary(bytes) => (Message::binary(bytes), None),
                            Command::Close(code, reason) => (close_message(code, &reason), Some((code, reason))),
                        };
                        if let Some((code, reason)) = close {
                            self.record_close(Side::Switch, Some(code), reason);
                            closing_since.get_or_insert_with(Instant::now);
                        }
                        if let Err(e) = ws.send(message).await {
                            return self.record_close(Side::Transport, None, format!("send: {e}"));
                        }
                    }
                },
                _ = shutdown.changed(), if closing_since.is_none() => {
                    self.record_close(Side::Switch, Some(1001), "switch restarting".into());
                    closing_since = Some(Instant::now());
                    if ws.send(close_message(1001, "switch restarting")).await.is_err() {
                        return;
                    }
                }
                _ = grace_over => return,
            }
        }
    }

    /// Handles one message; `Some(..)` means the session is now closing (with a close frame to
    /// send, if the inner option is set).
    async fn on_message(
        &mut self,
        message: Message,
        ws: &mut Ws,
        tx: &mut Option<mpsc::UnboundedSender<Command>>,
    ) -> Option<Option<(u16, String)>> {
        let received = match message {
            Message::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
                Ok(value) => Received::Json(value),
                Err(_) => Received::Text(text.as_str().to_string()),
            },
            Message::Binary(bytes) => Received::Binary(bytes.to_vec()),
            Message::Ping(_) => {
                if let Some(id) = &self.device {
                    self.shared
                        .lock()
                        .mailboxes
                        .entry(id.clone())
                        .or_default()
                        .pings
                        .push(Instant::now());
                }
                return None;
            }
            Message::Close(frame) => {
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_string()),
                    None => (None, String::new()),
                };
                self.record_close(Side::Client, code, reason);
                // tungstenite answers the close frame itself; the stream ends after that.
                return Some(None);
            }
            Message::Pong(_) | Message::Frame(_) => return None,
        };
        match &self.device {
            Some(id) => {
                self.file(id.clone(), received);
                None
            }
            None => match check_hello(&received) {
                Ok(id) => {
                    self.welcome(id, received, ws, tx).await;
                    None
                }
                Err(error) => {
                    self.shared
                        .event(self.conn, self.peer, EventKind::BadHello { error: error.clone() });
                    self.record_close(Side::Switch, Some(1008), "expected hello".into());
                    Some(Some((1008, "expected hello".into())))
                }
            },
        }
    }

    async fn welcome(&mut self, id: String, hello: Received, ws: &mut Ws, tx: &mut Option<mpsc::UnboundedSender<Command>>) {
        let session = if self.shared.cfg.welcome {
            let session = {
                let mut st = self.shared.lock();
                st.next_session += 1;
                format!("s-{}-{}", self.shared.instance, st.next_session)
            };
            let welcome = json!({"type": "welcome", "protocol": 1, "session": session});
            // Registered only once the welcome is written, so `wait_registered` means "welcomed".
            if ws.send(Message::text(welcome.to_string())).await.is_err() {
                return;
            }
            Some(session)
        } else {
            None
        };
        let now = Instant::now();
        let device = Device {
            id: id.clone(),
            hello: hello.json().cloned().unwrap_or(Value::Null),
            client_subject: self.client_subject.clone(),
            peer: self.peer,
            conn: self.conn,
            session,
            at: now,
            unix_ms: unix_ms(),
        };
        {
            let mut st = self.shared.lock();
            st.hello_times.push(now);
            st.mailboxes.entry(id.clone()).or_default().log.push(hello);
            // A device that reconnects before its old session is noticed dead replaces it.
            st.live.insert(
                id.clone(),
                Live {
                    device,
                    tx: tx.take().expect("one hello per session"),
                },
            );
        }
        self.device = Some(id.clone());
        self.shared.event(
            self.conn,
            self.peer,
            EventKind::Hello {
                device_id: id,
                client_subject: self.client_subject.clone(),
            },
        );
    }

    /// Files a message under its device: as the answer to a pending request, or as unread.
    fn file(&self, id: String, received: Received) {
        let mut st = self.shared.lock();
        let mailbox = st.mailboxes.entry(id).or_default();
        mailbox.log.push(received.clone());
        let result_id = match &received {
            Received::Json(v) if v.get("type").and_then(Value::as_str) == Some("result") => {
                v.get("id").and_then(Value::as_str).map(str::to_string)
            }
            _ => None,
        };
        match result_id.and_then(|rid| mailbox.pending.get_mut(&rid).filter(|slot| slot.is_none())) {
            Some(slot) => *slot = received.json().cloned(),
            None => mailbox.unread.push_back(received),
        }
        drop(st);
        self.shared.changed.notify_all();
    }

    fn record_close(&mut self, by: Side, code: Option<u16>, reason: String) {
        if !self.closed {
            self.closed = true;
            self.shared.event(
                self.conn,
                self.peer,
                EventKind::Closed {
                    device_id: self.device.clone(),
                    by,
                    code,
                    reason,
                },
            );
        }
    }

    fn unregister(&self) {
        if let Some(id) = &self.device {
            let mut st = self.shared.lock();
            if st.live.get(id).is_some_and(|l| l.device.conn == self.conn) {
                st.live.remove(id);
            }
            drop(st);
            self.shared.changed.notify_all();
        }
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    }))
}

/// type hello, protocol 1, a non-empty string device.id: what a Switch files a device under.
fn check_hello(received: &Received) -> Result<String, String> {
    let value = match received {
        Received::Json(v) => v,
        Received::Text(t) => return Err(format!("first message is not JSON: {}", truncate(t))),
        Received::Binary(b) => return Err(format!("first message is a binary frame of {} bytes", b.len())),
    };
    if value.get("type").and_then(Value::as_str) != Some("hello") {
        return Err(format!("first message is not a hello: {}", truncate(&value.to_string())));
    }
    if value.get("protocol").and_then(Value::as_u64) != Some(1) {
        return Err(format!(
            "hello with protocol {}",
            value.get("protocol").unwrap_or(&Value::Null)
        ));
    }
    match value.pointer("/device/id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err("hello without a device.id string".into()),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}
