//! `run`: the service body, shared by every service manager. systemd and
//! launchd start it as a foreground process and stop it with SIGTERM; the
//! Windows service control manager goes through `winsvc`.

use std::fs::OpenOptions;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use tracing::{error, info, level_filters::LevelFilter};
use tracing_subscriber::prelude::*;

use crate::config::{self, Effective};
use crate::paths::Paths;
use crate::status::{self, Status};
use crate::stop::Stop;
use crate::switch::LinkState;
use crate::tempdir::{self, TemporaryDirectory};
use crate::workers;
use tokio::sync::watch;

pub fn run(paths: &Paths, service: bool, stderr: bool) -> anyhow::Result<ExitCode> {
    if service {
        #[cfg(windows)]
        return crate::winsvc::dispatch(paths);
        #[cfg(not(windows))]
        anyhow::bail!("--service is for the Windows service control manager; systemd and launchd run `outpost-agent run`");
    }
    let stop = Stop::default();
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).context("installing signal handlers")?;
        let stop = stop.clone();
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                info!(signal = sig, "stop requested");
                stop.raise();
            }
        });
    }
    serve(paths, &stop, stderr)
}

fn level(cfg: &Effective) -> LevelFilter {
    match cfg.get("LogLevel") {
        "error" => LevelFilter::ERROR,
        "warn" => LevelFilter::WARN,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => LevelFilter::INFO,
    }
}

fn init_logging(paths: &Paths, cfg: &Effective, stderr: bool) -> anyhow::Result<()> {
    let log_file = paths.resolve(cfg.get("LogFile"));
    if let Some(dir) = log_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating log directory {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .with_context(|| format!("opening log file {} (setting LogFile)", log_file.display()))?;
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Mutex::new(file));
    let stderr_layer = stderr.then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    tracing_subscriber::registry()
        .with(file_layer.with_filter(level(cfg)))
        .with(stderr_layer.map(|l| l.with_filter(level(cfg))))
        .try_init()
        .context("initialising logging")?;
    Ok(())
}

/// Runs until `stop` is raised, then stops the features and returns.
pub fn serve(paths: &Paths, stop: &Stop, stderr: bool) -> anyhow::Result<ExitCode> {
    let cfg = config::load(paths);
    init_logging(paths, &cfg, stderr)?;
    let version = env!("CARGO_PKG_VERSION");
    info!(version, "Outpost Client starting");
    for l in &cfg.layers {
        info!(layer = l.source.label(), file = %l.file, state = l.state, settings = l.settings, "configuration layer");
    }
    for p in &cfg.problems {
        error!("configuration entry ignored: {p}");
    }
    let tmp = tempdir::choose(paths, &cfg);
    // One thread is plenty for one link and a few idle modules, and keeps
    // the idle footprint small.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_features(paths, &cfg, &tmp, stop))?;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn run_features(paths: &Paths, cfg: &Effective, tmp: &TemporaryDirectory, stop: &Stop) -> anyhow::Result<()> {
    let device = workers::device_info(paths, cfg)?;
    let features = device.features.enabled.clone();
    info!(features = ?features, device = %device.id, "starting features");
    let status_file = paths.status_file();
    let mut st = Status {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").into(),
        state: "running".into(),
        started_unix: crate::clock::unix_now().max(0) as u64,
        features: features.clone(),
        device_id: Some(device.id.clone()),
        link: None,
        files: Some(crate::verify::at_start(paths).clone()),
        temporary_directory: Some(tmp.clone()),
    };
    let (link_tx, link_rx) = watch::channel(LinkState::default());
    let platform = features.iter().any(|f| f == "platform");
    if platform {
        st.link = Some(link_rx.borrow().clone());
    }
    status::write(&status_file, &st).with_context(|| format!("writing {}", status_file.display()))?;
    let link_task = async {
        if platform {
            workers::platform(paths, cfg, tmp, device.clone(), link_tx, stop.clone()).await;
        }
    };
    let modules = futures_util::future::join_all(
        features
            .iter()
            .filter(|f| !matches!(f.as_str(), "client" | "platform" | "content"))
            .map(|f| workers::idle(f.clone(), stop.clone())),
    );
    let content_task = async {
        if features.iter().any(|f| f == "content") {
            workers::content_module(paths, cfg, tmp, stop.clone()).await;
        }
    };
    let publish = publish_status(&status_file, &mut st, platform.then_some(link_rx), stop);
    let work = async { tokio::join!(link_task, content_task, modules, publish) };
    let grace = async {
        stop.raised().await;
        info!("stopping");
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    tokio::select! {
        _ = work => {}
        _ = grace => error!("features did not stop within 10 s"),
    }
    st.state = "stopped".into();
    if let Some(l) = st.link.as_mut() {
        l.phase = crate::switch::state::Phase::Stopped;
    }
    status::write(&status_file, &st).with_context(|| format!("writing {}", status_file.display()))?;
    Ok(())
}

/// Rewrites the status file whenever the link changes (coalesced: a burst
/// of changes is one write), until stop.
async fn publish_status(file: &std::path::Path, st: &mut Status, link: Option<watch::Receiver<LinkState>>, stop: &Stop) {
    let Some(mut rx) = link else {
        stop.raised().await;
        return;
    };
    loop {
        tokio::select! {
            _ = stop.raised() => return,
            changed = rx.changed() => {
                if changed.is_err() {
                    stop.raised().await;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                st.link = Some(rx.borrow_and_update().clone());
                if let Err(e) = status::write(file, st) {
                    error!("writing {}: {e}", file.display());
                }
            }
        }
    }
}
