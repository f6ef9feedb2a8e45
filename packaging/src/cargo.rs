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
    std::fs::read(path).map_err(|source| CargoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
}

/// The workspace that contains the current directory: found without a
/// subprocess when that is certain ([`from_files`]), else from `cargo
/// metadata`. A build given every binary (`--agent-bin`, `--msi-ca-bin`)
/// needs only the target folder (for the test keys), and a `cargo metadata`
/// per build cost ~30 ms of a 1.7 s package.
pub fn workspace() -> Result<Workspace, CargoError> {
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|d| from_files(d, &EnvConfig::from_env())) {
        Some(ws) => Ok(ws),
        None => from_metadata(),
    }
}

fn from_metadata() -> Result<Workspace, CargoError> {
    let out = command()
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

/// What of cargo's environment decides the target folder.
struct EnvConfig {
    /// CARGO_TARGET_DIR, else CARGO_BUILD_TARGET_DIR.
    target_dir: Option<PathBuf>,
    /// $CARGO_HOME (default ~/.cargo), whose config.toml may set it too.
    cargo_home: Option<PathBuf>,
}

impl EnvConfig {
    fn from_env() -> EnvConfig {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        EnvConfig {
            target_dir: var("CARGO_TARGET_DIR").or_else(|| var("CARGO_BUILD_TARGET_DIR")),
            cargo_home: var("CARGO_HOME").or_else(|| var("HOME").map(|h| h.join(".cargo"))),
        }
    }
}

/// The workspace as cargo finds it, read from the files: the nearest
/// `Cargo.toml` above `cwd` with a `[workspace]` table (a package outside
/// any workspace is its own root), and the target folder from the
/// environment, else `<root>/target`. None whenever cargo could decide
/// otherwise: a `package.workspace` key, a cargo configuration file that
/// mentions `target-dir`, a manifest that does not parse.
fn from_files(cwd: &Path, env: &EnvConfig) -> Option<Workspace> {
    let mut package_root = None;
    let mut root = None;
    for dir in cwd.ancestors() {
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let manifest: toml::Table = text.parse().ok()?;
        if manifest.get("package").and_then(|p| p.get("workspace")).is_some() {
            return None;
        }
        if manifest.contains_key("workspace") {
            root = Some(dir.to_path_buf());
            break;
        }
        if manifest.contains_key("package") && package_root.is_none() {
            package_root = Some(dir.to_path_buf());
        }
    }
    let root = root.or(package_root)?;
    let target_dir = match &env.target_dir {
        Some(t) => cwd.join(t),
        None => {
            let sets_target_dir = config_files(cwd, env.cargo_home.as_deref())
                .iter()
                .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("target-dir")));
            if sets_target_dir {
                return None;
            }
            root.join("target")
        }
    };
    Some(Workspace { root, target_dir })
}

/// Every configuration file cargo looks for from `dir`: `.cargo/config.toml`
/// and `.cargo/config` in it and each folder above, then in `cargo_home`.
pub(crate) fn config_files(dir: &Path, cargo_home: Option<&Path>) -> Vec<PathBuf> {
    let dirs = dir.ancestors().map(|d| d.join(".cargo")).chain(cargo_home.map(Path::to_path_buf));
    dirs.flat_map(|d| ["config.toml", "config"].map(|f| d.join(f))).collect()
}

/// $CARGO_HOME, else ~/.cargo: where cargo's own configuration file is.
pub(crate) fn cargo_home() -> Option<PathBuf> {
    EnvConfig::from_env().cargo_home
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// What cargo sets for the crate it compiles or runs: under `cargo run`
/// (scripts/build) or a test, omnipack inherits its own crate's.
const CRATE_VARS: [&str; 8] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
];
const CRATE_VAR_PREFIXES: [&str; 2] = ["CARGO_PKG_", "CARGO_BIN_EXE_"];

/// `cargo`, without the variables cargo set for the crate that runs us. ring's
/// build script declares `rerun-if-env-changed` on CARGO_MANIFEST_DIR and
/// CARGO_PKG_*, which cargo compares in its own environment: passed on, they
/// made a build from `cargo run` and one from the bare binary rebuild ring
/// and everything above it for every target, each time the two alternated.
pub(crate) fn command() -> Command {
    let mut cmd = Command::new(cargo());
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        if CRATE_VARS.contains(&k) || CRATE_VAR_PREFIXES.iter().any(|p| k.starts_with(p)) {
            cmd.env_remove(k);
        }
    }
    cmd
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

/// Builds the MSI custom action DLL (`omnipack-msi-ca`) for Windows
/// `triples`, in one cargo run, and returns their paths in that order.
pub fn build_msi_ca(ws: &Workspace, triples: &[&str]) -> Result<Vec<PathBuf>, CargoError> {
    let package = "omnipack-msi-ca";
    let status = command()
        .current_dir(&ws.root)
        .args(["build", "--profile", MSI_CA_PROFILE, "--locked", "-p", package])
        .args(triples.iter().flat_map(|t| ["--target", t]))
        .status()
        .map_err(spawn(format!("for the MSI custom action ({})", triples.join(", "))))?;
    if !status.success() {
        return Err(CargoError::Failed {
            package,
            triple: triples.join(", "),
            status,
            hint: "",
        });
    }
    triples
        .iter()
        .map(|triple| {
            let path = ws.target_dir.join(triple).join(MSI_CA_PROFILE).join("omnipack_msi_ca.dll");
            if path.is_file() { Ok(path) } else { Err(CargoError::NotBuilt(path)) }
        })
        .collect()
}

/// Whether `triple` builds with plain `cargo build` (Windows), so several
/// such targets go in one cargo run; Linux and Apple targets go through
/// `cargo zigbuild` one at a time (an Apple slice's deployment target is an
/// environment variable of the whole run).
pub fn plain_cargo(triple: &str) -> bool {
    !(triple.ends_with("-apple-darwin") || triple.ends_with("-linux-gnu") || triple == crate::macos::universal::UNIVERSAL2)
}

/// Builds `outpost-agent` for `triples` and returns the executables' paths
/// in that order: several plain-cargo targets in one run (one cargo run is
/// about 0.2 s of CPU even when everything is up to date), others one by
/// one through [`build_agent`].
pub fn build_agents(ws: &Workspace, triples: &[&str]) -> Result<Vec<PathBuf>, CargoError> {
    if triples.len() < 2 || !triples.iter().all(|t| plain_cargo(t)) {
        return triples.iter().map(|t| build_agent(ws, t)).collect();
    }
    let status = command()
        .current_dir(&ws.root)
        .args(["build", "--release", "--locked", "-p", "outpost-agent"])
        .args(triples.iter().flat_map(|t| ["--target", t]))
        .status()
        .map_err(spawn(format!("for the agent ({})", triples.join(", "))))?;
    if !status.success() {
        return Err(CargoError::Failed {
            package: "outpost-agent",
            triple: triples.join(", "),
            status,
            hint: "",
        });
    }
    triples.iter().map(|t| agent_path(ws, t)).collect()
}

fn agent_path(ws: &Workspace, triple: &str) -> Result<PathBuf, CargoError> {
    let exe = if triple.contains("windows") { "outpost-agent.exe" } else { "outpost-agent" };
    let path = ws.target_dir.join(triple).join("release").join(exe);
    if path.is_file() { Ok(path) } else { Err(CargoError::NotBuilt(path)) }
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
    let mut cmd = command();
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
        return Err(CargoError::Failed {
            package: "outpost-agent",
            triple: triple.to_string(),
            status,
            hint,
        });
    }
    let path = agent_path(ws, triple)?;
    if let Some(arch) = apple {
        let data = read(&path)?;
        universal::check_thin(&data, arch).map_err(|source| CargoError::MachO {
            path: path.clone(),
            source,
        })?;
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
    let fat = universal::join(&slices[0], &slices[1]).map_err(|source| CargoError::MachO {
        path: path.clone(),
        source,
    })?;
    // Atomic, so a reader never sees half an executable.
    crate::output::write_atomic(&path, &fat)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|source| CargoError::Io {
            path: path.clone(),
            source,
        })?;
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
    let status = command()
        .current_dir(&ws.root)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            package,
            "--bin",
            package,
            "--target",
            triple,
        ])
        .status()
        .map_err(spawn(format!("for the assistant ({triple})")))?;
    if !status.success() {
        let hint = " (scripts/build installs the mingw-w64 linker and the Rust target)";
        return Err(CargoError::Failed {
            package,
            triple: triple.to_string(),
            status,
            hint,
        });
    }
    let path = ws.target_dir.join(triple).join("release").join("omnipack.exe");
    if !path.is_file() {
        return Err(CargoError::NotBuilt(path));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(target_dir: Option<&str>, home: &Path) -> EnvConfig {
        EnvConfig {
            target_dir: target_dir.map(PathBuf::from),
            cargo_home: Some(home.join(".cargo")),
        }
    }

    /// Run by cargo, this test has its crate's variables, as omnipack has
    /// under `cargo run`: none reaches the cargo omnipack runs.
    #[test]
    fn cargo_runs_without_the_variables_of_the_crate_that_runs_it() {
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some() && std::env::var_os("CARGO_PKG_NAME").is_some());
        let cmd = command();
        let removed: Vec<_> = cmd.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k.to_str().unwrap().to_string()).collect();
        for k in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION_MAJOR"] {
            assert!(removed.iter().any(|r| r == k), "{k} passed on: {removed:?}");
        }
        assert!(!removed.iter().any(|r| ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO"].contains(&r.as_str())), "{removed:?}");
    }

    #[test]
    fn workspace_root_and_target_dir_without_cargo() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("ws");
        std::fs::create_dir_all(root.join("member/src")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"member\"]\n").unwrap();
        std::fs::write(root.join("member/Cargo.toml"), "[package]\nname = \"m\"\n").unwrap();
        let cwd = root.join("member/src");
        let ws = from_files(&cwd, &env(None, t.path())).unwrap();
        assert_eq!((ws.root.as_path(), ws.target_dir), (root.as_path(), root.join("target")));
        let ws = from_files(&cwd, &env(Some("/elsewhere"), t.path())).unwrap();
        assert_eq!(ws.target_dir, PathBuf::from("/elsewhere"));
        // Relative, as cargo reads it: from the current folder.
        assert_eq!(
            from_files(&cwd, &env(Some("out"), t.path())).unwrap().target_dir,
            cwd.join("out")
        );
    }

    #[test]
    fn anything_cargo_could_read_otherwise_falls_back_to_cargo_metadata() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("ws");
        std::fs::create_dir_all(root.join(".cargo")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::write(root.join(".cargo/config.toml"), "[build]\ntarget-dir = \"x\"\n").unwrap();
        assert!(from_files(&root, &env(None, t.path())).is_none());
        // The environment wins over configuration files.
        assert!(from_files(&root, &env(Some("/t"), t.path())).is_some());
        std::fs::remove_file(root.join(".cargo/config.toml")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"p\"\nworkspace = \"..\"\n").unwrap();
        assert!(from_files(&root, &env(None, t.path())).is_none());
        std::fs::write(root.join("Cargo.toml"), "not toml [").unwrap();
        assert!(from_files(&root, &env(None, t.path())).is_none());
        // No manifest at all: not a cargo project.
        assert!(from_files(t.path(), &env(None, t.path())).is_none());
    }
}
