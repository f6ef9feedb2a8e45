//! Dual Authenticode signatures for legacy Windows (`--legacy-sha1`, on by
//! default): the agent executable, the custom action DLL, both MSIs, the
//! settings transforms (`omnipack assist`) and the hotfix patches (`omnipack
//! patch`) carry a SHA-1 signature with a SHA-256 one nested in it
//! (szOID_NESTED_SIGNATURE), as `osslsigncode verify` and `openssl asn1parse`
//! show; with `--legacy-sha1=off`, one SHA-256 signature. Time stamps come
//! from an authority on loopback: legacy Authenticode on the SHA-1 one,
//! RFC 3161 on the nested SHA-256 one.

use std::path::{Path, PathBuf};

use outpost_tests::authenticode::{assert_dual, assert_single_sha256, Tsa, LEGACY, RFC3161};
use outpost_tests::*;

fn omnipack_ok(args: &[&str]) -> String {
    let out = run(tool(omnipack())
        .current_dir(workspace_root())
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .args(args));
    let t = text(&out);
    assert!(out.status.success(), "omnipack {args:?}:\n{t}");
    t
}

/// `omnipack patch EXTRA... --from OLD --to NEW --out OUT`.
fn patch_args<'a>(old: &'a Path, new: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["patch"];
    args.extend(extra);
    args.extend(["--from", s(old), "--to", s(new), "--out", s(out)]);
    args
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The 2.1.1 MSIs (the manifest at 2.1.1), to patch 2.1.0 to; the same
/// fixture tests/assist.rs builds.
fn dist_2_1_1() -> PathBuf {
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    let manifest = fixtures_dir().join("outpost-2.1.1.toml");
    let edited = text.replace("version = \"2.1.0\"", "version = \"2.1.1\"");
    assert_ne!(text, edited, "the manifest's version line moved");
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(&edited) {
        std::fs::write(&manifest, edited).unwrap();
    }
    msi_build(&manifest, "dist-windows-2.1.1", &[])
}

/// An answer file: the template with one answer.
fn answers(dir: &Path) -> PathBuf {
    let f = dir.join("answers.toml");
    omnipack_ok(&["assist", "init", "--out", s(&f)]);
    let t = std::fs::read_to_string(&f).unwrap();
    let from = "# Switch = \"switch.outpost.example:443\"";
    assert_eq!(t.matches(from).count(), 1, "template line `{from}`");
    std::fs::write(&f, t.replace(from, "Switch = \"corp.example:9443\"")).unwrap();
    f
}

#[test]
fn executables_and_msis_are_dual_signed_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = dist_windows();
    for arch in ["x64", "x86"] {
        let msi = dist.join(format!("outpost-2.1.0-{arch}.msi"));
        let v = assert_dual(&msi, false);
        eprintln!("{arch} msi: {:?}", v.digests);
        let (exe, dll) = outpost_tests::authenticode::msi_executables(&msi, &tmp.path().join(arch));
        let v = assert_dual(&exe, false);
        eprintln!("{arch} exe: {:?}", v.digests);
        let v = assert_dual(&dll, false);
        eprintln!("{arch} dll: {:?}", v.digests);
    }
    // One dual-signed MSI in full, for the record.
    eprintln!(
        "{}",
        outpost_tests::authenticode::verify(&dist.join("outpost-2.1.0-x86.msi")).output
    );
}

#[test]
fn legacy_sha1_off_signs_once_with_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let dist = msi_build(
        &workspace_root().join("packaging/outpost.toml"),
        "dist-windows-sha256-only",
        &["--legacy-sha1=off"],
    );
    for arch in ["x64", "x86"] {
        let msi = dist.join(format!("outpost-2.1.0-{arch}.msi"));
        assert_single_sha256(&msi);
        let (exe, dll) = outpost_tests::authenticode::msi_executables(&msi, &tmp.path().join(arch));
        assert_single_sha256(&exe);
        assert_single_sha256(&dll);
    }
    // Transforms and patches too.
    let deploy = tmp.path().join("deploy");
    let f = answers(tmp.path());
    omnipack_ok(&[
        "assist",
        "--legacy-sha1=off",
        "--answers",
        s(&f),
        "--from",
        s(&dist_windows()),
        "--out",
        s(&deploy),
    ]);
    assert_single_sha256(&deploy.join("outpost-2.1.0-x64.mst"));
    let msp = tmp.path().join("off.msp");
    let (old, new) = (
        dist_windows().join("outpost-2.1.0-x64.msi"),
        dist_2_1_1().join("outpost-2.1.1-x64.msi"),
    );
    omnipack_ok(&patch_args(&old, &new, &msp, &["--legacy-sha1=off"]));
    assert_single_sha256(&msp);
}

#[test]
fn transforms_and_patches_are_dual_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let (previous, current) = (dist_windows(), dist_2_1_1());
    // assist: a transform per MSI, and with previous_release a patch per
    // architecture.
    let f = answers(tmp.path());
    let t = std::fs::read_to_string(&f).unwrap();
    let line = format!("previous_release = \"{}\"", previous.display());
    std::fs::write(&f, t.replace("# previous_release = \"../dist-2.0.0\"", &line)).unwrap();
    let deploy = tmp.path().join("deploy");
    omnipack_ok(&["assist", "--answers", s(&f), "--from", s(&current), "--out", s(&deploy)]);
    for arch in ["x64", "x86"] {
        assert_dual(&deploy.join(format!("outpost-2.1.1-{arch}.mst")), false);
        assert_dual(&deploy.join(format!("outpost-2.1.1-{arch}-from-2.1.0.msp")), false);
    }
    // patch, on its own.
    let msp = tmp.path().join("outpost-2.1.1-x86.msp");
    let (old, new) = (previous.join("outpost-2.1.0-x86.msi"), current.join("outpost-2.1.1-x86.msi"));
    omnipack_ok(&patch_args(&old, &new, &msp, &[]));
    let v = assert_dual(&msp, false);
    eprintln!("{}", v.output);
}

/// The throwaway code-signing key as the release pipeline would give a
/// real one: a PEM certificate and key (so the build is not test-signed).
fn pem_key_args() -> [String; 4] {
    let pki = test_key_dir().join("authenticode");
    [
        "--authenticode-cert".into(),
        pki.join("test-codesign.pem").display().to_string(),
        "--authenticode-key".into(),
        pki.join("test-codesign.key").display().to_string(),
    ]
}

#[test]
fn timestamps_legacy_on_sha1_and_rfc3161_on_the_nested_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let previous = dist_windows(); // also makes the throwaway PKI
    let current = dist_2_1_1();
    let tsa = Tsa::start(true);
    let key = pem_key_args();
    let key: Vec<&str> = key.iter().map(String::as_str).collect();

    // build: the executable, the DLL and the MSI of both architectures.
    let out = tmp.path().join("dist");
    let (x64, x86) = (windows_agent("x86_64-pc-windows-gnu"), windows_agent("i686-pc-windows-gnu"));
    let (ca64, ca32) = (msi_ca_dll("x86_64-pc-windows-gnu"), msi_ca_dll("i686-pc-windows-gnu"));
    let bins = [
        format!("x86_64-pc-windows-gnu={}", x64.display()),
        format!("i686-pc-windows-gnu={}", x86.display()),
        format!("x86_64-pc-windows-gnu={}", ca64.display()),
        format!("i686-pc-windows-gnu={}", ca32.display()),
    ];
    let mut args = vec!["build", "--formats", "msi", "--out", s(&out), "--timestamp-url", &tsa.url];
    args.extend([
        "--agent-bin",
        &bins[0],
        "--agent-bin",
        &bins[1],
        "--msi-ca-bin",
        &bins[2],
        "--msi-ca-bin",
        &bins[3],
    ]);
    args.extend(&key);
    omnipack_ok(&args);
    let requests = tsa.requests();
    assert_eq!(requests.iter().filter(|k| **k == LEGACY).count(), 6, "{requests:?}");
    assert_eq!(requests.iter().filter(|k| **k == RFC3161).count(), 6, "{requests:?}");
    for arch in ["x64", "x86"] {
        let msi = out.join(format!("outpost-2.1.0-{arch}.msi"));
        let v = assert_dual(&msi, true);
        if arch == "x86" {
            eprintln!("{}", v.output);
        }
        let (exe, dll) = outpost_tests::authenticode::msi_executables(&msi, &tmp.path().join(arch));
        assert_dual(&exe, true);
        assert_dual(&dll, true);
    }

    // patch and assist (transforms).
    let msp = tmp.path().join("outpost-2.1.1-x64.msp");
    let (old, new) = (previous.join("outpost-2.1.0-x64.msi"), current.join("outpost-2.1.1-x64.msi"));
    let mut extra = vec!["--timestamp-url", tsa.url.as_str()];
    extra.extend(&key);
    let args = patch_args(&old, &new, &msp, &extra);
    omnipack_ok(&args);
    assert_dual(&msp, true);
    let f = answers(tmp.path());
    let deploy = tmp.path().join("deploy");
    let mut args = vec![
        "assist",
        "--timestamp-url",
        &tsa.url,
        "--answers",
        s(&f),
        "--from",
        s(&previous),
        "--out",
        s(&deploy),
    ];
    args.extend(&key);
    omnipack_ok(&args);
    for arch in ["x64", "x86"] {
        assert_dual(&deploy.join(format!("outpost-2.1.0-{arch}.mst")), true);
    }
    assert_eq!(tsa.requests().len(), 12 + 2 + 4, "{:?}", tsa.requests());
}

#[test]
fn an_authority_without_legacy_time_stamps_fails_the_sha1_signature_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let previous = dist_windows();
    let current = dist_2_1_1();
    let tsa = Tsa::start(false);
    let (old, new) = (previous.join("outpost-2.1.0-x64.msi"), current.join("outpost-2.1.1-x64.msi"));
    let msp = tmp.path().join("refused.msp");
    let out =
        run(tool(omnipack())
            .current_dir(workspace_root())
            .args(patch_args(&old, &new, &msp, &["--timestamp-url", &tsa.url])));
    let t = text(&out);
    assert!(!out.status.success(), "signed without a legacy time stamp:\n{t}");
    assert_contains(&t, "SHA-1 signature");
    assert_contains(&t, "--legacy-sha1=off");
    assert!(!msp.exists(), "a failed patch left {}", msp.display());
    // With the option off the same authority is enough.
    omnipack_ok(&patch_args(
        &old,
        &new,
        &msp,
        &["--legacy-sha1=off", "--timestamp-url", &tsa.url],
    ));
    let v = assert_single_sha256(&msp);
    assert_eq!(v.timestamps, 1, "{}", v.output);
    assert_eq!(
        tsa.requests(),
        [LEGACY, RFC3161],
        "one refused legacy request, then one RFC 3161 request"
    );
}
