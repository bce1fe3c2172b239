//! The gateway's MCP server: one endpoint, every target behind it.
//!
//! `streamable` and `legacy_sse` are the transports; both hand JSON-RPC requests to
//! `dispatch`, which answers lists from the loaded catalogs and forwards calls upstream.
//! `guard` checks `Host`/`Origin`; `session` seals handshake-era session ids.

mod authn;
mod dispatch;
mod guard;
mod legacy_sse;
pub mod session;
mod streamable;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;

use crate::auth::{AuthConfigError, InboundAuthenticator, WELL_KNOWN_PATH};
use crate::catalog::TargetCatalog;
use crate::config::{GatewaySettings, RuntimeConfig, TargetSettings};
use crate::routes::{Collision, RouteTable, precedence};
use crate::secrets::SecretSource;
use crate::upstream::{UpstreamClient, http_client};
use session::SessionSealer;

/// What the gateway serves right now; replaced whole on reload, so in-flight calls
/// finish on the snapshot they started with.
pub struct Snapshot {
    pub settings: GatewaySettings,
    pub authenticator: Arc<InboundAuthenticator>,
    pub routes: RouteTable,
    pub upstreams: HashMap<String, UpstreamClient>,
    pub instructions: String,
}

/// A running gateway's shared state.
pub struct Gateway {
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    sealer: SessionSealer,
    secrets: Arc<dyn SecretSource>,
    http: reqwest::Client,
    sse: legacy_sse::SseSessions,
}

impl Gateway {
    /// `secrets` resolves the Secrets that inbound auth and targets' credentials name.
    pub fn new(sealer: SessionSealer, secrets: Arc<dyn SecretSource>) -> Arc<Self> {
        Arc::new(Self {
            snapshot: RwLock::new(None),
            sealer,
            secrets,
            http: http_client(),
            sse: legacy_sse::SseSessions::default(),
        })
    }

    /// The current snapshot; `None` until the first [`Gateway::load`].
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.read().ok().and_then(|guard| guard.clone())
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
    ) -> Result<Vec<Collision>, AuthConfigError> {
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
        let ages: HashMap<String, String> = config
            .targets
            .iter()
            .map(|t| (t.name.clone(), t.created_at.clone()))
            .collect();
        catalogs.retain(|c| ages.contains_key(&c.target));
        precedence(&mut catalogs, &ages);
        let routes = RouteTable::build(&catalogs);
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
        let instructions = describe(&config.gateway, &catalogs);
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
        };
        if let Ok(mut guard) = self.snapshot.write() {
            *guard = Some(Arc::new(snapshot));
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

/// The `instructions` a client sees: what this gateway federates.
fn describe(settings: &GatewaySettings, catalogs: &[TargetCatalog]) -> String {
    let tools: usize = catalogs.iter().map(|c| c.tools.len()).sum();
    let mut text = format!(
        "Switchboard gateway {:?}: {tools} tools from {} MCP servers, named <server>{}<tool>.",
        settings.name,
        catalogs.len(),
        settings.separator
    );
    for catalog in catalogs {
        let title = catalog
            .server_info
            .get("title")
            .or_else(|| catalog.server_info.get("name"))
            .and_then(|v| v.as_str())
            .unwrap_or(&catalog.target);
        text.push_str(&format!(
            "\n- {} ({title}): {} tools",
            if catalog.prefix.is_empty() {
                "(no prefix)"
            } else {
                &catalog.prefix
            },
            catalog.tools.len()
        ));
    }
    text
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

/// `/healthz` (the process is up) and `/readyz` (a catalog is loaded), for probes.
pub fn admin_router<S>(gateway: Arc<Gateway>) -> Router<S> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(gateway)
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
    axum::serve(listener, router(gateway, max_body_bytes))
        .with_graceful_shutdown(shutdown)
        .await
}
