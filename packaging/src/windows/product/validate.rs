//! What the MSI refuses in a manifest the manifest itself accepts: the shapes
//! of the Windows layout it can express as directories, and settings it
//! cannot carry. Checked before anything is compiled.

use outpost_manifest::{Feature, Manifest, Platform, Setting};

use super::super::conditions;
use super::settings::MAX_SETTINGS;
use crate::packager::PackageError;
use crate::target::Target;

/// The first of `refusals(m)`, if any: what `compile` would refuse.
pub fn validate(m: &Manifest) -> Result<(), PackageError> {
    match refusals(m).into_iter().next() {
        Some(refusal) => Err(PackageError::Refused(refusal)),
        None => Ok(()),
    }
}

/// Every reason the MSI cannot be built from `m`, in the order `compile`
/// meets them, without compiling anything.
pub fn refusals(m: &Manifest) -> Vec<String> {
    let mut out = layout_refusals(m);
    out.extend(file_refusals(m));
    // The manifest requires it on every Windows architecture; `compile`
    // looks for it in the target's own features.
    if !m.features_on(Platform::Windows).any(|f| f.required) {
        out.push(NO_REQUIRED_FEATURE.to_string());
    }
    let settings: Vec<&Setting> = m.settings_on(Platform::Windows).collect();
    if first_remembered(&settings).is_none() {
        out.push(NOTHING_REMEMBERED.to_string());
    }
    if settings.len() > MAX_SETTINGS {
        out.push(format!(
            "more than {MAX_SETTINGS} settings do not fit the MSI sequence layout"
        ));
    }
    for s in &settings {
        let default = s.default_for(Platform::Windows).unwrap_or_default();
        if !conditions::literal_ok(default) {
            out.push(format!(
                "settings[{}].default: `{default}` cannot be an MSI property value",
                s.name
            ));
        }
    }
    out
}

/// The MSI places program files directly under ProgramFiles[64]Folder and
/// data under CommonAppDataFolder; other shapes need directories the
/// manifest cannot name yet.
fn layout_refusals(m: &Manifest) -> Vec<String> {
    let l = m.layout(Platform::Windows);
    let install = parent(&l.binary);
    let data = parent(&l.config_file);
    let checks = [
        (
            "binary",
            &l.binary,
            install.starts_with("C:\\Program Files\\") && !install[17..].contains('\\'),
        ),
        ("defaults_file", &l.defaults_file, parent(&l.defaults_file) == install),
        (
            "config_file",
            &l.config_file,
            data.starts_with("C:\\ProgramData\\") && !data[15..].contains('\\'),
        ),
        ("answers_file", &l.answers_file, parent(&l.answers_file) == data),
        ("log_dir", &l.log_dir, parent(&l.log_dir) == data),
        ("state_dir", &l.state_dir, parent(&l.state_dir) == data),
    ];
    checks
        .into_iter()
        .filter(|(_, _, ok)| !ok)
        .map(|(what, path, _)| {
            format!(
                "layout.windows.{what} `{path}`: the MSI needs program files in one folder directly under C:\\Program Files, and data, answers, logs and state in or directly under one folder of C:\\ProgramData"
            )
        })
        .collect()
}

/// A `[[file]]` goes beside the agent: the one program folder the MSI has.
fn file_refusals(m: &Manifest) -> Vec<String> {
    let install = parent(&m.layout(Platform::Windows).binary);
    m.files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.destination(Platform::Windows).map(|d| (i, d)))
        .filter(|(_, dest)| !parent(dest).eq_ignore_ascii_case(&install))
        .map(|(i, dest)| format!("file[{i}].windows `{dest}`: the MSI installs files only in the agent's folder, {install}"))
        .collect()
}

/// The folder holding a Windows path (empty when there is none).
pub(super) fn parent(path: &str) -> String {
    path.rsplit_once('\\').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// The manifest's features the target's package carries.
pub(super) fn features_on<'m>(m: &'m Manifest, target: &Target) -> Vec<&'m Feature> {
    let arch = target.arch_word();
    m.features_on(Platform::Windows)
        .filter(|f| f.exists_on_windows_arch(arch))
        .collect()
}

pub(super) const NO_REQUIRED_FEATURE: &str = "MSI: no required feature";
pub(super) const NOTHING_REMEMBERED: &str = "MSI: every setting is secret: nothing to remember";

/// The required feature: it owns everything every install has.
pub(super) fn required_feature<'f>(features: &[&'f Feature]) -> Option<&'f Feature> {
    features.iter().copied().find(|f| f.required)
}

/// The first setting remembered in the registry: the settings component's
/// key path, so there must be one.
pub(super) fn first_remembered(settings: &[&Setting]) -> Option<usize> {
    settings.iter().position(|s| !s.secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(edit: impl Fn(String) -> String) -> Manifest {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/outpost.toml")).unwrap();
        Manifest::parse(&edit(text), "outpost.toml").unwrap()
    }

    #[test]
    fn the_product_manifest_is_refused_nothing() {
        assert_eq!(refusals(&manifest(|t| t)), Vec::<String>::new());
    }

    #[test]
    fn each_refusal_names_what_the_msi_cannot_carry() {
        let m = manifest(|t| {
            t.replace(
                r"binary = 'C:\Program Files\Outpost\",
                r"binary = 'C:\Program Files\Outpost\bin\",
            )
            .replace(
                "default = \"\"\nallow_empty = true\nmax_length = 1024\nmsi_property = \"CLIENTCERTIFICATE\"",
                "default = \"a[b]\"\nallow_empty = true\nmax_length = 1024\nmsi_property = \"CLIENTCERTIFICATE\"",
            )
        });
        let found = refusals(&m);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with(r"layout.windows.binary `C:\Program Files\Outpost\bin\outpost-agent.exe`: the MSI needs"));
        assert!(found[1].starts_with("layout.windows.defaults_file"));
        assert_eq!(
            found[2],
            "settings[ClientCertificate].default: `a[b]` cannot be an MSI property value"
        );
        let Err(PackageError::Refused(first)) = validate(&m) else {
            panic!("validate accepted it")
        };
        assert_eq!(first, found[0]);
    }
}
