//! What both test suites share: `tests/` (crate `outpost-tests`) and
//! omnipack's own integration tests in `packaging/tests/` (a
//! dev-dependency of `omnipack`).
//!
//! - The programs tests may run by name: `tools.list`, read by
//!   `scripts/test` to install them and by [`tool`] to refuse any other. A
//!   program given by path (a binary this workspace built, one inside a test
//!   root) is not a tool and is always allowed.
//! - Running them: [`run`], [`checked`], [`ok`], [`text`], [`pipe`],
//!   [`run_with_input`], [`require`].
//! - Reading archives with readers we did not write: [`archive`] (GNU cpio,
//!   7-Zip and libarchive listings, `ls -l` modes, `cksum`).
//!
//! This crate depends on nothing, omnipack least of all: a dev-dependency
//! of `omnipack` that depends on `omnipack` makes a dependency cycle, and
//! the unit tests of `omnipack` would then see two copies of every omnipack
//! type. What needs omnipack's types (hand-built MSI databases, the stand-in
//! agent binaries) lives beside omnipack's tests in
//! `packaging/tests/common/`, which those tests take in with `mod common;`
//! and `tests/support/lib.rs` takes in by path: one source, compiled
//! against the one omnipack each crate already has.

use std::process::Command;

pub mod archive;
mod run;

pub use run::{checked, find_file, ok, pipe, require, run, run_with_input, text};

const LIST: &str = include_str!("../tools.list");

/// `(command, Debian package)` for every listed tool.
pub fn listed() -> impl Iterator<Item = (&'static str, &'static str)> {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap_or_default(), words.next().unwrap_or_default())
        })
}

/// The Debian package of a listed tool.
pub fn package_of(command: &str) -> Option<&'static str> {
    listed().find(|(c, _)| *c == command).map(|(_, p)| p)
}

/// A `Command` for `program`; panics when it is a bare name that
/// `tools.list` does not hold, so a test cannot depend on a tool that
/// `scripts/test` would not install.
#[track_caller]
pub fn tool(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let program = program.as_ref();
    let name = program.to_string_lossy();
    if !name.contains('/') && package_of(&name).is_none() {
        panic!("`{name}` is not in tests/tools/tools.list: add `{name} <Debian package>` there, so scripts/test installs it");
    }
    Command::new(program)
}

/// Why a program could not start, naming the package to install when it is
/// a listed tool that is missing.
pub fn cannot_start(cmd: &Command, e: &std::io::Error) -> String {
    let name = cmd.get_program().to_string_lossy().into_owned();
    match package_of(&name) {
        Some(pkg) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("`{name}` is not installed: scripts/test installs it (apt-get install {pkg})")
        }
        _ => format!("cannot run {cmd:?}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn every_line_names_a_command_and_a_package_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (c, p) in listed() {
            assert!(!c.is_empty() && !p.is_empty(), "`{c}` `{p}`");
            assert!(seen.insert(c), "{c} listed twice");
        }
        assert!(seen.len() > 30);
    }

    #[test]
    #[should_panic(expected = "not in tests/tools/tools.list")]
    fn an_unlisted_tool_is_refused() {
        tool("no-such-tool-anywhere");
    }

    #[test]
    fn listed_tools_and_paths_are_allowed() {
        assert_eq!(tool("msiinfo").get_program(), "msiinfo");
        assert_eq!(tool("/usr/bin/env").get_program(), "/usr/bin/env");
        assert_eq!(package_of("wixl"), Some("wixl"));
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The class of miss this crate exists for: a test starting a program
    /// around the list. Every test source must go through `tool`.
    #[test]
    fn no_test_starts_a_program_around_the_list() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in ["tests", "packaging/tests"] {
            rust_files(&root.join(dir), &mut files);
        }
        let offenders: Vec<String> = files
            .iter()
            .filter(|p| !p.starts_with(root.join("tests/tools")) && !p.starts_with(root.join("tests/switch")))
            .flat_map(|p| {
                let text = std::fs::read_to_string(p).unwrap();
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains("Command::new("))
                    .map(|(i, l)| format!("{}:{}: {}", p.display(), i + 1, l.trim()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            offenders.is_empty(),
            "use outpost_test_tools::tool instead of Command::new:\n{}",
            offenders.join("\n")
        );
    }
}
