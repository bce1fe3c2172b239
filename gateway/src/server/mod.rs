//! The gateway's MCP server: one endpoint, every target behind it.
//!
//! `streamable` and `legacy_sse` are the transports; both hand JSON-RPC requests to
//! `dispatch`, which answers lists from the loaded catalogs and forwards calls upstream.
//! `guard` checks `Host`/`Origin`; `session` seals handshake-era session ids.

mod admission;
mod authn;
mod changes;
mod context;
mod dispatch;
mod forward;
mod guard;
mod legacy_sse;
mod listen;
mod search_tool;
pub mod session;
mod streamable;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;

use crate::audit::AuditLog;
use crate::auth::{AuthConfigError, InboundAuthenticator, WELL_KNOWN_PATH};
use crate::authz::{
    AuthorizationConfig, Policy, PolicyBindings, PolicyError, TargetTenancy, ToolRef,
};
use crate::catalog::TargetCatalog;
use crate::config::{GatewaySettings, RuntimeConfig, TargetSettings};
use crate::limits::{RateLimitError, RateLimiter};
use crate::routes::{Collision, Listed, RouteTable, precedence};
use crate::search::{AsyncEmbedder, embedder_from_env};
use crate::secrets::SecretSource;
use crate::telemetry::metrics::{Metrics, TargetLabels};
use crate::telemetry::spans::Spans;
use crate::upstream::{UpstreamClient, http_client};
use session::SessionSealer;
use time::format_description::well_known::Rfc3339;

/// Why a configuration could not be loaded; the previous one keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    InboundAuth(#[from] AuthConfigError),
    #[error(transparent)]
    RateLimits(#[from] RateLimitError),
    #[error(transparent)]
    Authorization(#[from] PolicyError),
}

/// What the gateway serves right now; replaced whole on reload, so in-flight calls
/// finish on the snapshot they started with.
pub struct Snapshot {
    pub settings: GatewaySettings,
    pub authenticator: Arc<InboundAuthenticator>,
    pub routes: RouteTable,
    pub upstreams: HashMap<String, UpstreamClient>,
    pub instructions: Instructions,
    pub limiter: Option<Arc<RateLimiter>>,
    pub policy: Policy,
    search: Option<search_tool::SearchTool>,
    embedder: Option<Arc<dyn AsyncEmbedder>>,
    pub metrics: Arc<Metrics>,
    pub audit: Arc<AuditLog>,
    pub spans: Arc<Spans>,
}

/// A running gateway's shared state.
pub struct Gateway {
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    sealer: SessionSealer,
    secrets: Arc<dyn SecretSource>,
    metrics: Arc<Metrics>,
    audit: Arc<AuditLog>,
    spans: Arc<Spans>,
    /// Embeds search queries; `None` means lexical search only.
    embedder: Option<Arc<dyn AsyncEmbedder>>,
    http: reqwest::Client,
    sse: legacy_sse::SseSessions,
    /// Lists changed by reloads, for the open server-to-client streams.
    list_changes: tokio::sync::broadcast::Sender<changes::ListChange>,
    /// Cancelled when the server starts shutting down: open event streams end then, so
    /// that clients reconnect elsewhere instead of holding the shutdown open.
    closing: tokio_util::sync::CancellationToken,
}

impl Gateway {
    /// `secrets` resolves the Secrets that inbound auth and targets' credentials name.
    pub fn new(sealer: SessionSealer, secrets: Arc<dyn SecretSource>) -> Arc<Self> {
        Self::with_audit_log(sealer, secrets, AuditLog::default())
    }

    /// Like [`Gateway::new`], writing audit lines to `audit` instead of standard output.
    pub fn with_audit_log(
        sealer: SessionSealer,
        secrets: Arc<dyn SecretSource>,
        audit: AuditLog,
    ) -> Arc<Self> {
        let http = http_client();
        let embedder = query_embedder(&http);
        Self::assemble(sealer, secrets, audit, embedder, http)
    }

    /// Like [`Gateway::new`], embedding search queries with `embedder` (`None`: lexical
    /// search) instead of loading a model from the environment. Local mode shares the
    /// model its syncs use this way, so it is loaded once.
    pub fn with_query_embedder(
        sealer: SessionSealer,
        secrets: Arc<dyn SecretSource>,
        embedder: Option<Arc<dyn AsyncEmbedder>>,
    ) -> Arc<Self> {
        Self::assemble(
            sealer,
            secrets,
            AuditLog::default(),
            embedder,
            http_client(),
        )
    }

    fn assemble(
        sealer: SessionSealer,
        secrets: Arc<dyn SecretSource>,
        audit: AuditLog,
        embedder: Option<Arc<dyn AsyncEmbedder>>,
        http: reqwest::Client,
    ) -> Arc<Self> {
        Arc::new(Self {
            snapshot: RwLock::new(None),
            sealer,
            secrets,
            metrics: Arc::new(Metrics::new()),
            audit: Arc::new(audit),
            spans: Arc::new(Spans::from_env(&http)),
            embedder,
            http,
            sse: legacy_sse::SseSessions::default(),
            list_changes: tokio::sync::broadcast::channel(changes::BACKLOG).0,
            closing: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// The current snapshot; `None` until the first [`Gateway::load`].
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.read().ok().and_then(|guard| guard.clone())
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn is_ready(&self) -> bool {
        self.snapshot().is_some()
    }

    /// Serves `catalogs` under `config` from now on and returns the name collisions
    /// found. Upstream clients whose settings did not change are kept (with their
    /// sessions). An invalid configuration leaves the current snapshot in place.
    pub fn load(
        &self,
        config: RuntimeConfig,
        mut catalogs: Vec<TargetCatalog>,
    ) -> Result<Vec<Collision>, LoadError> {
        let previous = self.snapshot();
        let authenticator = match previous.as_ref() {
            Some(p) if p.settings.inbound_auth == config.gateway.inbound_auth => {
                p.authenticator.clone()
            }
            _ => Arc::new(InboundAuthenticator::new(
                &config.gateway.inbound_auth,
                self.secrets.clone(),
                self.http.clone(),
            )?),
        };
        let limiter = match (&config.gateway.rate_limits, previous.as_ref()) {
            (None, _) => None,
            // Unchanged limits keep their buckets across a catalog reload.
            (Some(limits), Some(p))
                if p.settings.rate_limits.as_ref() == Some(limits)
                    && p.settings.replicas == config.gateway.replicas =>
            {
                p.limiter.clone()
            }
            (Some(limits), _) => Some(Arc::new(RateLimiter::new(limits, config.gateway.replicas)?)),
        };
        for catalog in &catalogs {
            let labels = TargetLabels {
                target: catalog.target.clone(),
            };
            self.metrics
                .catalog_tools
                .get_or_create(&labels)
                .set(catalog.tools.len() as i64);
            let synced = time::OffsetDateTime::parse(&catalog.synced_at, &Rfc3339)
                .map(|t| t.unix_timestamp())
                .unwrap_or_default();
            self.metrics
                .catalog_synced_at
                .get_or_create(&labels)
                .set(synced);
        }
        let ages: HashMap<String, String> = config
            .targets
            .iter()
            .map(|t| (t.name.clone(), t.created_at.clone()))
            .collect();
        catalogs.retain(|c| ages.contains_key(&c.target));
        precedence(&mut catalogs, &ages);
        let routes =
            RouteTable::build_reserving(&catalogs, &config.gateway.search.reserved_tools());
        let policy = build_policy(&config, &routes, previous.as_deref())?;
        for warning in policy.warnings() {
            tracing::warn!(%warning, "authorization");
        }
        let upstreams = config
            .targets
            .iter()
            .map(|settings| {
                (
                    settings.name.clone(),
                    self.upstream_for(previous.as_deref(), settings),
                )
            })
            .collect();
        let instructions = Instructions::new(&config.gateway, &catalogs);
        let search_tool = search_tool::SearchTool::build(
            &config.gateway,
            &routes,
            &catalogs,
            self.embedder.as_deref(),
        );
        let collisions = routes.collisions().to_vec();
        for collision in &collisions {
            tracing::warn!(%collision, "name collision");
        }
        let snapshot = Snapshot {
            settings: config.gateway,
            authenticator,
            routes,
            upstreams,
            instructions,
            limiter,
            policy,
            search: search_tool,
            embedder: self.embedder.clone(),
            metrics: self.metrics.clone(),
            audit: self.audit.clone(),
            spans: self.spans.clone(),
        };
        let announced = previous
            .as_deref()
            .map(|p| changes::diff(&p.routes, &snapshot.routes))
            .unwrap_or_default();
        if let Ok(mut guard) = self.snapshot.write() {
            *guard = Some(Arc::new(snapshot));
        }
        for change in announced {
            tracing::info!(list = ?change.kind, targets = ?change.targets, "list changed");
            // No open stream means no receiver, which is fine.
            let _ = self.list_changes.send(change);
        }
        Ok(collisions)
    }

    fn upstream_for(
        &self,
        previous: Option<&Snapshot>,
        settings: &TargetSettings,
    ) -> UpstreamClient {
        previous
            .and_then(|p| p.upstreams.get(&settings.name))
            .filter(|client| client.same_settings(settings))
            .cloned()
            .unwrap_or_else(|| {
                UpstreamClient::new(settings, self.http.clone(), self.secrets.clone())
            })
    }
}

/// The authorization policy for this load: rules resolved against the route table,
/// keeping what the previous policy (or the operator's render) had bound.
fn build_policy(
    config: &RuntimeConfig,
    routes: &RouteTable,
    previous: Option<&Snapshot>,
) -> Result<Policy, PolicyError> {
    let tenancy = TargetTenancy::of(&config.targets);
    let Some(rules) = &config.gateway.authorization else {
        if tenancy.is_empty() {
            return Ok(Policy::allow_all());
        }
        return Policy::build(&AuthorizationConfig::default(), &tenancy, &[]);
    };
    let tools: Vec<ToolRef> = routes.tools().iter().map(Listed::tool_ref).collect();
    let bindings = match (previous, &config.gateway.policy_bindings) {
        (Some(previous), _) => previous.policy.bindings(),
        (None, Some(rendered)) => rendered.clone(),
        (None, None) => PolicyBindings::default(),
    };
    Policy::build_carrying(rules, &tenancy, &tools, &bindings)
}

/// The embedder for search queries, from the environment; failures leave search lexical.
fn query_embedder(http: &reqwest::Client) -> Option<Arc<dyn AsyncEmbedder>> {
    match embedder_from_env(http) {
        Ok(Some(embedder)) => {
            tracing::info!(
                model = embedder.model_id(),
                "tool search: hybrid (lexical + embeddings)"
            );
            Some(embedder)
        }
        Ok(None) => {
            tracing::info!("tool search: lexical only (no embedding model configured)");
            None
        }
        Err(error) => {
            tracing::error!(%error, "tool search: lexical only (the embedding model did not load)");
            None
        }
    }
}

/// The `instructions` a client sees: what this gateway federates. Built per caller, so
/// targets limited to other tenants are not even named.
pub struct Instructions {
    header: String,
    /// (target, tools, line) per served catalog.
    servers: Vec<(String, usize, String)>,
}

impl Instructions {
    fn new(settings: &GatewaySettings, catalogs: &[TargetCatalog]) -> Self {
        let servers = catalogs
            .iter()
            .map(|catalog| {
                let title = catalog
                    .server_info
                    .get("title")
                    .or_else(|| catalog.server_info.get("name"))
                    .and_then(|v| v.as_str())
                    .unwrap_or(&catalog.target);
                let prefix = if catalog.prefix.is_empty() {
                    "(no prefix)"
                } else {
                    &catalog.prefix
                };
                let line = format!("\n- {prefix} ({title}): {} tools", catalog.tools.len());
                (catalog.target.clone(), catalog.tools.len(), line)
            })
            .collect();
        Self {
            header: format!(
                "Switchboard gateway {:?}: {{tools}} tools from {{servers}} MCP servers, named <server>{}<tool>.",
                settings.name, settings.separator
            ),
            servers,
        }
    }

    /// The text for a caller who may use the targets `may_use_target` accepts.
    pub fn for_caller(&self, may_use_target: impl Fn(&str) -> bool) -> String {
        let visible: Vec<&(String, usize, String)> = self
            .servers
            .iter()
            .filter(|(target, _, _)| may_use_target(target))
            .collect();
        let tools: usize = visible.iter().map(|(_, n, _)| n).sum();
        let mut text = self
            .header
            .replace("{tools}", &tools.to_string())
            .replace("{servers}", &visible.len().to_string());
        for (_, _, line) in visible {
            text.push_str(line);
        }
        text
    }
}

/// The HTTP surface: `/mcp` (streamable HTTP), `/sse` + `/messages` (legacy), the OAuth
/// protected-resource metadata, health.
pub fn router(gateway: Arc<Gateway>, max_body_bytes: usize) -> Router {
    let authenticated = Router::new()
        .route(
            "/mcp",
            post(streamable::post)
                .get(streamable::get)
                .delete(streamable::delete),
        )
        .route("/sse", get(legacy_sse::open))
        .route("/messages", post(legacy_sse::message))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            authn::authenticate,
        ));
    let metadata = get(authn::protected_resource);
    Router::new()
        .merge(authenticated)
        .route(WELL_KNOWN_PATH, metadata.clone())
        .route(&format!("{WELL_KNOWN_PATH}/{{*resource}}"), metadata)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            guard::check_host,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .merge(admin_router(gateway.clone()))
        .with_state(gateway)
}

/// `/healthz` (the process is up), `/readyz` (a catalog is loaded) and `/metrics`
/// (Prometheus), on a port of their own.
pub fn admin_router<S>(gateway: Arc<Gateway>) -> Router<S> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(gateway)
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics.encode(),
    )
}

async fn ready(State(gateway): State<Arc<Gateway>>) -> (StatusCode, &'static str) {
    if gateway.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded")
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    max_body_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY an event-stream answer (headers, then the event, in separate
    // writes) waits for the client's delayed ACK: +40 ms on every streamed tool call.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let closing = gateway.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.cancel();
    };
    axum::serve(listener, router(gateway, max_body_bytes))
        .with_graceful_shutdown(shutdown)
        .await
}
