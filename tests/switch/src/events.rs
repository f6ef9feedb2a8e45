//! What the Switch saw, kept so tests can assert on causes (why a handshake failed, who closed)
//! rather than only on outcomes.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Event {
    /// Numbers the TCP connections of one `TestSwitch`, across restarts; 0 for listener events.
    pub conn: u64,
    /// The client's address (for listener events, the listening address).
    pub peer: SocketAddr,
    pub at: Instant,
    pub unix_ms: u64,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// `accept` failed (e.g. out of file descriptors); the listener keeps going.
    AcceptFailed {
        error: String,
    },
    Accepted,
    /// The rustls error text, e.g. "peer sent no certificates" or "received fatal alert: UnknownCA".
    TlsFailed {
        error: String,
    },
    /// The HTTP upgrade failed or was refused (`path` is what the client asked for, if it got
    /// that far; a wrong path is answered 404).
    WebSocketFailed {
        path: Option<String>,
        error: String,
    },
    Hello {
        device_id: String,
        client_subject: Option<String>,
    },
    /// The first message was not a valid hello; the Switch closed with 1008.
    BadHello {
        error: String,
    },
    /// At most one per connection that completed the upgrade, from the side that closed first.
    Closed {
        device_id: Option<String>,
        by: Side,
        code: Option<u16>,
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client sent a close frame first.
    Client,
    /// The Switch sent a close frame first (`stop`, `close_session`, oversized message).
    Switch,
    /// The connection ended without a close frame (reset, EOF, read error); `reason` says which.
    Transport,
}

/// A message a client sent, in the order received.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    Json(Value),
    /// A text frame that is not JSON.
    Text(String),
    Binary(Vec<u8>),
}

impl Received {
    pub fn json(&self) -> Option<&Value> {
        match self {
            Received::Json(v) => Some(v),
            _ => None,
        }
    }

    /// The `type` field of a JSON message.
    pub fn message_type(&self) -> Option<&str> {
        self.json()?.get("type")?.as_str()
    }
}

/// A device with a connected session that said hello.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    /// The whole hello message.
    pub hello: Value,
    /// Subject of the client certificate (`CN=…`), when the client presented one.
    pub client_subject: Option<String>,
    pub peer: SocketAddr,
    pub conn: u64,
    /// The session sent in the welcome; `None` when the Switch is configured not to welcome.
    pub session: Option<String>,
    pub at: Instant,
    pub unix_ms: u64,
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
