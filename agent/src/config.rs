//! Layered configuration. From lowest to highest precedence: the schema's
//! built-in default, the package's shipped defaults file (replaced by every
//! upgrade), the installer's answers, and the administrator's file (neither of
//! which an upgrade overwrites), and on macOS the managed preferences an MDM
//! configuration profile enforces.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use outpost_manifest::settings_file;
use serde::Serialize;

use crate::managed;
use crate::paths::{display, Paths};
use crate::schema::manifest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    BuiltIn,
    Defaults,
    Answers,
    Admin,
    Managed,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::BuiltIn => "built-in default",
            Source::Defaults => "shipped defaults file",
            Source::Answers => "installer answers",
            Source::Admin => "administrator's file",
            Source::Managed => "managed preferences (MDM profile)",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Value {
    pub name: String,
    pub value: String,
    pub source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip)]
    pub secret: bool,
}

#[derive(Debug, Serialize)]
pub struct LayerReport {
    pub source: Source,
    pub file: String,
    /// `missing`, `loaded`, or `unreadable`.
    pub state: &'static str,
    pub settings: usize,
}

#[derive(Debug, Serialize)]
pub struct Effective {
    pub settings: Vec<Value>,
    pub layers: Vec<LayerReport>,
    /// Entries that were ignored, each naming file, line, key and reason.
    pub problems: Vec<String>,
}

impl Effective {
    pub fn get(&self, name: &str) -> &str {
        self.settings
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
            .unwrap_or_else(|| panic!("setting {name} is not in the schema for this platform"))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == "true"
    }

    pub fn int(&self, name: &str) -> i64 {
        // Values were canonicalised against the schema when loaded.
        self.get(name).parse().unwrap_or_default()
    }

    /// Every setting as `config show` and the `settings` instruction report
    /// it: a secret that is set shows as `********`.
    pub fn masked(&self) -> Vec<Value> {
        self.settings
            .iter()
            .map(|v| Value {
                value: if v.secret && !v.value.is_empty() {
                    "********".into()
                } else {
                    v.value.clone()
                },
                name: v.name.clone(),
                source: v.source,
                file: v.file.clone(),
                secret: v.secret,
            })
            .collect()
    }
}

pub fn load(paths: &Paths) -> Effective {
    let m = manifest();
    let mut values: BTreeMap<&str, Value> = BTreeMap::new();
    for s in m.settings_on(paths.platform) {
        let value = s.default_for(paths.platform).unwrap_or_default().to_string();
        values.insert(
            &s.name,
            Value {
                name: s.name.clone(),
                value,
                source: Source::BuiltIn,
                file: None,
                secret: s.secret,
            },
        );
    }
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    let files = [
        (Source::Defaults, paths.defaults_file()),
        (Source::Answers, paths.answers_file()),
        (Source::Admin, paths.config_file()),
    ];
    let mut sources: Vec<(Source, std::path::PathBuf)> = files.into();
    if let Some(p) = paths.managed_preferences() {
        sources.push((Source::Managed, p));
    }
    for (source, path) in sources {
        let file = display(&path);
        let read = match source {
            Source::Managed => managed::read(&path),
            _ => std::fs::read_to_string(&path).map(|text| {
                let (entries, syntax) = settings_file::parse(&text);
                let entries = entries
                    .into_iter()
                    .map(|e| (format!(":{}", e.line), e.name, e.value))
                    .collect();
                (entries, syntax.iter().map(|e| e.describe(&file)).collect())
            }),
        };
        let (entries, syntax): (Vec<(String, String, String)>, Vec<String>) = match read {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                layers.push(LayerReport {
                    source,
                    file,
                    state: "missing",
                    settings: 0,
                });
                continue;
            }
            Err(e) => {
                problems.push(format!("{file}: cannot read: {e}"));
                layers.push(LayerReport {
                    source,
                    file,
                    state: "unreadable",
                    settings: 0,
                });
                continue;
            }
        };
        problems.extend(syntax);
        let mut applied = 0;
        for (at, name, value) in entries {
            match m.check_setting(paths.platform, &name, &value) {
                Ok(canonical) => {
                    let v = values.get_mut(name.as_str()).expect("checked against the same schema");
                    v.value = canonical;
                    v.source = source;
                    v.file = Some(file.clone());
                    applied += 1;
                }
                Err(reason) => problems.push(format!("{file}{at}: key `{name}`: {reason} (ignored)")),
            }
        }
        layers.push(LayerReport {
            source,
            file,
            state: "loaded",
            settings: applied,
        });
    }
    // Keep the manifest's order: it groups related settings.
    let mut settings = Vec::new();
    for s in m.settings_on(paths.platform) {
        settings.push(values.remove(s.name.as_str()).expect("inserted above"));
    }
    Effective {
        settings,
        layers,
        problems,
    }
}

pub fn show(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let mut eff = load(paths);
    eff.settings = eff.masked();
    if json {
        println!("{}", serde_json::to_string_pretty(&eff)?);
    } else {
        print!("{}", table(&eff));
    }
    for p in &eff.problems {
        eprintln!("warning: {p}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The text of `config show`: name, value, origin in aligned columns. A
/// long value is printed whole but not padded to (padding to a 100 KB value
/// would be useless, and a width over 65,535 panics in `format!`).
fn table(eff: &Effective) -> String {
    use std::fmt::Write;
    const MAX_PAD: usize = 60;
    let w = eff.settings.iter().map(|v| v.name.len()).max().unwrap_or(0).min(MAX_PAD);
    let vw = eff
        .settings
        .iter()
        .map(|v| v.value.chars().count())
        .filter(|n| *n <= MAX_PAD)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in &eff.settings {
        let origin = match &v.file {
            Some(f) => format!("{} ({f})", v.source.label()),
            None => v.source.label().to_string(),
        };
        let _ = writeln!(out, "{:w$}  {:vw$}  {origin}", v.name, v.value);
    }
    for l in &eff.layers {
        let _ = writeln!(out, "# layer {}: {} [{}]", l.source.label(), l.file, l.state);
    }
    out
}

pub fn check_file(file: &Path) -> anyhow::Result<ExitCode> {
    let name = display(file);
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: cannot read: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let platform = outpost_manifest::Platform::current();
    match settings_file::check(manifest(), platform, &text) {
        Ok(entries) => {
            println!("{name}: OK ({} settings)", entries.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in errors {
                eprintln!("{}", e.describe(&name));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_manifest::Platform;

    /// A macOS layout under a temporary root, with `admin` as the
    /// administrator's file and `managed` (a plist) as the MDM layer.
    fn macos(admin: &str, managed: Option<plist::Value>) -> (tempfile::TempDir, Effective) {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Macos).unwrap();
        let cfg = paths.config_file();
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, admin).unwrap();
        if let Some(v) = managed {
            let p = paths.managed_preferences().unwrap();
            assert!(
                p.ends_with("Library/Managed Preferences/com.outpost.client.plist"),
                "{}",
                p.display()
            );
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            // The system writes managed preferences as binary plists.
            v.to_file_binary(&p).unwrap();
        }
        let eff = load(&paths);
        (root, eff)
    }

    fn dict(pairs: &[(&str, plist::Value)]) -> plist::Value {
        plist::Value::Dictionary(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn value<'a>(eff: &'a Effective, name: &str) -> &'a Value {
        eff.settings.iter().find(|v| v.name == name).unwrap()
    }

    #[test]
    fn managed_preferences_win_over_the_administrators_file() {
        let managed = dict(&[
            ("Switch", "mdm.example.com:8443".into()),
            ("Module.Platform.Enabled", false.into()),
            ("DefaultStaggerRangeSeconds", plist::Value::Integer(120.into())),
            ("PayloadUUID", "5A0C1C52-0000-5000-8000-000000000000".into()),
        ]);
        let (_root, eff) = macos("[Settings]\nSwitch=admin.example.com:443\nLogLevel=debug\n", Some(managed));
        assert_eq!(eff.problems, Vec::<String>::new());
        let switch = value(&eff, "Switch");
        assert_eq!(
            (switch.value.as_str(), switch.source),
            ("mdm.example.com:8443", Source::Managed)
        );
        assert_eq!(value(&eff, "Module.Platform.Enabled").value, "false");
        assert_eq!(value(&eff, "DefaultStaggerRangeSeconds").value, "120");
        // What the profile does not set stays with the lower layers.
        assert_eq!(value(&eff, "LogLevel").source, Source::Admin);
        let layer = eff.layers.iter().find(|l| l.source == Source::Managed).unwrap();
        assert_eq!((layer.state, layer.settings), ("loaded", 3));
    }

    #[test]
    fn bad_managed_values_are_ignored_with_the_key_and_reason() {
        let managed = dict(&[
            ("Switch", "no-port".into()),
            ("Unknown.Key", "x".into()),
            ("LogLevel", plist::Value::Array(vec![])),
            // A newline in a profile value cannot add a setting.
            ("TemporaryDirectory", "/tmp\nLogFile=/etc/passwd".into()),
        ]);
        let (_root, eff) = macos("[Settings]\nSwitch=admin.example.com:443\n", Some(managed));
        assert_eq!(value(&eff, "Switch").value, "admin.example.com:443");
        assert_ne!(value(&eff, "LogFile").value, "/etc/passwd");
        assert_ne!(value(&eff, "TemporaryDirectory").source, Source::Managed);
        let all = eff.problems.join("\n");
        for needle in [
            "key `Switch`",
            "key `Unknown.Key`",
            "key `LogLevel`: a array is not a setting value",
            "key `TemporaryDirectory`: a value must be a single line without control characters",
        ] {
            assert!(all.contains(needle), "{needle} not in:\n{all}");
        }
        assert!(all.contains("com.outpost.client.plist"), "{all}");
    }

    #[test]
    fn a_mac_without_a_profile_reports_the_layer_missing() {
        let (_root, eff) = macos("[Settings]\n", None);
        let layer = eff.layers.iter().find(|l| l.source == Source::Managed).unwrap();
        assert_eq!(layer.state, "missing");
        let unreadable = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(unreadable.path().to_path_buf()), Platform::Macos).unwrap();
        let p = paths.managed_preferences().unwrap();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "not a plist").unwrap();
        let eff = load(&paths);
        assert!(
            eff.problems.iter().any(|p| p.contains("not a property list")),
            "{:?}",
            eff.problems
        );
    }

    /// The profile omnipack writes (tests/golden, checked against `omnipack
    /// mobileconfig` by tests/macos_profile.rs), as macOS would store it.
    #[test]
    fn omnipacks_sample_profile_reads_back_as_every_default() {
        let profile =
            plist::Value::from_reader_xml(&include_bytes!("../../tests/golden/outpost-sample.mobileconfig")[..]).unwrap();
        let payload = profile.as_dictionary().unwrap()["PayloadContent"].as_array().unwrap()[0].clone();
        assert_eq!(
            payload.as_dictionary().unwrap()["PayloadType"].as_string(),
            Some("com.outpost.client")
        );
        let (_root, eff) = macos("[Settings]\n", Some(payload));
        assert_eq!(eff.problems, Vec::<String>::new());
        for s in manifest().settings_on(Platform::Macos).filter(|s| !s.secret) {
            let v = value(&eff, &s.name);
            assert_eq!(
                (v.value.as_str(), v.source),
                (s.default_for(Platform::Macos).unwrap(), Source::Managed),
                "{}",
                s.name
            );
        }
    }

    /// `config show` and `config check` never panic, whatever the files hold:
    /// seeded random files of settings-like lines, bytes, huge values,
    /// sections and duplicates, in every layer.
    #[test]
    fn show_and_check_never_panic_on_any_file() {
        let mut rng = fastrand::Rng::with_seed(0x0c0f_f1e5);
        let names: Vec<&str> = manifest().settings.iter().map(|s| s.name.as_str()).collect();
        let pieces = [
            "[Settings]",
            "[Other]",
            "[",
            "=",
            ";",
            "#",
            "\u{0}",
            "\r",
            "é",
            "\u{feff}",
            " ",
            "*",
            "Switch=a:1\nSwitch=b:2",
        ];
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Linux).unwrap();
        let files = [paths.defaults_file(), paths.answers_file(), paths.config_file()];
        for f in &files {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        }
        for round in 0..400 {
            for f in &files {
                let mut text = Vec::new();
                for _ in 0..rng.usize(0..12) {
                    match rng.u8(0..6) {
                        0 => text.extend((0..rng.usize(0..64)).map(|_| rng.u8(..))),
                        1 => text.extend_from_slice(pieces[rng.usize(0..pieces.len())].as_bytes()),
                        2 => {
                            let value =
                                "/".to_string() + &"x".repeat(if rng.u8(0..10) == 0 { 100_000 } else { rng.usize(0..80) });
                            text.extend_from_slice(format!("{}={value}", names[rng.usize(0..names.len())]).as_bytes());
                        }
                        _ => text.extend_from_slice(format!("{}={}", names[rng.usize(0..names.len())], rng.i64(..)).as_bytes()),
                    }
                    text.push(b'\n');
                }
                std::fs::write(f, &text).unwrap();
            }
            let mut eff = load(&paths);
            eff.settings = eff.masked();
            let shown = table(&eff);
            assert!(shown.contains("Switch"), "round {round}");
            serde_json::to_string(&eff).unwrap();
            let text = String::from_utf8_lossy(&std::fs::read(&files[2]).unwrap()).into_owned();
            let _ = settings_file::check(manifest(), Platform::Linux, &text);
        }
        // The case that used to panic: a 100 KB TemporaryDirectory (now
        // refused: paths have at most 1024 bytes), and the longest accepted.
        for len in [100_000, 1023] {
            std::fs::write(&files[2], format!("[Settings]\nTemporaryDirectory=/{}\n", "t".repeat(len))).unwrap();
            let shown = table(&load(&paths));
            assert_eq!(shown.contains(&"t".repeat(len)), len == 1023);
        }
    }

    #[test]
    fn linux_has_no_managed_layer() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::for_platform(Some(root.path().to_path_buf()), Platform::Linux).unwrap();
        assert!(paths.managed_preferences().is_none());
        assert!(!load(&paths).layers.iter().any(|l| l.source == Source::Managed));
    }
}
