//! MCP methods: lists come from the catalog, calls go to the owning target.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::Snapshot;
use crate::auth::Caller;
use crate::jsonrpc::{INTERNAL_ERROR, RpcError};
use crate::protocol::{self, Era};
use crate::routes::Listed;
use crate::upstream::{CallOptions, UpstreamError};

/// MCP's code for an unknown resource URI.
const RESOURCE_NOT_FOUND: i64 = -32002;

/// The protocol facts of the request being answered.
#[derive(Debug, Clone)]
pub(super) struct CallContext {
    pub era: Era,
    pub protocol_version: String,
    /// Set when the client reads an event stream: upstream notifications go there.
    pub relay: Option<mpsc::Sender<Value>>,
    pub caller: Arc<Caller>,
}

impl CallContext {
    /// Upstream call options: the caller (for targets that forward its token), no relay.
    fn upstream_options(&self) -> CallOptions {
        CallOptions {
            caller: Some(self.caller.clone()),
            ..CallOptions::default()
        }
    }
}

pub(super) fn server_info() -> Value {
    json!({"name": "switchboard", "title": "Switchboard MCP gateway", "version": env!("CARGO_PKG_VERSION")})
}

pub(super) fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}, "resources": {}, "prompts": {}, "completions": {}})
}

/// Answers one request. Errors are JSON-RPC errors; tool failures are results.
pub(super) async fn dispatch(
    snapshot: &Snapshot,
    context: &CallContext,
    method: &str,
    params: Value,
) -> Result<Value, RpcError> {
    tracing::debug!(method, era = ?context.era, version = %context.protocol_version, "request");
    let result = match method {
        "ping" => Ok(json!({})),
        "server/discover" if context.era == Era::Modern => Ok(discover(snapshot)),
        "tools/list" => list(
            snapshot,
            &params,
            "tools",
            snapshot.routes.tools().iter().map(|t| &t.definition),
        ),
        "prompts/list" => list(
            snapshot,
            &params,
            "prompts",
            snapshot.routes.prompts().iter().map(|p| &p.definition),
        ),
        "resources/list" => list(
            snapshot,
            &params,
            "resources",
            snapshot.routes.resources().iter().map(|r| &r.definition),
        ),
        "resources/templates/list" => list(
            snapshot,
            &params,
            "resourceTemplates",
            snapshot.routes.resource_templates().iter(),
        ),
        "tools/call" => call_tool(snapshot, params, context).await,
        "prompts/get" => get_prompt(snapshot, params, context).await,
        "completion/complete" => complete(snapshot, params, context).await,
        "resources/read" => read_resource(snapshot, params, context).await,
        "logging/setLevel" if context.era == Era::Handshake => Ok(json!({})),
        _ => Err(RpcError::method_not_found(method)),
    }?;
    Ok(match context.era {
        Era::Modern => modern_result(result, method, snapshot),
        Era::Handshake => result,
    })
}

pub(super) fn initialize_result(snapshot: &Snapshot, version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": snapshot.instructions,
    })
}

fn discover(snapshot: &Snapshot) -> Value {
    json!({
        "supportedVersions": [protocol::MODERN_VERSION],
        "capabilities": capabilities(),
        "instructions": snapshot.instructions,
    })
}

/// 2026-07-28 results carry `resultType`, the server's identity, and cache hints on lists.
fn modern_result(mut result: Value, method: &str, snapshot: &Snapshot) -> Value {
    let Some(object) = result.as_object_mut() else {
        return result;
    };
    object
        .entry("resultType")
        .or_insert_with(|| "complete".into());
    let meta = object.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(protocol::META_SERVER_INFO.into(), server_info());
    }
    if method.ends_with("/list") || method == "server/discover" {
        object.insert("ttlMs".into(), snapshot.settings.list_ttl_ms.into());
        // Every caller sees the same catalog until per-caller authorization exists.
        object.insert("cacheScope".into(), "public".into());
    }
    result
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("o:")?
        .parse()
        .ok()
}

/// One page of a list, with `nextCursor` when more follow.
fn list<'a>(
    snapshot: &Snapshot,
    params: &Value,
    field: &str,
    items: impl ExactSizeIterator<Item = &'a Value>,
) -> Result<Value, RpcError> {
    let total = items.len();
    let offset = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(cursor)) => decode_cursor(cursor)
            .filter(|offset| *offset <= total)
            .ok_or_else(|| RpcError::invalid_params("Invalid cursor"))?,
        Some(_) => return Err(RpcError::invalid_params("cursor must be a string")),
    };
    let size = snapshot.settings.page_size.max(1);
    let page: Vec<Value> = items.skip(offset).take(size).cloned().collect();
    let mut result = Map::new();
    result.insert(field.into(), Value::Array(page));
    if offset + size < total {
        result.insert("nextCursor".into(), encode_cursor(offset + size).into());
    }
    Ok(Value::Object(result))
}

/// Params as the upstream should see them: its own names, no client envelope, and a
/// progress token only when progress can be relayed back.
fn upstream_params(params: Value, rename: Option<(&str, &str)>, relayed: bool) -> Value {
    let mut params = match params {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some((key, value)) = rename {
        params.insert(key.into(), value.into());
    }
    if let Some(Value::Object(meta)) = params.get_mut("_meta") {
        for key in [
            protocol::META_PROTOCOL_VERSION,
            protocol::META_CLIENT_CAPABILITIES,
            protocol::META_CLIENT_INFO,
        ] {
            meta.remove(key);
        }
        if !relayed {
            meta.remove("progressToken");
        }
        if meta.is_empty() {
            params.remove("_meta");
        }
    }
    Value::Object(params)
}

/// Drops what belongs to the upstream's own protocol exchange from a forwarded result.
fn upstream_result(mut result: Value) -> Value {
    if let Some(object) = result.as_object_mut() {
        if object.get("resultType").and_then(Value::as_str) == Some("complete") {
            object.remove("resultType");
        }
        object.remove("ttlMs");
        object.remove("cacheScope");
        if let Some(Value::Object(meta)) = object.get_mut("_meta") {
            meta.remove(protocol::META_SERVER_INFO);
            if meta.is_empty() {
                object.remove("_meta");
            }
        }
    }
    result
}

/// A tool result that tells the agent the call failed and why.
fn tool_error(message: String) -> Value {
    json!({"content": [{"type": "text", "text": message}], "isError": true})
}

fn name_param<'a>(params: &'a Value, key: &str, method: &str) -> Result<&'a str, RpcError> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params(format!("{method} needs a string {key:?}")))
}

/// `Mcp-Param-*` headers for arguments the tool's schema marks with `x-mcp-header`.
fn param_headers(tool: &Listed, arguments: Option<&Value>) -> Vec<(String, String)> {
    let (Some(properties), Some(arguments)) = (
        tool.definition
            .pointer("/inputSchema/properties")
            .and_then(Value::as_object),
        arguments.and_then(Value::as_object),
    ) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(property, schema)| {
            let header = schema.get("x-mcp-header")?.as_str()?;
            let value = match arguments.get(property)? {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                _ => return None,
            };
            Some((
                format!("{}{header}", protocol::HEADER_PARAM_PREFIX),
                protocol::encode_header_value(&value),
            ))
        })
        .collect()
}

async fn call_tool(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let name = name_param(&params, "name", "tools/call")?.to_owned();
    let tool = snapshot
        .routes
        .tool(&name)
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown tool: {name}")))?;
    let target = &tool.route.target;
    let Some(client) = snapshot.upstreams.get(&**target) else {
        return Ok(tool_error(format!(
            "target {target} is not configured on this gateway"
        )));
    };
    let options = CallOptions {
        headers: param_headers(tool, params.get("arguments")),
        relay: context.relay.clone(),
        caller: Some(context.caller.clone()),
    };
    let relayed = options.relay.is_some();
    let mut forwarded = upstream_params(params, Some(("name", &tool.route.upstream_name)), relayed);
    if relayed && context.era == Era::Handshake {
        // Handshake-era clients get log messages unless they ask otherwise; a 2026-07-28
        // upstream sends them only when the request names a level.
        let meta = &mut forwarded["_meta"];
        if meta.get(protocol::META_LOG_LEVEL).is_none() {
            meta[protocol::META_LOG_LEVEL] = "info".into();
        }
    }
    let started = Instant::now();
    let outcome = client.request_with("tools/call", forwarded, &options).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(result) => {
            let is_error = result
                .get("isError")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            tracing::info!(tool = %name, target = %target, elapsed_ms, outcome = if is_error { "tool_error" } else { "ok" }, "tools/call");
            Ok(upstream_result(result))
        }
        // The upstream's own protocol answer (e.g. invalid arguments) passes through.
        Err(UpstreamError::Rpc { error, .. }) => {
            tracing::info!(tool = %name, target = %target, elapsed_ms, outcome = "rpc_error", code = error.code, "tools/call");
            Err(*error)
        }
        Err(error) => {
            tracing::warn!(tool = %name, target = %target, elapsed_ms, outcome = error.kind(), %error, "tools/call");
            Ok(tool_error(format!(
                "Tool {name} could not be called: {error}"
            )))
        }
    }
}

/// For reads and prompts there is no `isError`: upstream failures are JSON-RPC errors.
fn forward_error(error: UpstreamError) -> RpcError {
    match error {
        UpstreamError::Rpc { error, .. } => *error,
        other => RpcError::new(INTERNAL_ERROR, other.to_string()),
    }
}

async fn get_prompt(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let name = name_param(&params, "name", "prompts/get")?.to_owned();
    let prompt = snapshot
        .routes
        .prompt(&name)
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown prompt: {name}")))?;
    let client = snapshot
        .upstreams
        .get(&*prompt.route.target)
        .ok_or_else(|| RpcError::new(INTERNAL_ERROR, "target not configured"))?;
    let forwarded = upstream_params(params, Some(("name", &prompt.route.upstream_name)), false);
    client
        .request_with("prompts/get", forwarded, &context.upstream_options())
        .await
        .map(upstream_result)
        .map_err(forward_error)
}

async fn read_resource(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let uri = name_param(&params, "uri", "resources/read")?.to_owned();
    let not_found = || {
        RpcError::new(RESOURCE_NOT_FOUND, format!("Resource not found: {uri}"))
            .with_data(json!({"uri": uri}))
    };
    let target = snapshot.routes.resource_owner(&uri).ok_or_else(not_found)?;
    let client = snapshot.upstreams.get(&*target).ok_or_else(not_found)?;
    client
        .request_with(
            "resources/read",
            upstream_params(params, None, false),
            &context.upstream_options(),
        )
        .await
        .map(upstream_result)
        .map_err(forward_error)
}

/// Routes a completion request to the target owning the prompt or resource template.
async fn complete(
    snapshot: &Snapshot,
    mut params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let reference = params.get("ref").cloned().unwrap_or(Value::Null);
    let kind = reference
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let target = match kind {
        "ref/prompt" => {
            let name = name_param(&reference, "name", "completion/complete")?;
            let prompt = snapshot
                .routes
                .prompt(name)
                .ok_or_else(|| RpcError::invalid_params(format!("Unknown prompt: {name}")))?;
            params["ref"]["name"] = prompt.route.upstream_name.clone().into();
            prompt.route.target.clone()
        }
        "ref/resource" => {
            let uri = name_param(&reference, "uri", "completion/complete")?;
            snapshot
                .routes
                .resource_template_owner(uri)
                .ok_or_else(|| RpcError::invalid_params(format!("Unknown resource: {uri}")))?
        }
        other => {
            return Err(RpcError::invalid_params(format!(
                "Unknown reference type {other:?}"
            )));
        }
    };
    let client = snapshot
        .upstreams
        .get(&*target)
        .ok_or_else(|| RpcError::new(INTERNAL_ERROR, "target not configured"))?;
    client
        .request_with(
            "completion/complete",
            upstream_params(params, None, false),
            &context.upstream_options(),
        )
        .await
        .map(upstream_result)
        .map_err(forward_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(500)), Some(500));
        assert_eq!(decode_cursor("garbage!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:1")), None);
    }

    #[test]
    fn client_envelope_is_not_forwarded_but_other_meta_is() {
        let params = json!({
            "name": "cart___get_item",
            "arguments": {"id": 1},
            "_meta": {protocol::META_PROTOCOL_VERSION: "2026-07-28", "traceparent": "00-abc-def-01", "progressToken": 3}
        });
        let forwarded = upstream_params(params, Some(("name", "get_item")), false);
        assert_eq!(forwarded["name"], "get_item");
        assert_eq!(forwarded["_meta"], json!({"traceparent": "00-abc-def-01"}));
    }

    #[test]
    fn upstream_protocol_fields_are_removed_from_results() {
        let result = json!({
            "content": [], "resultType": "complete",
            "_meta": {protocol::META_SERVER_INFO: {"name": "cart"}}
        });
        assert_eq!(upstream_result(result), json!({"content": []}));
        let pending = json!({"resultType": "input_required"});
        assert_eq!(upstream_result(pending.clone()), pending);
    }
}
