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

/// The oldest macOS the agent runs on: the Mach-O's `minos` and the pkg's
/// `allowed-os-versions` both come from here.
pub const MACOS_MIN_VERSION: &str = "11.0";

/// The cargo profile of the MSI custom action DLL: release with LTO and
/// opt-level "z" (see the workspace Cargo.toml).
pub const MSI_CA_PROFILE: &str = "msi-ca";

/// The glibc the Linux agent is linked against (`cargo zigbuild --target
/// x86_64-unknown-linux-gnu.2.17`): RHEL 7's, the oldest C library of the
/// Linux releases the product lists. The packages' libc dependencies are
/// read back from the binary (`crate::linux::deps`), so they follow it.
pub const LINUX_GLIBC_MIN_VERSION: &str = "2.17";

/// Builds the MSI custom action DLL (`omnipack-msi-ca`) for a Windows
/// `triple` and returns its path.
pub fn build_msi_ca(ws: &Workspace, triple: &str) -> anyhow::Result<PathBuf> {
    let status = Command::new(cargo())
        .current_dir(&ws.root)
        .args(["build", "--profile", MSI_CA_PROFILE, "--locked", "-p", "omnipack-msi-ca", "--target", triple])
        .status()
        .with_context(|| format!("running cargo for the MSI custom action ({triple})"))?;
    if !status.success() {
        bail!("building omnipack-msi-ca for {triple} failed ({status})");
    }
    let path = ws.target_dir.join(triple).join(MSI_CA_PROFILE).join("omnipack_msi_ca.dll");
    if !path.is_file() {
        bail!("cargo reported success but {} does not exist", path.display());
    }
    Ok(path)
}

/// Builds `outpost-agent` for `triple` with the release profile and returns
/// the executable's path. Apple targets go through `cargo zigbuild` (zig is
/// the linker, so no SDK or Mac is needed); `universal2-apple-darwin` builds
/// both slices and joins them.
pub fn build_agent(ws: &Workspace, triple: &str) -> anyhow::Result<PathBuf> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root);
    let mut cargo_target = triple.to_string();
    if triple.ends_with("-apple-darwin") {
        // Without it zig stamps its own newest macOS as the minimum, and the
        // agent would refuse to start on every older release.
        cmd.env("MACOSX_DEPLOYMENT_TARGET", MACOS_MIN_VERSION).arg("zigbuild");
    } else if triple.ends_with("-linux-gnu") {
        // zigbuild drops the suffix again: the output is target/<triple>/release.
        cmd.arg("zigbuild");
        cargo_target = format!("{triple}.{LINUX_GLIBC_MIN_VERSION}");
    } else {
        cmd.arg("build");
    }
    let status = cmd
        .args(["--release", "--locked", "-p", "outpost-agent", "--target", &cargo_target])
        .status()
        .with_context(|| format!("running cargo for the agent ({triple})"))?;
    if !status.success() {
        let hint = if triple.ends_with("-apple-darwin") || triple.ends_with("-linux-gnu") {
            " (Apple and Linux targets need `cargo zigbuild`: scripts/build installs ziglang and cargo-zigbuild from PyPI)"
        } else {
            ""
        };
        bail!("building outpost-agent for {triple} failed ({status}){hint}");
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
