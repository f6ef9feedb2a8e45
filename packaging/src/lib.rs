//! omnipack: compiles the Outpost agent and packages it for every platform
//! from one product manifest.

pub mod assist;
pub mod build;
pub mod bundle;
pub mod cargo;
pub mod checksums;
pub mod compress;
pub mod content;
pub mod deb;
pub mod formats;
pub mod inspect;
pub mod answers_sh;
pub mod linux;
pub mod macos;
pub mod msi;
pub mod output;
pub mod packager;
pub mod pkg;
pub mod publish;
pub mod release;
pub mod repo;
pub mod rpm;
pub mod sbom;
pub mod service;
pub mod signers;
pub mod sign;
pub mod target;
pub mod templates;
pub mod time;
pub mod verify;
pub mod windows;
pub mod xml;
