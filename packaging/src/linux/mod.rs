//! What the deb and rpm packages share beyond the payload: the agent's
//! library dependencies and the name of its systemd unit.

pub mod deps;

use outpost_manifest::{Manifest, Platform};

use crate::content::{Payload, Role};
use crate::service::{systemd, ServiceSpec};
use crate::packager::{BuildContext, PackageError};
use crate::target::Target;

pub struct LinuxPackage {
    pub payload: Payload,
    pub deps: deps::ElfDeps,
    /// The systemd unit's file name, which the scripts enable and start.
    pub unit: String,
}

/// What the deb and rpm refuse in a manifest: values their scripts quote.
pub fn check(m: &Manifest) -> Result<(), PackageError> {
    let unit = systemd::unit_name(&ServiceSpec::from_manifest(m, Platform::Linux));
    crate::answers_sh::script_context(m, Platform::Linux, &unit).map(|_| ())
}

pub fn build(ctx: &BuildContext, target: &Target) -> Result<LinuxPackage, PackageError> {
    let payload = ctx.payload(target)?;
    let deps = deps::read(&payload.one(Role::Binary).data)?;
    let unit = payload.one(Role::Service).file_name().to_string();
    Ok(LinuxPackage { payload, deps, unit })
}
