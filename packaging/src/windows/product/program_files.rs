//! What the package installs under INSTALLDIR, mapped from the content
//! model: the agent, the shipped defaults, one marker per optional feature
//! (under FEATURESDIR), the manifest's `[[file]]` entries and the
//! self-validation list (inside the signed MSI, so signed with it). The other
//! roles are not files in the cabinet: the answers are IniFile rows
//! (`settings`), the data folders CreateFolder rows (`removal`), the
//! service ServiceInstall rows.

use outpost_manifest::Manifest;

use super::Builder;
use crate::content::{Entry, Payload, Role};
use crate::packager::PackageError;

/// The agent executable's component: the service belongs to it.
pub(super) const AGENT_COMPONENT: &str = "Agent";
/// The agent executable's File key, which the deferred check runs.
pub(super) const AGENT_FILE: &str = "AgentExe";

/// The payload entries that go into the cabinet, in File.Sequence order:
/// the agent, the defaults, the markers in the manifest's feature order,
/// then the manifest's `[[file]]` entries, then the self-validation list
/// (after the `[[file]]`s, so their File.Sequence is unchanged).
pub(super) fn installed<'p>(m: &Manifest, payload: &'p Payload) -> Vec<&'p Entry> {
    let entries = payload.entries();
    let mut out = vec![payload.one(Role::Binary), payload.one(Role::Defaults)];
    for f in &m.features {
        let marks = |e: &&Entry| e.role == Role::FeatureMarker && e.feature.as_deref() == Some(f.id.as_str());
        out.extend(entries.iter().copied().filter(marks));
    }
    out.extend(entries.iter().copied().filter(|e| e.role == Role::Extra));
    out.push(payload.one(Role::FileList));
    out
}

/// The bytes that make a package differ beyond the manifest, for its
/// package code: the agent, any `[[file]]`, the custom action DLL.
pub(super) fn packaged<'p>(payload: &'p Payload, check_dll: &'p [u8]) -> Vec<&'p [u8]> {
    let mut out: Vec<&[u8]> = vec![&payload.one(Role::Binary).data];
    out.extend(payload.entries().into_iter().filter(|e| e.role == Role::Extra).map(|e| &e.data[..]));
    out.push(check_dll);
    out
}

/// Every program file, each its own component (its key path) in the
/// feature that installs it. `client` is the required feature.
pub(super) fn program_files(b: &mut Builder, m: &Manifest, payload: &Payload, client: &str) -> Result<(), PackageError> {
    let mut extras = 0;
    for e in installed(m, payload) {
        let (component, key, dir, feature) = match e.role {
            Role::Binary => (AGENT_COMPONENT.to_string(), AGENT_FILE.to_string(), "INSTALLDIR", client.to_string()),
            Role::Defaults => ("Defaults".to_string(), "DefaultsConf".to_string(), "INSTALLDIR", client.to_string()),
            Role::FileList => ("FileList".to_string(), "FileListSha256".to_string(), "INSTALLDIR", client.to_string()),
            Role::FeatureMarker => {
                let id = e.feature.as_deref().unwrap_or_default();
                let f = m.feature(id).map(|f| f.msi_feature.clone()).unwrap_or_default();
                (format!("Feature.{f}"), format!("Marker.{f}"), "FEATURESDIR", f)
            }
            _ => {
                extras += 1;
                (format!("Extra{extras}"), format!("Extra{extras}"), "INSTALLDIR", client.to_string())
            }
        };
        b.component(&component, dir, Some(&key))?;
        b.file(&key, &component, dir, e.file_name(), e.data.to_vec())?;
        b.feature_component(&feature, &component)?;
    }
    Ok(())
}
