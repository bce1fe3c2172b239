//! `switchboard run`'s wiring, in process: the real kube-runtime Controllers (with
//! DeserializeGuard watches) reconcile what their initial list finds, metrics and health
//! endpoints serve, and a shutdown signal ends it all.
//!
//! The API server is kube-fake-client, a FAKE: its list feeds the reflectors, but it sends
//! no watch events, so only the initial state is reconciled; reconcile.rs covers the rest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use switchboard_operator::controller::Options;
use switchboard_operator::controller::run::{RunOptions, run};
use switchboard_operator::crd::{Gateway, GatewayTarget};

mod common;

fn free() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn get(url: String) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match reqwest::get(&url).await {
            Ok(response) => return (response.status().as_u16(), response.text().await.unwrap()),
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "{url}: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn serves_health_and_metrics_and_stops_on_signal() {
    smoke(false).await;
}

/// With leader election, the replica takes the Lease before it writes anything and
/// hands it back on shutdown.
#[tokio::test]
async fn elects_itself_through_a_lease_and_releases_it_on_shutdown() {
    let client = smoke(true).await;
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(client, common::NS);
    let lease = leases.get("switchboard-operator").await.unwrap();
    let holder = lease.spec.unwrap().holder_identity;
    assert!(
        holder.is_none() || holder.as_deref() == Some(""),
        "released: {holder:?}"
    );
}

async fn smoke(leader_election: bool) -> kube::Client {
    let upstream = common::Upstream::start(&["--tools", "2"]);
    let client = kube_fake_client::ClientBuilder::new()
        .with_resource::<Gateway>()
        .with_resource::<GatewayTarget>()
        .with_status_subresource::<Gateway>()
        .with_status_subresource::<GatewayTarget>()
        .with_runtime_objects(vec![
            common::gateway_yaml("shop", ""),
            common::target_yaml("cart", "shop", &upstream.url, ""),
        ])
        .build()
        .await
        .unwrap();
    let targets: kube::Api<GatewayTarget> = kube::Api::namespaced(client.clone(), common::NS);
    let (metrics, health) = (free(), free());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(run(
        client.clone(),
        RunOptions {
            options: Options::default(),
            namespace: Some("default".into()),
            metrics_listen: metrics,
            health_listen: health,
            leader_election,
            lease_name: "switchboard-operator".into(),
            lease_namespace: "default".into(),
            identity: "test".into(),
            lease_seconds: 15,
            max_concurrent_reconciles: 2,
        },
        async {
            let _ = stopped.await;
        },
    ));

    assert_eq!(
        get(format!("http://{health}/healthz")).await,
        (200, "ok".into())
    );
    // The controllers reconcile what they listed: the target syncs to READY.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = targets
            .get("cart")
            .await
            .unwrap()
            .status
            .unwrap_or_default();
        if status.status.as_deref() == Some("READY") {
            assert_eq!(status.tool_count, Some(4));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not READY: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        get(format!("http://{health}/readyz")).await,
        (200, "ready".into())
    );
    let (code, body) = get(format!("http://{metrics}/metrics")).await;
    assert_eq!(code, 200);
    assert!(body.contains("switchboard_operator_leader 1\n"), "{body}");
    assert!(
        body.contains("switchboard_operator_syncs_total{result=\"success\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains(
            "switchboard_operator_reconciliations_total{controller=\"target\",outcome=\"ok\"}"
        ),
        "{body}"
    );

    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(30), operator).await;
    ended
        .expect("the operator stops within 30 s of the signal")
        .unwrap()
        .unwrap();
    client
}
