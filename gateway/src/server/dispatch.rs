//! MCP methods: lists come from the catalog, calls go to the owning target.

use std::time::{Instant, SystemTime};

use tracing::Instrument as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::context::CallContext;
use super::forward::{call_tool, complete, get_prompt, read_resource};
use super::{Snapshot, search_tool};
use crate::auth::{Caller, InboundAuthType};
use crate::jsonrpc::RpcError;
use crate::protocol::{self, Era};
use crate::search::SearchExposure;
use crate::telemetry::metrics::{MethodLabels, Metrics, RequestLabels};
use crate::telemetry::spans::{SpanKind, SpanRecord};

pub(super) fn server_info() -> Value {
    json!({"name": "switchboard", "title": "Switchboard MCP gateway", "version": env!("CARGO_PKG_VERSION")})
}

/// `listChanged`: sessions (handshake era) get the notifications on their `GET /mcp` or
/// legacy SSE stream, stateless (2026-07-28) clients on a `subscriptions/listen` stream.
pub(super) fn capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "resources": {"listChanged": true},
        "prompts": {"listChanged": true},
        "completions": {},
    })
}

/// Answers one request. Errors are JSON-RPC errors; tool failures are results.
pub(super) async fn dispatch(
    snapshot: &Snapshot,
    context: &CallContext,
    method: &str,
    params: Value,
) -> Result<Value, RpcError> {
    let started = Instant::now();
    let wall_start = SystemTime::now();
    let span = tracing::info_span!(
        "mcp_request",
        method,
        trace_id = %context.trace.trace_id,
        request_id = %context.request_id,
    );
    let outcome = answer(snapshot, context, method, params)
        .instrument(span)
        .await;
    if snapshot.spans.enabled() {
        let mut attributes = vec![("mcp.method", method.to_owned())];
        if let Some(tenant) = &context.caller.tenant {
            attributes.push(("switchboard.tenant", tenant.clone()));
        }
        snapshot.spans.record(SpanRecord {
            trace_id: context.trace.trace_id.clone(),
            span_id: context.trace.span_id.clone(),
            parent_span_id: context.trace.parent_span_id.clone(),
            name: method.to_owned(),
            kind: SpanKind::Server,
            start: wall_start,
            end: SystemTime::now(),
            attributes,
            error: outcome.is_err(),
        });
    }
    let method_label = Metrics::method_label(method);
    let status = if outcome.is_ok() {
        "ok".to_owned()
    } else {
        "error".to_owned()
    };
    let metrics = &snapshot.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method_label.clone(),
            status,
        })
        .inc();
    metrics
        .request_seconds
        .get_or_create(&MethodLabels {
            method: method_label,
        })
        .observe(started.elapsed().as_secs_f64());
    outcome
}

async fn answer(
    snapshot: &Snapshot,
    context: &CallContext,
    method: &str,
    params: Value,
) -> Result<Value, RpcError> {
    tracing::debug!(method, era = ?context.era, version = %context.protocol_version, trace_id = %context.trace.trace_id, "request");
    let result = match method {
        "ping" => Ok(json!({})),
        "server/discover" if context.era == Era::Modern => Ok(discover(snapshot, &context.caller)),
        "tools/list" => {
            let view = snapshot.policy.for_caller(&context.caller);
            let search = snapshot.search.as_ref();
            let search_only =
                search.is_some() && snapshot.settings.search.exposure == SearchExposure::SearchOnly;
            let pinned = &snapshot.settings.search.pinned_tools;
            let search_definition = search.map(|s| s.definition_for(&view));
            let visible: Vec<&Value> = search_definition
                .as_deref()
                .into_iter()
                .chain(
                    snapshot
                        .routes
                        .tools()
                        .iter()
                        .filter(|t| !search_only || pinned.contains(&t.exposed))
                        .filter(|t| view.allows(&t.tool_ref()))
                        .map(|t| &t.definition),
                )
                .collect();
            list(snapshot, &params, "tools", visible.into_iter())
        }
        "prompts/list" => {
            let view = snapshot.policy.for_caller(&context.caller);
            let visible: Vec<&Value> = snapshot
                .routes
                .prompts()
                .iter()
                .filter(|p| view.may_use_target(&p.route.target))
                .map(|p| &p.definition)
                .collect();
            list(snapshot, &params, "prompts", visible.into_iter())
        }
        "resources/list" => {
            let view = snapshot.policy.for_caller(&context.caller);
            let visible: Vec<&Value> = snapshot
                .routes
                .resources()
                .iter()
                .filter(|r| view.may_use_target(&r.route.target))
                .map(|r| &r.definition)
                .collect();
            list(snapshot, &params, "resources", visible.into_iter())
        }
        "resources/templates/list" => {
            let view = snapshot.policy.for_caller(&context.caller);
            let visible: Vec<&Value> = snapshot
                .routes
                .resource_templates_by_target()
                .filter(|(target, _)| view.may_use_target(target))
                .map(|(_, definition)| definition)
                .collect();
            list(snapshot, &params, "resourceTemplates", visible.into_iter())
        }
        "tools/call" => match &snapshot.search {
            Some(search)
                if params.get("name").and_then(Value::as_str) == Some(&search.listed.exposed) =>
            {
                search_tool::call(snapshot, search, &params, context).await
            }
            _ => call_tool(snapshot, params, context).await,
        },
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

pub(super) fn initialize_result(snapshot: &Snapshot, version: &str, caller: &Caller) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": instructions(snapshot, caller),
    })
}

fn discover(snapshot: &Snapshot, caller: &Caller) -> Value {
    json!({
        "supportedVersions": [protocol::MODERN_VERSION],
        "capabilities": capabilities(),
        "instructions": instructions(snapshot, caller),
    })
}

fn instructions(snapshot: &Snapshot, caller: &Caller) -> String {
    snapshot
        .instructions
        .for_caller(|target| snapshot.policy.may_use_target(caller, target))
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
        // Lists depend on who asks as soon as callers are told apart.
        let shared = snapshot.settings.inbound_auth.kind == InboundAuthType::None;
        object.insert(
            "cacheScope".into(),
            if shared { "public" } else { "private" }.into(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(500)), Some(500));
        assert_eq!(decode_cursor("garbage!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:1")), None);
    }
}
