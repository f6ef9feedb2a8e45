//! Installer properties checked by the MSI's `CheckAnswers` custom action
//! (packaging/msi-ca), the same Rust rule the agent runs, before
//! `InstallInitialize`: issue 11's probe rows under Wine's msiexec, a
//! differential check of the action against `SettingType::canonicalize`
//! through Wine's msi.dll (tests/wine/msicheck.c), and the DLL's exports and
//! imports for both architectures.
//!
//! Only 64-bit Wine exists here (no wine32), so the x86 MSI's i686 DLL is
//! never run: its exports and imports are checked with objdump.

use std::path::{Path, PathBuf};

use outpost_manifest::{Manifest, Platform, Setting, SettingType};
use outpost_tests::msi_rules::{default_baseline, disagreements, msi_verdicts, msi_verdicts_one_by_one, msi_verdicts_utf16};
use outpost_tests::wine::Prefix;
use outpost_tests::*;

const UNINSTALL: &str = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall";
/// A secret setting's value (ClientCertificatePassword).
const PASSWORD: &str = "pkcs12-Pass-7f3a";

fn manifest() -> Manifest {
    Manifest::load(&workspace_root().join("packaging/outpost.toml")).unwrap()
}

fn x64_msi() -> PathBuf {
    dist_windows().join("outpost-2.1.0-x64.msi")
}

/// `Property(S): NAME = value`, the first line of the property dump that
/// ends a log.
fn dumped<'a>(log: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("Property(S): {name} = ");
    log.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

fn action_started(log: &str, action: &str) -> bool {
    log.lines().any(|l| l.starts_with("Action start ") && l.ends_with(&format!(": {action}.")))
}

/// ProductCodes registered in Add/Remove Programs.
fn products(w: &Prefix) -> Vec<String> {
    String::from_utf8_lossy(&w.wine(&["reg", "query", UNINSTALL], &[]).stdout)
        .lines()
        .filter_map(|l| l.rsplit('\\').next().filter(|k| k.starts_with('{')).map(str::to_string))
        .collect()
}

/// One probe: a property's value and how it reaches msiexec.
struct Probe {
    property: &'static str,
    setting: &'static str,
    value: String,
    /// Through a transform: a command line holds at most 32767 characters
    /// (Windows' CreateProcess limit; Wine's msiexec exits 1 beyond it).
    transform: bool,
}

fn probe(property: &'static str, setting: &'static str, value: &str) -> Probe {
    Probe { property, setting, value: value.to_string(), transform: false }
}

fn probes() -> Vec<Probe> {
    vec![
        probe("SWITCH", "Switch", "switch.example:443\nBackgroundChannelUrl=https://evil.example/"),
        probe("TEMPORARYDIRECTORY", "TemporaryDirectory", "C:\\Temp\nSwitch=evil.example:443"),
        probe("LOGFILE", "LogFile", "C:\\ProgramData\\Outpost\\Logs\\outpost.log\rLogLevel=trace"),
        probe("BACKGROUNDCHANNELURL", "BackgroundChannelUrl", "https://a.example/\r"),
        probe("HEARTBEATINTERVALSECONDS", "HeartbeatIntervalSeconds", "99999999999999999999"),
        probe("SWITCH", "Switch", "[1]:443"),
        probe("BACKGROUNDCHANNELURL", "BackgroundChannelUrl", "https://a.example:99999/"),
        probe("CLIENTCERTIFICATEPASSWORD", "ClientCertificatePassword", &format!("{PASSWORD}\nSwitch=evil.example:443")),
        // The longest value a command line can carry, then 100 KB.
        probe("TEMPORARYDIRECTORY", "TemporaryDirectory", &format!("C:\\{}", "x".repeat(30_000))),
        Probe { transform: true, ..probe("TEMPORARYDIRECTORY", "TemporaryDirectory", &format!("C:\\{}", "y".repeat(100_000))) },
    ]
}

/// A settings transform that sets `property` to `value` in `msi`.
fn transform(msi: &Path, property: &str, value: &str, out: &Path) {
    let base = omnipack::msi::Database::from_bytes(&std::fs::read(msi).unwrap()).unwrap();
    let mst = omnipack::msi::transform::settings_transform(&base, &[(property.to_string(), value.to_string())], &[]).unwrap();
    std::fs::write(out, mst).unwrap();
}

#[test]
fn probe_rows_are_refused_before_install_initialize_and_nothing_is_installed() {
    let msi = x64_msi();
    let w = Prefix::new();
    for (i, p) in probes().iter().enumerate() {
        let setting = format!("{}={}", p.property, p.value);
        let mst = w.path().join(format!("probe-{i}.mst"));
        let mut args = vec!["/i".to_string(), msi.display().to_string(), "/qn".into()];
        if p.transform {
            transform(&msi, p.property, &p.value, &mst);
            args.push(format!("TRANSFORMS={}", w.win_path(&mst)));
        } else {
            args.push(setting.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let m = w.msiexec(&args);
        let what = format!("probe {i} ({}, {} bytes)", p.property, p.value.len());
        m.expect_code(1603);
        assert_eq!(m.failed_action().as_deref(), Some("RefuseInvalidSettings"), "{what}:\n{m}");
        assert!(action_started(&m.log, "CheckAnswers"), "{what}: CheckAnswers did not run:\n{m}");
        for later in ["InstallInitialize", "InstallFiles", "WriteIniValues"] {
            assert!(!action_started(&m.log, later), "{what}: {later} ran:\n{m}");
        }
        let refused = m
            .log
            .lines()
            .find(|l| l.starts_with(&format!("CheckAnswers: refused {} (", p.setting)))
            .unwrap_or_else(|| panic!("{what}: no refusal logged:\n{m}"));
        let invalid = dumped(&m.log, "INVALIDSETTINGS").unwrap_or_else(|| panic!("{what}: INVALIDSETTINGS not set:\n{m}"));
        assert!(invalid.starts_with(p.property), "{what}: {invalid}");
        // At most ~100 characters of the value, twice (as given, and quoted
        // in the reason), around a reason of a few dozen.
        for message in [refused, invalid] {
            assert!(message.chars().count() < 450, "{what}: {} characters: {message}", message.chars().count());
            assert!(!message.contains(&"x".repeat(101)) && !message.contains(&"y".repeat(101)), "{what}: {message}");
        }
        // A secret is never quoted (Wine's own property dump at the end of
        // the log ignores MsiHiddenProperties; Windows writes asterisks).
        if p.property == "CLIENTCERTIFICATEPASSWORD" {
            assert!(invalid.starts_with("CLIENTCERTIFICATEPASSWORD (") && !invalid.contains(PASSWORD), "{invalid}");
            let shown: Vec<&str> = m
                .log
                .lines()
                .filter(|l| l.contains(PASSWORD) && !l.starts_with("Property(S): CLIENTCERTIFICATEPASSWORD = "))
                .collect();
            assert!(shown.is_empty(), "the log shows the secret: {shown:?}");
        }
    }
    // Rules it cannot read fail the install (closed), before anything.
    let mst = w.path().join("no-rules.mst");
    transform(&msi, "OmnipackAnswerRules", "not json", &mst);
    let m = w.msiexec(&["/i", &msi.display().to_string(), "/qn", &format!("TRANSFORMS={}", w.win_path(&mst))]);
    m.expect_code(1603);
    assert_eq!(m.failed_action().as_deref(), Some("CheckAnswers"), "{m}");
    assert!(m.log_has("CheckAnswers: the property OmnipackAnswerRules cannot be read"), "{m}");
    assert!(!action_started(&m.log, "InstallInitialize"), "{m}");
    // Nothing changed: no product, no program or data folder, no answers.
    assert!(products(&w).is_empty(), "ARP entries: {:?}", products(&w));
    for dir in ["C:\\Program Files\\Outpost", "C:\\ProgramData\\Outpost"] {
        assert!(!w.host(dir).exists(), "{dir} exists");
    }
    assert!(!w.host("C:\\ProgramData\\Outpost\\installer.conf").exists());
    assert_eq!(w.service("OutpostClient"), None);
}

/// One Windows setting of each kind the manifest uses.
fn one_per_kind(m: &Manifest) -> Vec<Setting> {
    let mut seen: Vec<String> = Vec::new();
    m.settings_on(Platform::Windows)
        .filter(|s| {
            let key = serde_json::to_string(&s.kind).unwrap();
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .cloned()
        .collect()
}

/// A few hundred values for `kind`: issue 11's probes, every control
/// character, the length and range boundaries, and seeded random text.
fn values_for(kind: &SettingType, seed: u64) -> Vec<Vec<u8>> {
    let mut v: Vec<String> = [
        "",
        " ",
        "switch.example:443",
        "switch.example:443\nBackgroundChannelUrl=https://evil.example/",
        "C:\\Temp\nSwitch=evil.example:443",
        "a\rb",
        "99999999999999999999",
        "999999999999999999",
        "-999999999999999999",
        "[1]:443",
        "[fd00::5]:443",
        "[::1]:65535",
        "https://a.example:99999/",
        "https://a.example:65535/x?y#z",
        "https://[fd00::5]/",
        "C:\\ProgramData\\Outpost",
        "C:/ProgramData",
        "\\\\server\\share\\x",
        "relative\\path",
        "true",
        "FALSE",
        "1",
        "0",
        "info",
        "TRACE",
        "é",
        "*",
        "$(id)",
        "`id`",
        "[SWITCH]",
        "{x}",
        "a;b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(100_000));
    for c in (1u8..0x20).chain([0x7f]) {
        v.push(format!("C:\\a{}b", c as char));
    }
    let rule = kind.rule(Platform::Windows);
    for n in [rule.max_bytes.saturating_sub(1), rule.max_bytes, rule.max_bytes + 1] {
        v.push("a".repeat(n));
        v.push(format!("C:\\{}", "p".repeat(n.saturating_sub(3))));
        v.push(format!("https://{}", "h".repeat(n.saturating_sub(8))));
        v.push(format!("{}.example:443", "h".repeat(n.saturating_sub(12))));
        // A two-byte character across the limit.
        v.push(format!("{}é", "a".repeat(n.saturating_sub(2))));
    }
    if let Some((min, max)) = rule.range {
        for n in [min.saturating_sub(1), min, max, max.saturating_add(1), 0, -1] {
            v.push(n.to_string());
            v.push(format!("0{n}"));
            v.push(format!("+{n}"));
        }
    }
    if let SettingType::Enum { values } = kind {
        v.extend(values.iter().map(|e| e.to_ascii_uppercase()));
        v.extend(values.iter().map(|e| format!("{e} ")));
    }
    for port in ["0", "1", "65535", "65536", "443x", ""] {
        v.push(format!("switch.example:{port}"));
        v.push(format!("https://switch.example:{port}/"));
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let alphabet: Vec<char> = "ab:/\\.[]-_09Cé€ \t\n\r\"'{}%~".chars().collect();
    while v.len() < 300 {
        let len = rng.usize(0..24);
        v.push((0..len).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect());
    }
    let mut bytes: Vec<Vec<u8>> = v.into_iter().map(String::into_bytes).collect();
    // Not a property value at all: the driver skips them.
    bytes.push(b"a\0b".to_vec());
    bytes.push(b"C:\\\xff\xfe".to_vec());
    bytes
}

#[test]
fn check_answers_agrees_with_canonicalize() {
    let m = manifest();
    let msi = x64_msi();
    let w = Prefix::new();
    let baseline = default_baseline(&m);
    let mut compared = 0;
    for (i, s) in one_per_kind(&m).iter().enumerate() {
        // Its own edge cases, and the corpus every validator is fed
        // (answers_differential.rs runs it through the shells).
        let mut values = values_for(&s.kind, 11 + i as u64);
        let mut rng = fastrand::Rng::with_seed(outpost_tests::corpus::seed() + i as u64);
        values.extend(outpost_tests::corpus::values(&s.kind, Platform::Windows, 1200, r"C:\probe-was-executed", &mut rng));
        let started = std::time::Instant::now();
        let verdicts = msi_verdicts(&w, &msi, &baseline, &s.msi_property, &values);
        eprintln!("{}: {} values in {:.1} s", s.msi_property, values.len(), started.elapsed().as_secs_f64());
        let found = disagreements(&s.kind, &values, &verdicts);
        assert!(found.is_empty(), "{} ({}): CheckAnswers and canonicalize disagree:\n{}", s.msi_property, s.kind.name(), found.join("\n"));
        // The text names the property and carries canonicalize's reason;
        // a secret's never carries the value.
        for (v, verdict) in values.iter().zip(&verdicts) {
            let (Ok(text), Some(Err(why))) = (std::str::from_utf8(v), verdict) else { continue };
            let reason = s.kind.canonicalize(text, Platform::Windows).unwrap_err().to_string();
            if s.secret {
                assert!(why.starts_with(&format!("{} (", s.msi_property)), "{why}");
                assert!(text.len() < 4 || !why.contains(text), "a secret quoted: {why}");
            } else {
                assert!(why.starts_with(&format!("{}=", s.msi_property)), "{why}");
                if !reason.chars().any(char::is_control) {
                    assert!(why.contains(&format!(" ({reason}); ")), "{text:?}: {why} lacks {reason}");
                }
            }
            compared += 1;
        }
    }
    assert!(compared > 5000, "only {compared} refusals compared");
    // msi_verdicts checks many values per run of the action under stand-in
    // properties; one value per run, under the property's own name, gives
    // the same answers and texts.
    for s in one_per_kind(&m).iter().filter(|s| s.msi_property == "SWITCH" || s.secret) {
        let values: Vec<Vec<u8>> = values_for(&s.kind, 7).into_iter().step_by(6).collect();
        let started = std::time::Instant::now();
        let single = msi_verdicts_one_by_one(&w, &msi, &baseline, &s.msi_property, &values);
        eprintln!("{}: {} values one per run in {:.1} s", s.msi_property, values.len(), started.elapsed().as_secs_f64());
        assert_eq!(msi_verdicts(&w, &msi, &baseline, &s.msi_property, &values), single, "{}", s.msi_property);
    }
    // An unpaired surrogate, which only the Windows API can produce.
    let mut lone: Vec<u16> = "switch.example:443".encode_utf16().collect();
    lone.insert(2, 0xD800);
    let verdicts = msi_verdicts_utf16(&w, &msi, &baseline, "SWITCH", &[lone]);
    match &verdicts[0] {
        Some(Err(why)) => assert!(why.contains("unpaired UTF-16 surrogate"), "{why}"),
        other => panic!("an unpaired surrogate: {other:?}"),
    }
}

#[test]
fn a_planted_disagreement_is_caught() {
    let m = manifest();
    let msi = x64_msi();
    let w = Prefix::new();
    let setting = m.setting("HeartbeatIntervalSeconds").unwrap().clone();
    let SettingType::Integer { min, max } = setting.kind else { panic!("HeartbeatIntervalSeconds is an integer") };
    // The package's rules, with one maximum moved up by one.
    let rules: Vec<serde_json::Value> = m
        .settings_on(Platform::Windows)
        .map(|s| {
            let kind = if s.name == setting.name { SettingType::Integer { min, max: max + 1 } } else { s.kind.clone() };
            serde_json::json!({"property": s.msi_property, "name": s.name, "secret": s.secret, "kind": kind})
        })
        .collect();
    let mut baseline = default_baseline(&m);
    let values: Vec<Vec<u8>> = [min - 1, min, max, max + 1, max + 2].iter().map(|n| n.to_string().into_bytes()).collect();
    let honest = msi_verdicts(&w, &msi, &baseline, &setting.msi_property, &values);
    assert!(disagreements(&setting.kind, &values, &honest).is_empty());
    baseline.push(("OmnipackAnswerRules".into(), serde_json::to_string(&rules).unwrap()));
    let planted = msi_verdicts(&w, &msi, &baseline, &setting.msi_property, &values);
    let found = disagreements(&setting.kind, &values, &planted);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains(&format!("{:?}", (max + 1).to_string())), "{}", found[0]);
}

fn objdump(triple: &str, dll: &Path, flag: &str) -> String {
    let prefix = triple.replace("-pc-windows-gnu", "-w64-mingw32");
    ok(tool(format!("{prefix}-objdump")).arg(flag).arg(dll))
}

/// The MSI carries the DLL of its own architecture, signed, with the one
/// undecorated export msi.dll looks up, importing only system DLLs (no
/// libgcc_s or libwinpthread next to it). The i686 DLL cannot run here (no
/// wine32): objdump is all it gets.
#[test]
fn each_msi_carries_its_architectures_dll_with_one_export_and_system_imports() {
    let dist = dist_windows();
    let tmp = tempfile::tempdir().unwrap();
    for (arch, triple, format) in [("x64", "x86_64-pc-windows-gnu", "pei-x86-64"), ("x86", "i686-pc-windows-gnu", "pei-i386")] {
        let msi = dist.join(format!("outpost-2.1.0-{arch}.msi"));
        let dll = tmp.path().join(format!("{arch}.dll"));
        let out = run(tool("msiinfo").arg("extract").arg(&msi).arg("Binary.OmnipackCA"));
        assert!(out.status.success() && out.stdout.starts_with(b"MZ"), "{arch}: {}", text(&out));
        std::fs::write(&dll, &out.stdout).unwrap();
        assert_contains(&objdump(triple, &dll, "-f"), &format!("file format {format}"));
        let p = objdump(triple, &dll, "-p");
        let exports: Vec<&str> = p
            .lines()
            .skip_while(|l| !l.starts_with("[Ordinal/Name Pointer] Table"))
            .skip(1)
            .take_while(|l| l.trim_start().starts_with('['))
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(exports, ["CheckAnswers"], "{arch}:\n{p}");
        let imports: Vec<String> = p.lines().filter_map(|l| l.trim().strip_prefix("DLL Name: ")).map(str::to_ascii_lowercase).collect();
        assert!(imports.contains(&"msi.dll".to_string()), "{arch}: {imports:?}");
        for i in &imports {
            let system = ["kernel32.dll", "msi.dll", "ntdll.dll", "msvcrt.dll", "bcryptprimitives.dll", "userenv.dll", "ws2_32.dll"].contains(&i.as_str())
                || i.starts_with("api-ms-win-");
            assert!(system, "{arch}: imports {i}: {imports:?}");
        }
        let verified = run(tool("osslsigncode").arg("verify").arg("-CAfile").arg(test_authenticode_ca()).arg("-in").arg(&dll));
        assert!(verified.status.success(), "{arch}: the DLL is not signed:\n{}", text(&verified));
        eprintln!("{arch}: OmnipackCA is {} bytes", out.stdout.len());
    }
    // The action's rows: a DLL call from the Binary table, immediate, its
    // failure fatal, after the defaults and before the refusal, never on
    // uninstall; the old condition-expression actions are gone.
    let msi = dist.join("outpost-2.1.0-x64.msi");
    let actions = ok(tool("msiinfo").args(["export"]).arg(&msi).arg("CustomAction"));
    assert!(actions.lines().any(|l| l == "CheckAnswers\t1\tOmnipackCA\tCheckAnswers\t"), "{actions}");
    assert!(!actions.contains("Invalid."), "{actions}");
    for table in ["InstallExecuteSequence", "InstallUISequence"] {
        let seq = ok(tool("msiinfo").args(["export"]).arg(&msi).arg(table));
        assert!(seq.lines().any(|l| l == "CheckAnswers\tNOT (REMOVE~=\"ALL\")\t600"), "{table}:\n{seq}");
        assert!(seq.lines().any(|l| l == "RefuseInvalidSettings\tINVALIDSETTINGS\t700"), "{table}:\n{seq}");
    }
    let props = ok(tool("msiinfo").args(["export"]).arg(&msi).arg("Property"));
    let rules = props.lines().find_map(|l| l.strip_prefix("OmnipackAnswerRules\t")).expect("OmnipackAnswerRules");
    let rules: Vec<serde_json::Value> = serde_json::from_str(rules).unwrap();
    assert_eq!(rules.len(), manifest().settings_on(Platform::Windows).count());
    assert_eq!(rules[0]["kind"]["type"], "host_port");
}

/// Issue 13.6: the documented `%ProgramData%\Outpost\Temp` passes
/// CheckAnswers and reaches installer.conf as typed (in formatted text only
/// `[%Name]` names a variable; a bare `%Name%` is literal, and a property's
/// value is not formatted again), where the agent accepts it and expands it
/// to the folder it uses; a relative folder is refused before anything changes.
#[test]
fn temporary_directory_with_program_data_is_accepted_written_as_typed_and_expanded() {
    const AGENT: &str = r"C:\Program Files\Outpost\outpost-agent.exe";
    const ANSWERS: &str = r"C:\ProgramData\Outpost\installer.conf";
    let msi = x64_msi().display().to_string();
    let w = Prefix::new();
    for relative in [r"Outpost\Temp", r"%TEMP%\Outpost", r"%ProgramData%"] {
        let m = w.msiexec(&["/i", &msi, "/qn", &format!("TEMPORARYDIRECTORY={relative}")]);
        m.expect_code(1603);
        assert_eq!(m.failed_action().as_deref(), Some("RefuseInvalidSettings"), "{relative}:\n{m}");
        assert!(m.log_has("CheckAnswers: refused TemporaryDirectory ("), "{relative}:\n{m}");
    }
    assert!(products(&w).is_empty());
    let m = w.msiexec(&["/i", &msi, "/qn", r"TEMPORARYDIRECTORY=%ProgramData%\Outpost\Temp"]);
    m.expect_code(0);
    let answers = std::fs::read_to_string(w.host(ANSWERS)).expect("installer.conf written");
    assert!(answers.lines().any(|l| l.trim() == r"TemporaryDirectory=%ProgramData%\Outpost\Temp"), "{answers}");
    let check = w.wine(&[AGENT, "config", "check", ANSWERS], &[]);
    assert!(check.status.success() && text(&check).contains(": OK ("), "config check: {}", text(&check));
    // The running service's choice: the default folder, spelled otherwise.
    let expected = r"TemporaryDirectory: C:\ProgramData\Outpost\Temp (configured `%ProgramData%\Outpost\Temp`, the default";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        let out = text(&w.wine(&[AGENT, "status"], &[]));
        if out.contains(expected) || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert!(status.contains(expected), "status:\n{status}");
    assert!(w.host(r"C:\ProgramData\Outpost\Temp").is_dir());
}
