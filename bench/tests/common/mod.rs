//! Shared pieces of the reliability suite: the benchmark's rmcp upstream as a child
//! process (so it can be killed for real), a hand-written misbehaving upstream, and
//! helpers to put the gateway in front of them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_bench::client::{Era, McpClient, http_client};
use tokio::sync::Mutex;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    switchboard_bench::gateway::free_port().unwrap()
}

/// A scratch directory unique to this test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-reliability-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `switchboard-bench upstream`: the rmcp echo server in its own process.
pub struct UpstreamProcess {
    child: Child,
    pub port: u16,
    pub url: String,
}

impl UpstreamProcess {
    /// Starts it on `port` (0: any) and waits (≤ 20 s) for its ready line.
    pub fn start(port: u16, tools: usize) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
            .args([
                "upstream",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--tools",
                &tools.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("upstream did not print its ready line within 20 s");
        let url = line
            .strip_prefix("upstream ready at ")
            .unwrap_or_else(|| panic!("unexpected upstream output {line:?}"))
            .to_owned();
        let port = url
            .rsplit(':')
            .next()
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap();
        Self { child, port, url }
    }

    /// SIGKILL: the upstream dies as a crash would, mid-response if one is in flight.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for UpstreamProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A client of `url` in `era`, connected.
pub async fn client(url: &str, era: Era) -> McpClient {
    let mut client = McpClient::new(http_client(), url, era);
    client.connect().await.unwrap();
    client
}

/// Calls `tool` with `{"text": text}` and returns the result (which may be an error result).
pub async fn echo(client: &mut McpClient, tool: &str, text: &str) -> Value {
    client
        .call_tool(tool, json!({"text": text}))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

pub fn text(result: &Value) -> &str {
    switchboard_bench::client::result_text(result).unwrap_or_default()
}

// --- A misbehaving upstream --------------------------------------------------------
//
// No real MCP server answers with broken JSON, the wrong content type or a 5xx on
// purpose, so this one is hand-written. It is a correct handshake-era server for
// `initialize` and `tools/list` (so the gateway syncs it normally) and misbehaves in
// `tools/call` according to the tool's name.

pub const MISBEHAVING_TOOLS: &[&str] = &[
    "ok",
    "malformed_json",
    "wrong_content_type",
    "empty_body",
    "html_500",
    "status_502",
    "jsonrpc_error_503",
    "truncated_stream",
    "wrong_id",
    "hang",
    "expire_session",
];

#[derive(Default)]
pub struct Misbehaving {
    pub initializes: AtomicUsize,
    pub cancellations: AtomicUsize,
    expired_once: AtomicBool,
    session: Mutex<Option<String>>,
}

fn json_body(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn misbehave(
    State(state): State<Arc<Misbehaving>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let method = message.get("method").and_then(Value::as_str).unwrap_or("");
    let result = |result: Value| {
        json_body(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": result}),
        )
    };
    if method == "initialize" {
        let n = state.initializes.fetch_add(1, Ordering::SeqCst) + 1;
        let session = format!("session-{n}");
        *state.session.lock().await = Some(session.clone());
        let mut response = result(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "misbehaving", "version": "1"},
        }));
        response
            .headers_mut()
            .insert("mcp-session-id", session.parse().unwrap());
        return response;
    }
    if method == "server/discover" {
        // A handshake-era server: the gateway falls back to `initialize`.
        return json_body(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}),
        );
    }
    let sent = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if sent.is_none() || sent != *state.session.lock().await {
        return (StatusCode::NOT_FOUND, "session not found").into_response();
    }
    match method {
        "notifications/cancelled" => {
            state.cancellations.fetch_add(1, Ordering::SeqCst);
            return StatusCode::ACCEPTED.into_response();
        }
        "notifications/initialized" => return StatusCode::ACCEPTED.into_response(),
        "tools/list" => {
            let tools: Vec<Value> = MISBEHAVING_TOOLS
                .iter()
                .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
                .collect();
            return result(json!({"tools": tools}));
        }
        "tools/call" => {}
        _ => {
            return result(json!({}));
        }
    }
    let tool = message
        .pointer("/params/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ok = |text: &str| result(json!({"content": [{"type": "text", "text": text}]}));
    match tool {
        "ok" => ok("fine"),
        "malformed_json" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"jsonrpc": "2.0", "id": "#,
        )
            .into_response(),
        "wrong_content_type" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>hello</body></html>",
        )
            .into_response(),
        "empty_body" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "",
        )
            .into_response(),
        "html_500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<h1>Internal Server Error</h1>",
        )
            .into_response(),
        "status_502" => StatusCode::BAD_GATEWAY.into_response(),
        "jsonrpc_error_503" => json_body(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": "overloaded, try later"}}),
        ),
        "truncated_stream" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/event-stream")],
            "event: message\ndata: {\"jsonrpc\": \"2.0\", \"id\"",
        )
            .into_response(),
        "wrong_id" => json_body(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": 987654321, "result": {"content": []}}),
        ),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            ok("too late")
        }
        "expire_session" => {
            if state.expired_once.swap(true, Ordering::SeqCst) {
                ok("renewed")
            } else {
                // The upstream forgets the session, as after its own restart or expiry.
                *state.session.lock().await = None;
                (StatusCode::NOT_FOUND, "session expired").into_response()
            }
        }
        other => json_body(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": format!("unknown tool {other}")}}),
        ),
    }
}

/// Serves the misbehaving upstream on an ephemeral port; returns its URL and state.
pub async fn spawn_misbehaving() -> (String, Arc<Misbehaving>) {
    let state = Arc::new(Misbehaving::default());
    let app = axum::Router::new()
        .route("/mcp", axum::routing::post(misbehave))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/mcp"), state)
}
