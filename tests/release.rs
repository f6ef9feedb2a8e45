//! The release folder a build of every format writes: the three bundles
//! (holding the loose packages byte for byte), SHA256SUMS over every file
//! checked by `sha256sum -c`, and its signature checked by `gpgv` with the
//! key the non-Windows bundle ships. Zips, sums and all are reproducible.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use outpost_test_tools::archive::bsdtar_names;
use outpost_tests::stand_ins::sha256_hex;
use outpost_tests::*;

fn release_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("release.json")).unwrap()).unwrap()
}

fn entries<'a>(release: &'a serde_json::Value, format: &str) -> Vec<&'a serde_json::Value> {
    release["artifacts"].as_array().unwrap().iter().filter(|a| a["format"] == format).collect()
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect()
}

/// The bundle's members, extracted by bsdtar into `into`.
fn extract(zip: &Path, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    ok(tool("bsdtar").arg("-xf").arg(zip).arg("-C").arg(into));
    into.to_path_buf()
}

#[test]
fn sha256sums_cover_every_file_and_pass_sha256sum_and_gpgv() {
    let dist = dist();
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let listed: BTreeSet<String> = sums.lines().map(|l| l.split_once("  ").expect("two spaces").1.to_string()).collect();
    let mut present = files_in(&dist);
    present.remove("SHA256SUMS");
    present.remove("SHA256SUMS.asc");
    assert_eq!(listed, present, "SHA256SUMS must list every other file of the release folder");
    for needed in ["release.json", "outpost-signing-key.asc"] {
        assert!(listed.contains(needed), "{needed} not in SHA256SUMS");
    }
    assert_contains(&ok(tool("sha256sum").args(["-c", "--strict", "SHA256SUMS"]).current_dir(&dist)), "release.json: OK");

    // gpgv with the release key as the non-Windows bundle ships it (binary keyring).
    let tmp = tempfile::tempdir().unwrap();
    let zip = dist.join(entries(&release_json(&dist), "zip").iter().find(|b| b["bundle"] == "non-windows").unwrap()["path"].as_str().unwrap());
    let files = extract(&zip, &tmp.path().join("nw"));
    let keyring = files.join("outpost-archive-keyring.gpg");
    let gpgv = |sums: &Path| {
        run(tool("gpgv")
            .arg("--homedir")
            .arg(tmp.path())
            .arg("--keyring")
            .arg(&keyring)
            .arg(dist.join("SHA256SUMS.asc"))
            .arg(sums))
    };
    let good = gpgv(&dist.join("SHA256SUMS"));
    assert!(good.status.success(), "gpgv SHA256SUMS:\n{}", text(&good));
    assert_contains(&text(&good), "Good signature");
    let altered = tmp.path().join("SHA256SUMS");
    std::fs::write(&altered, sums.replacen("release.json", "release.jsom", 1)).unwrap();
    assert!(!gpgv(&altered).status.success(), "gpgv accepted an altered SHA256SUMS");
}

#[test]
fn bundles_hold_the_loose_packages_byte_for_byte() {
    let dist = dist();
    let release = release_json(&dist);
    let bundles = entries(&release, "zip");
    let kinds: BTreeSet<&str> = bundles.iter().map(|b| b["bundle"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["assistant", "non-windows", "windows"].into_iter().collect());
    let tmp = tempfile::tempdir().unwrap();
    for b in &bundles {
        let zip = dist.join(b["path"].as_str().unwrap());
        assert_eq!(sha256_hex(&std::fs::read(&zip).unwrap()), b["sha256"], "{}", zip.display());
        let names = bsdtar_names(&zip);
        let contents: Vec<String> = b["contents"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        assert_eq!(names, contents, "{}: members differ from release.json's contents", zip.display());
        let dir = extract(&zip, &tmp.path().join(b["bundle"].as_str().unwrap()));
        for name in &names {
            if dist.join(name).is_file() && name != "release.json" {
                assert_eq!(std::fs::read(dir.join(name)).unwrap(), std::fs::read(dist.join(name)).unwrap(), "{name} in {}", zip.display());
            }
        }
        match b["bundle"].as_str().unwrap() {
            "windows" => windows_bundle(&release, &dir, &names),
            "non-windows" => non_windows_bundle(&release, &dir, &names),
            _ => assistant_bundle(&dir, &names),
        }
    }
}

fn windows_bundle(release: &serde_json::Value, dir: &Path, names: &[String]) {
    let msis: Vec<&str> = entries(release, "msi").iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(msis.len(), 2);
    for m in &msis {
        assert!(names.iter().any(|n| n == m), "{m} missing from the Windows bundle");
    }
    // Its release.json lists the MSIs exactly as the release does, so the
    // assistant checks them against it.
    let inner = release_json(dir);
    assert_eq!(inner["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(entries(&inner, "msi"), entries(release, "msi"));
    let template = tempfile::NamedTempFile::new().unwrap();
    ok(tool(omnipack())
        .current_dir(workspace_root())
        .args(["assist", "init", "--force", "--out"])
        .arg(template.path()));
    assert_eq!(std::fs::read(dir.join("answers.toml")).unwrap(), std::fs::read(template.path()).unwrap());
    let readme = std::fs::read_to_string(dir.join("README-windows.txt")).unwrap();
    assert_contains(&readme, &format!("msiexec /i {} /qn", msis[0]));
    assert!(readme.split_inclusive('\n').all(|l| l.ends_with("\r\n")), "README-windows.txt has CRLF line ends");
}

fn non_windows_bundle(release: &serde_json::Value, dir: &Path, names: &[String]) {
    for format in ["deb", "rpm", "pkg"] {
        let path = entries(release, format)[0]["path"].as_str().unwrap();
        assert!(names.iter().any(|n| n == path), "{path} missing from the non-Windows bundle");
    }
    for n in ["outpost-archive-keyring.asc", "outpost-archive-keyring.gpg", "outpost.mobileconfig", "README-non-windows.txt"] {
        assert!(names.iter().any(|m| m == n), "{n} missing from the non-Windows bundle: {names:?}");
    }
    ok(tool("xmllint").arg("--noout").arg(dir.join("outpost.mobileconfig")));
    let armoured = std::fs::read_to_string(dir.join("outpost-archive-keyring.asc")).unwrap();
    assert!(armoured.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{armoured}");
}

fn assistant_bundle(dir: &Path, names: &[String]) {
    assert_eq!(names, ["omnipack.exe", "outpost.toml", "README-assist.txt"]);
    assert_eq!(
        std::fs::read(dir.join("outpost.toml")).unwrap(),
        std::fs::read(workspace_root().join("packaging/outpost.toml")).unwrap()
    );
    // Signed like the MSIs (throwaway PKI in tests).
    outpost_tests::authenticode::verify(&dir.join("omnipack.exe"));
}

#[test]
fn two_unsigned_release_builds_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let build = |name: &str| {
        let out = tmp.path().join(name);
        let o = omnipack_build(&out, &["--unsigned"]);
        assert!(o.status.success(), "omnipack build --unsigned:\n{}", text(&o));
        out
    };
    let (a, b) = (build("a"), build("b"));
    let names = files_in(&a);
    assert_eq!(names, files_in(&b));
    assert!(!names.contains("SHA256SUMS.asc"), "an unsigned build has no signature over its sums");
    assert_eq!(names.iter().filter(|n| n.ends_with(".zip")).count(), 3, "{names:?}");
    for n in &names {
        assert_eq!(std::fs::read(a.join(n)).unwrap(), std::fs::read(b.join(n)).unwrap(), "{n} differs between two builds");
    }
}

#[test]
fn every_installer_has_its_sbom_and_omnipack_verify_passes() {
    let dist = dist();
    let release = release_json(&dist);
    let described: BTreeSet<&str> = entries(&release, "cyclonedx").iter().map(|s| s["describes"].as_str().unwrap()).collect();
    for format in ["deb", "rpm", "msi", "pkg"] {
        for a in entries(&release, format) {
            let path = a["path"].as_str().unwrap();
            assert!(described.contains(path), "{path} has no SBOM");
            let sbom: serde_json::Value = serde_json::from_slice(&std::fs::read(dist.join(format!("{path}.cdx.json"))).unwrap()).unwrap();
            assert_eq!(sbom["metadata"]["component"]["name"], path);
        }
    }
    // Problems go to stdout, the summary and notices to stderr.
    let out = run(tool(omnipack()).arg("verify").arg(&dist));
    assert!(out.status.success() && out.stdout.is_empty(), "omnipack verify {}:\n{}", dist.display(), text(&out));
    assert_contains(&text(&out), " 0 problems");
}

/// Notarization happens inside the build, before anything is made from the
/// pkg; Apple notarizes only Developer ID signatures, so a test-signed pkg
/// is refused there and nothing is written.
#[test]
fn a_test_signed_pkg_is_not_sent_for_notarization() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dist");
    let o = omnipack_build(&out, &["--formats", "pkg", "--notarize-api-key", "/nonexistent/key.json"]);
    assert!(!o.status.success(), "a test-signed pkg was sent for notarization:\n{}", text(&o));
    assert_contains(&text(&o), "signed with a throwaway test identity, which Apple does not notarize");
    assert!(!out.exists(), "a refused build wrote {}", out.display());
}
