//! Layered configuration. From lowest to highest precedence: the schema's
//! built-in default, the package's shipped defaults file (replaced by every
//! upgrade), the installer's answers, and the administrator's file (neither of
//! which an upgrade overwrites).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use outpost_manifest::settings_file;
use serde::Serialize;

use crate::paths::{display, Paths};
use crate::schema::manifest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    BuiltIn,
    Defaults,
    Answers,
    Admin,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::BuiltIn => "built-in default",
            Source::Defaults => "shipped defaults file",
            Source::Answers => "installer answers",
            Source::Admin => "administrator's file",
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
    for (source, path) in files {
        let file = display(&path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
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
        let (entries, syntax) = settings_file::parse(&text);
        problems.extend(syntax.iter().map(|e| e.describe(&file)));
        let mut applied = 0;
        for e in entries {
            match m.check_setting(paths.platform, &e.name, &e.value) {
                Ok(canonical) => {
                    let v = values.get_mut(e.name.as_str()).expect("checked against the same schema");
                    v.value = canonical;
                    v.source = source;
                    v.file = Some(file.clone());
                    applied += 1;
                }
                Err(reason) => problems.push(format!("{file}:{}: key `{}`: {reason} (ignored)", e.line, e.name)),
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
    for v in eff.settings.iter_mut().filter(|v| v.secret && !v.value.is_empty()) {
        v.value = "********".into();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&eff)?);
    } else {
        let w = eff.settings.iter().map(|v| v.name.len()).max().unwrap_or(0);
        let vw = eff.settings.iter().map(|v| v.value.chars().count()).max().unwrap_or(0);
        for v in &eff.settings {
            let origin = match &v.file {
                Some(f) => format!("{} ({f})", v.source.label()),
                None => v.source.label().to_string(),
            };
            println!("{:w$}  {:vw$}  {origin}", v.name, v.value);
        }
        for l in &eff.layers {
            println!("# layer {}: {} [{}]", l.source.label(), l.file, l.state);
        }
    }
    for p in &eff.problems {
        eprintln!("warning: {p}");
    }
    Ok(ExitCode::SUCCESS)
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
