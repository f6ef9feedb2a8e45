//! Authenticode (PE executables, MSI, MSP, MST) through `osslsigncode`:
//! SHA-256, optional RFC 3161 timestamp, keys from PKCS#12, PEM or a PKCS#11
//! token. With no key configured, a throwaway test CA and code-signing
//! certificate are generated under the target directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::SignError;

/// Where the signing key lives.
#[derive(Debug, Clone)]
pub enum AuthenticodeKey {
    /// A PKCS#12 bundle; its password comes from OMNIPACK_AUTHENTICODE_PASSWORD.
    Pkcs12(PathBuf),
    /// A PEM (or DER) certificate chain and private key.
    Pem { cert: PathBuf, key: PathBuf },
    /// A key in a PKCS#11 token: module path, certificate (file or URI), key URI.
    Pkcs11 { module: PathBuf, cert: String, key: String },
    /// Generated once per target directory; never for release.
    Throwaway(PathBuf),
}

#[derive(Debug, Clone)]
pub enum Timestamp {
    None,
    /// RFC 3161 time-stamp authority URL(s).
    Url(Vec<String>),
    /// osslsigncode's built-in TSA with a local key: for offline tests only.
    LocalTsa {
        certs: PathBuf,
        key: PathBuf,
        time: Option<u64>,
    },
}

pub struct Authenticode {
    key: AuthenticodeKey,
    /// Files of a throwaway key, when that is what we sign with.
    test: Option<TestPki>,
    pub timestamp: Timestamp,
    /// Shown by Windows as the signed content's description and URL.
    pub description: String,
    pub url: String,
}

/// A throwaway PKI: root CA, code-signing leaf, and a TSA leaf.
#[derive(Debug, Clone)]
pub struct TestPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub sign_cert: PathBuf,
    pub sign_key: PathBuf,
    pub tsa_chain: PathBuf,
    pub tsa_key: PathBuf,
}

const PASSWORD_ENV: &str = "OMNIPACK_AUTHENTICODE_PASSWORD";

fn tool_error(what: &str, out: &std::process::Output) -> SignError {
    SignError::Sign(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

fn run(cmd: &mut Command, what: &str) -> Result<(), SignError> {
    let out = cmd
        .output()
        .map_err(|e| SignError::Sign(format!("cannot run {what}: {e} (is it installed?)")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(tool_error(what, &out))
    }
}

impl TestPki {
    /// Generates the PKI in `dir` with `openssl`, once; later calls reuse it.
    pub fn ensure(dir: &Path) -> Result<TestPki, SignError> {
        let pki = TestPki {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("test-ca.pem"),
            sign_cert: dir.join("test-codesign.pem"),
            sign_key: dir.join("test-codesign.key"),
            tsa_chain: dir.join("test-tsa-chain.pem"),
            tsa_key: dir.join("test-tsa.key"),
        };
        if pki.tsa_chain.is_file() {
            return Ok(pki);
        }
        let err = |e: std::io::Error| SignError::Key {
            what: "test PKI",
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        // Build in a scratch folder and rename, so a half-made PKI is never reused.
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(err)?;
        let scratch = tempfile::Builder::new()
            .prefix(".authenticode-")
            .tempdir_in(parent)
            .map_err(err)?;
        let s = scratch.path();
        let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(s).args(args), "openssl");
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:3072",
            "-nodes",
            "-keyout",
            "test-ca.key",
            "-out",
            "test-ca.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=Outpost TEST Root CA (throwaway, not for release)",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])?;
        for (name, cn, eku) in [
            ("test-codesign", "Outpost TEST Code Signing (throwaway)", "codeSigning"),
            ("test-tsa", "Outpost TEST Time Stamping (throwaway)", "critical,timeStamping"),
        ] {
            openssl(&[
                "req",
                "-newkey",
                "rsa:3072",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={cn}"),
            ])?;
            std::fs::write(
                s.join(format!("{name}.ext")),
                format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={eku}\n"),
            )
            .map_err(err)?;
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "test-ca.pem",
                "-CAkey",
                "test-ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.pem"),
                "-days",
                "825",
                "-extfile",
                &format!("{name}.ext"),
            ])?;
        }
        let chain = [
            std::fs::read(s.join("test-tsa.pem")).map_err(err)?,
            std::fs::read(s.join("test-ca.pem")).map_err(err)?,
        ]
        .concat();
        std::fs::write(s.join("test-tsa-chain.pem"), chain).map_err(err)?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(scratch.keep(), dir).map_err(err)?;
        Ok(pki)
    }
}

impl Authenticode {
    pub fn new(key: AuthenticodeKey, timestamp: Timestamp, description: &str, url: &str) -> Result<Authenticode, SignError> {
        let test = match &key {
            AuthenticodeKey::Throwaway(dir) => Some(TestPki::ensure(dir)?),
            _ => None,
        };
        for p in match &key {
            AuthenticodeKey::Pkcs12(p) => vec![p.clone()],
            AuthenticodeKey::Pem { cert, key } => vec![cert.clone(), key.clone()],
            AuthenticodeKey::Pkcs11 { module, .. } => vec![module.clone()],
            AuthenticodeKey::Throwaway(_) => vec![],
        } {
            if !p.is_file() {
                return Err(SignError::Key {
                    what: "Authenticode key file",
                    path: p.display().to_string(),
                    reason: "does not exist".into(),
                });
            }
        }
        Ok(Authenticode {
            key,
            test,
            timestamp,
            description: description.into(),
            url: url.into(),
        })
    }

    pub fn test_pki(&self) -> Option<&TestPki> {
        self.test.as_ref()
    }

    pub fn is_test_key(&self) -> bool {
        self.test.is_some()
    }

    /// Signs `input` into `output` (an .exe, .msi, .msp or .mst).
    pub fn sign_file(&self, input: &Path, output: &Path) -> Result<(), SignError> {
        let mut cmd = Command::new("osslsigncode");
        cmd.arg("sign")
            .args(["-h", "sha256", "-n", &self.description, "-i", &self.url]);
        // The password goes through a 0600 file, never the command line.
        let mut _pass_file = None;
        match (&self.key, &self.test) {
            (_, Some(t)) => {
                cmd.arg("-certs").arg(&t.sign_cert).arg("-key").arg(&t.sign_key);
            }
            (AuthenticodeKey::Pkcs12(p), _) => {
                cmd.arg("-pkcs12").arg(p);
                if let Ok(pw) = std::env::var(PASSWORD_ENV) {
                    let f = tempfile::NamedTempFile::new().map_err(|e| SignError::Sign(e.to_string()))?;
                    std::fs::write(f.path(), pw).map_err(|e| SignError::Sign(e.to_string()))?;
                    cmd.arg("-readpass").arg(f.path());
                    _pass_file = Some(f);
                }
            }
            (AuthenticodeKey::Pem { cert, key }, _) => {
                cmd.arg("-certs").arg(cert).arg("-key").arg(key);
            }
            (AuthenticodeKey::Pkcs11 { module, cert, key }, _) => {
                cmd.arg("-pkcs11module").arg(module);
                if Path::new(cert).is_file() {
                    cmd.arg("-certs").arg(cert);
                } else {
                    cmd.arg("-pkcs11cert").arg(cert);
                }
                cmd.arg("-key").arg(key);
            }
            (AuthenticodeKey::Throwaway(_), None) => unreachable!("a throwaway key always has its PKI"),
        }
        match &self.timestamp {
            Timestamp::None => {}
            Timestamp::Url(urls) => {
                for u in urls {
                    cmd.args(["-ts", u]);
                }
            }
            Timestamp::LocalTsa { certs, key, time } => {
                cmd.arg("-TSA-certs").arg(certs).arg("-TSA-key").arg(key);
                if let Some(t) = time {
                    cmd.args(["-TSA-time", &t.to_string()]);
                }
            }
        }
        let _ = std::fs::remove_file(output);
        cmd.arg("-in").arg(input).arg("-out").arg(output);
        run(&mut cmd, &format!("osslsigncode sign {}", input.display()))
    }

    /// Signs bytes (written to a temporary file named with `extension`).
    pub fn sign_bytes(&self, bytes: &[u8], extension: &str) -> Result<Vec<u8>, SignError> {
        let dir = tempfile::tempdir().map_err(|e| SignError::Sign(e.to_string()))?;
        let input = dir.path().join(format!("unsigned.{extension}"));
        let output = dir.path().join(format!("signed.{extension}"));
        std::fs::write(&input, bytes).map_err(|e| SignError::Sign(e.to_string()))?;
        self.sign_file(&input, &output)?;
        std::fs::read(&output).map_err(|e| SignError::Sign(e.to_string()))
    }
}
