//! Requests that go to a target: tool calls, prompts, resource reads, completions.
//! Each is recorded: metrics always, an audit line for tool calls.

use std::time::{Instant, SystemTime};

use tracing::Instrument as _;

use serde_json::{Map, Value, json};

use super::Snapshot;
use super::context::CallContext;
use crate::audit::AuditRecord;
use crate::jsonrpc::{INTERNAL_ERROR, RpcError};
use crate::protocol::{self, Era};
use crate::routes::Listed;
use crate::sync::now_rfc3339;
use crate::telemetry::metrics::{CallLabels, TargetLabels, TenantBytesLabels, TenantLabels};
use crate::telemetry::spans::{SpanKind, SpanRecord};
use crate::telemetry::trace::TraceContext;
use crate::upstream::{CallOptions, UpstreamError};

/// MCP's code for an unknown resource URI.
const RESOURCE_NOT_FOUND: i64 = -32002;

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

pub(super) async fn call_tool(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let name = name_param(&params, "name", "tools/call")?.to_owned();
    let tool = snapshot
        .routes
        .tool(&name)
        .ok_or_else(|| RpcError::invalid_params(format!("Unknown tool: {name}")))?;
    let arguments = params.get("arguments").cloned();
    authorize(snapshot, context, tool, arguments.as_ref())?;
    let target = &tool.route.target;
    let Some(client) = snapshot.upstreams.get(&**target) else {
        return Ok(tool_error(format!(
            "target {target} is not configured on this gateway"
        )));
    };
    let mut headers = param_headers(tool, arguments.as_ref());
    let span_id = TraceContext::new_span_id();
    headers.extend(context.trace.upstream_headers_for(&span_id));
    let options = CallOptions {
        headers,
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
    let wall_start = SystemTime::now();
    let upstream_span =
        tracing::info_span!("upstream_call", target = %target, tool = %tool.route.upstream_name);
    let outcome = client
        .request_with("tools/call", forwarded, &options)
        .instrument(upstream_span)
        .await;
    let elapsed = started.elapsed();
    if snapshot.spans.enabled() {
        snapshot.spans.record(SpanRecord {
            trace_id: context.trace.trace_id.clone(),
            span_id,
            parent_span_id: Some(context.trace.span_id.clone()),
            name: format!("tools/call {target}"),
            kind: SpanKind::Client,
            start: wall_start,
            end: SystemTime::now(),
            attributes: vec![("mcp.target", target.to_string()), ("mcp.tool", tool.route.upstream_name.clone())],
            error: !matches!(&outcome, Ok(r) if !r.get("isError").and_then(Value::as_bool).unwrap_or(false)),
        });
    }
    let (label, answer, reason) = match outcome {
        Ok(result) => {
            let failed = result
                .get("isError")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            (
                if failed { "tool_error" } else { "ok" },
                Ok(upstream_result(result)),
                None,
            )
        }
        // The upstream's own protocol answer (e.g. invalid arguments) passes through.
        Err(UpstreamError::Rpc { error, .. }) => {
            let reason = error.message.clone();
            ("upstream_error", Err(*error), Some(reason))
        }
        Err(error) => {
            let label = if matches!(error, UpstreamError::Timeout { .. }) {
                "timeout"
            } else {
                "upstream_error"
            };
            let message = format!("Tool {name} could not be called: {error}");
            (label, Ok(tool_error(message)), Some(error.to_string()))
        }
    };
    let call = CallRecord {
        tool,
        label,
        elapsed,
        arguments: arguments.as_ref(),
        reason,
    };
    record_call(snapshot, context, &call, answer.as_ref().ok());
    answer
}

/// JSON-RPC code of a tool call refused by an authorization rule.
pub(super) const DENIED: i64 = -32003;

/// Refuses the call unless the policy allows it. A tool of a target hidden from the
/// caller's tenant is answered exactly like an unknown tool; the audit line says why.
fn authorize(
    snapshot: &Snapshot,
    context: &CallContext,
    tool: &Listed,
    arguments: Option<&Value>,
) -> Result<(), RpcError> {
    let decision = snapshot.policy.decide(&context.caller, &tool.tool_ref());
    if decision.allowed {
        return Ok(());
    }
    let call = CallRecord {
        tool,
        label: "denied",
        elapsed: std::time::Duration::ZERO,
        arguments,
        reason: Some(decision.reason.clone()),
    };
    record_call(snapshot, context, &call, None);
    if decision.hidden {
        return Err(RpcError::invalid_params(format!(
            "Unknown tool: {}",
            tool.exposed
        )));
    }
    Err(RpcError::new(
        DENIED,
        format!("Tool {} is not allowed: {}", tool.exposed, decision.reason),
    )
    .with_data(json!({"rule": decision.rule})))
}

/// One finished tool call, for metrics and the audit log.
pub(super) struct CallRecord<'a> {
    pub tool: &'a Listed,
    /// ok, tool_error, upstream_error, timeout, denied or throttled.
    pub label: &'static str,
    pub elapsed: std::time::Duration,
    pub arguments: Option<&'a Value>,
    pub reason: Option<String>,
}

/// Counts the call (metrics and per-tenant metering) and writes its audit line.
pub(super) fn record_call(
    snapshot: &Snapshot,
    context: &CallContext,
    call: &CallRecord,
    result: Option<&Value>,
) {
    let caller = &context.caller;
    let metrics = &snapshot.metrics;
    let tenant = metrics.tenant_label(caller.tenant.as_deref());
    let target = call.tool.route.target.to_string();
    let elapsed_ms = call.elapsed.as_secs_f64() * 1000.0;
    metrics
        .tool_calls
        .get_or_create(&CallLabels {
            tenant: tenant.clone(),
            target: target.clone(),
            tool: call.tool.exposed.clone(),
            outcome: call.label.to_owned(),
        })
        .inc();
    if call.label == "denied" {
        metrics
            .denied
            .get_or_create(&TenantLabels {
                tenant: tenant.clone(),
            })
            .inc();
    }
    let answered = matches!(
        call.label,
        "ok" | "tool_error" | "upstream_error" | "timeout"
    );
    if answered {
        metrics
            .upstream_seconds
            .get_or_create(&TargetLabels {
                target: target.clone(),
            })
            .observe(call.elapsed.as_secs_f64());
        metrics
            .tenant_calls
            .get_or_create(&TenantLabels {
                tenant: tenant.clone(),
            })
            .inc();
        let size = |v: Option<&Value>| v.map_or(0, |v| v.to_string().len() as u64);
        metrics
            .tenant_bytes
            .get_or_create(&TenantBytesLabels {
                tenant: tenant.clone(),
                direction: "in".into(),
            })
            .inc_by(size(call.arguments));
        metrics
            .tenant_bytes
            .get_or_create(&TenantBytesLabels {
                tenant,
                direction: "out".into(),
            })
            .inc_by(size(result));
    }
    tracing::info!(
        tool = %call.tool.exposed, target = %target, elapsed_ms, outcome = call.label,
        request_id = %context.request_id, trace_id = %context.trace.trace_id, "tools/call"
    );
    let audit = &snapshot.settings.audit;
    let event = match call.label {
        "denied" => "request_denied",
        "throttled" => "request_throttled",
        _ => "tool_call",
    };
    snapshot.audit.write(&AuditRecord {
        time: now_rfc3339(),
        event,
        method: "tools/call".into(),
        outcome: call.label,
        tenant: caller.tenant.clone(),
        user: caller.user.clone(),
        client_id: caller.client_id.clone(),
        subject: caller.subject.clone(),
        tool: Some(call.tool.exposed.clone()),
        target: Some(target),
        upstream_tool: Some(call.tool.route.upstream_name.clone()),
        latency_ms: elapsed_ms,
        request_id: context.request_id.clone(),
        trace_id: context.trace.trace_id.clone(),
        reason: call.reason.clone(),
        arguments: audit.payload(audit.log_arguments, call.arguments),
        result: audit.payload(audit.log_results, result),
    });
}

/// For reads and prompts there is no `isError`: upstream failures are JSON-RPC errors.
fn forward_error(error: UpstreamError) -> RpcError {
    match error {
        UpstreamError::Rpc { error, .. } => *error,
        other => RpcError::new(INTERNAL_ERROR, other.to_string()),
    }
}

pub(super) async fn get_prompt(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let name = name_param(&params, "name", "prompts/get")?.to_owned();
    let prompt = snapshot
        .routes
        .prompt(&name)
        .filter(|p| {
            snapshot
                .policy
                .may_use_target(&context.caller, &p.route.target)
        })
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

pub(super) async fn read_resource(
    snapshot: &Snapshot,
    params: Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let uri = name_param(&params, "uri", "resources/read")?.to_owned();
    let not_found = || {
        RpcError::new(RESOURCE_NOT_FOUND, format!("Resource not found: {uri}"))
            .with_data(json!({"uri": uri}))
    };
    let target = snapshot
        .routes
        .resource_owner(&uri)
        .filter(|target| snapshot.policy.may_use_target(&context.caller, target))
        .ok_or_else(not_found)?;
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
pub(super) async fn complete(
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
    if !snapshot.policy.may_use_target(&context.caller, &target) {
        return Err(RpcError::invalid_params("Unknown reference"));
    }
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
