//! `subscriptions/listen` (2026-07-28): the stateless revision's channel for change
//! notifications. The answer is an event stream:
//!
//! 1. `notifications/subscriptions/acknowledged` with the subset of the requested filter
//!    the gateway honors (list changes of tools, prompts and resources; not
//!    `resourceSubscriptions`, as `notifications/resources/updated` is not bridged);
//! 2. the requested `notifications/*/list_changed`, for targets the caller may use;
//! 3. when the gateway shuts down, the request's result: the graceful close, after which
//!    the client listens again (on another replica).
//!
//! Every frame carries the request id in `_meta["io.modelcontextprotocol/subscriptionId"]`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Map, Value, json};

use super::Gateway;
use super::changes::{ListKind, changed_lists};
use crate::auth::Caller;
use crate::jsonrpc::RpcError;

/// The `_meta` key that names the subscription (the listen request's id) on every frame.
pub const SUBSCRIPTION_ID_META: &str = "io.modelcontextprotocol/subscriptionId";

/// The filter keys the gateway honors, with the list each one announces.
const HONORED: [(&str, ListKind); 3] = [
    ("toolsListChanged", ListKind::Tools),
    ("promptsListChanged", ListKind::Prompts),
    ("resourcesListChanged", ListKind::Resources),
];

/// The honored filter and the lists it selects, from `params.notifications`.
pub(super) fn honored_filter(
    params: &Value,
) -> Result<(Map<String, Value>, Vec<ListKind>), RpcError> {
    let Some(requested) = params.get("notifications").and_then(Value::as_object) else {
        return Err(RpcError::invalid_params(
            "subscriptions/listen needs params.notifications, e.g. {\"toolsListChanged\": true}",
        ));
    };
    let mut honored = Map::new();
    let mut kinds = Vec::new();
    for (key, kind) in HONORED {
        if requested.get(key).and_then(Value::as_bool) == Some(true) {
            honored.insert(key.to_owned(), Value::Bool(true));
            kinds.push(kind);
        }
    }
    Ok((honored, kinds))
}

/// The event stream answering one `subscriptions/listen` request.
pub(super) fn listen(
    gateway: Arc<Gateway>,
    caller: Arc<Caller>,
    id: Value,
    honored: Map<String, Value>,
    kinds: Vec<ListKind>,
) -> Response {
    let meta = json!({ SUBSCRIPTION_ID_META: id });
    let acknowledged = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": honored, "_meta": meta},
    });
    let stamped = {
        let meta = meta.clone();
        changed_lists(gateway, caller)
            .filter(move |kind| std::future::ready(kinds.contains(kind)))
            .map(move |kind| {
                let mut notification = kind.notification();
                notification["params"] = json!({"_meta": meta});
                notification
            })
    };
    let closed = json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {"resultType": "complete", "_meta": meta},
    });
    let frames = futures::stream::once(std::future::ready(acknowledged))
        .chain(stamped)
        .chain(futures::stream::once(std::future::ready(closed)))
        .map(|frame| {
            Ok::<_, Infallible>(Event::default().event("message").data(frame.to_string()))
        });
    Sse::new(frames)
        .keep_alive(KeepAlive::default())
        .into_response()
}
