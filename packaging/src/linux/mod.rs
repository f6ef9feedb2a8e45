//! What the deb and rpm packages share: the payload, the systemd unit, the
//! installer-answers shell library and the script context. Each format only
//! maps this onto its own mechanisms.

pub mod deps;

use outpost_manifest::{settings_file, Manifest, Platform, SettingType};
use serde::Serialize;
use tera::Context;

use crate::content::Payload;
use crate::packager::{BuildContext, PackageError};
use crate::service::{systemd, ServiceSpec};
use crate::target::Target;
use crate::templates::render;

pub struct LinuxPackage {
    pub payload: Payload,
    pub deps: deps::ElfDeps,
    pub unit: String,
    pub doc_dir: String,
}

/// Strings we embed in single-quoted shell words must not contain a quote.
fn sh_safe(what: &str, s: &str) -> Result<(), PackageError> {
    if s.contains('\'') || s.contains('\n') {
        return Err(PackageError::Invalid(format!(
            "{what} `{s}` cannot contain a quote or newline (it is embedded in shell scripts)"
        )));
    }
    Ok(())
}

pub fn build(ctx: &BuildContext, target: &Target) -> Result<LinuxPackage, PackageError> {
    let m = &ctx.manifest;
    let layout = m.layout(Platform::Linux);
    let agent = ctx.agent_for(target)?;
    let deps = deps::read(&agent).map_err(PackageError::Invalid)?;
    let spec = ServiceSpec::from_manifest(m, Platform::Linux);
    let doc_dir = format!("/usr/share/doc/{}", m.product.id);

    let mut p = Payload::default();
    p.file(&layout.binary, agent, 0o755)
        .file(
            &layout.defaults_file,
            settings_file::render_defaults(m, Platform::Linux).into_bytes(),
            0o644,
        )
        .config_noreplace(
            &layout.config_file,
            settings_file::render_admin_template(m, Platform::Linux).into_bytes(),
            0o644,
        )
        .ghost(&layout.answers_file, 0o644)
        .config_noreplace(
            &format!("/etc/logrotate.d/{}", m.product.id),
            logrotate(&layout.log_dir)?.into_bytes(),
            0o644,
        )
        .file(&systemd::unit_path(&spec), systemd::render_unit(&spec)?.into_bytes(), 0o644)
        .dir(&layout.state_dir, 0o755)
        .dir(&layout.log_dir, 0o755);
    Ok(LinuxPackage {
        payload: p,
        deps,
        unit: systemd::unit_name(&spec),
        doc_dir,
    })
}

fn logrotate(log_dir: &str) -> Result<String, PackageError> {
    let mut ctx = Context::new();
    ctx.insert("log_dir", log_dir);
    Ok(render("linux/logrotate", &ctx)?)
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
    kind: &'static str,
    args: String,
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

fn quoted_args(words: &[String]) -> String {
    words.iter().map(|w| format!(" '{w}'")).collect()
}

/// The shell `op_check` type word and trailing arguments for a setting type.
pub fn check_call(kind: &SettingType) -> (&'static str, String) {
    match kind {
        SettingType::Bool => ("bool", String::new()),
        SettingType::Integer { min, max } => ("integer", format!(" {min} {max}")),
        SettingType::Enum { values } => ("enum", quoted_args(values)),
        SettingType::HostPort => ("host_port", String::new()),
        SettingType::HttpsUrl => ("https_url", String::new()),
        SettingType::AbsolutePath => ("absolute_path", String::new()),
        SettingType::String { allow_empty, max_length } => ("string", format!(" {} {max_length}", u8::from(*allow_empty))),
    }
}

/// The context every Linux maintainer script renders with, including the
/// installer-answers library already rendered as `answers`.
pub fn script_context(m: &Manifest, unit: &str) -> Result<Context, PackageError> {
    let layout = m.layout(Platform::Linux);
    for (what, v) in [
        ("layout.linux.binary", &layout.binary),
        ("layout.linux.answers_file", &layout.answers_file),
        ("layout.linux.staged_answers", &layout.staged_answers),
        ("layout.linux.state_dir", &layout.state_dir),
        ("layout.linux.log_dir", &layout.log_dir),
        ("layout.linux.config_file", &layout.config_file),
    ] {
        sh_safe(what, v)?;
    }
    let mut settings = Vec::new();
    for s in m.settings_on(Platform::Linux) {
        if let SettingType::Enum { values } = &s.kind {
            for v in values {
                sh_safe(&format!("settings[{}].values", s.name), v)?;
            }
        }
        let (kind, args) = check_call(&s.kind);
        let mut legacy = Vec::new();
        for l in &m.legacy {
            let Some(file) = l.linux.as_ref().and_then(|x| x.config_file.as_ref()) else {
                continue;
            };
            for (from, to) in &l.carry {
                if to == &s.name {
                    sh_safe(&format!("legacy[{}].linux.config_file", l.id), file)?;
                    legacy.push(LegacySource {
                        file: file.clone(),
                        re: ere_escape(from),
                        key: from.clone(),
                    });
                }
            }
        }
        settings.push(SettingView {
            name: s.name.clone(),
            re: ere_escape(&s.name),
            env: s.env_var(&m.product.id),
            kind,
            args,
            legacy,
        });
    }
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
    ctx.insert("settings", &settings);
    ctx.insert("unit", unit);
    let mut legacy_units = Vec::new();
    for l in &m.legacy {
        if let Some(u) = l.linux.as_ref().and_then(|x| x.service.as_ref()) {
            sh_safe(&format!("legacy[{}].linux.service", l.id), u)?;
            legacy_units.push(u.clone());
        }
    }
    ctx.insert("legacy_units", &legacy_units);
    ctx.insert("version", &format!("{}-{}", m.product.version, m.product.revision));
    let config_dir = std::path::Path::new(&layout.config_file)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    ctx.insert("config_dir", &config_dir);
    let tmp = m
        .setting("TemporaryDirectory")
        .and_then(|s| s.default_for(Platform::Linux))
        .unwrap_or_default();
    sh_safe("settings[TemporaryDirectory].default", tmp)?;
    ctx.insert("default_tmp", tmp);
    let answers = render("linux/answers.sh", &ctx)?;
    ctx.insert("answers", &answers);
    Ok(ctx)
}

pub const MIT_LICENSE: &str = "\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the \"Software\"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.";
