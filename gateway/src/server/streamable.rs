//! Streamable HTTP at `/mcp` for both protocol eras.
//!
//! A request belongs to the handshake era when it carries a session id, is `initialize`,
//! or names a handshake-era `MCP-Protocol-Version`; otherwise it must carry the
//! 2026-07-28 per-request envelope, which is validated before dispatch.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::admission::{admit, retry_after};
use super::context::CallContext;
use super::dispatch::{dispatch, initialize_result};
use super::session::{SessionClaims, now_seconds};
use super::{Gateway, Snapshot, changes, listen};
use crate::auth::Caller;
use crate::jsonrpc::{
    self, HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, Message, PARSE_ERROR,
    RpcError, UNSUPPORTED_PROTOCOL_VERSION,
};
use crate::protocol::{self, Era};
use crate::telemetry::metrics::RequestLabels;

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_response(status: StatusCode, id: &Value, error: &RpcError) -> Response {
    json_response(status, &jsonrpc::failure(id, error))
}

/// 2026-07-28 maps protocol errors onto HTTP statuses; the handshake era always uses 200.
fn modern_status(code: i64) -> StatusCode {
    match code {
        PARSE_ERROR
        | INVALID_REQUEST
        | INVALID_PARAMS
        | HEADER_MISMATCH
        | -32021
        | UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) async fn post(
    State(gateway): State<Arc<Gateway>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(snapshot) = gateway.snapshot() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response();
    };
    // A body that says it is not JSON (e.g. a browser's text/plain form post, which
    // needs no CORS preflight) is refused before it is read.
    if !content_type_allowed(&headers) {
        let error = RpcError::new(INVALID_REQUEST, "Content-Type must be application/json");
        return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, &Value::Null, &error);
    }
    let session = match headers.get(protocol::HEADER_SESSION_ID) {
        None => None,
        // A session opened by another principal is as unknown as a forged one, and so is
        // an id that is not even visible ASCII.
        Some(id) => match id
            .to_str()
            .ok()
            .and_then(|id| gateway.sealer.unseal(id))
            .filter(|c| c.sb.as_deref() == Some(&*caller.subject))
        {
            Some(claims) => Some(claims),
            // The streamable HTTP spec: an unknown session is a 404, and the client
            // starts a new one.
            None => {
                let error = RpcError::new(-32001, "Session not found");
                return error_response(StatusCode::NOT_FOUND, &Value::Null, &error);
            }
        },
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => {
            let error = RpcError::new(PARSE_ERROR, format!("Parse error: {e}"));
            return error_response(StatusCode::BAD_REQUEST, &Value::Null, &error);
        }
    };
    match value {
        Value::Array(messages) => batch(&snapshot, &caller, &headers, session, messages).await,
        message => single(&gateway, snapshot, &caller, &headers, session, message).await,
    }
}

/// `application/json` (any parameters), or no Content-Type at all.
fn content_type_allowed(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|value| {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
        }),
    }
}

/// JSON-RPC batches (2025-03-26): every request answered, in one JSON array.
async fn batch(
    snapshot: &Snapshot,
    caller: &Arc<Caller>,
    headers: &HeaderMap,
    session: Option<SessionClaims>,
    messages: Vec<Value>,
) -> Response {
    if messages.is_empty() {
        let error = RpcError::new(INVALID_REQUEST, "empty batch");
        return error_response(StatusCode::BAD_REQUEST, &Value::Null, &error);
    }
    let version = session.as_ref().map(|s| s.v.clone()).unwrap_or_else(|| {
        header(headers, protocol::HEADER_PROTOCOL_VERSION)
            .unwrap_or(protocol::DEFAULT_HANDSHAKE_VERSION)
            .to_owned()
    });
    let context = CallContext::new(
        Era::Handshake,
        version,
        caller.clone(),
        headers,
        &Value::Null,
    );
    let answers = messages.into_iter().map(|message| async {
        match Message::parse(message) {
            Ok(Message::Request { id, method, params }) if method != "initialize" => {
                let outcome = match admit(snapshot, &context, &method, &params) {
                    Ok(()) => dispatch(snapshot, &context, &method, params).await,
                    Err(error) => Err(error),
                };
                Some(match outcome {
                    Ok(result) => jsonrpc::success(&id, result),
                    Err(error) => jsonrpc::failure(&id, &error),
                })
            }
            Ok(Message::Request { id, .. }) => Some(jsonrpc::failure(
                &id,
                &RpcError::new(INVALID_REQUEST, "initialize cannot be batched"),
            )),
            Ok(_) => None,
            Err(error) => Some(jsonrpc::failure(&Value::Null, &error)),
        }
    });
    let responses: Vec<Value> = futures::future::join_all(answers)
        .await
        .into_iter()
        .flatten()
        .collect();
    if responses.is_empty() {
        StatusCode::ACCEPTED.into_response()
    } else {
        json_response(StatusCode::OK, &Value::Array(responses))
    }
}

async fn single(
    gateway: &Arc<Gateway>,
    snapshot: Arc<Snapshot>,
    caller: &Arc<Caller>,
    headers: &HeaderMap,
    session: Option<SessionClaims>,
    message: Value,
) -> Response {
    let (id, method, params) = match Message::parse(message) {
        Ok(Message::Request { id, method, params }) => (id, method, params),
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(error) => return error_response(StatusCode::BAD_REQUEST, &Value::Null, &error),
    };
    if method == "initialize" && session.is_none() {
        return initialize(gateway, &snapshot, caller, &id, &params);
    }
    let context = match era_of(headers, session.as_ref(), &params) {
        Era::Handshake => {
            let version = session.map(|s| s.v).unwrap_or_else(|| {
                header(headers, protocol::HEADER_PROTOCOL_VERSION)
                    .unwrap_or(protocol::DEFAULT_HANDSHAKE_VERSION)
                    .to_owned()
            });
            CallContext::new(Era::Handshake, version, caller.clone(), headers, &params)
        }
        Era::Modern => match check_envelope(headers, &method, &params) {
            Ok(version) => CallContext::new(Era::Modern, version, caller.clone(), headers, &params),
            Err(error) => return error_response(modern_status(error.code), &id, &error),
        },
    };
    if let Err(error) = admit(&snapshot, &context, &method, &params) {
        let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, &id, &error);
        if let Some(value) =
            retry_after(&error).and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if context.era == Era::Modern && method == "subscriptions/listen" {
        return match listen::honored_filter(&params) {
            Ok((honored, kinds)) => {
                listen::listen(gateway.clone(), caller.clone(), id, honored, kinds)
            }
            Err(error) => error_response(modern_status(error.code), &id, &error),
        };
    }
    if streams(headers, &snapshot, caller, &method, &params) {
        return stream_call(snapshot, context, id, method, params);
    }
    match dispatch(&snapshot, &context, &method, params).await {
        Ok(result) => json_response(StatusCode::OK, &jsonrpc::success(&id, result)),
        Err(error) => {
            let status = match context.era {
                Era::Modern => modern_status(error.code),
                Era::Handshake => StatusCode::OK,
            };
            error_response(status, &id, &error)
        }
    }
}

/// Tool calls to a known tool answer on an event stream when the client accepts one, so
/// the upstream's progress and log notifications reach it and long calls stay alive.
/// Denied and unknown tools answer with a plain error instead.
fn streams(
    headers: &HeaderMap,
    snapshot: &Snapshot,
    caller: &Caller,
    method: &str,
    params: &Value,
) -> bool {
    let accepts = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    accepts
        && method == "tools/call"
        && params
            .get("name")
            .and_then(Value::as_str)
            .and_then(|name| snapshot.routes.tool(name))
            .is_some_and(|tool| snapshot.policy.decide(caller, &tool.tool_ref()).allowed)
}

/// Aborts the call when the client goes away, which cancels it upstream too.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn stream_call(
    snapshot: Arc<Snapshot>,
    context: CallContext,
    id: Value,
    method: String,
    params: Value,
) -> Response {
    let (relay, receiver) = mpsc::channel::<Value>(64);
    let context = CallContext {
        relay: Some(relay.clone()),
        ..context
    };
    let call = tokio::spawn(async move {
        let message = match dispatch(&snapshot, &context, &method, params).await {
            Ok(result) => jsonrpc::success(&id, result),
            Err(error) => jsonrpc::failure(&id, &error),
        };
        // Both senders drop when this task ends, which closes the stream after this.
        let _ = relay.send(message).await;
    });
    let guard = AbortOnDrop(call.abort_handle());
    let events = futures::stream::unfold((receiver, guard), |(mut receiver, guard)| async move {
        let message = receiver.recv().await?;
        let event = Event::default().event("message").data(message.to_string());
        Some((Ok::<_, Infallible>(event), (receiver, guard)))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn era_of(headers: &HeaderMap, session: Option<&SessionClaims>, params: &Value) -> Era {
    if session.is_some() {
        return Era::Handshake;
    }
    match header(headers, protocol::HEADER_PROTOCOL_VERSION) {
        Some(version) if protocol::is_handshake_version(version) => Era::Handshake,
        Some(_) => Era::Modern,
        None if envelope(params).is_some() => Era::Modern,
        None => Era::Handshake,
    }
}

fn envelope(params: &Value) -> Option<&serde_json::Map<String, Value>> {
    params.get("_meta").and_then(Value::as_object)
}

/// The 2026-07-28 validation ladder: envelope present, headers agree with the body,
/// version supported. Returns the request's protocol version.
fn check_envelope(headers: &HeaderMap, method: &str, params: &Value) -> Result<String, RpcError> {
    let meta = envelope(params).ok_or_else(|| {
        RpcError::invalid_params(format!(
            "params._meta must carry {} and {}",
            protocol::META_PROTOCOL_VERSION,
            protocol::META_CLIENT_CAPABILITIES
        ))
    })?;
    let missing: Vec<&str> = [
        protocol::META_PROTOCOL_VERSION,
        protocol::META_CLIENT_CAPABILITIES,
    ]
    .into_iter()
    .filter(|key| !meta.contains_key(*key))
    .collect();
    if !missing.is_empty() {
        return Err(RpcError::invalid_params(format!(
            "params._meta is missing {}",
            missing.join(", ")
        )));
    }
    let version = &meta[protocol::META_PROTOCOL_VERSION];
    let mismatch = |what: &str| {
        RpcError::new(
            HEADER_MISMATCH,
            format!("{what} header does not match the request body"),
        )
    };
    if header(headers, protocol::HEADER_PROTOCOL_VERSION)
        .map(Value::from)
        .as_ref()
        != Some(version)
    {
        return Err(mismatch("MCP-Protocol-Version"));
    }
    if header(headers, protocol::HEADER_METHOD) != Some(method) {
        return Err(mismatch("Mcp-Method"));
    }
    if let Some(key) = protocol::name_param(method)
        && let Some(body_value) = params.get(key).and_then(Value::as_str)
    {
        let sent = header(headers, protocol::HEADER_NAME).and_then(protocol::decode_header_value);
        if sent.as_deref() != Some(body_value) {
            return Err(mismatch("Mcp-Name"));
        }
    }
    let Some(version) = version.as_str() else {
        return Err(RpcError::invalid_params(
            "the protocol version must be a string",
        ));
    };
    if version != protocol::MODERN_VERSION {
        return Err(RpcError::new(
            UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version {version}"),
        )
        .with_data(json!({"supported": [protocol::MODERN_VERSION], "requested": version})));
    }
    Ok(version.to_owned())
}

fn initialize(
    gateway: &Gateway,
    snapshot: &Snapshot,
    caller: &Caller,
    id: &Value,
    params: &Value,
) -> Response {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = if protocol::is_handshake_version(requested) {
        requested
    } else {
        protocol::LATEST_HANDSHAKE_VERSION
    };
    let claims = SessionClaims {
        v: version.to_owned(),
        iat: now_seconds(),
        tn: caller.tenant.clone(),
        sb: Some(caller.subject.clone()),
    };
    gateway.metrics.sessions_opened.inc();
    let labels = RequestLabels {
        method: "initialize".into(),
        status: "ok".into(),
    };
    gateway.metrics.requests.get_or_create(&labels).inc();
    let Some(session_id) = gateway.sealer.seal(&claims) else {
        let error = RpcError::new(jsonrpc::INTERNAL_ERROR, "could not open a session");
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, id, &error);
    };
    let mut response = json_response(
        StatusCode::OK,
        &jsonrpc::success(id, initialize_result(snapshot, version, caller)),
    );
    if let Ok(value) = HeaderValue::from_str(&session_id) {
        response
            .headers_mut()
            .insert(protocol::HEADER_SESSION_ID, value);
    }
    response
}

/// `GET /mcp` with a session: the session's server-to-client stream, which carries
/// `notifications/*/list_changed` when a reload changes what the caller can list.
/// Without a session (the stateless 2026-07-28 revision) there is no such stream: 405.
pub(super) async fn get(
    State(gateway): State<Arc<Gateway>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = headers.get(protocol::HEADER_SESSION_ID) else {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "",
        )
            .into_response();
    };
    let accepts_events = header(&headers, header::ACCEPT.as_str())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    if !accepts_events {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "GET /mcp opens an event stream: send Accept: text/event-stream",
        )
            .into_response();
    }
    let known = id
        .to_str()
        .ok()
        .and_then(|id| gateway.sealer.unseal(id))
        .is_some_and(|c| c.sb.as_deref() == Some(&*caller.subject));
    if !known {
        let error = RpcError::new(-32001, "Session not found");
        return error_response(StatusCode::NOT_FOUND, &Value::Null, &error);
    }
    gateway.metrics.session_streams.inc();
    let open = OpenStream(gateway.clone());
    let events = changes::notifications(gateway, caller).map(move |message| {
        let _counted = &open;
        Ok::<_, Infallible>(Event::default().event("message").data(message.to_string()))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Counts a `GET /mcp` stream while it is open (dropped with the stream).
struct OpenStream(Arc<Gateway>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.metrics.session_streams.dec();
    }
}

/// Sealed sessions cannot be revoked individually; they expire on their own.
pub(super) async fn delete() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST")],
        "",
    )
        .into_response()
}
