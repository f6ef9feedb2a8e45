//! Self-test of the Wine harness (support/wine.rs): a tiny MSI built with
//! omnipack's database compiler is installed, refused and uninstalled in a
//! throwaway Wine prefix, and the prefix queries and clean-up are checked.
//! Needs scripts/prepare-wine.

use std::path::PathBuf;
use outpost_test_tools::tool;

use outpost_tests::msi_fixture as fixture;
use outpost_tests::wine::{processes_of, Prefix};
use outpost_tests::{ok, text};

const PRODUCT_NAME: &str = "Harness Probe";
const VERSION: &str = "1.4.2";
const BLOCK_MESSAGE: &str = "Harness Probe refuses to install while BLOCK is set.";

const PRODUCT: fixture::Product = fixture::Product {
    name: PRODUCT_NAME,
    manufacturer: "Outpost Test",
    version: VERSION,
    upgrade_code: "{0B5E3C8A-6F1D-4D2B-9C47-2A8E61D03F95}",
    code_seed: "wine-harness/probe/1.4.2",
};

fn product_code() -> String {
    PRODUCT.product_code()
}

fn payload() -> Vec<u8> {
    (0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
}

/// A per-machine x64 package: one file in an embedded cabinet, an ini value
/// from the public property SWITCH, ARP properties, and a LaunchCondition
/// that is false when BLOCK is set.
fn probe_msi() -> Vec<u8> {
    let mut db = PRODUCT.installer(&[
        ("SWITCH", "default.example:443"),
        ("SecureCustomProperties", "SWITCH;BLOCK"),
        ("ARPHELPLINK", "https://help.example.invalid/probe"),
        ("ARPNOMODIFY", "1"),
    ]);
    fixture::insert_component(&mut db, "Payload", "wine-harness/probe/payload", Some("probe.dat"));
    fixture::insert_cab_file(&mut db, 1, "Payload", "probe.dat", "probe-payload.dat", "probe.cab", payload());
    fixture::insert_feature(&mut db, "Main", PRODUCT_NAME, 1, &["Payload"]);
    fixture::insert_ini_line(&mut db, "ProbeSwitch", "probe.ini", "switch", "[SWITCH]", "Payload");
    fixture::insert_launch_condition(&mut db, "NOT BLOCK", BLOCK_MESSAGE);
    fixture::insert_launch_condition(&mut db, "VersionNT64", "Harness Probe needs 64-bit Windows.");
    fixture::insert_minimal_sequences(&mut db);
    db.to_bytes().unwrap()
}

#[test]
fn msi_install_refusal_and_uninstall() {
    let tmp = tempfile::tempdir().unwrap();
    let msi = tmp.path().join("probe.msi");
    std::fs::write(&msi, probe_msi()).unwrap();
    let msi = msi.to_str().unwrap();
    let wine = Prefix::new();
    let code = product_code();
    let payload_path = format!(r"C:\Program Files\{PRODUCT_NAME}\probe-payload.dat");

    // A false LaunchCondition: 1603, nothing installed, and the log names
    // the condition's message (Wine does not log it; the harness adds it).
    let refused = wine.msiexec(&["/i", msi, "/qn", "BLOCK=1"]);
    refused.expect_code(1603);
    assert_eq!(refused.failed_action().as_deref(), Some("LaunchConditions"), "{refused}");
    assert!(
        refused.log_has(BLOCK_MESSAGE),
        "the log does not name the LaunchCondition message:\n{refused}"
    );
    assert!(refused.log_has("NOT BLOCK"), "{refused}");
    assert!(!wine.host(&payload_path).exists(), "a refused install left {payload_path}");
    assert_eq!(wine.uninstall_entry(&code), None, "a refused install left an ARP entry");

    // Install with a public property on the command line.
    let installed = wine.msiexec(&["/i", msi, "/qn", "SWITCH=x:1", "PROBENOTE=Grüße €"]);
    installed.expect_code(0);
    assert!(installed.ok() && installed.failed_action().is_none(), "{installed}");
    assert!(installed.log_has("Property(S): SWITCH = x:1"), "{installed}");
    // The ANSI log decoded: the non-ASCII property comes back intact.
    assert!(installed.log_has("Property(S): PROBENOTE = Grüße €"), "{installed}");
    eprintln!("msiexec /i took {:.2} s", installed.seconds);
    // The payload, found through a differently cased path.
    let host = wine.host(&payload_path.to_lowercase().replace(r"c:\program files", r"C:\PROGRAM FILES"));
    assert_eq!(
        host,
        wine.path().join("drive_c/Program Files/Harness Probe/probe-payload.dat")
    );
    let bytes = std::fs::read(&host).unwrap_or_else(|e| panic!("{payload_path} ({}): {e}\n{installed}", host.display()));
    assert!(
        bytes == payload(),
        "{payload_path}: {} bytes differ from the payload",
        bytes.len()
    );
    let ini_path = wine.host(&format!(r"C:\Program Files\{PRODUCT_NAME}\probe.ini"));
    let ini = outpost_tests::wine::decode_text(&std::fs::read(&ini_path).unwrap());
    assert!(
        ini.lines().map(str::trim).collect::<Vec<_>>() == ["[server]", "switch=x:1"],
        "{}: {ini:?}",
        ini_path.display()
    );
    let arp = wine
        .uninstall_entry(&code)
        .unwrap_or_else(|| panic!("no ARP entry for {code} after the install:\n{installed}"));
    for (name, want) in [
        ("DisplayName", PRODUCT_NAME),
        ("DisplayVersion", VERSION),
        ("Publisher", "Outpost Test"),
        ("HelpLink", "https://help.example.invalid/probe"),
        ("NoModify", "1"),
        ("WindowsInstaller", "1"),
    ] {
        assert_eq!(arp.get(name).map(String::as_str), Some(want), "ARP {name} in {arp:#?}");
    }
    // The same entry without braces and in lower case.
    assert_eq!(
        wine.uninstall_entry(&code.trim_matches(['{', '}']).to_lowercase()).as_ref(),
        Some(&arp)
    );

    // Uninstall by product code.
    let removed = wine.msiexec(&["/x", &code, "/qn"]);
    removed.expect_code(0);
    eprintln!("msiexec /x took {:.2} s", removed.seconds);
    assert_eq!(wine.uninstall_entry(&code), None, "ARP entry left after /x:\n{removed}");
    assert!(!host.exists(), "{payload_path} left after /x");

    // Exit codes above 255 come back: 1605 (unknown product) is status 69.
    let unknown = wine.msiexec(&["/x", &code, "/qn"]);
    unknown.expect_code(1605);
    assert_eq!(unknown.raw_status, Some(69));
}

#[test]
fn prefix_queries_and_clean_up_after_a_panic() {
    let mut path = PathBuf::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let wine = Prefix::new();
        path = wine.path().to_path_buf();
        assert!(
            !processes_of(&path).is_empty(),
            "no process runs with WINEPREFIX={}",
            path.display()
        );

        // Services: an absent one, and one Wine itself runs.
        assert_eq!(wine.service("OutpostNoSuchService"), None);
        assert_eq!(wine.service("PlugPlay").as_deref(), Some("RUNNING"));

        // Registry values written with `wine reg add`, non-ASCII included.
        let key = r"HKLM\Software\OutpostHarness";
        for args in [
            ["/v", "Switch", "/t", "REG_SZ", "/d", "x:1 Grüße €"],
            ["/v", "Level", "/t", "REG_DWORD", "/d", "7"],
        ] {
            let out = wine.wine(&[&["reg", "add", key][..], &args[..], &["/f"]].concat(), &[]);
            assert!(out.status.success(), "reg add {args:?}: {}", text(&out));
        }
        assert_eq!(wine.reg_value(key, "Switch").as_deref(), Some("x:1 Grüße €"));
        assert_eq!(wine.reg_value(key, "level").as_deref(), Some("7"));
        assert_eq!(wine.reg_value(key, "Missing"), None);
        assert_eq!(wine.reg_value(r"HKLM\Software\OutpostNoSuchKey", "Switch"), None);
        assert!(wine.reg_key_exists(key));
        assert!(!wine.reg_key_exists(r"HKLM\Software\OutpostNoSuchKey"));

        // Paths, both ways.
        assert_eq!(wine.host(r"c:\programdata\x.conf"), path.join("drive_c/ProgramData/x.conf"));
        assert_eq!(wine.host("Z:/tmp"), PathBuf::from("/tmp"));
        assert_eq!(wine.win_path(&path.join("drive_c/ProgramData")), r"C:\ProgramData");

        // The test-only shim: a Windows program calls bcryptprimitives!ProcessPrng.
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("prng.c");
        std::fs::write(&src, PRNG_C).unwrap();
        let exe = dir.path().join("prng.exe");
        ok(tool("x86_64-w64-mingw32-gcc")
            .arg("-O2")
            .arg("-o")
            .arg(&exe)
            .arg(&src));
        let out = wine.wine(&[exe.to_str().unwrap()], &[]);
        assert!(
            out.status.success() && text(&out).contains("ProcessPrng ok"),
            "ProcessPrng under Wine ({}): {}",
            out.status,
            text(&out)
        );
        panic!("deliberate panic: the prefix must be removed during unwinding");
    }));
    let message = result.expect_err("the closure panics at its end");
    let message = message
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or("(not the deliberate panic)");
    assert!(message.starts_with("deliberate panic"), "{message}");
    assert!(
        !path.as_os_str().is_empty() && !path.exists(),
        "{} survived the panic",
        path.display()
    );
    assert_eq!(
        processes_of(&path),
        Vec::<i32>::new(),
        "processes of {} survived",
        path.display()
    );
}

const PRNG_C: &str = r#"
#include <windows.h>
#include <stdio.h>
typedef BOOL (WINAPI *prng_t)(PBYTE, SIZE_T);
int main(void)
{
    BYTE b[32] = {0};
    int any = 0;
    HMODULE m = LoadLibraryA("bcryptprimitives.dll");
    prng_t prng = m ? (prng_t)GetProcAddress(m, "ProcessPrng") : NULL;
    if (!prng) { printf("no bcryptprimitives!ProcessPrng (%lu)\n", GetLastError()); return 2; }
    if (!prng(b, sizeof b)) { printf("ProcessPrng failed\n"); return 3; }
    for (int i = 0; i < (int)sizeof b; i++) any |= b[i];
    printf(any ? "ProcessPrng ok\n" : "ProcessPrng gave zeros\n");
    return any ? 0 : 4;
}
"#;
