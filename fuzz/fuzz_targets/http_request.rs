//! The whole HTTP surface through the public `server::router`: request classification
//! (session or 2026-07-28 envelope), header/body agreement, batches, sessions, guards.
//!
//! The input is a readable request: a first line `METHOD /path`, then `name: value`
//! header lines, an empty line, and the body (see fuzz/seeds/http_request). A session
//! id header whose value is `VALID` is replaced by a freshly sealed one, so sessions are
//! reachable. The one target points at a closed port: tool calls fail fast upstream.
//! Invariants: no panic, no 5xx, every JSON answer is valid JSON, and every request is
//! answered within 10 s.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchboard_gateway::catalog::{CATALOG_FORMAT_VERSION, CatalogEntry, TargetCatalog};
use switchboard_gateway::config::{GatewaySettings, RuntimeConfig, TargetSettings};
use switchboard_gateway::secrets::MemorySecretSource;
use switchboard_gateway::server::session::{SessionClaims, SessionSealer, now_seconds};
use switchboard_gateway::server::{Gateway, router};
use tower::ServiceExt as _;

const KEY: &[u8] = b"switchboard-fuzz-session-key-0123";

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    sealer: SessionSealer,
}

fn catalog() -> TargetCatalog {
    let tool = |name: &str| CatalogEntry {
        name: format!("dead___{name}"),
        upstream_name: name.to_owned(),
        definition: json!({"name": format!("dead___{name}"), "inputSchema": {"type": "object", "properties": {"q": {"type": "string", "x-mcp-header": "Q"}}}}),
        embedding: None,
    };
    TargetCatalog {
        format_version: CATALOG_FORMAT_VERSION,
        target: "dead".into(),
        prefix: "dead".into(),
        server_info: json!({"name": "dead"}),
        protocol_version: "2025-11-25".into(),
        instructions: None,
        capabilities: json!({"tools": {}, "resources": {}, "prompts": {}}),
        tools: vec![tool("echo"), tool("other")],
        resources: vec![json!({"uri": "dead://r", "name": "r"})],
        resource_templates: vec![json!({"uriTemplate": "dead://t/{x}", "name": "t"})],
        prompts: vec![CatalogEntry {
            name: "dead___p".into(),
            upstream_name: "p".into(),
            definition: json!({"name": "dead___p"}),
            embedding: None,
        }],
        warnings: Vec::new(),
        content_hash: String::new(),
        synced_at: String::new(),
        shard: None,
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => unreachable!("{error}"),
        };
        let (gateway, sealer) = match (SessionSealer::new(KEY, 3600), SessionSealer::new(KEY, 3600))
        {
            (Ok(a), Ok(b)) => (Gateway::new(a, Arc::new(MemorySecretSource::default())), b),
            _ => unreachable!("session key"),
        };
        let mut target = TargetSettings::new("dead", "http://127.0.0.1:9/mcp");
        target.timeout_seconds = 2;
        let mut settings = GatewaySettings::new("fuzz");
        settings.page_size = 1;
        let config = RuntimeConfig {
            gateway: settings,
            targets: vec![target],
        };
        let loaded = runtime.block_on(async { gateway.load(config, vec![catalog()]) });
        if let Err(error) = loaded {
            unreachable!("{error}");
        }
        let app = router(gateway, 64 * 1024);
        World {
            runtime,
            app,
            sealer,
        }
    })
}

fn request(world: &World, data: &[u8]) -> Option<Request<Body>> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("POST /mcp");
    let (method, path) = first.split_once(' ').unwrap_or((first, "/mcp"));
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST);
    let path = path.trim();
    // The legacy transport's GET /sse is an endless stream by design.
    if path.starts_with("/sse") && method == Method::GET {
        return None;
    }
    let mut builder = Request::builder().method(method).uri(path);
    if builder.uri_ref().is_none() {
        builder = Request::builder().method(Method::POST).uri("/mcp");
    }
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let mut value = value.trim().to_owned();
        if name.trim().eq_ignore_ascii_case("mcp-session-id") && value == "VALID" {
            let claims = SessionClaims {
                v: "2025-11-25".into(),
                iat: now_seconds(),
                tn: None,
                sb: Some("anonymous".into()),
            };
            value = world.sealer.seal(&claims).unwrap_or_default();
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(Body::from(body.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let Some(request) = request(world, data) else {
        return;
    };
    let app = world.app.clone();
    world.runtime.block_on(async move {
        let answered = tokio::time::timeout(Duration::from_secs(10), async move {
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(infallible) => match infallible {},
            };
            let status = response.status();
            let json = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            let body = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await;
            (status, json, body)
        })
        .await;
        let Ok((status, json, body)) = answered else {
            panic!("request not answered within 10 s");
        };
        assert!(!status.is_server_error(), "{status}");
        if let (true, Ok(body)) = (json, body) {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
                "invalid JSON answer: {}",
                String::from_utf8_lossy(&body)
            );
        }
    });
});
