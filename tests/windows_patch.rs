//! Hotfix patches (.msp) made by omnipack's MSP writer from two MSIs of one
//! hotfix line (2.1.0 → 2.1.1, one ProductCode), checked with msitools and
//! osslsigncode (a SHA-1 signature with a nested SHA-256 one), then applied
//! and removed under Wine's msiexec.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use omnipack::msi::patch::{patch, patch_msis, PatchOptions};
use omnipack::msi::{Database, Value};
use outpost_tests::wine::Prefix;
use outpost_tests::*;

const ANSWERS: &str = "C:\\ProgramData\\Outpost\\installer.conf";
const AGENT: &str = "C:\\Program Files\\Outpost\\outpost-agent.exe";

/// The 2.1.1 MSIs: the product manifest at 2.1.1 and an x64 agent that
/// differs from 2.1.0's by one appended byte (deterministic).
fn hotfix_build() -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    let manifest = fixtures_dir().join("outpost-hotfix.toml");
    let hotfix = text.replace("version = \"2.1.0\"", "version = \"2.1.1\"");
    assert_ne!(text, hotfix, "the manifest's version line moved");
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(&hotfix) {
        std::fs::write(&manifest, hotfix).unwrap();
    }
    let agent = fixtures_dir().join("outpost-agent-2.1.1-x64.exe");
    let mut bytes = std::fs::read(windows_agent("x86_64-pc-windows-gnu")).unwrap();
    bytes.push(0);
    if std::fs::read(&agent).ok().as_deref() != Some(&bytes) {
        std::fs::write(&agent, &bytes).unwrap();
    }
    let dir = msi_build(&manifest, "dist-windows-hotfix", &["--agent-bin", &format!("x86_64-pc-windows-gnu={}", agent.display())]);
    (dir, agent)
}

fn options() -> PatchOptions {
    PatchOptions::hotfix("OutpostClient", "Outpost Client 2.1.1 hotfix", "Fixes in the agent")
}

fn make_patch(out: &Path) -> (PathBuf, String, String) {
    let (hotfix, _) = hotfix_build();
    let old = std::fs::read(dist_windows().join("outpost-2.1.0-x64.msi")).unwrap();
    let new = std::fs::read(hotfix.join("outpost-2.1.1-x64.msi")).unwrap();
    let bytes = patch_msis(&old, &new, &options()).unwrap_or_else(|e| panic!("patch: {e}"));
    assert_eq!(bytes, patch_msis(&old, &new, &options()).unwrap(), "the same inputs gave other bytes");
    let msp = out.join("outpost-2.1.1-x64.msp");
    std::fs::write(&msp, &bytes).unwrap();
    let db = Database::from_bytes(&bytes).unwrap();
    let product = db.summary.template.clone().unwrap();
    let code = db.summary.revision_number.clone().unwrap();
    (msp, product, code)
}

/// Signs the patch as `omnipack patch` does (its Authenticode signer, the
/// throwaway key, --legacy-sha1 on): a SHA-1 signature with a nested
/// SHA-256 one, both verified by osslsigncode.
fn sign(msp: &Path) -> PathBuf {
    use omnipack::sign::authenticode::{Authenticode, AuthenticodeKey, Timestamp};
    let _ = dist_windows(); // makes the throwaway PKI
    let key = AuthenticodeKey::Throwaway(test_key_dir().join("authenticode"));
    let signer = Authenticode::new(key, Timestamp::None, "Outpost Client", "https://outpost.example/").unwrap().with_legacy_sha1(true);
    let signed = msp.with_extension("signed.msp");
    signer.sign_file(msp, &signed).unwrap_or_else(|e| panic!("signing {}: {e}", msp.display()));
    outpost_tests::authenticode::assert_dual(&signed, false);
    signed
}

/// The agent as an MSI carries it (signed by the build), via msiextract.
fn extracted_agent(msi: &Path, dir: &Path) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let out = run(tool("msiextract").arg("-C").arg(dir).arg(msi));
    assert!(out.status.success(), "msiextract {}: {}", msi.display(), text(&out));
    let found = walk(dir).into_iter().find(|p| p.file_name().is_some_and(|n| n == "outpost-agent.exe"));
    std::fs::read(found.unwrap_or_else(|| panic!("no outpost-agent.exe in {}", msi.display()))).unwrap()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn patch_is_well_formed_and_signable() {
    let tmp = tempfile::tempdir().unwrap();
    let (msp, product, code) = make_patch(tmp.path());
    let out = run(tool("msiinfo").arg("suminfo").arg(&msp));
    let info = text(&out);
    assert!(out.status.success(), "msiinfo suminfo: {info}");
    eprintln!("{info}");
    assert_contains(&info, "Patch");
    assert_contains(&info, &product);
    assert_contains(&info, ":RTM.1;:#RTM.1");
    assert_contains(&info, &code);
    let out = run(tool("msiinfo").arg("tables").arg(&msp));
    assert_contains(&text(&out), "MsiPatchMetadata");
    let signed = sign(&msp);
    let out = run(tool("msiinfo").arg("suminfo").arg(&signed));
    assert!(out.status.success(), "msiinfo suminfo (signed): {}", text(&out));
}

#[test]
fn patch_refuses_what_it_cannot_carry() {
    let (hotfix, _) = hotfix_build();
    let old = Database::from_bytes(&std::fs::read(dist_windows().join("outpost-2.1.0-x64.msi")).unwrap()).unwrap();
    let new = Database::from_bytes(&std::fs::read(hotfix.join("outpost-2.1.1-x64.msi")).unwrap()).unwrap();
    let none = BTreeMap::new();
    let refused = |old: &Database, new: &Database| patch(old, new, &none, &options()).expect_err("refused").to_string();

    let mut other = new.clone();
    other.table_mut("Property").unwrap().set(&["ProductCode".into()], "Value", "{00000000-0000-0000-0000-000000000001}").unwrap();
    assert_contains(&refused(&old, &other), "the ProductCode differs");

    let mut other = new.clone();
    other.table_mut("Property").unwrap().set(&["UpgradeCode".into()], "Value", "{00000000-0000-0000-0000-000000000002}").unwrap();
    assert_contains(&refused(&old, &other), "the UpgradeCode differs");

    assert_contains(&refused(&new, &old), "is not higher than");
    assert_contains(&refused(&old, &old), "is not higher than");

    let mut other = new.clone();
    let comp = other.table("Component").unwrap().rows().next().unwrap()[0].clone();
    other.table_mut("Component").unwrap().set(&[comp.clone()], "ComponentId", "{00000000-0000-0000-0000-000000000003}").unwrap();
    assert_contains(&refused(&old, &other), "changes its GUID");

    let mut other = new.clone();
    other.table_mut("File").unwrap().remove(&[Value::from("DefaultsConf")]).unwrap();
    other.table_mut("MsiFileHash").unwrap().remove(&[Value::from("DefaultsConf")]);
    assert_contains(&refused(&old, &other), "removes File DefaultsConf");

    // The 2.2.0 line has another ProductCode: a major upgrade, not a patch.
    let text = std::fs::read_to_string(workspace_root().join("packaging/outpost.toml")).unwrap();
    let next_manifest = fixtures_dir().join("outpost-next.toml");
    let next_text = text.replace("version = \"2.1.0\"", "version = \"2.2.0\"");
    if std::fs::read_to_string(&next_manifest).ok().as_deref() != Some(&next_text) {
        std::fs::write(&next_manifest, next_text).unwrap();
    }
    let next = msi_build(&next_manifest, "dist-windows-next", &[]);
    let next = Database::from_bytes(&std::fs::read(next.join("outpost-2.2.0-x64.msi")).unwrap()).unwrap();
    assert_contains(&refused(&old, &next), "the ProductCode differs");
}

#[test]
fn patch_applies_and_uninstalls_under_wine() {
    let tmp = tempfile::tempdir().unwrap();
    let (msp, product, code) = make_patch(tmp.path());
    let msp = sign(&msp);
    let (hotfix, _) = hotfix_build();
    let dist = dist_windows();
    let old_agent = extracted_agent(&dist.join("outpost-2.1.0-x64.msi"), &tmp.path().join("old"));
    let new_agent = extracted_agent(&hotfix.join("outpost-2.1.1-x64.msi"), &tmp.path().join("new"));
    assert!(old_agent != new_agent, "the two MSIs carry the same agent");
    let w = Prefix::new();
    let m = w.msiexec(&["/i", &dist.join("outpost-2.1.0-x64.msi").display().to_string(), "/qn", "SWITCH=x:1"]);
    m.expect_code(0);
    assert!(std::fs::read(w.host(AGENT)).unwrap() == old_agent, "2.1.0 did not install its agent");

    // Wine's StopServices sends SERVICE_CONTROL_STOP but does not wait for
    // the service to stop (Windows does), so InstallFiles finds the exe in
    // use, schedules a rename for the next boot and msiexec exits 3010.
    // Stop the service first, as Windows' StopServices would have.
    let out = w.wine(&["sc", "stop", "OutpostClient"], &[]);
    assert!(out.status.success(), "sc stop: {}", text(&out));
    assert_eq!(w.wait_service("OutpostClient", Some("STOPPED"), std::time::Duration::from_secs(20)).as_deref(), Some("STOPPED"));
    if std::env::var_os("MSP_TRACE").is_some() {
        let out = w.wine(&["msiexec", "/p", &msp.display().to_string(), "REINSTALL=ALL", "REINSTALLMODE=omus", "/qn"], &[("WINEDEBUG", "+msi")]);
        std::fs::write(std::env::temp_dir().join("windows_patch-trace.txt"), &out.stderr).unwrap();
    }
    let m = w.msiexec(&["/p", &msp.display().to_string(), "REINSTALL=ALL", "REINSTALLMODE=omus", "/qn"]);
    eprintln!("msiexec /p: exit {}", m.code);
    m.expect_code(0);
    assert!(m.ok(), "applying the patch failed:\n{m}");
    assert!(std::fs::read(w.host(AGENT)).unwrap() == new_agent, "the patch did not replace the agent:\n{m}");
    let arp = w.uninstall_entry(&product).expect("ARP entry after the patch");
    assert_eq!(arp.get("DisplayVersion").map(String::as_str), Some("2.1.1"), "ARP after the patch: {arp:?}");
    let answers = std::fs::read_to_string(w.host(ANSWERS)).unwrap();
    assert!(answers.lines().any(|l| l.trim() == "Switch=x:1"), "the patch lost Switch:\n{answers}");
    assert_eq!(
        w.wait_service("OutpostClient", Some("RUNNING"), std::time::Duration::from_secs(20)).as_deref(),
        Some("RUNNING"),
        "service after the patch"
    );

    // Remove the patch (AllowRemoval=1). Windows goes back to 2.1.0; Wine 8
    // accepts MSIPATCHREMOVE (exit 0) but re-applies the registered patch,
    // so the files and ARP version stay 2.1.1 there: printed, not asserted.
    let m = w.msiexec(&["/i", &product, &format!("MSIPATCHREMOVE={code}"), "/qn"]);
    eprintln!("patch removal: exit {} \n{}", m.code, m.log.lines().rev().take(15).collect::<Vec<_>>().join("\n"));
    let arp = w.uninstall_entry(&product).expect("ARP entry after removing the patch");
    let back = std::fs::read(w.host(AGENT)).ok();
    eprintln!("after MSIPATCHREMOVE: DisplayVersion {:?}, agent is 2.1.0: {}, agent is 2.1.1: {}", arp.get("DisplayVersion"), back.as_deref() == Some(old_agent.as_slice()), back.as_deref() == Some(new_agent.as_slice()));
    m.expect_code(0);
}
