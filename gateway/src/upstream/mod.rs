//! The MCP client for upstream targets, shared by sync and by tools/call.
//!
//! One [`UpstreamClient`] per target and gateway replica. It negotiates the protocol era
//! once (2026-07-28 `server/discover`, else the `initialize` handshake), keeps the
//! handshake session for every later request, and re-initializes transparently when the
//! upstream forgets the session (HTTP 404).

mod error;
mod exchange;
pub mod sse;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

pub use error::UpstreamError;
use exchange::{Exchange, Outcome};

use crate::auth::Caller;
use crate::config::{TargetSettings, UpstreamProtocol};
use crate::credentials::{CredentialError, OutboundCredentials, TargetCredentials};
use crate::jsonrpc;
use crate::protocol::{self, Era};
use crate::secrets::SecretSource;

/// Upper bound of one upstream response body; a larger one is treated as malformed.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Per-call extras for [`UpstreamClient::request_with`].
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Extra HTTP headers (e.g. `Mcp-Param-*`, trace context).
    pub headers: Vec<(String, String)>,
    /// Where notifications received during the call go; full or closed relays drop them.
    pub relay: Option<mpsc::Sender<Value>>,
    /// The gateway's caller, for targets that forward the caller's token.
    pub caller: Option<Arc<Caller>>,
}

/// A negotiated conversation with an upstream.
#[derive(Debug, Clone)]
pub struct Connection {
    pub era: Era,
    pub protocol_version: String,
    pub session_id: Option<String>,
    pub server_info: Value,
    pub capabilities: Value,
    pub instructions: Option<String>,
}

/// Cheap to clone; clones share the negotiated connection.
#[derive(Clone)]
pub struct UpstreamClient {
    inner: Arc<Inner>,
}

struct Inner {
    target: String,
    endpoint: String,
    protocol: UpstreamProtocol,
    timeout: Duration,
    http: reqwest::Client,
    /// Built once; a configuration error is reported on every request.
    credentials: Result<OutboundCredentials, CredentialError>,
    credentials_config: TargetCredentials,
    connection: Mutex<Option<Arc<Connection>>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("target", &self.inner.target)
            .finish()
    }
}

/// The HTTP client every upstream shares: connection pooling across targets, no global
/// timeout (each target has its own).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("switchboard-gateway/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

fn client_info() -> Value {
    json!({"name": "switchboard-gateway", "version": env!("CARGO_PKG_VERSION")})
}

impl UpstreamClient {
    pub fn new(
        settings: &TargetSettings,
        http: reqwest::Client,
        secrets: Arc<dyn SecretSource>,
    ) -> Self {
        let credentials = OutboundCredentials::new(&settings.credentials, secrets, http.clone());
        Self {
            inner: Arc::new(Inner {
                target: settings.name.clone(),
                endpoint: settings.endpoint.clone(),
                protocol: settings.protocol,
                timeout: settings.timeout(),
                http,
                credentials,
                credentials_config: settings.credentials.clone(),
                connection: Mutex::new(None),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub fn target(&self) -> &str {
        &self.inner.target
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// True when both clients talk to the same endpoint the same way (reload keeps it).
    pub fn same_settings(&self, settings: &TargetSettings) -> bool {
        self.inner.endpoint == settings.endpoint
            && self.inner.protocol == settings.protocol
            && self.inner.timeout == settings.timeout()
            && self.inner.credentials_config == settings.credentials
    }

    fn timeout_error(&self) -> UpstreamError {
        UpstreamError::Timeout {
            target: self.inner.target.clone(),
            seconds: self.inner.timeout.as_secs(),
        }
    }

    /// The negotiated connection, negotiating it first if needed (within the timeout).
    pub async fn connection(&self) -> Result<Arc<Connection>, UpstreamError> {
        tokio::time::timeout(self.inner.timeout, self.connect())
            .await
            .map_err(|_| self.timeout_error())?
    }

    async fn connect(&self) -> Result<Arc<Connection>, UpstreamError> {
        // Holding the lock while negotiating makes concurrent first calls share one handshake.
        let mut slot = self.inner.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = Arc::new(self.negotiate().await?);
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn forget(&self, stale: &Arc<Connection>) {
        let mut slot = self.inner.connection.lock().await;
        if slot
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, stale))
        {
            *slot = None;
        }
    }

    fn exchange(&self) -> Result<Exchange<'_>, UpstreamError> {
        let credentials =
            self.inner
                .credentials
                .as_ref()
                .map_err(|error| UpstreamError::Credentials {
                    target: self.inner.target.clone(),
                    error: error.clone(),
                })?;
        Ok(Exchange {
            http: &self.inner.http,
            endpoint: &self.inner.endpoint,
            target: &self.inner.target,
            relay: None,
            credentials,
            caller: None,
        })
    }

    fn next_id(&self) -> Value {
        Value::from(self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }

    async fn negotiate(&self) -> Result<Connection, UpstreamError> {
        match self.inner.protocol {
            UpstreamProtocol::Modern => {
                self.discover()
                    .await?
                    .ok_or_else(|| UpstreamError::Protocol {
                        target: self.inner.target.clone(),
                        reason: format!("it does not support {}", protocol::MODERN_VERSION),
                    })
            }
            UpstreamProtocol::Legacy => self.initialize().await,
            UpstreamProtocol::Auto => match self.discover().await? {
                Some(connection) => Ok(connection),
                None => self.initialize().await,
            },
        }
    }

    /// `Ok(None)` when the upstream is reachable but not a 2026-07-28 server.
    async fn discover(&self) -> Result<Option<Connection>, UpstreamError> {
        let id = self.next_id();
        let body = jsonrpc::request(&id, "server/discover", modern_params(Value::Null));
        let headers = modern_headers("server/discover", None);
        match self.exchange()?.send(&body, &id, &headers, None).await {
            Ok(Outcome::Response(Ok(result))) => {
                let modern = result
                    .get("supportedVersions")
                    .and_then(Value::as_array)
                    .is_some_and(|v| v.iter().any(|v| v == protocol::MODERN_VERSION));
                if !modern {
                    return Ok(None);
                }
                let server_info = result
                    .pointer(&format!(
                        "/_meta/{}",
                        protocol::META_SERVER_INFO.replace('/', "~1")
                    ))
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                Ok(Some(Connection {
                    era: Era::Modern,
                    protocol_version: protocol::MODERN_VERSION.to_owned(),
                    session_id: None,
                    server_info,
                    capabilities: result.get("capabilities").cloned().unwrap_or(json!({})),
                    instructions: result
                        .get("instructions")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                }))
            }
            // Any protocol-level refusal means "not a modern server": fall back.
            Ok(Outcome::Response(Err(_)))
            | Ok(Outcome::Accepted)
            | Ok(Outcome::SessionGone)
            | Err(UpstreamError::Http { .. })
            | Err(UpstreamError::Malformed { .. })
            | Err(UpstreamError::Rpc { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn initialize(&self) -> Result<Connection, UpstreamError> {
        let id = self.next_id();
        let params = json!({
            "protocolVersion": protocol::LATEST_HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": client_info(),
        });
        let body = jsonrpc::request(&id, "initialize", params);
        let (outcome, session_id) = self.exchange()?.send_initialize(&body, &id).await?;
        let result = match outcome {
            Outcome::Response(Ok(result)) => result,
            Outcome::Response(Err(error)) => {
                return Err(UpstreamError::Rpc {
                    target: self.inner.target.clone(),
                    error: Box::new(error),
                });
            }
            Outcome::Accepted | Outcome::SessionGone => {
                return Err(UpstreamError::Malformed {
                    target: self.inner.target.clone(),
                    reason: "initialize was not answered".into(),
                });
            }
        };
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !protocol::is_handshake_version(version) {
            return Err(UpstreamError::Protocol {
                target: self.inner.target.clone(),
                reason: format!("it answered protocol version {version:?}"),
            });
        }
        let connection = Connection {
            era: Era::Handshake,
            protocol_version: version.to_owned(),
            session_id,
            server_info: result
                .get("serverInfo")
                .cloned()
                .unwrap_or_else(|| json!({})),
            capabilities: result
                .get("capabilities")
                .cloned()
                .unwrap_or_else(|| json!({})),
            instructions: result
                .get("instructions")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let initialized = jsonrpc::notification("notifications/initialized", Value::Null);
        self.exchange()?
            .notify(
                &initialized,
                &handshake_headers(&connection),
                connection.session_id.as_deref(),
            )
            .await?;
        Ok(connection)
    }

    /// Sends one request and returns its result; a JSON-RPC error becomes
    /// [`UpstreamError::Rpc`]. The whole call, negotiation included, is bounded by the
    /// target's timeout; on timeout the upstream is told to cancel.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, UpstreamError> {
        self.request_with(method, params, &CallOptions::default())
            .await
    }

    /// Like [`Self::request`], with extra headers and a relay for the notifications the
    /// upstream sends while it works (progress, log messages).
    pub async fn request_with(
        &self,
        method: &str,
        params: Value,
        options: &CallOptions,
    ) -> Result<Value, UpstreamError> {
        let id = self.next_id();
        let mut cancel = CancelOnDrop {
            client: self.clone(),
            request_id: Some(id.clone()),
        };
        let outcome = tokio::time::timeout(
            self.inner.timeout,
            self.request_once(method, &params, &id, options),
        )
        .await;
        match outcome {
            Ok(result) => {
                cancel.disarm();
                result
            }
            // `cancel` stays armed: dropping it tells the upstream to stop working.
            Err(_) => Err(self.timeout_error()),
        }
    }

    async fn request_once(
        &self,
        method: &str,
        params: &Value,
        id: &Value,
        options: &CallOptions,
    ) -> Result<Value, UpstreamError> {
        for attempt in 0..2 {
            let connection = self.connect().await?;
            let (body, mut headers) = match connection.era {
                Era::Modern => {
                    let name = protocol::name_param(method)
                        .and_then(|key| params.get(key))
                        .and_then(Value::as_str);
                    (
                        jsonrpc::request(id, method, modern_params(params.clone())),
                        modern_headers(method, name),
                    )
                }
                Era::Handshake => (
                    jsonrpc::request(id, method, params.clone()),
                    handshake_headers(&connection),
                ),
            };
            headers.extend(options.headers.iter().cloned());
            let exchange = Exchange {
                relay: options.relay.as_ref(),
                caller: options.caller.as_deref(),
                ..self.exchange()?
            };
            match exchange
                .send(&body, id, &headers, connection.session_id.as_deref())
                .await?
            {
                Outcome::Response(Ok(result)) => return Ok(result),
                Outcome::Response(Err(error)) => {
                    return Err(UpstreamError::Rpc {
                        target: self.inner.target.clone(),
                        error: Box::new(error),
                    });
                }
                Outcome::SessionGone if attempt == 0 => {
                    tracing::info!(target = %self.inner.target, "upstream session expired; re-initializing");
                    self.forget(&connection).await;
                }
                Outcome::SessionGone | Outcome::Accepted => break,
            }
        }
        Err(UpstreamError::Malformed {
            target: self.inner.target.clone(),
            reason: "the request was not answered".into(),
        })
    }

    /// Tells a handshake-era upstream to stop working on `request_id`. A 2026-07-28
    /// upstream learns it from the closed HTTP exchange, so nothing is sent.
    async fn send_cancel(&self, request_id: Value) {
        let connection = self.inner.connection.lock().await.clone();
        let Some(connection) = connection.filter(|c| c.era == Era::Handshake) else {
            return;
        };
        let note = jsonrpc::notification(
            "notifications/cancelled",
            json!({"requestId": request_id, "reason": "cancelled by the gateway"}),
        );
        let headers = handshake_headers(&connection);
        let Ok(exchange) = self.exchange() else {
            return;
        };
        let session = connection.session_id.as_deref();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            exchange.notify(&note, &headers, session),
        )
        .await;
    }
}

/// Sends `notifications/cancelled` if a request is abandoned (timeout or client gone).
struct CancelOnDrop {
    client: UpstreamClient,
    request_id: Option<Value>,
}

impl CancelOnDrop {
    fn disarm(&mut self) {
        self.request_id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(request_id) = self.request_id.take() {
            let client = self.client.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { client.send_cancel(request_id).await });
            }
        }
    }
}

/// Adds the 2026-07-28 per-request envelope to `params._meta`.
fn modern_params(params: Value) -> Value {
    let mut params = match params {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(
            protocol::META_PROTOCOL_VERSION.into(),
            protocol::MODERN_VERSION.into(),
        );
        meta.insert(protocol::META_CLIENT_CAPABILITIES.into(), json!({}));
        meta.insert(protocol::META_CLIENT_INFO.into(), client_info());
    }
    Value::Object(params)
}

fn modern_headers(method: &str, name: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![
        (
            protocol::HEADER_PROTOCOL_VERSION.to_owned(),
            protocol::MODERN_VERSION.to_owned(),
        ),
        (protocol::HEADER_METHOD.to_owned(), method.to_owned()),
    ];
    if let Some(name) = name {
        headers.push((
            protocol::HEADER_NAME.to_owned(),
            protocol::encode_header_value(name),
        ));
    }
    headers
}

fn handshake_headers(connection: &Connection) -> Vec<(String, String)> {
    vec![(
        protocol::HEADER_PROTOCOL_VERSION.to_owned(),
        connection.protocol_version.clone(),
    )]
}
