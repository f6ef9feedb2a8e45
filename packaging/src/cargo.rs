//! Compiling the agent with cargo.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

/// The workspace that contains the current directory, from `cargo metadata`.
pub fn workspace() -> anyhow::Result<Workspace> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running `cargo metadata` (is cargo installed and are you inside the repository?)")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let get = |k: &str| {
        v[k].as_str()
            .map(PathBuf::from)
            .with_context(|| format!("cargo metadata has no {k}"))
    };
    Ok(Workspace {
        root: get("workspace_root")?,
        target_dir: get("target_directory")?,
    })
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds `outpost-agent` for `triple` with the release profile and returns
/// the executable's path.
pub fn build_agent(ws: &Workspace, triple: &str) -> anyhow::Result<PathBuf> {
    let status = Command::new(cargo())
        .current_dir(&ws.root)
        .args(["build", "--release", "--locked", "-p", "outpost-agent", "--target", triple])
        .status()
        .context("running cargo build for the agent")?;
    if !status.success() {
        bail!("building outpost-agent for {triple} failed ({status})");
    }
    let exe = if triple.contains("windows") {
        "outpost-agent.exe"
    } else {
        "outpost-agent"
    };
    let path = ws.target_dir.join(triple).join("release").join(exe);
    if !Path::new(&path).is_file() {
        bail!("cargo reported success but {} does not exist", path.display());
    }
    Ok(path)
}
