//! W3C trace context: continue the caller's trace and hand it on to upstreams.
//!
//! The gateway is one hop: it keeps the caller's trace id, gives each upstream call a new
//! span id, and keeps `tracestate` as received.

use serde_json::Value;

/// A trace the current request belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// The gateway's own span for this request (16 hex digits).
    pub span_id: String,
    /// The caller's span, when the caller sent one.
    pub parent_span_id: Option<String>,
    /// 2 hex digits (`01` = sampled).
    pub flags: String,
    pub tracestate: Option<String>,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    let _ = aws_lc_rs::rand::fill(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses `00-<trace-id>-<parent-id>-<flags>`; `None` for anything malformed or all-zero.
fn parse(traceparent: &str) -> Option<(String, String, String)> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = is_hex(version, 2)
        && version != "ff"
        && is_hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && is_hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && is_hex(flags, 2);
    valid.then(|| (trace_id.to_owned(), parent.to_owned(), flags.to_owned()))
}

impl TraceContext {
    /// From the `traceparent`/`tracestate` headers, else from the request's `_meta`
    /// (MCP clients may carry it there), else a new trace.
    pub fn from_request(
        traceparent: Option<&str>,
        tracestate: Option<&str>,
        params: &Value,
    ) -> Self {
        let meta = params.get("_meta");
        let meta_str = |key: &str| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
        let (parent, state) = match traceparent {
            Some(header) => (Some(header), tracestate),
            None => (meta_str("traceparent"), meta_str("tracestate")),
        };
        let span_id = random_hex(8);
        match parent.and_then(parse) {
            Some((trace_id, parent, flags)) => Self {
                trace_id,
                span_id,
                parent_span_id: Some(parent),
                flags,
                tracestate: state.map(str::to_owned),
            },
            None => Self {
                trace_id: random_hex(16),
                span_id,
                parent_span_id: None,
                flags: "01".into(),
                tracestate: None,
            },
        }
    }

    /// A new span id for a child of this request's span (an upstream call).
    pub fn new_span_id() -> String {
        random_hex(8)
    }

    pub fn traceparent(&self, span_id: &str) -> String {
        format!("00-{}-{span_id}-{}", self.trace_id, self.flags)
    }

    /// Headers that carry this trace to an upstream call whose span is `span_id`.
    pub fn upstream_headers_for(&self, span_id: &str) -> Vec<(String, String)> {
        let mut headers = vec![("traceparent".to_owned(), self.traceparent(span_id))];
        if let Some(state) = &self.tracestate {
            headers.push(("tracestate".to_owned(), state.clone()));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn continues_the_callers_trace_with_a_new_span() {
        let trace = TraceContext::from_request(Some(PARENT), Some("vendor=x"), &json!({}));
        assert_eq!(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = trace.traceparent(&TraceContext::new_span_id());
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(
            !child.contains("00f067aa0ba902b7"),
            "the upstream call is a new span"
        );
        assert!(child.ends_with("-01"));
        assert_eq!(trace.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        let headers = trace.upstream_headers_for("1111111111111111");
        assert_eq!(
            headers[0].1,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
        );
        assert_eq!(headers[1], ("tracestate".into(), "vendor=x".into()));
    }

    #[test]
    fn reads_meta_when_no_header_and_starts_fresh_on_garbage() {
        let from_meta =
            TraceContext::from_request(None, None, &json!({"_meta": {"traceparent": PARENT}}));
        assert_eq!(from_meta.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in [
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            let fresh = TraceContext::from_request(Some(bad), None, &json!({}));
            assert!(is_hex(&fresh.trace_id, 32));
            assert_ne!(fresh.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        }
    }
}
