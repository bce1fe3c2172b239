//! GatewayTarget controller: validate → resolve Secrets → sync → catalog ConfigMaps →
//! status, with the lifecycle of DESIGN.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::json;
use switchboard_gateway::search::{embed_catalog, embedded_tools};
use switchboard_gateway::sync::sync_target;
use switchboard_gateway::upstream::UpstreamClient;

use super::{
    Context, Error, ToolEmbedder, apply, catalog_maps, created_at, guard_name, key_of,
    reconcile_guarded, routes, secret_refs, served, targets_of,
};
use crate::crd::{Gateway, GatewayTarget, GatewayTargetStatus, SecretKeyRef, phase};
use crate::manifests::{gateway_settings, target_settings};
use crate::render::catalog::{catalog_config_maps, read_stored, shard_of, up_to_date};
use crate::render::gateway::{mounted_config_maps, workload_name};
use crate::render::{FIELD_MANAGER, SYNC_REQUESTED_AT, TARGET_FINALIZER, labels};
use crate::status::{self, SyncKind, SyncSummary, reason};
use switchboard_gateway::secrets::MemorySecretSource;

pub const CONTROLLER: &str = "target";

/// Entry point for the Controller (see [`reconcile_guarded`]).
#[tracing::instrument(skip_all, fields(target = %guard_name(&guard)))]
pub async fn reconcile(
    guard: Arc<DeserializeGuard<GatewayTarget>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let shared = ctx.clone();
    reconcile_guarded(&guard, &ctx, CONTROLLER, |target| async move {
        reconcile_target(&target, &shared).await
    })
    .await
}

/// One reconcile of one target. Public for the reconciler tests.
pub async fn reconcile_target(target: &GatewayTarget, ctx: &Context) -> Result<Action, Error> {
    let key = key_of(target);
    let lock = ctx.sync_lock(&key);
    let _held = lock.lock().await;
    let namespace = target.namespace().unwrap_or_else(|| "default".into());
    let name = target.name_any();
    let api: Api<GatewayTarget> = Api::namespaced(ctx.client.clone(), &namespace);
    // What we were handed may be stale if another reconcile held the lock.
    let Some(mut target) = api.get_opt(&name).await? else {
        ctx.clear_backoff(&key);
        return Ok(Action::await_change());
    };

    if target.metadata.deletion_timestamp.is_some() {
        return cleanup(&target, &api, ctx).await;
    }
    if !target.finalizers().iter().any(|f| f == TARGET_FINALIZER) {
        let mut finalizers = target.finalizers().to_vec();
        finalizers.push(TARGET_FINALIZER.to_owned());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": target.resource_version()}});
        target = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }

    let current = target.status.clone().unwrap_or_default();
    let generation = target.metadata.generation;
    let now = Time(jiff_now());
    let gateways: Api<Gateway> = Api::namespaced(ctx.client.clone(), &namespace);
    let gateway_name = target.spec.gateway_ref.name.clone();

    let Some(gateway) = gateways.get_opt(&gateway_name).await? else {
        let kind = first_kind(&current);
        let message = format!(
            "Gateway {gateway_name:?} not found in namespace {namespace}: create it or fix spec.gatewayRef"
        );
        // Found before any sync could start: the same states as a failed sync.
        let next = status::sync_failed(
            &current,
            kind,
            reason::GATEWAY_NOT_FOUND,
            &message,
            generation,
            &now,
        );
        write_status(ctx, &api, &target, &current, &next).await?;
        // The Gateway watch brings us back when it appears.
        return Ok(Action::await_change());
    };
    let naming = gateway_settings(&gateway).naming();
    let naming_text = format!("{}/{}", naming.separator, naming.max_length);

    let mut current = current;
    let mut requeue = ctx.options.resync_after;
    match plan(&target, &current, &naming_text, ctx.retry_wait(&key)) {
        Plan::Sync { kind, quiet } => {
            let (next, wait) = sync(
                ctx,
                &api,
                &target,
                &current,
                kind,
                quiet,
                &naming_text,
                &gateway,
            )
            .await?;
            current = next;
            if let Some(wait) = wait {
                requeue = wait;
            }
        }
        Plan::Wait(wait) => requeue = wait,
        Plan::Nothing => {}
    }

    // Collisions depend on the other targets' catalogs: recomputed on every reconcile.
    if !current.catalog_config_maps.is_empty() {
        let targets = targets_of(&ctx.client, &namespace, &gateway_name).await?;
        let maps = catalog_maps(&ctx.client, &namespace, &gateway_name).await?;
        let served = served(&targets, maps);
        let table = routes(&served, &gateway);
        let mut lost: Vec<String> = table
            .collisions()
            .iter()
            .filter(|c| c.dropped == name)
            .map(|c| format!("{} {} (kept by {})", c.kind, c.name, c.kept))
            .collect();
        lost.sort();
        let next = status::with_collisions(&current, lost);
        if next.collisions != current.collisions && !next.collisions.is_empty() {
            ctx.event(
                &target,
                EventType::Warning,
                reason::NAME_COLLISION,
                "Publish",
                format!(
                    "{}: {}",
                    next.status_reasons.last().cloned().unwrap_or_default(),
                    next.collisions.join(", ")
                ),
            )
            .await;
        }
        write_status(ctx, &api, &target, &current, &next).await?;
        current = next;
    }

    if let Some(interval) = target.spec.sync_interval_seconds {
        let due = periodic_wait(&current, interval);
        requeue = requeue.min(due.unwrap_or(Duration::from_secs(u64::from(interval))));
    }
    Ok(Action::requeue(requeue))
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

/// What a reconcile has to do about syncing.
#[derive(Debug, PartialEq)]
enum Plan {
    /// `quiet`: no transient state is shown (retries and periodic syncs).
    Sync {
        kind: SyncKind,
        quiet: bool,
    },
    Wait(Duration),
    Nothing,
}

fn first_kind(current: &GatewayTargetStatus) -> SyncKind {
    if current.catalog_config_maps.is_empty() {
        SyncKind::Create
    } else {
        SyncKind::Update
    }
}

/// Failures that a later attempt may fix without a spec change.
fn retryable(reason: &str) -> bool {
    !matches!(
        reason,
        "InvalidSpec" | "CatalogTooLarge" | reason::GATEWAY_NOT_FOUND
    )
}

fn plan(
    target: &GatewayTarget,
    current: &GatewayTargetStatus,
    naming: &str,
    retry_wait: Option<Duration>,
) -> Plan {
    let has_catalog = !current.catalog_config_maps.is_empty();
    let request = target.annotations().get(SYNC_REQUESTED_AT);
    let explicit = request.is_some() && request != current.last_sync_request.as_ref();
    let spec_changed = current.observed_generation != target.metadata.generation;
    let naming_changed = has_catalog && current.tool_naming.as_deref() != Some(naming);
    let phase = current.status.as_deref().unwrap_or("");
    if spec_changed || naming_changed || phase.is_empty() {
        return Plan::Sync {
            kind: first_kind(current),
            quiet: false,
        };
    }
    if explicit {
        return Plan::Sync {
            kind: SyncKind::Synchronize,
            quiet: false,
        };
    }
    let failed_kind = match phase {
        phase::FAILED => Some(SyncKind::Create),
        phase::UPDATE_UNSUCCESSFUL => Some(SyncKind::Update),
        phase::SYNCHRONIZE_UNSUCCESSFUL => Some(SyncKind::Synchronize),
        // Interrupted mid-sync (operator restart or leader change): do it again.
        phase::CREATING => {
            return Plan::Sync {
                kind: SyncKind::Create,
                quiet: true,
            };
        }
        phase::UPDATING => {
            return Plan::Sync {
                kind: SyncKind::Update,
                quiet: true,
            };
        }
        phase::SYNCHRONIZING => {
            return Plan::Sync {
                kind: SyncKind::Synchronize,
                quiet: true,
            };
        }
        _ => None,
    };
    if let Some(kind) = failed_kind {
        let why = status::condition(&current.conditions, status::SYNCED)
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        if why == reason::GATEWAY_NOT_FOUND {
            // We only get here once the Gateway exists.
            return Plan::Sync {
                kind: first_kind(current),
                quiet: false,
            };
        }
        if !retryable(&why) {
            return Plan::Nothing;
        }
        return match retry_wait {
            Some(wait) => Plan::Wait(wait),
            None => Plan::Sync { kind, quiet: true },
        };
    }
    if let Some(interval) = target.spec.sync_interval_seconds
        && periodic_wait(current, interval).is_none()
    {
        return Plan::Sync {
            kind: SyncKind::Periodic,
            quiet: true,
        };
    }
    Plan::Nothing
}

/// Time left until the periodic sync is due; `None` when it is due now.
fn periodic_wait(current: &GatewayTargetStatus, interval: u32) -> Option<Duration> {
    let last = current.last_sync_time.as_deref()?;
    let last: k8s_openapi::jiff::Timestamp = last.parse().ok()?;
    let due = last.as_second() + i64::from(interval);
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    (due > now).then(|| Duration::from_secs((due - now) as u64))
}

/// Writes the status unless nothing changed (no-op writes are skipped).
async fn write_status(
    ctx: &Context,
    api: &Api<GatewayTarget>,
    target: &GatewayTarget,
    current: &GatewayTargetStatus,
    next: &GatewayTargetStatus,
) -> Result<(), Error> {
    if current == next {
        ctx.metrics.write("GatewayTargetStatus", "skipped");
        return Ok(());
    }
    let mut status = serde_json::to_value(next).map_err(|source| Error::Encode {
        what: "status",
        source,
    })?;
    // Send emptied lists explicitly so that every API server clears them.
    for list in ["statusReasons", "catalogConfigMaps", "collisions"] {
        if let Some(object) = status.as_object_mut() {
            object.entry(list).or_insert_with(|| json!([]));
        }
    }
    let patch = json!({
        "apiVersion": "switchboard.dev/v1alpha1",
        "kind": "GatewayTarget",
        "status": status,
    });
    api.patch_status(
        &target.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.write("GatewayTargetStatus", "written");
    Ok(())
}

/// Runs one sync and records its outcome; returns the new status and, on a transient
/// failure, when to retry.
#[allow(clippy::too_many_arguments)]
async fn sync(
    ctx: &Context,
    api: &Api<GatewayTarget>,
    target: &GatewayTarget,
    current: &GatewayTargetStatus,
    kind: SyncKind,
    quiet: bool,
    naming_text: &str,
    gateway: &Gateway,
) -> Result<(GatewayTargetStatus, Option<Duration>), Error> {
    let key = key_of(target);
    let generation = target.metadata.generation;
    let request = target.annotations().get(SYNC_REQUESTED_AT).cloned();
    let now = Time(jiff_now());
    let mut current = current.clone();
    if !quiet {
        let next = status::begin_sync(&current, kind, generation, request.as_deref(), &now);
        write_status(ctx, api, target, &current, &next).await?;
        current = next;
    }
    let started = Instant::now();

    let fail = |reason: &str, message: String| {
        let next = status::sync_failed(&current, kind, reason, &message, generation, &now);
        (next, reason.to_owned(), message)
    };
    let outcome = match resolve_secrets(ctx, target).await? {
        Err((reason, message)) => Err(fail(reason, message)),
        Ok(secrets) => {
            let settings = target_settings(target, created_at(target));
            let naming = gateway_settings(gateway).naming();
            let client = UpstreamClient::new(&settings, ctx.http.clone(), Arc::new(secrets));
            match sync_target(&settings, &naming, &client).await {
                Err(error) => Err(fail(
                    error.reason(),
                    format!("{error} (endpoint {})", redacted(&settings.endpoint)),
                )),
                Ok(mut catalog) => {
                    embed_tools(ctx, target, &mut catalog).await?;
                    match catalog_config_maps(target, &catalog, &settings, ctx.options.shard_bytes)
                    {
                        Err(error) => Err(fail(error.reason(), error.to_string())),
                        Ok(maps) => {
                            let names =
                                write_catalog(ctx, target, &maps, &catalog, &settings).await?;
                            let summary = SyncSummary {
                                catalog: &catalog,
                                config_maps: names,
                                naming: naming_text.to_owned(),
                                synced_at: catalog.synced_at.clone(),
                            };
                            let next = status::sync_succeeded(&current, &summary, generation, &now);
                            Ok((next, status::describe_catalog(&catalog)))
                        }
                    }
                }
            }
        }
    };
    let before = target.status.clone().unwrap_or_default();
    match outcome {
        Ok((next, description)) => {
            ctx.metrics.synced(&key, "success", started.elapsed());
            ctx.metrics.tools(&key, next.tool_count.unwrap_or_default());
            ctx.clear_backoff(&key);
            let changed = before.catalog_hash != next.catalog_hash;
            if before.status.as_deref() != Some(phase::READY) || changed {
                // Distinct reasons: the recorder folds repeats of one reason into a series.
                let (why, verb) = if before.catalog_hash.is_some() && changed {
                    ("CatalogChanged", "catalog changed")
                } else {
                    (reason::SYNCED, "synced")
                };
                ctx.event(
                    target,
                    EventType::Normal,
                    why,
                    "Sync",
                    format!("{verb}: {description}"),
                )
                .await;
            }
            tracing::info!(tools = next.tool_count, hash = ?next.catalog_hash, "synced");
            write_status(ctx, api, target, &current, &next).await?;
            Ok((next, None))
        }
        Err((next, why, message)) => {
            ctx.metrics.synced(&key, &why, started.elapsed());
            let transition = before.status != next.status
                || status::condition(&before.conditions, status::SYNCED).map(|c| c.reason.as_str())
                    != Some(why.as_str());
            if transition {
                ctx.event(target, EventType::Warning, &why, "Sync", message.clone())
                    .await;
            }
            tracing::warn!(reason = %why, %message, "sync failed");
            write_status(ctx, api, target, &current, &next).await?;
            let wait = retryable(&why).then(|| ctx.backoff(&key));
            Ok((next, wait.or(Some(ctx.options.resync_after))))
        }
    }
}

/// Stores tool embeddings for semantic search in `catalog`, reusing the served catalog's
/// for tools whose definition did not change. A failure never fails the sync: it is
/// reported, and tools without an embedding are found lexically.
async fn embed_tools(
    ctx: &Context,
    target: &GatewayTarget,
    catalog: &mut switchboard_gateway::catalog::TargetCatalog,
) -> Result<(), Error> {
    let Some(ToolEmbedder(embedder)) = &ctx.options.embedder else {
        return Ok(());
    };
    let namespace = target.namespace().unwrap_or_else(|| "default".into());
    let name = target.name_any();
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let existing = own_maps(&maps, &name).await?;
    // An unreadable or missing previous catalog only means computing everything again.
    let previous = (!existing.is_empty())
        .then(|| read_stored(&name, &existing).ok())
        .flatten();
    let started = Instant::now();
    match embed_catalog(
        catalog,
        previous.as_ref().map(|p| &p.catalog),
        embedder.as_ref(),
    )
    .await
    {
        Ok(stats) => tracing::info!(
            reused = stats.reused,
            computed = stats.computed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tool embeddings"
        ),
        Err(error) => {
            let kept = embedded_tools(catalog);
            tracing::warn!(%error, kept, "tool embeddings failed");
            ctx.event(
                target,
                EventType::Warning,
                reason::EMBEDDING_FAILED,
                "Sync",
                format!(
                    "tool embeddings failed ({error}); {kept} of {} tools keep their previous embedding, the others are found by tool search lexically only",
                    catalog.tools.len()
                ),
            )
            .await;
        }
    }
    Ok(())
}

/// The endpoint without userinfo or query, which may carry credentials.
fn redacted(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string()
        }
        Err(_) => "(unparsable URL)".into(),
    }
}

/// Reads every referenced Secret key for the sync; the error names the first missing
/// Secret or key, never a value.
async fn resolve_secrets(
    ctx: &Context,
    target: &GatewayTarget,
) -> Result<Result<MemorySecretSource, (&'static str, String)>, Error> {
    let namespace = target.namespace().unwrap_or_else(|| "default".into());
    read_secrets(&ctx.client, &namespace, &secret_refs(target)).await
}

/// The first referenced Secret or key that does not exist, as (reason, message).
pub async fn missing_secret(
    client: &kube::Client,
    namespace: &str,
    refs: &[SecretKeyRef],
) -> Result<Option<(&'static str, String)>, Error> {
    Ok(read_secrets(client, namespace, refs).await?.err())
}

/// The referenced keys' values, held in memory for one sync; or the first missing
/// Secret or key as (reason, message).
pub async fn read_secrets(
    client: &kube::Client,
    namespace: &str,
    refs: &[SecretKeyRef],
) -> Result<Result<MemorySecretSource, (&'static str, String)>, Error> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let source = MemorySecretSource::new();
    for reference in refs {
        let Some(secret) = secrets.get_opt(&reference.name).await? else {
            return Ok(Err((
                reason::SECRET_NOT_FOUND,
                format!(
                    "Secret {:?} not found in namespace {namespace}",
                    reference.name
                ),
            )));
        };
        let from_data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
        let from_string = secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .cloned();
        let Some(value) = from_string.or(from_data) else {
            return Ok(Err((
                reason::SECRET_KEY_NOT_FOUND,
                format!("Secret {:?} has no key {:?}", reference.name, reference.key),
            )));
        };
        source.insert(&reference.name, &reference.key, value);
    }
    Ok(Ok(source))
}

/// Applies the shards (unless they already hold this catalog) and removes stale ones.
async fn write_catalog(
    ctx: &Context,
    target: &GatewayTarget,
    maps: &[ConfigMap],
    catalog: &switchboard_gateway::catalog::TargetCatalog,
    settings: &switchboard_gateway::config::TargetSettings,
) -> Result<Vec<String>, Error> {
    let namespace = target.namespace().unwrap_or_else(|| "default".into());
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let existing = own_maps(&api, &target.name_any()).await?;
    let names: Vec<String> = maps
        .iter()
        .filter_map(|m| m.metadata.name.clone())
        .collect();
    if up_to_date(&existing, catalog, settings) {
        ctx.metrics.write("ConfigMap", "skipped");
        return Ok(names);
    }
    for map in maps {
        apply(
            ctx,
            &api,
            map.metadata.name.as_deref().unwrap_or_default(),
            map,
        )
        .await?;
    }
    for stale in existing {
        let name = stale.name_any();
        if !names.contains(&name) {
            api.delete(&name, &DeleteParams::default()).await?;
        }
    }
    Ok(names)
}

async fn own_maps(api: &Api<ConfigMap>, target: &str) -> Result<Vec<ConfigMap>, Error> {
    let selector = format!("{},{}={target}", labels::CATALOG_SELECTOR, labels::TARGET);
    let mut maps = api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items;
    // Never trust the selector alone with deletes: keep only this target's catalogs.
    maps.retain(|m| {
        m.labels().get(labels::TARGET).map(String::as_str) == Some(target)
            && m.labels().get(labels::COMPONENT).map(String::as_str)
                == Some(labels::COMPONENT_CATALOG)
    });
    maps.sort_by_key(|m| shard_of(m).map(|(i, _)| i));
    Ok(maps)
}

/// DELETING: wait until the gateway's Deployment no longer mounts the catalog, then
/// delete the ConfigMaps and let the target go.
async fn cleanup(
    target: &GatewayTarget,
    api: &Api<GatewayTarget>,
    ctx: &Context,
) -> Result<Action, Error> {
    if !target.finalizers().iter().any(|f| f == TARGET_FINALIZER) {
        return Ok(Action::await_change());
    }
    let current = target.status.clone().unwrap_or_default();
    let now = Time(jiff_now());
    let next = status::deleting(&current, target.metadata.generation, &now);
    if current.status.as_deref() != Some(phase::DELETING) {
        ctx.event(
            target,
            EventType::Normal,
            reason::DELETING,
            "Delete",
            "removing the target's tools from the gateway".into(),
        )
        .await;
    }
    write_status(ctx, api, target, &current, &next).await?;

    let namespace = target.namespace().unwrap_or_else(|| "default".into());
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let own = own_maps(&maps, &target.name_any()).await?;
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let workload = workload_name(&target.spec.gateway_ref.name);
    if let Some(deployment) = deployments.get_opt(&workload).await? {
        let mounted = mounted_config_maps(&deployment);
        if own.iter().any(|m| mounted.contains(&m.name_any())) {
            // The gateway controller drops deleting targets; come back once it has.
            return Ok(Action::requeue(Duration::from_secs(2)));
        }
    }
    for map in own {
        maps.delete(&map.name_any(), &DeleteParams::default())
            .await?;
    }
    let finalizers: Vec<String> = target
        .finalizers()
        .iter()
        .filter(|f| *f != TARGET_FINALIZER)
        .cloned()
        .collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": target.resource_version()}});
    match api
        .patch(
            &target.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => return Err(error.into()),
    }
    ctx.clear_backoff(&key_of(target));
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(yaml: &str) -> GatewayTarget {
        serde_yaml::from_str(yaml).unwrap()
    }

    const BASE: &str = "apiVersion: switchboard.dev/v1alpha1\nkind: GatewayTarget\nmetadata: {name: cart, generation: 2, annotations: {switchboard.dev/sync-requested-at: t1}}\nspec: {gatewayRef: {name: shop}, mcp: {endpoint: 'http://127.0.0.1:1/mcp'}}\n";

    fn ready(generation: i64, request: Option<&str>) -> GatewayTargetStatus {
        GatewayTargetStatus {
            status: Some("READY".into()),
            observed_generation: Some(generation),
            last_sync_request: request.map(str::to_owned),
            catalog_config_maps: vec!["cart-catalog-0".into()],
            tool_naming: Some("___/64".into()),
            last_sync_time: Some("2999-01-01T00:00:00Z".into()),
            ..Default::default()
        }
    }

    #[test]
    fn plans_follow_generation_annotation_and_naming() {
        let t = target(BASE);
        assert_eq!(
            plan(&t, &GatewayTargetStatus::default(), "___/64", None),
            Plan::Sync {
                kind: SyncKind::Create,
                quiet: false
            }
        );
        assert_eq!(
            plan(&t, &ready(1, Some("t1")), "___/64", None),
            Plan::Sync {
                kind: SyncKind::Update,
                quiet: false
            }
        );
        assert_eq!(
            plan(&t, &ready(2, Some("t0")), "___/64", None),
            Plan::Sync {
                kind: SyncKind::Synchronize,
                quiet: false
            }
        );
        assert_eq!(
            plan(&t, &ready(2, Some("t1")), "___/64", None),
            Plan::Nothing
        );
        assert_eq!(
            plan(&t, &ready(2, Some("t1")), "__/64", None),
            Plan::Sync {
                kind: SyncKind::Update,
                quiet: false
            }
        );
    }

    #[test]
    fn transient_failures_retry_quietly_after_backoff_and_invalid_specs_wait() {
        let t = target(BASE);
        let mut failed = ready(2, Some("t1"));
        failed.status = Some("SYNCHRONIZE_UNSUCCESSFUL".into());
        failed
            .conditions
            .push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: "Synced".into(),
                status: "False".into(),
                reason: "UpstreamUnreachable".into(),
                message: String::new(),
                observed_generation: None,
                last_transition_time: Time(jiff_now()),
            });
        assert_eq!(
            plan(&t, &failed, "___/64", Some(Duration::from_secs(3))),
            Plan::Wait(Duration::from_secs(3))
        );
        assert_eq!(
            plan(&t, &failed, "___/64", None),
            Plan::Sync {
                kind: SyncKind::Synchronize,
                quiet: true
            }
        );
        failed.conditions[0].reason = "InvalidSpec".into();
        assert_eq!(plan(&t, &failed, "___/64", None), Plan::Nothing);
    }

    #[test]
    fn periodic_sync_is_due_after_the_interval() {
        let mut t = target(BASE);
        t.spec.sync_interval_seconds = Some(60);
        let mut status = ready(2, Some("t1"));
        assert_eq!(plan(&t, &status, "___/64", None), Plan::Nothing);
        status.last_sync_time = Some("2000-01-01T00:00:00Z".into());
        assert_eq!(
            plan(&t, &status, "___/64", None),
            Plan::Sync {
                kind: SyncKind::Periodic,
                quiet: true
            }
        );
    }
}
