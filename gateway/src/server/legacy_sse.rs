//! The legacy HTTP+SSE transport (protocol 2024-11-05): `GET /sse` opens the stream,
//! `POST /messages?sessionId=...` sends requests, answers arrive on the stream.
//!
//! The stream lives on one replica, so these sessions are per replica (a Service in
//! front of several replicas needs client-IP affinity for this transport).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::Value;
use tokio::sync::mpsc;

use super::admission::admit;
use super::context::CallContext;
use super::dispatch::{dispatch, initialize_result};
use super::{Gateway, changes};
use crate::auth::Caller;
use crate::jsonrpc::{self, Message, PARSE_ERROR, RpcError};
use crate::protocol::{self, Era};

struct SseSession {
    sender: mpsc::Sender<Value>,
    version: Arc<Mutex<String>>,
    /// Who opened the stream; only they may post to it.
    subject: String,
}

#[derive(Default)]
pub(super) struct SseSessions {
    open: Mutex<HashMap<String, SseSession>>,
}

impl SseSessions {
    fn insert(&self, id: String, session: SseSession) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, session);
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    fn get(&self, id: &str, subject: &str) -> Option<(mpsc::Sender<Value>, Arc<Mutex<String>>)> {
        let open = self.open.lock().ok()?;
        open.get(id)
            .filter(|s| s.subject == subject)
            .map(|s| (s.sender.clone(), s.version.clone()))
    }
}

/// Forgets the session when its stream is dropped (client gone).
struct Registration {
    gateway: Arc<Gateway>,
    id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.gateway.metrics.legacy_streams.dec();
        self.gateway.sse.remove(&self.id);
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) async fn open(
    State(gateway): State<Arc<Gateway>>,
    Extension(caller): Extension<Arc<Caller>>,
) -> Response {
    let id = random_id();
    let (sender, receiver) = mpsc::channel::<Value>(64);
    let version = Arc::new(Mutex::new(protocol::HANDSHAKE_VERSIONS[0].to_owned()));
    tokio::spawn(forward_list_changes(
        gateway.clone(),
        caller.clone(),
        sender.clone(),
    ));
    gateway.sse.insert(
        id.clone(),
        SseSession {
            sender,
            version,
            subject: caller.subject.clone(),
        },
    );
    gateway.metrics.legacy_streams.inc();
    let closing = gateway.closing.clone().cancelled_owned();
    let registration = Registration {
        gateway,
        id: id.clone(),
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/messages?sessionId={id}"));
    let messages = futures::stream::unfold(
        (receiver, registration),
        |(mut receiver, registration)| async move {
            let message = receiver.recv().await?;
            let event = Event::default().event("message").data(message.to_string());
            Some((Ok::<_, Infallible>(event), (receiver, registration)))
        },
    );
    // The stream ends when the server shuts down, so it does not hold the shutdown open.
    let stream = futures::StreamExt::chain(
        futures::stream::once(async { Ok::<_, Infallible>(endpoint) }),
        messages,
    )
    .take_until(closing);
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Puts list-changed notifications on the stream until the client goes away.
async fn forward_list_changes(
    gateway: Arc<Gateway>,
    caller: Arc<Caller>,
    stream: mpsc::Sender<Value>,
) {
    let mut notifications = std::pin::pin!(changes::notifications(gateway, caller));
    loop {
        tokio::select! {
            () = stream.closed() => return,
            next = notifications.next() => match next {
                Some(notification) => {
                    if stream.send(notification).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
        }
    }
}

pub(super) async fn message(
    State(gateway): State<Arc<Gateway>>,
    Extension(caller): Extension<Arc<Caller>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let Some((sender, version)) = query
        .get("sessionId")
        .and_then(|id| gateway.sse.get(id, &caller.subject))
    else {
        return (StatusCode::NOT_FOUND, "Could not find session").into_response();
    };
    let Some(snapshot) = gateway.snapshot() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response();
    };
    let message = match serde_json::from_slice::<Value>(&body) {
        Ok(value) => Message::parse(value),
        Err(e) => Err(RpcError::new(PARSE_ERROR, format!("Parse error: {e}"))),
    };
    let (id, method, params) = match message {
        Ok(Message::Request { id, method, params }) => (id, method, params),
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(error) => {
            let _ = sender.send(jsonrpc::failure(&Value::Null, &error)).await;
            return (StatusCode::BAD_REQUEST, error.message).into_response();
        }
    };
    tokio::spawn(async move {
        let answer = if method == "initialize" {
            let requested = params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let negotiated = if protocol::is_handshake_version(requested) {
                requested.to_owned()
            } else {
                protocol::LATEST_HANDSHAKE_VERSION.to_owned()
            };
            if let Ok(mut current) = version.lock() {
                current.clone_from(&negotiated);
            }
            Ok(initialize_result(&snapshot, &negotiated, &caller))
        } else {
            let negotiated = version.lock().map(|v| v.clone()).unwrap_or_default();
            // The client already reads an event stream: notifications go straight to it.
            let mut context =
                CallContext::new(Era::Handshake, negotiated, caller, &headers, &params);
            context.relay = Some(sender.clone());
            match admit(&snapshot, &context, &method, &params) {
                Ok(()) => dispatch(&snapshot, &context, &method, params).await,
                Err(error) => Err(error),
            }
        };
        let response = match answer {
            Ok(result) => jsonrpc::success(&id, result),
            Err(error) => jsonrpc::failure(&id, &error),
        };
        let _ = sender.send(response).await;
    });
    (StatusCode::ACCEPTED, "Accepted").into_response()
}
