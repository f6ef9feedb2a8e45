//! Content from the Background Channel for the `fetch-resource` and
//! `run-script` instructions: HTTPS downloads named by SHA-256, staged in
//! `TemporaryDirectory` and moved into place only when the hash matches;
//! client resources kept in a versioned cache, instruction scripts fetched
//! for every run and deleted after it.

pub mod args;
pub mod cache;
pub mod fetch;
pub mod local;
pub mod module;
pub mod script;
pub mod stagger;
pub mod url;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::tls::ClientTls;
pub use args::{Job, ResourceArgs, ScriptArgs};
pub use cache::Cache;
pub use stagger::Stagger;
pub use url::{HttpsUrl, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("bad URL {0}")]
    BadUrl(String),
    #[error("`{0}` is not a SHA-256 (64 hex digits)")]
    BadHash(String),
    #[error("{url}: SHA-256 is {got}, the instruction names {expected}; the file was discarded")]
    HashMismatch { url: String, expected: String, got: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("download: {0}")]
    Http(String),
    #[error("the file is larger than the {0}-byte limit")]
    TooLarge(u64),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot start the interpreter: {0}")]
    Spawn(String),
}

impl ContentError {
    pub fn io(what: &'static str, path: &Path, source: std::io::Error) -> ContentError {
        ContentError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where a download comes from.
pub enum Route {
    /// Straight from the HTTP source after the stagger: the content module is
    /// not enabled, or the integration is off (`Module.Content.Integration`).
    Direct(Stagger),
    /// Ask the local content module at once, no stagger. When it has not
    /// delivered within `ContentDownloadTimeoutSeconds` (or refused), download
    /// directly without a further wait: the timeout already was one, and the
    /// module's own download has left the site's load where the stagger
    /// would have put it. When no module is listening at all, this is the
    /// `Direct` route, stagger included.
    Module { client: local::ModuleClient, stagger: Stagger },
}

impl Route {
    /// The route the settings ask for.
    pub fn choose(module_enabled: bool, integration: bool, stagger: Stagger, client: local::ModuleClient) -> Route {
        if module_enabled && integration {
            Route::Module { client, stagger }
        } else {
            Route::Direct(stagger)
        }
    }
}

pub struct ContentConfig {
    /// `BackgroundChannelUrl`: relative URLs in instructions resolve under it.
    pub base: HttpsUrl,
    /// `TemporaryDirectory`: where downloads are staged and scripts run from.
    pub temporary: PathBuf,
    /// `resources/` under the state directory.
    pub cache_dir: PathBuf,
    pub cache_limit_bytes: u64,
    pub max_download_bytes: u64,
    pub idle_timeout: Duration,
    /// Bytes of stdout and of stderr kept from a script.
    pub output_cap: usize,
}

impl ContentConfig {
    pub fn new(base: HttpsUrl, temporary: PathBuf, state_dir: &Path) -> ContentConfig {
        ContentConfig {
            base,
            temporary,
            cache_dir: state_dir.join("resources"),
            cache_limit_bytes: 1 << 30,
            max_download_bytes: 1 << 30,
            idle_timeout: Duration::from_secs(60),
            output_cap: 64 * 1024,
        }
    }
}

/// The service's content handler from its settings, or None (logged) when
/// `BackgroundChannelUrl` is unusable: the instructions are then refused.
pub fn for_service(paths: &crate::paths::Paths, cfg: &crate::config::Effective, temporary: PathBuf) -> Option<Arc<Content>> {
    let base = match HttpsUrl::parse(cfg.get("BackgroundChannelUrl")) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "BackgroundChannelUrl not usable; fetch-resource and run-script are refused");
            return None;
        }
    };
    let range = Duration::from_secs(cfg.int("DefaultStaggerRangeSeconds").max(0) as u64);
    let config = ContentConfig::new(base, temporary, &paths.state_dir());
    let tls = Arc::new(crate::workers::client_tls(paths, cfg));
    // The content settings exist only where the feature does (Windows): read
    // them only when the module is enabled, i.e. on such a platform.
    let module_enabled = crate::workers::enabled_features(cfg, paths).iter().any(|f| f == "content");
    let integration = module_enabled && cfg.flag("Module.Content.Integration");
    let timeout = if module_enabled { cfg.int("ContentDownloadTimeoutSeconds").max(1) as u64 } else { 30 };
    let client = local::ModuleClient {
        endpoint_file: local::endpoint_file(&paths.state_dir()),
        timeout: Duration::from_secs(timeout),
    };
    let route = Route::choose(module_enabled, integration, Stagger::new(range, crate::device::random_seed()), client);
    tracing::info!(content_module = matches!(route, Route::Module { .. }), "content route");
    Some(Arc::new(Content::new(config, tls, route)))
}

/// At most this many content instructions run at once; the others wait.
const PARALLEL: usize = 4;

pub struct Content {
    pub config: ContentConfig,
    pub tls: Arc<ClientTls>,
    pub route: Route,
    cache: Cache,
    slots: Semaphore,
}

impl Content {
    pub fn new(config: ContentConfig, tls: Arc<ClientTls>, route: Route) -> Content {
        Content {
            cache: Cache::new(config.cache_dir.clone(), config.cache_limit_bytes),
            config,
            tls,
            route,
            slots: Semaphore::new(PARALLEL),
        }
    }

    pub async fn run(&self, job: Job) -> Result<Value, ContentError> {
        let _slot = self.slots.acquire().await;
        match job {
            Job::Resource(a) => self.fetch_resource(a).await,
            Job::Script(a) => self.run_script(a).await,
        }
    }

    /// Downloads `url` into a staged file whose hash is checked, by the route.
    async fn download(&self, url: &HttpsUrl, sha: &Sha256, suffix: &str) -> Result<(fetch::Staged, u64), ContentError> {
        let stagger = match &self.route {
            Route::Direct(stagger) => Some(stagger),
            Route::Module { client, stagger } => match client.fetch(url, sha, &self.config.temporary, suffix).await {
                local::Asked::Delivered(staged, size) => return Ok((staged, size)),
                local::Asked::Unavailable(why) => {
                    tracing::warn!(url = %url, reason = %why, "content module unavailable; direct download with stagger");
                    Some(stagger)
                }
                local::Asked::Failed(why) => {
                    tracing::warn!(url = %url, reason = %why, "falling back to a direct download");
                    None
                }
            },
        };
        if let Some(stagger) = stagger {
            let wait = stagger.draw();
            tracing::debug!(url = %url, wait_ms = wait.as_millis() as u64, "stagger before download");
            tokio::time::sleep(wait).await;
        }
        let prepared = self.tls.prepare()?;
        let limits = fetch::Limits {
            max_bytes: self.config.max_download_bytes,
            idle: self.config.idle_timeout,
        };
        fetch::download(prepared.config, url, sha, &self.config.temporary, suffix, limits).await
    }

    async fn fetch_resource(&self, a: ResourceArgs) -> Result<Value, ContentError> {
        let url = HttpsUrl::resolve(&self.config.base, &a.url)?;
        let answer = |path: &Path, cached: bool| {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            json!({"name": a.name, "version": a.version, "sha256": a.sha256.to_string(),
                   "path": path.display().to_string(), "size": size, "cached": cached})
        };
        if let Some(path) = self.cache.lookup(&a.name, &a.version, &a.sha256) {
            return Ok(answer(&path, true));
        }
        let (staged, _) = self.download(&url, &a.sha256, "").await?;
        let dest = self.cache.prepare(&a.name, &a.version)?;
        staged.place(&dest)?;
        self.cache.evict(&dest);
        tracing::info!(name = %a.name, version = %a.version, url = %url, "client resource fetched");
        Ok(answer(&dest, false))
    }

    async fn run_script(&self, a: ScriptArgs) -> Result<Value, ContentError> {
        let url = HttpsUrl::resolve(&self.config.base, &a.url)?;
        // The staged file is the script; dropping it deletes it, run or not.
        let (staged, _) = self.download(&url, &a.sha256, script::suffix(&a.interpreter)).await?;
        let path = staged.path().to_path_buf();
        let cap = self.config.output_cap;
        let (interp, args, limit) = (a.interpreter.clone(), a.args.clone(), a.timeout);
        let out = tokio::task::spawn_blocking(move || script::run(&interp, &path, &args, limit, cap))
            .await
            .map_err(|e| ContentError::Spawn(e.to_string()))??;
        drop(staged);
        tracing::info!(url = %url, exit_code = ?out.exit_code, timed_out = out.timed_out, "instruction script ran");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(json!({
            "exit_code": out.exit_code,
            "timed_out": out.timed_out,
            "stdout": text(&out.stdout),
            "stderr": text(&out.stderr),
            "stdout_truncated": out.stdout_truncated,
            "stderr_truncated": out.stderr_truncated,
            "duration_ms": out.duration.as_millis() as u64,
        }))
    }
}
