//! A build context for packaging in-process: a manifest's text, the
//! stand-in binaries for every input and target, a fixed source date, no
//! signers.

use std::collections::BTreeMap;
use std::sync::Arc;

use omnipack::packager::{BuildContext, Input};
use outpost_manifest::Manifest;

use super::stand_ins;

/// The product manifest as the tests read it.
pub const MANIFEST: &str = include_str!("../../outpost.toml");

pub fn context(manifest: &str) -> BuildContext {
    let mut binaries = BTreeMap::new();
    for (input, triple, bytes) in [
        (Input::Agent, "x86_64-unknown-linux-gnu", stand_ins::elf64()),
        (Input::Agent, "universal2-apple-darwin", stand_ins::universal()),
        (Input::Agent, "x86_64-pc-windows-gnu", stand_ins::windows("agent x64")),
        (Input::Agent, "i686-pc-windows-gnu", stand_ins::windows("agent x86")),
        (Input::MsiCustomAction, "x86_64-pc-windows-gnu", stand_ins::windows("ca x64")),
        (Input::MsiCustomAction, "i686-pc-windows-gnu", stand_ins::windows("ca x86")),
    ] {
        binaries.insert((input, triple.to_string()), Arc::from(bytes));
    }
    BuildContext {
        manifest: Manifest::parse(manifest, "outpost.toml").unwrap(),
        binaries,
        files: BTreeMap::new(),
        source_date: 1_700_000_000,
        openpgp: None,
        authenticode: None,
        apple: None,
    }
}
