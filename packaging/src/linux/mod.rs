//! What the deb and rpm packages share beyond the payload: the agent's
//! library dependencies and the name of its systemd unit.

pub mod deps;

use crate::content::{Payload, Role};
use crate::packager::{BuildContext, PackageError};
use crate::target::Target;

pub struct LinuxPackage {
    pub payload: Payload,
    pub deps: deps::ElfDeps,
    /// The systemd unit's file name, which the scripts enable and start.
    pub unit: String,
}

pub fn build(ctx: &BuildContext, target: &Target) -> Result<LinuxPackage, PackageError> {
    let payload = ctx.payload(target)?;
    let deps = deps::read(&payload.one(Role::Binary).data).map_err(|e| PackageError::Invalid(e.to_string()))?;
    let unit = payload.one(Role::Service).file_name().to_string();
    Ok(LinuxPackage { payload, deps, unit })
}
