//! What several packaging integration tests share (each test file is its own
//! crate and takes this in with `mod common;`, using what it needs).
//!
//! What needs no omnipack type (running tools, reading archive listings)
//! is in `outpost-test-tools`, shared with tests/. What needs omnipack's
//! types is here, in files tests/support/lib.rs takes in by path too (a
//! support crate depending on omnipack cannot be a dev-dependency of
//! omnipack: see outpost-test-tools' crate documentation).
#![allow(dead_code, unused_imports)]

pub use outpost_test_tools::{archive, checked, find_file, ok, pipe, require, run, run_with_input, text, tool};

/// A build context over stand-ins, for packaging in-process.
pub mod in_process;
/// Hand-built MSI databases.
pub mod msi_fixture;
/// Stand-in agent and custom action binaries for in-process packaging.
pub mod stand_ins;
