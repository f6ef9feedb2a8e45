//! Throwaway Debian roots for install tests: a `debootstrap --variant=minbase`
//! tree made once by `scripts/prepare-chroot` and unpacked fresh per test.

use outpost_test_tools::tool;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::{ok, run};

fn cache() -> PathBuf {
    match std::env::var_os("OMNIPACK_CACHE") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache/omnipack"),
    }
}

/// The cached tarball of the minbase root.
pub fn tarball() -> PathBuf {
    let p = std::env::var_os("OUTPOST_TEST_CHROOT_TAR").map_or_else(|| cache().join("bookworm-minbase.tar"), PathBuf::from);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/prepare-chroot (scripts/test does)",
        p.display()
    );
    p
}

/// The cached tarball of the oldest Debian root debootstrap could make here
/// (`scripts/prepare-chroot oldest`: buster, else bullseye).
pub fn oldest_tarball() -> PathBuf {
    let p = cache().join("oldest-minbase.tar");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/prepare-chroot oldest (scripts/test does)",
        p.display()
    );
    p
}

pub struct Root {
    dir: tempfile::TempDir,
}

const PATH: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

impl Root {
    /// A fresh bookworm root.
    pub fn new() -> Root {
        Root::unpack(&tarball())
    }

    /// A fresh root of the oldest Debian suite prepared (see `oldest_tarball`).
    pub fn oldest() -> Root {
        Root::unpack(&oldest_tarball())
    }

    fn unpack(tarball: &Path) -> Root {
        let dir = tempfile::Builder::new()
            .prefix("root-")
            .tempdir_in(crate::fixtures_dir())
            .unwrap();
        ok(tool("tar").arg("-C").arg(dir.path()).arg("-xf").arg(tarball));
        Root { dir }
    }

    /// The root's Debian release: `VERSION_CODENAME` and `VERSION_ID` of /etc/os-release.
    pub fn release(&self) -> (String, String) {
        let text = self.read("/etc/os-release").unwrap_or_default();
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        (field("VERSION_CODENAME"), field("VERSION_ID"))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Host path of `p`, an absolute path inside the root.
    pub fn host(&self, p: &str) -> PathBuf {
        self.path().join(p.trim_start_matches('/'))
    }

    /// Runs `args` inside the root with a clean environment plus `env`.
    pub fn exec(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = tool("chroot");
        cmd.arg(self.path())
            .arg("/usr/bin/env")
            .arg("-i")
            .arg(PATH)
            .arg("DEBIAN_FRONTEND=noninteractive")
            .arg("LC_ALL=C");
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.args(args);
        run(&mut cmd)
    }

    /// Copies a host file into the root at `dest` (absolute inside the root).
    pub fn put(&self, src: &Path, dest: &str) -> String {
        let host = self.host(dest);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::copy(src, &host).unwrap_or_else(|e| panic!("copying {} into the root: {e}", src.display()));
        dest.to_string()
    }

    pub fn write(&self, dest: &str, content: &str) {
        let host = self.host(dest);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(host, content).unwrap();
    }

    pub fn read(&self, p: &str) -> Option<String> {
        std::fs::read_to_string(self.host(p)).ok()
    }

    pub fn exists(&self, p: &str) -> bool {
        self.host(p).symlink_metadata().is_ok()
    }
}
