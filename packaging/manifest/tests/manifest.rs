use outpost_manifest::{settings_file, Manifest, ManifestError, Platform, SettingType};

const REAL: &str = include_str!("../../outpost.toml");
const FILE: &str = "packaging/outpost.toml";

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, FILE)
}

/// The real manifest with `from` replaced by `to` (exactly once).
fn edited(from: &str, to: &str) -> String {
    assert_eq!(REAL.matches(from).count(), 1, "fixture edit `{from}` must match once");
    REAL.replacen(from, to, 1)
}

fn refused(text: &str) -> ManifestError {
    match parse(text) {
        Ok(_) => panic!("manifest was accepted"),
        Err(e) => e,
    }
}

#[test]
fn real_manifest_is_valid_and_complete() {
    let m = parse(REAL).unwrap();
    let ids: Vec<&str> = m.features.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["client", "content", "platform", "pxe", "shopping", "wakeup"]);
    for name in [
        "Switch",
        "BackgroundChannelUrl",
        "DefaultStaggerRangeSeconds",
        "TemporaryDirectory",
        "LogFile",
        "LogLevel",
        "ContentDownloadTimeoutSeconds",
        "ClientCertificate",
        "ClientCertificatePassword",
        "TrustedCaFile",
        "ReconnectSpreadSeconds",
        "HeartbeatIntervalSeconds",
        "Module.Content.Enabled",
    ] {
        assert!(m.setting(name).is_some(), "{name} missing");
    }
    let linux: Vec<&str> = m.features_on(Platform::Linux).map(|f| f.id.as_str()).collect();
    assert_eq!(linux, ["client", "platform"]);
    assert!(m.settings_on(Platform::Linux).all(|s| s.name != "Module.Content.Enabled"));
    assert_eq!(
        m.setting("LogFile").unwrap().default_for(Platform::Windows),
        Some(r"C:\ProgramData\Outpost\Logs\outpost.log")
    );
    assert_eq!(
        m.setting("Module.Content.Enabled").unwrap().msi_property,
        "MODULE.CONTENT.ENABLED"
    );
    assert_eq!(
        m.setting("Module.Content.Enabled").unwrap().env_var("outpost"),
        "OUTPOST_MODULE_CONTENT_ENABLED"
    );
}

#[test]
fn unknown_key_is_refused_with_file_line_and_key() {
    let e = refused(&edited("msi_property = \"SWITCH\"", "msi_property = \"SWITCH\"\ndefualt = 1"));
    assert_eq!(e.file, FILE);
    assert_eq!(e.key, "settings[0].defualt");
    assert!(e.reason.contains("unknown field `defualt`"), "{e}");
    assert!(e.line.is_some());
    assert!(e.to_string().starts_with("packaging/outpost.toml:"), "{e}");
}

#[test]
fn wrong_type_is_refused() {
    let e = refused(&edited("revision = 1", "revision = \"one\""));
    assert_eq!(e.key, "product.revision");
    assert!(e.reason.contains("invalid type"), "{e}");
}

#[test]
fn bad_default_is_refused() {
    let e = refused(&edited(
        "default = \"switch.outpost.example:443\"",
        "default = \"switch.outpost.example\"",
    ));
    assert_eq!(e.key, "settings[Switch].default");
    assert!(e.reason.contains("not host:port"), "{e}");
    let e = refused(&edited("default = 180", "default = 100000"));
    assert_eq!(e.key, "settings[DefaultStaggerRangeSeconds].default");
    assert!(e.reason.contains("allowed: 0..=86400"), "{e}");
}

#[test]
fn feature_on_unsupported_platform_is_refused() {
    let e = refused(&edited(
        "platforms = [\"windows\"]\nmsi_feature = \"Pxe\"",
        "platforms = [\"windows\", \"linux\"]\nmsi_feature = \"Pxe\"",
    ));
    assert_eq!(e.key, "features.pxe.platforms");
    assert!(e.reason.contains("not supported on linux"), "{e}");
}

#[test]
fn per_platform_default_for_a_platform_the_feature_lacks_is_refused() {
    let e = refused(&edited("default = 30\n", "default = { windows = 30, macos = 30 }\n"));
    assert_eq!(e.key, "settings[ContentDownloadTimeoutSeconds].default.macos");
}

#[test]
fn bad_msi_property_names_are_refused() {
    for bad in ["SWITCH-HOST", "Switch", "ALLUSERS", "1SWITCH"] {
        let e = refused(&edited("msi_property = \"SWITCH\"", &format!("msi_property = \"{bad}\"")));
        assert_eq!(e.key, "settings[Switch].msi_property", "{bad}");
        assert!(e.reason.contains(bad), "{e}");
    }
}

#[test]
fn type_specific_keys_on_wrong_type_are_refused() {
    let e = refused(&edited(
        "values = [\"error\", \"warn\", \"info\", \"debug\", \"trace\"]",
        "values = [\"error\"]\nmin = 1",
    ));
    assert_eq!(e.key, "settings[LogLevel].min");
}

#[test]
fn secret_with_default_is_refused() {
    let e = refused(&edited(
        "max_length = 256\ndefault = \"\"",
        "max_length = 256\ndefault = \"hunter2\"",
    ));
    assert_eq!(e.key, "settings[ClientCertificatePassword].default");
    assert!(e.reason.contains("a secret setting must default to empty"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    // An empty default is fine for a secret.
    let m = parse(&edited(
        "default = \"\"\nallow_empty = true",
        "default = \"\"\nallow_empty = true\nsecret = true",
    ));
    assert!(m.unwrap().setting("ClientCertificate").unwrap().secret);
    let m = parse(REAL).unwrap();
    let password = m.setting("ClientCertificatePassword").unwrap();
    assert!(password.secret);
    assert!(password.feature.is_none());
    assert!(Platform::ALL.iter().all(|p| password.default_for(*p) == Some("")));
    assert_eq!(
        password.kind,
        SettingType::String {
            allow_empty: true,
            max_length: 256
        }
    );
}

#[test]
fn only_a_string_can_be_secret() {
    let e = refused(&edited("default = \"info\"", "default = \"info\"\nsecret = true"));
    assert_eq!(e.key, "settings[LogLevel].secret");
    assert_eq!(e.reason, "only a `string` setting can be secret, not `enum`");
    assert!(e.line.is_some(), "{e}");
}

/// Where `needle` starts in `text`, as the 1-based line and column.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..at];
    (
        before.matches('\n').count() + 1,
        at - before.rfind('\n').map_or(0, |i| i + 1) + 1,
    )
}

#[test]
fn allow_empty_on_a_type_that_does_not_take_it_names_file_line_and_key() {
    for (from, to, key, kind) in [
        (
            "default = 120\n",
            "default = 120\nallow_empty = true\n",
            "settings[ReconnectSpreadSeconds].allow_empty",
            "integer",
        ),
        (
            "default = \"https://switch.outpost.example/Background/\"",
            "default = \"https://switch.outpost.example/Background/\"\nallow_empty = false",
            "settings[BackgroundChannelUrl].allow_empty",
            "https_url",
        ),
        (
            "default = false\nmsi_property = \"MODULE.PXE.ENABLED\"",
            "default = false\nallow_empty = true\nmsi_property = \"MODULE.PXE.ENABLED\"",
            "settings[Module.Pxe.Enabled].allow_empty",
            "bool",
        ),
    ] {
        let text = edited(from, to);
        let e = refused(&text);
        assert_eq!(e.key, key);
        assert_eq!(e.reason, format!("not allowed for type `{kind}`"));
        let (line, col) = position(&text, &to[to.find("allow_empty").unwrap()..]);
        assert_eq!(e.line, Some((line, col)), "{e}");
        assert_eq!(
            e.to_string(),
            format!("packaging/outpost.toml:{line}:{col}: key `{key}`: not allowed for type `{kind}`")
        );
    }
    // A value of the wrong type is the parser's error, with its position.
    let text = edited(
        "allow_empty = true\ndefault = \"\"\nmsi_property = \"TRUSTEDCAFILE\"",
        "allow_empty = \"yes\"\ndefault = \"\"\nmsi_property = \"TRUSTEDCAFILE\"",
    );
    let e = refused(&text);
    assert!(e.key.ends_with(".allow_empty"), "{e}");
    assert!(e.reason.contains("invalid type"), "{e}");
    assert_eq!(
        e.line.map(|(l, _)| l),
        Some(position(&text, "allow_empty = \"yes\"").0),
        "{e}"
    );
}

#[test]
fn absolute_path_takes_allow_empty() {
    let m = parse(REAL).unwrap();
    let ca = m.setting("TrustedCaFile").unwrap();
    assert_eq!(ca.kind, SettingType::AbsolutePath { allow_empty: true });
    assert!(ca.feature.is_none() && !ca.secret);
    assert_eq!(ca.msi_property, "TRUSTEDCAFILE");
    for p in Platform::ALL {
        assert_eq!(ca.default_for(p), Some(""), "{p}");
        assert_eq!(m.check_setting(p, "TrustedCaFile", "").as_deref(), Ok(""), "{p}");
        assert!(m.check_setting(p, "TrustedCaFile", "corp-ca.pem").is_err(), "{p}");
    }
    assert!(m
        .check_setting(Platform::Linux, "TrustedCaFile", "/etc/outpost/corp-ca.pem")
        .is_ok());
    assert!(m
        .check_setting(Platform::Windows, "TrustedCaFile", r"C:\ProgramData\Outpost\corp-ca.pem")
        .is_ok());
    assert!(m.check_setting(Platform::Windows, "TrustedCaFile", r"relative\path").is_err());
    // The other absolute paths still refuse empty.
    assert_eq!(
        m.setting("LogFile").unwrap().kind,
        SettingType::AbsolutePath { allow_empty: false }
    );
    assert!(m.check_setting(Platform::Linux, "LogFile", "").is_err());
    // Without allow_empty, an empty default is refused where it is declared.
    let text = edited(
        "allow_empty = true\ndefault = \"\"\nmsi_property = \"TRUSTEDCAFILE\"",
        "default = \"\"\nmsi_property = \"TRUSTEDCAFILE\"",
    );
    let e = refused(&text);
    assert_eq!(e.key, "settings[TrustedCaFile].default");
    assert!(e.reason.contains("is not an absolute linux path"), "{e}");
    let (line, _) = position(&text, "default = \"\"\nmsi_property = \"TRUSTEDCAFILE\"");
    assert_eq!(e.line.map(|(l, _)| l), Some(line), "{e}");
}

#[test]
fn the_switch_link_settings() {
    let m = parse(REAL).unwrap();
    for (name, prop, min, max, default) in [
        ("ReconnectSpreadSeconds", "RECONNECTSPREADSECONDS", 0, 3600, "120"),
        ("HeartbeatIntervalSeconds", "HEARTBEATINTERVALSECONDS", 5, 600, "20"),
    ] {
        let s = m.setting(name).unwrap();
        assert_eq!(s.kind, SettingType::Integer { min, max }, "{name}");
        assert_eq!(s.msi_property, prop);
        assert_eq!(s.feature.as_deref(), Some("platform"));
        assert_eq!(s.default_for(Platform::Macos), Some(default));
        assert_eq!(s.env_var("outpost"), format!("OUTPOST_{prop}"));
    }
    assert!(m.check_setting(Platform::Linux, "HeartbeatIntervalSeconds", "4").is_err());
    assert!(m.check_setting(Platform::Linux, "ReconnectSpreadSeconds", "3601").is_err());
    assert_eq!(
        m.setting("ClientCertificate").unwrap().kind,
        SettingType::String {
            allow_empty: true,
            max_length: 1024
        }
    );
}

#[test]
fn value_validation_matches_the_schema() {
    let m = parse(REAL).unwrap();
    let ok = |n: &str, v: &str| m.check_setting(Platform::Linux, n, v);
    assert_eq!(ok("Switch", "sw.example.com:8443").unwrap(), "sw.example.com:8443");
    assert_eq!(ok("Switch", "[fd00::5]:443").unwrap(), "[fd00::5]:443");
    assert!(ok("Switch", "no-port").is_err());
    assert!(ok("Switch", "host:0").is_err());
    assert!(ok("Switch", "host:99999").is_err());
    assert!(ok("BackgroundChannelUrl", "http://x/")
        .unwrap_err()
        .to_string()
        .contains("https"));
    assert_eq!(ok("Module.Platform.Enabled", "1").unwrap(), "true");
    assert!(ok("Module.Platform.Enabled", "maybe")
        .unwrap_err()
        .to_string()
        .contains("allowed: true, false"));
    assert_eq!(ok("LogLevel", "DEBUG").unwrap(), "debug");
    assert!(ok("TemporaryDirectory", "tmp").is_err());
    assert!(ok("Module.Content.Enabled", "true")
        .unwrap_err()
        .to_string()
        .contains("does not exist on linux"));
    assert!(m.check_setting(Platform::Windows, "TemporaryDirectory", r"D:\x").is_ok());
    assert!(ok("switch", "a:1").unwrap_err().to_string().contains("did you mean `Switch`"));
    assert!(matches!(
        m.setting("DefaultStaggerRangeSeconds").unwrap().kind,
        SettingType::Integer { min: 0, max: 86400 }
    ));
}

#[test]
fn settings_files_parse_and_report_every_error() {
    let m = parse(REAL).unwrap();
    let text = "; comment\n[Settings]\nSwitch=a.example:443\nLogLevel = loud\nNope=1\ngarbage\nSwitch=b:1\n";
    let errs = settings_file::check(&m, Platform::Linux, text).unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5, 6, 7], "{errs:?}");
    assert!(errs[0].describe("f").starts_with("f:4: key `LogLevel`:"));
    let good = settings_file::check(&m, Platform::Linux, "[Settings]\nLogLevel=WARN\n").unwrap();
    assert_eq!(good[0].value, "warn");
}

#[test]
fn admin_template_is_stable_and_defaults_list_every_setting() {
    let m = parse(REAL).unwrap();
    let t = settings_file::render_admin_template(&m, Platform::Linux);
    assert!(t.contains("/usr/share/outpost/defaults.conf"));
    // Stable across releases: no version, no setting.
    let mut next = m.clone();
    next.product.version = "9.9.9".into();
    assert_eq!(settings_file::render_admin_template(&next, Platform::Linux), t);
    let d = settings_file::render_defaults(&m, Platform::Linux);
    assert!(d.contains("\nSwitch=switch.outpost.example:443\n"));
    assert!(d.contains("; The Switch the platform client connects to"));
    let parsed = settings_file::check(&m, Platform::Linux, &d).unwrap();
    assert_eq!(parsed.len(), m.settings_on(Platform::Linux).count());
    assert!(!t.contains("Module.Content"));
    assert_eq!(settings_file::check(&m, Platform::Linux, &t).unwrap(), vec![]);
}
