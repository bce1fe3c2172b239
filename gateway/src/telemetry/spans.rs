//! Spans of the gateway's work: one per request (server) and one per upstream call
//! (client), exported over OTLP when the `otlp` feature is built and
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise recording them costs nothing.

use std::time::SystemTime;

/// OTLP span kinds the gateway produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server = 2,
    Client = 3,
}

/// A finished span.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, String)>,
    pub error: bool,
}

/// Where finished spans go.
#[derive(Default)]
pub struct Spans {
    #[cfg(feature = "otlp")]
    exporter: Option<super::otlp::SpanExporter>,
}

impl Spans {
    /// Exports to `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP, JSON) when the `otlp`
    /// feature is built and the variable is set; otherwise drops spans.
    pub fn from_env(http: &reqwest::Client) -> Self {
        #[cfg(feature = "otlp")]
        {
            let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty());
            let service =
                std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "switchboard-gateway".into());
            Self {
                exporter: endpoint
                    .map(|e| super::otlp::SpanExporter::start(e, service, http.clone())),
            }
        }
        #[cfg(not(feature = "otlp"))]
        {
            let _ = http;
            Self {}
        }
    }

    /// Whether spans are kept (callers skip building them otherwise).
    pub fn enabled(&self) -> bool {
        #[cfg(feature = "otlp")]
        {
            self.exporter.is_some()
        }
        #[cfg(not(feature = "otlp"))]
        {
            false
        }
    }

    pub fn record(&self, span: SpanRecord) {
        #[cfg(feature = "otlp")]
        if let Some(exporter) = &self.exporter {
            exporter.export(span);
        }
        #[cfg(not(feature = "otlp"))]
        let _ = span;
    }
}
