//! The stagger benchmark (scripts/bench-stagger): N clients, each the
//! agent's own content handler with its own seeded stagger, given the same
//! `fetch-resource` at the same instant, against the test Background Channel
//! on 127.0.0.1. It reports the Background Channel's peak requests in any one
//! second against N / range, the bound the stagger promises, and the same
//! with no stagger (range 0) for comparison. Loopback only; every wait is
//! bounded.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use outpost_agent::content::{Content, ContentConfig, HttpsUrl, Job, ResourceArgs, Route, Sha256, Stagger};
use outpost_agent::tls::{ClientTls, IdentitySource, Trust};
use outpost_test_switch::{BackgroundChannel, Pki};

#[derive(Parser)]
struct Args {
    /// Simulated clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// `DefaultStaggerRangeSeconds`.
    #[arg(long, default_value_t = 20)]
    range: u64,
    /// Seed of the first client's stagger (client k uses seed + k).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The most requests that arrived within any one-second window.
fn peak_per_second(times: &[Instant]) -> usize {
    let mut t: Vec<Instant> = times.to_vec();
    t.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..t.len() {
        while t[end].duration_since(t[start]) >= Duration::from_secs(1) {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// The most requests in one of the whole seconds counted from `start`.
fn peak_per_clock_second(times: &[Instant], start: Instant) -> usize {
    let mut bins = std::collections::BTreeMap::new();
    for t in times {
        *bins.entry(t.duration_since(start).as_secs()).or_insert(0usize) += 1;
    }
    bins.values().copied().max().unwrap_or(0)
}

/// What one run measured at the Background Channel.
struct Measured {
    /// Most requests within any sliding one-second window.
    peak_sliding: usize,
    /// Most requests within one of the seconds counted from the instruction.
    peak_per_second: usize,
    last: Duration,
}

/// Runs `clients` handlers with `range`.
fn run(dir: &Path, pki: &Pki, clients: usize, range: u64, seed: u64) -> Measured {
    let bg = BackgroundChannel::start(pki);
    let body = b"a client resource\n".repeat(4096);
    bg.put("mods/common.bin", body.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let start = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..clients {
            let state = dir.join(format!("range{range}/client{k}"));
            let temp = state.join("tmp");
            std::fs::create_dir_all(&temp).expect("client folders");
            let tls = ClientTls { trust: Trust::new(Some(pki.ca_path())), identity: IdentitySource::None, password: String::new() };
            let config = ContentConfig::new(HttpsUrl::parse(&bg.base_url()).expect("base URL"), temp, &state);
            let route = Route::Direct(Stagger::new(Duration::from_secs(range), seed + k as u64));
            let content = Content::new(config, Arc::new(tls), route);
            let job = Job::Resource(ResourceArgs {
                name: "common".into(),
                version: "1".into(),
                url: "mods/common.bin".into(),
                sha256: Sha256::of_bytes(&body),
            });
            tasks.push(tokio::spawn(async move { content.run(job).await.map(|_| ()) }));
        }
        let bound = Duration::from_secs(range + 60);
        for t in tasks {
            tokio::time::timeout(bound, t).await.expect("bounded").expect("task").expect("download");
        }
    });
    let times = bg.request_times();
    assert_eq!(times.len(), clients, "one request per client");
    Measured {
        peak_sliding: peak_per_second(&times),
        peak_per_second: peak_per_clock_second(&times, start),
        last: times.iter().max().map(|t| t.duration_since(start)).unwrap_or_default(),
    }
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temporary folder");
    let pki = Pki::new(&dir.path().join("pki"));
    let flat = run(dir.path(), &pki, args.clients, 0, args.seed);
    let staggered = run(dir.path(), &pki, args.clients, args.range, args.seed);
    let bound = args.clients as f64 / args.range as f64;
    let view = |m: &Measured| {
        serde_json::json!({
            "peak_requests_in_a_clock_second": m.peak_per_second,
            "peak_requests_in_any_second": m.peak_sliding,
            "last_request_seconds": m.last.as_secs_f64(),
        })
    };
    println!(
        "{}",
        serde_json::json!({
            "clients": args.clients,
            "range_seconds": args.range,
            "clients_per_range_second": bound,
            "no_stagger": view(&flat),
            "stagger": view(&staggered),
            "clock_second_peak_over_clients_per_second": staggered.peak_per_second as f64 / bound,
        })
    );
}
