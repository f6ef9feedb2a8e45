//! OpenPGP backend on the `pgp` crate (the version the `rpm` crate signs with).

use std::path::Path;

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize as _;
use pgp::types::{KeyDetails, Password};
use rand::rngs::OsRng;

use super::{OpenPgpKeySource, SignError, Signer};

pub struct OpenPgpKey {
    armored: String,
    key: SignedSecretKey,
    passphrase: Option<String>,
    test_key: bool,
}

const PASSPHRASE_ENV: &str = "OMNIPACK_OPENPGP_PASSPHRASE";

impl OpenPgpKey {
    pub fn load(source: &OpenPgpKeySource) -> Result<OpenPgpKey, SignError> {
        let passphrase = std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty());
        match source {
            OpenPgpKeySource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| SignError::Key {
                    what: "OpenPGP key file",
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                Self::from_armored(text, passphrase, false, &p.display().to_string())
            }
            OpenPgpKeySource::Env(var) => {
                let text = std::env::var(var).unwrap_or_default();
                Self::from_armored(text, passphrase, false, &format!("${var}"))
            }
            OpenPgpKeySource::Throwaway(dir) => Self::throwaway(dir),
        }
    }

    fn from_armored(armored: String, passphrase: Option<String>, test_key: bool, origin: &str) -> Result<OpenPgpKey, SignError> {
        let (key, _) = SignedSecretKey::from_string(&armored).map_err(|e| SignError::Key {
            what: "OpenPGP key",
            path: origin.to_string(),
            reason: format!("not an ASCII-armoured OpenPGP secret key: {e}"),
        })?;
        Ok(OpenPgpKey {
            armored,
            key,
            passphrase,
            test_key,
        })
    }

    /// A throwaway RSA-4096 key, generated once per target directory.
    fn throwaway(dir: &Path) -> Result<OpenPgpKey, SignError> {
        let sec = dir.join("openpgp-test.sec.asc");
        let key_err = |reason: String| SignError::Key {
            what: "test key",
            path: sec.display().to_string(),
            reason,
        };
        if let Ok(text) = std::fs::read_to_string(&sec) {
            return Self::from_armored(text, None, true, &sec.display().to_string())?.with_public_file(dir);
        }
        std::fs::create_dir_all(dir).map_err(|e| key_err(e.to_string()))?;
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Rsa(4096))
            .can_certify(true)
            .can_sign(true)
            .primary_user_id("Outpost TEST packaging key (throwaway, not for release) <test@outpost.invalid>".into())
            .build()
            .map_err(|e| key_err(e.to_string()))?;
        let key = params.generate(OsRng).map_err(|e| key_err(e.to_string()))?;
        let armored = key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| key_err(e.to_string()))?;
        // A half-written key must never be reused, and parallel builds must
        // agree on one key: the first to publish it wins.
        if !super::publish_private(&sec, armored.as_bytes()).map_err(|e| key_err(e.to_string()))? {
            let theirs = std::fs::read_to_string(&sec).map_err(|e| key_err(e.to_string()))?;
            return Self::from_armored(theirs, None, true, &sec.display().to_string())?.with_public_file(dir);
        }
        OpenPgpKey {
            armored,
            key,
            passphrase: None,
            test_key: true,
        }
        .with_public_file(dir)
    }

    /// Writes the throwaway key's public half beside it (for tests that
    /// import it) unless it is there already.
    fn with_public_file(self, dir: &Path) -> Result<OpenPgpKey, SignError> {
        let path = dir.join("openpgp-test.pub.asc");
        if !path.is_file() {
            crate::output::write_atomic(&path, self.public_key_armored().as_bytes()).map_err(|source| SignError::Output {
                what: "test key",
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(self)
    }

    fn password(&self) -> Password {
        self.passphrase.as_deref().map(Password::from).unwrap_or_else(Password::empty)
    }

    /// The signer the `rpm` crate uses for header signatures.
    pub fn rpm_signer(&self) -> Result<::rpm::signature::pgp::Signer, SignError> {
        let s = ::rpm::signature::pgp::Signer::from_asc(&self.armored).map_err(|e| SignError::Sign(e.to_string()))?;
        Ok(match &self.passphrase {
            Some(p) => s.with_key_passphrase(p.clone()),
            None => s,
        })
    }

    pub fn fingerprint(&self) -> String {
        hex::encode_upper(self.key.fingerprint().as_bytes())
    }
}

impl Signer for OpenPgpKey {
    fn scheme(&self) -> &'static str {
        "openpgp"
    }

    fn sign_detached(&self, data: &[u8]) -> Result<String, SignError> {
        let sig =
            DetachedSignature::sign_binary_data(OsRng, &self.key.primary_key, &self.password(), HashAlgorithm::Sha256, data)
                .map_err(|e| SignError::Sign(e.to_string()))?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Sign(e.to_string()))
    }

    fn sign_cleartext(&self, text: &str) -> Result<String, SignError> {
        let msg = CleartextSignedMessage::sign(OsRng, text, &self.key.primary_key, &self.password())
            .map_err(|e| SignError::Sign(e.to_string()))?;
        msg.to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Sign(e.to_string()))
    }

    fn public_key_binary(&self) -> Vec<u8> {
        self.key
            .to_public_key()
            .to_bytes()
            .expect("serialising a parsed public key cannot fail")
    }

    fn public_key_armored(&self) -> String {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .expect("serialising a parsed public key cannot fail")
    }

    fn is_test_key(&self) -> bool {
        self.test_key
    }
}
