//! Which Windows the package installs on.

use super::Builder;
use crate::packager::PackageError;
use crate::windows::rows::LaunchCondition;

/// The Windows versions the product supports (shared notes,
/// platforms.md), named by every refusal below.
const SUPPORTED_WINDOWS: &str = "Windows 10, Windows 11, Windows Server 2016, Windows Server 2019 or Windows Server 2022";
/// The first build of Windows 10 (1507); 8.1 and Server 2012 R2 are 9600.
const FIRST_WINDOWS_10_BUILD: i32 = 10240;

/// No agent is shipped for Windows below 10: Rust's standard library needs
/// Windows 10 since 1.78 (it imports `ProcessPrng` from
/// bcryptprimitives.dll), so on Vista to 8.1 / Server 2008 to 2012 R2 the
/// service could not start; XP and Server 2003 (NT 5.x) are refused by the
/// product itself. Each gets its own message.
///
/// `VersionNT` tells NT 5.x from 6.x but not 8.1 from 10: msiexec is not
/// manifested for Windows 10, so Windows Installer reports `VersionNT` 603
/// and `WindowsBuild` 9600 on Windows 10 and 11. The real version comes from
/// the registry (AppSearch, 64-bit view on x64): `CurrentBuildNumber`
/// (REG_SZ, every NT; >= 10240 from Windows 10 on) and
/// `CurrentMajorVersionNumber` (REG_DWORD, read back as `#10`; Windows 10
/// and later only on Windows, though Wine writes it for every version).
/// Either one saying 10 is enough; nothing found refuses (fails closed).
///
/// Every condition starts with `Installed`: a repair, a patch or an
/// uninstall of the installed product is never blocked. LaunchConditions
/// runs right after AppSearch, before the CheckAnswers DLL, which (Rust,
/// like the agent) could not even be loaded on those systems.
pub(super) fn launch_conditions(b: &mut Builder, product: &str) -> Result<(), PackageError> {
    let key = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";
    for (signature, value, prop) in [
        ("OsBuild", "CurrentBuildNumber", "OUTPOSTOSBUILD"),
        ("OsMajor", "CurrentMajorVersionNumber", "OUTPOSTOSMAJOR"),
    ] {
        b.search_registry(prop, signature, key, value)?;
    }
    let mut refusals = vec![
        ("Installed OR VersionNT>=600".to_string(), format!("{product} cannot be installed on Windows XP or Windows Server 2003; it needs {SUPPORTED_WINDOWS}. Nothing was installed.")),
        (
            format!("Installed OR VersionNT<600 OR VersionNT>603 OR OUTPOSTOSMAJOR=\"#10\" OR OUTPOSTOSBUILD>={FIRST_WINDOWS_10_BUILD}"),
            format!("{product} needs {SUPPORTED_WINDOWS}: its service cannot run on Windows Vista to 8.1 or Windows Server 2008 to 2012 R2. Nothing was installed."),
        ),
    ];
    if b.x64 {
        refusals.push((
            "Installed OR VersionNT64".to_string(),
            format!("This package of {product} is for 64-bit Windows; use the x86 package."),
        ));
    }
    for (condition, description) in refusals {
        b.add(LaunchCondition { condition, description })?;
    }
    Ok(())
}
