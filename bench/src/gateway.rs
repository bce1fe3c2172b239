//! The gateway under test, in this process (through its library API) or as a child
//! process (the `switchboard-gateway` binary serving a config directory, exactly what the
//! operator deploys), plus the measurements only a separate process allows: its RSS and
//! its start-up time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use switchboard_gateway::audit::AuditLog;
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::config::{
    GatewaySettings, RuntimeConfig, TargetSettings, UpstreamProtocol,
};
use switchboard_gateway::secrets::MemorySecretSource;
use switchboard_gateway::server::session::SessionSealer;
use switchboard_gateway::server::{Gateway, serve};
use switchboard_gateway::sync::sync_target;
use switchboard_gateway::upstream::{UpstreamClient, http_client};
use tokio_util::sync::CancellationToken;

/// A session key shared by every gateway the benchmark and the tests start.
pub const SESSION_KEY: &[u8] = b"switchboard-bench-session-key-0123456789";

/// A target named `name` at `url`, speaking `protocol` upstream.
pub fn target(
    name: &str,
    url: &str,
    protocol: UpstreamProtocol,
    timeout_seconds: u64,
) -> TargetSettings {
    let mut settings = TargetSettings::new(name, url);
    settings.protocol = protocol;
    settings.timeout_seconds = timeout_seconds;
    settings
}

pub fn runtime_config(targets: Vec<TargetSettings>) -> RuntimeConfig {
    RuntimeConfig {
        gateway: GatewaySettings::new("bench"),
        targets,
    }
}

/// Syncs one target as the operator would: every page of everything.
pub async fn sync(settings: &TargetSettings) -> anyhow::Result<TargetCatalog> {
    let naming = GatewaySettings::new("bench").naming();
    let client = UpstreamClient::new(
        settings,
        http_client(),
        Arc::new(MemorySecretSource::default()),
    );
    sync_target(settings, &naming, &client)
        .await
        .with_context(|| format!("syncing target {}", settings.name))
}

/// Syncs every target of `config` (failures are returned as errors).
pub async fn sync_all(config: &RuntimeConfig) -> anyhow::Result<Vec<TargetCatalog>> {
    let mut catalogs = Vec::new();
    for target in &config.targets {
        catalogs.push(sync(target).await?);
    }
    Ok(catalogs)
}

/// A gateway served by this process.
pub struct InProcess {
    pub addr: SocketAddr,
    pub url: String,
    pub gateway: Arc<Gateway>,
    token: CancellationToken,
}

impl InProcess {
    /// Stops accepting; in-flight requests finish.
    pub fn stop(&self) {
        self.token.cancel();
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// Serves `catalogs` under `config` on `listener` with a sealer built from `key`.
pub fn serve_on(
    listener: tokio::net::TcpListener,
    config: RuntimeConfig,
    catalogs: Vec<TargetCatalog>,
    key: &[u8],
) -> anyhow::Result<InProcess> {
    let addr = listener.local_addr()?;
    let sealer = SessionSealer::new(key, config.gateway.session_ttl_seconds)?;
    let max_body = config.gateway.max_body_bytes;
    // Audit lines are still built and written for every call, into a sink that discards
    // them: standard output is where the benchmark prints its report.
    let audit = AuditLog::new(Box::new(std::io::sink()));
    let gateway = Gateway::with_audit_log(sealer, Arc::new(MemorySecretSource::default()), audit);
    gateway.load(config, catalogs)?;
    let token = CancellationToken::new();
    let stop = token.clone();
    let served = gateway.clone();
    tokio::spawn(async move {
        let shutdown = async move { stop.cancelled_owned().await };
        if let Err(error) = serve(listener, served, max_body, shutdown).await {
            tracing::error!(%error, "in-process gateway failed");
        }
    });
    Ok(InProcess {
        addr,
        url: format!("http://{addr}/mcp"),
        gateway,
        token,
    })
}

/// Serves on an ephemeral loopback port.
pub async fn start(
    config: RuntimeConfig,
    catalogs: Vec<TargetCatalog>,
) -> anyhow::Result<InProcess> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    serve_on(listener, config, catalogs, SESSION_KEY)
}

/// Writes what the operator mounts: `config.json`, `catalogs/*.json`, `session-key`.
pub fn write_config_dir(
    dir: &Path,
    config: &RuntimeConfig,
    catalogs: &[TargetCatalog],
    key: &[u8],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("catalogs"))?;
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(config)?)?;
    for catalog in catalogs {
        let path = dir
            .join("catalogs")
            .join(format!("{}.json", catalog.target));
        std::fs::write(path, serde_json::to_vec(catalog)?)?;
    }
    std::fs::write(dir.join("session-key"), key)?;
    Ok(())
}

/// The gateway binary next to the running executable (or a test's parent directory).
pub fn default_gateway_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Integration tests run from target/<profile>/deps.
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("switchboard-gateway-under-test")
}

/// A loopback port that was free a moment ago (the gateway binary needs a fixed one).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The gateway binary serving a config directory, killed when dropped.
pub struct GatewayProcess {
    child: Child,
    pub port: u16,
    pub url: String,
    pub log: PathBuf,
}

impl GatewayProcess {
    /// Starts `bin --config-dir dir` on `port` and waits (≤ 30 s) for `/readyz`.
    /// Returns the process and the time from spawn to the first ready answer.
    pub async fn start(bin: &Path, dir: &Path, port: u16) -> anyhow::Result<(Self, Duration)> {
        if !bin.exists() {
            bail!(
                "gateway binary {} not found: build it with `cargo build -p switchboard-bench --bins`",
                bin.display()
            );
        }
        // Beside the config directory, not in it: the gateway reloads when anything in
        // its directory changes, and its own growing log would make it reload forever.
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = dir
            .parent()
            .unwrap_or(dir)
            .join(format!("{name}-gateway-{port}.log"));
        let out = std::fs::File::create(&log)?;
        let started = Instant::now();
        let child = Command::new(bin)
            .arg("--config-dir")
            .arg(dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut process = Self {
            child,
            port,
            url: format!("http://127.0.0.1:{port}/mcp"),
            log,
        };
        let ready = format!("http://127.0.0.1:{port}/readyz");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Ok(response) = http.get(&ready).send().await
                && response.status().is_success()
            {
                return Ok((process, started.elapsed()));
            }
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "gateway exited with {status} before it was ready:\n{}",
                    std::fs::read_to_string(&process.log).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                bail!("gateway not ready after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size now, in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmRSS")
    }

    /// Peak resident set size so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmHWM")
    }

    /// Open file descriptors (sockets included).
    pub fn open_fds(&self) -> Option<usize> {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .ok()
            .map(|d| d.count())
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `Name:   123 kB` line of /proc/PID/status, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}
