//! What the package installs under INSTALLDIR: the agent, the shipped
//! defaults, one marker per optional feature.

use outpost_manifest::{Feature, Manifest, Platform};

use super::{last_component, Builder};
use crate::packager::PackageError;

/// The agent executable's component: the service belongs to it.
pub(super) const AGENT_COMPONENT: &str = "Agent";
/// The agent executable's File key, which the deferred check runs.
pub(super) const AGENT_FILE: &str = "AgentExe";

/// Every program file, each its own component (its key path) in the
/// feature that installs it. `client` is the required feature.
pub(super) fn program_files(
    b: &mut Builder,
    m: &Manifest,
    features: &[&Feature],
    client: &str,
    agent: &[u8],
) -> Result<(), PackageError> {
    let layout = m.layout(Platform::Windows);
    b.component(AGENT_COMPONENT, "INSTALLDIR", Some(AGENT_FILE))?;
    b.file(
        AGENT_FILE,
        AGENT_COMPONENT,
        "INSTALLDIR",
        last_component(&layout.binary),
        agent.to_vec(),
    )?;
    b.feature_component(client, AGENT_COMPONENT)?;

    let defaults = outpost_manifest::settings_file::render_defaults(m, Platform::Windows).replace('\n', "\r\n");
    b.component("Defaults", "INSTALLDIR", Some("DefaultsConf"))?;
    b.file(
        "DefaultsConf",
        "Defaults",
        "INSTALLDIR",
        last_component(&layout.defaults_file),
        defaults.into_bytes(),
    )?;
    b.feature_component(client, "Defaults")?;

    for f in features.iter().filter(|f| !f.required) {
        let comp = format!("Feature.{}", f.msi_feature);
        let key = format!("Marker.{}", f.msi_feature);
        b.component(&comp, "FEATURESDIR", Some(&key))?;
        let text = format!("{}\r\n{}\r\n", f.title, f.description);
        b.file(&key, &comp, "FEATURESDIR", &format!("{}.feature", f.id), text.into_bytes())?;
        b.feature_component(&f.msi_feature, &comp)?;
    }
    Ok(())
}
