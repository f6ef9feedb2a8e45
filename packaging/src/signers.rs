//! Which key signs each scheme: the one given, else a throwaway test key
//! under the target directory, announced once with the TEST-SIGNED banner.
//! `build`, `assist`, `patch` and `publish` all resolve their signers here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use outpost_manifest::Manifest;
use tracing::{info, warn};

use crate::release::Scheme;
use crate::sign::apple::{AppleKeySource, AppleSigner};
use crate::sign::authenticode::{Authenticode, AuthenticodeKey, Timestamp};
use crate::sign::openpgp::OpenPgpKey;
use crate::sign::{OpenPgpKeySource, SignError, Signer};

/// The keys and options the command line gave; None everywhere means
/// throwaway test keys.
#[derive(Clone, Default)]
pub struct KeyOptions {
    pub openpgp_key: Option<PathBuf>,
    pub authenticode: Option<AuthenticodeKey>,
    /// RFC 3161 time-stamp authorities for Authenticode signatures.
    pub timestamp_urls: Vec<String>,
    /// Authenticode: a SHA-1 signature with a nested SHA-256 one, for
    /// legacy Windows; false: one SHA-256 signature.
    pub legacy_sha1: bool,
    pub apple_application: Option<AppleKeySource>,
    pub apple_installer: Option<AppleKeySource>,
    /// RFC 3161 server for Apple signatures (`none` to turn it off); None:
    /// Apple's for real identities, none for throwaway ones.
    pub apple_timestamp_url: Option<String>,
    /// Where throwaway keys are made and kept (`<target>/omnipack-test-keys`).
    pub test_keys: PathBuf,
}

/// The signer of each scheme a build needs.
#[derive(Default)]
pub struct Resolved {
    pub openpgp: Option<Arc<OpenPgpKey>>,
    pub authenticode: Option<Arc<Authenticode>>,
    pub apple: Option<Arc<AppleSigner>>,
}

pub fn resolve(schemes: &BTreeSet<Scheme>, keys: &KeyOptions, m: &Manifest) -> Result<Resolved, SignError> {
    let mut r = Resolved::default();
    for scheme in schemes {
        match scheme {
            Scheme::OpenPgp => r.openpgp = Some(Arc::new(openpgp(keys)?)),
            Scheme::Authenticode => r.authenticode = Some(Arc::new(authenticode(keys, m)?)),
            Scheme::Apple => r.apple = Some(Arc::new(apple(keys)?)),
        }
    }
    Ok(r)
}

pub fn openpgp(keys: &KeyOptions) -> Result<OpenPgpKey, SignError> {
    let dir = keys.test_keys.clone();
    let key = OpenPgpKey::load(&OpenPgpKeySource::resolve(keys.openpgp_key.clone(), dir.clone()))?;
    if key.is_test_key() {
        banner(Scheme::OpenPgp, &dir);
    } else {
        info!(fingerprint = key.fingerprint(), "signing with OpenPGP key");
    }
    Ok(key)
}

pub fn authenticode(keys: &KeyOptions, m: &Manifest) -> Result<Authenticode, SignError> {
    let dir = keys.test_keys.join("authenticode");
    let key = keys.authenticode.clone().unwrap_or_else(|| AuthenticodeKey::Throwaway(dir.clone()));
    let timestamp = if keys.timestamp_urls.is_empty() {
        Timestamp::None
    } else {
        Timestamp::Url(keys.timestamp_urls.clone())
    };
    let signer = Authenticode::new(key, timestamp, &m.product.name, &m.product.homepage)?.with_legacy_sha1(keys.legacy_sha1);
    if signer.is_test_key() {
        banner(Scheme::Authenticode, &dir);
    }
    Ok(signer)
}

pub fn apple(keys: &KeyOptions) -> Result<AppleSigner, SignError> {
    let dir = keys.test_keys.join("apple");
    let signer = AppleSigner::new(
        keys.apple_application.clone(),
        keys.apple_installer.clone(),
        &dir,
        keys.apple_timestamp_url.as_deref(),
    )?;
    if signer.is_test_key() {
        banner(Scheme::Apple, &dir);
    }
    Ok(signer)
}

/// Said on stderr whenever a throwaway key signs anything.
pub fn banner(scheme: Scheme, dir: &Path) {
    let (given, what) = match scheme {
        Scheme::OpenPgp => (
            "No OpenPGP key was given (--openpgp-key, OMNIPACK_OPENPGP_KEY, OMNIPACK_OPENPGP_KEY_FILE).",
            "Packages and repositories are signed with a throwaway key",
        ),
        Scheme::Authenticode => (
            "No Authenticode key was given (--authenticode-pkcs12, --authenticode-cert/--authenticode-key, --authenticode-pkcs11-module).",
            "Windows packages, transforms and patches are signed with a throwaway certificate",
        ),
        Scheme::Apple => (
            "No Developer ID identities were given (--apple-application, --apple-installer).",
            "The macOS agent and pkg are signed with throwaway self-signed certificates (Gatekeeper refuses them and they cannot be notarized)",
        ),
    };
    warn!(scheme = scheme.as_str(), "signing with a THROWAWAY TEST KEY");
    eprintln!("\n  *** TEST-SIGNED OUTPUT ***\n  {given}\n  {what} from {}.\n  Do not release them.\n", dir.display());
}
