//! A Switch (the server side of `agent/PROTOCOL.md`) for the agent's integration tests and
//! benchmarks, plus the throwaway PKI it needs and a TCP proxy that imitates an idle-timeout
//! middlebox. Everything listens on loopback only.
//!
//! The API is synchronous: each `TestSwitch` and `IdleProxy` owns a tokio runtime on its own
//! threads, so tests are plain `#[test]` functions that block while the agent under test runs.

pub mod background;
pub mod events;
pub mod pki;
pub mod proxy;
pub mod server;
mod session;

pub use background::BackgroundChannel;
pub use events::{Device, Event, EventKind, Received, Side};
pub use pki::{Identity, Pki, Validity};
pub use proxy::IdleProxy;
pub use server::{ClientAuth, SwitchConfig, TestSwitch, PATH, SUBPROTOCOL};
