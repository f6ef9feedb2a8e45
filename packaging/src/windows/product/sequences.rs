//! When each action runs, and the kinds of custom action the product uses.
//!
//! Before costing, in both sequences: FindRelatedProducts (10) and the
//! downgrade refusal (11); per setting, keeping an explicit value (100+),
//! AppSearch (200), LaunchConditions (250), restoring the kept value (300+),
//! a legacy client's value (400+), the default (500+); the answer checks
//! (600, 700). Each per-setting phase owns a block of 100 numbers
//! (`settings::MAX_SETTINGS`). After costing, feature requests set their
//! enablement properties (1200+). The execute sequence then installs.

use super::Builder;
use crate::packager::PackageError;
use crate::windows::rows::CustomActionType as Ca;

/// Type 51: sets a property (`Source`) to a formatted value (`Target`).
pub(super) const SET_PROPERTY: Ca = Ca::TEXT_DATA.with(Ca::PROPERTY);
/// Type 19: stops the install with an error message (`Target`).
pub(super) const ERROR: Ca = Ca::TEXT_DATA.with(Ca::SOURCE_FILE);
/// Type 18, deferred (in the script) and in the system context: runs an
/// installed executable (`Source`, a File key) with a command line.
pub(super) const EXE_DEFERRED_SYSTEM: Ca = Ca::EXE.with(Ca::SOURCE_FILE).with(Ca::IN_SCRIPT).with(Ca::NO_IMPERSONATE);
/// Type 1: calls a DLL entry point from the Binary table (immediate).
pub(super) const DLL: Ca = Ca::DLL.with(Ca::BINARY_DATA);

pub(super) const BLOCK_DOWNGRADE: i32 = 11;
pub(super) const KEEP: i32 = 100;
pub(super) const RESTORE: i32 = 300;
pub(super) const LEGACY: i32 = 400;
pub(super) const DEFAULT: i32 = 500;
pub(super) const CHECK_ANSWERS: i32 = 600;
pub(super) const REFUSE_INVALID: i32 = 700;
/// Two numbers per feature: on, then off.
pub(super) const FEATURE_PROPERTIES: i32 = 1200;

/// The standard actions, and our deferred `CheckSettings`, in order.
pub(super) fn standard_actions(b: &mut Builder) -> Result<(), PackageError> {
    for (a, c, n) in [
        ("FindRelatedProducts", None, 10),
        ("AppSearch", None, 200),
        ("LaunchConditions", None, 250),
        ("ValidateProductID", None, 720),
        ("CostInitialize", None, 800),
        ("FileCost", None, 900),
        ("CostFinalize", None, 1000),
        ("MigrateFeatureStates", None, 1100),
    ] {
        b.both(a, c, n)?;
    }
    b.ui("ExecuteAction", None, 1300)?;
    for (a, c, n) in [
        ("InstallValidate", None, 1400),
        ("InstallInitialize", None, 1500),
        ("RemoveExistingProducts", None, 1510),
        ("ProcessComponents", None, 1600),
        ("UnpublishFeatures", None, 1800),
        ("StopServices", Some("VersionNT"), 1900),
        ("DeleteServices", Some("VersionNT"), 2000),
        ("RemoveRegistryValues", None, 2600),
        ("RemoveIniValues", None, 3100),
        ("RemoveFiles", None, 3500),
        ("RemoveFolders", None, 3600),
        ("CreateFolders", None, 3700),
        ("InstallFiles", None, 4000),
        ("WriteRegistryValues", None, 5000),
        ("WriteIniValues", None, 5100),
        ("InstallServices", Some("VersionNT"), 5800),
        ("MsiConfigureServices", Some("VersionMsi >= \"5.00\""), 5850),
        ("CheckSettings", Some("NOT REMOVE~=\"ALL\""), 5870),
        ("StartServices", Some("VersionNT"), 5900),
        ("RegisterUser", None, 6000),
        ("RegisterProduct", None, 6100),
        ("PublishFeatures", None, 6300),
        ("PublishProduct", None, 6400),
        ("InstallFinalize", None, 6600),
    ] {
        b.execute(a, c, n)?;
    }
    Ok(())
}
