//! What several packaging integration tests share (each test file is its own
//! crate and takes this in with `mod common;`, using what it needs).
#![allow(dead_code)]

use std::process::{Command, Output};

use omnipack::msi::{schema, Database, Value};

/// Runs `cmd`; a listed tool that is not installed panics naming its
/// Debian package (tests/tools/tools.list).
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{}", outpost_test_tools::cannot_start(cmd, &e)))
}

/// stdout then stderr, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, panicking with its output unless it exits 0; returns stdout.
#[track_caller]
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The standard actions a small hand-built MSI needs to install files and
/// INI values, in InstallExecuteSequence and InstallUISequence.
pub fn insert_minimal_sequences(db: &mut Database) {
    let seq = |action: &str, n: i32| vec![Value::from(action), Value::Null, Value::from(n)];
    for (action, n) in [
        ("LaunchConditions", 100),
        ("ValidateProductID", 700),
        ("CostInitialize", 800),
        ("FileCost", 900),
        ("CostFinalize", 1000),
        ("InstallValidate", 1400),
        ("InstallInitialize", 1500),
        ("ProcessComponents", 1600),
        ("UnpublishFeatures", 1800),
        ("RemoveIniValues", 3100),
        ("RemoveFiles", 3500),
        ("RemoveFolders", 3600),
        ("CreateFolders", 3700),
        ("InstallFiles", 4000),
        ("WriteIniValues", 5100),
        ("RegisterUser", 6000),
        ("RegisterProduct", 6100),
        ("PublishFeatures", 6300),
        ("PublishProduct", 6400),
        ("InstallFinalize", 6600),
    ] {
        db.insert(schema::install_execute_sequence(), seq(action, n)).unwrap();
    }
    for (action, n) in [
        ("LaunchConditions", 100),
        ("ValidateProductID", 700),
        ("CostInitialize", 800),
        ("FileCost", 900),
        ("CostFinalize", 1000),
        ("ExecuteAction", 1300),
    ] {
        db.insert(schema::install_ui_sequence(), seq(action, n)).unwrap();
    }
}
