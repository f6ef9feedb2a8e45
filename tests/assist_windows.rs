//! The deployment assistant on an administrator's Windows machine: omnipack
//! cross-compiled for Windows (x86_64-pc-windows-gnu, release; scripts/test
//! builds it), run under Wine from the release's two Windows zips extracted
//! into one folder (omnipack.exe, outpost.toml, both MSIs, their release.json,
//! an answer file), from another working folder so that it must find the
//! bundle beside itself. It must write the transforms the Linux assistant
//! writes, byte for byte, and Wine's msiexec must install with one; without
//! a signing tool it must refuse to sign rather than look for osslsigncode.

use std::path::{Path, PathBuf};
use std::process::Output;

use outpost_tests::wine::Prefix;
use outpost_tests::*;

const BUNDLE: &str = "C:\\Outpost";
const ADMIN: &str = "C:\\admin";
const MSIS: [&str; 2] = ["outpost-2.1.0-x64.msi", "outpost-2.1.0-x86.msi"];

/// Answers an administrator would give (uncommented template lines).
const CHOSEN: &[(&str, &str)] = &[
    ("# Switch = \"switch.outpost.example:443\"", "Switch = \"corp.example:9443\""),
    ("# LogLevel = \"info\"", "LogLevel = \"DEBUG\""),
    ("# DefaultStaggerRangeSeconds = 180", "DefaultStaggerRangeSeconds = 600"),
];

fn linux_assist(args: &[&str]) -> Output {
    run(tool(omnipack()).current_dir(workspace_root()).arg("assist").args(args))
}

/// `omnipack.exe args…` run by cmd.exe from `cwd`. No argument may hold a
/// space (cmd's own quoting is not what is tested here).
fn windows(w: &Prefix, cwd: &str, exe: &str, args: &[&str]) -> Output {
    let mut argv = vec!["cmd", "/c", "cd", "/d", cwd, "&&", exe];
    argv.extend_from_slice(args);
    assert!(argv.iter().all(|a| !a.contains(' ')), "{argv:?}");
    w.wine(&argv, &[])
}

/// The template Linux `assist init` writes, with `CHOSEN` answered.
fn answers() -> String {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("answers.toml");
    let out = linux_assist(&["init", "--out", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let mut t = std::fs::read_to_string(f).unwrap();
    for (from, to) in CHOSEN {
        assert_eq!(t.matches(from).count(), 1, "template edit `{from}`");
        t = t.replace(from, to);
    }
    t
}

/// C:\Outpost as the administrator has it after extracting the release's
/// own outpost-<v>-windows.zip and outpost-assist-<v>-windows.zip into it
/// (the signed release every read-only test shares), with the answers given.
fn lay_out_bundle(w: &Prefix) -> PathBuf {
    let dist = dist();
    let release: serde_json::Value = serde_json::from_slice(&std::fs::read(dist.join("release.json")).unwrap()).unwrap();
    let bundle = w.host(BUNDLE);
    std::fs::create_dir_all(&bundle).unwrap();
    for kind in ["windows", "assistant"] {
        let zip = release["artifacts"].as_array().unwrap().iter().find(|a| a["format"] == "zip" && a["bundle"] == kind);
        let zip = dist.join(zip.unwrap_or_else(|| panic!("no {kind} bundle in release.json"))["path"].as_str().unwrap());
        ok(tool("bsdtar").arg("-xf").arg(&zip).arg("-C").arg(&bundle));
    }
    let inner: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("release.json")).unwrap()).unwrap();
    let listed: Vec<&str> = inner["artifacts"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(listed, MSIS, "the Windows bundle's release.json lists just the two MSIs");
    assert!(bundle.join("omnipack.exe").is_file() && bundle.join("outpost.toml").is_file(), "{:?}", names(&bundle));
    std::fs::write(bundle.join("answers.toml"), answers()).unwrap();
    std::fs::create_dir_all(w.host(ADMIN)).unwrap();
    bundle
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A file of a deploy folder as text, with the answer file's path (which
/// each side names in its own way) replaced.
fn generated(dir: &Path, name: &str, answers_path: &str) -> String {
    let t = std::fs::read_to_string(dir.join(name)).unwrap();
    assert_contains(&t.replace("''", "'"), answers_path);
    t.replace(&answers_path.replace('\'', "''"), "ANSWERS").replace(answers_path, "ANSWERS")
}

/// The executable imports only DLLs every Windows has: no mingw runtime
/// (libgcc_s, libwinpthread, libstdc++) that an administrator's machine
/// would lack.
fn imports_only_system_dlls(exe: &Path) {
    let dump = ok(tool("x86_64-w64-mingw32-objdump").arg("-p").arg(exe));
    let dlls: Vec<String> = dump.lines().filter_map(|l| l.trim().strip_prefix("DLL Name: ")).map(|d| d.to_ascii_lowercase()).collect();
    assert!(dlls.iter().any(|d| d == "kernel32.dll"), "no imports found:\n{dump}");
    let system = [
        "kernel32.dll", "ntdll.dll", "advapi32.dll", "bcrypt.dll", "bcryptprimitives.dll", "userenv.dll", "ws2_32.dll",
        "msvcrt.dll", "ucrtbase.dll", "user32.dll", "crypt32.dll", "secur32.dll", "ole32.dll", "oleaut32.dll", "shell32.dll",
        "ncrypt.dll", "iphlpapi.dll", "dbghelp.dll", "synchronization.dll", "powrprof.dll", "psapi.dll", "pdh.dll",
    ];
    for d in &dlls {
        assert!(system.contains(&d.as_str()) || d.starts_with("api-ms-win-"), "{} imports {d}, which Windows does not ship", exe.display());
    }
}

#[test]
fn the_windows_assistant_writes_the_linux_transforms_and_msiexec_installs_with_one() {
    let exe = windows_assistant();
    imports_only_system_dlls(&exe);
    eprintln!("omnipack.exe: {} bytes", std::fs::metadata(&exe).unwrap().len());
    let w = Prefix::new();
    let bundle = lay_out_bundle(&w);
    let tool_exe = format!("{BUNDLE}\\omnipack.exe");

    // `assist init` on Windows writes the template the bundle ships,
    // from the outpost.toml beside omnipack.exe.
    let out = windows(&w, ADMIN, &tool_exe, &["assist", "init", "--out", "template.toml"]);
    assert!(out.status.success(), "omnipack.exe assist init:\n{}", text(&out));
    let tmp = tempfile::tempdir().unwrap();
    let linux_template = tmp.path().join("template.toml");
    assert!(linux_assist(&["init", "--out", linux_template.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(w.host("C:\\admin\\template.toml")).unwrap(), std::fs::read(&linux_template).unwrap());

    // No --from, no --manifest: the MSIs and the manifest are found beside
    // omnipack.exe; --out is relative to the administrator's folder.
    let answers_win = format!("{BUNDLE}\\answers.toml");
    let out = windows(&w, ADMIN, &tool_exe, &["assist", "--answers", &answers_win, "--unsigned"]);
    assert!(out.status.success(), "omnipack.exe assist:\n{}", text(&out));
    let deploy_win = w.host("C:\\admin\\deploy");

    let deploy_linux = tmp.path().join("deploy");
    let answers_linux = bundle.join("answers.toml");
    let out = linux_assist(&[
        "--answers",
        answers_linux.to_str().unwrap(),
        "--from",
        bundle.to_str().unwrap(),
        "--out",
        deploy_linux.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    assert_eq!(names(&deploy_win), names(&deploy_linux));
    for msi in MSIS {
        let mst = msi.replace(".msi", ".mst");
        let (a, b) = (std::fs::read(deploy_win.join(&mst)).unwrap(), std::fs::read(deploy_linux.join(&mst)).unwrap());
        assert!(a == b, "{mst}: the Windows assistant wrote {} bytes that differ from Linux's {}", a.len(), b.len());
        assert_contains(&ok(tool("msiinfo").arg("suminfo").arg(deploy_win.join(&mst))), "Title: Transform");
    }
    // Command lines, ConfigMgr script and Intune settings: the same, but for
    // how each names the answer file.
    for name in ["commandlines.txt", "configmgr.ps1", "intune.txt"] {
        let win = generated(&deploy_win, name, &answers_win);
        let linux = generated(&deploy_linux, name, &answers_linux.display().to_string());
        assert_eq!(win, linux, "{name} differs between the Windows and the Linux assistant");
    }
    assert_contains(
        &std::fs::read_to_string(deploy_win.join("commandlines.txt")).unwrap(),
        "msiexec.exe /i \"outpost-2.1.0-x64.msi\" TRANSFORMS=\"outpost-2.1.0-x64.mst\" /qn /l*v \"%TEMP%\\outpost-install.log\"",
    );

    // Wine's msiexec installs the bundle's MSI with the Windows-made transform.
    let r = w.msiexec(&["/i", &format!("{BUNDLE}\\outpost-2.1.0-x64.msi"), "TRANSFORMS=C:\\admin\\deploy\\outpost-2.1.0-x64.mst", "/qn"]);
    assert_eq!(r.code, 0, "{r}");
    let conf = std::fs::read_to_string(w.host("C:\\ProgramData\\Outpost\\installer.conf")).unwrap();
    for line in ["Switch=corp.example:9443", "LogLevel=debug", "DefaultStaggerRangeSeconds=600"] {
        assert!(conf.lines().any(|l| l.trim() == line), "installer.conf lacks `{line}`:\n{conf}");
    }
}

#[test]
fn the_windows_assistant_refuses_to_sign_without_signtool_and_says_where_it_looked() {
    let w = Prefix::new();
    lay_out_bundle(&w);
    let tool_exe = format!("{BUNDLE}\\omnipack.exe");
    let answers_win = format!("{BUNDLE}\\answers.toml");

    // Not unsigned, no signtool: a refusal naming both ways out, nothing written.
    let out = windows(&w, ADMIN, &tool_exe, &["assist", "--answers", &answers_win]);
    assert!(!out.status.success(), "signed without a signing tool:\n{}", text(&out));
    let t = text(&out);
    assert_contains(&t, "omnipack: error: no signing tool configured: pass --unsigned to leave the transforms and patches unsigned, or --signtool PATH (signtool.exe from the Windows SDK)");
    assert!(!w.host("C:\\admin\\deploy").exists(), "output written despite the refusal");
    // The same for a patch, and for an osslsigncode key.
    let msi = format!("{BUNDLE}\\outpost-2.1.0-x64.msi");
    let out = windows(&w, ADMIN, &tool_exe, &["patch", "--from", &msi, "--to", &msi, "--out", "x.msp"]);
    assert_contains(&text(&out), "no signing tool configured: pass --unsigned");
    let out = windows(&w, ADMIN, &tool_exe, &["assist", "--answers", &answers_win, "--authenticode-pkcs12", &answers_win]);
    assert_contains(&text(&out), "(--authenticode-* keys are for osslsigncode, which omnipack does not run on Windows)");
    // A signtool that is not there is named.
    let out = windows(&w, ADMIN, &tool_exe, &["assist", "--answers", &answers_win, "--signtool", "C:\\SDK\\signtool.exe"]);
    assert_contains(&text(&out), "--signtool `C:\\SDK\\signtool.exe`: does not exist");

    // omnipack.exe alone, away from the bundle: the error says where it looked.
    let lonely = w.host("C:\\lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    std::fs::copy(windows_assistant(), lonely.join("omnipack.exe")).unwrap();
    let out = windows(&w, ADMIN, "C:\\lonely\\omnipack.exe", &["assist", "--answers", &answers_win, "--unsigned"]);
    assert!(!out.status.success());
    assert_contains(&text(&out), "no product manifest: looked for packaging\\outpost.toml (in C:\\admin) and C:\\lonely\\outpost.toml (beside omnipack); pass --manifest FILE");
    std::fs::copy(workspace_root().join("packaging/outpost.toml"), lonely.join("outpost.toml")).unwrap();
    let out = windows(&w, ADMIN, "C:\\lonely\\omnipack.exe", &["assist", "--answers", &answers_win, "--unsigned"]);
    assert!(!out.status.success());
    assert_contains(&text(&out), "no release.json: looked for dist\\release.json and C:\\lonely\\release.json (the current folder is C:\\admin); pass --from FOLDER");
}

#[test]
fn the_windows_assistant_writes_the_linux_patch() {
    let w = Prefix::new();
    let bundle = lay_out_bundle(&w);
    let new = msi_build_version("2.1.1").join("outpost-2.1.1-x64.msi");
    std::fs::copy(&new, w.host("C:\\admin\\outpost-2.1.1-x64.msi")).unwrap();
    let out = windows(
        &w,
        ADMIN,
        &format!("{BUNDLE}\\omnipack.exe"),
        &["patch", "--from", &format!("{BUNDLE}\\outpost-2.1.0-x64.msi"), "--to", "outpost-2.1.1-x64.msi", "--out", "hotfix.msp", "--unsigned"],
    );
    assert!(out.status.success(), "omnipack.exe patch:\n{}", text(&out));
    let tmp = tempfile::tempdir().unwrap();
    let linux = tmp.path().join("hotfix.msp");
    let out = run(tool(omnipack())
        .current_dir(workspace_root())
        .args(["patch", "--unsigned", "--from"])
        .arg(bundle.join("outpost-2.1.0-x64.msi"))
        .arg("--to")
        .arg(&new)
        .arg("--out")
        .arg(&linux));
    assert!(out.status.success(), "{}", text(&out));
    // Not compared byte for byte: the cabinet's MSZIP blocks come out
    // differently from a debug omnipack (the one tests run) than from a
    // release one (measured: the release Linux omnipack and omnipack.exe
    // write the same bytes, the debug one other bytes with the same files).
    // So: the same summary and the same files, as msitools and 7-Zip read them.
    let win = w.host("C:\\admin\\hotfix.msp");
    let info = |p: &Path| ok(tool("msiinfo").arg("suminfo").arg(p));
    assert_eq!(info(&win), info(&linux));
    assert_contains(&info(&win), "Title: Patch");
    let unpack = |p: &Path, dir: &Path| {
        ok(tool("7zz").arg("x").arg(format!("-o{}", dir.display())).arg(p));
        names(dir).into_iter().map(|n| (std::fs::read(dir.join(&n)).unwrap(), n)).collect::<Vec<_>>()
    };
    let (a, b) = (unpack(&win, &tmp.path().join("win")), unpack(&linux, &tmp.path().join("linux")));
    assert!(a.iter().any(|(_, n)| n == "AgentExe"), "{:?}", a.iter().map(|(_, n)| n).collect::<Vec<_>>());
    assert!(a == b, "the Windows patch carries other files than Linux's");
}
