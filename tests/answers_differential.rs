//! One rule, every validator: a generated corpus of install-time answers
//! (values per setting type, and whole answers files) goes through the
//! Unix installers' shell pre-check under dash and bash (the deb and rpm
//! scripts' library, and the pkg's rendered for macOS), and through the
//! agent's own check; each value must be accepted by all of them, spelled
//! the same, or refused by all of them. A planted disagreement shows the
//! comparison can fail. The Windows Installer's leg is in
//! `windows_answers.rs` (it needs Wine).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use outpost_manifest::{settings_file, Manifest, Platform, SettingType};
use outpost_tests::{corpus, tool};

const MANIFEST: &str = include_str!("../packaging/outpost.toml");
/// Values per setting type.
const PER_TYPE: usize = 1200;
const FILES: usize = 600;

fn manifest() -> Manifest {
    Manifest::parse(MANIFEST, "outpost.toml").unwrap()
}

/// The installer-answers library as a package renders it for `platform`.
fn library(m: &Manifest, platform: Platform) -> String {
    let ctx = omnipack::answers_sh::script_context(m, platform, "outpost.service").unwrap();
    ctx.get("answers").and_then(|v| v.as_str()).unwrap().to_string()
}

/// What a validator says of one value: `ok <canonical>` or `bad`.
fn agent_verdict(kind: &SettingType, platform: Platform, value: &[u8]) -> String {
    match std::str::from_utf8(value).map(|s| kind.canonicalize(s, platform)) {
        Ok(Ok(v)) => format!("ok {v}"),
        _ => "bad".into(),
    }
}

fn shown(v: &[u8]) -> String {
    let s = v.escape_ascii().to_string();
    outpost_manifest::clip(&s)
}

/// Runs `script` with `shell` (the script on stdin: it is large), returning
/// stdout's lines as bytes.
fn run_shell(shell: &[&str], script: &str) -> Vec<Vec<u8>> {
    let mut child = tool(shell[0])
        .args(&shell[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let script = script.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{shell:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.split(|b| *b == b'\n').map(<[u8]>::to_vec).filter(|l| !l.is_empty()).collect()
}

/// One `op_check` per value, each value read back from its own file so that
/// every byte but NUL reaches the check as an environment variable would.
fn shell_values(shell: &[&str], lib: &str, dir: &Path, calls: &[(String, String, Vec<u8>)]) -> Vec<String> {
    let mut script = format!("{lib}\n");
    for (i, (name, rule, value)) in calls.iter().enumerate() {
        let f = dir.join(format!("v{i}"));
        std::fs::write(&f, value).unwrap();
        script.push_str(&format!(
            "v=$(cat '{}'; echo x); v=${{v%x}}\nif op_check '{name}' test \"$v\" {rule}; then printf 'ok %s\\n' \"$op_v\"; else echo bad; fi\n",
            f.display()
        ));
    }
    let lines = run_shell(shell, &script);
    assert_eq!(lines.len(), calls.len(), "{shell:?}: one verdict per value");
    lines.into_iter().map(|l| String::from_utf8_lossy(&l).into_owned()).collect()
}

/// The settings types of `platform`, one setting of each (its name and rule).
fn kinds(m: &Manifest, platform: Platform) -> Vec<(String, SettingType)> {
    let mut seen: Vec<(String, SettingType)> = Vec::new();
    for s in m.settings_on(platform) {
        if !seen.iter().any(|(_, k)| *k == s.kind) {
            seen.push((s.name.clone(), s.kind.clone()));
        }
    }
    seen
}

struct Leg {
    label: &'static str,
    shell: &'static [&'static str],
    platform: Platform,
}

const LEGS: &[Leg] = &[
    Leg { label: "deb/rpm scripts under dash", shell: &["dash", "-s"], platform: Platform::Linux },
    Leg { label: "deb/rpm scripts under bash", shell: &["bash", "-s"], platform: Platform::Linux },
    Leg { label: "pkg scripts under bash --posix", shell: &["bash", "--posix", "-s"], platform: Platform::Macos },
];

/// Per leg, every value of the corpus through the shell and the agent;
/// returns the disagreements. `perturb` edits the generated rule of the
/// shell (to plant a disagreement).
fn value_disagreements(leg: &Leg, per_type: usize, rng: &mut fastrand::Rng, perturb: &dyn Fn(&SettingType, String) -> String) -> (usize, Vec<String>) {
    let m = manifest();
    let lib = library(&m, leg.platform);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("executed");
    let mut calls = Vec::new();
    let mut expected = Vec::new();
    for (name, kind) in kinds(&m, leg.platform) {
        let rule = perturb(&kind, omnipack::answers_sh::rule_args(&kind, leg.platform).unwrap());
        for v in corpus::values(&kind, leg.platform, per_type, &marker.display().to_string(), rng) {
            // No environment variable (nor shell string) holds a NUL: the
            // file corpus covers it.
            if v.contains(&0) {
                continue;
            }
            expected.push(agent_verdict(&kind, leg.platform, &v));
            calls.push((name.clone(), rule.clone(), v));
        }
    }
    let got = shell_values(leg.shell, &lib, dir.path(), &calls);
    assert!(!marker.exists(), "{}: a value was executed", leg.label);
    let mut out = Vec::new();
    for ((name, _, v), (g, e)) in calls.iter().zip(got.iter().zip(&expected)) {
        if g != e {
            out.push(format!("{name} = b\"{}\": {} says `{}`, the agent `{}`", shown(v), leg.label, outpost_manifest::clip(g), outpost_manifest::clip(e)));
        }
    }
    (calls.len(), out)
}

#[test]
fn every_value_is_accepted_or_refused_alike_by_the_shell_precheck_and_the_agent() {
    let seed = corpus::seed();
    let results: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = LEGS
            .iter()
            .map(|leg| s.spawn(move || (leg, value_disagreements(leg, PER_TYPE, &mut fastrand::Rng::with_seed(seed), &|_, r| r))))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (leg, (n, bad)) in results {
        assert!(n > 8 * 1000, "{}: only {n} values", leg.label);
        assert!(
            bad.is_empty(),
            "seed {seed} (OUTPOST_CORPUS_SEED): {} of {n} values disagree:\n{}",
            bad.len(),
            bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

/// The comparison above can fail: a shell rule one byte shorter for
/// host:port, or an integer range one wider, is caught.
#[test]
fn a_planted_disagreement_is_caught() {
    let seed = corpus::seed();
    let plant = |kind: &SettingType, rule: String| match kind {
        SettingType::HostPort => rule.replacen("'259'", "'258'", 1),
        SettingType::Integer { min, max } => rule.replacen(&format!("'{min}' '{max}'"), &format!("'{min}' '{}'", max + 1), 1),
        _ => rule,
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let (_, bad) = value_disagreements(&LEGS[0], PER_TYPE / 4, &mut rng, &plant);
    assert!(bad.iter().any(|d| d.starts_with("Switch =")), "the shorter host:port rule was not caught:\n{}", bad.join("\n"));
    assert!(
        bad.iter().any(|d| d.contains("Seconds =")),
        "the wider integer range was not caught:\n{}",
        bad.join("\n")
    );
}

/// The agent's reading of a whole answers file: `ok` and the canonical
/// settings in file order, or `bad`.
fn agent_file_verdict(m: &Manifest, platform: Platform, text: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(text) else { return "bad".into() };
    match settings_file::check(m, platform, text) {
        Ok(entries) => {
            let mut s = "ok".to_string();
            for e in entries {
                s.push_str(&format!(" {}={}", e.name, e.value));
            }
            s
        }
        Err(_) => "bad".into(),
    }
}

#[test]
fn every_answers_file_is_read_alike_by_the_shell_precheck_and_the_agent() {
    let seed = corpus::seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let m = manifest();
    let files = corpus::files(FILES, &mut rng);
    let dir = tempfile::tempdir().unwrap();
    for leg in LEGS {
        let lib = library(&m, leg.platform);
        let rules: BTreeMap<String, String> = m
            .settings_on(leg.platform)
            .map(|s| (s.name.clone(), omnipack::answers_sh::rule_args(&s.kind, leg.platform).unwrap()))
            .collect();
        // A strict read of the file (as of a staged answers file), then
        // every value through op_check: one line per file.
        let mut script = format!("{lib}\nop_tmp=$(mktemp -d)\ncheck_named() {{\n    case \"$1\" in\n");
        for (name, rule) in &rules {
            script.push_str(&format!("    '{name}') op_check \"$1\" test \"$2\" {rule} ;;\n"));
        }
        script.push_str("    *) return 1 ;;\n    esac\n}\n");
        script.push_str(
            "read_file() {\n    op_err=0\n    op_read \"$1\" 1 \"$op_tmp/kv\" 2>/dev/null\n    [ \"$op_err\" = 0 ] || { echo bad; return; }\n    \
             _line=ok\n    while IFS= read -r _kv; do\n        if check_named \"${_kv%%=*}\" \"${_kv#*=}\"; then _line=\"$_line ${_kv%%=*}=$op_v\"; else echo bad; return; fi\n    \
             done < \"$op_tmp/kv\"\n    printf '%s\\n' \"$_line\"\n}\n",
        );
        let mut expected = Vec::new();
        for (i, text) in files.iter().enumerate() {
            let f = dir.path().join(format!("f{i}.conf"));
            std::fs::write(&f, text).unwrap();
            script.push_str(&format!("read_file '{}'\n", f.display()));
            expected.push(agent_file_verdict(&m, leg.platform, text));
        }
        script.push_str("rm -rf \"$op_tmp\"\n");
        let got: Vec<String> = run_shell(leg.shell, &script).into_iter().map(|l| String::from_utf8_lossy(&l).into_owned()).collect();
        assert_eq!(got.len(), files.len(), "{}: one verdict per file", leg.label);
        let bad: Vec<String> = files
            .iter()
            .zip(got.iter().zip(&expected))
            .filter(|(_, (g, e))| g != e)
            .map(|(f, (g, e))| format!("b\"{}\":\n  {} says `{g}`\n  the agent `{e}`", f.escape_ascii(), leg.label))
            .collect();
        assert!(
            bad.is_empty(),
            "seed {seed}: {} of {} files disagree:\n{}",
            bad.len(),
            files.len(),
            bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
        );
        let accepted = expected.iter().filter(|e| e.starts_with("ok")).count();
        assert!(accepted > files.len() / 20 && accepted < files.len(), "{}: {accepted} accepted: the corpus must have both", leg.label);
    }
}
