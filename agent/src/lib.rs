//! Outpost Client, the endpoint agent: configuration layers, the service
//! body, and the `platform` feature's Switch link. A library as well as the
//! `outpost-agent` binary, so tests and the benchmark drive the same code.

pub mod clock;
pub mod config;
pub mod content;
pub mod device;
pub mod facts;
mod managed;
pub mod paths;
pub mod schema;
pub mod service;
pub mod status;
pub mod stop;
pub mod switch;
pub mod tempdir;
pub mod tls;
pub mod verify;
#[cfg(windows)]
mod winsvc;
pub mod workers;
