//! macOS flat packages written in pure Rust: the XAR container, the BOM, the
//! gzip'd odc cpio Payload and Scripts, PackageInfo and Distribution. The
//! apple-* crates can only read these formats, so the writers are ours; their
//! output is checked against readers we did not write (tests/pkg_formats.rs).
//!
//! Everything is deterministic: entries sorted, owners root:wheel, and one
//! timestamp (SOURCE_DATE_EPOCH) passed in for every time field, so equal
//! inputs give equal unsigned bytes.
//!
//! Product mapping (which files, scripts and choices the Outpost agent has)
//! lives above this layer; nothing here knows about the agent.

pub mod bom;
pub mod component;
pub mod cpio;
pub mod error;
pub mod product;
pub mod tree;
pub mod xar;
mod xml;

pub use component::{BuiltComponent, ComponentPackage};
pub use error::{IdentifierError, PkgError};
pub use product::{Choice, Customize, Distribution, ProductArchive};
pub use tree::{Kind, Tree};
pub use xar::{Encoding, XarChecksum, XarWriter};
