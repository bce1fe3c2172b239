//! Gateway restarts and replicas, with the real gateway binary serving a config directory
//! (what the operator mounts: config.json, catalogs/, session-key) in front of the
//! rmcp upstream.
//!
//! A 2025-era client keeps its session id across a hard restart and on a second replica
//! sharing the session key; a 2026-07-28 client needs nothing from either; an in-flight
//! call survives a graceful shutdown (SIGTERM drains).
// Test code: helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{client, echo, scratch, text};
use serde_json::json;
use switchboard_bench::client::{
    ClientError, Era, McpClient, count_prefixed, http_client, is_error,
};
use switchboard_bench::gateway::{self, GatewayProcess, runtime_config, target};
use switchboard_bench::upstream::{self, UpstreamOptions};
use switchboard_gateway::config::UpstreamProtocol;

fn gateway_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard-gateway-under-test"))
}

/// A config directory for one target `up` at `url`, sealed with `key`.
async fn config_dir(name: &str, url: &str, key: &[u8]) -> PathBuf {
    let dir = scratch(name);
    let config = runtime_config(vec![target("up", url, UpstreamProtocol::Auto, 30)]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    gateway::write_config_dir(&dir, &config, &catalogs, key).unwrap();
    dir
}

async fn start(dir: &Path, port: u16) -> GatewayProcess {
    GatewayProcess::start(&gateway_bin(), dir, port)
        .await
        .unwrap()
        .0
}

fn terminate(process: &GatewayProcess) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &process.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_session_survives_restart_and_works_on_a_second_replica() {
    let up = upstream::spawn(&UpstreamOptions::default()).await.unwrap();
    let dir = config_dir("restart-legacy", &up.url, gateway::SESSION_KEY).await;
    let port = common::free_port();
    let mut first = start(&dir, port).await;

    let mut legacy = client(&first.url, Era::Legacy).await;
    let session = legacy.session_id().expect("a session id").to_owned();
    assert_eq!(text(&echo(&mut legacy, "up___echo", "one").await), "one");

    // Hard restart on the same address: nothing was stored, the sealed id still opens.
    first.kill();
    let _again = start(&dir, port).await;
    let after = echo(&mut legacy, "up___echo", "two").await;
    assert_eq!(text(&after), "two", "{after}");
    assert_eq!(legacy.session_id(), Some(session.as_str()));

    // A second replica with the same session key accepts the same id.
    let replica = start(&dir, common::free_port()).await;
    let mut moved = McpClient::new(http_client(), &replica.url, Era::Legacy);
    moved.set_session_id(Some(session.clone()));
    assert_eq!(text(&echo(&mut moved, "up___echo", "three").await), "three");
    let listed = moved.list_all_tools().await.unwrap().0;
    assert_eq!(
        count_prefixed(&listed, "up___"),
        UpstreamOptions::default().tools
    );

    // A replica with another key does not: 404, and the client re-initializes there.
    let foreign_dir = config_dir(
        "restart-foreign",
        &up.url,
        b"a-different-session-key-material",
    )
    .await;
    let foreign = start(&foreign_dir, common::free_port()).await;
    let mut stranger = McpClient::new(http_client(), &foreign.url, Era::Legacy);
    stranger.set_session_id(Some(session));
    match stranger.call_tool("up___echo", json!({"text": "x"})).await {
        Err(ClientError::Http { status: 404, .. }) => {}
        other => panic!("a session sealed with another key must be unknown: {other:?}"),
    }
    stranger.connect().await.unwrap();
    assert_eq!(
        text(&echo(&mut stranger, "up___echo", "fresh").await),
        "fresh"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(foreign_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_client_notices_neither_restarts_nor_replicas() {
    let up = upstream::spawn(&UpstreamOptions::default()).await.unwrap();
    let dir = config_dir("restart-modern", &up.url, gateway::SESSION_KEY).await;
    let port = common::free_port();
    let other_port = common::free_port();
    let mut first = start(&dir, port).await;
    let second = start(&dir, other_port).await;

    // Requests alternate between two replicas, as behind a Service.
    let mut a = client(&first.url, Era::Modern).await;
    let mut b = client(&second.url, Era::Modern).await;
    for i in 0..10 {
        let caller = if i % 2 == 0 { &mut a } else { &mut b };
        assert_eq!(
            text(&echo(caller, "up___echo", &format!("r{i}")).await),
            format!("r{i}")
        );
    }
    first.kill();
    let _restarted = start(&dir, port).await;
    let result = echo(&mut a, "up___echo", "after restart").await;
    assert!(!is_error(&result));
    assert_eq!(text(&result), "after restart");
    let (tools, _) = a.list_all_tools().await.unwrap();
    assert_eq!(
        count_prefixed(&tools, "up___"),
        UpstreamOptions::default().tools
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_calls_of_both_eras() {
    let up = upstream::spawn(&UpstreamOptions::default()).await.unwrap();
    let dir = config_dir("restart-drain", &up.url, gateway::SESSION_KEY).await;
    let mut draining = start(&dir, common::free_port()).await;
    let successor = start(&dir, common::free_port()).await;

    let before = up.server.calls();
    let mut calls = Vec::new();
    for era in [Era::Legacy, Era::Modern] {
        let mut caller = client(&draining.url, era).await;
        calls.push(tokio::spawn(async move {
            caller
                .call_tool(
                    "up___sleep",
                    json!({"ms": 1500, "text": format!("drained {era}")}),
                )
                .await
        }));
    }
    // SIGTERM (a rolling update) only once the upstream is working on both calls.
    for _ in 0..500 {
        if up.server.calls() >= before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        up.server.calls() >= before + 2,
        "both calls reached the upstream"
    );
    terminate(&draining);
    for (call, era) in calls.into_iter().zip([Era::Legacy, Era::Modern]) {
        let result = tokio::time::timeout(Duration::from_secs(20), call)
            .await
            .expect("the in-flight call must finish")
            .unwrap()
            .unwrap_or_else(|e| panic!("{era}: in-flight call lost in a graceful shutdown: {e}"));
        assert_eq!(text(&result), format!("drained {era}"), "{result}");
    }
    for _ in 0..100 {
        if !draining.is_running() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !draining.is_running(),
        "SIGTERM stops the gateway once drained"
    );
    // The successor takes the next requests.
    for era in [Era::Legacy, Era::Modern] {
        let mut next = client(&successor.url, era).await;
        assert_eq!(text(&echo(&mut next, "up___echo", "next").await), "next");
    }
    let _ = std::fs::remove_dir_all(dir);
}
