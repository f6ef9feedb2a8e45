//! The real machine's answers to `inventory` and `settings`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use crate::config::Effective;
use crate::device;
use crate::switch::protocol::DeviceInfo;
use crate::switch::Facts;

pub struct AgentFacts {
    pub device: DeviceInfo,
    pub started: Instant,
    pub data_dir: PathBuf,
    pub temp_dir: PathBuf,
    /// The settings in effect, secrets masked, as loaded at start.
    pub settings: Value,
}

impl AgentFacts {
    pub fn new(device: DeviceInfo, cfg: &Effective, data_dir: PathBuf, temp_dir: PathBuf) -> AgentFacts {
        AgentFacts {
            device,
            started: Instant::now(),
            data_dir,
            temp_dir,
            settings: json!({ "settings": cfg.masked() }),
        }
    }
}

fn disk(path: &std::path::Path) -> Value {
    json!({"path": path.display().to_string(), "free_bytes": device::free_bytes(path)})
}

impl Facts for AgentFacts {
    fn inventory(&self) -> Value {
        let d = &self.device;
        json!({
            "device_id": d.id,
            "hostname": device::hostname(),
            "os": d.os,
            "arch": d.arch,
            "agent_version": d.agent_version,
            "features": d.features,
            "uptime": {"agent_seconds": self.started.elapsed().as_secs(), "system_seconds": device::system_uptime()},
            "disk": {"data": disk(&self.data_dir), "temporary": disk(&self.temp_dir)},
            "files": crate::verify::started(),
        })
    }

    fn settings(&self) -> Value {
        self.settings.clone()
    }
}
