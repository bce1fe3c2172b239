//! Prometheus metrics of the gateway, served on their own port.
//!
//! Label cardinality is bounded: `method` is one of the MCP methods (else `other`),
//! `target` and `tool` come from the loaded catalog, and `tenant` takes at most
//! [`MAX_TENANT_LABELS`] distinct values per process (later tenants count as `_other`;
//! callers without a tenant as `_none`).

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub const MAX_TENANT_LABELS: usize = 100;

const METHODS: [&str; 14] = [
    "initialize",
    "server/discover",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "notifications",
    "batch",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub tenant: String,
    pub target: String,
    pub tool: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantBytesLabels {
    pub tenant: String,
    /// `in` (arguments from the client) or `out` (results to the client).
    pub direction: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: HistogramFamily<MethodLabels>,
    pub tool_calls: Family<CallLabels, Counter>,
    pub upstream_seconds: HistogramFamily<TargetLabels>,
    pub throttled: Family<TenantLabels, Counter>,
    pub denied: Family<TenantLabels, Counter>,
    pub tenant_calls: Family<TenantLabels, Counter>,
    pub tenant_bytes: Family<TenantBytesLabels, Counter>,
    pub catalog_tools: Family<TargetLabels, Gauge>,
    pub catalog_synced_at: Family<TargetLabels, Gauge>,
    pub sessions_opened: Counter,
    pub legacy_streams: Gauge,
    /// Open `GET /mcp` streams of sessions (they carry list-changed notifications).
    pub session_streams: Gauge,
    tenants: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "MCP requests by method and outcome",
            requests.clone(),
        );
        let request_seconds: HistogramFamily<MethodLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time to answer an MCP request",
            request_seconds.clone(),
        );
        let tool_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "Tool calls by tenant, target, tool and outcome (ok, tool_error, upstream_error, timeout, denied, throttled)",
            tool_calls.clone(),
        );
        let upstream_seconds: HistogramFamily<TargetLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_duration_seconds",
            "Time an upstream took to answer a call",
            upstream_seconds.clone(),
        );
        let throttled = Family::<TenantLabels, Counter>::default();
        registry.register(
            "throttled",
            "Requests refused by a rate limit",
            throttled.clone(),
        );
        let denied = Family::<TenantLabels, Counter>::default();
        registry.register(
            "denied",
            "Requests refused by authorization",
            denied.clone(),
        );
        let tenant_calls = Family::<TenantLabels, Counter>::default();
        registry.register(
            "tenant_tool_calls",
            "Metering: tool calls answered, per tenant",
            tenant_calls.clone(),
        );
        let tenant_bytes = Family::<TenantBytesLabels, Counter>::default();
        registry.register(
            "tenant_tool_call_bytes",
            "Metering: bytes of tool arguments (in) and results (out), per tenant",
            tenant_bytes.clone(),
        );
        let catalog_tools = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "catalog_tools",
            "Tools served per target",
            catalog_tools.clone(),
        );
        let catalog_synced_at = Family::<TargetLabels, Gauge>::default();
        registry.register(
            "catalog_synced_at_seconds",
            "Unix time of the catalog's sync per target (age = time() - this)",
            catalog_synced_at.clone(),
        );
        let sessions_opened = Counter::default();
        registry.register(
            "sessions_opened",
            "Handshake-era sessions opened",
            sessions_opened.clone(),
        );
        let legacy_streams = Gauge::default();
        registry.register(
            "legacy_sse_streams",
            "Open legacy SSE streams",
            legacy_streams.clone(),
        );
        let session_streams = Gauge::default();
        registry.register(
            "session_streams",
            "Open GET /mcp streams of sessions",
            session_streams.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            tool_calls,
            upstream_seconds,
            throttled,
            denied,
            tenant_calls,
            tenant_bytes,
            catalog_tools,
            catalog_synced_at,
            sessions_opened,
            legacy_streams,
            session_streams,
            tenants: Mutex::new(HashSet::new()),
        }
    }

    /// The `method` label: a known MCP method, else `other`.
    pub fn method_label(method: &str) -> String {
        if METHODS.contains(&method) {
            method.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// The `tenant` label, bounded to [`MAX_TENANT_LABELS`] distinct values.
    pub fn tenant_label(&self, tenant: Option<&str>) -> String {
        let Some(tenant) = tenant else {
            return "_none".to_owned();
        };
        let Ok(mut seen) = self.tenants.lock() else {
            return "_other".to_owned();
        };
        if seen.contains(tenant)
            || (seen.len() < MAX_TENANT_LABELS && seen.insert(tenant.to_owned()))
        {
            tenant.to_owned()
        } else {
            "_other".to_owned()
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_labels_are_bounded() {
        let metrics = Metrics::new();
        for i in 0..MAX_TENANT_LABELS {
            assert_eq!(
                metrics.tenant_label(Some(&format!("t{i}"))),
                format!("t{i}")
            );
        }
        assert_eq!(metrics.tenant_label(Some("one-too-many")), "_other");
        assert_eq!(metrics.tenant_label(Some("t0")), "t0");
        assert_eq!(metrics.tenant_label(None), "_none");
        assert_eq!(Metrics::method_label("tools/call"), "tools/call");
        assert_eq!(Metrics::method_label("x/y"), "other");
    }

    #[test]
    fn counters_show_up_in_the_exposition() {
        let metrics = Metrics::new();
        let labels = CallLabels {
            tenant: "acme".into(),
            target: "cart".into(),
            tool: "cart___get_item".into(),
            outcome: "ok".into(),
        };
        metrics.tool_calls.get_or_create(&labels).inc();
        metrics.tool_calls.get_or_create(&labels).inc();
        let text = metrics.encode();
        assert!(
            text.contains(r#"switchboard_tool_calls_total{tenant="acme",target="cart",tool="cart___get_item",outcome="ok"} 2"#),
            "{text}"
        );
    }
}
