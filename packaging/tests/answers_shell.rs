//! The installer's shell pre-check must agree with the agent's schema: it
//! runs before anything is unpacked, and the agent re-checks in postinst,
//! where a disagreement would leave a half-configured package.

use outpost_test_tools::tool;

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
    // Control characters: a newline in an environment variable must not add
    // a setting to installer.conf, whatever the type.
    "/tmp\nSwitch=evil.example:443",
    "a.example:1\nBackgroundChannelUrl=https://evil.example/",
    "https://a.example/\nLogFile=/etc/passwd",
    "180\n",
    "true\r",
    "/var/tmp/out\rpost",
    "with\ttab",
    "esc\u{1b}[2J",
    "del\u{7f}",
    "next line\u{85}is not ASCII",
];

#[test]
fn shell_precheck_agrees_with_the_agent_schema() {
    for shell in ["dash", "bash"] {
        precheck_agrees_under(shell);
    }
}

fn precheck_agrees_under(shell: &str) {
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
        let rule = omnipack::answers_sh::rule_args(&s.kind, Platform::Linux).unwrap();
        for value in CORPUS {
            let quoted = value.replace('\'', "'\\''");
            script.push_str(&format!(
                "if op_check '{}' 'test' '{quoted}' {rule}; then printf 'ok %s\\n' \"$op_v\"; else echo bad; fi\n",
                s.name
            ));
            expected.push((
                s.name.clone(),
                value.to_string(),
                m.check_setting(Platform::Linux, &s.name, value),
            ));
        }
    }
    let out = {
        use std::io::Write;
        let mut child = tool(shell)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
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
            disagreements.push(format!("{name} = {value:?}: {shell} `{line}`, agent `{rust_says}`"));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{shell} and agent disagree:\n{}",
        disagreements.join("\n")
    );
}

/// `op_collect` then `op_apply`, as a package's pre- and post-install steps
/// run them, on the Linux library with its files moved into `dir` (and `true`
/// standing in for the agent's `config check`): the exit status, stderr, and
/// the answers file written, with its mode.
fn collect(dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String, Option<(String, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    let m = Manifest::parse(MANIFEST, "outpost.toml").unwrap();
    let ctx = omnipack::answers_sh::script_context(&m, Platform::Linux, "outpost.service").unwrap();
    let lib = ctx.get("answers").and_then(|v| v.as_str()).unwrap();
    let agent = format!("'{}'", m.layout(Platform::Linux).binary);
    assert!(lib.contains(&agent));
    let lib = lib.replace(&agent, "true");
    let d = dir.display();
    let script = format!(
        "{lib}\nop_answers='{d}/installer.conf' op_staged='{d}/install-answers.conf' op_state='{d}/state'\n\
         op_pending=\"$op_state/installer-answers.pending\"\nop_collect install\nop_apply\n"
    );
    let mut cmd = tool("sh");
    cmd.arg("-c").arg(&script).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let answers = dir.join("installer.conf");
    let written = std::fs::read_to_string(&answers)
        .ok()
        .map(|t| (t, std::fs::metadata(&answers).unwrap().permissions().mode() & 0o777));
    let _ = std::fs::remove_dir_all(dir.join("state"));
    let _ = std::fs::remove_file(&answers);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        written,
    )
}

#[test]
fn trusted_ca_file_may_be_empty_or_absolute_but_not_relative() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, err, written) = collect(tmp.path(), &[("OUTPOST_TRUSTEDCAFILE", "relative")]);
    assert!(!ok, "a relative TrustedCaFile was accepted");
    assert!(
        err.contains(
            "environment variable OUTPOST_TRUSTEDCAFILE: TrustedCaFile: `relative` is not an absolute linux path (or empty)"
        ),
        "{err}"
    );
    assert!(err.contains("installation refused"), "{err}");
    assert_eq!(written, None);
    for value in ["", "/etc/outpost/corp-ca.pem"] {
        let (ok, err, written) = collect(tmp.path(), &[("OUTPOST_TRUSTEDCAFILE", value)]);
        assert!(ok, "{value:?}: {err}");
        let (text, mode) = written.expect("answers written");
        assert_eq!(mode, 0o644, "{value:?}: no secret, readable as before");
        assert!(
            text.lines().any(|l| l == format!("TrustedCaFile={value}")),
            "{value:?}:\n{text}"
        );
    }
    // The other absolute paths still need a value.
    let (ok, err, _) = collect(tmp.path(), &[("OUTPOST_LOGFILE", "")]);
    assert!(!ok);
    assert!(err.contains("LogFile: `` is not an absolute linux path\n"), "{err}");
}

#[test]
fn a_secret_answer_is_never_printed_and_stays_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = "pkcs12-Pass-7f3a";
    let (ok, err, written) = collect(tmp.path(), &[("OUTPOST_CLIENTCERTIFICATEPASSWORD", secret)]);
    assert!(ok, "{err}");
    assert!(!err.contains(secret), "{err}");
    let (text, mode) = written.expect("answers written");
    assert!(
        text.lines().any(|l| l == format!("ClientCertificatePassword={secret}")),
        "{text}"
    );
    assert_eq!(mode, 0o600, "answers with a secret");
    // Refused with another value: the message names neither.
    let long = "x".repeat(257);
    let (ok, err, _) = collect(
        tmp.path(),
        &[("OUTPOST_CLIENTCERTIFICATEPASSWORD", &long), ("OUTPOST_SWITCH", "no-port")],
    );
    assert!(!ok);
    assert!(
        err.contains("ClientCertificatePassword: must be at most 256 bytes"),
        "{err}"
    );
    assert!(!err.contains(&long), "{err}");
    // An empty secret is no secret.
    let (ok, err, written) = collect(tmp.path(), &[("OUTPOST_CLIENTCERTIFICATEPASSWORD", "")]);
    assert!(ok, "{err}");
    assert_eq!(written.unwrap().1, 0o644);
}

/// A refused 100 KB value is quoted in at most ~100 characters, by the shell
/// pre-check and by the schema alike.
#[test]
fn refusals_quote_at_most_about_100_characters_of_a_value() {
    let dir = tempfile::tempdir().unwrap();
    // Long, yet within the 1024-byte limit of a path: refused by its pattern.
    let long = format!("relative/{}", "x".repeat(1_000));
    let (ok, stderr, written) = collect(dir.path(), &[("OUTPOST_TEMPORARYDIRECTORY", &long)]);
    assert!(!ok && written.is_none(), "a relative path was accepted");
    assert!(
        stderr.contains("is not an absolute linux path"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(
        stderr.contains("xxx...`"),
        "not clipped: {}",
        &stderr[..stderr.len().min(500)]
    );
    assert!(stderr.len() < 2_000, "{} bytes of refusal", stderr.len());
    let m = Manifest::parse(MANIFEST, "outpost.toml").unwrap();
    let e = m.check_setting(Platform::Linux, "TemporaryDirectory", &long).unwrap_err().to_string();
    assert!(e.len() < 400, "{} bytes", e.len());
}
