//! Service-manager files, rendered apart from package formats from one typed
//! service definition.

pub mod launchd;
pub mod systemd;
pub mod windows;

use outpost_manifest::{Manifest, Platform};
use serde::Serialize;

/// The service as every service manager sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSpec {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub documentation: String,
    /// Program and arguments.
    pub exec: Vec<String>,
    pub restart_delay_seconds: u32,
}

impl ServiceSpec {
    pub fn from_manifest(m: &Manifest, platform: Platform) -> ServiceSpec {
        ServiceSpec {
            name: m.service.name.clone(),
            display_name: m.service.display_name.clone(),
            description: m.service.description.clone(),
            documentation: m.product.homepage.clone(),
            exec: match platform {
                // The service control manager needs the dispatcher entry.
                Platform::Windows => vec![m.layout(platform).binary.clone(), "run".into(), "--service".into()],
                _ => vec![m.layout(platform).binary.clone(), "run".into()],
            },
            restart_delay_seconds: m.service.restart_delay_seconds,
        }
    }
}
