//! `run`: the service body, shared by every service manager. systemd and
//! launchd start it as a foreground process and stop it with SIGTERM; the
//! Windows service control manager goes through `winsvc`.

use std::fs::OpenOptions;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tracing::{error, info, level_filters::LevelFilter};
use tracing_subscriber::prelude::*;

use crate::config::{self, Effective};
use crate::paths::Paths;
use crate::status::{self, Status};
use crate::workers::{self, Stop};

pub fn run(paths: &Paths, service: bool, stderr: bool) -> anyhow::Result<ExitCode> {
    if service {
        #[cfg(windows)]
        return crate_winsvc::dispatch(paths);
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

#[cfg(windows)]
use crate::winsvc as crate_winsvc;

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

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs until `stop` is raised, then stops the workers and returns.
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
    let tmp = paths.resolve(cfg.get("TemporaryDirectory"));
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating TemporaryDirectory {}", tmp.display()))?;

    let features = workers::enabled_features(&cfg, paths);
    info!(features = ?features, "starting workers");
    let handles = workers::start(&features, &cfg, stop);
    let started_unix = now();
    let status_file = paths.status_file();
    let mut st = Status {
        pid: std::process::id(),
        version: version.into(),
        state: "running".into(),
        started_unix,
        features,
    };
    status::write(&status_file, &st).with_context(|| format!("writing {}", status_file.display()))?;

    while !stop.wait(Duration::from_secs(3600)) {}

    info!("stopping");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for (feature, h) in handles {
        while !h.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if h.is_finished() {
            let _ = h.join();
        } else {
            error!(feature, "worker did not stop in time");
        }
    }
    st.state = "stopped".into();
    status::write(&status_file, &st).with_context(|| format!("writing {}", status_file.display()))?;
    info!("stopped");
    Ok(ExitCode::SUCCESS)
}
