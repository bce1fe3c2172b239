//! Upstream faults: each gives the documented error (a `CallToolResult` with
//! `isError: true` naming the target, or the upstream's own JSON-RPC error) or a
//! transparent re-initialize, and calls to other targets are unaffected meanwhile.
//!
//! Real peers where a real peer can fail that way (the rmcp upstream killed with SIGKILL,
//! restarted, or slower than the target's timeout); a hand-written misbehaving upstream
//! (tests/common) for broken JSON, wrong content types, 5xx and session expiry.
// Test code: helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{UpstreamProcess, client, echo, spawn_misbehaving, text};
use serde_json::json;
use switchboard_bench::client::{ClientError, Era, is_error};
use switchboard_bench::gateway::{self, runtime_config, target};
use switchboard_bench::upstream::{self, UpstreamOptions};
use switchboard_gateway::config::UpstreamProtocol;

/// A healthy upstream and a gateway target for it.
async fn healthy() -> upstream::Upstream {
    upstream::spawn(&UpstreamOptions::default()).await.unwrap()
}

/// Calls `healthy___echo` `n` times and checks every answer.
async fn healthy_calls(url: &str, era: Era, n: usize) {
    let mut client = client(url, era).await;
    for i in 0..n {
        let result = echo(&mut client, "healthy___echo", &format!("still here {i}")).await;
        assert!(!is_error(&result), "healthy target failed: {result}");
        assert_eq!(text(&result), format!("still here {i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_killed_mid_call_fails_that_call_only_and_recovers_after_restart() {
    let good = healthy().await;
    let mut victim = UpstreamProcess::start(0, 5);
    let config = runtime_config(vec![
        target("victim", &victim.url, UpstreamProtocol::Legacy, 30),
        target("healthy", &good.url, UpstreamProtocol::Auto, 30),
    ]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    let gw = gateway::start(config, catalogs).await.unwrap();

    for era in [Era::Legacy, Era::Modern] {
        let mut caller = client(&gw.url, era).await;
        assert_eq!(
            text(&echo(&mut caller, "victim___echo", "before").await),
            "before"
        );
    }
    // A call in flight when the upstream dies.
    let url = gw.url.clone();
    let in_flight = tokio::spawn(async move {
        let mut caller = client(&url, Era::Legacy).await;
        caller
            .call_tool("victim___sleep", json!({"ms": 10_000, "text": "never"}))
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    victim.kill();
    let result = tokio::time::timeout(Duration::from_secs(15), in_flight)
        .await
        .expect("the call must end when its upstream dies, not hang")
        .unwrap()
        .unwrap();
    assert!(is_error(&result), "{result}");
    assert!(
        text(&result).contains("victim"),
        "names the target: {result}"
    );

    // While the victim is down: its calls fail fast with isError, the other target serves.
    for era in [Era::Legacy, Era::Modern] {
        let mut caller = client(&gw.url, era).await;
        let down = echo(&mut caller, "victim___echo", "down").await;
        assert!(is_error(&down) && text(&down).contains("victim"), "{down}");
        healthy_calls(&gw.url, era, 5).await;
    }

    // Restarted on the same port, with none of its old sessions: the gateway's pooled
    // upstream session gets a 404 and is re-initialized without the client noticing.
    let _restarted = UpstreamProcess::start(victim.port, 5);
    for era in [Era::Legacy, Era::Modern] {
        let mut caller = client(&gw.url, era).await;
        let back = echo(&mut caller, "victim___echo", "back").await;
        assert!(!is_error(&back), "after restart: {back}");
        assert_eq!(text(&back), "back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_slower_than_its_timeout_is_cut_off_and_others_keep_serving() {
    let good = healthy().await;
    let slow = upstream::spawn(&UpstreamOptions::default()).await.unwrap();
    let config = runtime_config(vec![
        target("slow", &slow.url, UpstreamProtocol::Auto, 2),
        target("healthy", &good.url, UpstreamProtocol::Auto, 30),
    ]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    let gw = gateway::start(config, catalogs).await.unwrap();

    for era in [Era::Legacy, Era::Modern] {
        let url = gw.url.clone();
        let hung = tokio::spawn(async move {
            let mut caller = client(&url, era).await;
            caller
                .call_tool("slow___sleep", json!({"ms": 600_000, "text": "zzz"}))
                .await
        });
        // Meanwhile, the healthy target answers every call.
        healthy_calls(&gw.url, era, 10).await;
        assert!(
            !hung.is_finished(),
            "the hung call ended before its 2 s timeout"
        );
        let result = tokio::time::timeout(Duration::from_secs(20), hung)
            .await
            .expect("the gateway must end the call at the target's timeout")
            .unwrap()
            .unwrap();
        assert!(is_error(&result), "{result}");
        assert!(
            text(&result).contains("slow") && text(&result).contains("2 s"),
            "{result}"
        );
    }
    // The slow target still serves fast calls afterwards.
    let mut caller = client(&gw.url, Era::Modern).await;
    assert_eq!(
        text(&echo(&mut caller, "slow___echo", "quick").await),
        "quick"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_failed_upstream_answers_are_tool_errors() {
    let good = healthy().await;
    let (bad_url, state) = spawn_misbehaving().await;
    let config = runtime_config(vec![
        target("bad", &bad_url, UpstreamProtocol::Auto, 2),
        target("healthy", &good.url, UpstreamProtocol::Auto, 30),
    ]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    assert_eq!(catalogs[0].tools.len(), common::MISBEHAVING_TOOLS.len());
    let gw = gateway::start(config, catalogs).await.unwrap();

    let cases = [
        ("malformed_json", "not JSON"),
        ("wrong_content_type", "content type"),
        ("empty_body", "not JSON"),
        ("html_500", "HTTP 500"),
        ("status_502", "HTTP 502"),
        ("truncated_stream", "ended before the response"),
        ("wrong_id", "unknown request id"),
        ("hang", "did not answer within 2 s"),
    ];
    for era in [Era::Legacy, Era::Modern] {
        let mut caller = client(&gw.url, era).await;
        for (tool, expected) in cases {
            let result = echo(&mut caller, &format!("bad___{tool}"), "x").await;
            assert!(is_error(&result), "{era} {tool}: {result}");
            let message = text(&result);
            assert!(
                message.contains("target bad") && message.contains(expected),
                "{era} {tool}: {message}"
            );
            // The other target is unaffected after each fault.
            healthy_calls(&gw.url, era, 1).await;
        }
        // An upstream JSON-RPC error (even on a 5xx) is the upstream's own answer: it
        // passes through as that JSON-RPC error.
        match caller.call_tool("bad___jsonrpc_error_503", json!({})).await {
            Err(ClientError::Rpc { code, message }) => {
                assert_eq!(code, -32603);
                assert!(message.contains("overloaded"), "{message}");
            }
            other => panic!("{era}: expected the upstream's JSON-RPC error, got {other:?}"),
        }
        // The misbehaving target itself still works for a well-behaved tool.
        let fine = echo(&mut caller, "bad___ok", "x").await;
        assert_eq!(text(&fine), "fine", "{fine}");
    }
    // Each timed-out call was cancelled upstream (notifications/cancelled).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        state
            .cancellations
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 2,
        "the gateway tells the upstream to stop a timed-out call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_upstream_session_is_reinitialized_transparently() {
    let good = healthy().await;
    let (bad_url, state) = spawn_misbehaving().await;
    let config = runtime_config(vec![
        target("bad", &bad_url, UpstreamProtocol::Auto, 10),
        target("healthy", &good.url, UpstreamProtocol::Auto, 30),
    ]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    let gw = gateway::start(config, catalogs).await.unwrap();
    let mut caller = client(&gw.url, Era::Legacy).await;
    assert_eq!(text(&echo(&mut caller, "bad___ok", "x").await), "fine");
    let before = state.initializes.load(std::sync::atomic::Ordering::SeqCst);
    // The upstream answers 404 for the gateway's session: the gateway initializes a new
    // one and retries, and the client sees only the result.
    let result = echo(&mut caller, "bad___expire_session", "x").await;
    assert!(!is_error(&result), "{result}");
    assert_eq!(text(&result), "renewed");
    assert_eq!(
        state.initializes.load(std::sync::atomic::Ordering::SeqCst),
        before + 1,
        "exactly one new upstream session"
    );
    assert_eq!(text(&echo(&mut caller, "bad___ok", "x").await), "fine");
    healthy_calls(&gw.url, Era::Modern, 3).await;
}
