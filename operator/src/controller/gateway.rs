//! Gateway controller: runtime config, session key, ServiceAccount, Deployment (one
//! projected volume of config, catalogs and credential Secrets), Service, PDB, status.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::json;

use super::{
    Context, Error, ToolEmbedder, apply, catalog_maps, guard_name, reconcile_guarded, routes,
    served, targets_of,
};
use crate::crd::{Gateway, GatewayStatus, phase};
use crate::render::FIELD_MANAGER;
use crate::render::catalog::StoredCatalog;
use crate::render::gateway::{
    CONFIG_KEY, GatewayInputs, ServedTarget, config_map_name, render, session_secret,
    session_secret_name, workload_name,
};
use crate::status;
use switchboard_gateway::authz::{Policy, PolicyBindings, TargetTenancy, ToolRef};
use switchboard_gateway::config::RuntimeConfig;
use switchboard_gateway::routes::{Listed, RouteTable};

pub const CONTROLLER: &str = "gateway";

/// Entry point for the Controller (see [`reconcile_guarded`]).
#[tracing::instrument(skip_all, fields(gateway = %guard_name(&guard)))]
pub async fn reconcile(
    guard: Arc<DeserializeGuard<Gateway>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let shared = ctx.clone();
    reconcile_guarded(&guard, &ctx, CONTROLLER, |gateway| async move {
        reconcile_gateway(&gateway, &shared).await
    })
    .await
}

/// One reconcile of one Gateway. Public for the reconciler tests.
pub async fn reconcile_gateway(gateway: &Gateway, ctx: &Context) -> Result<Action, Error> {
    if gateway.metadata.deletion_timestamp.is_some() {
        // Owner references take the children with it.
        return Ok(Action::await_change());
    }
    let namespace = gateway.namespace().unwrap_or_else(|| "default".into());
    let name = gateway.name_any();
    let client = ctx.client.clone();

    let targets = targets_of(&client, &namespace, &name).await?;
    let maps = catalog_maps(&client, &namespace, &name).await?;
    let served = served(&targets, maps);
    let table = routes(&served, gateway);
    let tool_count = table.tools().len();
    let search = status::search_status(
        &gateway.spec.search.clone().unwrap_or_default(),
        &table,
        &served.iter().map(|(_, s)| &s.catalog).collect::<Vec<_>>(),
        ctx.options
            .embedder
            .as_ref()
            .map(|ToolEmbedder(e)| e.model_id()),
    );

    let policy_bindings = policy_bindings(ctx, gateway, &namespace, &table, &served).await?;

    ensure_session_key(ctx, gateway, &namespace).await?;
    let children = render(&GatewayInputs {
        gateway,
        default_image: &ctx.options.gateway_image,
        targets: served.into_iter().map(|(t, _)| t).collect(),
        policy_bindings,
    })?;
    let workload = workload_name(&name);
    apply(
        ctx,
        &Api::<ConfigMap>::namespaced(client.clone(), &namespace),
        &children.config_map.name_any(),
        &children.config_map,
    )
    .await?;
    apply(
        ctx,
        &Api::<ServiceAccount>::namespaced(client.clone(), &namespace),
        &workload,
        &children.service_account,
    )
    .await?;
    let deployment = apply(
        ctx,
        &Api::<Deployment>::namespaced(client.clone(), &namespace),
        &workload,
        &children.deployment,
    )
    .await?;
    apply(
        ctx,
        &Api::<Service>::namespaced(client.clone(), &namespace),
        &workload,
        &children.service,
    )
    .await?;
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), &namespace);
    match &children.pdb {
        Some(pdb) => {
            apply(ctx, &pdbs, &workload, pdb).await?;
        }
        None => {
            if pdbs.get_opt(&workload).await?.is_some() {
                pdbs.delete(&workload, &DeleteParams::default()).await?;
            }
        }
    }

    let attached: Vec<_> = targets
        .iter()
        .filter(|t| t.metadata.deletion_timestamp.is_none())
        .collect();
    let ready = attached
        .iter()
        .filter(|t| t.status.as_ref().and_then(|s| s.status.as_deref()) == Some(phase::READY))
        .count();
    let current = gateway.status.clone().unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut next = status::gateway_status(
        &current,
        &children.endpoint,
        ready,
        attached.len(),
        tool_count,
        &children.config_hash,
        Some(&deployment),
        gateway.metadata.generation,
        &now,
    );
    next.search = Some(search);
    if current.config_hash.is_some() && current.config_hash != next.config_hash {
        ctx.event(
            gateway,
            EventType::Normal,
            "ConfigChanged",
            "Render",
            format!(
                "rolling out: {} targets, {tool_count} tools",
                attached.len()
            ),
        )
        .await;
    }
    let was_ready = status::condition(&current.conditions, status::READY).map(|c| c.status.clone());
    let is_ready = status::condition(&next.conditions, status::READY).map(|c| c.status.clone());
    if was_ready != is_ready && is_ready.as_deref() == Some("True") {
        ctx.event(
            gateway,
            EventType::Normal,
            "Available",
            "Render",
            format!("serving at {}", children.endpoint),
        )
        .await;
    }
    write_status(ctx, gateway, &current, &next).await?;
    Ok(Action::requeue(ctx.options.resync_after))
}

/// What the Gateway's authorization rules are bound to, written into the runtime config
/// so that every pod, including one started after a prefix rename, applies a rule to the
/// same (target, upstream tool) pairs: resolved against the served tools, keeping every
/// pair the previous render had bound. `None` without rules.
async fn policy_bindings(
    ctx: &Context,
    gateway: &Gateway,
    namespace: &str,
    table: &RouteTable,
    served: &[(ServedTarget, StoredCatalog)],
) -> Result<Option<PolicyBindings>, Error> {
    let Some(rules) = &gateway.spec.authorization else {
        return Ok(None);
    };
    let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let previous = maps
        .get_opt(&config_map_name(&gateway.name_any()))
        .await?
        .and_then(|map| map.data?.remove(CONFIG_KEY))
        .and_then(|json| serde_json::from_str::<RuntimeConfig>(&json).ok())
        .and_then(|config| config.gateway.policy_bindings)
        .unwrap_or_default();
    let tenancy = TargetTenancy::of(served.iter().map(|(t, _)| &t.settings));
    let tools: Vec<ToolRef> = table.tools().iter().map(Listed::tool_ref).collect();
    match Policy::build_carrying(rules, &tenancy, &tools, &previous) {
        Ok(policy) => Ok(Some(policy.bindings())),
        Err(error) => {
            // The gateway refuses the same rules at load and says why; keep what was bound.
            tracing::warn!(%error, "authorization rules do not compile");
            Ok(Some(previous))
        }
    }
}

/// Creates the session-key Secret once; an existing key is never replaced, so sealed
/// session ids survive restarts and work on every replica.
async fn ensure_session_key(
    ctx: &Context,
    gateway: &Gateway,
    namespace: &str,
) -> Result<(), Error> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let name = session_secret_name(&gateway.name_any());
    if secrets.get_opt(&name).await?.is_some() {
        return Ok(());
    }
    let mut key = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut key).is_err() {
        return Err(Error::Encode {
            what: "session key",
            source: serde::de::Error::custom("no randomness available"),
        });
    }
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
    let secret = session_secret(gateway, encoded.as_bytes())?;
    match secrets
        .create(
            &PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            },
            &secret,
        )
        .await
    {
        Ok(_) => {
            ctx.metrics.write("Secret", "written");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error.into()),
    }
}

async fn write_status(
    ctx: &Context,
    gateway: &Gateway,
    current: &GatewayStatus,
    next: &GatewayStatus,
) -> Result<(), Error> {
    if current == next {
        ctx.metrics.write("GatewayStatus", "skipped");
        return Ok(());
    }
    let api: Api<Gateway> = Api::namespaced(
        ctx.client.clone(),
        &gateway.namespace().unwrap_or_else(|| "default".into()),
    );
    let patch = json!({
        "apiVersion": "switchboard.dev/v1alpha1",
        "kind": "Gateway",
        "status": next,
    });
    api.patch_status(
        &gateway.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.write("GatewayStatus", "written");
    Ok(())
}
