//! Reconciler tests: the GatewayTarget and Gateway reconcilers against real FastMCP
//! upstreams, with kube-fake-client standing in for the API server (a FAKE: see
//! tests/common/mod.rs for what it does differently from a real one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Instant;

use common::*;
use kube::ResourceExt;
use serde_json::json;

#[tokio::test]
async fn create_syncs_to_ready_writes_an_owned_catalog_and_renders_the_gateway() {
    let upstream = Upstream::start(&["--tools", "3", "--page-size", "2"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;

    let started = Instant::now();
    w.reconcile_target("cart").await;
    println!(
        "reconcile of one target (3+2 tools, paginated): {:?}",
        started.elapsed()
    );

    let target = w.target("cart").await;
    assert!(
        target
            .finalizers()
            .contains(&"switchboard.dev/catalog-cleanup".to_owned())
    );
    let status = target.status.clone().unwrap();
    assert_eq!(w.transcript.phases("cart"), ["CREATING", "READY"]);
    assert_eq!(status.status.as_deref(), Some("READY"));
    assert_eq!(
        status.tool_count,
        Some(5),
        "3 generated tools + grow + max_concurrent_lists"
    );
    assert_eq!(status.catalog_config_maps, ["cart-catalog-0"]);
    assert!(
        status
            .catalog_hash
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(status.last_sync_time.is_some());
    assert_eq!(
        status.server_info.as_ref().unwrap().name.as_deref(),
        Some("inventory")
    );
    assert!(
        status
            .protocol_version
            .as_deref()
            .unwrap()
            .starts_with("20")
    );
    assert_eq!(status.observed_generation, target.metadata.generation);
    for type_ in ["Ready", "Synced"] {
        let c = condition(&status, type_);
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "Synced"),
            "{type_}"
        );
        assert_eq!(c.observed_generation, target.metadata.generation);
    }

    // The catalog: owned by the target, labelled, names prefixed, no secret.
    let maps = w.catalog_maps("cart").await;
    assert_eq!(maps.len(), 1);
    let owner = &maps[0].owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
        ("GatewayTarget", "cart", target.uid().unwrap().as_str())
    );
    assert_eq!(owner.controller, Some(true));
    assert_eq!(maps[0].labels()["switchboard.dev/gateway"], "shop");
    assert_eq!(
        maps[0].labels()["app.kubernetes.io/managed-by"],
        "switchboard"
    );
    let names = tool_names(&maps);
    assert!(
        names.contains(&"cart___tool_0000".to_owned()) && names.contains(&"cart___grow".to_owned()),
        "{names:?}"
    );

    let events = w.events("cart").await;
    assert!(
        events
            .iter()
            .any(|(t, r, n)| t == "Normal" && r == "Synced" && n.starts_with("synced: 5 tools")),
        "{events:?}"
    );

    // The gateway: config, session key, SA, Deployment mounting the catalog, Service.
    w.reconcile_gateway("shop").await;
    let config = w.runtime_config("shop").await;
    assert_eq!(config.targets.len(), 1);
    assert_eq!(config.targets[0].endpoint, upstream.url);
    assert_eq!(
        config.targets[0].created_at,
        target
            .metadata
            .creation_timestamp
            .as_ref()
            .unwrap()
            .0
            .to_string()
    );
    let deployment = w.deployment("shop").await;
    let mounted = switchboard_operator::render::gateway::mounted_config_maps(&deployment);
    assert_eq!(mounted, ["shop-gateway-config", "cart-catalog-0"]);
    let owner = &deployment.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Gateway", "shop")
    );
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(w.client.clone(), NS);
    let key = secrets.get("shop-gateway-session").await.unwrap();
    let sa: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(w.client.clone(), NS);
    assert_eq!(
        sa.get("shop-gateway")
            .await
            .unwrap()
            .automount_service_account_token,
        Some(false)
    );
    let svc: kube::Api<k8s_openapi::api::core::v1::Service> =
        kube::Api::namespaced(w.client.clone(), NS);
    assert!(svc.get("shop-gateway").await.is_ok());
    let gateway = w.gateways().get("shop").await.unwrap();
    let gw_status = gateway.status.unwrap();
    assert_eq!(
        gw_status.endpoint.as_deref(),
        Some("http://shop-gateway.default.svc:8080/mcp")
    );
    assert_eq!(gw_status.targets.as_deref(), Some("1/1"));
    assert_eq!(gw_status.tool_count, Some(5));

    // Nothing changed: no status write, no catalog write, the session key is kept.
    let writes = w.transcript.writes();
    let map_version = w.catalog_maps("cart").await[0].resource_version();
    w.reconcile_target("cart").await;
    w.reconcile_gateway("shop").await;
    assert_eq!(
        w.transcript.writes(),
        writes,
        "no-op status writes are skipped"
    );
    assert_eq!(
        w.catalog_maps("cart").await[0].resource_version(),
        map_version
    );
    assert_eq!(
        secrets.get("shop-gateway-session").await.unwrap().data,
        key.data
    );
    let metrics = w.ctx.metrics.render();
    assert!(
        metrics.contains(
            "switchboard_operator_writes_total{kind=\"GatewayTargetStatus\",outcome=\"skipped\"}"
        ),
        "{metrics}"
    );
    w.transcript.print("shop");
}

#[tokio::test]
async fn spec_changes_resync_and_a_failed_update_keeps_serving_the_last_good_catalog() {
    let mut upstream = Upstream::start(&["--tools", "2"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    let first = w.status("cart").await;

    w.patch_spec("cart", json!({"toolPrefix": "basket"})).await;
    w.reconcile_target("cart").await;
    let updated = w.status("cart").await;
    assert_eq!(
        w.transcript.phases("cart"),
        ["CREATING", "READY", "UPDATING", "READY"]
    );
    assert_ne!(
        updated.catalog_hash, first.catalog_hash,
        "new names, new catalog"
    );
    assert!(tool_names(&w.catalog_maps("cart").await).contains(&"basket___tool_0000".to_owned()));
    assert_eq!(
        updated.observed_generation,
        w.target("cart").await.metadata.generation
    );
    w.reconcile_gateway("shop").await;
    assert_eq!(
        w.runtime_config("shop").await.targets[0].tool_prefix,
        "basket"
    );
    let served_before = w.catalog_maps("cart").await;

    // The upstream goes away, then the spec changes: UPDATE_UNSUCCESSFUL, still serving.
    upstream.stop();
    w.patch_spec("cart", json!({"timeoutSeconds": 7})).await;
    w.reconcile_target("cart").await;
    let failed = w.status("cart").await;
    assert_eq!(
        &w.transcript.phases("cart")[4..],
        ["UPDATING", "UPDATE_UNSUCCESSFUL"]
    );
    assert_eq!(failed.catalog_hash, updated.catalog_hash);
    assert_eq!(failed.tool_count, Some(4));
    assert!(
        failed.status_reasons[0].starts_with("UpstreamUnreachable: "),
        "{:?}",
        failed.status_reasons
    );
    let ready = condition(&failed, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "ServingLastGoodCatalog")
    );
    assert_eq!(condition(&failed, "Synced").reason, "UpstreamUnreachable");
    assert_eq!(
        w.catalog_maps("cart").await,
        served_before,
        "the last good catalog is untouched"
    );
    let events = w.events("cart").await;
    assert!(
        events
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "UpstreamUnreachable"),
        "{events:?}"
    );
    // The gateway keeps the settings that produced the served catalog.
    w.reconcile_gateway("shop").await;
    let config = w.runtime_config("shop").await;
    assert_eq!(
        (
            config.targets[0].tool_prefix.as_str(),
            config.targets[0].timeout_seconds
        ),
        ("basket", 300)
    );
    w.transcript.print("shop");
}

#[tokio::test]
async fn the_sync_annotation_resyncs_on_demand_and_a_failed_resync_keeps_the_catalog() {
    let mut upstream = Upstream::start(&["--tools", "2"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    let generation = w.target("cart").await.metadata.generation;

    upstream.call("grow", json!({"count": 2})).await;
    w.reconcile_target("cart").await;
    assert_eq!(
        w.status("cart").await.tool_count,
        Some(4),
        "no trigger, no sync"
    );

    w.annotate_sync("cart", "2026-11-21T10:00:00+00:00").await;
    assert_eq!(w.target("cart").await.metadata.generation, generation);
    w.reconcile_target("cart").await;
    let synced = w.status("cart").await;
    assert_eq!(
        w.transcript.phases("cart"),
        ["CREATING", "READY", "SYNCHRONIZING", "READY"]
    );
    assert_eq!(synced.tool_count, Some(6));
    assert_eq!(
        synced.last_sync_request.as_deref(),
        Some("2026-11-21T10:00:00+00:00")
    );
    assert!(tool_names(&w.catalog_maps("cart").await).contains(&"cart___extra_0001".to_owned()));
    let events = w.events("cart").await;
    assert!(
        events
            .iter()
            .any(|(_, r, n)| r == "CatalogChanged" && n.starts_with("catalog changed: 6 tools")),
        "{events:?}"
    );

    upstream.stop();
    w.annotate_sync("cart", "2026-11-21T11:00:00+00:00").await;
    w.reconcile_target("cart").await;
    let failed = w.status("cart").await;
    assert_eq!(
        &w.transcript.phases("cart")[4..],
        ["SYNCHRONIZING", "SYNCHRONIZE_UNSUCCESSFUL"]
    );
    assert_eq!(failed.tool_count, Some(6));
    assert_eq!(failed.catalog_hash, synced.catalog_hash);
    assert_eq!(condition(&failed, "Ready").status, "True");
    w.reconcile_gateway("shop").await;
    assert_eq!(
        w.gateways()
            .get("shop")
            .await
            .unwrap()
            .status
            .unwrap()
            .tool_count,
        Some(6)
    );
    w.transcript.print("shop");
}

#[tokio::test]
async fn an_unreachable_upstream_fails_the_create_with_a_reason_until_the_spec_is_fixed() {
    let upstream = Upstream::start(&["--tools", "1"]);
    let dead = "http://127.0.0.1:9/mcp";
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", dead, "  timeoutSeconds: 5\n"),
    ])
    .await;
    let action = w.reconcile_target("cart").await;
    let failed = w.status("cart").await;
    assert_eq!(w.transcript.phases("cart"), ["CREATING", "FAILED"]);
    assert!(failed.catalog_config_maps.is_empty() && w.catalog_maps("cart").await.is_empty());
    let ready = condition(&failed, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "UpstreamUnreachable")
    );
    assert!(ready.message.contains("127.0.0.1:9"), "{}", ready.message);
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(5)),
        "transient: backoff"
    );
    // A retry before the backoff elapsed does not hammer the upstream or rewrite status.
    w.reconcile_target("cart").await;
    assert_eq!(w.transcript.phases("cart").len(), 2);
    let events = w.events("cart").await;
    assert_eq!(
        events.iter().filter(|(t, _, _)| t == "Warning").count(),
        1,
        "events on transitions only: {events:?}"
    );

    w.reconcile_gateway("shop").await;
    assert!(
        w.runtime_config("shop").await.targets.is_empty(),
        "a failed target serves nothing"
    );

    w.patch_spec("cart", json!({"mcp": {"endpoint": upstream.url}}))
        .await;
    w.reconcile_target("cart").await;
    assert_eq!(&w.transcript.phases("cart")[2..], ["CREATING", "READY"]);
    w.transcript.print("shop");
}

#[tokio::test]
async fn a_missing_gateway_fails_the_target_until_the_gateway_exists() {
    let upstream = Upstream::start(&["--tools", "1"]);
    let w = world(vec![target_yaml("cart", "shop", &upstream.url, "")]).await;
    let action = w.reconcile_target("cart").await;
    assert_eq!(action, kube::runtime::controller::Action::await_change());
    let status = w.status("cart").await;
    assert_eq!(status.status.as_deref(), Some("FAILED"));
    assert_eq!(condition(&status, "Ready").reason, "GatewayNotFound");
    assert!(
        status.status_reasons[0].contains("Gateway \"shop\" not found"),
        "{:?}",
        status.status_reasons
    );

    w.gateways()
        .create(
            &Default::default(),
            &serde_json::from_value(gateway_yaml("shop", "")).unwrap(),
        )
        .await
        .unwrap();
    w.reconcile_target("cart").await;
    assert_eq!(w.status("cart").await.status.as_deref(), Some("READY"));
}

#[tokio::test]
async fn collisions_with_an_older_target_are_reported_on_the_younger_one() {
    let a = Upstream::start(&["--tools", "2"]);
    let b = Upstream::start(&["--tools", "3"]);
    // Named against their age, to show that age, not name, decides.
    let mut older = target_yaml("zeta", "shop", &a.url, "  toolPrefix: \"\"\n");
    older["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut younger = target_yaml("alpha", "shop", &b.url, "  toolPrefix: \"\"\n");
    younger["metadata"]["creationTimestamp"] = json!("2026-06-01T00:00:00Z");
    let w = world(vec![gateway_yaml("shop", ""), older, younger]).await;
    w.reconcile_target("zeta").await;
    w.reconcile_target("alpha").await;
    // zeta's reconcile ran before alpha had a catalog: the ConfigMap watch brings it back.
    w.reconcile_target("zeta").await;

    let alpha = w.status("alpha").await;
    assert_eq!(
        alpha.status.as_deref(),
        Some("READY"),
        "its other tools are served"
    );
    assert_eq!(
        alpha.collisions,
        [
            "tool grow (kept by zeta)",
            "tool max_concurrent_lists (kept by zeta)",
            "tool tool_0000 (kept by zeta)",
            "tool tool_0001 (kept by zeta)"
        ]
    );
    assert!(
        alpha
            .status_reasons
            .iter()
            .any(|r| r.starts_with("NameCollision: 4 exposed name(s)")),
        "{:?}",
        alpha.status_reasons
    );
    assert!(w.status("zeta").await.collisions.is_empty());
    let events = w.events("alpha").await;
    assert!(
        events
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "NameCollision"),
        "{events:?}"
    );

    w.reconcile_gateway("shop").await;
    let gateway = w.gateways().get("shop").await.unwrap().status.unwrap();
    assert_eq!(
        gateway.tool_count,
        Some(4 + 1),
        "zeta's 4 tools + alpha's tool_0002"
    );
    assert_eq!(gateway.targets.as_deref(), Some("2/2"));
}

#[tokio::test]
async fn deleting_a_target_leaves_the_gateway_before_its_catalog_goes() {
    let upstream = Upstream::start(&["--tools", "2"]);
    let before = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    before.reconcile_target("cart").await;
    before.reconcile_gateway("shop").await;

    // The fake deletes objects outright, so carry the world over with cart already
    // deleting (deletionTimestamp set, finalizer held), as a real API server shows it.
    let mut objects = Vec::new();
    let mut cart = serde_json::to_value(before.target("cart").await).unwrap();
    cart["metadata"]["deletionTimestamp"] = json!("2026-11-21T12:00:00Z");
    objects.push(cart);
    objects.push(serde_json::to_value(before.gateways().get("shop").await.unwrap()).unwrap());
    for map in before
        .config_maps()
        .list(&Default::default())
        .await
        .unwrap()
    {
        objects.push(serde_json::to_value(map).unwrap());
    }
    objects.push(serde_json::to_value(before.deployment("shop").await).unwrap());
    let w = world(objects).await;

    let action = w.reconcile_target("cart").await;
    assert_eq!(w.status("cart").await.status.as_deref(), Some("DELETING"));
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(2)),
        "waits for the gateway"
    );
    assert_eq!(
        w.catalog_maps("cart").await.len(),
        1,
        "still mounted, still there"
    );

    w.reconcile_gateway("shop").await;
    assert!(w.runtime_config("shop").await.targets.is_empty());
    let mounted =
        switchboard_operator::render::gateway::mounted_config_maps(&w.deployment("shop").await);
    assert_eq!(mounted, ["shop-gateway-config"]);

    w.reconcile_target("cart").await;
    assert!(w.catalog_maps("cart").await.is_empty());
    assert!(
        w.targets().get_opt("cart").await.unwrap().is_none(),
        "finalizer released, target gone"
    );
    assert_eq!(w.transcript.phases("cart"), ["DELETING"]);
    let events = w.events("cart").await;
    assert!(events.iter().any(|(_, r, _)| r == "Deleting"), "{events:?}");
    assert_eq!(
        w.gateways()
            .get("shop")
            .await
            .unwrap()
            .status
            .unwrap()
            .tool_count,
        Some(0)
    );
}

#[tokio::test]
async fn overlapping_reconciles_of_one_target_never_sync_concurrently() {
    let upstream = Upstream::start(&["--tools", "1", "--list-delay", "0.5"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    let object = w.target("cart").await;
    let (a, b) = tokio::join!(
        switchboard_operator::controller::target::reconcile_target(&object, &w.ctx),
        switchboard_operator::controller::target::reconcile_target(&object, &w.ctx),
    );
    a.unwrap();
    b.unwrap();
    let reply = upstream.call("max_concurrent_lists", json!({})).await;
    assert_eq!(reply["structuredContent"]["result"], 1, "{reply}");
    assert_eq!(
        w.transcript.phases("cart"),
        ["CREATING", "READY"],
        "the second saw the first's result"
    );
}

#[tokio::test]
async fn periodic_sync_refreshes_quietly() {
    let upstream = Upstream::start(&["--tools", "1"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, "  syncIntervalSeconds: 60\n"),
    ])
    .await;
    let action = w.reconcile_target("cart").await;
    let due = |s| kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(s));
    assert!(
        action == due(60) || action == due(59),
        "requeued for the next periodic sync: {action:?}"
    );
    upstream.call("grow", json!({"count": 1})).await;
    // Pretend the interval elapsed (the fake has no clock to advance).
    let patch = json!({"status": {"lastSyncTime": "2026-01-01T00:00:00Z"}});
    w.targets()
        .patch_status(
            "cart",
            &Default::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    w.reconcile_target("cart").await;
    let status = w.status("cart").await;
    assert_eq!(status.tool_count, Some(4));
    assert_ne!(
        status.last_sync_time.as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(
        w.transcript.phases("cart"),
        ["CREATING", "READY", "READY"],
        "no SYNCHRONIZING for periodic syncs"
    );
}

#[tokio::test]
async fn referenced_secrets_must_exist_and_are_named_never_revealed() {
    use k8s_openapi::api::core::v1::Secret;
    use switchboard_operator::controller::target::missing_secret;
    use switchboard_operator::crd::SecretKeyRef;
    let mut secret: Secret =
        serde_yaml::from_str("metadata: {name: cart-creds, namespace: default}\nstringData: {}\n")
            .unwrap();
    secret.data = Some(
        [(
            "api-key".to_owned(),
            k8s_openapi::ByteString(b"s3cr3t-value".to_vec()),
        )]
        .into(),
    );
    let w = world(vec![serde_json::to_value(secret).unwrap()]).await;
    let reference = |name: &str, key: &str| {
        vec![SecretKeyRef {
            name: name.into(),
            key: key.into(),
        }]
    };

    assert_eq!(
        missing_secret(&w.client, NS, &reference("cart-creds", "api-key"))
            .await
            .unwrap(),
        None
    );
    let (reason, message) = missing_secret(&w.client, NS, &reference("cart-credz", "api-key"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (reason, message.as_str()),
        (
            "SecretNotFound",
            "Secret \"cart-credz\" not found in namespace default"
        )
    );
    let (reason, message) = missing_secret(&w.client, NS, &reference("cart-creds", "token"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (reason, message.as_str()),
        (
            "SecretKeyNotFound",
            "Secret \"cart-creds\" has no key \"token\""
        )
    );
    assert!(!message.contains("s3cr3t"));
    // How the target shows it: FAILED with the reason, the value nowhere.
    let status = switchboard_operator::status::sync_failed(
        &Default::default(),
        switchboard_operator::status::SyncKind::Create,
        reason,
        &message,
        Some(1),
        &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
    );
    assert_eq!(status.status.as_deref(), Some("FAILED"));
    assert!(!serde_json::to_string(&status).unwrap().contains("s3cr3t"));
}

#[tokio::test]
async fn a_malformed_object_gets_a_warning_event_and_waits_for_a_fix() {
    use kube::core::DeserializeGuard;
    let w = world(vec![]).await;
    let invalid: DeserializeGuard<switchboard_operator::crd::GatewayTarget> =
        serde_json::from_value(json!({
            "apiVersion": "switchboard.dev/v1alpha1", "kind": "GatewayTarget",
            "metadata": {"name": "broken", "namespace": NS, "uid": "u-1"},
            "spec": {"gatewayRef": "shop"}
        }))
        .unwrap();
    assert!(invalid.0.is_err());
    let action = switchboard_operator::controller::target::reconcile(
        std::sync::Arc::new(invalid),
        w.ctx.clone(),
    )
    .await
    .unwrap();
    assert_eq!(action, kube::runtime::controller::Action::await_change());
    let events = w.events("broken").await;
    assert!(
        events.iter().any(|(t, r, n)| t == "Warning"
            && r == "InvalidObject"
            && n.contains("cannot read it")
            && n.contains("GatewayRef")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_5000_tool_target_with_large_schemas_is_sharded_under_1_mib() {
    let upstream = Upstream::start(&[
        "--tools",
        "5000",
        "--schema-bytes",
        "2000",
        "--page-size",
        "500",
    ]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("big", "shop", &upstream.url, "  timeoutSeconds: 120\n"),
    ])
    .await;
    let started = Instant::now();
    w.reconcile_target("big").await;
    let took = started.elapsed();
    let status = w.status("big").await;
    assert_eq!(
        status.status.as_deref(),
        Some("READY"),
        "{:?}",
        status.status_reasons
    );
    assert_eq!(status.tool_count, Some(5002));

    let maps = w.catalog_maps("big").await;
    assert!(maps.len() > 1, "sharded");
    let mut total = 0;
    println!(
        "5,000-tool catalog: {} ConfigMaps (reconcile took {took:?})",
        maps.len()
    );
    println!(
        "{:<16} {:>12} {:>12} {:>6}",
        "CONFIGMAP", "DATA BYTES", "WIRE BYTES", "TOOLS"
    );
    for map in &maps {
        let data: usize = map
            .data
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        let wire = serde_json::to_vec(map).unwrap().len();
        let tools =
            serde_json::from_str::<serde_json::Value>(&map.data.as_ref().unwrap()["catalog.json"])
                .unwrap()["tools"]
                .as_array()
                .unwrap()
                .len();
        println!("{:<16} {data:>12} {wire:>12} {tools:>6}", map.name_any());
        assert!(
            data < 1024 * 1024 && wire < 1024 * 1024,
            "{} is {wire} bytes",
            map.name_any()
        );
        total += data;
    }
    println!("total catalog data: {total} bytes");
    assert!(total > 5 * 1024 * 1024, "large schemas: {total} bytes");
    assert_eq!(
        status.catalog_config_maps,
        maps.iter().map(|m| m.name_any()).collect::<Vec<_>>()
    );
    assert_eq!(tool_names(&maps).len(), 5002, "the shards read back whole");

    w.reconcile_gateway("shop").await;
    let mounted =
        switchboard_operator::render::gateway::mounted_config_maps(&w.deployment("shop").await);
    assert_eq!(mounted.len(), maps.len() + 1, "every shard is mounted");
    assert_eq!(
        w.gateways()
            .get("shop")
            .await
            .unwrap()
            .status
            .unwrap()
            .tool_count,
        Some(5002)
    );

    // A re-sync that sees the same catalog writes nothing.
    let versions: Vec<_> = maps.iter().map(|m| m.resource_version()).collect();
    w.annotate_sync("big", "again").await;
    w.reconcile_target("big").await;
    let after: Vec<_> = w
        .catalog_maps("big")
        .await
        .iter()
        .map(|m| m.resource_version())
        .collect();
    assert_eq!(after, versions);
}

#[tokio::test]
async fn the_gateway_follows_replicas_and_its_deployment_status() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    let w = world(vec![gateway_yaml("shop", "  replicas: 2\n")]).await;
    w.reconcile_gateway("shop").await;
    let pdbs: kube::Api<PodDisruptionBudget> = kube::Api::namespaced(w.client.clone(), NS);
    assert!(
        pdbs.get_opt("shop-gateway").await.unwrap().is_some(),
        "two replicas get a PDB"
    );
    let status = w.gateways().get("shop").await.unwrap().status.unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Progressing")
    );
    assert_eq!(status.targets.as_deref(), Some("0/0"));

    // The Deployment controller reports the pods available (the fake has none).
    let deployments: kube::Api<Deployment> = kube::Api::namespaced(w.client.clone(), NS);
    let patch = json!({"status": {"replicas": 2, "availableReplicas": 2, "readyReplicas": 2, "updatedReplicas": 2}});
    deployments
        .patch_status(
            "shop-gateway",
            &Default::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    w.reconcile_gateway("shop").await;
    let status = w.gateways().get("shop").await.unwrap().status.unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Available")
    );
    assert_eq!(status.ready_replicas, Some(2));
    let events = w.events("shop").await;
    assert!(
        events
            .iter()
            .any(|(_, r, n)| r == "Available" && n.contains("shop-gateway.default.svc")),
        "{events:?}"
    );

    w.gateways()
        .patch(
            "shop",
            &Default::default(),
            &kube::api::Patch::Merge(&json!({"spec": {"replicas": 1}})),
        )
        .await
        .unwrap();
    w.reconcile_gateway("shop").await;
    assert!(
        pdbs.get_opt("shop-gateway").await.unwrap().is_none(),
        "one replica: the PDB goes"
    );
    assert_eq!(w.deployment("shop").await.spec.unwrap().replicas, Some(1));
}

#[tokio::test]
async fn a_gateway_naming_change_resyncs_its_targets() {
    let upstream = Upstream::start(&["--tools", "1"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    assert!(tool_names(&w.catalog_maps("cart").await).contains(&"cart___tool_0000".to_owned()));
    let generation = w.target("cart").await.metadata.generation;

    w.gateways()
        .patch(
            "shop",
            &Default::default(),
            &kube::api::Patch::Merge(&json!({"spec": {"naming": {"separator": "__"}}})),
        )
        .await
        .unwrap();
    // The Gateway watch maps the change to its targets.
    w.reconcile_target("cart").await;
    assert_eq!(
        w.target("cart").await.metadata.generation,
        generation,
        "the target's spec did not change"
    );
    assert_eq!(
        w.transcript.phases("cart"),
        ["CREATING", "READY", "UPDATING", "READY"]
    );
    assert!(tool_names(&w.catalog_maps("cart").await).contains(&"cart__tool_0000".to_owned()));
    assert_eq!(w.status("cart").await.tool_naming.as_deref(), Some("__/64"));
}

#[tokio::test]
async fn authorization_bindings_survive_a_prefix_rename_in_the_rendered_config() {
    use switchboard_gateway::auth::Caller;
    use switchboard_gateway::authz::{BoundTool, ToolRef};
    use switchboard_gateway::catalog::TargetCatalog;
    use switchboard_gateway::secrets::MemorySecretSource;
    use switchboard_gateway::server::Gateway as DataPlane;
    use switchboard_gateway::server::session::SessionSealer;

    let upstream = Upstream::start(&["--tools", "1"]);
    let rules = "  authorization:\n    rules:\n    - {name: no-grow, action: Deny, tools: [\"cart___grow\"]}\n";
    let w = world(vec![
        gateway_yaml("shop", rules),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    w.reconcile_gateway("shop").await;
    let bound = |config: &switchboard_gateway::config::RuntimeConfig| {
        let bindings = config.gateway.policy_bindings.clone().unwrap_or_default();
        let rule = bindings.rules.iter().find(|b| b.rule == "no-grow").cloned();
        rule.map(|r| r.pairs).unwrap_or_default()
    };
    let grow = BoundTool {
        target: "cart".into(),
        upstream_name: "grow".into(),
    };
    assert_eq!(
        bound(&w.runtime_config("shop").await),
        std::slice::from_ref(&grow)
    );

    // The prefix changes: the pattern no longer matches the exposed name, but the rule
    // stays bound to (cart, grow), in the config every new pod starts from.
    w.patch_spec("cart", json!({"toolPrefix": "basket"})).await;
    w.reconcile_target("cart").await;
    w.reconcile_gateway("shop").await;
    let config = w.runtime_config("shop").await;
    assert_eq!(bound(&config), [grow]);

    // A fresh gateway (no previous snapshot) loaded from that config denies basket___grow.
    let maps = w.catalog_maps("cart").await;
    let catalog: TargetCatalog = switchboard_operator::render::catalog::read_stored("cart", &maps)
        .unwrap()
        .catalog;
    let gateway = DataPlane::new(
        SessionSealer::random(60).unwrap(),
        std::sync::Arc::new(MemorySecretSource::new()),
    );
    gateway.load(config, vec![catalog]).unwrap();
    let snapshot = gateway.snapshot().unwrap();
    let caller = Caller::anonymous();
    let view = snapshot.policy.for_caller(&caller);
    let tool = |upstream_name: &'static str, exposed: &'static str| ToolRef {
        exposed,
        target: "cart",
        upstream_name,
    };
    assert!(!view.allows(&tool("grow", "basket___grow")));
    assert!(view.allows(&tool("tool_0000", "basket___tool_0000")));
}
