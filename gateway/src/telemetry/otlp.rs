//! OTLP/HTTP span export with the JSON encoding (`POST {endpoint}/v1/traces`), batched
//! in the background. Dependency-free on purpose: the OTLP JSON mapping is small, and
//! the gateway's build stays lean.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::spans::SpanRecord;

const QUEUE: usize = 4096;
const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// Queues spans and ships them in batches; a full queue drops spans rather than slowing
/// requests down.
pub struct SpanExporter {
    sender: mpsc::Sender<SpanRecord>,
}

impl SpanExporter {
    pub fn start(endpoint: String, service: String, http: reqwest::Client) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        tokio::spawn(ship(receiver, url, service, http));
        Self { sender }
    }

    pub fn export(&self, span: SpanRecord) {
        let _ = self.sender.try_send(span);
    }
}

async fn ship(
    mut receiver: mpsc::Receiver<SpanRecord>,
    url: String,
    service: String,
    http: reqwest::Client,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let deadline = tokio::time::sleep(FLUSH_EVERY);
        tokio::pin!(deadline);
        let closed = loop {
            tokio::select! {
                span = receiver.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= BATCH { break false; }
                    }
                    None => break true,
                },
                () = &mut deadline => break false,
            }
        };
        if !batch.is_empty() {
            let body = encode(&service, &batch);
            batch.clear();
            match http
                .post(&url)
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::warn!(status = %response.status(), "OTLP endpoint refused spans")
                }
                Err(error) => {
                    tracing::warn!(error = %error.without_url(), "OTLP endpoint unreachable")
                }
            }
        }
        if closed {
            return;
        }
    }
}

fn nanos(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .to_string()
}

/// The OTLP JSON document for `spans` (ids as hex, times as decimal strings).
pub fn encode(service: &str, spans: &[SpanRecord]) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|span| {
            let attributes: Vec<Value> = span
                .attributes
                .iter()
                .map(|(key, value)| json!({"key": key, "value": {"stringValue": value}}))
                .collect();
            let mut encoded = json!({
                "traceId": span.trace_id,
                "spanId": span.span_id,
                "name": span.name,
                "kind": span.kind as i64,
                "startTimeUnixNano": nanos(span.start),
                "endTimeUnixNano": nanos(span.end),
                "attributes": attributes,
                "status": {"code": if span.error { 2 } else { 1 }},
            });
            if let Some(parent) = &span.parent_span_id {
                encoded["parentSpanId"] = parent.clone().into();
            }
            encoded
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}, "spans": spans}],
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::spans::SpanKind;

    #[test]
    fn spans_are_encoded_as_otlp_json() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
        let span = SpanRecord {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "1111111111111111".into(),
            parent_span_id: Some("00f067aa0ba902b7".into()),
            name: "tools/call".into(),
            kind: SpanKind::Server,
            start,
            end: start + Duration::from_millis(5),
            attributes: vec![("mcp.tool", "cart___get_item".into())],
            error: false,
        };
        let doc = encode("gw", &[span]);
        let encoded = &doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(encoded["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(encoded["parentSpanId"], "00f067aa0ba902b7");
        assert_eq!(encoded["kind"], 2);
        assert_eq!(encoded["startTimeUnixNano"], "1000000000");
        assert_eq!(encoded["endTimeUnixNano"], "1005000000");
        assert_eq!(
            encoded["attributes"][0]["value"]["stringValue"],
            "cart___get_item"
        );
        assert_eq!(
            doc["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "gw"
        );
    }

    /// A hand-written OTLP receiver (no real collector is installable here): it accepts
    /// the POST and hands the JSON to the test.
    #[tokio::test]
    async fn batches_reach_the_endpoint() {
        use axum::routing::post;
        let (seen_tx, mut seen_rx) = mpsc::channel::<Value>(4);
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |axum::Json(body): axum::Json<Value>| {
                let seen = seen_tx.clone();
                async move {
                    let _ = seen.send(body).await;
                    "{}"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let exporter = SpanExporter::start(
            format!("http://{address}"),
            "gw".into(),
            reqwest::Client::new(),
        );
        let now = SystemTime::now();
        exporter.export(SpanRecord {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "2222222222222222".into(),
            parent_span_id: None,
            name: "upstream tools/call".into(),
            kind: SpanKind::Client,
            start: now,
            end: now,
            attributes: vec![],
            error: true,
        });
        let body = tokio::time::timeout(Duration::from_secs(10), seen_rx.recv())
            .await
            .unwrap()
            .unwrap();
        let span = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["spanId"], "2222222222222222");
        assert_eq!(span["status"]["code"], 2);
    }
}
