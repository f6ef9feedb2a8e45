//! Authenticode (PE executables, MSI, MSP, MST) through `osslsigncode`:
//! SHA-256, optional RFC 3161 timestamp, keys from PKCS#12, PEM or a PKCS#11
//! token. With no key configured, a throwaway test CA and code-signing
//! certificate are generated under the target directory.
//!
//! With `legacy_sha1` (the default of `--legacy-sha1`) a file gets two
//! signatures, as `signtool sign /fd sha1 /t` then `signtool sign /as /fd
//! sha256 /tr` make them: a SHA-1 one (the primary, the only one Windows XP,
//! Vista, Server 2003 and 2008 read), time-stamped with a legacy Authenticode
//! counter-signature (`osslsigncode -t`; those systems do not read RFC 3161
//! tokens), and a SHA-256 one nested in its unsigned attributes
//! (szOID_NESTED_SIGNATURE, 1.3.6.1.4.1.311.2.4.1; `osslsigncode -nest`),
//! time-stamped with RFC 3161 (`-ts`). Windows 7 and later verify the nested
//! SHA-256 signature.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::SignError;
use crate::output::{OutputError, Staging};

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
    /// A SHA-1 signature with the SHA-256 one nested in it (see the module
    /// comment); false: one SHA-256 signature.
    legacy_sha1: bool,
}

/// One `osslsigncode sign` pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The only signature: SHA-256, RFC 3161 time stamp.
    Sha256,
    /// The primary of a dual signature: SHA-1, legacy Authenticode time stamp.
    LegacySha1,
    /// Nested into the primary: SHA-256, RFC 3161 time stamp.
    NestedSha256,
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

/// A file of the test PKI in `dir` that could not be written.
fn pki_error(dir: &Path) -> impl Fn(OutputError) -> SignError + '_ {
    move |source| SignError::Output {
        what: "test PKI",
        path: dir.display().to_string(),
        source,
    }
}

/// `openssl args…` run in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), SignError> {
    run(Command::new("openssl").current_dir(dir).args(args), "openssl")
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
        let err = pki_error(dir);
        // Built beside `dir` and swapped in whole, so a half-made PKI is
        // never reused.
        let staging = Staging::new(dir).map_err(&err)?;
        let s = staging.path();
        Self::make_ca(s)?;
        for (name, cn, eku) in [
            ("test-codesign", "Outpost TEST Code Signing (throwaway)", "codeSigning"),
            ("test-tsa", "Outpost TEST Time Stamping (throwaway)", "critical,timeStamping"),
        ] {
            Self::make_leaf(&staging, dir, name, cn, eku)?;
        }
        let read = |name: &str| {
            let path = s.join(name);
            std::fs::read(&path).map_err(|source| err(OutputError { what: "reading", path, source }))
        };
        let chain = [read("test-tsa.pem")?, read("test-ca.pem")?].concat();
        staging.write("test-tsa-chain.pem", &chain).map_err(&err)?;
        staging.swap_in().map_err(&err)?;
        Ok(pki)
    }

    /// The self-signed root CA (`test-ca.pem`, `test-ca.key`).
    fn make_ca(s: &Path) -> Result<(), SignError> {
        openssl(
            s,
            &[
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
            ],
        )
    }

    /// A leaf `name.pem`/`name.key` for `cn` with extended key usage `eku`,
    /// issued by the root CA.
    fn make_leaf(staging: &Staging, dir: &Path, name: &str, cn: &str, eku: &str) -> Result<(), SignError> {
        let s = staging.path();
        openssl(
            s,
            &[
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
            ],
        )?;
        staging.write(
            &format!("{name}.ext"),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={eku}\n").as_bytes(),
        )
        .map_err(pki_error(dir))?;
        openssl(
            s,
            &[
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
            ],
        )?;
        Ok(())
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
            legacy_sha1: false,
        })
    }

    /// Dual signatures (SHA-1 with a nested SHA-256) when `on`.
    pub fn with_legacy_sha1(mut self, on: bool) -> Authenticode {
        self.legacy_sha1 = on;
        self
    }

    pub fn legacy_sha1(&self) -> bool {
        self.legacy_sha1
    }

    pub fn test_pki(&self) -> Option<&TestPki> {
        self.test.as_ref()
    }

    pub fn is_test_key(&self) -> bool {
        self.test.is_some()
    }

    /// Signs `input` into `output` (an .exe, .dll, .msi, .msp or .mst):
    /// one SHA-256 signature, or with `legacy_sha1` a SHA-1 one with a
    /// SHA-256 one nested in it.
    pub fn sign_file(&self, input: &Path, output: &Path) -> Result<(), SignError> {
        if !self.legacy_sha1 {
            return self.sign_pass(input, output, Pass::Sha256);
        }
        // osslsigncode tells an MSI from a PE by its content; the name keeps
        // the extension anyway, as osslsigncode's messages show it.
        let dir = tempfile::tempdir().map_err(|e| SignError::Sign(e.to_string()))?;
        let name = input.file_name().map_or("input".into(), |n| n.to_string_lossy().into_owned());
        let primary = dir.path().join(format!("sha1-{name}"));
        self.sign_pass(input, &primary, Pass::LegacySha1)?;
        self.sign_pass(&primary, output, Pass::NestedSha256)
    }

    fn sign_pass(&self, input: &Path, output: &Path, pass: Pass) -> Result<(), SignError> {
        let mut cmd = Command::new("osslsigncode");
        cmd.arg("sign");
        if pass == Pass::NestedSha256 {
            // Appended to the SHA-1 signature's unsigned attributes as
            // szOID_NESTED_SIGNATURE; the SHA-1 one stays the primary.
            cmd.arg("-nest");
        }
        let digest = if pass == Pass::LegacySha1 { "sha1" } else { "sha256" };
        cmd.args(["-h", digest, "-n", &self.description, "-i", &self.url]);
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
                // Legacy Authenticode (-t) for the SHA-1 primary: Windows XP,
                // Vista, Server 2003 and 2008 read only that kind; RFC 3161
                // (-ts) for a SHA-256 signature.
                let flag = if pass == Pass::LegacySha1 { "-t" } else { "-ts" };
                for u in urls {
                    cmd.args([flag, u]);
                }
            }
            Timestamp::LocalTsa { certs, key, time } => {
                // osslsigncode's built-in authority makes RFC 3161 tokens only.
                cmd.arg("-TSA-certs").arg(certs).arg("-TSA-key").arg(key);
                if let Some(t) = time {
                    cmd.args(["-TSA-time", &t.to_string()]);
                }
            }
        }
        let _ = std::fs::remove_file(output);
        cmd.arg("-in").arg(input).arg("-out").arg(output);
        let what = match pass {
            Pass::Sha256 => format!("osslsigncode sign {}", input.display()),
            Pass::LegacySha1 => format!("osslsigncode sign (SHA-1 signature, --legacy-sha1) {}", input.display()),
            Pass::NestedSha256 => format!("osslsigncode sign -nest (nested SHA-256 signature) {}", input.display()),
        };
        run(&mut cmd, &what).map_err(|e| match (e, &self.timestamp, pass) {
            (SignError::Sign(m), Timestamp::Url(_), Pass::LegacySha1) => SignError::Sign(format!(
                "{m}\n(the SHA-1 signature is time-stamped with a legacy Authenticode request to the --timestamp-url: \
                 use an authority that answers those as well as RFC 3161 ones, or --legacy-sha1=off)"
            )),
            (e, ..) => e,
        })
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
