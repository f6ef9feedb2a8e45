//! Lifecycle scenarios: a named sequence of steps against one root. Every
//! check failure names the scenario, the step, the file and what differed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

use crate::chroot::Root;
use crate::text;

pub struct Scenario {
    pub name: &'static str,
    pub root: Root,
    step: RefCell<String>,
}

impl Scenario {
    pub fn new(name: &'static str, root: Root) -> Scenario {
        Scenario {
            name,
            root,
            step: RefCell::new("set-up".into()),
        }
    }

    pub fn step(&self, s: &str) {
        *self.step.borrow_mut() = s.to_string();
    }

    #[track_caller]
    pub fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("\n[{}] step `{}`: {what}\n", self.name, self.step.borrow())
    }

    #[track_caller]
    pub fn ok(&self, out: Output, what: &str) -> String {
        if !out.status.success() {
            self.fail(format!("{what} failed ({}):\n{}", out.status, text(&out)));
        }
        text(&out)
    }

    #[track_caller]
    pub fn refused(&self, out: Output, what: &str) -> String {
        if out.status.success() {
            self.fail(format!("{what} succeeded but must be refused:\n{}", text(&out)));
        }
        text(&out)
    }

    #[track_caller]
    pub fn has(&self, haystack: &str, needle: &str, what: &str) {
        if !haystack.contains(needle) {
            self.fail(format!("{what}: expected `{needle}` in:\n{haystack}"));
        }
    }

    /// `path` exists with `mode` (permission bits) and owner root:root.
    #[track_caller]
    pub fn file(&self, path: &str, mode: u32) {
        let md = match self.root.host(path).symlink_metadata() {
            Ok(m) => m,
            Err(_) => self.fail(format!("file {path}: missing")),
        };
        if md.mode() & 0o7777 != mode {
            self.fail(format!("file {path}: mode {:o}, expected {mode:o}", md.mode() & 0o7777));
        }
        if (md.uid(), md.gid()) != (0, 0) {
            self.fail(format!("file {path}: owner {}:{}, expected 0:0", md.uid(), md.gid()));
        }
    }

    #[track_caller]
    pub fn absent(&self, path: &str) {
        if self.root.exists(path) {
            self.fail(format!("file {path}: present, expected it gone"));
        }
    }

    #[track_caller]
    pub fn contains(&self, path: &str, needle: &str) {
        match self.root.read(path) {
            None => self.fail(format!("file {path}: missing, expected it to contain `{needle}`")),
            Some(t) if !t.contains(needle) => self.fail(format!("file {path}: expected `{needle}` in:\n{t}")),
            Some(_) => {}
        }
    }

    #[track_caller]
    pub fn lacks(&self, path: &str, needle: &str) {
        if let Some(t) = self.root.read(path) {
            if t.contains(needle) {
                self.fail(format!("file {path}: `{needle}` must not be there:\n{t}"));
            }
        }
    }

    /// `outpost-agent config show` inside the root reports `value` from `source`.
    #[track_caller]
    pub fn setting(&self, name: &str, value: &str, source: &str) {
        let out = self.root.exec(&[], &["outpost-agent", "config", "show", "--json"]);
        let t = self.ok(out.clone(), "outpost-agent config show");
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| self.fail(format!("config show --json: {e}: {t}")));
        let Some(s) = v["settings"].as_array().and_then(|a| a.iter().find(|s| s["name"] == name)) else {
            self.fail(format!("config show has no setting {name}"));
        };
        let got = (s["value"].as_str().unwrap_or(""), s["source"].as_str().unwrap_or(""));
        if got != (value, source) {
            self.fail(format!(
                "setting {name}: config show reports {:?} from {}, expected {value:?} from {source}",
                got.0, got.1
            ));
        }
    }

    /// Paths under the root with mode, owner and size, for "nothing else
    /// touched" comparisons. `skip` holds path prefixes whose contents
    /// legitimately change (package databases, caches, logs).
    pub fn snapshot(&self, skip: &[&str]) -> BTreeMap<String, Entry> {
        let mut out = BTreeMap::new();
        walk(self.root.path(), self.root.path(), skip, &mut out);
        out
    }

    #[track_caller]
    pub fn same_as(&self, before: &BTreeMap<String, Entry>, after: &BTreeMap<String, Entry>) {
        let mut diffs = Vec::new();
        for (p, a) in after {
            match before.get(p) {
                None => diffs.push(format!("added   {p}")),
                Some(b) if b != a => diffs.push(format!("changed {p}: {b:?} -> {a:?}")),
                _ => {}
            }
        }
        for p in before.keys().filter(|p| !after.contains_key(*p)) {
            diffs.push(format!("removed {p}"));
        }
        if !diffs.is_empty() {
            self.fail(format!("the root differs from before the install:\n  {}", diffs.join("\n  ")));
        }
    }
}

/// Mode, owner, group, size and (for all but directories) modification time.
pub type Entry = (u32, u32, u32, u64, i64);

fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<String, Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let rel = format!("/{}", path.strip_prefix(root).unwrap().display());
        if skip.iter().any(|s| rel == *s || rel.starts_with(&format!("{s}/"))) {
            continue;
        }
        let Ok(md) = path.symlink_metadata() else { continue };
        // Directory sizes change with their entries; mode and owner do not.
        // A rewritten file keeps its size but not its modification time.
        let (size, mtime) = if md.is_dir() { (0, 0) } else { (md.size(), md.mtime_nsec() + md.mtime() * 1_000_000_000) };
        out.insert(rel, (md.mode(), md.uid(), md.gid(), size, mtime));
        if md.is_dir() {
            walk(root, &path, skip, out);
        }
    }
}
