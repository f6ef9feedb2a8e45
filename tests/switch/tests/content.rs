//! `fetch-resource` and `run-script` against a test Background Channel on
//! loopback, driven in-process through the agent's content module.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_agent::content::{Content, ContentConfig, ContentError, HttpsUrl, Job, ResourceArgs, Route, ScriptArgs, Sha256, Stagger};
use outpost_agent::tls::{ClientTls, IdentitySource, Trust};
use outpost_test_switch::{BackgroundChannel, Pki};
use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    bg: BackgroundChannel,
    content: Content,
    temp: PathBuf,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("pki"));
    let bg = BackgroundChannel::start(&pki);
    let temp = dir.path().join("tmp");
    std::fs::create_dir_all(&temp).unwrap();
    let tls = ClientTls {
        trust: Trust::new(Some(pki.ca_path())),
        identity: IdentitySource::None,
        password: String::new(),
    };
    let mut config = ContentConfig::new(HttpsUrl::parse(&bg.base_url()).unwrap(), temp.clone(), &dir.path().join("state"));
    config.idle_timeout = Duration::from_secs(10);
    let content = Content::new(config, Arc::new(tls), Route::Direct(Stagger::new(Duration::ZERO, 1)));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    Fixture { _dir: dir, bg, content, temp, rt }
}

impl Fixture {
    fn run(&self, job: Job) -> Result<Value, ContentError> {
        self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), self.content.run(job)).await.expect("bounded") })
    }

    fn resource(&self, url: &str, body: &[u8]) -> Job {
        Job::Resource(ResourceArgs {
            name: "mod-a".into(),
            version: "1.0".into(),
            url: url.into(),
            sha256: Sha256::of_bytes(body),
        })
    }

    fn script(&self, path: &str, body: &str, args: &[&str], timeout: u64) -> Job {
        self.bg.put(path, body);
        Job::Script(ScriptArgs {
            url: path.into(),
            sha256: Sha256::of_bytes(body.as_bytes()),
            interpreter: "sh".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(timeout),
        })
    }

    fn temp_is_empty(&self) -> bool {
        std::fs::read_dir(&self.temp).unwrap().next().is_none()
    }
}

#[test]
fn a_resource_is_fetched_once_then_served_from_the_cache() {
    let f = fixture();
    let body = b"module body\n".repeat(1000);
    f.bg.put("mods/a.bin", body.clone());
    let first = f.run(f.resource("mods/a.bin", &body)).unwrap();
    assert_eq!((first["cached"].as_bool(), f.bg.hits("mods/a.bin")), (Some(false), 1));
    let path = PathBuf::from(first["path"].as_str().unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), body);
    let second = f.run(f.resource("mods/a.bin", &body)).unwrap();
    assert_eq!((second["cached"].as_bool(), f.bg.requests()), (Some(true), 1));
    assert!(f.temp_is_empty());
}

#[test]
fn a_damaged_cached_copy_is_fetched_again() {
    let f = fixture();
    let body = b"provider v1".to_vec();
    f.bg.put_chunked("p.bin", body.clone());
    let first = f.run(f.resource("p.bin", &body)).unwrap();
    let path = PathBuf::from(first["path"].as_str().unwrap());
    std::fs::write(&path, b"provider v1 -- damaged").unwrap();
    let again = f.run(f.resource("p.bin", &body)).unwrap();
    assert_eq!((again["cached"].as_bool(), f.bg.hits("p.bin")), (Some(false), 2));
    assert_eq!(std::fs::read(&path).unwrap(), body);
}

#[test]
fn a_wrong_hash_is_refused_and_nothing_is_cached() {
    let f = fixture();
    f.bg.put("evil.bin", b"not what was announced".to_vec());
    let err = f.run(f.resource("evil.bin", b"what was announced")).unwrap_err();
    assert!(matches!(err, ContentError::HashMismatch { .. }), "{err}");
    assert!(!f.content.config.cache_dir.join("mod-a").join("1.0").join("mod-a").exists());
    assert!(f.temp_is_empty(), "a refused download left a file in TemporaryDirectory");
    let missing = f.run(f.resource("nowhere.bin", b"x")).unwrap_err();
    assert!(matches!(missing, ContentError::Status { status: 404, .. }), "{missing}");
}

#[cfg(unix)]
#[test]
fn a_script_is_deleted_after_it_ran_and_fetched_again_next_time() {
    let f = fixture();
    let job = f.script("s/where.sh", "printf '%s' \"$0\"; echo oops >&2; exit 3\n", &[], 30);
    let out = f.run(job.clone()).unwrap();
    assert_eq!((out["exit_code"].as_i64(), out["stderr"].as_str()), (Some(3), Some("oops\n")));
    let ran_from = Path::new(out["stdout"].as_str().unwrap());
    assert!(ran_from.starts_with(&f.temp), "{}", ran_from.display());
    assert!(!ran_from.exists() && f.temp_is_empty(), "the script was kept");
    f.run(job).unwrap();
    assert_eq!(f.bg.hits("s/where.sh"), 2);
}

#[cfg(unix)]
#[test]
fn arguments_with_shell_metacharacters_reach_the_script_unchanged() {
    let f = fixture();
    let args = ["a b", "$(touch pwned)", "`id`;|&><*?'\"\\", "", "--x=1\n2", "%s %n"];
    let job = f.script("s/args.sh", "for a in \"$@\"; do printf '%s\\0' \"$a\"; done\n", &args, 30);
    let out = f.run(job).unwrap();
    let got: Vec<&str> = out["stdout"].as_str().unwrap().split('\0').collect();
    assert_eq!(&got[..args.len()], &args[..]);
    assert_eq!(got.len(), args.len() + 1);
    assert!(!f.temp.join("pwned").exists());
}

#[cfg(unix)]
#[test]
fn a_script_that_runs_too_long_is_killed_with_its_children() {
    let f = fixture();
    let pidfile = f._dir.path().join("child.pid");
    let body = format!("sleep 120 &\necho $! > '{}'\necho started\nsleep 120\n", pidfile.display());
    let started = Instant::now();
    let out = f.run(f.script("s/slow.sh", &body, &[], 1)).unwrap();
    assert_eq!((out["timed_out"].as_bool(), out["exit_code"].as_i64()), (Some(true), None));
    assert_eq!(out["stdout"].as_str(), Some("started\n"));
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let child: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child) {
        assert!(Instant::now() < deadline, "the script's child {child} outlived the timeout");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(f.temp_is_empty());
}

#[cfg(unix)]
#[test]
fn script_output_is_capped() {
    let f = fixture();
    let out = f.run(f.script("s/loud.sh", "yes abcdefgh | head -c 1000000\n", &[], 30)).unwrap();
    assert_eq!(out["stdout"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!((out["stdout_truncated"].as_bool(), out["exit_code"].as_i64()), (Some(true), Some(0)));
}

/// Gone, or a zombie nobody reaped yet (a container's init may not).
#[cfg(unix)]
fn alive(pid: i32) -> bool {
    if cfg!(target_os = "linux") {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
            Err(_) => false,
        }
    } else {
        // SAFETY: kill with signal 0 only checks for the process.
        unsafe { libc::kill(pid, 0) == 0 }
    }
}

#[test]
fn a_download_waits_for_its_stagger() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("pki"));
    let bg = BackgroundChannel::start(&pki);
    bg.put("x", "x");
    let tls = ClientTls { trust: Trust::new(Some(pki.ca_path())), identity: IdentitySource::None, password: String::new() };
    let config = ContentConfig::new(HttpsUrl::parse(&bg.base_url()).unwrap(), dir.path().into(), &dir.path().join("state"));
    let stagger = Stagger::new(Duration::from_millis(400), 3);
    let expected = Stagger::new(Duration::from_millis(400), 3).draw();
    let content = Content::new(config, Arc::new(tls), Route::Direct(stagger));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = Instant::now();
    let job = Job::Resource(ResourceArgs { name: "x".into(), version: "1".into(), url: "x".into(), sha256: Sha256::of_bytes(b"x") });
    rt.block_on(content.run(job)).unwrap();
    assert!(started.elapsed() >= expected, "{:?} < {expected:?}", started.elapsed());
}

struct NoFacts;
impl outpost_agent::switch::Facts for NoFacts {
    fn inventory(&self) -> Value {
        serde_json::json!({})
    }
    fn settings(&self) -> Value {
        serde_json::json!({"settings": []})
    }
}

/// The instructions through a real Switch session: a result that comes when
/// the download is done, a refusal at once, a failure with `failed`.
#[test]
fn the_link_runs_content_instructions_and_answers_each() {
    use outpost_agent::switch::protocol::{DeviceInfo, Features, OsInfo};
    use outpost_agent::switch::{Link, LinkConfig, LinkState};
    use outpost_test_switch::{SwitchConfig, TestSwitch};

    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("pki"));
    let switch = TestSwitch::start(SwitchConfig::new(&pki));
    let body = b"resource through the link".to_vec();
    f.bg.put("r.bin", body.clone());
    let content = Arc::new(f.content);
    let device = DeviceInfo {
        id: "content-link-test".into(),
        hostname: "h".into(),
        os: OsInfo { family: "linux".into(), name: "t".into(), version: "1".into() },
        arch: "x86_64".into(),
        agent_version: "0".into(),
        features: Features { installed: vec![], enabled: vec![] },
    };
    let tls = ClientTls { trust: Trust::new(Some(pki.ca_path())), identity: IdentitySource::None, password: String::new() };
    let stop = outpost_agent::stop::Stop::default();
    let link = Link {
        config: LinkConfig::new(&switch.switch_setting("127.0.0.1"), Duration::from_secs(20), Duration::from_secs(1))
            .with_content(Some(content)),
        tls: Arc::new(tls),
        device,
        facts: Arc::new(NoFacts),
        state: tokio::sync::watch::channel(LinkState::default()).0,
    };
    let stopper = stop.clone();
    let agent = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(link.run(stopper));
    });
    switch.wait_registered(1, Duration::from_secs(20)).unwrap();
    let t = Duration::from_secs(30);
    let sha = Sha256::of_bytes(&body).to_string();
    let ok = switch
        .request("content-link-test", "fetch-resource", serde_json::json!({"name": "r", "version": "2", "url": "r.bin", "sha256": sha}), t)
        .unwrap();
    assert_eq!((ok["ok"].as_bool(), ok["data"]["cached"].as_bool()), (Some(true), Some(false)), "{ok}");
    let refused = switch
        .request("content-link-test", "run-script", serde_json::json!({"url": "http://127.0.0.1/x", "sha256": sha}), t)
        .unwrap();
    assert_eq!(refused["error"]["code"], "bad-args", "{refused}");
    let failed = switch
        .request("content-link-test", "fetch-resource", serde_json::json!({"name": "r", "version": "3", "url": "r.bin", "sha256": "00".repeat(32)}), t)
        .unwrap();
    assert_eq!(failed["error"]["code"], "failed", "{failed}");
    stop.raise();
    agent.join().unwrap();
}
