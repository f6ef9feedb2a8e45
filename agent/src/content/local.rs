//! The content module's local API, both ends of the wire, and the platform
//! client's side of it.
//!
//! One request per loopback TCP connection, one line each way:
//!   `OUTPOST-CONTENT/1 <token, 64 hex> <sha256, 64 hex> <https URL>\n`
//!   `OK cached|fetched <path in the module's cache>\n` or `ERR <reason>\n`
//! The endpoint file `content-module.endpoint` in the state directory holds
//! `127.0.0.1:<port> <token>`; it is written 0600 on Unix and inherits the
//! state directory's ACL on Windows.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::fetch::Staged;
use super::url::{HttpsUrl, Sha256};
use super::ContentError;

pub const MAX_LINE: usize = 8 * 1024;
const MAGIC: &str = "OUTPOST-CONTENT/1";

pub fn endpoint_file(state_dir: &Path) -> PathBuf {
    state_dir.join("content-module.endpoint")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub struct Endpoint {
    pub port: u16,
    pub token: [u8; 32],
}

impl Endpoint {
    /// A fresh random token; no endpoint at all rather than a guessable one.
    pub fn new(port: u16, file: &Path) -> Result<Endpoint, ContentError> {
        use ring::rand::SecureRandom;
        let mut token = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut token)
            .map_err(|_| ContentError::io("drawing a token for", file, std::io::Error::other("no system randomness")))?;
        Ok(Endpoint { port, token })
    }

    /// Written to a private side file and renamed, so a reader never sees half.
    pub fn write(&self, file: &Path) -> Result<(), ContentError> {
        let side = file.with_extension("endpoint-new");
        let _ = std::fs::remove_file(&side);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let text = format!("127.0.0.1:{} {}\n", self.port, hex(&self.token));
        opts.open(&side)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|_| std::fs::rename(&side, file))
            .map_err(|e| ContentError::io("writing the content module endpoint", file, e))
    }

    pub fn read(file: &Path) -> Result<Endpoint, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (addr, token) = text.trim().split_once(' ').ok_or("malformed endpoint file")?;
        let port = addr.strip_prefix("127.0.0.1:").and_then(|p| p.parse().ok()).ok_or("malformed endpoint file")?;
        let token = parse_token(token).ok_or("malformed endpoint file")?;
        Ok(Endpoint { port, token })
    }
}

fn parse_token(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Compares every byte whatever the first difference, so the time taken does
/// not tell a local guesser how much of the token was right.
fn same_token(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Request {
    pub sha256: Sha256,
    pub url: HttpsUrl,
}

impl Request {
    pub fn line(token: &[u8; 32], sha: &Sha256, url: &HttpsUrl) -> String {
        format!("{MAGIC} {} {sha} {url}\n", hex(token))
    }

    pub fn parse(line: &str, token: &[u8; 32]) -> Result<Request, String> {
        let mut parts = line.trim_end().splitn(4, ' ');
        if parts.next() != Some(MAGIC) {
            return Err("not an OUTPOST-CONTENT/1 request".into());
        }
        let given = parts.next().and_then(parse_token);
        if !given.is_some_and(|g| same_token(&g, token)) {
            return Err("wrong token".into());
        }
        let sha256 = Sha256::parse(parts.next().unwrap_or_default()).map_err(|e| e.to_string())?;
        let url = HttpsUrl::parse(parts.next().unwrap_or_default()).map_err(|e| e.to_string())?;
        Ok(Request { sha256, url })
    }
}

pub enum Answer {
    Ok { path: PathBuf, cached: bool },
    Refused(String),
}

impl Answer {
    pub fn line(&self) -> String {
        match self {
            Answer::Ok { path, cached } => {
                format!("OK {} {}\n", if *cached { "cached" } else { "fetched" }, path.display())
            }
            Answer::Refused(why) => format!("ERR {}\n", why.replace(['\r', '\n'], " ")),
        }
    }

    fn parse(line: &str) -> Answer {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(rest) = line.strip_prefix("OK ") {
            if let Some((how, path)) = rest.split_once(' ') {
                return Answer::Ok { path: PathBuf::from(path), cached: how == "cached" };
            }
        }
        let why = line.strip_prefix("ERR ").unwrap_or("malformed answer");
        Answer::Refused(outpost_manifest::clip(why).to_string())
    }
}

/// What asking the module came to.
pub enum Asked {
    /// Staged in `TemporaryDirectory`, hash checked, like a direct download.
    Delivered(Staged, u64),
    /// No module is listening (not running, or stopped): as if there were
    /// no integration, so the direct download keeps its stagger.
    Unavailable(String),
    /// The module was there but did not deliver in time or refused: the
    /// direct download follows at once, the timeout having been the wait.
    Failed(String),
}

/// The platform client's side: asks the module and waits at most `timeout`
/// (`ContentDownloadTimeoutSeconds`) for the answer.
pub struct ModuleClient {
    pub endpoint_file: PathBuf,
    pub timeout: Duration,
}

impl ModuleClient {
    pub async fn fetch(&self, url: &HttpsUrl, sha: &Sha256, staging: &Path, suffix: &str) -> Asked {
        let endpoint = match Endpoint::read(&self.endpoint_file) {
            Ok(e) => e,
            Err(why) => return Asked::Unavailable(format!("no content module endpoint ({why})")),
        };
        let tcp = match TcpStream::connect(("127.0.0.1", endpoint.port)).await {
            Ok(t) => t,
            Err(e) => return Asked::Unavailable(format!("content module not listening on port {}: {e}", endpoint.port)),
        };
        let line = Request::line(&endpoint.token, sha, url);
        let answer = match tokio::time::timeout(self.timeout, exchange(tcp, &line)).await {
            Err(_) => return Asked::Failed(format!("no content from the module within {} s", self.timeout.as_secs_f32())),
            Ok(Err(e)) => return Asked::Failed(format!("content module connection: {e}")),
            Ok(Ok(a)) => a,
        };
        let path = match answer {
            Answer::Ok { path, .. } => path,
            Answer::Refused(why) => return Asked::Failed(format!("the content module answered: {why}")),
        };
        let (sha, staging, suffix) = (*sha, staging.to_path_buf(), suffix.to_string());
        let copied = tokio::task::spawn_blocking(move || stage_copy(&path, &sha, &staging, &suffix)).await;
        match copied {
            Ok(Ok((staged, size))) => Asked::Delivered(staged, size),
            Ok(Err(e)) => Asked::Failed(format!("copying from the content module's cache: {e}")),
            Err(e) => Asked::Failed(format!("copying from the content module's cache: {e}")),
        }
    }
}

async fn exchange(tcp: TcpStream, line: &str) -> std::io::Result<Answer> {
    let mut io = BufReader::new(tcp);
    io.get_mut().write_all(line.as_bytes()).await?;
    let mut answer = String::new();
    (&mut io).take(MAX_LINE as u64).read_line(&mut answer).await?;
    Ok(Answer::parse(&answer))
}

/// Copies the module's file into a staged file, checking the hash again:
/// the module's cache is trusted no more than the network.
fn stage_copy(src: &Path, sha: &Sha256, staging: &Path, suffix: &str) -> Result<(Staged, u64), ContentError> {
    let (staged, mut file) = Staged::create(staging, suffix)?;
    let mut from = std::fs::File::open(src).map_err(|e| ContentError::io("opening", src, e))?;
    let size = std::io::copy(&mut from, &mut file).map_err(|e| ContentError::io("copying", src, e))?;
    file.sync_all().map_err(|e| ContentError::io("writing", staged.path(), e))?;
    drop(file);
    let got = Sha256::of_file(staged.path()).map_err(|e| ContentError::io("hashing", staged.path(), e))?;
    if got != *sha {
        return Err(ContentError::HashMismatch { url: src.display().to_string(), expected: sha.to_string(), got: got.to_string() });
    }
    Ok((staged, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_need_the_token_and_answers_round_trip() {
        let token = [7u8; 32];
        let sha = Sha256::of_bytes(b"x");
        let url = HttpsUrl::parse("https://bg.example/Background/a.bin").unwrap();
        let line = Request::line(&token, &sha, &url);
        let req = Request::parse(&line, &token).unwrap();
        assert_eq!((req.sha256, req.url.to_string()), (sha, url.to_string()));
        assert_eq!(Request::parse(&line, &[8u8; 32]).err().as_deref(), Some("wrong token"));
        assert!(Request::parse("GET / HTTP/1.1\r\n", &token).is_err());
        let ok = Answer::Ok { path: "/s/content-cache/a b".into(), cached: true };
        assert!(matches!(Answer::parse(&ok.line()), Answer::Ok { path, cached: true } if path == Path::new("/s/content-cache/a b")));
        assert!(matches!(Answer::parse("ERR 404\n"), Answer::Refused(w) if w == "404"));
    }

    #[test]
    fn the_endpoint_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let file = endpoint_file(dir.path());
        let e = Endpoint::new(4242, &file).unwrap();
        e.write(&file).unwrap();
        e.write(&file).unwrap();
        let back = Endpoint::read(&file).unwrap();
        assert_eq!((back.port, back.token), (4242, e.token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
