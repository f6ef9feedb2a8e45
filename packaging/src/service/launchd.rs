//! The LaunchDaemon property list. launchd runs the agent in the foreground
//! (no forking), starts it at boot and restarts it when it exits; a crash
//! loop is slowed down by ThrottleInterval, launchd's RestartSec.

use serde::Serialize;
use tera::Context;

use super::ServiceSpec;
use crate::templates::{render, RenderError};

pub const DAEMON_DIR: &str = "/Library/LaunchDaemons";

/// `/Library/LaunchDaemons/<label>.plist`: launchd wants the file named
/// after the label, owned by root:wheel, mode 0644.
pub fn plist_path(label: &str) -> String {
    format!("{DAEMON_DIR}/{label}.plist")
}

#[derive(Serialize)]
struct DaemonView<'a> {
    label: &'a str,
    exec: &'a [String],
    restart_delay_seconds: u32,
    stdout: String,
}

/// `log_dir` receives what the agent writes before its own log is open
/// (a panic, a refused configuration).
pub fn render_daemon(spec: &ServiceSpec, label: &str, log_dir: &str) -> Result<String, RenderError> {
    let mut ctx = Context::new();
    ctx.insert(
        "svc",
        &DaemonView {
            label,
            exec: &spec.exec,
            // launchd's default is 10 s; never below 1 s or a crashing
            // agent would spin.
            restart_delay_seconds: spec.restart_delay_seconds.max(1),
            stdout: format!("{log_dir}/launchd.log"),
        },
    );
    render("launchd/daemon.plist", &ctx)
}
