//! OpenPGP checks with the release's public key: the detached armoured
//! signature over SHA256SUMS, and an rpm's header signature (with the
//! payload digest the signed header records).

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

#[derive(Debug, thiserror::Error)]
pub enum OpenPgpError {
    #[error("not an armoured OpenPGP public key: {0}")]
    Key(String),
    #[error("not an armoured OpenPGP signature: {0}")]
    Signature(String),
    #[error("the OpenPGP signature does not verify with the release key {fingerprint}")]
    Bad { fingerprint: String },
    #[error("not an rpm: {0}")]
    NotRpm(String),
    #[error("the rpm's header signature does not verify with the release key {fingerprint}: {reason}")]
    RpmSignature { fingerprint: String, reason: String },
    #[error("the rpm does not match the digests its signature header records: {0}")]
    RpmDigest(String),
}

/// The release's public key, as the folder holds it.
pub struct ReleaseKey {
    armored: String,
    key: SignedPublicKey,
}

impl ReleaseKey {
    pub fn parse(armored: &str) -> Result<ReleaseKey, OpenPgpError> {
        let (key, _) = SignedPublicKey::from_string(armored).map_err(|e| OpenPgpError::Key(e.to_string()))?;
        Ok(ReleaseKey {
            armored: armored.to_string(),
            key,
        })
    }

    pub fn fingerprint(&self) -> String {
        hex::encode_upper(self.key.fingerprint().as_bytes())
    }

    /// The key's first user ID, as it names itself.
    pub fn user_id(&self) -> String {
        self.key
            .details
            .users
            .first()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .unwrap_or_default()
    }

    /// The fingerprint of a public key file, armoured or binary (a
    /// keyring as apt's `signed-by=` reads it).
    pub fn fingerprint_of(key: &[u8]) -> Result<String, OpenPgpError> {
        let parsed = if key.starts_with(b"-----BEGIN") {
            SignedPublicKey::from_string(&String::from_utf8_lossy(key)).map(|(k, _)| k)
        } else {
            SignedPublicKey::from_bytes(key)
        };
        let k = parsed.map_err(|e| OpenPgpError::Key(e.to_string()))?;
        Ok(hex::encode_upper(k.fingerprint().as_bytes()))
    }

    /// Checks an armoured detached signature over `data`, made by the
    /// primary key or one of its subkeys.
    pub fn verify_detached(&self, data: &[u8], armored_signature: &str) -> Result<(), OpenPgpError> {
        let (sig, _) = DetachedSignature::from_string(armored_signature).map_err(|e| OpenPgpError::Signature(e.to_string()))?;
        if sig.verify(&self.key.primary_key, data).is_ok()
            || self.key.public_subkeys.iter().any(|s| sig.verify(&s.key, data).is_ok())
        {
            Ok(())
        } else {
            Err(OpenPgpError::Bad {
                fingerprint: self.fingerprint(),
            })
        }
    }

    /// An rpm's two checks: the OpenPGP signature over its header, and
    /// the header and payload digests its signature header records (the
    /// signature binds the header, the header's digest binds the payload).
    pub fn verify_rpm(&self, bytes: &[u8]) -> Result<RpmCheck, OpenPgpError> {
        let pkg = rpm::Package::parse(&mut &bytes[..]).map_err(|e| OpenPgpError::NotRpm(e.to_string()))?;
        let verifier = rpm::signature::pgp::Verifier::from_asc(&self.armored).map_err(|e| OpenPgpError::Key(e.to_string()))?;
        let report = pkg
            .check_signatures(verifier)
            .map_err(|e| OpenPgpError::NotRpm(e.to_string()))?;
        let signature = if report.signatures.iter().any(|s| s.is_verified()) {
            Ok(())
        } else {
            let reason = match report.signatures.iter().find_map(|s| s.result().err()) {
                Some(e) => e.to_string(),
                None => "the rpm has no OpenPGP signature".into(),
            };
            Err(OpenPgpError::RpmSignature {
                fingerprint: self.fingerprint(),
                reason,
            })
        };
        let digests = report.digests.result().map_err(|e| OpenPgpError::RpmDigest(e.to_string()));
        Ok(RpmCheck { signature, digests })
    }
}

/// The results of [`ReleaseKey::verify_rpm`].
pub struct RpmCheck {
    pub signature: Result<(), OpenPgpError>,
    pub digests: Result<(), OpenPgpError>,
}
