//! A test Background Channel: an HTTPS file server on loopback that serves
//! files from memory with the test Switch's TLS set-up, and counts requests
//! (per path too), so a test can tell a download from a cache hit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pki::Pki;
use crate::server::{tls_config, SwitchConfig};

#[derive(Clone)]
struct File {
    body: Vec<u8>,
    chunked: bool,
}

#[derive(Default)]
struct Shared {
    files: Mutex<HashMap<String, File>>,
    hits: Mutex<HashMap<String, usize>>,
    requests: AtomicUsize,
    times: Mutex<Vec<Instant>>,
}

pub struct BackgroundChannel {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl BackgroundChannel {
    /// Listens on 127.0.0.1 with a server certificate from `pki` (localhost, 127.0.0.1, ::1).
    pub fn start(pki: &Pki) -> BackgroundChannel {
        let tls = Arc::new(tls_config(&SwitchConfig::new(pki)).expect("TLS configuration"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-background")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let shared = Arc::new(Shared::default());
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        runtime.spawn(accept(listener, TlsAcceptor::from(tls), shared.clone()));
        BackgroundChannel {
            runtime: Some(runtime),
            shared,
            addr,
        }
    }

    /// `https://127.0.0.1:PORT/Background/`: the agent's `BackgroundChannelUrl`.
    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}/Background/", self.addr.port())
    }

    /// Serves `body` at `/Background/<path>` with a Content-Length.
    pub fn put(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.insert(path, body.into(), false);
    }

    /// Serves `body` at `/Background/<path>` in chunked encoding.
    pub fn put_chunked(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.insert(path, body.into(), true);
    }

    fn insert(&self, path: &str, body: Vec<u8>, chunked: bool) {
        let key = format!("/Background/{}", path.trim_start_matches('/'));
        self.shared.files.lock().unwrap().insert(key, File { body, chunked });
    }

    /// Every request so far, served or not.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// When each request's head had arrived, in order: a test can tell when a
    /// download started, not just whether it did.
    pub fn request_times(&self) -> Vec<Instant> {
        self.shared.times.lock().unwrap().clone()
    }

    /// Requests for `/Background/<path>`.
    pub fn hits(&self, path: &str) -> usize {
        let key = format!("/Background/{}", path.trim_start_matches('/'));
        self.shared.hits.lock().unwrap().get(&key).copied().unwrap_or(0)
    }
}

impl Drop for BackgroundChannel {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, tls: TlsAcceptor, shared: Arc<Shared>) {
    while let Ok((tcp, _)) = listener.accept().await {
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            if let Ok(stream) = tls.accept(tcp).await {
                let _ = serve(stream, &shared).await;
            }
        });
    }
}

/// One request per connection, as the agent sends them (Connection: close).
async fn serve<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S, shared: &Shared) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    let mut line = String::new();
    io.read_line(&mut line).await?;
    let path = line.split(' ').nth(1).unwrap_or("").to_string();
    // Headers are read to their end and ignored; bounded by the test's own client.
    for _ in 0..100 {
        let mut h = String::new();
        if io.read_line(&mut h).await? == 0 || h == "\r\n" {
            break;
        }
    }
    shared.times.lock().unwrap().push(Instant::now());
    shared.requests.fetch_add(1, Ordering::SeqCst);
    *shared.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let file = shared.files.lock().unwrap().get(&path).cloned();
    let out = io.get_mut();
    match file {
        None => out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await?,
        Some(File { body, chunked: false }) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            out.write_all(head.as_bytes()).await?;
            out.write_all(&body).await?;
        }
        Some(File { body, chunked: true }) => {
            out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").await?;
            for piece in body.chunks(7) {
                out.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await?;
                out.write_all(piece).await?;
                out.write_all(b"\r\n").await?;
            }
            out.write_all(b"0\r\n\r\n").await?;
        }
    }
    out.flush().await?;
    out.shutdown().await
}
