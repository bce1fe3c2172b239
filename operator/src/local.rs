//! Local mode: sync the targets declared in manifests and serve them in this process.
//!
//! The same sync and runtime-config code as the operator, with no cluster: catalogs stay
//! in memory, the gateway serves on a local address.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::config::{RuntimeConfig, TargetSettings};
use switchboard_gateway::naming::NamingPolicy;
use switchboard_gateway::search::{
    AsyncEmbedder, EMBEDDINGS_URL_ENV, MODEL_DIR_ENV, SearchMode, embed_catalog, embedded_tools,
    embedder_from_env,
};
use switchboard_gateway::secrets::SecretSource;
use switchboard_gateway::server::session::SessionSealer;
use switchboard_gateway::server::{self, Gateway};
use switchboard_gateway::sync::{SyncError, sync_target};
use switchboard_gateway::upstream::{UpstreamClient, http_client};
use tokio::sync::Mutex;

use crate::manifests::{Manifests, runtime_config};

pub struct LocalOptions {
    pub listen: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` are served, if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// Gateways sharing this key accept each other's session ids.
    pub session_key: Option<Vec<u8>>,
    /// Which Gateway to run when the manifests hold several.
    pub gateway: Option<String>,
}

/// Prints to stdout right away: tests and users read these lines as they come.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// What every sync of this run shares.
struct SyncTools {
    naming: NamingPolicy,
    http: reqwest::Client,
    secrets: Arc<dyn SecretSource>,
    /// Computes tool embeddings for search when a model is configured.
    embedder: Option<Arc<dyn AsyncEmbedder>>,
}

async fn sync_one(
    settings: &TargetSettings,
    tools: &SyncTools,
    previous: Option<&TargetCatalog>,
) -> Result<TargetCatalog, SyncError> {
    let client = UpstreamClient::new(settings, tools.http.clone(), tools.secrets.clone());
    let mut catalog = sync_target(settings, &tools.naming, &client).await?;
    if let Some(embedder) = &tools.embedder {
        // Without embeddings the target is still searchable lexically: warn, don't fail.
        match embed_catalog(&mut catalog, previous, embedder.as_ref()).await {
            Ok(stats) => {
                tracing::info!(target = %settings.name, reused = stats.reused, computed = stats.computed, "tool embeddings")
            }
            Err(error) => {
                tracing::warn!(target = %settings.name, %error, "tool embeddings failed; tools without one are found lexically only")
            }
        }
    }
    Ok(catalog)
}

/// The status line of tool search: which ranking runs and how many tools it covers.
fn search_status<'a>(
    embedder: Option<&dyn AsyncEmbedder>,
    catalogs: impl Iterator<Item = &'a TargetCatalog>,
) -> String {
    let Some(embedder) = embedder else {
        return format!(
            "search: lexical only (no embedding model configured: set {MODEL_DIR_ENV} or {EMBEDDINGS_URL_ENV})"
        );
    };
    let (mut tools, mut embedded) = (0, 0);
    for catalog in catalogs {
        tools += catalog.tools.len();
        embedded += embedded_tools(catalog);
    }
    format!(
        "search: hybrid, {embedded} of {tools} tools embedded (model {})",
        embedder.model_id()
    )
}

fn report(name: &str, outcome: &Result<TargetCatalog, SyncError>) {
    match outcome {
        Ok(catalog) => say(&format!(
            "target {name} synced: {} tools, {} resources, {} prompts (protocol {})",
            catalog.tools.len(),
            catalog.resources.len() + catalog.resource_templates.len(),
            catalog.prompts.len(),
            catalog.protocol_version
        )),
        Err(error) => {
            // Upstream errors already start with "target NAME"; say it once.
            let text = error.to_string();
            let own = format!("target {name}");
            let detail = text.strip_prefix(&own).map_or(text.as_str(), |rest| {
                rest.trim_start_matches(':').trim_start()
            });
            say(&format!("target {name} failed: {detail}"));
        }
    }
}

/// Syncs every target of the chosen Gateway, serves them, prints the ready line and
/// runs until `shutdown`. `on_ready` receives the endpoint URL.
pub async fn run(
    manifests: Manifests,
    options: LocalOptions,
    on_ready: impl FnOnce(&str),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let gateway_manifest = manifests.gateway(options.gateway.as_deref())?;
    let config = runtime_config(&manifests, gateway_manifest);
    let intervals: HashMap<String, u64> = manifests
        .targets_of(&config.gateway.name)
        .iter()
        .filter_map(|t| {
            Some((
                t.metadata.name.clone()?,
                u64::from(t.spec.sync_interval_seconds?),
            ))
        })
        .collect();
    if config.targets.is_empty() {
        say(&format!(
            "gateway {} has no targets yet",
            config.gateway.name
        ));
    }
    let http = http_client();
    let secrets: Arc<dyn SecretSource> = manifests.secrets.clone();
    // One model for both jobs: tool embeddings at sync, query embeddings per search.
    let embedder = match embedder_from_env(&http) {
        Ok(embedder) => embedder,
        Err(error) => {
            say(&format!(
                "search: lexical only (the embedding model did not load: {error})"
            ));
            None
        }
    };
    let tools = Arc::new(SyncTools {
        naming: config.gateway.naming(),
        http,
        secrets: secrets.clone(),
        embedder,
    });
    let outcomes =
        futures::future::join_all(config.targets.iter().map(|t| sync_one(t, &tools, None))).await;
    let mut catalogs = HashMap::new();
    for (settings, outcome) in config.targets.iter().zip(outcomes) {
        report(&settings.name, &outcome);
        if let Ok(catalog) = outcome {
            catalogs.insert(settings.name.clone(), catalog);
        }
    }
    let search = &config.gateway.search;
    if search.enabled && search.mode == SearchMode::Lexical {
        say("search: lexical (spec.search.mode)");
    } else if search.enabled {
        say(&search_status(tools.embedder.as_deref(), catalogs.values()));
    }

    let ttl = config.gateway.session_ttl_seconds;
    let sealer = match &options.session_key {
        Some(key) => SessionSealer::new(key, ttl)?,
        None => SessionSealer::random(ttl)?,
    };
    let gateway = Gateway::with_query_embedder(sealer, secrets.clone(), tools.embedder.clone());
    for collision in gateway.load(config.clone(), catalogs.values().cloned().collect())? {
        say(&format!("target {}: {collision}", collision.dropped));
    }
    let catalogs = Arc::new(Mutex::new(catalogs));
    for settings in &config.targets {
        if let Some(&seconds) = intervals.get(&settings.name) {
            tokio::spawn(resync_every(
                Duration::from_secs(seconds),
                settings.clone(),
                config.clone(),
                gateway.clone(),
                catalogs.clone(),
                tools.clone(),
            ));
        }
    }

    if let Some(admin) = options.admin_listen {
        let listener = tokio::net::TcpListener::bind(admin)
            .await
            .with_context(|| format!("cannot listen on {admin}"))?;
        say(&format!(
            "Switchboard metrics at http://{}/metrics",
            listener.local_addr()?
        ));
        let router = server::admin_router(gateway.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "admin listener failed");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    let host = if address.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        address.ip().to_string()
    };
    let host = if address.is_ipv6() && !address.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    let url = format!("http://{host}:{}/mcp", address.port());
    say(&format!("Switchboard gateway ready at {url}"));
    on_ready(&url);
    server::serve(listener, gateway, config.gateway.max_body_bytes, shutdown).await?;
    Ok(())
}

/// Periodic re-sync; a failed one keeps serving the last good catalog.
async fn resync_every(
    every: Duration,
    settings: TargetSettings,
    config: RuntimeConfig,
    gateway: Arc<Gateway>,
    catalogs: Arc<Mutex<HashMap<String, TargetCatalog>>>,
    tools: Arc<SyncTools>,
) {
    loop {
        tokio::time::sleep(every).await;
        let previous = catalogs.lock().await.get(&settings.name).cloned();
        match sync_one(&settings, &tools, previous.as_ref()).await {
            Ok(catalog) => {
                let mut all = catalogs.lock().await;
                let changed =
                    all.get(&settings.name).map(|c| &c.content_hash) != Some(&catalog.content_hash);
                all.insert(settings.name.clone(), catalog);
                if changed {
                    match gateway.load(config.clone(), all.values().cloned().collect()) {
                        Ok(_) => {
                            tracing::info!(target = %settings.name, "catalog changed on periodic sync")
                        }
                        Err(error) => tracing::error!(%error, "could not load the new catalog"),
                    }
                }
            }
            Err(error) => {
                tracing::warn!(target = %settings.name, %error, "periodic sync failed; serving the last good catalog");
            }
        }
    }
}
