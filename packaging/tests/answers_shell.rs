//! The installer's shell pre-check must agree with the agent's schema: it
//! runs before anything is unpacked, and the agent re-checks in postinst,
//! where a disagreement would leave a half-configured package.

use std::process::Command;

use outpost_manifest::{Manifest, Platform};

const MANIFEST: &str = include_str!("../outpost.toml");

/// Values tried for every setting, good and bad, per type.
const CORPUS: &[&str] = &[
    "",
    "true",
    "FALSE",
    "1",
    "0",
    "yes",
    "maybe",
    "0",
    "180",
    "-5",
    "007",
    "86400",
    "86401",
    "12a",
    "-",
    "1-2",
    "info",
    "DEBUG",
    "loud",
    "switch.example.com:443",
    "10.0.0.5:443",
    "[fd00::5]:443",
    "host:0",
    "host:65535",
    "host:65536",
    "no-port",
    "-bad.example:443",
    "a..b:443",
    "host:44a",
    ":443",
    "https://a.example/",
    "https://a.example",
    "HTTPS://A.EXAMPLE/x?y#z",
    "http://a.example/",
    "https://user:pw@a.example/",
    "https:///path",
    "https://a.example:8443/bg/",
    "ftp://x/",
    "/var/tmp/outpost",
    "relative/path",
    "/",
    "store:subject=CN=host",
    "a value with spaces",
];

#[test]
fn shell_precheck_agrees_with_the_agent_schema() {
    let m = Manifest::parse(MANIFEST, "outpost.toml").unwrap();
    let ctx = omnipack::answers_sh::script_context(&m, Platform::Linux, "outpost.service").unwrap();
    let lib = ctx
        .get("answers")
        .and_then(|v| v.as_str())
        .expect("rendered answers library")
        .to_string();
    let mut script = lib.clone();
    let mut expected = Vec::new();
    for s in m.settings_on(Platform::Linux) {
        let view = omnipack::answers_sh::check_call(&s.kind);
        for value in CORPUS {
            let quoted = value.replace('\'', "'\\''");
            script.push_str(&format!(
                "if op_check '{}' {} 'test' '{quoted}'{}; then printf 'ok %s\\n' \"$op_v\"; else echo bad; fi\n",
                s.name, view.0, view.1
            ));
            expected.push((
                s.name.clone(),
                value.to_string(),
                m.check_setting(Platform::Linux, &s.name, value),
            ));
        }
    }
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), expected.len());
    let mut disagreements = Vec::new();
    for (line, (name, value, rust)) in lines.iter().zip(&expected) {
        let rust_says = match rust {
            Ok(v) => format!("ok {v}"),
            Err(_) => "bad".to_string(),
        };
        if *line != rust_says {
            disagreements.push(format!("{name} = {value:?}: shell `{line}`, agent `{rust_says}`"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "shell and agent disagree:\n{}",
        disagreements.join("\n")
    );
}
