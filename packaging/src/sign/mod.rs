//! Signing: one trait, a backend per scheme. Keys come from files or the
//! environment; with none configured, a throwaway test key is generated under
//! the cargo target directory and the build says loudly that it is
//! test-signed. Keys are never written into the repository or a package.

pub mod apple;
pub mod authenticode;
pub mod openpgp;
pub mod signtool;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{what} `{path}`: {reason}")]
    Key {
        what: &'static str,
        path: String,
        reason: String,
    },
    /// A Developer ID identity file that does not hold a usable identity.
    #[error("{what} `{path}`: {source}")]
    Identity {
        what: &'static str,
        path: String,
        #[source]
        source: apple::IdentityError,
    },
    /// A key or certificate file of ours that could not be written.
    #[error("{what} `{path}`: {source}")]
    Output {
        what: &'static str,
        path: String,
        #[source]
        source: crate::output::OutputError,
    },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// An OpenPGP-style signer: detached and clear-text signatures over bytes
/// (repository metadata), and the public key in the forms clients import.
/// A backend may hold the key in a file, the environment or a token.
pub trait Signer: Send + Sync {
    /// Scheme name as it appears in `release.json`'s `signed` field.
    fn scheme(&self) -> &'static str;
    /// An ASCII-armoured detached signature over `data` (Release.gpg, repomd.xml.asc).
    fn sign_detached(&self, data: &[u8]) -> Result<String, SignError>;
    /// `text` wrapped in a clear-signed message (apt's InRelease).
    fn sign_cleartext(&self, text: &str) -> Result<String, SignError>;
    /// The public half, ASCII-armoured, for `rpm --import` and `signed-by=`.
    fn public_key_armored(&self) -> String;
    /// The public half as binary OpenPGP packets (a `.gpg` keyring file).
    fn public_key_binary(&self) -> Vec<u8>;
    /// True for a throwaway key omnipack generated itself.
    fn is_test_key(&self) -> bool;
}

/// Where an OpenPGP key comes from.
#[derive(Debug, Clone)]
pub enum OpenPgpKeySource {
    /// An armoured secret key file.
    File(PathBuf),
    /// Armoured secret key text from an environment variable.
    Env(String),
    /// Generate (once) and reuse a throwaway key in this directory.
    Throwaway(PathBuf),
}

impl OpenPgpKeySource {
    /// `--openpgp-key FILE`, else OMNIPACK_OPENPGP_KEY (armoured text) or
    /// OMNIPACK_OPENPGP_KEY_FILE, else a throwaway key under `test_key_dir`.
    pub fn resolve(cli: Option<PathBuf>, test_key_dir: PathBuf) -> OpenPgpKeySource {
        if let Some(p) = cli {
            return OpenPgpKeySource::File(p);
        }
        if let Ok(text) = std::env::var("OMNIPACK_OPENPGP_KEY") {
            if !text.trim().is_empty() {
                return OpenPgpKeySource::Env("OMNIPACK_OPENPGP_KEY".into());
            }
        }
        if let Ok(p) = std::env::var("OMNIPACK_OPENPGP_KEY_FILE") {
            if !p.is_empty() {
                return OpenPgpKeySource::File(p.into());
            }
        }
        OpenPgpKeySource::Throwaway(test_key_dir)
    }
}

/// Writes a private key readable by its owner only (0600 from the start, so
/// there is no moment where another user could read it).
pub(crate) fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(data)
}

/// Publishes a private key file under `path` unless one is there already:
/// written whole (0600) under a temporary name, then hard-linked, which
/// fails rather than replaces. Not `output::write_atomic`: that creates the
/// file with the umask's mode, and its rename would let two parallel builds
/// each put their own key in place, so their packages would disagree; here
/// the first one wins and the others use its key. Returns false when
/// `path` existed.
pub(crate) fn publish_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<bool> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    write_private(&tmp, data)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}
