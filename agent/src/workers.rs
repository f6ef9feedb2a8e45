//! One task per enabled feature on the service's runtime. Tasks share the
//! stop signal and return promptly when it is raised.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::info;

use crate::config::Effective;
use crate::facts::AgentFacts;
use crate::paths::Paths;
use crate::schema::manifest;
use crate::stop::Stop;
use crate::switch::protocol::{DeviceInfo, Features};
use crate::switch::{Link, LinkConfig, LinkState};
use crate::tempdir::TemporaryDirectory;
use crate::tls::{ClientTls, IdentitySource, Trust};

/// Features whose files are installed on this machine.
fn installed(paths: &Paths) -> impl Iterator<Item = &'static outpost_manifest::Feature> + '_ {
    manifest()
        .features_on(paths.platform)
        .filter(|f| f.required || paths.feature_installed(&f.id))
}

pub fn installed_features(paths: &Paths) -> Vec<String> {
    installed(paths).map(|f| f.id.clone()).collect()
}

/// Features that are installed on this platform and switched on.
pub fn enabled_features(cfg: &Effective, paths: &Paths) -> Vec<String> {
    installed(paths)
        .filter(|f| f.enabled_by.as_deref().is_none_or(|s| cfg.flag(s)))
        .map(|f| f.id.clone())
        .collect()
}

/// What this machine says in its hello.
pub fn device_info(paths: &Paths, cfg: &Effective) -> anyhow::Result<DeviceInfo> {
    let state = paths.state_dir();
    let id = crate::device::device_id(&state).map_err(|e| anyhow::anyhow!("device id in {}: {e}", state.display()))?;
    Ok(DeviceInfo {
        id,
        hostname: crate::device::hostname(),
        os: crate::device::os(),
        arch: crate::device::arch().into(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        features: Features {
            installed: installed_features(paths),
            enabled: enabled_features(cfg, paths),
        },
    })
}

/// The platform feature's TLS material from the settings.
pub fn client_tls(paths: &Paths, cfg: &Effective) -> ClientTls {
    let ca = cfg.get("TrustedCaFile");
    let identity = IdentitySource::parse(cfg.get("ClientCertificate"), paths.platform, |p| paths.resolve(p))
        .unwrap_or_else(IdentitySource::Invalid);
    ClientTls {
        trust: Trust::new((!ca.is_empty()).then(|| paths.resolve(ca))),
        identity,
        password: cfg.get("ClientCertificatePassword").to_string(),
    }
}

pub async fn platform(
    paths: &Paths,
    cfg: &Effective,
    tmp: &TemporaryDirectory,
    device: DeviceInfo,
    state: watch::Sender<LinkState>,
    stop: Stop,
) {
    let tls = client_tls(paths, cfg);
    let secs = |name: &str| Duration::from_secs(cfg.int(name).max(0) as u64);
    let facts = AgentFacts::new(device.clone(), cfg, paths.state_dir(), tmp.path());
    let link = Link {
        config: LinkConfig::new(
            cfg.get("Switch"),
            secs("HeartbeatIntervalSeconds"),
            secs("ReconnectSpreadSeconds"),
        )
        .with_content(crate::content::for_service(paths, cfg, facts.temp_dir.clone())),
        tls: Arc::new(tls),
        device,
        facts: Arc::new(facts),
        state,
    };
    link.run(stop).await;
}

/// The content module: its local API and cache until the stop signal.
pub async fn content_module(paths: &Paths, cfg: &Effective, tmp: &TemporaryDirectory, stop: Stop) {
    use crate::content::module::{BackgroundChannel, ContentModule, ModuleConfig, Source};
    let upstream = BackgroundChannel {
        tls: Arc::new(client_tls(paths, cfg)),
        limits: crate::content::fetch::Limits { max_bytes: 1 << 30, idle: Duration::from_secs(60) },
    };
    // Peer sharing goes before the Background Channel when it exists.
    let sources: Vec<Box<dyn Source>> = vec![Box::new(upstream)];
    match ContentModule::bind(ModuleConfig::new(&paths.state_dir(), tmp.path()), sources).await {
        Ok(module) => module.serve(stop.raised()).await,
        Err(e) => {
            // The platform client then finds no endpoint and downloads directly.
            tracing::error!(error = %e, "content module not started");
            stop.raised().await;
        }
    }
}

/// Modules whose work is not built yet: present, logged, stoppable.
pub async fn idle(feature: String, stop: Stop) {
    info!(feature, "worker started");
    while !stop.sleep(Duration::from_secs(60)).await {
        info!(feature, "worker alive");
    }
    info!(feature, "worker stopped");
}
