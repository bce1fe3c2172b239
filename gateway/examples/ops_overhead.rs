//! Per-call cost of the operations layer: the rate limiter's admission check and one
//! audit line (serialized and written), printed as a table.
//!
//! `cargo run --release -p switchboard-gateway --example ops_overhead [CALLS]`

use std::collections::HashMap;
use std::time::Instant;

use serde_json::json;
use switchboard_gateway::audit::{AuditConfig, AuditLog, AuditRecord};
use switchboard_gateway::limits::{Rate, RateLimitConfig, RateLimiter};

fn per_call_ns(calls: u32, mut work: impl FnMut(u32)) -> f64 {
    for i in 0..calls / 10 {
        work(i);
    }
    let started = Instant::now();
    for i in 0..calls {
        work(i);
    }
    started.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200_000);
    let tenants: Vec<String> = (0..100).map(|i| format!("tenant-{i}")).collect();
    // A budget no call exhausts: this measures the check, not refusals.
    let config = RateLimitConfig {
        per_tenant: Rate {
            requests_per_second: 1e9,
            burst: Some(u32::MAX),
        },
        tenant_overrides: HashMap::new(),
        tools: Vec::new(),
    };
    let limiter = RateLimiter::new(&config, 1)?;
    let admit = per_call_ns(calls, |i| {
        let _ = limiter.admit(Some(&tenants[i as usize % tenants.len()]));
    });

    let log = AuditLog::new(Box::new(std::io::sink()));
    let record = AuditRecord {
        time: "2026-11-21T06:39:49.268517011Z".into(),
        event: "tool_call",
        method: "tools/call".into(),
        outcome: "ok",
        tenant: Some("acme".into()),
        user: Some("alice".into()),
        client_id: Some("agent-a".into()),
        subject: "alice".into(),
        tool: Some("cart___get_item".into()),
        target: Some("cart".into()),
        upstream_tool: Some("get_item".into()),
        latency_ms: 3.79,
        request_id: "c40a4057e7b9b25f".into(),
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        ..AuditRecord::default()
    };
    let audit = per_call_ns(calls, |_| log.write(&record));
    let arguments =
        json!({"item_id": "sku-1001", "quantity": 2, "card": {"number": "4111", "cvv": "123"}});
    let logged = AuditConfig {
        log_arguments: true,
        redact_fields: vec!["cvv".into()],
        ..AuditConfig::default()
    };
    let audit_with_arguments = per_call_ns(calls, |_| {
        let mut with = record.clone();
        with.arguments = logged.payload(logged.log_arguments, Some(&arguments));
        log.write(&with);
    });

    println!("| per tool call ({calls} calls) | ns |");
    println!("|---|---:|");
    println!("| rate limiter admission (100 tenants) | {admit:.0} |");
    println!("| audit line (serialize + write) | {audit:.0} |");
    println!("| audit line with redacted arguments | {audit_with_arguments:.0} |");
    println!("| limiter + audit line | {:.0} |", admit + audit);
    Ok(())
}
