//! The operator: two kube-runtime Controllers (`target`, `gateway`) sharing one
//! [`Context`]. Caches stay warm on every replica; only the leader writes.

pub mod gateway;
pub mod run;
pub mod target;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_gateway::routes::{RouteTable, precedence};
use switchboard_gateway::search::AsyncEmbedder;

use crate::crd::{Gateway, GatewayTarget, SecretKeyRef, referenced_secrets};
use crate::metrics::Metrics;
use crate::render::catalog::{StoredCatalog, read_stored};
use crate::render::gateway::ServedTarget;
use crate::render::{FIELD_MANAGER, RenderError, labels};

/// Errors that end a reconcile early; sync failures are not errors (they are status).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
}

impl Error {
    /// Label of `switchboard_operator_reconciliations_total{outcome}`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(status)) if status.code == 409 => "conflict",
            Error::Kube(_) => "kube_error",
            Error::Render(_) => "render_error",
            Error::Encode { .. } => "encode_error",
        }
    }
}

/// Tunables, from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Image of gateway pods when a Gateway sets none.
    pub gateway_image: String,
    /// Catalog bytes per ConfigMap shard.
    pub shard_bytes: usize,
    /// Safety requeue after a successful reconcile.
    pub resync_after: Duration,
    /// First retry delay of a transient failure; doubles up to `max_retry`.
    pub min_retry: Duration,
    pub max_retry: Duration,
    /// Embeds tools at sync time for semantic search; `None`: tool search is lexical.
    pub embedder: Option<ToolEmbedder>,
}

/// The model that embeds tool definitions (gateway pods embed queries with the same
/// model, shipped in both images).
#[derive(Clone)]
pub struct ToolEmbedder(pub Arc<dyn AsyncEmbedder>);

impl std::fmt::Debug for ToolEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ToolEmbedder")
            .field(&self.0.model_id())
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gateway_image: default_gateway_image(),
            shard_bytes: crate::render::catalog::DEFAULT_SHARD_BYTES,
            resync_after: Duration::from_secs(3600),
            min_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(300),
            embedder: None,
        }
    }
}

pub fn default_gateway_image() -> String {
    format!(
        "ghcr.io/switchboard-dev/switchboard-gateway:{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// State shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Upstream HTTP client shared by every sync (connection pooling).
    pub http: reqwest::Client,
    pub options: Options,
    leader: Arc<AtomicBool>,
    /// One lock per target: syncs of one target never overlap, even across triggers.
    sync_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Transient failure backoff per target: (attempts, retry no earlier than).
    retries: Mutex<HashMap<String, (u32, std::time::Instant)>>,
}

impl Context {
    /// A context that writes (tests, or a single replica without leader election).
    pub fn new(client: Client, options: Options) -> Arc<Self> {
        Self::with_leader(
            client,
            options,
            Arc::new(AtomicBool::new(true)),
            Arc::default(),
        )
    }

    pub fn with_leader(
        client: Client,
        options: Options,
        leader: Arc<AtomicBool>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let reporter = Reporter {
            controller: "switchboard-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Arc::new(Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            http: switchboard_gateway::upstream::http_client(),
            options,
            leader,
            sync_locks: Mutex::default(),
            retries: Mutex::default(),
        })
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub(crate) fn sync_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.sync_locks.lock() {
            Ok(mut locks) => locks.entry(key.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// Records a transient failure and returns the delay before the next attempt.
    pub(crate) fn backoff(&self, key: &str) -> Duration {
        let Ok(mut retries) = self.retries.lock() else {
            return self.options.max_retry;
        };
        let attempts = retries.get(key).map_or(0, |(a, _)| *a) + 1;
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
        let delay = self
            .options
            .min_retry
            .saturating_mul(factor)
            .min(self.options.max_retry);
        retries.insert(
            key.to_owned(),
            (attempts, std::time::Instant::now() + delay),
        );
        delay
    }

    /// Time left before a retry is due, if one is scheduled in the future.
    pub(crate) fn retry_wait(&self, key: &str) -> Option<Duration> {
        let retries = self.retries.lock().ok()?;
        let (_, at) = retries.get(key)?;
        at.checked_duration_since(std::time::Instant::now())
    }

    pub(crate) fn clear_backoff(&self, key: &str) {
        if let Ok(mut retries) = self.retries.lock() {
            retries.remove(key);
        }
    }

    /// Publishes an Event about `object`; failures are logged, never fatal.
    pub(crate) async fn event<K: Resource<DynamicType = ()>>(
        &self,
        object: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(truncate(note, 1000)),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
            tracing::warn!(%error, reason, "cannot publish event");
        }
    }
}

/// The front both Controllers share: a malformed object gets a Warning Event and waits
/// for a fix, followers wait, and the leader's reconcile is metered under `controller`.
pub(crate) async fn reconcile_guarded<K, Fut>(
    guard: &DeserializeGuard<K>,
    ctx: &Context,
    controller: &'static str,
    reconcile: impl FnOnce(K) -> Fut,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Default + Clone,
    Fut: std::future::Future<Output = Result<Action, Error>>,
{
    let object = match &guard.0 {
        Ok(object) => object.clone(),
        Err(invalid) => {
            tracing::warn!(error = %invalid.error, kind = %K::kind(&()), "malformed object");
            if ctx.is_leader() {
                let mut stub = K::default();
                *stub.meta_mut() = invalid.metadata.clone();
                ctx.event(
                    &stub,
                    EventType::Warning,
                    "InvalidObject",
                    "Validate",
                    format!(
                        "cannot read it: {}; fix it and apply it again",
                        invalid.error
                    ),
                )
                .await;
            }
            return Ok(Action::await_change());
        }
    };
    if !ctx.is_leader() {
        return Ok(Action::await_change());
    }
    let started = std::time::Instant::now();
    let result = reconcile(object).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(error) => error.metric_label(),
    };
    ctx.metrics
        .reconciled(controller, outcome, started.elapsed());
    result
}

/// The object's name, readable or not (for log spans).
pub(crate) fn guard_name<K: Resource>(guard: &DeserializeGuard<K>) -> String {
    match &guard.0 {
        Ok(object) => object.meta().name.clone().unwrap_or_default(),
        Err(invalid) => invalid.metadata.name.clone().unwrap_or_default(),
    }
}

/// API errors: retry with a short backoff.
pub fn error_policy<K>(
    _guard: Arc<DeserializeGuard<K>>,
    error: &Error,
    _ctx: Arc<Context>,
) -> Action {
    tracing::warn!(%error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

pub(crate) fn key_of<K: Resource>(object: &K) -> String {
    format!(
        "{}/{}",
        object.meta().namespace.clone().unwrap_or_default(),
        object.meta().name.clone().unwrap_or_default()
    )
}

/// Server-side apply with the operator's field manager, forcing ownership.
pub(crate) async fn apply<K>(
    ctx: &Context,
    api: &Api<K>,
    name: &str,
    object: &K,
) -> Result<K, Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = api.patch(name, &params, &Patch::Apply(object)).await?;
    ctx.metrics
        .write(kind_label(&K::kind(&K::DynamicType::default())), "written");
    Ok(applied)
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "ConfigMap" => "ConfigMap",
        "Deployment" => "Deployment",
        "Service" => "Service",
        "ServiceAccount" => "ServiceAccount",
        "PodDisruptionBudget" => "PodDisruptionBudget",
        "Secret" => "Secret",
        _ => "other",
    }
}

/// Catalog ConfigMaps of every target of `gateway`, grouped by target name.
pub(crate) async fn catalog_maps(
    client: &Client,
    namespace: &str,
    gateway: &str,
) -> Result<BTreeMap<String, Vec<ConfigMap>>, Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let selector = format!("{},{}={gateway}", labels::CATALOG_SELECTOR, labels::GATEWAY);
    let mut grouped: BTreeMap<String, Vec<ConfigMap>> = BTreeMap::new();
    for map in api.list(&ListParams::default().labels(&selector)).await? {
        if let Some(target) = map.labels().get(labels::TARGET).cloned() {
            grouped.entry(target).or_default().push(map);
        }
    }
    Ok(grouped)
}

/// The targets of `gateway` in `namespace`.
pub(crate) async fn targets_of(
    client: &Client,
    namespace: &str,
    gateway: &str,
) -> Result<Vec<GatewayTarget>, Error> {
    let api: Api<GatewayTarget> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|t| t.spec.gateway_ref.name == gateway)
        .collect())
}

pub(crate) fn created_at(target: &GatewayTarget) -> String {
    target
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default()
}

/// What the gateway serves: every target that is not being deleted and has a complete
/// catalog, sorted by name, with its catalog.
pub(crate) fn served(
    targets: &[GatewayTarget],
    mut maps: BTreeMap<String, Vec<ConfigMap>>,
) -> Vec<(ServedTarget, StoredCatalog)> {
    let mut served = Vec::new();
    let mut sorted: Vec<&GatewayTarget> = targets
        .iter()
        .filter(|t| t.metadata.deletion_timestamp.is_none())
        .collect();
    sorted.sort_by_key(|t| t.name_any());
    for target in sorted {
        let name = target.name_any();
        let Some(shards) = maps.remove(&name) else {
            continue;
        };
        match read_stored(&name, &shards) {
            Ok(mut stored) => {
                stored.settings.created_at = created_at(target);
                served.push((
                    ServedTarget {
                        settings: stored.settings.clone(),
                        catalog_hash: stored.catalog.content_hash.clone(),
                        config_maps: stored.config_maps.clone(),
                        secrets: referenced_secrets(&target.spec),
                    },
                    stored,
                ));
            }
            Err(error) => tracing::warn!(target = %name, %error, "catalog not served"),
        }
    }
    served
}

/// The route table the gateway builds from `served` (same precedence rules, same
/// reserved names).
pub(crate) fn routes(served: &[(ServedTarget, StoredCatalog)], gateway: &Gateway) -> RouteTable {
    let ages: HashMap<String, String> = served
        .iter()
        .map(|(t, _)| (t.settings.name.clone(), t.settings.created_at.clone()))
        .collect();
    let mut catalogs: Vec<_> = served.iter().map(|(_, s)| s.catalog.clone()).collect();
    precedence(&mut catalogs, &ages);
    let search = gateway.spec.search.clone().unwrap_or_default();
    RouteTable::build_reserving(&catalogs, &search.reserved_tools())
}

/// Secrets a target needs, in a stable order.
pub(crate) fn secret_refs(target: &GatewayTarget) -> Vec<SecretKeyRef> {
    let mut refs = referenced_secrets(&target.spec);
    refs.sort();
    refs.dedup();
    refs
}
