//! The Windows Installer database compiler shared by the MSI, MST and MSP
//! builders (as go-msi shares one): typed standard tables, an in-memory
//! database that writes a CFB version 3 file with code page 1252 and reads
//! any MSI back, deterministic GUIDs, cabinets and 8.3 file names.
//!
//! Product mapping (features, settings, the agent's service) lives above this
//! layer; nothing here knows about the Outpost agent.
//!
//! The external `msi` crate shares this module's name: inside omnipack it is
//! always spelled `::msi::…`.

pub mod cab;
mod codepage;
pub mod container;
pub mod database;
mod deflate;
pub mod error;
pub mod filename;
pub mod guid;
pub mod patch;
pub mod schema;
pub mod summary;
pub mod transform;
pub mod value;

pub use codepage::WINDOWS_1252;
pub use container::Storage;
pub use database::{Database, PackageKind, Table};
pub use error::MsiError;
pub use schema::{ColumnDef, ColumnType, TableDef};
pub use summary::{FileTime, SummaryInfo};
pub use value::Value;
