//! Authenticode checks shared by the Windows tests: the signatures
//! `osslsigncode verify` finds in a file and their digests, the object
//! identifiers of the stored signature in order (`openssl asn1parse`), and a
//! time-stamp authority on loopback that answers RFC 3161 requests (`openssl
//! ts -reply`) and legacy Authenticode ones (a PKCS#7 SignedData over the
//! signature, `openssl cms -sign`) with the throwaway TSA certificate, so
//! `--timestamp-url` runs for real without the network.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::{run, test_authenticode_ca, test_key_dir, text, tool};

/// szOID_NESTED_SIGNATURE: an unsigned attribute holding another SignedData.
pub const NESTED_SIGNATURE: &str = "1.3.6.1.4.1.311.2.4.1";
/// szOID_RFC3161_counterSign: an RFC 3161 time-stamp token.
pub const RFC3161_TIMESTAMP: &str = "1.3.6.1.4.1.311.3.3.1";
/// PKCS #9 countersignature: the legacy Authenticode time stamp (asn1parse's name).
pub const LEGACY_TIMESTAMP: &str = "countersignature";

/// What `osslsigncode verify` said about a file that verified.
pub struct Verified {
    /// The message digest of each signature, primary first (`SHA1`, `SHA256`).
    pub digests: Vec<String>,
    /// How many time stamps verified against the throwaway TSA root.
    pub timestamps: usize,
    pub output: String,
}

/// `osslsigncode verify` against the throwaway roots; panics unless it
/// succeeds and every signature it lists verified.
#[track_caller]
pub fn verify(path: &Path) -> Verified {
    let ca = test_authenticode_ca();
    let out = run(tool("osslsigncode")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca)
        .arg("-TSA-CAfile")
        .arg(&ca)
        .arg("-in")
        .arg(path));
    let output = text(&out);
    assert!(out.status.success(), "osslsigncode verify {}:\n{output}", path.display());
    let mut digests = Vec::new();
    let mut in_signature = false;
    for line in output.lines() {
        if line.starts_with("Signature Index: ") {
            in_signature = true;
        } else if in_signature && line.starts_with("Message digest algorithm") {
            // The first one after the index is the file digest's:
            // "Message digest algorithm  : SHA1".
            digests.push(line.split(':').nth(1).unwrap_or_default().trim().to_string());
            in_signature = false;
        }
    }
    let count = format!("Number of verified signatures: {}", digests.len());
    assert!(output.contains(&count), "{}: expected `{count}`:\n{output}", path.display());
    let timestamps = output.matches("Timestamp Server Signature verification: ok").count();
    Verified {
        digests,
        timestamps,
        output,
    }
}

/// The OBJECT identifiers in the file's signature, in DER order (openssl's
/// short name where it has one, else the dotted form).
pub fn signature_objects(path: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("signature.pem");
    let out = run(tool("osslsigncode")
        .args(["extract-signature", "-pem", "-in"])
        .arg(path)
        .arg("-out")
        .arg(&pem));
    assert!(out.status.success(), "extract-signature {}: {}", path.display(), text(&out));
    let out = run(tool("openssl").args(["asn1parse", "-in"]).arg(&pem));
    assert!(out.status.success(), "asn1parse {}: {}", path.display(), text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("prim: OBJECT"))
        .map(|l| l.rsplit(':').next().unwrap().trim().to_string())
        .collect()
}

const DIGESTS: &[&str] = &["sha1", "sha256", "sha384", "sha512"];

/// The digest algorithms named in `objects`.
fn digests_in(objects: &[String]) -> Vec<&str> {
    let mut d: Vec<&str> = objects.iter().map(String::as_str).filter(|o| DIGESTS.contains(o)).collect();
    d.dedup();
    d
}

/// A SHA-1 primary signature with one SHA-256 signature nested in its
/// unsigned attributes: osslsigncode verifies both, and in the stored
/// SignedData everything before szOID_NESTED_SIGNATURE (the primary) names
/// only SHA-1 and everything after it (the nested one) only SHA-256. With
/// `timestamped`, the primary carries a legacy Authenticode time stamp
/// and the nested one an RFC 3161 token, and both verify.
#[track_caller]
pub fn assert_dual(path: &Path, timestamped: bool) -> Verified {
    let v = verify(path);
    assert_eq!(v.digests, ["SHA1", "SHA256"], "{}:\n{}", path.display(), v.output);
    let objects = signature_objects(path);
    let nested: Vec<usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| *o == NESTED_SIGNATURE)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        nested.len(),
        1,
        "{}: szOID_NESTED_SIGNATURE {nested:?} times: {objects:?}",
        path.display()
    );
    let (primary, inner) = objects.split_at(nested[0]);
    assert_eq!(digests_in(primary), ["sha1"], "{}: primary {primary:?}", path.display());
    assert_eq!(digests_in(inner), ["sha256"], "{}: nested {inner:?}", path.display());
    let count = |part: &[String], oid: &str| part.iter().filter(|o| *o == oid).count();
    if timestamped {
        assert_eq!(v.timestamps, 2, "{}: two verified time stamps:\n{}", path.display(), v.output);
        assert_eq!(
            (count(primary, LEGACY_TIMESTAMP), count(primary, RFC3161_TIMESTAMP)),
            (1, 0),
            "{}: {primary:?}",
            path.display()
        );
        assert_eq!(
            (count(inner, LEGACY_TIMESTAMP), count(inner, RFC3161_TIMESTAMP)),
            (0, 1),
            "{}: {inner:?}",
            path.display()
        );
    } else {
        assert_eq!(v.timestamps, 0, "{}", v.output);
        assert_eq!(
            count(&objects, LEGACY_TIMESTAMP) + count(&objects, RFC3161_TIMESTAMP),
            0,
            "{}: {objects:?}",
            path.display()
        );
    }
    v
}

/// One SHA-256 signature, nothing nested, no SHA-1 anywhere.
#[track_caller]
pub fn assert_single_sha256(path: &Path) -> Verified {
    let v = verify(path);
    assert_eq!(v.digests, ["SHA256"], "{}:\n{}", path.display(), v.output);
    let objects = signature_objects(path);
    assert!(
        !objects.iter().any(|o| o == NESTED_SIGNATURE),
        "{}: {objects:?}",
        path.display()
    );
    assert_eq!(digests_in(&objects), ["sha256"], "{}: {objects:?}", path.display());
    v
}

/// The executable and the custom action DLL inside an MSI (the DLL from the
/// Binary table, the exe through msiextract), written under `dir`.
pub fn msi_executables(msi: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let out = run(tool("msiextract").arg("-C").arg(dir).arg(msi));
    assert!(out.status.success(), "msiextract {}: {}", msi.display(), text(&out));
    let exe = crate::find_file(dir, "outpost-agent.exe").unwrap_or_else(|| panic!("no outpost-agent.exe in {}", msi.display()));
    let out = run(tool("msiinfo").arg("extract").arg(msi).arg("Binary.OmnipackCA"));
    assert!(
        out.status.success() && out.stdout.starts_with(b"MZ"),
        "{}: {}",
        msi.display(),
        text(&out)
    );
    let dll = dir.join("omnipack_msi_ca.dll");
    std::fs::write(&dll, &out.stdout).unwrap();
    (exe, dll)
}


/// A time-stamp authority on 127.0.0.1 for as long as it lives.
pub struct Tsa {
    pub url: String,
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<&'static str>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _work: tempfile::TempDir,
}

/// The kinds of request, as [`Tsa::requests`] lists them.
pub const RFC3161: &str = "rfc3161";
pub const LEGACY: &str = "legacy";

impl Tsa {
    /// Answers RFC 3161 requests, and legacy Authenticode ones when
    /// `legacy` (else it refuses them with 404, as an RFC 3161-only
    /// authority does). Needs the throwaway PKI (any signed test build
    /// makes it).
    pub fn start(legacy: bool) -> Tsa {
        let pki = test_key_dir().join("authenticode");
        assert!(
            pki.join("test-tsa.key").is_file(),
            "no throwaway TSA key in {}",
            pki.display()
        );
        let work = tempfile::tempdir().unwrap();
        let w = work.path().to_path_buf();
        std::fs::write(
            w.join("tsa.cnf"),
            format!(
                "[ tsa ]\ndefault_tsa = t\n[ t ]\ndir = {0}\nserial = {0}/tsa-serial\nsigner_digest = sha256\n\
                 default_policy = 1.3.6.1.4.1.55555.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
                 ordering = no\ness_cert_id_alg = sha256\n",
                w.display()
            ),
        )
        .unwrap();
        std::fs::write(w.join("tsa-serial"), "01\n").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, halt) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                answer(stream, &pki, &w, legacy, &reqs);
            }
        });
        Tsa {
            url: format!("http://{addr}/"),
            addr,
            requests,
            stop,
            thread: Some(thread),
            _work: work,
        }
    }

    /// The requests answered or refused so far, in order.
    pub fn requests(&self) -> Vec<&'static str> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(stream: std::net::TcpStream, pki: &Path, work: &Path, legacy: bool, requests: &Mutex<Vec<&'static str>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut len, mut content_type) = (0, String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = lower.strip_prefix("content-type:") {
            content_type = v.trim().to_string();
        }
    }
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return; // the wake-up connection from Drop
    }
    let openssl = |args: &[&str], what: &str| {
        let out = run(tool("openssl").current_dir(work).args(args));
        assert!(out.status.success(), "{what}: {}", text(&out));
    };
    let key = pki.join("test-tsa.key").display().to_string();
    let cert = pki.join("test-tsa.pem").display().to_string();
    let ca = pki.join("test-ca.pem").display().to_string();
    let (kind, reply, reply_type) = if content_type == "application/timestamp-query" {
        std::fs::write(work.join("q.tsq"), &body).unwrap();
        openssl(
            &[
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                "q.tsq",
                "-inkey",
                &key,
                "-signer",
                &cert,
                "-chain",
                &ca,
                "-out",
                "r.tsr",
            ],
            "openssl ts -reply",
        );
        (
            RFC3161,
            Some(std::fs::read(work.join("r.tsr")).unwrap()),
            "application/timestamp-reply",
        )
    } else if !legacy {
        (LEGACY, None, "")
    } else {
        // A legacy request is base64 of SEQUENCE { 1.3.6.1.4.1.311.3.2.1,
        // SEQUENCE { data, [0] { OCTET STRING signature } } }; the answer is
        // a SignedData over the signature bytes, base64 as authorities send it.
        std::fs::write(work.join("q.b64"), &body).unwrap();
        openssl(&["base64", "-d", "-in", "q.b64", "-out", "q.der"], "openssl base64 -d");
        let der = std::fs::read(work.join("q.der")).unwrap();
        let signature = last_octet_string(&der).expect("an OCTET STRING in the legacy time-stamp request");
        std::fs::write(work.join("signature.bin"), signature).unwrap();
        openssl(
            &[
                "cms",
                "-sign",
                "-binary",
                "-nodetach",
                "-nosmimecap",
                "-md",
                "sha1",
                "-signer",
                &cert,
                "-inkey",
                &key,
                "-certfile",
                &ca,
                "-in",
                "signature.bin",
                "-outform",
                "DER",
                "-out",
                "reply.der",
            ],
            "openssl cms -sign",
        );
        openssl(&["base64", "-in", "reply.der", "-out", "reply.b64"], "openssl base64");
        (
            LEGACY,
            Some(std::fs::read(work.join("reply.b64")).unwrap()),
            "application/octet-stream",
        )
    };
    requests.lock().unwrap().push(kind);
    let mut s = stream;
    match reply {
        Some(reply) => {
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: {reply_type}\r\nContent-Length: {}\r\n\r\n",
                reply.len()
            );
            let _ = s.write_all(&reply);
        }
        None => {
            let _ = write!(s, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

/// The contents of the last OCTET STRING in DER `data`, depth first.
fn last_octet_string(data: &[u8]) -> Option<&[u8]> {
    let mut found = None;
    let mut rest = data;
    while rest.len() >= 2 {
        let tag = rest[0];
        let (len, header) = match rest[1] {
            l if l < 0x80 => (l as usize, 2),
            l => {
                let n = (l & 0x7f) as usize;
                let bytes = rest.get(2..2 + n)?;
                (bytes.iter().fold(0usize, |a, b| a << 8 | *b as usize), 2 + n)
            }
        };
        let content = rest.get(header..header + len)?;
        if tag == 0x04 {
            found = Some(content);
        } else if tag & 0x20 != 0 {
            if let Some(inner) = last_octet_string(content) {
                found = Some(inner);
            }
        }
        rest = &rest[header + len..];
    }
    found
}
