//! Self-validation: every package installs a list of its program files with
//! their SHA-256 (`files.sha256` beside the shipped defaults, inside the
//! signed package where the format signs), and the agent checks the
//! installed files against it: `outpost-agent verify`, and once at service
//! start for `status` and the `inventory` answer.

use std::process::ExitCode;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tracing::{error, info};

use crate::paths::{display, Paths};
use crate::schema::manifest;

/// What a check found. Paths are as the list names them: as installed on
/// the platform, whatever root or install folder they were read under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The list the files were checked against, where it was read.
    pub list: String,
    pub checked: usize,
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    /// Why the list itself could not be read; then nothing was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.changed.is_empty() && self.missing.is_empty()
    }

    /// One line for `status` and the log.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.error {
            return format!("files: not verified ({e})");
        }
        if self.ok() {
            return format!("files: {} verified, all match {}", self.checked, self.list);
        }
        let mut differ: Vec<String> = self.changed.iter().map(|p| format!("changed {p}")).collect();
        differ.extend(self.missing.iter().map(|p| format!("missing {p}")));
        format!("files: {} of {} differ from {}: {}", differ.len(), self.checked, self.list, differ.join(", "))
    }
}

/// Checks every file the list names against its SHA-256.
pub fn check(paths: &Paths) -> Verification {
    let installed = manifest().layout(paths.platform).file_list();
    let list_file = paths.resolve(&installed);
    let mut v = Verification { list: display(&list_file), ..Verification::default() };
    let text = match std::fs::read_to_string(&list_file) {
        Ok(t) => t,
        Err(e) => {
            v.error = Some(format!("reading {}: {e}", v.list));
            return v;
        }
    };
    // `\r` tolerated: an administrator may have opened the list on Windows.
    for (n, line) in text.lines().map(|l| l.trim_end_matches('\r')).enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some((want, path)) = line.split_once("  ").filter(|(h, _)| h.len() == 64) else {
            v.error = Some(format!("{} line {}: not `sha256  path`", v.list, n + 1));
            return v;
        };
        v.checked += 1;
        match sha256_file(&paths.resolve(path)) {
            Ok(got) if got.eq_ignore_ascii_case(want) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => v.missing.push(path.to_string()),
            // Unreadable counts as changed: it is not the file shipped.
            _ => v.changed.push(path.to_string()),
        }
    }
    v
}

fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    Ok(crate::content::Sha256::of_file(path)?.to_string())
}

static AT_START: OnceLock<Verification> = OnceLock::new();

/// The check the service runs once at start, logged; a failed check is
/// reported, not fatal (the agent still runs, and says so).
pub fn at_start(paths: &Paths) -> &'static Verification {
    AT_START.get_or_init(|| {
        let v = check(paths);
        if v.ok() {
            info!("{}", v.describe());
        } else {
            error!("{}", v.describe());
        }
        v
    })
}

/// The start check's result, once the service ran it.
pub fn started() -> Option<&'static Verification> {
    AT_START.get()
}

/// `outpost-agent verify`: 0 when every file matches, 1 naming each changed
/// or missing file, 2 when the list itself cannot be read.
pub fn command(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let v = check(paths);
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if let Some(e) = &v.error {
        eprintln!("outpost-agent: cannot verify: {e}");
    } else {
        for p in &v.changed {
            println!("changed: {p}");
        }
        for p in &v.missing {
            println!("missing: {p}");
        }
        println!("{}", v.describe());
    }
    Ok(match (&v.error, v.ok()) {
        (Some(_), _) => ExitCode::from(2),
        (None, true) => ExitCode::SUCCESS,
        (None, false) => ExitCode::FAILURE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_manifest::Platform;

    fn installed(root: &std::path::Path, files: &[(&str, &[u8])]) {
        let mut list = String::new();
        for (path, data) in files {
            let host = root.join(&path[1..]);
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            std::fs::write(&host, data).unwrap();
            let sum: String = ring::digest::digest(&ring::digest::SHA256, data).as_ref().iter().map(|b| format!("{b:02x}")).collect();
            list.push_str(&format!("{sum}  {path}\n"));
        }
        let l = manifest().layout(Platform::Linux).file_list();
        std::fs::write(root.join(&l[1..]), list).unwrap();
    }

    #[test]
    fn names_each_changed_and_missing_file() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        installed(r, &[("/usr/bin/outpost-agent", b"agent"), ("/usr/share/outpost/defaults.conf", b"x=1\n"), ("/usr/share/outpost/extra", b"e")]);
        let paths = Paths::for_platform(Some(r.to_path_buf()), Platform::Linux).unwrap();
        let v = check(&paths);
        assert!(v.ok() && v.checked == 3, "{v:?}");
        std::fs::write(r.join("usr/share/outpost/defaults.conf"), b"x=2\n").unwrap();
        std::fs::remove_file(r.join("usr/share/outpost/extra")).unwrap();
        let v = check(&paths);
        assert_eq!(v.changed, ["/usr/share/outpost/defaults.conf"]);
        assert_eq!(v.missing, ["/usr/share/outpost/extra"]);
        assert!(v.describe().contains("changed /usr/share/outpost/defaults.conf"), "{}", v.describe());
        std::fs::remove_file(r.join("usr/share/outpost/files.sha256")).unwrap();
        assert!(check(&paths).error.is_some());
    }
}
