//! The product manifest (`packaging/outpost.toml`) as typed, validated data.
//!
//! Both the agent and omnipack depend on this crate, so the settings schema
//! (names, types, defaults, validation) is written once and read the same way
//! by the installer tooling and by the service at run time.

mod error;
mod files;
mod manifest;
mod platform;
mod raw;
mod rule;
mod setting;
pub mod settings_file;
mod validate;

pub use error::ManifestError;
pub use files::ProductFile;
pub use manifest::{
    ConfigOnRemoval, Feature, Layout, LegacyLinux, LegacyMacos, LegacyProduct, LegacyWindows, Manifest, Product, Removal,
    Service, SettingRefused, AGENT_FEATURES, FILE_LIST_NAME,
};
pub use platform::Platform;
pub use rule::{
    windows_path_variable, Refusal, Rule, HOST_PORT_MAX_BYTES, INTEGER_LIMIT, PATH_MAX_BYTES, URL_MAX_BYTES,
    WINDOWS_PATH_VARIABLES,
};
pub use setting::{clip, Setting, SettingType, ValueRefused};
