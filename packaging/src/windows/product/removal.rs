//! Data folders: created on install; what the service and the installer
//! wrote is removed on uninstall; the administrator's own file as the
//! manifest's `removal.administrator_config` says.

use outpost_manifest::{ConfigOnRemoval, Manifest, Platform};

use super::{last_component, settings, Builder};
use crate::msi::filename;
use crate::packager::PackageError;
use crate::windows::rows::{CreateFolder, LockPermissionsEx, RemoveFile, RemoveFileInstallMode};

/// The state folder's ACL: full control for LocalSystem (the service) and
/// the Administrators group, inherited by everything in it, and nothing
/// inherited from %ProgramData%, which lets every user read (and create)
/// below it. The state holds the content module's endpoint token, whose
/// reader counts as this machine's agent, the device id and the caches.
pub(super) const STATE_SDDL: &str = "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

pub(super) fn data_folders(b: &mut Builder, m: &Manifest, client: &str) -> Result<(), PackageError> {
    let answers = settings::answers_file(m)?;
    let admin = match m.removal.administrator_config {
        ConfigOnRemoval::Remove => Some(filename::file_name(
            last_component(&m.layout(Platform::Windows).config_file),
            "DATADIR",
        )?),
        ConfigOnRemoval::Keep => None,
    };
    b.component("DataFolders", "DATADIR", None)?;
    b.feature_component(client, "DataFolders")?;
    for folder in ["DATADIR", "LOGDIR", "STATEDIR"] {
        b.add(CreateFolder {
            directory: folder.into(),
            component: "DataFolders".into(),
        })?;
    }
    b.add(LockPermissionsEx {
        id: "StateFolderAcl".into(),
        lock_object: "STATEDIR".into(),
        table: "CreateFolder",
        sddl: STATE_SDDL.into(),
    })?;
    // A file name or wildcard; none removes the (then empty) folder itself.
    for (key, file, folder) in [
        ("RemoveAnswers", Some(answers.as_str()), "DATADIR"),
        ("RemoveLogs", Some("*"), "LOGDIR"),
        ("RemoveLogDir", None, "LOGDIR"),
        ("RemoveState", Some("*"), "STATEDIR"),
        ("RemoveStateDir", None, "STATEDIR"),
        ("RemoveDataDir", None, "DATADIR"),
    ]
    .into_iter()
    .chain(admin.as_deref().map(|f| ("RemoveAdminConfig", Some(f), "DATADIR")))
    {
        b.add(RemoveFile {
            id: key.into(),
            component: "DataFolders".into(),
            file_name: file.map(Into::into),
            directory: folder.into(),
            mode: RemoveFileInstallMode::ON_REMOVE,
        })?;
    }
    Ok(())
}
