//! Settings as public properties: remembered in the registry, written to
//! the installer-answers file through IniFile rows, defaulted, validated
//! before anything is installed (`checks`), and carried over from a legacy
//! client's registry key.
//!
//! Secrets are listed in MsiHiddenProperties and never remembered: the key
//! is readable by every user, and a value there is plain text.

use outpost_manifest::{Manifest, Platform, Product, Setting};

use super::program_files::AGENT_FILE;
use super::validate::{self, NOTHING_REMEMBERED};
use super::{invalid, last_component, sequences, Builder};
use crate::msi::filename;
use crate::packager::PackageError;
use crate::windows::rows::{Binary, ComponentAttributes, IniFile, IniFileAction, Registry, RegistryRoot};

/// Each per-setting phase owns a block of 100 sequence numbers
/// (`sequences`).
pub(super) const MAX_SETTINGS: usize = 100;
/// Accumulates the settings whose values are refused (written by the
/// custom action DLL, packaging/msi-ca).
const INVALID: &str = "INVALIDSETTINGS";
/// The custom action DLL's Binary row, and the property holding its rules.
const CHECK_BINARY: &str = "OmnipackCA";
const CHECK_RULES: &str = "OmnipackAnswerRules";

/// Property names used by the remember pattern, derived from a setting's
/// position so they stay short identifiers.
fn cmd_prop(i: usize) -> String {
    format!("OPCMD{i}")
}

/// Every setting but the secrets, written to the registry by the Settings
/// component and read back by AppSearch on the next install.
pub(super) fn remember(b: &mut Builder, p: &Product, settings: &[&Setting], client: &str) -> Result<(), PackageError> {
    let key = format!("SOFTWARE\\{}\\{}\\Settings", p.vendor, p.name);
    let first = validate::first_remembered(settings).ok_or_else(|| invalid(NOTHING_REMEMBERED))?;
    // A registry key path: the first remembered value.
    b.component_with(
        "Settings",
        "INSTALLDIR",
        Some(&format!("Remember{first}")),
        ComponentAttributes::REGISTRY_KEY_PATH,
    )?;
    b.feature_component(client, "Settings")?;
    for (i, s) in settings.iter().enumerate() {
        let prop = s.msi_property.as_str();
        if s.secret {
            b.hidden.push(prop.to_string());
            continue;
        }
        b.add(Registry {
            id: format!("Remember{i}"),
            root: RegistryRoot::LOCAL_MACHINE,
            key: key.clone(),
            name: s.name.clone(),
            value: format!("[{prop}]"),
            component: "Settings".into(),
        })?;
        b.search_registry(prop, &format!("Remembered{i}"), &key, &s.name)?;
        // Order (both sequences): keep an explicit value (command line or
        // transform) across AppSearch, which would overwrite it with the
        // remembered one; then a legacy client's value; then the default.
        let cmd = cmd_prop(i);
        b.set_property(
            &format!("Keep{i}"),
            &cmd,
            &format!("[{prop}]"),
            prop,
            sequences::KEEP + i as i32,
        )?;
        b.set_property(
            &format!("Restore{i}"),
            prop,
            &format!("[{cmd}]"),
            &cmd,
            sequences::RESTORE + i as i32,
        )?;
    }
    Ok(())
}

/// The installer-answers file's long name, in DATADIR.
fn answers_name(m: &Manifest) -> &str {
    last_component(&m.layout(Platform::Windows).answers_file)
}

/// The installer-answers file's `FileName` (short|long).
pub(super) fn answers_file(m: &Manifest) -> Result<String, PackageError> {
    Ok(filename::file_name(answers_name(m), "DATADIR")?)
}

/// Every setting's value, one line each, in the installer-answers file.
pub(super) fn answers(b: &mut Builder, m: &Manifest, settings: &[&Setting], client: &str) -> Result<(), PackageError> {
    b.component("Answers", "DATADIR", None)?;
    b.feature_component(client, "Answers")?;
    let file_name = answers_file(m)?;
    for (i, s) in settings.iter().enumerate() {
        b.add(IniFile {
            id: format!("Answer{i}"),
            file_name: file_name.clone(),
            directory: "DATADIR".into(),
            section: "Settings".into(),
            key: s.name.clone(),
            value: format!("[{}]", s.msi_property),
            action: IniFileAction::ADD_LINE,
            component: "Answers".into(),
        })?;
    }
    Ok(())
}

/// A setting still empty after the remembered and legacy values takes the
/// manifest's Windows default (`validate` refused defaults that would not
/// stay literal).
pub(super) fn defaults(b: &mut Builder, settings: &[&Setting]) -> Result<(), PackageError> {
    for (i, s) in settings.iter().enumerate() {
        let default = s.default_for(Platform::Windows).unwrap_or_default();
        if !default.is_empty() {
            let prop = &s.msi_property;
            b.set_property(
                &format!("Default{i}"),
                prop,
                default,
                &format!("NOT {prop}"),
                sequences::DEFAULT + i as i32,
            )?;
        }
    }
    Ok(())
}

/// Every setting's property checked before anything is installed, by the
/// same Rust rule the agent runs: the DLL custom action `CheckAnswers`
/// (after the defaults at 500+, at 600, in both sequences) reads the rules
/// from the `OmnipackAnswerRules` property and appends each refusal to
/// INVALIDSETTINGS, which `RefuseInvalidSettings` (700) turns into an error.
/// Not on uninstall: a stale remembered value must not block a removal.
///
/// Then the agent checks the answers it will run with, inside the
/// transaction (`CheckSettings`, deferred): a failure rolls the whole
/// install back.
pub(super) fn checks(b: &mut Builder, m: &Manifest, settings: &[&Setting], check_dll: &[u8]) -> Result<(), PackageError> {
    let rules: Vec<serde_json::Value> = settings
        .iter()
        .map(|s| serde_json::json!({"property": s.msi_property, "name": s.name, "secret": s.secret, "kind": s.kind}))
        .collect();
    b.prop(CHECK_RULES, &serde_json::Value::Array(rules).to_string())?;
    b.add(Binary {
        name: CHECK_BINARY.into(),
        data: check_dll.to_vec(),
    })?;
    b.custom_action("CheckAnswers", sequences::DLL, CHECK_BINARY, "CheckAnswers")?;
    b.both("CheckAnswers", Some("NOT (REMOVE~=\"ALL\")"), sequences::CHECK_ANSWERS)?;
    b.custom_action(
        "RefuseInvalidSettings",
        sequences::ERROR,
        "",
        &format!("Invalid installer properties, nothing was installed: [{INVALID}]"),
    )?;
    b.both("RefuseInvalidSettings", Some(INVALID), sequences::REFUSE_INVALID)?;
    let command = format!("config check \"[DATADIR]{}\"", answers_name(m));
    b.custom_action("CheckSettings", sequences::EXE_DEFERRED_SYSTEM, AGENT_FILE, &command)
}

/// A legacy client's settings, read from its registry key, for the settings
/// still empty after the remembered values.
pub(super) fn legacy(b: &mut Builder, m: &Manifest, settings: &[&Setting]) -> Result<(), PackageError> {
    let mut n = 0;
    for l in &m.legacy {
        let Some(key) = l.windows.as_ref().and_then(|w| w.registry_key.as_ref()) else {
            continue;
        };
        for (from, to) in &l.carry {
            let Some(s) = settings.iter().find(|s| &s.name == to) else {
                continue;
            };
            let legacy_prop = format!("LEGACYVALUE{n}");
            b.search_registry(&legacy_prop, &format!("Legacy{n}"), key, from)?;
            let prop = &s.msi_property;
            let condition = format!("NOT {prop} AND {legacy_prop}");
            b.set_property(
                &format!("Legacy{n}"),
                prop,
                &format!("[{legacy_prop}]"),
                &condition,
                sequences::LEGACY + n,
            )?;
            if s.secret {
                b.hidden.push(legacy_prop.clone());
            }
            b.secure.push(legacy_prop);
            n += 1;
        }
    }
    Ok(())
}
