//! One worker per enabled feature. Workers share a stop signal and return
//! promptly when it is raised.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::config::Effective;
use crate::schema::manifest;

/// A stop flag that sleeping workers can wait on.
#[derive(Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    pub fn raise(&self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap() = true;
        c.notify_all();
    }

    /// Sleeps up to `d`; returns true if stop was raised.
    pub fn wait(&self, d: Duration) -> bool {
        let (m, c) = &*self.0;
        let guard = m.lock().unwrap();
        let (guard, _) = c.wait_timeout_while(guard, d, |stopped| !*stopped).unwrap();
        *guard
    }
}

/// Features that are installed on this platform and switched on.
pub fn enabled_features(cfg: &Effective, paths: &crate::paths::Paths) -> Vec<String> {
    manifest()
        .features_on(paths.platform)
        .filter(|f| f.required || paths.feature_installed(&f.id))
        .filter(|f| f.enabled_by.as_deref().is_none_or(|s| cfg.flag(s)))
        .map(|f| f.id.clone())
        .collect()
}

pub fn start(features: &[String], cfg: &Effective, stop: &Stop) -> Vec<(String, JoinHandle<()>)> {
    features
        .iter()
        .map(|f| {
            let stop = stop.clone();
            let id = f.clone();
            let handle = match f.as_str() {
                "platform" => {
                    let switch = cfg.get("Switch").to_string();
                    let stagger = cfg.int("DefaultStaggerRangeSeconds") as u64;
                    std::thread::spawn(move || platform(switch, stagger, stop))
                }
                _ => std::thread::spawn(move || idle(id, stop)),
            };
            (f.clone(), handle)
        })
        .collect()
}

fn idle(feature: String, stop: Stop) {
    info!(feature, "worker started");
    while !stop.wait(Duration::from_secs(60)) {
        info!(feature, "worker alive");
    }
    info!(feature, "worker stopped");
}

/// Keeps trying to reach the Switch with capped exponential back-off. The
/// WebSocket/TLS session on top of the connection is not implemented yet.
fn platform(switch: String, stagger_range: u64, stop: Stop) {
    info!(switch, stagger_range, "platform worker started");
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let result = switch
            .to_socket_addrs()
            .map_err(|e| e.to_string())
            .and_then(|mut addrs| addrs.next().ok_or_else(|| "no address".to_string()))
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).map_err(|e| e.to_string()));
        match result {
            Ok(_) => {
                info!(switch, "reached the Switch");
                backoff = Duration::from_secs(1);
            }
            Err(e) => warn!(switch, error = %e, elapsed_ms = started.elapsed().as_millis() as u64, "cannot reach the Switch"),
        }
        if stop.wait(backoff) {
            break;
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
    info!("platform worker stopped");
}
