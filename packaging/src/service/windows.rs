//! The service as Windows Installer's ServiceInstall / ServiceControl /
//! MsiServiceConfigFailureActions rows.

use super::ServiceSpec;
use crate::msi::{schema, ColumnDef, Database, MsiError, TableDef, Value};

const SERVICE_WIN32_OWN_PROCESS: i32 = 0x10;
const SERVICE_AUTO_START: i32 = 2;
/// SERVICE_ERROR_NORMAL, and msidbServiceInstallErrorControlVital: an
/// install that cannot register the service fails and rolls back.
const ERROR_CONTROL: i32 = 1 | 0x8000;
/// Start on install; stop on install (an upgrade replaces the running
/// binary); stop and delete on uninstall.
const EVENTS: i32 = 0x01 | 0x02 | 0x20 | 0x80;

/// Windows Installer 5's failure-actions table (restart on failure).
pub fn failure_actions_table() -> TableDef {
    TableDef::new(
        "MsiServiceConfigFailureActions",
        vec![
            ColumnDef::string("MsiServiceConfigFailureActions", 72).key(),
            ColumnDef::string("Name", 255),
            ColumnDef::int16("Event"),
            ColumnDef::int32("ResetPeriod").nullable(),
            ColumnDef::localized("RebootMessage", 255).nullable(),
            ColumnDef::string("Command", 255).nullable(),
            ColumnDef::string("Actions", 255).nullable(),
            ColumnDef::string("DelayActions", 255).nullable(),
            ColumnDef::string("Component_", 72),
        ],
    )
}

/// Adds the service rows to `db`, owned by `component`.
pub fn add(db: &mut Database, spec: &ServiceSpec, windows_name: &str, component: &str) -> Result<(), MsiError> {
    let arguments = spec.exec[1..].join(" ");
    db.insert(
        schema::service_install(),
        vec![
            "AgentService".into(),
            windows_name.into(),
            spec.display_name.as_str().into(),
            SERVICE_WIN32_OWN_PROCESS.into(),
            SERVICE_AUTO_START.into(),
            ERROR_CONTROL.into(),
            Value::Null,
            Value::Null,
            Value::Null, // LocalSystem
            Value::Null,
            arguments.into(),
            component.into(),
            spec.description.as_str().into(),
        ],
    )?;
    db.insert(
        schema::service_control(),
        vec!["AgentService".into(), windows_name.into(), EVENTS.into(), Value::Null, 1.into(), component.into()],
    )?;
    let delay = (spec.restart_delay_seconds as i64 * 1000).to_string();
    db.insert(
        failure_actions_table(),
        vec![
            "AgentServiceRestart".into(),
            windows_name.into(),
            1.into(), // on install
            86_400.into(),
            Value::Null,
            Value::Null,
            "1[~]1[~]1".into(), // SC_ACTION_RESTART three times
            format!("{delay}[~]{delay}[~]{delay}").into(),
            component.into(),
        ],
    )
}
