//! Running a program and reading what it said: the one copy of `run`, `ok`
//! and `text` that both test suites use.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `cmd` and returns its output, whatever the exit status; a program
/// that cannot start panics, naming the Debian package of a listed tool
/// that is not installed (tools.list).
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{}", crate::cannot_start(cmd, &e)))
}

/// Runs `cmd` and panics with its command line, status, stdout and stderr
/// unless it exits 0; returns the output.
#[track_caller]
pub fn checked(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd`, panicking with its output unless it exits 0; returns stdout.
#[track_caller]
pub fn ok(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&checked(cmd).stdout).into_owned()
}

/// stdout then stderr, for messages and for tools that report on either.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` with `input` on its stdin; returns its output, whatever the
/// exit status.
#[track_caller]
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}", crate::cannot_start(cmd, &e)));
    let mut stdin = child.stdin.take().unwrap();
    // A program may exit before it reads everything; its status says why.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// `sh -c script` in `cwd` with `input` on stdin; panics with its output
/// unless it exits 0, and returns stdout. For pipelines such as
/// `gunzip -c | cpio -it`.
#[track_caller]
pub fn pipe(script: &str, input: &[u8], cwd: &Path) -> String {
    let out = run_with_input(crate::tool("sh").arg("-c").arg(script).current_dir(cwd), input);
    assert!(out.status.success(), "`{script}` failed ({}):\n{}", out.status, text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics, naming the Debian package to install, when `program` (a listed
/// tool) cannot start: for a fixture to fail early and once rather than in
/// every test that uses it.
#[track_caller]
pub fn require(program: &str) {
    let mut cmd = crate::tool(program);
    cmd.arg("--version").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    if let Err(e) = cmd.status() {
        panic!("{}", crate::cannot_start(&cmd, &e));
    }
}

/// The first file named `name` anywhere under `dir`, depth first.
pub fn find_file(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}
