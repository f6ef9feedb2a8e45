//! lzma-sys's API, served by liblzma-sys (see Cargo.toml for why).
pub use liblzma_sys::*;
