//! A stand-in for macOS Installer, to run the pkg's own scripts against a
//! throwaway Debian root (no Mac can run here). It does what `installer -pkg
//! X -target /` does with a product archive, per selected choice in outline
//! order: preinstall, payload, postinstall, receipt; a failing script stops
//! the installation. `launchctl` and `pkgutil` are small shell stand-ins that
//! keep their state in files of the root, so a test can see which daemons
//! were stopped and started and which receipts remain.
//!
//! What this cannot show: Apple's own installer, launchd, the pkgutil
//! database, BSD userland differences beyond POSIX sh. The agent in the
//! payload is a Mach-O, so the Linux agent takes its place for `config check`.

use outpost_test_tools::tool;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::chroot::Root;
use crate::{ok, run};

pub const LAUNCHCTL_LOG: &str = "/var/log/launchctl.log";
const RECEIPTS: &str = "/var/db/receipts-standin";
const RUNNING: &str = "/var/db/launchd-standin";

const LAUNCHCTL: &str = r#"#!/bin/sh
# launchctl stand-in: records calls; a running job is a file named after its label.
echo "launchctl $*" >> /var/log/launchctl.log
mkdir -p /var/db/launchd-standin
case "$1" in
print) [ -e "/var/db/launchd-standin/${2#system/}" ] ;;
bootout) [ -e "/var/db/launchd-standin/${2#system/}" ] || exit 3; rm -f "/var/db/launchd-standin/${2#system/}" ;;
bootstrap)
    label=$(sed -n '/<key>Label<\/key>/{n;s/.*<string>\(.*\)<\/string>.*/\1/p;}' "$3")
    [ -n "$label" ] || { echo "launchctl: $3: no Label" >&2; exit 5; }
    [ -e "/var/db/launchd-standin/$label" ] && { echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; }
    touch "/var/db/launchd-standin/$label" ;;
enable) ;;
*) echo "launchctl stand-in: unsupported: $*" >&2; exit 64 ;;
esac
"#;

const PKGUTIL: &str = r#"#!/bin/sh
# pkgutil stand-in: a receipt is a folder holding location, files and dirs.
db=/var/db/receipts-standin
mode= what=
while [ $# -gt 0 ]; do
    case "$1" in
    --volume) shift ;;
    --only-files) what=files ;;
    --only-dirs) what=dirs ;;
    --pkg-info|--files|--forget) mode=$1 ;;
    *) id=$1 ;;
    esac
    shift
done
[ -d "$db/$id" ] || { echo "No receipt for '$id' found at '/'." >&2; exit 1; }
case "$mode" in
--pkg-info) printf 'package-id: %s\nversion: 1.0\nvolume: /\nlocation: %s\n' "$id" "$(cat "$db/$id/location")" ;;
--files) if [ "$what" = dirs ]; then cat "$db/$id/dirs"; elif [ "$what" = files ]; then cat "$db/$id/files"; else cat "$db/$id/dirs" "$db/$id/files"; fi ;;
--forget) rm -rf "${db:?}/$id"; echo "Forgot package '$id' on '/'." ;;
esac
"#;

/// A component of the product archive, extracted.
struct Component {
    id: String,
    dir: PathBuf,
}

pub struct MacInstaller<'a> {
    root: &'a Root,
    /// The extracted product archive.
    expanded: tempfile::TempDir,
    pkg: PathBuf,
}

impl<'a> MacInstaller<'a> {
    /// Expands `pkg` and puts the stand-ins into `root`.
    pub fn new(root: &'a Root, pkg: &Path) -> MacInstaller<'a> {
        // Where macOS has them, on the PATH Installer gives scripts.
        for (path, text) in [("/usr/bin/launchctl", LAUNCHCTL), ("/usr/sbin/pkgutil", PKGUTIL)] {
            root.write(path, text);
            ok(tool("chmod").arg("0755").arg(root.host(path)));
        }
        let expanded = tempfile::tempdir_in(crate::fixtures_dir()).unwrap();
        ok(tool("bsdtar").arg("-xf").arg(pkg).arg("-C").arg(expanded.path()));
        root.put(pkg, "/tmp/outpost.pkg");
        MacInstaller {
            root,
            expanded,
            pkg: pkg.to_path_buf(),
        }
    }

    /// Component ids in the Distribution's outline order with their choice.
    fn components(&self) -> Vec<(String, Component)> {
        let dist = std::fs::read_to_string(self.expanded.path().join("Distribution")).unwrap();
        let mut out = Vec::new();
        for line in dist.lines().filter(|l| l.contains("<line choice=")) {
            let choice = between(line, "choice=\"", "\"");
            let block = dist.split(&format!("<choice id=\"{choice}\"")).nth(1).unwrap();
            let block = block.split("</choice>").next().unwrap();
            let id = between(block, "<pkg-ref id=\"", "\"");
            out.push((
                choice.to_string(),
                Component {
                    dir: self.expanded.path().join(format!("{id}.pkg")),
                    id: id.to_string(),
                },
            ));
        }
        assert!(!out.is_empty(), "no choices in the Distribution of {}", self.pkg.display());
        out
    }

    /// `installer -pkg -target /` with `deselected` choices left out (what
    /// `-applyChoiceChangesXML` with `selected = 0` does). Returns the output
    /// of the first failing script, or Ok with all script output.
    pub fn install(&self, deselected: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
        let mut log = String::new();
        for (choice, c) in self.components() {
            if deselected.contains(&choice.as_str()) {
                continue;
            }
            let scripts = format!("/tmp/scripts/{}", c.id);
            let host_scripts = self.root.host(&scripts);
            std::fs::create_dir_all(&host_scripts).unwrap();
            if c.dir.join("Scripts").is_file() {
                extract(&c.dir.join("Scripts"), &host_scripts);
            }
            if let Some(out) = self.script(&scripts, "preinstall", env) {
                log += &crate::text(&out);
                if !out.status.success() {
                    return Err(log);
                }
            }
            extract(&c.dir.join("Payload"), self.root.path());
            self.linux_agent_in_place();
            if let Some(out) = self.script(&scripts, "postinstall", env) {
                log += &crate::text(&out);
                if !out.status.success() {
                    return Err(log);
                }
            }
            self.record_receipt(&c);
        }
        Ok(log)
    }

    fn script(&self, dir: &str, name: &str, env: &[(&str, &str)]) -> Option<Output> {
        if !self.root.exists(&format!("{dir}/{name}")) {
            return None;
        }
        // Installer passes: package path, install location, target volume.
        Some(self.root.exec(env, &[&format!("{dir}/{name}"), "/tmp/outpost.pkg", "/", "/"]))
    }

    /// The payload's agent is a Mach-O; the scripts run it for `config
    /// check`, so the Linux build stands in for it.
    fn linux_agent_in_place(&self) {
        let mac = "/Library/Application Support/Outpost/outpost-agent";
        if self.root.exists(mac) {
            self.root.put(&crate::agent(), mac);
        }
    }

    fn record_receipt(&self, c: &Component) {
        let listing = ok(tool("sh")
            .arg("-c")
            .arg("gunzip -c \"$1\" | cpio -it --quiet")
            .arg("sh")
            .arg(c.dir.join("Payload")));
        let (mut files, mut dirs) = (String::new(), String::new());
        for name in listing
            .lines()
            .map(|l| l.trim_start_matches("./"))
            .filter(|l| !l.is_empty() && *l != ".")
        {
            let target = if self.root.host(&format!("/{name}")).is_dir() {
                &mut dirs
            } else {
                &mut files
            };
            target.push_str(name);
            target.push('\n');
        }
        add_receipt(self.root, &c.id, "/", &files, &dirs);
    }
}

/// A receipt as a pkg leaves it: what `pkgutil --files` and `--pkg-info` report.
pub fn add_receipt(root: &Root, id: &str, location: &str, files: &str, dirs: &str) {
    let db = format!("{RECEIPTS}/{id}");
    root.write(&format!("{db}/location"), location);
    root.write(&format!("{db}/files"), files);
    root.write(&format!("{db}/dirs"), dirs);
}

pub fn has_receipt(root: &Root, id: &str) -> bool {
    root.exists(&format!("{RECEIPTS}/{id}"))
}

/// Marks a launchd job as loaded.
pub fn start_job(root: &Root, label: &str) {
    root.write(&format!("{RUNNING}/{label}"), "");
}

pub fn job_running(root: &Root, label: &str) -> bool {
    root.exists(&format!("{RUNNING}/{label}"))
}

/// Unpacks a gzip'd odc cpio member (Payload, Scripts) into `into` with GNU
/// cpio, replacing what is there as Installer does.
pub fn extract(gz_cpio: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let out = run(tool("sh")
        .current_dir(into)
        .arg("-c")
        .arg("gunzip -c \"$1\" | cpio -idmu --quiet --no-absolute-filenames")
        .arg("sh")
        .arg(gz_cpio));
    assert!(
        out.status.success(),
        "extracting {}: {}",
        gz_cpio.display(),
        crate::text(&out)
    );
}

fn between<'s>(s: &'s str, start: &str, end: &str) -> &'s str {
    let rest = s.split_once(start).unwrap_or_else(|| panic!("`{start}` not in {s}")).1;
    rest.split_once(end).unwrap().0
}
