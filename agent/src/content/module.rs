//! The content module (feature `content`): a local service of the agent with
//! its own cache, asked first by the platform client.
//!
//! Local API: loopback TCP on 127.0.0.1, an ephemeral port, one request per
//! connection, one line each way (see `local.rs` for the wire format). The
//! port and a random 32-byte token are written to `content-module.endpoint`
//! in the state directory, readable only by the agent's account; a request
//! without the token is refused. Loopback plus token rather than a Unix
//! socket / named pipe: one code path on every OS, and the access rule (who
//! can read the state directory) is the same one that already protects the
//! device id and the resource cache.
//!
//! Downloads: at most `DOWNLOADS` at a time (the others wait their turn),
//! staged in `TemporaryDirectory` and hashed like the direct route, then kept
//! in `content-cache/` under the state directory, bounded like the resource
//! cache. What is cached is answered at once, without the network.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::cache::Cache;
use super::fetch::{self, Staged};
use super::local::{self, Endpoint, Request};
use super::url::{HttpsUrl, Sha256};
use super::ContentError;
use crate::tls::ClientTls;

/// Concurrent downloads to upstream sources.
pub const DOWNLOADS: usize = 3;
/// Connections served at once; more are closed at once (only our own agent
/// talks to the module, so this only bounds a misbehaving local client).
const CONNECTIONS: usize = 64;
/// A client has this long to send its request line.
const REQUEST_WITHIN: Duration = Duration::from_secs(5);

pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<(Staged, u64)>, ContentError>> + Send + 'a>>;

/// Where the module gets content it does not hold, asked in order. The seam
/// for peer sharing: a `Peers` source goes before the Background Channel and
/// answers `Ok(None)` when no peer on the site has the file.
pub trait Source: Send + Sync {
    fn name(&self) -> &'static str;
    fn fetch<'a>(&'a self, url: &'a HttpsUrl, sha: &'a Sha256, staging: &'a Path) -> SourceFuture<'a>;
}

/// The HTTP source itself, with the platform client's TLS settings. No
/// stagger: the platform client asked at once, as the product says.
pub struct BackgroundChannel {
    pub tls: Arc<ClientTls>,
    pub limits: fetch::Limits,
}

impl Source for BackgroundChannel {
    fn name(&self) -> &'static str {
        "Background Channel"
    }

    fn fetch<'a>(&'a self, url: &'a HttpsUrl, sha: &'a Sha256, staging: &'a Path) -> SourceFuture<'a> {
        Box::pin(async move {
            let prepared = self.tls.prepare()?;
            fetch::download(prepared.config, url, sha, staging, "", self.limits).await.map(Some)
        })
    }
}

pub struct ModuleConfig {
    pub state_dir: PathBuf,
    /// `TemporaryDirectory`: downloads are staged there.
    pub temporary: PathBuf,
    pub cache_limit_bytes: u64,
}

impl ModuleConfig {
    pub fn new(state_dir: &Path, temporary: PathBuf) -> ModuleConfig {
        ModuleConfig {
            state_dir: state_dir.to_path_buf(),
            temporary,
            cache_limit_bytes: 4 << 30,
        }
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.state_dir.join("content-cache")
    }
}

struct Inner {
    token: [u8; 32],
    cache: Cache,
    temporary: PathBuf,
    sources: Vec<Box<dyn Source>>,
    downloads: Semaphore,
}

pub struct ContentModule {
    listener: TcpListener,
    endpoint_file: PathBuf,
    inner: Arc<Inner>,
}

impl ContentModule {
    /// Listens on 127.0.0.1 and publishes the endpoint file.
    pub async fn bind(config: ModuleConfig, sources: Vec<Box<dyn Source>>) -> Result<ContentModule, ContentError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ContentError::io("listening on", Path::new("127.0.0.1"), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| ContentError::io("listening on", Path::new("127.0.0.1"), e))?
            .port();
        let endpoint_file = local::endpoint_file(&config.state_dir);
        let endpoint = Endpoint::new(port, &endpoint_file)?;
        endpoint.write(&endpoint_file)?;
        let inner = Inner {
            token: endpoint.token,
            cache: Cache::new(config.cache_dir(), config.cache_limit_bytes),
            temporary: config.temporary,
            sources,
            downloads: Semaphore::new(DOWNLOADS),
        };
        Ok(ContentModule { listener, endpoint_file, inner: Arc::new(inner) })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves until `stop` resolves, then withdraws the endpoint file so the
    /// platform client goes direct (with its stagger) at once.
    pub async fn serve(self, stop: impl Future<Output = ()>) {
        tracing::info!(port = self.port(), "content module listening on loopback");
        let connections = Arc::new(Semaphore::new(CONNECTIONS));
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                _ = &mut stop => break,
                a = self.listener.accept() => a,
            };
            let Ok((tcp, _)) = accepted else { continue };
            let Ok(slot) = connections.clone().try_acquire_owned() else { continue };
            let inner = self.inner.clone();
            tokio::spawn(async move {
                inner.connection(tcp).await;
                drop(slot);
            });
        }
        let _ = std::fs::remove_file(&self.endpoint_file);
        tracing::info!("content module stopped");
    }
}

impl Inner {
    async fn connection(&self, tcp: TcpStream) {
        let mut io = BufReader::new(tcp);
        let mut line = String::new();
        let mut limited = (&mut io).take(local::MAX_LINE as u64);
        let read = tokio::time::timeout(REQUEST_WITHIN, limited.read_line(&mut line)).await;
        let answer = match read {
            Ok(Ok(_)) => match Request::parse(&line, &self.token) {
                Ok(req) => self.answer(&req).await,
                Err(why) => local::Answer::Refused(why),
            },
            _ => return,
        };
        let _ = io.get_mut().write_all(answer.line().as_bytes()).await;
        let _ = io.get_mut().shutdown().await;
    }

    async fn answer(&self, req: &Request) -> local::Answer {
        match self.get(req).await {
            Ok((path, cached)) => local::Answer::Ok { path, cached },
            Err(e) => {
                tracing::warn!(url = %req.url, error = %e, "content module could not get the content");
                local::Answer::Refused(e.to_string())
            }
        }
    }

    fn lookup(&self, sha: &Sha256) -> Option<PathBuf> {
        self.cache.lookup(&sha.to_string(), "blob", sha)
    }

    /// The cached copy, or a download from the first source that has it.
    async fn get(&self, req: &Request) -> Result<(PathBuf, bool), ContentError> {
        if let Some(path) = self.lookup(&req.sha256) {
            return Ok((path, true));
        }
        let _turn = self.downloads.acquire().await;
        // Another request may have brought the same file while this one waited.
        if let Some(path) = self.lookup(&req.sha256) {
            return Ok((path, true));
        }
        for source in &self.sources {
            let Some((staged, size)) = source.fetch(&req.url, &req.sha256, &self.temporary).await? else {
                continue;
            };
            let dest = self.cache.prepare(&req.sha256.to_string(), "blob")?;
            staged.place(&dest)?;
            self.cache.evict(&dest);
            tracing::info!(url = %req.url, size, source = source.name(), "content module fetched");
            return Ok((dest, false));
        }
        Err(ContentError::Http(format!("{}: no source has it", req.url)))
    }
}
