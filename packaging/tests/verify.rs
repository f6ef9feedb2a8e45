//! `omnipack verify` on a signed release folder built in-process from the
//! real agents (scripts/test cross-builds them) with the throwaway test keys:
//! it passes; one flipped byte in each kind of artifact fails naming the
//! file and the check; and a byte changed inside a signed region, with
//! release.json, the bundles, SHA256SUMS and SHA256SUMS.asc made to agree
//! with it again, is caught by the signature check alone.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{run, text, tool};
use omnipack::packager::{BuildContext, Input};
use omnipack::signers::KeyOptions;
use omnipack::target::{Arch, Format, Target};
use omnipack::verify::Outcome;
use sha2::{Digest, Sha256};

const PKG: &str = "outpost-2.1.0-universal2.pkg";
const RPM: &str = "outpost-2.1.0-1.x86_64.rpm";
const DEB: &str = "outpost_2.1.0-1_amd64.deb";
const MSI_X64: &str = "outpost-2.1.0-x64.msi";
const MSI_X86: &str = "outpost-2.1.0-x86.msi";
const SOURCE_DATE: u64 = 1_700_000_000;

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_omnipack"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A binary scripts/test cross-builds, under the target directory.
fn built(rel: &str) -> PathBuf {
    let p = target_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing: scripts/test builds it (the release needs signable executables)",
        p.display()
    );
    p
}

fn keys() -> KeyOptions {
    KeyOptions {
        legacy_sha1: true,
        test_keys: target_dir().join("omnipack-test-keys"),
        ..Default::default()
    }
}

/// The signed release folder, built once for every test process (a lock
/// and a stamp newer than this test binary).
fn release() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join("verify-release");
    let lock = std::fs::File::create(tmp.join("verify-release.lock")).unwrap();
    lock.lock().unwrap();
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if mtime(&dir.join("SHA256SUMS")) > mtime(&std::env::current_exe().unwrap()) {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut binaries = BTreeMap::new();
    for (input, triple, path) in [
        (
            Input::Agent,
            "x86_64-unknown-linux-gnu",
            "x86_64-unknown-linux-gnu/release/outpost-agent",
        ),
        (
            Input::Agent,
            "universal2-apple-darwin",
            "universal2-apple-darwin/release/outpost-agent",
        ),
        (
            Input::Agent,
            "x86_64-pc-windows-gnu",
            "x86_64-pc-windows-gnu/release/outpost-agent.exe",
        ),
        (
            Input::Agent,
            "i686-pc-windows-gnu",
            "i686-pc-windows-gnu/release/outpost-agent.exe",
        ),
        (
            Input::MsiCustomAction,
            "x86_64-pc-windows-gnu",
            "x86_64-pc-windows-gnu/msi-ca/omnipack_msi_ca.dll",
        ),
        (
            Input::MsiCustomAction,
            "i686-pc-windows-gnu",
            "i686-pc-windows-gnu/msi-ca/omnipack_msi_ca.dll",
        ),
    ] {
        binaries.insert((input, triple.to_string()), built(path));
    }
    let opts = omnipack::build::BuildOptions {
        manifest: workspace().join("packaging/outpost.toml"),
        out: dir.clone(),
        formats: Format::ALL.to_vec(),
        binaries,
        keys: keys(),
        // Any signable PE stands in for the assistant: verify checks its
        // signature, not what it does.
        assistant: Some(built("x86_64-pc-windows-gnu/release/outpost-agent.exe")),
        notarize_api_key: None,
        unsigned: false,
        progress: false,
    };
    omnipack::build::run(&opts).unwrap_or_else(|e| panic!("building the release: {e:#}"));
    dir
}

/// A copy of the release to alter.
fn copy() -> tempfile::TempDir {
    let from = release();
    let to = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.path().join(e.file_name())).unwrap();
    }
    to
}

fn problems(dir: &Path) -> Vec<String> {
    omnipack::verify::run(dir, false).lines(Outcome::Fail)
}

#[track_caller]
fn assert_line(lines: &[String], file: &str, says: &str) {
    let prefix = format!("{file}: ");
    assert!(
        lines.iter().any(|l| l.starts_with(&prefix) && l.contains(says)),
        "no `{file}: …{says}…` in:\n{}",
        lines.join("\n")
    );
}

fn zips(dir: &Path) -> Vec<String> {
    let mut z: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".zip"))
        .collect();
    z.sort();
    z
}

#[test]
fn a_signed_build_verifies_and_release_mode_refuses_its_test_keys() {
    let dir = release();
    assert_eq!(zips(&dir).len(), 3, "the three bundles");
    let omnipack = env!("CARGO_BIN_EXE_omnipack");
    let out = run(tool(omnipack).arg("verify").arg(&dir));
    assert!(out.status.success(), "verify failed:\n{}", text(&out));
    assert!(
        out.stdout.is_empty(),
        "no problem lines: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for file in [RPM, MSI_X64, MSI_X86, PKG, "SHA256SUMS"] {
        assert!(
            stderr.contains(&format!("notice: {file}: test-signed with ")),
            "{file} named test-signed:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("Outpost TEST Code Signing (throwaway)"),
        "the certificate is named:\n{stderr}"
    );

    let out = run(tool(omnipack).args(["verify", "--release"]).arg(&dir));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    for file in [RPM, MSI_X64, MSI_X86, PKG, "SHA256SUMS"] {
        assert_line(&lines, file, "(--release)");
    }
    assert!(
        lines.iter().all(|l| l.contains("test-signed")),
        "only the test keys fail:\n{}",
        lines.join("\n")
    );

    let out = run(tool(omnipack).args(["verify", "--json"]).arg(&dir));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let checks = |file: &str| -> Vec<String> {
        let f = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == file)
            .unwrap_or_else(|| panic!("{file} in the report"));
        f["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c["check"], c["result"]))
            .collect()
    };
    for (file, check) in [
        (MSI_X64, "Authenticode"),
        (RPM, "OpenPGP signature"),
        (PKG, "XAR signature"),
        (PKG, "Mach-O signature"),
        ("outpost-2.1.0-non-windows.zip", "zip keyring"),
        ("outpost-2.1.0-windows.zip", "zip release.json"),
        ("outpost-assist-2.1.0-windows.zip", "Authenticode"),
    ] {
        assert!(
            checks(file).contains(&format!("\"{check}\" \"pass\"")),
            "{file}: {:?}",
            checks(file)
        );
    }
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[test]
fn one_flipped_byte_in_each_artifact_fails_naming_the_file_and_the_check() {
    let mut cases: Vec<(String, Vec<&str>)> = vec![
        (
            DEB.into(),
            vec!["sha256 differs from SHA256SUMS", "sha256 differs from release.json"],
        ),
        (
            RPM.into(),
            vec![
                "sha256 differs from SHA256SUMS",
                "the rpm does not match the digests its signature header records",
            ],
        ),
        (
            MSI_X64.into(),
            vec![
                "sha256 differs from SHA256SUMS",
                "Authenticode digest does not match the file",
            ],
        ),
        (
            MSI_X86.into(),
            vec![
                "sha256 differs from SHA256SUMS",
                "Authenticode digest does not match the file",
            ],
        ),
        (PKG.into(), vec!["sha256 differs from SHA256SUMS", "pkg: "]),
        (
            "SHA256SUMS".into(),
            vec!["SHA256SUMS.asc: the OpenPGP signature does not verify"],
        ),
    ];
    for z in zips(&release()) {
        cases.push((z, vec!["sha256 differs from SHA256SUMS", "zip cannot be read"]));
    }
    for (file, says) in cases {
        let dir = copy();
        let len = std::fs::metadata(dir.path().join(&file)).unwrap().len() as usize;
        // The middle of a package is inside its compressed payload (deb,
        // rpm, pkg), a stream (MSI) or a stored member (zip); in
        // SHA256SUMS it is a digit of a digest.
        let at = if file == "SHA256SUMS" { 10 } else { len / 2 };
        flip(&dir.path().join(&file), at);
        let lines = problems(dir.path());
        for s in says {
            assert_line(&lines, &file, s);
        }
        eprintln!("{file}: byte {at} flipped:\n  {}", lines.join("\n  "));
    }
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// release.json's record of `name` (a package or a bundle) made to match `bytes`.
fn set_record(rel: &mut serde_json::Value, name: &str, bytes: &[u8]) {
    for a in rel["artifacts"].as_array_mut().unwrap() {
        if a["path"] == name {
            a["sha256"] = sha256_hex(bytes).into();
            a["size"] = bytes.len().into();
        }
    }
}

/// `zip` with member `name` replaced by `bytes` (and its own release.json,
/// if it has one, updated), or None when it has no such member.
fn rezip(zip: &[u8], name: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut members = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let executable = f.unix_mode().is_some_and(|m| m & 0o111 != 0);
        members.push(omnipack::bundle::zip::Member {
            name: f.name().to_string(),
            bytes: Cow::Owned(data),
            executable,
        });
    }
    let m = members.iter_mut().find(|m| m.name == name)?;
    m.bytes = Cow::Owned(bytes.to_vec());
    if let Some(inner) = members.iter_mut().find(|m| m.name == "release.json") {
        let mut rel: serde_json::Value = serde_json::from_slice(&inner.bytes).unwrap();
        set_record(&mut rel, name, bytes);
        inner.bytes = Cow::Owned((serde_json::to_string_pretty(&rel).unwrap() + "\n").into_bytes());
    }
    Some(omnipack::bundle::zip::write(&members, SOURCE_DATE).unwrap())
}

/// Replaces `name` with `bytes` and makes everything that records it agree
/// again: release.json, the bundles holding it, SHA256SUMS and its
/// signature by the release (test) key. Only a check of `name`'s own
/// signature can then tell.
fn reseal(dir: &Path, name: &str, bytes: &[u8]) {
    use omnipack::sign::Signer as _;
    std::fs::write(dir.join(name), bytes).unwrap();
    let mut rel: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("release.json")).unwrap()).unwrap();
    set_record(&mut rel, name, bytes);
    for z in zips(dir) {
        if let Some(new) = rezip(&std::fs::read(dir.join(&z)).unwrap(), name, bytes) {
            std::fs::write(dir.join(&z), &new).unwrap();
            set_record(&mut rel, &z, &new);
        }
    }
    std::fs::write(dir.join("release.json"), serde_json::to_string_pretty(&rel).unwrap() + "\n").unwrap();
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().into_string().unwrap();
        if n != "SHA256SUMS" && n != "SHA256SUMS.asc" {
            files.push((n.clone(), std::fs::read(dir.join(&n)).unwrap()));
        }
    }
    let sums = omnipack::checksums::render(files.iter().map(|(n, b)| (n.as_str(), &b[..])));
    std::fs::write(dir.join("SHA256SUMS"), &sums).unwrap();
    let asc = omnipack::signers::openpgp(&keys())
        .unwrap()
        .sign_detached(sums.as_bytes())
        .unwrap();
    std::fs::write(dir.join("SHA256SUMS.asc"), asc).unwrap();
}

/// One byte of the MSI's summary information stream changed in place.
fn msi_with_changed_stream(msi: &[u8]) -> Vec<u8> {
    let mut c = cfb::CompoundFile::open(Cursor::new(msi.to_vec())).unwrap();
    let path = "/\u{5}SummaryInformation";
    let mut data = Vec::new();
    c.open_stream(path).unwrap().read_to_end(&mut data).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x01;
    c.open_stream(path).unwrap().write_all(&data).unwrap();
    c.flush().unwrap();
    c.into_inner().into_inner()
}

/// One character of the rpm's URL tag (in the signed header) changed.
fn rpm_with_changed_header(rpm: &[u8]) -> Vec<u8> {
    let url = b"https://outpost.example/client";
    let at = rpm.windows(url.len()).position(|w| w == url).expect("the URL in the header");
    let mut b = rpm.to_vec();
    b[at + 8] = b'O';
    b
}

/// The pkg with one name in its table of contents changed, and the TOC's
/// checksum in the heap recomputed to match: only the RSA and CMS
/// signatures over that checksum can tell.
fn pkg_with_changed_toc(pkg: &[u8]) -> Vec<u8> {
    let be64 = |at: usize| u64::from_be_bytes(pkg[at..at + 8].try_into().unwrap()) as usize;
    let header = u16::from_be_bytes([pkg[4], pkg[5]]) as usize;
    let compressed = be64(8);
    let mut xml = String::new();
    flate2::read::ZlibDecoder::new(&pkg[header..header + compressed])
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("<name>Distribution</name>"), "{xml}");
    let xml = xml.replacen("<name>Distribution</name>", "<name>Distributiom</name>", 1);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(xml.as_bytes()).unwrap();
    let toc = z.finish().unwrap();
    let mut heap = pkg[header + compressed..].to_vec();
    // <checksum style="sha1"><offset>0</offset><size>20</size>: the digest
    // of the compressed TOC at the start of the heap.
    let sum = if xml.contains("<checksum style=\"sha256\">") {
        Sha256::digest(&toc).to_vec()
    } else {
        sha1::Sha1::digest(&toc).to_vec()
    };
    heap[..sum.len()].copy_from_slice(&sum);
    let mut out = pkg[..header].to_vec();
    out[8..16].copy_from_slice(&(toc.len() as u64).to_be_bytes());
    out[16..24].copy_from_slice(&(xml.len() as u64).to_be_bytes());
    out.extend(toc);
    out.extend(heap);
    out
}

/// A pkg whose agent was signed, then had one byte of a code page changed;
/// the pkg itself is signed afterwards, so its own signature holds.
fn pkg_with_changed_macho_page() -> Vec<u8> {
    let signer = omnipack::signers::apple(&keys()).unwrap();
    let agent = std::fs::read(built("universal2-apple-darwin/release/outpost-agent")).unwrap();
    let mut signed = signer.sign_macho(&agent, "com.outpost.client.agent").unwrap();
    // The first slice's offset is in the first fat_arch (big-endian).
    let slice = u32::from_be_bytes(signed[16..20].try_into().unwrap()) as usize;
    signed[slice + 0x3000] ^= 0x01;
    let ctx = BuildContext {
        manifest: outpost_manifest::Manifest::parse(include_str!("../outpost.toml"), "outpost.toml").unwrap(),
        binaries: [((Input::Agent, "universal2-apple-darwin".to_string()), Arc::from(signed))].into(),
        files: BTreeMap::new(),
        source_date: SOURCE_DATE,
        openpgp: None,
        authenticode: None,
        apple: None,
    };
    let target = Target::new(Format::Pkg, Arch::Universal2);
    let pkg = omnipack::formats::packager(Format::Pkg).package(&ctx, &target).unwrap();
    signer.sign_pkg(&pkg.bytes).unwrap()
}

/// The assistant bundle with one byte of omnipack.exe's code changed.
fn assistant_with_changed_code(zip_name: &str) -> Vec<u8> {
    let zip = std::fs::read(release().join(zip_name)).unwrap();
    let mut z = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
    let mut exe = Vec::new();
    z.by_name("omnipack.exe").unwrap().read_to_end(&mut exe).unwrap();
    let middle = exe.len() / 2;
    exe[middle] ^= 0x01;
    rezip(&zip, "omnipack.exe", &exe).unwrap()
}

#[test]
fn a_byte_changed_inside_a_signed_region_is_caught_by_the_signature_alone() {
    let original = |name: &str| std::fs::read(release().join(name)).unwrap();
    let assistant = zips(&release())
        .into_iter()
        .find(|z| z.starts_with("outpost-assist-"))
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            MSI_X64,
            msi_with_changed_stream(&original(MSI_X64)),
            "Authenticode digest does not match the file (SHA-1 signature)",
        ),
        (
            MSI_X86,
            msi_with_changed_stream(&original(MSI_X86)),
            "Authenticode digest does not match the file (SHA-1 signature)",
        ),
        (
            RPM,
            rpm_with_changed_header(&original(RPM)),
            "the rpm's header signature does not verify with the release key",
        ),
        (
            PKG,
            pkg_with_changed_toc(&original(PKG)),
            "RSA signature over the table-of-contents checksum does not verify",
        ),
        (PKG, pkg_with_changed_macho_page(), "code digest mismatch"),
        (
            &assistant,
            assistant_with_changed_code(&assistant),
            "omnipack.exe: Authenticode digest does not match the file (SHA-1 signature)",
        ),
    ];
    for (file, bytes, says) in cases {
        let dir = copy();
        reseal(dir.path(), file, &bytes);
        let lines = problems(dir.path());
        assert_line(&lines, file, says);
        // An rpm's header digest (in the unsigned signature header) fails
        // beside its signature: the digest alone could have been rewritten.
        let expected = if file == RPM { 2 } else { 1 };
        assert_eq!(
            lines.len(),
            expected,
            "{file}: only the signature check fails:\n{}",
            lines.join("\n")
        );
        eprintln!("{file}: {}", lines[0]);
    }
}

#[test]
fn missing_signature_stray_and_missing_files_are_named() {
    let dir = copy();
    std::fs::remove_file(dir.path().join("SHA256SUMS.asc")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "left behind").unwrap();
    let report = omnipack::verify::run(dir.path(), false);
    let notices = report.lines(Outcome::Notice);
    assert_line(&notices, "SHA256SUMS", "not signed: no SHA256SUMS.asc");
    assert_line(&notices, "notes.txt", "listed in neither release.json nor SHA256SUMS");
    assert!(report.lines(Outcome::Fail).is_empty(), "{:?}", report.lines(Outcome::Fail));
    assert_line(
        &omnipack::verify::run(dir.path(), true).lines(Outcome::Fail),
        "SHA256SUMS",
        "no SHA256SUMS.asc (an unsigned build) (--release)",
    );

    std::fs::remove_file(dir.path().join(DEB)).unwrap();
    let lines = problems(dir.path());
    assert_line(&lines, DEB, "listed in release.json but missing from the folder");
    assert_line(&lines, DEB, "listed in SHA256SUMS but missing from the folder");
}
