//! What a request carries through dispatch: protocol facts, the caller, its trace.

use std::sync::Arc;

use axum::http::HeaderMap;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::auth::Caller;
use crate::protocol::Era;
use crate::telemetry::trace::TraceContext;
use crate::upstream::CallOptions;

#[derive(Debug, Clone)]
pub(super) struct CallContext {
    pub era: Era,
    pub protocol_version: String,
    /// Set when the client reads an event stream: upstream notifications go there.
    pub relay: Option<mpsc::Sender<Value>>,
    pub caller: Arc<Caller>,
    pub trace: TraceContext,
    /// Names this request in audit lines and logs.
    pub request_id: String,
}

fn request_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl CallContext {
    pub fn new(
        era: Era,
        protocol_version: String,
        caller: Arc<Caller>,
        headers: &HeaderMap,
        params: &Value,
    ) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let trace = TraceContext::from_request(header("traceparent"), header("tracestate"), params);
        Self {
            era,
            protocol_version,
            relay: None,
            caller,
            trace,
            request_id: request_id(),
        }
    }

    /// Options for a call to an upstream: the caller (for targets that forward its
    /// token) and the trace context.
    pub fn upstream_options(&self) -> CallOptions {
        CallOptions {
            headers: self
                .trace
                .upstream_headers_for(&TraceContext::new_span_id()),
            relay: None,
            caller: Some(self.caller.clone()),
        }
    }
}
