//! `omnipack mobileconfig`: the configuration profile an MDM pushes so the
//! agent's managed-preferences layer enforces settings on Macs. Checked with
//! xmllint and Python's plistlib (a property-list reader we did not write);
//! the agent's own unit tests read the golden profile back as macOS stores it.

use std::path::Path;

use outpost_tests::*;

fn mobileconfig(out: &Path, set: &[&str]) -> std::process::Output {
    let mut cmd = tool(omnipack());
    cmd.current_dir(workspace_root()).arg("mobileconfig").arg("--out").arg(out);
    for s in set {
        cmd.args(["--set", s]);
    }
    run(&mut cmd)
}

/// The profile's structure and the settings payload, as plistlib reads them,
/// printed as JSON.
fn plistlib(profile: &Path) -> serde_json::Value {
    let script = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
inner = p["PayloadContent"]
print(json.dumps({
    "type": p["PayloadType"], "scope": p["PayloadScope"], "id": p["PayloadIdentifier"],
    "uuid": p["PayloadUUID"], "count": len(inner),
    "payload": {k: v for k, v in inner[0].items()},
}))
"#;
    let out = ok(tool("python3").arg("-c").arg(script).arg(profile));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_sample_profile_is_the_reviewed_golden_file_and_parses() {
    let tmp = tempfile::tempdir().unwrap();
    let got = tmp.path().join("outpost.mobileconfig");
    let out = mobileconfig(&got, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let golden = workspace_root().join("tests/golden/outpost-sample.mobileconfig");
    if std::env::var_os("OUTPOST_UPDATE_GOLDEN").is_some() {
        std::fs::copy(&got, &golden).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        std::fs::read_to_string(&golden).expect("tests/golden/outpost-sample.mobileconfig (OUTPOST_UPDATE_GOLDEN=1 writes it)"),
        "the sample profile differs from the golden file the agent's tests read"
    );
    ok(tool("xmllint").arg("--noout").arg(&got));
    let p = plistlib(&got);
    assert_eq!(p["type"], "Configuration");
    assert_eq!(p["scope"], "System");
    assert_eq!(p["count"], 1);
    let payload = &p["payload"];
    // The payload type is the preference domain: macOS writes the keys to
    // /Library/Managed Preferences/com.outpost.client.plist.
    assert_eq!(payload["PayloadType"], "com.outpost.client");
    assert_eq!(payload["Switch"], "switch.outpost.example:443");
    assert_eq!(payload["Module.Platform.Enabled"], true);
    assert_eq!(payload["DefaultStaggerRangeSeconds"], 180);
    assert_eq!(payload["HeartbeatIntervalSeconds"], 20);
    assert_eq!(payload["ReconnectSpreadSeconds"], 120);
    assert_eq!(payload["TrustedCaFile"], "");
    // A secret is never in a profile, not even empty.
    assert!(payload.get("ClientCertificatePassword").is_none(), "{payload}");
    // Windows-only features' settings are not offered to Macs.
    assert!(payload.get("Module.Content.Enabled").is_none(), "{payload}");
    // UUIDs derive from the product, so a re-pushed profile replaces itself.
    let uuid = p["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_ne!(uuid, payload["PayloadUUID"].as_str().unwrap());
}

#[test]
fn chosen_values_are_checked_and_written_canonically() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("tenant.mobileconfig");
    let out = mobileconfig(
        &f,
        &[
            "Switch=switch.tenant.example:8443",
            "Module.Platform.Enabled=0",
            "LogLevel=DEBUG",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let p = plistlib(&f);
    assert_eq!(p["payload"]["Switch"], "switch.tenant.example:8443");
    assert_eq!(p["payload"]["Module.Platform.Enabled"], false);
    assert_eq!(p["payload"]["LogLevel"], "debug");
}

#[test]
fn bad_values_and_unknown_keys_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bad.mobileconfig");
    for (set, needle) in [
        ("Switch=no-port", "key `Switch`: `no-port` is not host:port"),
        // A newline cannot add a setting to the profile.
        (
            "TemporaryDirectory=/tmp\nSwitch=evil.example:443",
            "key `TemporaryDirectory`: a value must be a single line without control characters",
        ),
        (
            "Module.Content.Enabled=1",
            "key `Module.Content.Enabled`: unknown setting for macos; allowed: Switch",
        ),
        ("Switch", "--set `Switch`: expected NAME=VALUE"),
        (
            "TrustedCaFile=relative/ca.pem",
            "key `TrustedCaFile`: `relative/ca.pem` is not an absolute macos path (or empty)",
        ),
        (
            "ClientCertificatePassword=pkcs12-Pass-7f3a",
            "key `ClientCertificatePassword`: a secret cannot go in a configuration profile",
        ),
    ] {
        let out = mobileconfig(&f, &[set]);
        assert!(!out.status.success(), "{set} was accepted");
        assert_contains(&text(&out), needle);
        assert!(
            std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
            "{set}: something was written"
        );
        assert!(!text(&out).contains("pkcs12-Pass-7f3a"), "{set}: the secret was printed");
    }
}
