//! Compiling the agent with cargo.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::macos::universal::MachOError;
use crate::output::OutputError;

/// Why a binary could not be built; each says which and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CargoError {
    #[error("running cargo {what}: {source}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
    #[error("parsing cargo metadata: {0}")]
    MetadataJson(#[from] serde_json::Error),
    #[error("cargo metadata has no {0}")]
    MetadataField(&'static str),
    #[error("no macOS deployment target is defined for {0}: build x86_64-apple-darwin, aarch64-apple-darwin or universal2-apple-darwin")]
    NoDeploymentTarget(String),
    #[error("building {package} for {triple} failed ({status}){hint}")]
    Failed {
        package: &'static str,
        triple: String,
        status: ExitStatus,
        hint: &'static str,
    },
    #[error("cargo reported success but {0} does not exist")]
    NotBuilt(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    MachO {
        path: PathBuf,
        #[source]
        source: MachOError,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

fn spawn(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CargoError {
    let what = what.into();
    move |source| CargoError::Spawn { what, source }
}

fn read(path: &Path) -> Result<Vec<u8>, CargoError> {
    std::fs::read(path).map_err(|source| CargoError::Io { path: path.to_path_buf(), source })
}

pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

/// The workspace that contains the current directory, from `cargo metadata`.
pub fn workspace() -> Result<Workspace, CargoError> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(spawn("metadata (is cargo installed and are you inside the repository?)"))?;
    if !out.status.success() {
        return Err(CargoError::Metadata(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let get = |k: &'static str| v[k].as_str().map(PathBuf::from).ok_or(CargoError::MetadataField(k));
    Ok(Workspace {
        root: get("workspace_root")?,
        target_dir: get("target_directory")?,
    })
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The oldest macOS the agent's x86_64 slice runs on (its Mach-O `minos`,
/// `MACOSX_DEPLOYMENT_TARGET` when it is built), and so the pkg's
/// `allowed-os-versions`: the product supports macOS 10.14 Mojave.
pub const MACOS_X86_64_MIN_VERSION: &str = "10.14";

/// The oldest macOS the arm64 slice runs on: Apple Silicon starts at 11.0.
pub const MACOS_ARM64_MIN_VERSION: &str = "11.0";

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
pub fn build_msi_ca(ws: &Workspace, triple: &str) -> Result<PathBuf, CargoError> {
    let package = "omnipack-msi-ca";
    let status = Command::new(cargo())
        .current_dir(&ws.root)
        .args(["build", "--profile", MSI_CA_PROFILE, "--locked", "-p", package, "--target", triple])
        .status()
        .map_err(spawn(format!("for the MSI custom action ({triple})")))?;
    if !status.success() {
        return Err(CargoError::Failed { package, triple: triple.to_string(), status, hint: "" });
    }
    let path = ws.target_dir.join(triple).join(MSI_CA_PROFILE).join("omnipack_msi_ca.dll");
    if !path.is_file() {
        return Err(CargoError::NotBuilt(path));
    }
    Ok(path)
}

/// Builds `outpost-agent` for `triple` with the release profile and returns
/// the executable's path. Apple targets go through `cargo zigbuild` (zig is
/// the linker, so no SDK or Mac is needed), each with its own deployment
/// target; `universal2-apple-darwin` builds both slices apart and joins them
/// (see `crate::macos::universal`).
pub fn build_agent(ws: &Workspace, triple: &str) -> Result<PathBuf, CargoError> {
    use crate::macos::universal;
    if triple == universal::UNIVERSAL2 {
        return build_universal_agent(ws);
    }
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root);
    let mut cargo_target = triple.to_string();
    let apple = universal::Arch::from_rust_triple(triple);
    if let Some(arch) = apple {
        // Without it zig stamps its own newest macOS as the minimum, and the
        // agent would refuse to start on every older release.
        cmd.env("MACOSX_DEPLOYMENT_TARGET", arch.min_version()).arg("zigbuild");
    } else if triple.ends_with("-apple-darwin") {
        return Err(CargoError::NoDeploymentTarget(triple.to_string()));
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
        .map_err(spawn(format!("for the agent ({triple})")))?;
    if !status.success() {
        let hint = if triple.ends_with("-apple-darwin") || triple.ends_with("-linux-gnu") {
            " (Apple and Linux targets need `cargo zigbuild`: scripts/build installs ziglang and cargo-zigbuild from PyPI)"
        } else {
            ""
        };
        return Err(CargoError::Failed { package: "outpost-agent", triple: triple.to_string(), status, hint });
    }
    let exe = if triple.contains("windows") {
        "outpost-agent.exe"
    } else {
        "outpost-agent"
    };
    let path = ws.target_dir.join(triple).join("release").join(exe);
    if !Path::new(&path).is_file() {
        return Err(CargoError::NotBuilt(path));
    }
    if let Some(arch) = apple {
        let data = read(&path)?;
        universal::check_thin(&data, arch).map_err(|source| CargoError::MachO { path: path.clone(), source })?;
    }
    Ok(path)
}

/// The x86_64 agent for macOS 10.14 and the arm64 agent for 11.0, joined into
/// `<target>/universal2-apple-darwin/release/outpost-agent` (where
/// `cargo zigbuild --target universal2-apple-darwin` used to put it).
fn build_universal_agent(ws: &Workspace) -> Result<PathBuf, CargoError> {
    use crate::macos::universal::{self, Arch};
    let mut slices = Vec::new();
    for arch in [Arch::X86_64, Arch::Arm64] {
        let path = build_agent(ws, arch.rust_triple())?;
        slices.push(read(&path)?);
    }
    let dir = ws.target_dir.join(universal::UNIVERSAL2).join("release");
    let path = dir.join("outpost-agent");
    let fat = universal::join(&slices[0], &slices[1]).map_err(|source| CargoError::MachO { path: path.clone(), source })?;
    // Atomic, so a reader never sees half an executable.
    crate::output::write_atomic(&path, &fat)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|source| CargoError::Io { path: path.clone(), source })?;
    }
    Ok(path)
}

/// The Rust target of the deployment assistant shipped to Windows
/// administrators (omnipack itself, built for Windows).
pub const ASSISTANT_TRIPLE: &str = "x86_64-pc-windows-gnu";

/// Builds omnipack for Windows (the assistant in the release's bundle) and
/// returns the executable's path.
pub fn build_assistant(ws: &Workspace) -> Result<PathBuf, CargoError> {
    let package = "omnipack";
    let triple = ASSISTANT_TRIPLE;
    let status = Command::new(cargo())
        .current_dir(&ws.root)
        .args(["build", "--release", "--locked", "-p", package, "--bin", package, "--target", triple])
        .status()
        .map_err(spawn(format!("for the assistant ({triple})")))?;
    if !status.success() {
        let hint = " (scripts/build installs the mingw-w64 linker and the Rust target)";
        return Err(CargoError::Failed { package, triple: triple.to_string(), status, hint });
    }
    let path = ws.target_dir.join(triple).join("release").join("omnipack.exe");
    if !path.is_file() {
        return Err(CargoError::NotBuilt(path));
    }
    Ok(path)
}
