//! Shared fixtures for the integration tests: the binaries under test, a
//! package build shared by every test process, and a way to run the
//! validators we did not write with messages that say what differed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::SystemTime;

pub use outpost_test_tools::{archive, checked, find_file, ok, pipe, require, run, run_with_input, text, tool};

pub mod authenticode;
pub mod chroot;
pub mod corpus;
pub mod fixtures;
pub mod macos;
pub mod msi_rules;
pub mod probes;
pub mod scenario;
pub mod wine;

// What needs omnipack's types and is shared with omnipack's own tests lives
// beside them (see outpost-test-tools' crate documentation for why).
/// Hand-built MSI databases (packaging/tests/common/msi_fixture.rs).
#[path = "../../packaging/tests/common/msi_fixture.rs"]
pub mod msi_fixture;
/// Stand-in agent and custom action binaries (packaging/tests/common/stand_ins.rs).
#[path = "../../packaging/tests/common/stand_ins.rs"]
pub mod stand_ins;

/// A fixed SOURCE_DATE_EPOCH so packages are reproducible across tests.
pub const SOURCE_DATE_EPOCH: &str = "1700000000";

/// `target/<profile>` of the running test binary (`target/debug/deps/x` -> `target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn binary(name: &str) -> PathBuf {
    let p = profile_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build it first (`cargo build --workspace --bins`, as scripts/test does)",
        p.display()
    );
    p
}

pub fn omnipack() -> PathBuf {
    binary("omnipack")
}

pub fn agent() -> PathBuf {
    binary("outpost-agent")
}

/// Where cached fixtures live: `target/<profile>/test-fixtures`.
pub fn fixtures_dir() -> PathBuf {
    let d = profile_dir().join("test-fixtures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Stops `child` as a service manager does: SIGTERM, up to `grace` for it to
/// exit, then SIGKILL. The exit status when it stopped in time, else `None`.
pub fn terminate(child: &mut std::process::Child, grace: std::time::Duration) -> Option<std::process::ExitStatus> {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

pub fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The Linux agent the deb and rpm tests package, built by scripts/test as
/// omnipack builds it: release (stripped), linked against glibc 2.17 by
/// `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17`.
pub fn linux_agent() -> PathBuf {
    let p = profile_dir()
        .parent()
        .unwrap()
        .join("x86_64-unknown-linux-gnu/release/outpost-agent");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo run -p omnipack -- agent --target x86_64-unknown-linux-gnu` (scripts/test does)",
        p.display()
    );
    p
}

/// An exclusive lock shared by all test processes, released on drop.
pub fn lock(name: &str) -> File {
    let f = File::create(fixtures_dir().join(format!("{name}.lock"))).unwrap();
    f.lock().unwrap();
    f
}

/// Runs `omnipack build` with the test agent and returns its output.
pub fn omnipack_build(out: &Path, extra: &[&str]) -> Output {
    run(tool(omnipack())
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env_remove("OMNIPACK_OPENPGP_KEY")
        .env_remove("OMNIPACK_OPENPGP_KEY_FILE")
        .arg("build")
        .arg("--out")
        .arg(out)
        .arg("--agent-bin")
        .arg(linux_agent())
        .arg("--agent-bin")
        .arg(format!("universal2-apple-darwin={}", macos_agent().display()))
        .args(windows_binaries())
        .arg("--assistant-bin")
        .arg(windows_assistant())
        .args(extra))
}

/// `--agent-bin`/`--msi-ca-bin` for both Windows targets, so no build
/// compiles them.
fn windows_binaries() -> Vec<String> {
    ["x86_64-pc-windows-gnu", "i686-pc-windows-gnu"]
        .iter()
        .flat_map(|t| {
            [
                "--agent-bin".to_string(),
                format!("{t}={}", windows_agent(t).display()),
                "--msi-ca-bin".to_string(),
                format!("{t}={}", msi_ca_dll(t).display()),
            ]
        })
        .collect()
}

/// The deployment assistant for Windows (omnipack, release, mingw) that
/// scripts/test cross-builds and a build of every format puts in its bundle.
pub fn windows_assistant() -> PathBuf {
    let p = profile_dir().parent().unwrap().join("x86_64-pc-windows-gnu/release/omnipack.exe");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build --release -p omnipack --target x86_64-pc-windows-gnu` (scripts/test does)",
        p.display()
    );
    p
}

/// The universal macOS agent cross-built by scripts/test (release, zig) as
/// omnipack builds it: the x86_64 slice for macOS 10.14 and the arm64 slice
/// for 11.0, joined.
pub fn macos_agent() -> PathBuf {
    let p = profile_dir()
        .parent()
        .unwrap()
        .join("universal2-apple-darwin/release/outpost-agent");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo run -p omnipack -- agent --target universal2-apple-darwin` (scripts/test does)",
        p.display()
    );
    p
}

/// The signed build of every format (a release: packages, bundles, SBOMs,
/// SHA256SUMS) every read-only test shares, rebuilt when omnipack, an agent
/// or the manifest changed.
pub fn dist() -> PathBuf {
    let dir = fixtures_dir().join("dist");
    let _lock = lock("dist");
    let manifest = workspace_root().join("packaging/outpost.toml");
    let stamp = dir.join("release.json");
    let newest_input = [omnipack(), linux_agent(), manifest, macos_agent(), windows_assistant()]
        .iter()
        .map(|p| mtime(p))
        .max()
        .unwrap();
    if mtime(&stamp) < newest_input {
        let out = omnipack_build(&dir, &[]);
        assert!(out.status.success(), "omnipack build failed:\n{}", text(&out));
    }
    dir
}

pub struct Artifact {
    pub path: PathBuf,
    pub json: serde_json::Value,
}

/// The artifact of `format` listed in `dir/release.json`.
pub fn artifact(dir: &Path, format: &str) -> Artifact {
    let release: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("release.json")).unwrap()).unwrap();
    let a = release["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["format"] == format)
        .unwrap_or_else(|| panic!("no {format} in release.json"));
    Artifact {
        path: dir.join(a["path"].as_str().unwrap()),
        json: a.clone(),
    }
}

/// Where omnipack keeps its throwaway test keys: `<target>/omnipack-test-keys`.
pub fn test_key_dir() -> PathBuf {
    profile_dir().parent().unwrap().join("omnipack-test-keys")
}

/// The throwaway public key the test builds are signed with.
pub fn test_public_key() -> PathBuf {
    let p = test_key_dir().join("openpgp-test.pub.asc");
    assert!(p.is_file(), "{} missing: dist() generates it", p.display());
    p
}

/// Asserts `haystack` contains `needle`, showing both when it does not.
#[track_caller]
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(haystack.contains(needle), "expected to find:\n  {needle}\nin:\n{haystack}");
}

/// The Windows agent cross-built by scripts/test (release profile, mingw).
pub fn windows_agent(triple: &str) -> PathBuf {
    let p = profile_dir().parent().unwrap().join(triple).join("release/outpost-agent.exe");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build --release -p outpost-agent --target {triple}` (scripts/test does)",
        p.display()
    );
    p
}

/// The MSI custom action DLL (packaging/msi-ca) cross-built by scripts/test
/// (profile `msi-ca`: release with LTO, as omnipack builds it).
pub fn msi_ca_dll(triple: &str) -> PathBuf {
    let p = profile_dir().parent().unwrap().join(triple).join("msi-ca/omnipack_msi_ca.dll");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build --profile msi-ca -p omnipack-msi-ca --target {triple}` (scripts/test does)",
        p.display()
    );
    p
}

/// Builds the MSIs of `manifest` into `fixtures/<name>` (cached like dist()).
pub fn msi_build(manifest: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let dir = fixtures_dir().join(name);
    let _lock = lock(name);
    let x64 = windows_agent("x86_64-pc-windows-gnu");
    let x86 = windows_agent("i686-pc-windows-gnu");
    let ca64 = msi_ca_dll("x86_64-pc-windows-gnu");
    let ca32 = msi_ca_dll("i686-pc-windows-gnu");
    let newest = [omnipack(), x64.clone(), x86.clone(), ca64.clone(), ca32.clone(), manifest.to_path_buf()]
        .iter()
        .map(|p| mtime(p))
        .max()
        .unwrap();
    if mtime(&dir.join("release.json")) < newest {
        let out = run(tool(omnipack())
            .current_dir(workspace_root())
            .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            .args(["build", "--formats", "msi", "--manifest"])
            .arg(manifest)
            .arg("--out")
            .arg(&dir)
            .arg("--agent-bin")
            .arg(format!("x86_64-pc-windows-gnu={}", x64.display()))
            .arg("--agent-bin")
            .arg(format!("i686-pc-windows-gnu={}", x86.display()))
            .arg("--msi-ca-bin")
            .arg(format!("x86_64-pc-windows-gnu={}", ca64.display()))
            .arg("--msi-ca-bin")
            .arg(format!("i686-pc-windows-gnu={}", ca32.display()))
            .args(extra));
        assert!(
            out.status.success(),
            "omnipack build --formats msi --manifest {}:\n{}",
            manifest.display(),
            text(&out)
        );
    }
    dir
}

/// The MSIs of the product manifest with its version replaced by `version`
/// (e.g. a hotfix to patch to), built once into `fixtures/dist-windows-<version>`.
pub fn msi_build_version(version: &str) -> PathBuf {
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    let manifest = fixtures_dir().join(format!("outpost-{version}.toml"));
    let edited = text.replace("version = \"2.1.0\"", &format!("version = \"{version}\""));
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(&edited) {
        std::fs::write(&manifest, edited).unwrap();
    }
    msi_build(&manifest, &format!("dist-windows-{version}"), &[])
}

/// The product's signed MSIs (throwaway Authenticode PKI).
pub fn dist_windows() -> PathBuf {
    msi_build(&workspace_root().join("packaging/outpost.toml"), "dist-windows", &[])
}

/// The throwaway Authenticode root the test MSIs chain to.
pub fn test_authenticode_ca() -> PathBuf {
    test_key_dir().join("authenticode/test-ca.pem")
}

/// A mingw-built test DLL or exe from tests/wine/, built once.
pub fn mingw_build(source: &str, out_name: &str, gcc: &str, extra: &[&str]) -> PathBuf {
    let out = fixtures_dir().join(out_name);
    let _lock = lock(out_name);
    let src = workspace_root().join("tests/wine").join(source);
    if mtime(&out) < mtime(&src) {
        let mut cmd = tool(gcc);
        cmd.arg("-O2").arg("-o").arg(&out).arg(&src).args(extra);
        ok(&mut cmd);
    }
    out
}
