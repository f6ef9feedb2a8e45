//! `IdleProxy`: a loopback TCP forwarder that drops connections nothing has crossed for a
//! while, the way NAT tables and proxies do, to show that the client's heartbeat keeps a link
//! alive (and what happens without it). Bytes pass unchanged, so TLS runs end to end through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    idle_closes: AtomicUsize,
}

pub struct IdleProxy {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: watch::Sender<bool>,
}

impl IdleProxy {
    /// Listens on 127.0.0.1 (free port) and forwards each connection to `upstream`, closing both
    /// directions once no byte has flowed either way for `idle`.
    pub fn start(upstream: SocketAddr, idle: Duration) -> IdleProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("idle-proxy")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = {
            let _guard = runtime.enter();
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
            std_listener.set_nonblocking(true).expect("nonblocking");
            TcpListener::from_std(std_listener).expect("proxy listener")
        };
        let addr = listener.local_addr().expect("proxy address");
        let counters = Arc::new(Counters::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        runtime.spawn(accept_loop(listener, upstream, idle, counters.clone(), shutdown_rx));
        IdleProxy {
            runtime: Some(runtime),
            addr,
            counters,
            shutdown,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections closed because they were idle (not those either end closed).
    pub fn idle_closes(&self) -> usize {
        self.counters.idle_closes.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.counters.connections.load(Ordering::SeqCst)
    }
}

impl Drop for IdleProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    idle: Duration,
    counters: Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    counters.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(forward(client, upstream, idle, counters.clone(), shutdown.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Both directions in one task with one idle deadline, so "idle" means neither way moved.
async fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    idle: Duration,
    counters: Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(Ok(server)) = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(upstream)).await else {
        return; // dropping `client` closes it, as a refused upstream would look through a NAT
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut client_done, mut server_done) = (false, false);
    let mut last = Instant::now();
    while !(client_done && server_done) {
        tokio::select! {
            r = client_read.read(&mut up), if !client_done => match r {
                Ok(0) | Err(_) => {
                    client_done = true;
                    let _ = server_write.shutdown().await;
                }
                Ok(n) => {
                    last = Instant::now();
                    if server_write.write_all(&up[..n]).await.is_err() {
                        return;
                    }
                }
            },
            r = server_read.read(&mut down), if !server_done => match r {
                Ok(0) | Err(_) => {
                    server_done = true;
                    let _ = client_write.shutdown().await;
                }
                Ok(n) => {
                    last = Instant::now();
                    if client_write.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
            },
            _ = tokio::time::sleep_until(last + idle) => {
                counters.idle_closes.fetch_add(1, Ordering::SeqCst);
                return; // all four halves drop here: both TCP connections close
            }
            _ = shutdown.changed() => return,
        }
    }
}
