//! Whether a request may proceed at all: rate limits per tenant (and per tool).

use serde_json::{Value, json};

use super::Snapshot;
use super::context::CallContext;
use super::forward::{CallRecord, record_call};
use crate::audit::AuditRecord;
use crate::jsonrpc::RpcError;
use crate::limits::Throttled;
use crate::sync::now_rfc3339;
use crate::telemetry::metrics::{Metrics, RequestLabels, TenantLabels};

/// JSON-RPC code of a throttled request; `data.retryAfterMs` says when to retry.
/// Transports answer it with HTTP 429 and `Retry-After` where they can.
pub(super) const THROTTLED: i64 = -32029;

/// Requests that spend a tenant's budget: calls, lists and searches.
fn is_limited(method: &str) -> bool {
    matches!(
        method,
        "tools/call"
            | "tools/list"
            | "resources/list"
            | "resources/templates/list"
            | "prompts/list"
    )
}

pub(super) fn throttled_error(throttled: Throttled) -> RpcError {
    let seconds = throttled.retry_after_seconds();
    RpcError::new(
        THROTTLED,
        format!("Rate limit exceeded; retry in {seconds} s"),
    )
    .with_data(json!({
        "retryAfterMs": throttled.retry_after.as_millis() as u64,
        "retryAfterSeconds": seconds,
    }))
}

/// The `Retry-After` seconds of a throttled error, if it is one.
pub(super) fn retry_after(error: &RpcError) -> Option<u64> {
    (error.code == THROTTLED)
        .then(|| error.data.as_ref()?.get("retryAfterSeconds")?.as_u64())
        .flatten()
}

/// Checks the rate limits for this request; a refusal is counted and audited.
pub(super) fn admit(
    snapshot: &Snapshot,
    context: &CallContext,
    method: &str,
    params: &Value,
) -> Result<(), RpcError> {
    let Some(limiter) = &snapshot.limiter else {
        return Ok(());
    };
    if !is_limited(method) {
        return Ok(());
    }
    let tenant = context.caller.tenant.as_deref();
    let tool = (method == "tools/call")
        .then(|| params.get("name").and_then(Value::as_str))
        .flatten()
        .and_then(|name| snapshot.routes.tool(name));
    let verdict = limiter.admit(tenant).and_then(|()| {
        tool.map_or(Ok(()), |t| {
            limiter.admit_tool(tenant, &t.exposed, &t.route.target)
        })
    });
    let Err(throttled) = verdict else {
        return Ok(());
    };
    let metrics = &snapshot.metrics;
    metrics
        .throttled
        .get_or_create(&TenantLabels {
            tenant: metrics.tenant_label(tenant),
        })
        .inc();
    let reason = Some(format!("rate limit: retry in {:?}", throttled.retry_after));
    match tool {
        Some(tool) => {
            let call = CallRecord {
                tool,
                label: "throttled",
                elapsed: std::time::Duration::ZERO,
                arguments: params.get("arguments"),
                reason,
            };
            record_call(snapshot, context, &call, None);
        }
        None => snapshot.audit.write(&AuditRecord {
            time: now_rfc3339(),
            event: "request_throttled",
            method: method.to_owned(),
            outcome: "throttled",
            tenant: context.caller.tenant.clone(),
            user: context.caller.user.clone(),
            client_id: context.caller.client_id.clone(),
            subject: context.caller.subject.clone(),
            request_id: context.request_id.clone(),
            trace_id: context.trace.trace_id.clone(),
            reason,
            ..AuditRecord::default()
        }),
    }
    let labels = RequestLabels {
        method: Metrics::method_label(method),
        status: "throttled".into(),
    };
    metrics.requests.get_or_create(&labels).inc();
    Err(throttled_error(throttled))
}
