//! What the Switch link is doing, as the running service publishes it in its
//! status file and `outpost-agent status` shows it.

use serde::{Deserialize, Serialize};

use crate::tls::CertInfo;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    #[default]
    Starting,
    Connecting,
    Connected,
    /// Between attempts; `next_attempt_unix` says until when.
    Waiting,
    Stopped,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertState {
    /// The `ClientCertificate` setting as the agent understood it.
    pub configured: String,
    pub in_use: Option<CertInfo>,
    /// Why a configured certificate is not used (missing, expired, ...).
    pub problem: Option<String>,
    /// Whether the Switch asked for a certificate in the last handshake.
    pub requested_by_switch: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkState {
    pub switch: String,
    pub phase: Phase,
    pub connected_since_unix: Option<i64>,
    pub session: Option<String>,
    pub last_error: Option<String>,
    pub last_error_unix: Option<i64>,
    /// Sessions registered since the service started; the first is not a
    /// reconnect.
    pub registrations: u64,
    pub reconnects: u64,
    pub failed_attempts: u64,
    pub next_attempt_unix: Option<i64>,
    pub certificate: CertState,
}

impl LinkState {
    /// Lines for `outpost-agent status`.
    pub fn describe(&self) -> Vec<String> {
        let when = |t: Option<i64>| t.map(crate::clock::rfc3339).unwrap_or_else(|| "-".into());
        let mut lines = vec![match self.phase {
            Phase::Connected => format!(
                "Switch {}: connected since {} (session {}), {} reconnects",
                self.switch,
                when(self.connected_since_unix),
                self.session.as_deref().unwrap_or("-"),
                self.reconnects
            ),
            Phase::Waiting => format!(
                "Switch {}: not connected; next attempt at {}; {} failed attempts, {} reconnects",
                self.switch,
                when(self.next_attempt_unix),
                self.failed_attempts,
                self.reconnects
            ),
            other => format!("Switch {}: {:?}", self.switch, other).to_lowercase(),
        }];
        if let Some(e) = &self.last_error {
            lines.push(format!("  last error ({}): {e}", when(self.last_error_unix)));
        }
        let c = &self.certificate;
        lines.push(match (&c.in_use, &c.problem) {
            (Some(info), _) => format!(
                "  client certificate: {} (issuer {}), expires {}, from {}",
                info.subject, info.issuer, info.not_after, info.source
            ),
            (None, Some(p)) => format!("  client certificate: NOT USABLE: {p}"),
            (None, None) => "  client certificate: none configured".to_string(),
        });
        if c.requested_by_switch == Some(true) && c.in_use.is_none() {
            lines.push("  the Switch asks for a client certificate and none was presented".into());
        }
        lines
    }
}
