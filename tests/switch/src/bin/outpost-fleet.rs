//! `outpost-fleet`: the Switch link benchmark (`scripts/bench-switch`). A benchmark, not a test:
//! it prints figures and fails only when one of its own bounds runs out.
//!
//! `fleet`: N sessions of the agent's own `outpost_agent::switch::Link` in this one process, each
//! with its own device id, all sharing one `ClientTls`, against `outpost-test-switch` running as a
//! separate process on 127.0.0.1. Measures the time until all N are registered and the memory
//! per session on both sides, then stops the Switch with SIGTERM (close 1001 to every session),
//! starts it again on the same port and measures, from its per-hello `unix_ms`, how the sessions
//! come back against the reconnect spread window.
//!
//! `idle`: the release `outpost-agent run` under a throwaway root, registered with the test
//! Switch, sampled for a minute: resident memory, CPU time and context switches.
//!
//! Prints a short table on stdout; `--json FILE` writes the figures as one JSON object.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use outpost_agent::stop::Stop;
use outpost_agent::switch::protocol::{DeviceInfo, Features};
use outpost_agent::switch::state::Phase;
use outpost_agent::switch::{Facts, Link, LinkConfig, LinkState};
use outpost_agent::tls::{ClientTls, IdentitySource, Trust};
use serde_json::{json, Value};
use tokio::sync::watch;

#[derive(Parser)]
#[command(about = "Switch link benchmark: a fleet of agent sessions, and the real agent idle")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// N agent sessions in this process against an outpost-test-switch process; restart it.
    Fleet(FleetArgs),
    /// The real `outpost-agent run`, registered with the test Switch, sampled while idle.
    Idle(IdleArgs),
}

#[derive(Args)]
struct FleetArgs {
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// ReconnectSpreadSeconds of every session (0: all come back at once).
    #[arg(long, default_value_t = 10)]
    spread: u64,
    /// HeartbeatIntervalSeconds of every session.
    #[arg(long, default_value_t = 20)]
    heartbeat: u64,
    /// Tokio worker threads of this process.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Seconds to measure CPU with every session registered and idle (one heartbeat by default).
    #[arg(long, default_value_t = 20)]
    idle: u64,
    /// Upper bound of each phase (registering, coming back after the restart beyond the spread).
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// The outpost-test-switch binary (default: next to this one).
    #[arg(long)]
    switch_bin: Option<PathBuf>,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct IdleArgs {
    /// The outpost-agent binary (build it with `cargo build --release -p outpost-agent`).
    #[arg(long)]
    agent: PathBuf,
    /// How long to sample once the agent is registered.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long)]
    switch_bin: Option<PathBuf>,
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let (result, json_path) = match cli.command {
        Cmd::Fleet(a) => {
            let path = a.json.clone();
            (fleet(a), path)
        }
        Cmd::Idle(a) => {
            let path = a.json.clone();
            (idle(a), path)
        }
    };
    match result {
        Ok(figures) => {
            if let Some(path) = json_path {
                let text = serde_json::to_string_pretty(&figures).expect("JSON");
                if let Err(e) = std::fs::write(&path, text + "\n") {
                    eprintln!("outpost-fleet: writing {}: {e}", path.display());
                    std::process::exit(1);
                }
            }
        }
        Err(e) => {
            eprintln!("outpost-fleet: {e}");
            std::process::exit(1);
        }
    }
}

/// What the simulated machines answer to `inventory` and `settings`.
struct SimFacts {
    device: DeviceInfo,
}

impl Facts for SimFacts {
    fn inventory(&self) -> Value {
        json!({"device_id": self.device.id, "hostname": self.device.hostname, "os": self.device.os,
               "arch": self.device.arch, "agent_version": self.device.agent_version,
               "features": self.device.features})
    }
    fn settings(&self) -> Value {
        json!({"settings": []})
    }
}

fn fleet(a: FleetArgs) -> Result<Value, String> {
    outpost_test_switch::server::raise_fd_limit();
    let n = a.sessions;
    if n == 0 {
        return Err("--sessions must be at least 1".into());
    }
    let switch_bin = switch_bin(a.switch_bin.as_deref())?;
    let work = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let pki = work.path().join("pki");
    let busy_before = machine_busy_pct(Duration::from_secs(2));
    let load_before = loadavg();

    let mut switch = SwitchProc::spawn(&switch_bin, "127.0.0.1:0".parse().unwrap(), &pki, work.path(), 1)?;
    let setting = format!("127.0.0.1:{}", switch.addr.port());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.workers.max(1))
        .thread_name("fleet")
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let tls = Arc::new(ClientTls {
        trust: Trust::new(Some(switch.ca.clone())),
        identity: IdentitySource::None,
        password: String::new(),
    });
    // One preparation up front: the system trust store is read once per process, and that cost
    // is not a session's.
    tls.prepare().map_err(|e| format!("client TLS: {e}"))?;
    let os_roots = tls.trust.os_store().0.len();
    let os = outpost_agent::device::os();
    std::thread::sleep(Duration::from_millis(500));
    let fleet_rss_before = rss_kb(std::process::id()).unwrap_or(0);
    let switch_rss_before = rss_kb(switch.pid()).unwrap_or(0);

    // 1. Every session starts at once, as every agent does at service start.
    let stop = Stop::default();
    let mut states = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    let t0 = unix_ms();
    let started = Instant::now();
    for i in 0..n {
        let device = DeviceInfo {
            id: outpost_agent::device::random_uuid(),
            hostname: format!("fleet-{i:05}"),
            os: os.clone(),
            arch: outpost_agent::device::arch().into(),
            agent_version: env!("CARGO_PKG_VERSION").into(),
            features: Features {
                installed: vec!["client".into(), "platform".into()],
                enabled: vec!["client".into(), "platform".into()],
            },
        };
        let (tx, rx) = watch::channel(LinkState::default());
        let link = Link {
            config: LinkConfig::new(&setting, Duration::from_secs(a.heartbeat), Duration::from_secs(a.spread)),
            tls: tls.clone(),
            facts: Arc::new(SimFacts { device: device.clone() }),
            device,
            state: tx,
        };
        tasks.push(runtime.spawn(link.run(stop.clone())));
        states.push(rx);
    }
    let timeout = Duration::from_secs(a.timeout);
    let mut hellos: HashMap<String, u64> = HashMap::new();
    let client_all_ms = loop {
        switch.drain(|v| note_hello(v, &mut hellos));
        let connected = count(&states, |s| s.phase == Phase::Connected);
        if connected == n && hellos.len() >= n {
            break unix_ms() - t0;
        }
        if started.elapsed() > timeout {
            stop.raise();
            return Err(format!(
                "after {timeout:?}: {connected} of {n} sessions connected, {} hellos",
                hellos.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let first_registration: Vec<u64> = hellos.values().map(|t| t.saturating_sub(t0)).collect();
    let failed_registering = sum(&states, |s| s.failed_attempts);

    // 2. Memory once registered, and after one heartbeat interval of idle sessions.
    std::thread::sleep(Duration::from_secs(2));
    switch.drain(|_| {});
    let fleet_rss_registered = rss_kb(std::process::id()).unwrap_or(0);
    let switch_rss_registered = rss_kb(switch.pid()).unwrap_or(0);
    let cpu0 = (cpu_ns(std::process::id()), cpu_ns(switch.pid()));
    let idle_for = Duration::from_secs(a.idle);
    let idle_start = Instant::now();
    while idle_start.elapsed() < idle_for {
        switch.drain(|_| {});
        std::thread::sleep(Duration::from_millis(200));
    }
    let cpu1 = (cpu_ns(std::process::id()), cpu_ns(switch.pid()));
    let fleet_rss_idle = rss_kb(std::process::id()).unwrap_or(0);
    let switch_rss_idle = rss_kb(switch.pid()).unwrap_or(0);
    let still = count(&states, |s| s.phase == Phase::Connected);
    if still != n {
        stop.raise();
        return Err(format!("{} of {n} sessions dropped while idle", n - still));
    }

    // 3. SIGTERM the Switch (it closes every session with 1001) and start it again on the same
    //    port; count the hellos of the new process per second.
    let failed_before = sum(&states, |s| s.failed_attempts);
    let t_kill = unix_ms();
    let stop_took = switch.terminate(Duration::from_secs(20))?;
    let t_exited = unix_ms();
    let mut switch = SwitchProc::spawn(&switch_bin, switch.addr, &pki, work.path(), 2)?;
    let t_listening = switch.listening_ms;
    let mut back: HashMap<String, u64> = HashMap::new();
    let restart_deadline = Instant::now() + Duration::from_secs(a.spread) + timeout;
    let client_back_ms = loop {
        switch.drain(|v| note_hello(v, &mut back));
        let again = count(&states, |s| s.phase == Phase::Connected && s.registrations >= 2);
        if again == n && back.len() >= n {
            break unix_ms() - t_kill;
        }
        if Instant::now() > restart_deadline {
            stop.raise();
            return Err(format!(
                "after the restart: {again} of {n} sessions registered again, {} hellos, within {:?}",
                back.len(),
                Duration::from_secs(a.spread) + timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let failed_restart = sum(&states, |s| s.failed_attempts) - failed_before;
    let mut times: Vec<u64> = back.values().copied().collect();
    times.sort_unstable();
    let last = *times.last().expect("n >= 1");
    let per_second = histogram(&times, t_kill, 1000);
    let peak = peak_in_window(&times, 1000);
    let peak_100ms = peak_in_window(&times, 100);
    std::thread::sleep(Duration::from_secs(1));
    switch.drain(|_| {});
    let switch_rss_back = rss_kb(switch.pid()).unwrap_or(0);
    let fleet_rss_back = rss_kb(std::process::id()).unwrap_or(0);

    // 4. Stop every session (close 1000), then the Switch.
    stop.raise();
    runtime.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(15), futures_util::future::join_all(tasks)).await;
    });
    let stopped = count(&states, |s| s.phase == Phase::Stopped);
    switch.terminate(Duration::from_secs(20))?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    let busy_after = machine_busy_pct(Duration::from_secs(2));

    let per_session = |after: u64, before: u64| (after.saturating_sub(before)) as f64 / n as f64;
    let expected = (a.spread > 0).then(|| n as f64 / a.spread as f64);
    let figures = json!({
        "benchmark": "switch-fleet",
        "sessions": n,
        "spread_s": a.spread,
        "heartbeat_s": a.heartbeat,
        "fleet_workers": a.workers,
        "os_trust_anchors": os_roots,
        "machine": machine(),
        "others_busy_pct": {"before": busy_before, "after": busy_after},
        "loadavg": {"before": load_before, "after": loadavg()},
        "register": {
            "all_registered_ms": first_registration.iter().max(),
            "first_hello_ms": first_registration.iter().min(),
            "median_hello_ms": median(&first_registration),
            "client_all_connected_ms": client_all_ms,
            "per_second": histogram(&hellos.values().copied().collect::<Vec<_>>(), t0, 1000),
            "failed_attempts": failed_registering,
        },
        "memory_kb": {
            "fleet": {"before": fleet_rss_before, "registered": fleet_rss_registered, "after_idle": fleet_rss_idle,
                      "after_restart": fleet_rss_back},
            "switch": {"before": switch_rss_before, "registered": switch_rss_registered, "after_idle": switch_rss_idle,
                       "new_process_all_back": switch_rss_back},
            "fleet_per_session": per_session(fleet_rss_idle, fleet_rss_before),
            "switch_per_session": per_session(switch_rss_idle, switch_rss_before),
        },
        "idle": {
            "seconds": a.idle,
            "fleet_cpu_ms": cpu1.0.saturating_sub(cpu0.0) as f64 / 1e6,
            "switch_cpu_ms": cpu1.1.saturating_sub(cpu0.1) as f64 / 1e6,
        },
        "restart": {
            "switch_stop_ms": stop_took.as_millis() as u64,
            "gap_ms": t_listening.saturating_sub(t_kill),
            "exited_ms": t_exited - t_kill,
            "expected_per_s": expected,
            "peak_per_s": peak,
            "peak_per_100ms": peak_100ms,
            "first_back_ms": times[0].saturating_sub(t_kill),
            "all_back_ms": last.saturating_sub(t_kill),
            "all_back_after_listening_ms": last.saturating_sub(t_listening),
            "client_all_back_ms": client_back_ms,
            "failed_attempts": failed_restart,
            "per_second": per_second,
        },
        "stopped_cleanly": stopped,
    });
    print_fleet(&figures);
    Ok(figures)
}

fn print_fleet(f: &Value) {
    let s = |v: &Value| v.as_f64().unwrap_or(f64::NAN) / 1000.0;
    let m = &f["memory_kb"];
    let r = &f["restart"];
    println!(
        "Switch link: {} sessions of the agent's Link in one process, spread {} s, heartbeat {} s ({} workers; others used {}%/{}% of the CPU before/after)",
        f["sessions"], f["spread_s"], f["heartbeat_s"], f["fleet_workers"], f["others_busy_pct"]["before"], f["others_busy_pct"]["after"]
    );
    println!(
        "  registered: all in {:.2} s (switch hellos; median {:.2} s; client side {:.2} s); {} failed attempts",
        s(&f["register"]["all_registered_ms"]),
        s(&f["register"]["median_hello_ms"]),
        s(&f["register"]["client_all_connected_ms"]),
        f["register"]["failed_attempts"]
    );
    println!(
        "  memory: fleet {} -> {} KiB = {:.1} KiB/session; switch {} -> {} KiB = {:.1} KiB/session",
        m["fleet"]["before"],
        m["fleet"]["after_idle"],
        m["fleet_per_session"].as_f64().unwrap_or(0.0),
        m["switch"]["before"],
        m["switch"]["after_idle"],
        m["switch_per_session"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  idle {} s: fleet CPU {:.0} ms, switch CPU {:.0} ms",
        f["idle"]["seconds"],
        f["idle"]["fleet_cpu_ms"].as_f64().unwrap_or(0.0),
        f["idle"]["switch_cpu_ms"].as_f64().unwrap_or(0.0)
    );
    let expected = match r["expected_per_s"].as_f64() {
        Some(e) => format!("expected {e:.0}/s"),
        None => "no spread".into(),
    };
    println!(
        "  restart: new Switch listening {:.2} s after SIGTERM; all back {:.2} s after it; peak {}/s ({expected}), {} per 100 ms; {} refused attempts",
        s(&r["gap_ms"]),
        s(&r["all_back_ms"]),
        r["peak_per_s"],
        r["peak_per_100ms"],
        r["failed_attempts"]
    );
    println!("  reconnects per second after SIGTERM: {}", r["per_second"]);
}

fn idle(a: IdleArgs) -> Result<Value, String> {
    let switch_bin = switch_bin(a.switch_bin.as_deref())?;
    let work = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = work.path().join("root");
    let etc = root.join("etc/outpost");
    std::fs::create_dir_all(&etc).map_err(|e| format!("{}: {e}", etc.display()))?;
    let busy_before = machine_busy_pct(Duration::from_secs(2));
    let load_before = loadavg();
    let mut switch = SwitchProc::spawn(
        &switch_bin,
        "127.0.0.1:0".parse().unwrap(),
        &work.path().join("pki"),
        work.path(),
        1,
    )?;
    // Paths in settings are resolved under --root: the CA goes inside it.
    std::fs::copy(&switch.ca, etc.join("ca.pem")).map_err(|e| format!("copy ca.pem: {e}"))?;
    let conf = format!(
        "[Settings]\nSwitch=127.0.0.1:{}\nTrustedCaFile=/etc/outpost/ca.pem\n",
        switch.addr.port()
    );
    std::fs::write(etc.join("outpost.conf"), conf).map_err(|e| format!("outpost.conf: {e}"))?;

    let t0 = unix_ms();
    let mut agent = Command::new(&a.agent)
        .arg("--root")
        .arg(&root)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", a.agent.display()))?;
    let pid = agent.id();
    let mut hellos: HashMap<String, u64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while hellos.is_empty() {
        switch.drain(|v| note_hello(v, &mut hellos));
        if let Ok(Some(status)) = agent.try_wait() {
            return Err(format!("outpost-agent exited before registering: {status}"));
        }
        if Instant::now() > deadline {
            let _ = agent.kill();
            let _ = agent.wait();
            return Err("outpost-agent did not say hello within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let registered_ms = hellos.values().next().copied().unwrap_or(t0).saturating_sub(t0);
    // Let start-up settle (the status file is written 100 ms after the link changes).
    std::thread::sleep(Duration::from_secs(2));

    let cpu_ticks0 = cpu_ticks(pid).ok_or("cannot read /proc/<agent>/stat")?;
    let cpu_ns0 = cpu_ns(pid);
    let ctxt0 = ctxt_switches(pid);
    let rss0 = rss_kb(pid).unwrap_or(0);
    let began = Instant::now();
    let mut samples = vec![rss0];
    let window = Duration::from_secs(a.seconds);
    while began.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1).min(window.saturating_sub(began.elapsed())));
        switch.drain(|v| note_hello(v, &mut hellos));
        if let Ok(Some(status)) = agent.try_wait() {
            return Err(format!("outpost-agent exited while idle: {status}"));
        }
        samples.push(rss_kb(pid).unwrap_or(0));
    }
    let elapsed = began.elapsed().as_secs_f64();
    let cpu_ticks1 = cpu_ticks(pid).unwrap_or(cpu_ticks0);
    let cpu_ns1 = cpu_ns(pid);
    let ctxt1 = ctxt_switches(pid);
    let rss1 = rss_kb(pid).unwrap_or(0);
    let hwm = status_kb(pid, "VmHWM:").unwrap_or(0);
    let threads = status_kb(pid, "Threads:").unwrap_or(0);
    let status_file = root.join("var/lib/outpost/status.json");
    let phase = std::fs::read_to_string(&status_file)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["link"]["phase"].as_str().map(String::from));

    // SIGTERM, as systemd stops it: the agent closes the link with 1000 and exits.
    let t_term = Instant::now();
    signal(pid, libc::SIGTERM);
    let exit = wait_exit(&mut agent, Duration::from_secs(15));
    let stop_ms = t_term.elapsed().as_millis() as u64;
    switch.terminate(Duration::from_secs(20))?;
    let busy_after = machine_busy_pct(Duration::from_secs(2));

    let tick_ms = 1000.0 / clk_tck() as f64;
    let cpu_ms_ticks = cpu_ticks1.saturating_sub(cpu_ticks0) as f64 * tick_ms;
    let cpu_ms_sched = cpu_ns1.saturating_sub(cpu_ns0) as f64 / 1e6;
    let voluntary = ctxt1.0.saturating_sub(ctxt0.0);
    let involuntary = ctxt1.1.saturating_sub(ctxt0.1);
    let figures = json!({
        "benchmark": "agent-idle",
        "agent": a.agent,
        "agent_bytes": std::fs::metadata(&a.agent).map(|m| m.len()).ok(),
        "machine": machine(),
        "others_busy_pct": {"before": busy_before, "after": busy_after},
        "loadavg": {"before": load_before, "after": loadavg()},
        "registered_ms": registered_ms,
        "seconds": elapsed,
        "rss_kb": {"start": rss0, "end": rss1, "min": samples.iter().min(), "max": samples.iter().max(), "hwm": hwm},
        "rss_below_15mb": samples.iter().max().is_some_and(|m| *m < 15 * 1024),
        "cpu_ms": cpu_ms_ticks,
        "cpu_ms_schedstat": cpu_ms_sched,
        "cpu_pct": cpu_ms_sched / (elapsed * 10.0),
        "ctxt_switches": {"voluntary": voluntary, "involuntary": involuntary,
                          "voluntary_per_minute": voluntary as f64 * 60.0 / elapsed},
        "threads": threads,
        "hellos_during_window": hellos.len().saturating_sub(1),
        "link_phase": phase,
        "stop_ms": stop_ms,
        "exit": exit,
    });
    println!(
        "outpost-agent idle for {elapsed:.0} s (registered after {registered_ms} ms; others used {busy_before}%/{busy_after}% of the CPU before/after):"
    );
    println!(
        "  RSS {} KiB at start, {} KiB at end, max {} KiB (below 15 MB: {}); peak {} KiB",
        rss0, rss1, figures["rss_kb"]["max"], figures["rss_below_15mb"], hwm
    );
    println!(
        "  CPU {cpu_ms_sched:.1} ms over the window ({cpu_ms_ticks:.0} ms in clock ticks) = {:.4}% of one core; {voluntary} voluntary / {involuntary} involuntary context switches ({threads} threads); link {}; stopped in {stop_ms} ms ({exit})",
        figures["cpu_pct"].as_f64().unwrap_or(0.0),
        phase.as_deref().unwrap_or("?")
    );
    Ok(figures)
}

/// `outpost-test-switch` as a child process, its JSON lines read on a thread of their own.
struct SwitchProc {
    child: Child,
    addr: SocketAddr,
    ca: PathBuf,
    /// When this process received the `listening` line.
    listening_ms: u64,
    lines: Receiver<Value>,
}

impl SwitchProc {
    /// Starts the Switch on `listen`; retries for up to 5 s when the port is not free yet (the
    /// process then exits before printing `listening`).
    fn spawn(bin: &Path, listen: SocketAddr, pki: &Path, logs: &Path, generation: u32) -> Result<SwitchProc, String> {
        if !listen.ip().is_loopback() {
            return Err(format!("{listen} is not a loopback address"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let stderr_path = logs.join(format!("switch-{generation}.stderr"));
        loop {
            let stderr = std::fs::File::create(&stderr_path).map_err(|e| format!("{}: {e}", stderr_path.display()))?;
            let mut child = Command::new(bin)
                .arg("--listen")
                .arg(listen.to_string())
                .arg("--pki")
                .arg(pki)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr)
                .spawn()
                .map_err(|e| format!("{}: {e}", bin.display()))?;
            let stdout = child.stdout.take().expect("piped");
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(v) = serde_json::from_str::<Value>(&line) {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            });
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(v) if v["event"] == "listening" => {
                    let addr = v["addr"]
                        .as_str()
                        .and_then(|a| a.parse().ok())
                        .ok_or_else(|| format!("outpost-test-switch: bad listening line {v}"))?;
                    let ca = PathBuf::from(v["ca"].as_str().unwrap_or_default());
                    return Ok(SwitchProc {
                        child,
                        addr,
                        ca,
                        listening_ms: unix_ms(),
                        lines,
                    });
                }
                other => {
                    let _ = child.kill();
                    let status = child.wait();
                    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    if Instant::now() >= deadline || matches!(other, Err(RecvTimeoutError::Timeout)) {
                        return Err(format!(
                            "outpost-test-switch on {listen} did not start ({other:?}, {status:?}): {}",
                            err.trim()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line printed so far.
    fn drain(&mut self, mut each: impl FnMut(&Value)) {
        while let Ok(v) = self.lines.try_recv() {
            each(&v);
        }
    }

    /// SIGTERM (the Switch closes every session with 1001) and waits for the exit.
    fn terminate(&mut self, within: Duration) -> Result<Duration, String> {
        let t = Instant::now();
        signal(self.child.id(), libc::SIGTERM);
        match wait_exit(&mut self.child, within).as_str() {
            "killed after timeout" => Err(format!("outpost-test-switch did not exit within {within:?}")),
            _ => Ok(t.elapsed()),
        }
    }
}

impl Drop for SwitchProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn note_hello(v: &Value, hellos: &mut HashMap<String, u64>) {
    if v["event"] == "hello" {
        if let (Some(device), Some(ms)) = (v["device"].as_str(), v["unix_ms"].as_u64()) {
            hellos.entry(device.to_string()).or_insert(ms);
        }
    }
}

fn switch_bin(given: Option<&Path>) -> Result<PathBuf, String> {
    let bin = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| format!("current executable: {e}"))?
            .with_file_name("outpost-test-switch"),
    };
    if !bin.is_file() {
        return Err(format!(
            "{} not found (cargo build -p outpost-test-switch, or --switch-bin)",
            bin.display()
        ));
    }
    Ok(bin)
}

/// Waits up to `within` for the child to exit, then kills it.
fn wait_exit(child: &mut Child, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return "killed after timeout".into();
            }
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn count(states: &[watch::Receiver<LinkState>], pred: impl Fn(&LinkState) -> bool) -> usize {
    states.iter().filter(|s| pred(&s.borrow())).count()
}

fn sum(states: &[watch::Receiver<LinkState>], field: impl Fn(&LinkState) -> u64) -> u64 {
    states.iter().map(|s| field(&s.borrow())).sum()
}

/// Counts per `width_ms` bucket from `from_ms` on (times before it count in the first bucket).
fn histogram(times: &[u64], from_ms: u64, width_ms: u64) -> Vec<u64> {
    let mut buckets = Vec::new();
    for t in times {
        let i = (t.saturating_sub(from_ms) / width_ms) as usize;
        if buckets.len() <= i {
            buckets.resize(i + 1, 0);
        }
        buckets[i] += 1;
    }
    buckets
}

/// The most events in any window of `width_ms` (sorted `times`).
fn peak_in_window(times: &[u64], width_ms: u64) -> usize {
    let mut peak = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= width_ms {
            lo += 1;
        }
        peak = peak.max(hi - lo + 1);
    }
    peak
}

fn median(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

fn rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:")
}

/// utime + stime of the whole process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU time of every thread in nanoseconds (/proc/<pid>/task/*/schedstat), finer than ticks;
/// falls back to ticks.
fn cpu_ns(pid: u32) -> u64 {
    let from_schedstat = std::fs::read_dir(format!("/proc/{pid}/task")).ok().map(|dir| {
        dir.flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum::<u64>()
    });
    match from_schedstat {
        Some(ns) if ns > 0 => ns,
        _ => cpu_ticks(pid).unwrap_or(0) * (1_000_000_000 / clk_tck()),
    }
}

/// (voluntary, involuntary) context switches summed over the process's threads.
fn ctxt_switches(pid: u32) -> (u64, u64) {
    let mut total = (0, 0);
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            for line in text.lines() {
                let value = || {
                    line.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if line.starts_with("voluntary_ctxt_switches:") {
                    total.0 += value();
                } else if line.starts_with("nonvoluntary_ctxt_switches:") {
                    total.1 += value();
                }
            }
        }
    }
    total
}

fn clk_tck() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Percentage of the machine's CPU time that was not idle over `over` (before and after a run,
/// while nothing of ours is busy: the others' load).
fn machine_busy_pct(over: Duration) -> u64 {
    fn read() -> Option<(u64, u64)> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let v: Vec<u64> = text
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        Some((v.get(3)? + v.get(4)?, v.iter().sum()))
    }
    let Some((idle0, total0)) = read() else { return 0 };
    std::thread::sleep(over);
    let Some((idle1, total1)) = read() else { return 0 };
    let total = total1.saturating_sub(total0).max(1);
    (100.0 * (1.0 - idle1.saturating_sub(idle0) as f64 / total as f64)).round() as u64
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default();
    json!({"cpu": cpu, "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)})
}
