//! `outpost-test-switch`: the test Switch as a process, for benchmarks that kill and restart
//! it and count how agents come back. Prints one JSON object per line on stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use outpost_test_switch::{ClientAuth, EventKind, Pki, SwitchConfig, TestSwitch};
use serde_json::json;

#[derive(Parser)]
#[command(about = "A loopback Switch for Outpost tests and benchmarks")]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory of the test PKI: its CA (ca.pem, ca-key.pem) is reused when present, so
    /// agents keep trusting a restarted Switch; server.pem/server-key.pem are written anew.
    #[arg(long)]
    pki: PathBuf,
    #[arg(long, value_enum, default_value = "off")]
    client_auth: Auth,
    /// Never answer hellos (the clients' welcome timeout then closes them).
    #[arg(long)]
    no_welcome: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Auth {
    Off,
    Optional,
    Required,
}

fn main() {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("outpost-test-switch: {} is not a loopback address", args.listen);
        std::process::exit(2);
    }
    let pki = Pki::open_or_create(&args.pki);
    let mut cfg = SwitchConfig::new(&pki);
    cfg.identity.write_cert(args.pki.join("server.pem"));
    cfg.identity.write_key(args.pki.join("server-key.pem"));
    cfg.listen = args.listen;
    cfg.welcome = !args.no_welcome;
    cfg.client_auth = match args.client_auth {
        Auth::Off => ClientAuth::Off,
        Auth::Optional => ClientAuth::Optional,
        Auth::Required => ClientAuth::Required,
    };
    let switch = TestSwitch::start(cfg);
    let events = switch.subscribe();
    println!(
        "{}",
        json!({"event": "listening", "addr": switch.addr().to_string(), "ca": pki.ca_path()})
    );

    // Hellos are printed as they come, from their own thread, so a burst of them never delays
    // the once-a-second stats line.
    std::thread::spawn(move || {
        for event in events {
            if let EventKind::Hello { device_id, .. } = event.kind {
                println!("{}", json!({"event": "hello", "device": device_id, "unix_ms": event.unix_ms}));
            }
        }
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let signal = runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = term.recv() => return "SIGTERM",
                _ = int.recv() => return "SIGINT",
                _ = tick.tick() => {
                    let registered = switch.registered_count();
                    println!("{}", json!({"event": "stats", "registered": registered, "hellos_total": switch.hello_count(), "rss_kb": rss_kb()}));
                }
            }
        }
    });
    switch.stop();
    println!(
        "{}",
        json!({"event": "stopped", "signal": signal, "hellos_total": switch.hello_count()})
    );
}

/// Resident set size from /proc (Linux), 0 where unavailable.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
