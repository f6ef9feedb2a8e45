//! Features: IDs from the manifest; optional ones follow their enablement
//! property (Condition rows), or ADDLOCAL/REMOVE directly.

use outpost_manifest::{Feature, Manifest};

use super::{sequences, Builder};
use crate::packager::PackageError;
use crate::windows::rows::{Feature as FeatureRow, FeatureAttributes, FeatureCondition};

/// INSTALLLEVEL is 1: a feature at level 1 is installed by default; one at
/// 101 only when asked for (ADDLOCAL) or when its condition brings it to 1.
const LEVEL_DEFAULT: i32 = 1;
const LEVEL_ON_REQUEST: i32 = 101;

pub(super) fn features(b: &mut Builder, m: &Manifest, features: &[&Feature]) -> Result<(), PackageError> {
    for (i, f) in features.iter().enumerate() {
        let (level, attributes) = if f.required {
            (LEVEL_DEFAULT, FeatureAttributes::UI_DISALLOW_ABSENT)
        } else {
            (LEVEL_ON_REQUEST, FeatureAttributes::FAVOR_LOCAL)
        };
        b.add(FeatureRow {
            id: f.msi_feature.clone(),
            title: f.title.clone(),
            description: f.description.clone(),
            display: (i as i32 + 1) * 2,
            level,
            directory: "INSTALLDIR".into(),
            attributes,
        })?;
        if let Some(setting) = f.enabled_by.as_ref().and_then(|n| m.setting(n)) {
            let prop = &setting.msi_property;
            b.add(FeatureCondition {
                feature: f.msi_feature.clone(),
                level: LEVEL_DEFAULT,
                condition: format!("{prop}=\"1\" OR {prop}~=\"true\""),
            })?;
        }
    }
    Ok(())
}

/// Explicit feature requests (ADDLOCAL/REMOVE) win over the properties;
/// bring the properties in line so the agent's settings agree.
pub(super) fn reconcile(b: &mut Builder, m: &Manifest, features: &[&Feature]) -> Result<(), PackageError> {
    for (j, f) in features.iter().enumerate() {
        let Some(setting) = f.enabled_by.as_ref().and_then(|n| m.setting(n)) else {
            continue;
        };
        let prop = &setting.msi_property;
        let fid = &f.msi_feature;
        let seq = sequences::FEATURE_PROPERTIES + 2 * j as i32;
        b.set_property(
            &format!("FeatureOn{j}"),
            prop,
            "true",
            &format!("&{fid}=3 OR (&{fid}<0 AND !{fid}=3)"),
            seq,
        )?;
        b.set_property(
            &format!("FeatureOff{j}"),
            prop,
            "false",
            &format!("&{fid}=2 OR (&{fid}<0 AND !{fid}<>3)"),
            seq + 1,
        )?;
    }
    Ok(())
}
