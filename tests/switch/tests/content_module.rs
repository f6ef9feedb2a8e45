//! The content module (feature `content`) and the platform client's route
//! to it, against a test Background Channel on loopback: what the module
//! serves costs the server one request, a stalled module is left after
//! `ContentDownloadTimeoutSeconds`, and with the integration off the client
//! downloads directly after its stagger.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_agent::content::local::{endpoint_file, Endpoint, ModuleClient};
use outpost_agent::content::module::{BackgroundChannel as Upstream, ContentModule, ModuleConfig, Source};
use outpost_agent::content::{fetch, Content, ContentConfig, HttpsUrl, Job, ResourceArgs, Route, Sha256, Stagger};
use outpost_agent::tls::{ClientTls, IdentitySource, Trust};
use outpost_test_switch::{BackgroundChannel, Pki};
use serde_json::Value;

const BODY: &[u8] = b"content module body\n";

struct Fixture {
    dir: tempfile::TempDir,
    pki: Pki,
    bg: BackgroundChannel,
    state: PathBuf,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(&dir.path().join("pki"));
    let bg = BackgroundChannel::start(&pki);
    bg.put("pkg/a.bin", BODY);
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    Fixture { dir, pki, bg, state, rt }
}

impl Fixture {
    fn tls(&self) -> Arc<ClientTls> {
        Arc::new(ClientTls { trust: Trust::new(Some(self.pki.ca_path())), identity: IdentitySource::None, password: String::new() })
    }

    fn temp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// A real module on the fixture's runtime, serving until the runtime ends.
    fn start_module(&self) {
        let upstream = Upstream { tls: self.tls(), limits: fetch::Limits { max_bytes: 1 << 20, idle: Duration::from_secs(10) } };
        let sources: Vec<Box<dyn Source>> = vec![Box::new(upstream)];
        let module = self.rt.block_on(ContentModule::bind(ModuleConfig::new(&self.state, self.temp()), sources)).unwrap();
        self.rt.spawn(module.serve(std::future::pending()));
    }

    fn client(&self, module: bool, integration: bool, stagger: Stagger, timeout: Duration) -> Content {
        let config = ContentConfig::new(HttpsUrl::parse(&self.bg.base_url()).unwrap(), self.temp(), &self.state);
        let client = ModuleClient { endpoint_file: endpoint_file(&self.state), timeout };
        Content::new(config, self.tls(), Route::choose(module, integration, stagger, client))
    }

    fn fetch(&self, content: &Content, name: &str) -> Value {
        let job = Job::Resource(ResourceArgs { name: name.into(), version: "1".into(), url: "pkg/a.bin".into(), sha256: Sha256::of_bytes(BODY) });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), content.run(job)).await.expect("bounded") }).unwrap()
    }

    fn module_cached(&self) -> bool {
        let sha = Sha256::of_bytes(BODY).to_string();
        self.state.join("content-cache").join(&sha).join("blob").join(&sha).exists()
    }
}

fn assert_delivered(out: &Value) {
    assert_eq!(std::fs::read(Path::new(out["path"].as_str().unwrap())).unwrap(), BODY);
}

#[test]
fn the_module_serves_without_a_direct_request_and_then_from_its_cache() {
    let f = fixture();
    f.start_module();
    // A stagger that would be seen: the module route must not wait for it.
    let content = f.client(true, true, Stagger::new(Duration::from_secs(120), 1), Duration::from_secs(20));
    let started = Instant::now();
    assert_delivered(&f.fetch(&content, "mod-a"));
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    // The module's one request and no direct one.
    assert_eq!(f.bg.requests(), 1);
    assert!(f.module_cached());
    // Another resource with the same content: the module answers from its cache.
    assert_delivered(&f.fetch(&content, "mod-b"));
    assert_eq!(f.bg.requests(), 1);
    assert!(std::fs::read_dir(f.temp()).unwrap().next().is_none(), "staged files left behind");
}

#[test]
fn a_stalled_module_is_left_after_the_timeout_for_a_direct_download() {
    let f = fixture();
    // Accepts connections (the kernel's backlog) and never answers.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let file = endpoint_file(&f.state);
    Endpoint::new(stalled.local_addr().unwrap().port(), &file).unwrap().write(&file).unwrap();
    let timeout = Duration::from_millis(1500);
    let content = f.client(true, true, Stagger::new(Duration::from_secs(120), 1), timeout);
    let started = Instant::now();
    assert_delivered(&f.fetch(&content, "mod-a"));
    let times = f.bg.request_times();
    assert_eq!(times.len(), 1, "one direct request");
    let at = times[0] - started;
    assert!(at >= timeout, "the direct request came {at:?} after the start, before the {timeout:?} timeout");
    // The fallback does not stagger: well under the 120 s range.
    assert!(at < Duration::from_secs(20), "{at:?}");
    drop(stalled);
}

#[test]
fn with_the_integration_off_the_download_is_direct_and_staggered() {
    let f = fixture();
    f.start_module();
    let range = Duration::from_millis(1500);
    // A seed whose first wait is long enough to be seen; same seed, same wait.
    let seed = (1..200).find(|s| Stagger::new(range, *s).draw() >= Duration::from_millis(600)).unwrap();
    let expected = Stagger::new(range, seed).draw();
    let content = f.client(true, false, Stagger::new(range, seed), Duration::from_secs(20));
    let started = Instant::now();
    assert_delivered(&f.fetch(&content, "mod-a"));
    let times = f.bg.request_times();
    assert_eq!(times.len(), 1);
    assert!(times[0] - started >= expected, "{:?} < {expected:?}", times[0] - started);
    assert!(!f.module_cached(), "the module was asked");
}

#[test]
fn the_module_refuses_a_request_without_its_token() {
    let f = fixture();
    f.start_module();
    let endpoint = Endpoint::read(&endpoint_file(&f.state)).unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", endpoint.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let url = format!("{}pkg/a.bin", f.bg.base_url());
    writeln!(tcp, "OUTPOST-CONTENT/1 {} {} {url}", "00".repeat(32), Sha256::of_bytes(BODY)).unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(tcp).read_line(&mut answer).unwrap();
    assert_eq!(answer, "ERR wrong token\n");
    assert_eq!(f.bg.requests(), 0);
}
