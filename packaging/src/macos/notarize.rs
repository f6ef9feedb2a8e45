//! Apple's notary service: submit a Developer ID-signed pkg, wait for the
//! verdict and staple the ticket to the file. Needs the network and an App
//! Store Connect API key; compiled only with the `notarize` feature (it
//! pulls the AWS SDK).

use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum NotarizeError {
    #[error(
        "this omnipack was built without notarization; build it with `cargo build --release -p omnipack --features notarize` \
         (scripts/build does when OMNIPACK_NOTARY_API_KEY is set)"
    )]
    NotBuiltIn,
    #[error("{what} {}: {message}", path.display())]
    Apple { what: &'static str, path: PathBuf, message: String },
}

/// Notarizes `pkg` and staples the ticket to it in place.
#[cfg(feature = "notarize")]
pub fn notarize_and_staple(pkg: &Path, api_key: &Path, wait: Duration) -> Result<(), NotarizeError> {
    use apple_codesign::{notarization::Notarizer, stapling::Stapler};
    let err = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |e: apple_codesign::AppleCodesignError| NotarizeError::Apple { what, path, message: e.to_string() }
    };
    let notarizer = Notarizer::from_api_key(api_key).map_err(err("reading the API key", api_key))?;
    notarizer.notarize_flat_package(pkg, Some(wait)).map_err(err("notarizing", pkg))?;
    Stapler::new().map_err(err("stapling", pkg))?.staple_path(pkg).map_err(err("stapling", pkg))?;
    Ok(())
}

#[cfg(not(feature = "notarize"))]
pub fn notarize_and_staple(_: &Path, _: &Path, _: Duration) -> Result<(), NotarizeError> {
    Err(NotarizeError::NotBuiltIn)
}
