//! A small MCP client over raw HTTP (reqwest), in either protocol era.
//!
//! Handshake era: `initialize` (the server's `Mcp-Session-Id` is kept and sent on every
//! later request), then `notifications/initialized`. 2026-07-28: no handshake; every
//! request carries `params._meta` with the protocol version and client capabilities and
//! the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers. Responses may be JSON
//! or an event stream; both are read.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};

pub const MODERN_VERSION: &str = "2026-07-28";
pub const LEGACY_VERSION: &str = "2025-11-25";

/// Which protocol era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    /// 2025-11-25 with the `initialize` handshake and a session id.
    Legacy,
    /// 2026-07-28, stateless.
    Modern,
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        })
    }
}

impl std::str::FromStr for Era {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "legacy" | "2025-11-25" => Ok(Era::Legacy),
            "modern" | "2026-07-28" => Ok(Era::Modern),
            other => Err(format!("unknown era {other:?} (legacy or modern)")),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum ClientError {
    /// Connection refused, reset, timed out...
    Transport(String),
    /// An HTTP status other than 2xx (with the body, which may hold a JSON-RPC error).
    Http { status: u16, body: String },
    /// A JSON-RPC error response.
    Rpc { code: i64, message: String },
    /// A body that is not a JSON-RPC response to the request.
    Malformed(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Transport(e) => write!(f, "transport error: {e}"),
            ClientError::Http { status, body } => write!(f, "HTTP {status}: {body}"),
            ClientError::Rpc { code, message } => write!(f, "JSON-RPC error {code}: {message}"),
            ClientError::Malformed(e) => write!(f, "malformed response: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// An HTTP client for MCP clients: one connection pool per MCP client, so N clients
/// hold N connections, as N agents would.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// One MCP client.
#[derive(Debug, Clone)]
pub struct McpClient {
    http: reqwest::Client,
    url: String,
    era: Era,
    session: Option<String>,
    next_id: u64,
    /// Accept an event stream (what real clients send); off asks for plain JSON.
    pub accept_sse: bool,
}

impl McpClient {
    pub fn new(http: reqwest::Client, url: impl Into<String>, era: Era) -> Self {
        Self {
            http,
            url: url.into(),
            era,
            session: None,
            next_id: 1,
            accept_sse: true,
        }
    }

    pub fn era(&self) -> Era {
        self.era
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Uses `session` from now on (e.g. a session id kept across a gateway restart).
    pub fn set_session_id(&mut self, session: Option<String>) {
        self.session = session;
    }

    /// Handshake era: `initialize` + `notifications/initialized`. 2026-07-28: nothing.
    pub async fn connect(&mut self) -> Result<Value, ClientError> {
        if self.era == Era::Modern {
            return Ok(json!({}));
        }
        self.session = None;
        let params = json!({
            "protocolVersion": LEGACY_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "switchboard-bench", "version": env!("CARGO_PKG_VERSION")},
        });
        let (result, session) = self.exchange("initialize", params).await?;
        self.session = session;
        self.notify("notifications/initialized").await?;
        Ok(result)
    }

    async fn notify(&self, method: &str) -> Result<(), ClientError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let response = self
            .post(method, None, &body)
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let body = response.text().await.unwrap_or_default();
            Err(ClientError::Http { status, body })
        }
    }

    fn post(&self, method: &str, name: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let accept = if self.accept_sse {
            "application/json, text/event-stream"
        } else {
            "application/json"
        };
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", accept)
            .header("content-type", "application/json")
            .body(body.to_string());
        match self.era {
            Era::Modern => {
                request = request
                    .header("mcp-protocol-version", MODERN_VERSION)
                    .header("mcp-method", method);
                if let Some(name) = name {
                    request = request.header("mcp-name", name);
                }
            }
            Era::Legacy => {
                if method != "initialize" {
                    request = request.header("mcp-protocol-version", LEGACY_VERSION);
                }
                if let Some(session) = &self.session {
                    request = request.header("mcp-session-id", session);
                }
            }
        }
        request
    }

    /// Sends one request; returns its result.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.exchange(method, params)
            .await
            .map(|(result, _)| result)
    }

    async fn exchange(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<(Value, Option<String>), ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let name = params
            .get(if method == "resources/read" {
                "uri"
            } else {
                "name"
            })
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|_| matches!(method, "tools/call" | "prompts/get" | "resources/read"));
        let params = match self.era {
            Era::Modern => with_envelope(params),
            Era::Legacy => params,
        };
        let mut body = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            body["params"] = params;
        }
        let response = self
            .post(method, name.as_deref(), &body)
            .send()
            .await
            .map_err(|e| ClientError::Transport(format!("{e:?}")))?;
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let text = response
            .text()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(ClientError::Http { status, body: text });
        }
        let message = if sse {
            sse_messages(&text)
                .into_iter()
                .find(|m| m.get("id") == Some(&json!(id)))
                .ok_or_else(|| ClientError::Malformed(format!("no response in stream: {text}")))?
        } else {
            serde_json::from_str::<Value>(&text)
                .map_err(|e| ClientError::Malformed(format!("{e}: {text}")))?
        };
        if let Some(error) = message.get("error") {
            return Err(ClientError::Rpc {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        match message.get("result") {
            Some(result) => Ok((result.clone(), session)),
            None => Err(ClientError::Malformed(text)),
        }
    }

    /// `tools/call` with `arguments`; the result may have `isError: true`.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
            .await
    }

    /// Every tool, following `nextCursor` to the last page. Also returns the page count.
    pub async fn list_all_tools(&mut self) -> Result<(Vec<Value>, usize), ClientError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.request("tools/list", params).await?;
            pages += 1;
            if let Some(Value::Array(items)) = page.get("tools") {
                tools.extend(items.iter().cloned());
            }
            match page.get("nextCursor").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && pages < 100_000 => cursor = Some(next.to_owned()),
                _ => return Ok((tools, pages)),
            }
        }
    }
}

/// Adds the 2026-07-28 per-request envelope to `params._meta`.
pub fn with_envelope(params: Value) -> Value {
    let mut params = match params {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let meta = params.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(
            "io.modelcontextprotocol/protocolVersion".into(),
            MODERN_VERSION.into(),
        );
        meta.insert(
            "io.modelcontextprotocol/clientCapabilities".into(),
            json!({}),
        );
    }
    Value::Object(params)
}

/// The JSON messages of an event-stream body (events without JSON data are skipped).
pub fn sse_messages(text: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut data = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() {
                if let Ok(value) = serde_json::from_str(&data) {
                    messages.push(value);
                }
                data.clear();
            }
        } else if let Some(rest) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    messages
}

/// The text of a tool result's first content block.
pub fn result_text(result: &Value) -> Option<&str> {
    result.pointer("/content/0/text").and_then(Value::as_str)
}

pub fn is_error(result: &Value) -> bool {
    result.get("isError").and_then(Value::as_bool) == Some(true)
}

/// How many listed tools carry `prefix` (the gateway also lists its own tools, such as
/// the built-in search tool, beside the targets' ones).
pub fn count_prefixed(tools: &[Value], prefix: &str) -> usize {
    tools
        .iter()
        .filter(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with(prefix))
        })
        .count()
}
