//! HTTPS GET into a staged file: a minimal HTTP/1.1 client over the agent's
//! own rustls configuration (the Switch link's trust and client certificate).
//! Minimal on purpose: one request per connection, no redirects, identity
//! encoding, a body framed by Content-Length, chunked encoding or TLS close.
//! Everything it reads is bounded (header size, body size, idle time).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::url::{HttpsUrl, Sha256};
use super::ContentError;

const MAX_HEADER: usize = 16 * 1024;

/// Limits of one download.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: u64,
    /// No byte for this long and the download is abandoned.
    pub idle: Duration,
}

/// A file in `TemporaryDirectory` that is removed unless it is kept: an
/// interrupted or refused download leaves nothing behind.
pub struct Staged {
    path: PathBuf,
    keep: bool,
}

impl Staged {
    pub fn create(dir: &Path, suffix: &str) -> Result<(Staged, std::fs::File), ContentError> {
        let name = format!("outpost-{:016x}{suffix}", crate::device::random_seed());
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| ContentError::io("staging in TemporaryDirectory", &path, e))?;
        Ok((Staged { path, keep: false }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `dest` atomically: a rename, or when the temporary
    /// directory is on another file system a copy next to `dest` renamed over it.
    pub fn place(mut self, dest: &Path) -> Result<(), ContentError> {
        if std::fs::rename(&self.path, dest).is_ok() {
            self.keep = true;
            return Ok(());
        }
        let side = dest.with_extension(format!("part-{:08x}", crate::device::random_seed() as u32));
        let copied = std::fs::copy(&self.path, &side)
            .and_then(|_| std::fs::File::open(&side)?.sync_all())
            .and_then(|_| std::fs::rename(&side, dest));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&side);
            return Err(ContentError::io("moving into place", dest, e));
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Downloads `url` into a new staged file and checks its SHA-256; on any
/// failure nothing is left in `staging`.
pub async fn download(
    config: Arc<rustls::ClientConfig>,
    url: &HttpsUrl,
    expected: &Sha256,
    staging: &Path,
    suffix: &str,
    limits: Limits,
) -> Result<(Staged, u64), ContentError> {
    let (staged, mut file) = Staged::create(staging, suffix)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    get(config, url, limits, |chunk| {
        size += chunk.len() as u64;
        if size > limits.max_bytes {
            return Err(ContentError::TooLarge(limits.max_bytes));
        }
        ctx.update(chunk);
        file.write_all(chunk)
            .map_err(|e| ContentError::io("writing", staged.path(), e))
    })
    .await?;
    file.sync_all().map_err(|e| ContentError::io("writing", staged.path(), e))?;
    drop(file);
    let got = Sha256::from_digest(ctx.finish());
    if got != *expected {
        return Err(ContentError::HashMismatch {
            url: url.to_string(),
            expected: expected.to_string(),
            got: got.to_string(),
        });
    }
    Ok((staged, size))
}

/// One GET; the body is handed to `sink` piece by piece.
async fn get(
    config: Arc<rustls::ClientConfig>,
    url: &HttpsUrl,
    limits: Limits,
    mut sink: impl FnMut(&[u8]) -> Result<(), ContentError>,
) -> Result<(), ContentError> {
    let net = |e: std::io::Error| ContentError::Http(format!("{url}: {e}"));
    let tcp = timeout(limits.idle, TcpStream::connect((url.host.as_str(), url.port)))
        .await
        .map_err(|_| ContentError::Http(format!("{url}: no connection within {} s", limits.idle.as_secs())))?
        .map_err(net)?;
    let name = ServerName::try_from(url.host.clone()).map_err(|e| ContentError::BadUrl(format!("{url}: {e}")))?;
    let tls = timeout(limits.idle, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| ContentError::Http(format!("{url}: no TLS handshake within {} s", limits.idle.as_secs())))?
        .map_err(|e| ContentError::Http(format!("TLS with {}: {e}", url.authority())))?;
    let mut io = BufReader::new(tls);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: outpost-agent/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.target,
        url.authority(),
        env!("CARGO_PKG_VERSION")
    );
    io.get_mut().write_all(request.as_bytes()).await.map_err(net)?;
    io.get_mut().flush().await.map_err(net)?;
    let head = read_head(&mut io, limits.idle).await.map_err(net)?;
    let head = Head::parse(&head).map_err(|e| ContentError::Http(format!("{url}: {e}")))?;
    if head.status != 200 {
        return Err(ContentError::Status {
            url: url.to_string(),
            status: head.status,
        });
    }
    let body = if head.chunked {
        read_chunked(&mut io, limits, &mut sink).await
    } else {
        read_plain(&mut io, head.length, limits, &mut sink).await
    };
    body.map_err(|e| match e {
        BodyError::Io(e) => net(e),
        BodyError::Sink(e) => e,
    })
}

enum BodyError {
    Io(std::io::Error),
    Sink(ContentError),
}

impl From<std::io::Error> for BodyError {
    fn from(e: std::io::Error) -> Self {
        BodyError::Io(e)
    }
}

fn invalid(why: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.into())
}

async fn idle<T>(d: Duration, f: impl std::future::Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    timeout(d, f)
        .await
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("nothing received for {} s", d.as_secs()))))
}

/// The status line and headers, up to the blank line.
async fn read_head<R: AsyncBufRead + Unpin>(io: &mut R, d: Duration) -> std::io::Result<String> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = idle(d, io.read_until(b'\n', &mut head)).await?;
        if n == 0 {
            return Err(invalid("the connection ended inside the response head"));
        }
        if head.len() > MAX_HEADER {
            return Err(invalid(format!("response head over {MAX_HEADER} bytes")));
        }
        if matches!(&head[before..], b"\r\n" | b"\n") {
            return String::from_utf8(head).map_err(|_| invalid("response head is not UTF-8"));
        }
    }
}

struct Head {
    status: u16,
    length: Option<u64>,
    chunked: bool,
}

impl Head {
    fn parse(text: &str) -> Result<Head, String> {
        let mut lines = text.lines();
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.split(' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return Err(format!("bad status line `{}`", outpost_manifest::clip(status_line)));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(format!("not HTTP/1.x: `{}`", outpost_manifest::clip(status_line)));
        }
        let status = code.parse().map_err(|_| format!("bad status `{}`", outpost_manifest::clip(code)))?;
        let mut head = Head { status, length: None, chunked: false };
        for line in lines {
            let Some((name, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n = value.parse().map_err(|_| format!("bad Content-Length `{}`", outpost_manifest::clip(value)))?;
                if head.length.is_some_and(|m| m != n) {
                    return Err("conflicting Content-Length headers".into());
                }
                head.length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = value.rsplit(',').next().unwrap_or_default().trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return Err(format!("unsupported Transfer-Encoding `{}`", outpost_manifest::clip(value)));
                }
                head.chunked = true;
            }
        }
        Ok(head)
    }
}

async fn read_plain<R: AsyncBufRead + Unpin>(
    io: &mut R,
    length: Option<u64>,
    limits: Limits,
    sink: &mut impl FnMut(&[u8]) -> Result<(), ContentError>,
) -> Result<(), BodyError> {
    let mut left = length;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let want = left.map_or(buf.len(), |l| l.min(buf.len() as u64) as usize);
        if want == 0 {
            return Ok(());
        }
        // Without a length the body ends with the TLS session: a close_notify
        // is required (tokio-rustls reports a bare TCP close as an error), so a
        // cut connection is never mistaken for a complete file.
        let n = idle(limits.idle, io.read(&mut buf[..want])).await?;
        if n == 0 {
            return match left {
                Some(l) => Err(invalid(format!("the connection ended {l} bytes before the end of the body")).into()),
                None => Ok(()),
            };
        }
        sink(&buf[..n]).map_err(BodyError::Sink)?;
        left = left.map(|l| l - n as u64);
    }
}

async fn read_chunked<R: AsyncBufRead + Unpin>(
    io: &mut R,
    limits: Limits,
    sink: &mut impl FnMut(&[u8]) -> Result<(), ContentError>,
) -> Result<(), BodyError> {
    let mut line = Vec::new();
    loop {
        line.clear();
        idle(limits.idle, io.read_until(b'\n', &mut line)).await?;
        let text = std::str::from_utf8(&line).map_err(|_| invalid("bad chunk size line"))?;
        let size = text.trim().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size, 16).map_err(|_| invalid(format!("bad chunk size `{}`", outpost_manifest::clip(size))))?;
        if size == 0 {
            // Trailers, if any, end at an empty line; they carry nothing we use.
            let _ = read_head(io, limits.idle).await;
            return Ok(());
        }
        let mut left = size;
        while left > 0 {
            let chunk = idle(limits.idle, io.fill_buf()).await?;
            if chunk.is_empty() {
                return Err(invalid("the connection ended inside a chunk").into());
            }
            let n = chunk.len().min(left.min(usize::MAX as u64) as usize);
            sink(&chunk[..n]).map_err(BodyError::Sink)?;
            io.consume(n);
            left -= n as u64;
        }
        let mut crlf = [0u8; 2];
        idle(limits.idle, io.read_exact(&mut crlf)).await?;
        if &crlf != b"\r\n" {
            return Err(invalid("a chunk not followed by CRLF").into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_bytes: 1 << 20, idle: Duration::from_secs(5) }
    }

    async fn body(raw: &[u8], chunked: bool, length: Option<u64>) -> Result<Vec<u8>, String> {
        let mut io = BufReader::new(raw);
        let mut out = Vec::new();
        let mut sink = |c: &[u8]| {
            out.extend_from_slice(c);
            Ok(())
        };
        let r = if chunked {
            read_chunked(&mut io, limits(), &mut sink).await
        } else {
            read_plain(&mut io, length, limits(), &mut sink).await
        };
        r.map(|_| out).map_err(|e| match e {
            BodyError::Io(e) => e.to_string(),
            BodyError::Sink(e) => e.to_string(),
        })
    }

    #[tokio::test]
    async fn bodies_by_length_and_by_chunks() {
        assert_eq!(body(b"hello world", false, Some(5)).await.unwrap(), b"hello");
        assert!(body(b"hel", false, Some(5)).await.unwrap_err().contains("2 bytes before"));
        assert_eq!(body(b"4;x=1\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", true, None).await.unwrap(), b"Wikipedia");
        assert!(body(b"4\r\nWiki", true, None).await.is_err());
        assert!(body(b"zz\r\n", true, None).await.is_err());
        let h = Head::parse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!((h.status, h.length, h.chunked), (200, Some(12), true));
        assert!(Head::parse("SSH-2.0-x\r\n\r\n").is_err());
        assert!(Head::parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").is_err());
    }
}
