//! The installer-answers shell library every Unix package runs before it
//! unpacks (deb preinst, rpm %pre, pkg preinstall): it gathers answers from
//! the staged file, a legacy client's settings and environment variables,
//! checks them against the schema, and refuses a bad value before anything
//! changes. Rendered from `templates/posix/answers.sh`; POSIX sh with only
//! the tools both GNU and BSD userlands have, since macOS runs it too.

use outpost_manifest::{Manifest, Platform, SettingType};
use serde::Serialize;
use tera::Context;

use crate::packager::PackageError;
use crate::templates::render;

/// Strings we embed in single-quoted shell words must not contain a quote.
pub fn sh_safe(what: &str, s: &str) -> Result<(), PackageError> {
    if s.contains('\'') || s.contains('\n') {
        return Err(PackageError::Refused(format!(
            "{what} `{s}` cannot contain a quote or newline (it is embedded in shell scripts)"
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct LegacySource {
    file: String,
    re: String,
    key: String,
}

#[derive(Serialize)]
struct SettingView {
    name: String,
    re: String,
    env: String,
    /// `op_check`'s arguments after the value: the schema's rule.
    rule: String,
    legacy: Vec<LegacySource>,
}

fn ere_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if ".[]()*+?{}|^$\\".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `op_check`'s arguments after NAME SOURCE VALUE for a setting type: the
/// rule of `outpost_manifest::rule` as shell words (see `answers.sh`).
pub fn rule_args(kind: &SettingType, platform: Platform) -> Result<String, PackageError> {
    let rule = kind.rule(platform);
    let canon = match kind {
        SettingType::Bool => "bool",
        SettingType::Integer { .. } => "integer",
        SettingType::Enum { .. } => "enum",
        SettingType::String { .. } => "string",
        _ => "text",
    };
    let (min, max) = rule.range.unwrap_or((0, 0));
    let mut words = vec![
        canon.to_string(),
        rule.max_bytes.to_string(),
        u8::from(rule.empty_ok).to_string(),
        rule.pattern.unwrap_or_default(),
        min.to_string(),
        max.to_string(),
        kind.allowed(platform),
    ];
    if let SettingType::Enum { values } = kind {
        words.extend(values.iter().cloned());
    }
    for w in &words {
        sh_safe("a setting's rule", w)?;
    }
    Ok(words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "))
}

/// The context every installer script for `platform` renders with (deb, rpm, pkg), including the
/// installer-answers library already rendered as `answers`.
pub fn script_context(m: &Manifest, platform: Platform, unit: &str) -> Result<Context, PackageError> {
    let layout = m.layout(platform);
    check_layout(layout, platform)?;
    let mut ctx = Context::new();
    ctx.insert("product", &serde_json::json!({ "id": m.product.id, "name": m.product.name }));
    ctx.insert(
        "layout",
        &serde_json::json!({
            "binary": layout.binary,
            "answers_file": layout.answers_file,
            "staged_answers": layout.staged_answers,
            "state_dir": layout.state_dir,
            "log_dir": layout.log_dir,
            "config_file": layout.config_file,
        }),
    );
    ctx.insert(
        "env_prefix",
        &format!("{}_", m.product.id.to_ascii_uppercase().replace('-', "_")),
    );
    ctx.insert("settings", &setting_views(m, platform)?);
    // printf escapes of every byte above ASCII, for a bracket expression.
    ctx.insert("high_bytes", &(0o200..=0o377).map(|b| format!("\\{b:o}")).collect::<String>());
    // The answers file is world-readable unless it holds a secret: an ERE
    // for the secret settings' `Name=` lines with a value.
    let secrets: Vec<String> = m
        .settings_on(platform)
        .filter(|s| s.secret)
        .map(|s| ere_escape(&s.name))
        .collect();
    ctx.insert("secret_re", &secrets.join("|"));
    ctx.insert("platform", platform.as_str());
    ctx.insert("unit", unit);
    ctx.insert("legacy_units", &legacy_units(m, platform)?);
    ctx.insert("version", &format!("{}-{}", m.product.version, m.product.revision));
    let config_dir = std::path::Path::new(&layout.config_file)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    ctx.insert("config_dir", &config_dir);
    let tmp = m
        .setting("TemporaryDirectory")
        .and_then(|s| s.default_for(platform))
        .unwrap_or_default();
    sh_safe("settings[TemporaryDirectory].default", tmp)?;
    ctx.insert("default_tmp", tmp);
    let answers = render("posix/answers.sh", &ctx)?;
    ctx.insert("answers", &answers);
    Ok(ctx)
}

/// Every layout path the scripts embed in single quotes.
fn check_layout(layout: &outpost_manifest::Layout, platform: Platform) -> Result<(), PackageError> {
    for (what, v) in [
        (format!("layout.{platform}.binary"), &layout.binary),
        (format!("layout.{platform}.answers_file"), &layout.answers_file),
        (format!("layout.{platform}.staged_answers"), &layout.staged_answers),
        (format!("layout.{platform}.state_dir"), &layout.state_dir),
        (format!("layout.{platform}.log_dir"), &layout.log_dir),
        (format!("layout.{platform}.config_file"), &layout.config_file),
    ] {
        sh_safe(&what, v)?;
    }
    Ok(())
}

/// The settings on `platform` as the answers library checks them.
fn setting_views(m: &Manifest, platform: Platform) -> Result<Vec<SettingView>, PackageError> {
    let mut settings = Vec::new();
    for s in m.settings_on(platform) {
        if let SettingType::Enum { values } = &s.kind {
            for v in values {
                sh_safe(&format!("settings[{}].values", s.name), v)?;
            }
        }
        settings.push(SettingView {
            name: s.name.clone(),
            re: ere_escape(&s.name),
            env: s.env_var(&m.product.id),
            rule: rule_args(&s.kind, platform)?,
            legacy: legacy_sources(m, platform, &s.name)?,
        });
    }
    Ok(settings)
}

/// The legacy clients' config files (and keys in them) that carry
/// `setting` over on `platform`.
fn legacy_sources(m: &Manifest, platform: Platform, setting: &str) -> Result<Vec<LegacySource>, PackageError> {
    let mut legacy = Vec::new();
    for l in &m.legacy {
        let file = match platform {
            Platform::Linux => l.linux.as_ref().and_then(|x| x.config_file.as_ref()),
            Platform::Macos => l.macos.as_ref().and_then(|x| x.config_file.as_ref()),
            Platform::Windows => None,
        };
        let Some(file) = file else {
            continue;
        };
        for (from, to) in &l.carry {
            if to == setting {
                sh_safe(&format!("legacy[{}].{platform}.config_file", l.id), file)?;
                legacy.push(LegacySource {
                    file: file.clone(),
                    re: ere_escape(from),
                    key: from.clone(),
                });
            }
        }
    }
    Ok(legacy)
}

/// The legacy clients' systemd units the scripts stop (Linux only).
fn legacy_units(m: &Manifest, platform: Platform) -> Result<Vec<String>, PackageError> {
    let mut units = Vec::new();
    for l in &m.legacy {
        if let Some(u) = l
            .linux
            .as_ref()
            .and_then(|x| x.service.as_ref())
            .filter(|_| platform == Platform::Linux)
        {
            sh_safe(&format!("legacy[{}].linux.service", l.id), u)?;
            units.push(u.clone());
        }
    }
    Ok(units)
}
