//! Windows service entry: the service control manager starts
//! `outpost-agent.exe run --service`; Stop and Shutdown raise the same stop
//! signal SIGTERM raises on Unix.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use windows_service::service::{ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::{define_windows_service, service_dispatcher};

use crate::paths::Paths;
use crate::schema::manifest;
use crate::stop::Stop;

static ROOT: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

pub fn dispatch(paths: &Paths) -> anyhow::Result<ExitCode> {
    let _ = ROOT.set(paths.root().cloned());
    service_dispatcher::start(&manifest().service.windows_name, ffi_service_main)?;
    Ok(ExitCode::SUCCESS)
}

fn service_main(_args: Vec<OsString>) {
    let stop = Stop::default();
    let on_stop = stop.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            on_stop.raise();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(handle) = service_control_handler::register(&manifest().service.windows_name, handler) else {
        return;
    };
    let status = |state, accept, code| ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: ServiceExitCode::Win32(code),
        checkpoint: 0,
        wait_hint: Duration::from_secs(10),
        process_id: None,
    };
    let _ = handle.set_service_status(status(
        ServiceState::Running,
        ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
        0,
    ));
    let code = match Paths::new(ROOT.get().cloned().flatten()).and_then(|p| crate::service::serve(&p, &stop, false)) {
        Ok(_) => 0,
        // ERROR_SERVICE_SPECIFIC_ERROR would hide the reason; the log has it.
        Err(_) => 1,
    };
    let _ = handle.set_service_status(status(ServiceState::Stopped, ServiceControlAccept::empty(), code));
}
