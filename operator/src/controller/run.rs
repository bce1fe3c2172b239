//! `switchboard run`: both controllers, leader election, metrics and health endpoints,
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use kube_lease_manager::LeaseManagerBuilder;

use super::{Context, Options, error_policy, gateway, target};
use crate::crd::{Gateway, GatewayTarget};
use crate::metrics::Metrics;
use crate::render::labels;

/// How the operator runs, from flags.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub options: Options,
    /// Watch only this namespace (None: all namespaces).
    pub namespace: Option<String>,
    pub metrics_listen: SocketAddr,
    pub health_listen: SocketAddr,
    pub leader_election: bool,
    pub lease_name: String,
    /// Namespace of the Lease (the operator's own).
    pub lease_namespace: String,
    pub identity: String,
    pub lease_seconds: u64,
    pub max_concurrent_reconciles: u16,
}

#[derive(Clone)]
struct Health {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    client: Client,
    run: RunOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let leader = Arc::new(AtomicBool::new(!run.leader_election));
    metrics.set_leader(!run.leader_election);
    let shutdown = shutdown.shared();

    let health = Health {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    serve(
        run.metrics_listen,
        Router::new()
            .route("/metrics", get(metrics_text))
            .with_state(health.clone()),
        shutdown.clone(),
    )
    .await?;
    serve(
        run.health_listen,
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .with_state(health),
        shutdown.clone(),
    )
    .await?;

    // Leadership: a watch channel of "am I the leader"; every gain reconciles everything.
    let (became_leader_tx, became_leader_rx) = tokio::sync::watch::channel(0u64);
    let mut lease_task = None;
    if run.leader_election {
        let manager = LeaseManagerBuilder::new(client.clone(), &run.lease_name)
            .with_namespace(&run.lease_namespace)
            .with_identity(&run.identity)
            .with_duration(run.lease_seconds)
            .with_grace((run.lease_seconds / 3).max(1))
            .build()
            .await
            .context("creating the leader-election Lease manager")?;
        let (mut channel, task) = manager.watch().await;
        let leader = leader.clone();
        let metrics = metrics.clone();
        let forward = tokio::spawn(async move {
            let mut gains = 0u64;
            loop {
                let is_leader = *channel.borrow_and_update();
                if is_leader != leader.swap(is_leader, Ordering::SeqCst) {
                    tracing::info!(leader = is_leader, "leadership changed");
                    metrics.set_leader(is_leader);
                    if is_leader {
                        gains += 1;
                        let _ = became_leader_tx.send(gains);
                    }
                }
                if channel.changed().await.is_err() {
                    break;
                }
            }
            // Dropping the receiver lets the manager release the Lease.
            drop(channel);
        });
        lease_task = Some((task, forward));
    }
    let trigger = || {
        futures::stream::unfold(became_leader_rx.clone(), |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        })
    };

    let ctx = Context::with_leader(
        client.clone(),
        run.options.clone(),
        leader.clone(),
        metrics.clone(),
    );
    let ns = run.namespace.as_deref();
    let catalog_config = watcher::Config::default().labels(labels::CATALOG_SELECTOR);
    let owned_config = watcher::Config::default().labels(&format!(
        "{}={}",
        labels::MANAGED_BY,
        labels::MANAGED_BY_VALUE
    ));

    // GatewayTarget: itself, its gateway, and every catalog of its gateway (collisions).
    let targets = Controller::new(
        api::<DeserializeGuard<GatewayTarget>>(&client, ns),
        watcher::Config::default(),
    );
    let store = targets.store();
    let store_for_gateways = store.clone();
    let store_for_maps = store.clone();
    let target_controller = targets
        .watches(
            api::<Gateway>(&client, ns),
            watcher::Config::default(),
            move |gw| {
                targets_of_gateway(
                    &store_for_gateways,
                    &gw.namespace().unwrap_or_default(),
                    &gw.name_any(),
                )
            },
        )
        .watches(
            api::<ConfigMap>(&client, ns),
            catalog_config.clone(),
            move |map| {
                let gateway = map
                    .labels()
                    .get(labels::GATEWAY)
                    .cloned()
                    .unwrap_or_default();
                targets_of_gateway(
                    &store_for_maps,
                    &map.namespace().unwrap_or_default(),
                    &gateway,
                )
            },
        )
        .reconcile_all_on(trigger())
        .graceful_shutdown_on(shutdown.clone())
        .with_config(
            kube::runtime::controller::Config::default().concurrency(run.max_concurrent_reconciles),
        )
        .run(target::reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "target reconcile");
            }
        });

    // Gateway: itself, its children, its targets and their catalogs.
    let gateways = Controller::new(
        api::<DeserializeGuard<Gateway>>(&client, ns),
        watcher::Config::default(),
    );
    let gateway_store = gateways.store();
    let gateway_controller = gateways
        .owns(
            api::<ConfigMap>(&client, ns),
            watcher::Config::default().labels(&format!(
                "{}={},{}={}",
                labels::MANAGED_BY,
                labels::MANAGED_BY_VALUE,
                labels::COMPONENT,
                labels::COMPONENT_GATEWAY
            )),
        )
        .owns(api::<Deployment>(&client, ns), owned_config.clone())
        .owns(api::<Service>(&client, ns), owned_config.clone())
        .owns(api::<ServiceAccount>(&client, ns), owned_config.clone())
        .owns(
            api::<PodDisruptionBudget>(&client, ns),
            owned_config.clone(),
        )
        .watches(
            api::<GatewayTarget>(&client, ns),
            watcher::Config::default(),
            |t| {
                Some(
                    ObjectRef::new(&t.spec.gateway_ref.name)
                        .within(&t.namespace().unwrap_or_default()),
                )
            },
        )
        .watches(api::<ConfigMap>(&client, ns), catalog_config, |map| {
            let gateway = map.labels().get(labels::GATEWAY).cloned()?;
            Some(ObjectRef::new(&gateway).within(&map.namespace().unwrap_or_default()))
        })
        .reconcile_all_on(trigger())
        .graceful_shutdown_on(shutdown.clone())
        .with_config(
            kube::runtime::controller::Config::default().concurrency(run.max_concurrent_reconciles),
        )
        .run(gateway::reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "gateway reconcile");
            }
        });

    let readiness = {
        let store = store.clone();
        async move {
            let (a, b) = tokio::join!(store.wait_until_ready(), gateway_store.wait_until_ready());
            if a.is_ok() && b.is_ok() {
                ready.store(true, Ordering::SeqCst);
                tracing::info!("caches synced; operator ready");
            }
        }
    };
    tracing::info!(
        leader_election = run.leader_election,
        namespace = ?run.namespace,
        "switchboard operator starting"
    );
    tokio::join!(target_controller, gateway_controller, readiness);

    if let Some((task, forward)) = lease_task {
        forward.abort();
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(Ok(_))) => tracing::info!("leader lease released"),
            other => tracing::warn!(?other, "leader lease not released cleanly"),
        }
    }
    tracing::info!("switchboard operator stopped");
    Ok(())
}

fn targets_of_gateway(
    store: &kube::runtime::reflector::Store<DeserializeGuard<GatewayTarget>>,
    namespace: &str,
    gateway: &str,
) -> Vec<ObjectRef<DeserializeGuard<GatewayTarget>>> {
    store
        .state()
        .iter()
        .filter_map(|guard| guard.0.as_ref().ok())
        .filter(|t| {
            t.spec.gateway_ref.name == gateway && t.namespace().as_deref() == Some(namespace)
        })
        .map(|t| ObjectRef::new(&t.name_any()).within(namespace))
        .collect()
}

async fn serve(
    address: SocketAddr,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "HTTP listener failed");
        }
    });
    Ok(())
}

async fn metrics_text(
    State(health): State<Health>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        health.metrics.render(),
    )
}

async fn readyz(State(health): State<Health>) -> (StatusCode, &'static str) {
    if health.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
    }
}
