//! Upgrades: replace any earlier version, refuse to replace a newer one,
//! remove every legacy client.

use outpost_manifest::Manifest;

use super::{sequences, Builder};
use crate::packager::PackageError;
use crate::windows::rows::{Upgrade, UpgradeAttributes};

/// FindRelatedProducts' findings: earlier versions of the product (removed
/// by RemoveExistingProducts) and a newer one (refused).
const OLDER_VERSIONS: &str = "OLDERVERSIONSFOUND";
const NEWER_VERSION: &str = "NEWERVERSIONDETECTED";
/// Both, for SecureCustomProperties: set on the client side, needed on the
/// server side.
pub(super) const DETECTED: [&str; 2] = [OLDER_VERSIONS, NEWER_VERSION];

pub(super) fn upgrades(b: &mut Builder, m: &Manifest) -> Result<(), PackageError> {
    let p = &m.product;
    let version = Some(p.version.clone());
    // Below this version (exclusive), any language: removed, features
    // migrated.
    b.add(Upgrade {
        upgrade_code: p.upgrade_code.clone(),
        version_min: None,
        version_max: version.clone(),
        attributes: UpgradeAttributes::MIGRATE_FEATURES,
        action_property: OLDER_VERSIONS.into(),
    })?;
    // Above it: only detected, to refuse the downgrade below.
    b.add(Upgrade {
        upgrade_code: p.upgrade_code.clone(),
        version_min: version,
        version_max: None,
        attributes: UpgradeAttributes::ONLY_DETECT,
        action_property: NEWER_VERSION.into(),
    })?;
    // Every version of a legacy client, removed.
    let legacy_codes = m
        .legacy
        .iter()
        .flat_map(|l| l.windows.iter().flat_map(|w| w.upgrade_codes.iter()));
    for (k, code) in legacy_codes.enumerate() {
        let prop = format!("LEGACYPRODUCT{k}");
        b.add(Upgrade {
            upgrade_code: code.clone(),
            version_min: Some("0.0.0".into()),
            version_max: None,
            attributes: UpgradeAttributes::VERSION_MIN_INCLUSIVE,
            action_property: prop.clone(),
        })?;
        b.secure.push(prop);
    }
    let refusal = format!(
        "A newer version of {} is already installed; uninstall it first to go back.",
        p.name
    );
    b.custom_action("BlockDowngrade", sequences::ERROR, "", &refusal)?;
    b.both(
        "BlockDowngrade",
        Some(&format!("{NEWER_VERSION} AND NOT Installed")),
        sequences::BLOCK_DOWNGRADE,
    )
}
