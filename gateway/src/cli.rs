//! The `switchboard-gateway` command: serve a config directory and follow its changes.
//!
//! Directory layout (what the operator mounts): `config.json` (a [`RuntimeConfig`]),
//! `secrets/<secret>/<key>` (credential Secrets),
//! `catalogs/*.json` (catalogs, possibly sharded), `session-key`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

use crate::catalog;
use crate::config::{DEFAULT_SESSION_TTL_SECONDS, RuntimeConfig};
use crate::secrets::DirSecretSource;
use crate::server::session::SessionSealer;
use crate::server::{self, Gateway};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-gateway",
    version,
    about = "Switchboard MCP gateway data plane"
)]
pub struct Args {
    /// Directory holding config.json, catalogs/ and session-key.
    #[arg(
        long,
        env = "SWITCHBOARD_CONFIG_DIR",
        default_value = "/etc/switchboard"
    )]
    pub config_dir: PathBuf,
    /// Address of the MCP endpoint.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of /healthz and /readyz for probes.
    #[arg(long, env = "SWITCHBOARD_ADMIN_LISTEN", default_value = "0.0.0.0:8081")]
    pub admin_listen: SocketAddr,
    /// How often the directory is checked for changes (kubelet swaps it atomically).
    #[arg(long, env = "SWITCHBOARD_RELOAD_INTERVAL_MS", default_value_t = 2000)]
    pub reload_interval_ms: u64,
    /// Log JSON lines instead of text.
    #[arg(long, env = "SWITCHBOARD_LOG_JSON")]
    pub log_json: bool,
}

/// Reads config.json and the catalogs of a config directory.
pub fn read_config_dir(dir: &Path) -> anyhow::Result<(RuntimeConfig, Vec<catalog::TargetCatalog>)> {
    let config_path = dir.join("config.json");
    let config: RuntimeConfig = serde_json::from_slice(
        &std::fs::read(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?,
    )
    .with_context(|| format!("parsing {}", config_path.display()))?;
    let catalogs_dir = dir.join("catalogs");
    let catalogs = if catalogs_dir.exists() {
        catalog::load_dir(&catalogs_dir)?
    } else {
        Vec::new()
    };
    Ok((config, catalogs))
}

/// Changes whenever kubelet swaps the directory or a file in it is rewritten.
fn fingerprint(dir: &Path) -> String {
    let mut parts = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // `std::fs::metadata` follows kubelet's `..data` symlinks to the live files.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if !entry.file_name().to_string_lossy().starts_with("..") {
                    stack.push(path);
                }
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            parts.push(format!("{}:{}:{:?}", path.display(), meta.len(), modified));
        }
    }
    if let Ok(target) = std::fs::read_link(dir.join("..data")) {
        parts.push(target.display().to_string());
    }
    parts.sort();
    parts.join("\n")
}

fn load(gateway: &Gateway, dir: &Path) -> anyhow::Result<()> {
    let (config, catalogs) = read_config_dir(dir)?;
    let tools: usize = catalogs.iter().map(|c| c.tools.len()).sum();
    let targets = catalogs.len();
    gateway.load(config, catalogs)?;
    tracing::info!(targets, tools, "catalog loaded");
    Ok(())
}

/// Polls the directory and swaps in a new snapshot when it changed; a broken update
/// is logged and the previous snapshot keeps serving.
async fn follow(gateway: Arc<Gateway>, dir: PathBuf, interval: Duration) {
    let mut seen = fingerprint(&dir);
    loop {
        tokio::time::sleep(interval).await;
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        seen = now;
        if let Err(error) = load(&gateway, &dir) {
            tracing::error!(
                error = format!("{error:#}"),
                "reload failed; still serving the previous catalog"
            );
        }
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

pub fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    crate::telemetry::init_logging(args.log_json);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let key_path = args.config_dir.join("session-key");
    let sealer = match std::fs::read(&key_path) {
        Ok(key) => SessionSealer::new(key.trim_ascii(), DEFAULT_SESSION_TTL_SECONDS)?,
        Err(_) => {
            tracing::warn!(path = %key_path.display(), "no session key: sessions will not survive a restart or reach other replicas");
            SessionSealer::random(DEFAULT_SESSION_TTL_SECONDS)?
        }
    };
    let secrets = Arc::new(DirSecretSource::new(args.config_dir.join("secrets")));
    let gateway = Gateway::new(sealer, secrets);
    load(&gateway, &args.config_dir)?;
    let max_body = gateway
        .snapshot()
        .map(|s| s.settings.max_body_bytes)
        .unwrap_or(crate::config::DEFAULT_MAX_BODY_BYTES);
    tokio::spawn(follow(
        gateway.clone(),
        args.config_dir.clone(),
        Duration::from_millis(args.reload_interval_ms),
    ));

    let admin = tokio::net::TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("binding {}", args.admin_listen))?;
    let admin_router = server::admin_router(gateway.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(admin, admin_router).await {
            tracing::error!(%error, "admin listener failed");
        }
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, admin = %args.admin_listen, "switchboard gateway serving");
    server::serve(listener, gateway, max_body, shutdown_signal()).await?;
    Ok(())
}
