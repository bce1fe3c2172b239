//! Micro-benchmark: cost of inbound authentication per request, with keys cached (the
//! steady state). Prints a table; asserts nothing about time (TESTING.md).
//!
//! Small run (CI): `cargo test -p switchboard-gateway --test auth_bench -- --nocapture`
//! Real figures:   `SWITCHBOARD_AUTH_BENCH_ITERS=20000 cargo test --release \
//!                  -p switchboard-gateway --test auth_bench -- --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_support::{OAuthServer, bearer};
use serde_json::json;
use switchboard_gateway::auth::{InboundAuthConfig, InboundAuthenticator};
use switchboard_gateway::secrets::MemorySecretSource;

const RESOURCE: &str = "http://127.0.0.1:7777/mcp";

fn iterations() -> usize {
    std::env::var("SWITCHBOARD_AUTH_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

struct Row {
    case: String,
    samples: Vec<Duration>,
}

async fn measure(
    auth: &InboundAuthenticator,
    headers: &http::HeaderMap,
    expect_ok: bool,
    n: usize,
) -> Vec<Duration> {
    // Warm-up: loads discovery/JWKS and caches.
    assert_eq!(
        auth.authenticate(headers, RESOURCE).await.is_ok(),
        expect_ok
    );
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let result = auth.authenticate(headers, RESOURCE).await;
        samples.push(start.elapsed());
        assert_eq!(result.is_ok(), expect_ok);
    }
    samples
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::test]
async fn jwt_validation_cost_per_request() {
    let server = OAuthServer::start(&[]).await;
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {"discoveryUrl": server.discovery_url(), "allowedAudiences": ["switchboard"],
                "allowedClients": ["agent-a"], "requiredScopes": ["mcp:tools"]}
    }))
    .unwrap();
    let secrets = Arc::new(MemorySecretSource::new());
    secrets.insert(
        "keys",
        "keys.yaml",
        "- {name: bench, key: sk-bench-0123456789, tenant: t}\n",
    );
    let auth = InboundAuthenticator::new(&config, secrets.clone(), reqwest::Client::new())
        .unwrap()
        .with_min_jwks_refresh_interval(Duration::ZERO);
    let claims = json!({"aud": "switchboard", "client_id": "agent-a", "scope": "mcp:tools",
                        "sub": "alice", "tenant": "acme"});
    let n = iterations();
    let mut rows = Vec::new();
    // Forged now, while the issuer's RS256 key is the one it claims (`add_key` changes that).
    // A genuine signature over other claims: the full RSA check runs and fails on padding.
    // (A foreign key's signature is often >= our modulus and rejected before any math.)
    let forged = server.forge("tampered", claims.clone()).await;

    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let kid = if alg == "RS256" {
            server.first_kid.clone()
        } else {
            server.add_key(alg).await
        };
        let token = server
            .mint_with(json!({"kid": kid, "claims": claims}))
            .await;
        rows.push(Row {
            case: format!("valid JWT {alg}"),
            samples: measure(&auth, &bearer(&token), true, n).await,
        });
    }
    rows.push(Row {
        case: "rejected: bad RS256 signature".into(),
        samples: measure(&auth, &bearer(&forged), false, n).await,
    });
    let none = server.forge("none", claims.clone()).await;
    rows.push(Row {
        case: "rejected: alg none".into(),
        samples: measure(&auth, &bearer(&none), false, n).await,
    });

    let api_config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "APIKey", "apiKey": {"secretRef": {"name": "keys"}}
    }))
    .unwrap();
    let api = InboundAuthenticator::new(&api_config, secrets, reqwest::Client::new()).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-api-key", "sk-bench-0123456789".parse().unwrap());
    rows.push(Row {
        case: "valid API key".into(),
        samples: measure(&api, &headers, true, n).await,
    });

    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("\nInbound authentication cost per request ({n} iterations, {profile} build)\n");
    println!("| Case | mean µs | p50 µs | p99 µs |");
    println!("|---|---:|---:|---:|");
    for mut row in rows {
        row.samples.sort();
        let mean = row.samples.iter().sum::<Duration>() / u32::try_from(n).unwrap();
        let pct = |p: f64| row.samples[((n as f64 - 1.0) * p).round() as usize];
        println!(
            "| {} | {:.1} | {:.1} | {:.1} |",
            row.case,
            micros(mean),
            micros(pct(0.50)),
            micros(pct(0.99))
        );
    }
}
