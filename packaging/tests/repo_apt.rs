//! The apt repository writer, checked with tools we did not write: gpgv
//! verifies InRelease and Release.gpg with the binary key and with the
//! armoured one (dearmoured by gpg), coreutils and xz recompute what the
//! indices claim, and apt-ftparchive lists the pool as we do. apt itself
//! needs a Debian root; those checks were run by hand (see the commit that
//! added this file).
//!
//! Needs the Debian packages gpgv, gpg, xz-utils, coreutils and apt-utils.

use std::collections::BTreeMap;
use outpost_test_tools::tool;
use std::fs::File;
use std::path::{Path, PathBuf};

mod common;

use common::{ok, run, text};
use omnipack::repo::apt::{publish, AptOptions, AptSummary};
use omnipack::repo::RepoError;
use omnipack::sign::openpgp::OpenPgpKey;
use omnipack::sign::{OpenPgpKeySource, Signer};

/// Sun, 22 Nov 2026 05:00:00 UTC.
const DATE: u64 = 1_795_323_600;
const PACKAGES: &str = "dists/stable/main/binary-amd64/Packages";

fn options() -> AptOptions {
    AptOptions {
        suite: "stable".into(),
        component: "main".into(),
        origin: "Outpost".into(),
        label: "Outpost Client".into(),
        description: "Outpost Client test repository".into(),
        date: DATE,
    }
}

// ---- fixtures -------------------------------------------------------------

/// `target/` of the running test (`target/debug/deps/repo_apt-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors().nth(3).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The throwaway RSA-4096 key, generated once and shared by every test
/// process (nextest runs each test in its own), hence the file lock.
fn key() -> OpenPgpKey {
    let dir = target_dir().join("omnipack-test-keys-repo-apt");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join("generate.lock")).unwrap();
    lock.lock().unwrap();
    OpenPgpKey::load(&OpenPgpKeySource::Throwaway(dir)).expect("throwaway key")
}

/// Two versions of the outpost deb, built by the omnipack binary. The agent
/// is any small ELF: only its library dependencies reach the package
/// metadata, and the repository never looks inside the payload.
struct Debs {
    _tmp: tempfile::TempDir,
    v1: PathBuf,
    v2: PathBuf,
}

fn build_debs() -> Debs {
    let tmp = tempfile::tempdir().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest_v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("outpost.toml");
    let text = std::fs::read_to_string(&manifest_v1).unwrap();
    assert!(
        text.contains("\nversion = \"2.1.0\"\n"),
        "outpost.toml no longer has version 2.1.0; update this test"
    );
    let manifest_v2 = tmp.path().join("outpost-2.2.0.toml");
    std::fs::write(
        &manifest_v2,
        text.replace("\nversion = \"2.1.0\"\n", "\nversion = \"2.2.0\"\n"),
    )
    .unwrap();
    let build = |manifest: &Path, out: &str| {
        let out = tmp.path().join(out);
        ok(tool(env!("CARGO_BIN_EXE_omnipack"))
            .current_dir(workspace)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env_remove("OMNIPACK_OPENPGP_KEY")
            .env_remove("OMNIPACK_OPENPGP_KEY_FILE")
            .args([
                "build",
                "--formats",
                "deb",
                "--unsigned",
                "--agent-bin",
                "/usr/bin/true",
                "--manifest",
            ])
            .arg(manifest)
            .arg("--out")
            .arg(&out));
        out
    };
    let v1 = build(&manifest_v1, "v1").join("outpost_2.1.0-1_amd64.deb");
    let v2 = build(&manifest_v2, "v2").join("outpost_2.2.0-1_amd64.deb");
    assert!(v1.is_file() && v2.is_file(), "omnipack did not write the expected debs");
    Debs { _tmp: tmp, v1, v2 }
}

fn publish_ok(repo: &Path, debs: &[&Path], key: &OpenPgpKey) -> AptSummary {
    let debs: Vec<PathBuf> = debs.iter().map(|p| p.to_path_buf()).collect();
    publish(repo, &debs, key, &options()).unwrap_or_else(|e| panic!("publish failed: {e}"))
}

// ---- running tools ----------------------------------------------------------


/// The first field of `<tool> FILE`'s output (md5sum, sha256sum).
fn digest_with(program: &str, file: &Path) -> String {
    ok(tool(program).arg(file))
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

// ---- parsing what we check --------------------------------------------------

/// deb822 paragraphs as field → value (continuation lines joined by '\n').
fn paragraphs(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut fields = BTreeMap::new();
        let mut last = String::new();
        for line in para.lines() {
            if line.starts_with(' ') {
                let v: &mut String = fields.get_mut(&last).expect("continuation after a field");
                v.push('\n');
                v.push_str(line);
            } else {
                let (k, v) = line.split_once(':').unwrap_or_else(|| panic!("not a field: {line:?}"));
                last = k.to_string();
                fields.insert(last.clone(), v.trim_start().to_string());
            }
        }
        out.push(fields);
    }
    out
}

/// Release's `SHA256:` block as path → (hash, size).
fn release_sha256(release: &str) -> BTreeMap<String, (String, u64)> {
    release
        .split("\nSHA256:\n")
        .nth(1)
        .expect("a SHA256 section")
        .lines()
        .take_while(|l| l.starts_with(' '))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[2].to_string(), (f[0].to_string(), f[1].parse().unwrap()))
        })
        .collect()
}

// ---- tests --------------------------------------------------------------------

#[test]
fn gpgv_accepts_the_signatures_and_rejects_altered_copies() {
    let debs = build_debs();
    let key = key();
    let repo = tempfile::tempdir().unwrap();
    publish_ok(repo.path(), &[&debs.v1], &key);
    let suite = repo.path().join("dists/stable");
    let release = std::fs::read(suite.join("Release")).unwrap();

    // Both forms clients import: the binary keyring and the armoured key
    // (`signed-by=….asc`), the latter turned into a keyring by gpg itself.
    let work = tempfile::tempdir().unwrap();
    let binary = work.path().join("key.gpg");
    std::fs::write(&binary, key.public_key_binary()).unwrap();
    let armored = work.path().join("key.asc");
    std::fs::write(&armored, key.public_key_armored()).unwrap();
    let dearmored = work.path().join("dearmored.gpg");
    ok(tool("gpg")
        .env("GNUPGHOME", work.path())
        .args(["--batch", "--yes", "-o"])
        .arg(&dearmored)
        .arg("--dearmor")
        .arg(&armored));

    for keyring in [&binary, &dearmored] {
        let signed = work.path().join("signed-text");
        let gpgv = || {
            let mut c = tool("gpgv");
            c.env("GNUPGHOME", work.path()).arg("--keyring").arg(keyring);
            c
        };
        ok(gpgv().arg("--output").arg(&signed).arg(suite.join("InRelease")));
        assert!(
            std::fs::read(&signed).unwrap() == release,
            "InRelease does not sign exactly the bytes of Release"
        );
        ok(gpgv().arg(suite.join("Release.gpg")).arg(suite.join("Release")));

        // One bit changed in the Label line of a copy of InRelease.
        let bad_inrelease = work.path().join("InRelease");
        std::fs::copy(suite.join("InRelease"), &bad_inrelease).unwrap();
        let at = std::fs::read_to_string(&bad_inrelease)
            .unwrap()
            .find("Label: Outpost")
            .unwrap()
            + 8;
        flip_byte(&bad_inrelease, at);
        let out = run(gpgv().arg(&bad_inrelease));
        assert!(
            !out.status.success() && text(&out).contains("BAD signature"),
            "gpgv accepted an altered InRelease:\n{}",
            text(&out)
        );

        let bad_release = work.path().join("Release");
        std::fs::copy(suite.join("Release"), &bad_release).unwrap();
        flip_byte(&bad_release, release.len() / 2);
        let out = run(gpgv().arg(suite.join("Release.gpg")).arg(&bad_release));
        assert!(
            !out.status.success() && text(&out).contains("BAD signature"),
            "gpgv accepted an altered Release:\n{}",
            text(&out)
        );
    }
}

#[test]
fn indices_list_every_pool_version_with_the_right_hashes() {
    let debs = build_debs();
    let key = key();
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    let first = publish_ok(r, &[&debs.v1], &key);
    assert_eq!(first.added, [PathBuf::from("pool/main/o/outpost/outpost_2.1.0-1_amd64.deb")]);
    let second = publish_ok(r, &[&debs.v2], &key);
    assert_eq!(second.added, [PathBuf::from("pool/main/o/outpost/outpost_2.2.0-1_amd64.deb")]);
    assert_eq!(second.packages.len(), 2, "{:?}", second.packages);
    assert_eq!(second.architectures, ["amd64"]);

    // The old version is still listed, and the stanzas say what the files are.
    let packages = std::fs::read_to_string(r.join(PACKAGES)).unwrap();
    let stanzas = paragraphs(&packages);
    let versions: Vec<&str> = stanzas.iter().map(|s| s["Version"].as_str()).collect();
    assert_eq!(versions, ["2.1.0-1", "2.2.0-1"], "{packages}");
    for s in &stanzas {
        let file = r.join(&s["Filename"]);
        assert_eq!(
            s["Size"],
            std::fs::metadata(&file).unwrap().len().to_string(),
            "Size of {}",
            s["Filename"]
        );
        assert_eq!(s["MD5sum"], digest_with("md5sum", &file), "MD5sum of {}", s["Filename"]);
        assert_eq!(s["SHA256"], digest_with("sha256sum", &file), "SHA256 of {}", s["Filename"]);
    }
    assert_eq!(
        std::fs::read(&debs.v1).unwrap(),
        std::fs::read(r.join(&stanzas[0]["Filename"])).unwrap(),
        "the pool copy differs from the input"
    );

    // apt-ftparchive, reading the same pool, lists every field we list with
    // the same value (it adds SHA1 and SHA512, which apt no longer needs).
    let theirs = paragraphs(&ok(tool("apt-ftparchive").current_dir(r).args(["packages", "pool"])));
    assert_eq!(theirs.len(), stanzas.len());
    for ours in &stanzas {
        let twin = theirs.iter().find(|t| t["Filename"] == ours["Filename"]);
        let twin = twin.unwrap_or_else(|| panic!("apt-ftparchive does not list {}", ours["Filename"]));
        for (k, v) in ours {
            assert_eq!(twin.get(k), Some(v), "field {k} of {}", ours["Filename"]);
        }
        assert_eq!(ours.len() + 2, twin.len(), "apt-ftparchive has fields we lack: {twin:?}");
    }

    // Packages.xz is Packages; Release lists every index with its real hash.
    let unxz = run(tool("xz").arg("-dc").arg(r.join(format!("{PACKAGES}.xz"))));
    assert!(
        unxz.status.success() && unxz.stdout == packages.as_bytes(),
        "Packages.xz does not decompress to Packages"
    );
    let release = std::fs::read_to_string(r.join("dists/stable/Release")).unwrap();
    assert!(release.contains("\nDate: Sun, 22 Nov 2026 05:00:00 UTC\n"), "{release}");
    let listed = release_sha256(&release);
    let names: Vec<&str> = listed.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "main/binary-amd64/Packages",
            "main/binary-amd64/Packages.xz",
            "main/binary-amd64/Release"
        ]
    );
    for (path, (hash, size)) in &listed {
        let file = r.join("dists/stable").join(path);
        assert_eq!(*hash, digest_with("sha256sum", &file), "{path}");
        assert_eq!(*size, std::fs::metadata(&file).unwrap().len(), "{path}");
    }

    // Publishing again changes nothing but the signatures' timestamps.
    let unsigned = || -> Vec<Vec<u8>> {
        let paths = listed.keys().map(String::as_str).chain(["Release"]);
        paths
            .map(|p| std::fs::read(r.join("dists/stable").join(p)).unwrap())
            .collect()
    };
    let before = unsigned();
    let again = publish_ok(r, &[&debs.v1, &debs.v2], &key);
    assert!(again.added.is_empty(), "{:?}", again.added);
    let after = unsigned();
    assert!(before == after, "the indices changed although the pool did not");
}

#[test]
fn a_published_file_or_version_never_changes() {
    let debs = build_debs();
    let key = key();
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path();
    publish_ok(r, &[&debs.v1], &key);
    let pooled = r.join("pool/main/o/outpost/outpost_2.1.0-1_amd64.deb");
    let release_before = std::fs::read(r.join("dists/stable/Release")).unwrap();
    let other = tempfile::tempdir().unwrap();

    // Different bytes under the published file name.
    let impostor = other.path().join("outpost_2.1.0-1_amd64.deb");
    std::fs::copy(&debs.v2, &impostor).unwrap();
    match publish(r, std::slice::from_ref(&impostor), &key, &options()) {
        Err(e @ RepoError::Package { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("pool/main/o/outpost/outpost_2.1.0-1_amd64.deb") && msg.contains("different contents"),
                "{msg}"
            );
            assert!(
                msg.contains(&impostor.display().to_string()),
                "the error does not name the input: {msg}"
            );
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a different file replaced a published one"),
    }

    // The published version under another file name.
    let renamed = other.path().join("outpost_2.1.0-1+copy_amd64.deb");
    std::fs::copy(&debs.v1, &renamed).unwrap();
    let err = publish(r, &[renamed], &key, &options())
        .err()
        .expect("a second file for a published version was accepted");
    assert!(
        err.to_string().contains("outpost 2.1.0-1 (amd64) is already published"),
        "{err}"
    );

    // Not a package at all, next to a good one: nothing is added.
    let junk = other.path().join("junk_1_amd64.deb");
    std::fs::write(&junk, b"not an ar archive").unwrap();
    let err = publish(r, &[debs.v2.clone(), junk.clone()], &key, &options())
        .err()
        .expect("junk was accepted");
    assert!(err.to_string().contains(&junk.display().to_string()), "{err}");
    assert!(
        !r.join("pool/main/o/outpost/outpost_2.2.0-1_amd64.deb").exists(),
        "a good package was added although the call failed"
    );

    assert_eq!(
        std::fs::read(&pooled).unwrap(),
        std::fs::read(&debs.v1).unwrap(),
        "the published file changed"
    );
    assert_eq!(
        std::fs::read(r.join("dists/stable/Release")).unwrap(),
        release_before,
        "a refused publish rewrote Release"
    );
}
