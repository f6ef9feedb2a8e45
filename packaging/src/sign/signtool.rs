//! Authenticode with Microsoft's `signtool.exe` (Windows SDK), for the
//! deployment assistant on an administrator's Windows machine, where
//! osslsigncode and openssl are not installed and the signing certificate
//! usually sits in the Windows certificate store (or on a token behind a
//! CSP/KSP), which only signtool reaches.
//!
//! One SHA-256 signature (`/fd sha256`): signtool cannot nest a second
//! signature in an MSI-family file (its `/as` appends to PE files only), so
//! `--legacy-sha1` has no effect here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::authenticode::Authenticode;
use super::SignError;

/// signtool options that choose the certificate themselves; with one of
/// them among the extra arguments, `/a` (pick the best one) is not added.
const CERTIFICATE_OPTIONS: [&str; 6] = ["/f", "/n", "/i", "/r", "/sha1", "/dlib"];

/// How signtool is run for each file.
#[derive(Debug, Clone)]
pub struct Signtool {
    exe: PathBuf,
    /// The certificate's SHA-1 thumbprint in the store (`/sha1`); None: `/a`
    /// unless `extra` chooses one.
    thumbprint: Option<String>,
    /// RFC 3161 authority (`/tr URL /td sha256`).
    timestamp_url: Option<String>,
    /// Passed as they are, before the file (e.g. `/f C:\keys\sign.pfx`).
    extra: Vec<String>,
    description: String,
    url: String,
}

impl Signtool {
    /// `exe` is a path or a bare program name looked up in PATH; a
    /// thumbprint is 40 hex digits (spaces, as the certificate dialog shows
    /// them, are removed); signtool takes one time-stamp authority.
    pub fn new(
        exe: PathBuf,
        thumbprint: Option<&str>,
        timestamp_urls: &[String],
        extra: Vec<String>,
        description: &str,
        url: &str,
    ) -> Result<Signtool, SignError> {
        let bare = exe.components().count() == 1 && !exe.has_root();
        if !bare && !exe.is_file() {
            return Err(SignError::Key {
                what: "--signtool",
                path: exe.display().to_string(),
                reason: "does not exist".into(),
            });
        }
        let thumbprint = match thumbprint {
            None => None,
            Some(t) => {
                // The Windows certificate dialog prefixes a copied thumbprint
                // with an invisible U+200E mark.
                let clean: String = t.chars().filter(|c| !c.is_whitespace() && *c != '\u{200e}').collect();
                if clean.len() != 40 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(SignError::Key {
                        what: "--signtool-sha1",
                        path: t.to_string(),
                        reason: "not a certificate thumbprint: 40 hexadecimal digits, as certmgr shows them".into(),
                    });
                }
                Some(clean.to_ascii_uppercase())
            }
        };
        let timestamp_url = match timestamp_urls {
            [] => None,
            [one] => Some(one.clone()),
            more => {
                return Err(SignError::Key {
                    what: "--timestamp-url",
                    path: more.join(" "),
                    reason: "signtool takes one time-stamp authority (/tr): give one".into(),
                })
            }
        };
        Ok(Signtool {
            exe,
            thumbprint,
            timestamp_url,
            extra,
            description: description.into(),
            url: url.into(),
        })
    }

    /// `signtool` and its arguments for signing `file` in place.
    pub fn args(&self, file: &Path) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["sign".into(), "/fd".into(), "sha256".into()];
        let chooses = self
            .extra
            .iter()
            .any(|x| CERTIFICATE_OPTIONS.iter().any(|o| x.eq_ignore_ascii_case(o)));
        match &self.thumbprint {
            Some(t) => a.extend(["/sha1".into(), t.into()]),
            None if !chooses => a.push("/a".into()),
            None => {}
        }
        if let Some(u) = &self.timestamp_url {
            a.extend(["/tr".into(), u.into(), "/td".into(), "sha256".into()]);
        }
        a.extend([
            "/d".into(),
            self.description.clone().into(),
            "/du".into(),
            self.url.clone().into(),
        ]);
        a.extend(self.extra.iter().map(OsString::from));
        a.push(file.as_os_str().to_owned());
        a
    }

    /// Signs bytes through a temporary file named with `extension`
    /// (signtool tells the file's kind by its name).
    pub fn sign_bytes(&self, bytes: &[u8], extension: &str) -> Result<Vec<u8>, SignError> {
        let dir = tempfile::tempdir().map_err(|e| SignError::Sign(e.to_string()))?;
        let file = dir.path().join(format!("unsigned.{extension}"));
        std::fs::write(&file, bytes).map_err(|e| SignError::Sign(e.to_string()))?;
        let out = Command::new(&self.exe).args(self.args(&file)).output().map_err(|e| {
            SignError::Sign(format!(
                "cannot run {}: {e} (signtool.exe comes with the Windows SDK, e.g. C:\\Program Files (x86)\\Windows Kits\\10\\bin\\<version>\\x64\\signtool.exe)",
                self.exe.display()
            ))
        })?;
        if !out.status.success() {
            return Err(SignError::Sign(format!(
                "{} sign {} ({}): {}{}",
                self.exe.display(),
                file.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        std::fs::read(&file).map_err(|e| SignError::Sign(e.to_string()))
    }
}

/// Whichever program signs a transform or a patch.
pub enum FileSigner {
    /// osslsigncode (Linux, macOS; test keys too).
    Osslsigncode(Authenticode),
    /// signtool.exe (Windows).
    Signtool(Signtool),
}

impl FileSigner {
    pub fn sign_bytes(&self, bytes: &[u8], extension: &str) -> Result<Vec<u8>, SignError> {
        match self {
            FileSigner::Osslsigncode(a) => a.sign_bytes(bytes, extension),
            FileSigner::Signtool(s) => s.sign_bytes(bytes, extension),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &Signtool) -> Vec<String> {
        s.args(Path::new("x.mst"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_certificate_is_chosen_by_thumbprint_else_automatically_else_by_the_extra_arguments() {
        let tp = "\u{200e}a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b";
        let s = Signtool::new(
            "signtool.exe".into(),
            Some(tp),
            &["http://ts.example/".into()],
            vec![],
            "Outpost",
            "https://o.example/",
        )
        .unwrap();
        assert_eq!(
            words(&s).join(" "),
            "sign /fd sha256 /sha1 A909502DD82AE41433E6F83886B00D4277A32A7B /tr http://ts.example/ /td sha256 /d Outpost /du https://o.example/ x.mst"
        );
        let s = Signtool::new("signtool.exe".into(), None, &[], vec![], "Outpost", "u").unwrap();
        assert_eq!(words(&s).join(" "), "sign /fd sha256 /a /d Outpost /du u x.mst");
        let s = Signtool::new(
            "signtool.exe".into(),
            None,
            &[],
            vec!["/F".into(), "C:\\k.pfx".into()],
            "Outpost",
            "u",
        )
        .unwrap();
        assert_eq!(words(&s).join(" "), "sign /fd sha256 /d Outpost /du u /F C:\\k.pfx x.mst");
    }

    #[test]
    fn bad_configuration_is_refused_naming_the_option() {
        let e = Signtool::new("signtool.exe".into(), Some("abc"), &[], vec![], "d", "u")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--signtool-sha1 `abc`: not a certificate thumbprint"), "{e}");
        let e = Signtool::new("signtool.exe".into(), None, &["a".into(), "b".into()], vec![], "d", "u")
            .unwrap_err()
            .to_string();
        assert!(e.contains("signtool takes one time-stamp authority"), "{e}");
        let e = Signtool::new("/nonexistent/signtool.exe".into(), None, &[], vec![], "d", "u")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--signtool `/nonexistent/signtool.exe`: does not exist"), "{e}");
    }
}
