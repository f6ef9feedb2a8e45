//! The `platform` feature's link to a Switch: the protocol of
//! `agent/PROTOCOL.md`, the session loop, reconnect timing, the
//! instructions, and the state `status` shows.

pub mod backoff;
pub mod instructions;
pub mod link;
pub mod protocol;
pub mod state;

pub use instructions::Facts;
pub use link::{Link, LinkConfig};
pub use state::LinkState;
