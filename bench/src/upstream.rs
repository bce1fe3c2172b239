//! A fast upstream MCP server built on rmcp: echo-style tools, as many as asked, with
//! input schemas of a chosen size, listed in pages of a chosen size.
//!
//! Tool `echo` returns its `text` argument, `sleep` waits `ms` milliseconds first (the
//! reliability suite uses it for slow and hanging calls), and every generated
//! `tool_NNNNN` echoes like `echo`. It speaks both protocol eras (rmcp 3.9): handshake
//! clients get a session when `sessions` is on, 2026-07-28 requests are stateless.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// What the upstream offers.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// Total number of tools, `echo` and `sleep` included (at least 2 are served).
    pub tools: usize,
    /// Extra properties in every generated tool's input schema (≈ 90 bytes each).
    pub schema_properties: usize,
    /// Tools per `tools/list` page.
    pub page_size: usize,
    /// Give handshake-era clients a session (rmcp's legacy session mode).
    pub sessions: bool,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        Self {
            tools: 10,
            schema_properties: 4,
            page_size: 100,
            sessions: true,
        }
    }
}

/// The rmcp server handler. Cheap to clone: rmcp builds one per session.
#[derive(Clone)]
pub struct EchoServer {
    tools: Arc<Vec<Tool>>,
    page_size: usize,
    calls: Arc<AtomicU64>,
}

fn schema(properties: usize) -> JsonObject {
    let mut props = serde_json::Map::new();
    props.insert(
        "text".into(),
        json!({"type": "string", "description": "Text to echo back"}),
    );
    for i in 0..properties {
        props.insert(
            format!("option_{i}"),
            json!({"type": "integer", "minimum": 0, "maximum": 1000, "description": format!("Tuning knob number {i}")}),
        );
    }
    let mut schema = JsonObject::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(props));
    schema.insert("required".into(), json!(["text"]));
    schema
}

/// The tool list an upstream with `options` serves, in order.
pub fn tool_list(options: &UpstreamOptions) -> Vec<Tool> {
    let generated = Arc::new(schema(options.schema_properties));
    let mut sleep = JsonObject::new();
    sleep.insert("type".into(), "object".into());
    sleep.insert(
        "properties".into(),
        json!({"ms": {"type": "integer", "minimum": 0}, "text": {"type": "string"}}),
    );
    let mut tools = vec![
        Tool::new("echo", "Returns its text argument", Arc::new(schema(0))),
        Tool::new(
            "sleep",
            "Waits `ms` milliseconds, then echoes",
            Arc::new(sleep),
        ),
    ];
    tools.extend((2..options.tools).map(|i| {
        Tool::new(
            format!("tool_{i:05}"),
            format!("Generated tool number {i}: echoes its text argument"),
            generated.clone(),
        )
    }));
    tools
}

impl EchoServer {
    pub fn new(options: &UpstreamOptions) -> Self {
        Self {
            tools: Arc::new(tool_list(options)),
            page_size: options.page_size.max(1),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// `tools/call` requests answered so far (all clones share the count).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn text_argument(request: &CallToolRequestParams) -> String {
    request
        .arguments
        .as_ref()
        .and_then(|args| args.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl ServerHandler for EchoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("bench-upstream", "1.0.0"))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        let offset = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|offset| *offset <= self.tools.len())
                .ok_or_else(|| rmcp::ErrorData::invalid_params("invalid cursor", None))?,
        };
        let end = (offset + self.page_size).min(self.tools.len());
        let mut result = ListToolsResult::with_all_items(self.tools[offset..end].to_vec());
        if end < self.tools.len() {
            result.next_cursor = Some(end.to_string());
        }
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let name: &str = &request.name;
        if name == "sleep" {
            let ms = request
                .arguments
                .as_ref()
                .and_then(|args| args.get("ms"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        } else if name != "echo" && !name.starts_with("tool_") {
            return Err(rmcp::ErrorData::invalid_params(
                format!("unknown tool {name}"),
                None,
            ));
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(text_argument(&request))]).into())
    }
}

/// A running upstream; stops when [`Upstream::stop`] is called or it is dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    pub url: String,
    pub server: EchoServer,
    token: CancellationToken,
}

impl Upstream {
    pub fn stop(&self) {
        self.token.cancel();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// The axum router serving `server` at `/mcp`.
pub fn router(server: EchoServer, sessions: bool, token: CancellationToken) -> axum::Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(sessions)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_cancellation_token(token);
    let service: StreamableHttpService<EchoServer, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(server.clone()), Default::default(), config);
    axum::Router::new().nest_service("/mcp", service)
}

/// Serves an upstream on `listener` in the current runtime.
pub fn spawn_on(
    listener: tokio::net::TcpListener,
    options: &UpstreamOptions,
) -> std::io::Result<Upstream> {
    let addr = listener.local_addr()?;
    let server = EchoServer::new(options);
    let token = CancellationToken::new();
    let app = router(server.clone(), options.sessions, token.clone());
    let stop = token.clone();
    // As any tuned server: no Nagle delay between an event stream's writes.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled_owned().await })
            .await;
    });
    Ok(Upstream {
        addr,
        url: format!("http://{addr}/mcp"),
        server,
        token,
    })
}

/// Serves an upstream on an ephemeral loopback port.
pub async fn spawn(options: &UpstreamOptions) -> std::io::Result<Upstream> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    spawn_on(listener, options)
}

/// Upstream tool names as `Cow`, for callers that build requests.
pub fn tool_name(index: usize) -> Cow<'static, str> {
    match index {
        0 => "echo".into(),
        1 => "sleep".into(),
        i => format!("tool_{i:05}").into(),
    }
}
