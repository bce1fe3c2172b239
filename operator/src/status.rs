//! Status computation, pure: conditions that keep `lastTransitionTime` unless they
//! flip, the target lifecycle of DESIGN.md, and the Gateway's status from its Deployment.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::routes::RouteTable;
use switchboard_gateway::search::{SearchMode, SearchSettings, embedded_tools};

use crate::crd::{GatewayStatus, GatewayTargetStatus, SearchStatus, UpstreamServerInfo, phase};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";

/// Condition reasons (CamelCase); sync failures use `SyncError::reason()`.
pub mod reason {
    pub const CREATING: &str = "Creating";
    pub const SYNCING: &str = "Syncing";
    pub const SYNCED: &str = "Synced";
    pub const SERVING_LAST_GOOD: &str = "ServingLastGoodCatalog";
    pub const NAME_COLLISION: &str = "NameCollision";
    pub const GATEWAY_NOT_FOUND: &str = "GatewayNotFound";
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    pub const SECRET_KEY_NOT_FOUND: &str = "SecretKeyNotFound";
    pub const DELETING: &str = "Deleting";
    pub const AVAILABLE: &str = "Available";
    pub const PROGRESSING: &str = "Progressing";
    pub const SCALED_TO_ZERO: &str = "ScaledToZero";
    pub const EMBEDDING_FAILED: &str = "EmbeddingFailed";
}

/// Why a sync happens; decides the transient state and the failure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// No good catalog yet.
    Create,
    /// The spec (generation) or the gateway's naming changed.
    Update,
    /// The sync-requested-at annotation changed.
    Synchronize,
    /// The periodic interval elapsed.
    Periodic,
}

impl SyncKind {
    pub fn transient_phase(self) -> &'static str {
        match self {
            SyncKind::Create => phase::CREATING,
            SyncKind::Update => phase::UPDATING,
            SyncKind::Synchronize | SyncKind::Periodic => phase::SYNCHRONIZING,
        }
    }

    pub fn failed_phase(self) -> &'static str {
        match self {
            SyncKind::Create => phase::FAILED,
            SyncKind::Update => phase::UPDATE_UNSUCCESSFUL,
            SyncKind::Synchronize | SyncKind::Periodic => phase::SYNCHRONIZE_UNSUCCESSFUL,
        }
    }
}

/// Sets condition `type_`, keeping `lastTransitionTime` unless the status flips.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) {
    let transition = conditions
        .iter()
        .find(|c| c.type_ == type_)
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    let condition = Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time: transition,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => *existing = condition,
        None => conditions.push(condition),
    }
}

pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn has_catalog(status: &GatewayTargetStatus) -> bool {
    !status.catalog_config_maps.is_empty()
}

/// The status written before a sync starts (CREATING, UPDATING or SYNCHRONIZING).
pub fn begin_sync(
    current: &GatewayTargetStatus,
    kind: SyncKind,
    generation: Option<i64>,
    request: Option<&str>,
    now: &Time,
) -> GatewayTargetStatus {
    let mut next = current.clone();
    next.status = Some(kind.transient_phase().to_owned());
    next.status_reasons = Vec::new();
    next.observed_generation = generation;
    if let Some(request) = request {
        next.last_sync_request = Some(request.to_owned());
    }
    let message = match kind {
        SyncKind::Create => "listing the upstream's tools for the first time",
        SyncKind::Update => "the spec changed; listing the upstream's tools again",
        SyncKind::Synchronize => "a sync was requested; listing the upstream's tools again",
        SyncKind::Periodic => "periodic sync; listing the upstream's tools again",
    };
    set_condition(
        &mut next.conditions,
        SYNCED,
        "Unknown",
        reason::SYNCING,
        message,
        generation,
        now,
    );
    if !has_catalog(current) {
        set_condition(
            &mut next.conditions,
            READY,
            "False",
            reason::CREATING,
            "no catalog yet: the first sync is running",
            generation,
            now,
        );
    } else {
        refresh_generation(&mut next.conditions, READY, generation);
    }
    next
}

fn refresh_generation(conditions: &mut [Condition], type_: &str, generation: Option<i64>) {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        c.observed_generation = generation;
    }
}

/// What a successful sync wrote.
#[derive(Debug, Clone)]
pub struct SyncSummary<'a> {
    pub catalog: &'a TargetCatalog,
    pub config_maps: Vec<String>,
    pub naming: String,
    pub synced_at: String,
}

pub fn describe_catalog(catalog: &TargetCatalog) -> String {
    let server = catalog
        .server_info
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("the upstream");
    format!(
        "{} tools, {} resources, {} prompts from {server} (protocol {})",
        catalog.tools.len(),
        catalog.resources.len() + catalog.resource_templates.len(),
        catalog.prompts.len(),
        catalog.protocol_version
    )
}

/// READY after a successful sync.
pub fn sync_succeeded(
    current: &GatewayTargetStatus,
    summary: &SyncSummary<'_>,
    generation: Option<i64>,
    now: &Time,
) -> GatewayTargetStatus {
    let catalog = summary.catalog;
    let mut next = current.clone();
    next.status = Some(phase::READY.to_owned());
    next.status_reasons = Vec::new();
    next.tool_count = Some(catalog.tools.len() as u32);
    next.resource_count = Some((catalog.resources.len() + catalog.resource_templates.len()) as u32);
    next.prompt_count = Some(catalog.prompts.len() as u32);
    next.catalog_hash = Some(catalog.content_hash.clone());
    next.catalog_config_maps.clone_from(&summary.config_maps);
    next.last_sync_time = Some(summary.synced_at.clone());
    let text = |key: &str| {
        catalog
            .server_info
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    next.server_info = Some(UpstreamServerInfo {
        name: text("name"),
        title: text("title"),
        version: text("version"),
    });
    next.protocol_version = Some(catalog.protocol_version.clone());
    next.tool_naming = Some(summary.naming.clone());
    next.embedded_tool_count = Some(embedded_tools(catalog) as u32);
    next.observed_generation = generation;
    let message = describe_catalog(catalog);
    set_condition(
        &mut next.conditions,
        SYNCED,
        "True",
        reason::SYNCED,
        &message,
        generation,
        now,
    );
    set_condition(
        &mut next.conditions,
        READY,
        "True",
        reason::SYNCED,
        &message,
        generation,
        now,
    );
    next
}

/// FAILED, UPDATE_UNSUCCESSFUL or SYNCHRONIZE_UNSUCCESSFUL; a target that has a catalog
/// keeps serving it and stays `Ready`.
pub fn sync_failed(
    current: &GatewayTargetStatus,
    kind: SyncKind,
    failure_reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> GatewayTargetStatus {
    let mut next = current.clone();
    let kind = if has_catalog(current) {
        kind
    } else {
        SyncKind::Create
    };
    next.status = Some(kind.failed_phase().to_owned());
    next.status_reasons = vec![format!("{failure_reason}: {message}")];
    next.observed_generation = generation;
    set_condition(
        &mut next.conditions,
        SYNCED,
        "False",
        failure_reason,
        message,
        generation,
        now,
    );
    if has_catalog(current) {
        let serving = format!(
            "serving the last good catalog ({} tools) while the sync fails",
            current.tool_count.unwrap_or(0)
        );
        set_condition(
            &mut next.conditions,
            READY,
            "True",
            reason::SERVING_LAST_GOOD,
            &serving,
            generation,
            now,
        );
    } else {
        set_condition(
            &mut next.conditions,
            READY,
            "False",
            failure_reason,
            message,
            generation,
            now,
        );
    }
    next
}

/// Records names this target lists that another target keeps (sorted, bounded).
pub fn with_collisions(
    current: &GatewayTargetStatus,
    collisions: Vec<String>,
) -> GatewayTargetStatus {
    const SHOWN: usize = 20;
    let mut next = current.clone();
    let total = collisions.len();
    next.collisions = collisions.into_iter().take(SHOWN).collect();
    if total > SHOWN {
        next.collisions
            .push(format!("... and {} more", total - SHOWN));
    }
    let note_prefix = "NameCollision: ";
    next.status_reasons.retain(|r| !r.starts_with(note_prefix));
    if total > 0 {
        next.status_reasons.push(format!(
            "{note_prefix}{total} exposed name(s) are kept by an older target of the gateway and not served for this one; set a different toolPrefix"
        ));
    }
    next
}

/// DELETING, while the gateway lets go of the catalog.
pub fn deleting(
    current: &GatewayTargetStatus,
    generation: Option<i64>,
    now: &Time,
) -> GatewayTargetStatus {
    let mut next = current.clone();
    next.status = Some(phase::DELETING.to_owned());
    next.status_reasons = vec!["removing the target's tools from the gateway".into()];
    set_condition(
        &mut next.conditions,
        READY,
        "False",
        reason::DELETING,
        "the target is being deleted",
        generation,
        now,
    );
    next
}

/// The Gateway's status from what was rendered and the Deployment's status.
#[allow(clippy::too_many_arguments)]
pub fn gateway_status(
    current: &GatewayStatus,
    endpoint: &str,
    ready_targets: usize,
    total_targets: usize,
    tool_count: usize,
    config_hash: &str,
    deployment: Option<&Deployment>,
    generation: Option<i64>,
    now: &Time,
) -> GatewayStatus {
    let mut next = current.clone();
    next.endpoint = Some(endpoint.to_owned());
    next.targets = Some(format!("{ready_targets}/{total_targets}"));
    next.tool_count = Some(tool_count as u32);
    next.config_hash = Some(config_hash.to_owned());
    next.observed_generation = generation;
    let desired = deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let observed = deployment.and_then(|d| d.status.as_ref());
    let available = observed.and_then(|s| s.available_replicas).unwrap_or(0);
    let ready = observed.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = observed.and_then(|s| s.updated_replicas).unwrap_or(0);
    next.replicas = Some(desired);
    next.ready_replicas = Some(ready);
    let (status, why, message) = if desired == 0 {
        ("False", reason::SCALED_TO_ZERO, "replicas is 0".to_owned())
    } else if available >= 1 && updated >= desired {
        (
            "True",
            reason::AVAILABLE,
            format!("{available}/{desired} gateway pods available at {endpoint}"),
        )
    } else {
        (
            "False",
            reason::PROGRESSING,
            format!("{available}/{desired} gateway pods available, {updated} updated"),
        )
    };
    set_condition(
        &mut next.conditions,
        READY,
        status,
        why,
        &message,
        generation,
        now,
    );
    next
}

/// `Gateway.status.search`: which ranking the gateway's search tool can use with the
/// served catalogs. `operator_model` is the model this operator embeds tools with.
pub fn search_status(
    settings: &SearchSettings,
    routes: &RouteTable,
    catalogs: &[&TargetCatalog],
    operator_model: Option<&str>,
) -> SearchStatus {
    let tools = routes.tools().len() as u32;
    if !settings.enabled {
        return SearchStatus {
            mode: "Disabled".into(),
            tools,
            message: "spec.search.enabled is false: no search tool is listed".into(),
            ..SearchStatus::default()
        };
    }
    let mut models = std::collections::BTreeSet::new();
    let mut embedded_names = std::collections::HashSet::new();
    for catalog in catalogs {
        for tool in &catalog.tools {
            if let Some(stored) = tool.embedding.as_ref().filter(|e| !e.vector.is_empty()) {
                models.insert(stored.model.as_str());
                embedded_names.insert(tool.name.as_str());
            }
        }
    }
    let mut lexical_only_targets = std::collections::BTreeSet::new();
    let mut embedded = 0u32;
    for listed in routes.tools() {
        if embedded_names.contains(listed.exposed.as_str()) {
            embedded += 1;
        } else {
            lexical_only_targets.insert(listed.route.target.to_string());
        }
    }
    let model = models.iter().next_back().map(|m| (*m).to_owned());
    let (mode, message) = if settings.mode == SearchMode::Lexical {
        ("Lexical", "spec.search.mode is lexical".to_owned())
    } else if embedded == 0 && operator_model.is_none() {
        (
            "Lexical",
            "lexical only: the operator has no embedding model, so tools are not embedded (its image ships all-MiniLM-L6-v2 in SWITCHBOARD_EMBEDDING_MODEL_DIR; or set SWITCHBOARD_EMBEDDINGS_URL)".to_owned(),
        )
    } else if tools == 0 {
        ("Lexical", "no tools are served yet".to_owned())
    } else if embedded == 0 {
        (
            "Lexical",
            "lexical only: no served tool has an embedding yet (computed at each target's next sync)".to_owned(),
        )
    } else if models.len() > 1 {
        (
            "Hybrid",
            format!(
                "tools were embedded with {} models ({}); the gateway uses those of its own model, the others are found lexically until their next sync",
                models.len(),
                models.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        )
    } else if embedded < tools {
        (
            "Hybrid",
            format!(
                "{} of {tools} tools have no embedding and are found lexically only (targets: {})",
                tools - embedded,
                lexical_only_targets
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        (
            "Hybrid",
            format!(
                "all {tools} tools embedded; queries are embedded by the gateway with the same model"
            ),
        )
    };
    SearchStatus {
        mode: mode.into(),
        tool_name: Some(settings.tool_name.clone()),
        embedded_tools: embedded,
        tools,
        model,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_gateway::catalog::{CATALOG_FORMAT_VERSION, CatalogEntry};

    fn time(text: &str) -> Time {
        Time(text.parse().unwrap())
    }

    fn catalog() -> TargetCatalog {
        TargetCatalog {
            format_version: CATALOG_FORMAT_VERSION,
            target: "cart".into(),
            prefix: "cart".into(),
            server_info: json!({"name": "cart", "version": "1.2"}),
            protocol_version: "2025-11-25".into(),
            instructions: None,
            capabilities: json!({}),
            tools: vec![CatalogEntry {
                name: "cart___get_item".into(),
                upstream_name: "get_item".into(),
                definition: json!({"name": "get_item"}),
                embedding: None,
            }],
            resources: vec![],
            resource_templates: vec![],
            prompts: vec![],
            warnings: vec![],
            content_hash: "sha256:abc".into(),
            synced_at: "2026-11-21T00:00:00Z".into(),
            shard: None,
        }
    }

    #[test]
    fn lifecycle_create_then_failed_update_keeps_serving() {
        let t0 = time("2026-11-21T00:00:00Z");
        let t1 = time("2026-11-21T00:01:00Z");
        let creating = begin_sync(
            &GatewayTargetStatus::default(),
            SyncKind::Create,
            Some(1),
            None,
            &t0,
        );
        assert_eq!(creating.status.as_deref(), Some("CREATING"));
        assert_eq!(
            condition(&creating.conditions, READY).unwrap().status,
            "False"
        );
        let catalog = catalog();
        let summary = SyncSummary {
            catalog: &catalog,
            config_maps: vec!["cart-catalog-0".into()],
            naming: "___/64".into(),
            synced_at: "2026-11-21T00:00:01Z".into(),
        };
        let ready = sync_succeeded(&creating, &summary, Some(1), &t0);
        assert_eq!(ready.status.as_deref(), Some("READY"));
        assert_eq!(ready.tool_count, Some(1));
        assert_eq!(
            ready.server_info.as_ref().unwrap().version.as_deref(),
            Some("1.2")
        );

        let updating = begin_sync(&ready, SyncKind::Update, Some(2), None, &t1);
        assert_eq!(updating.status.as_deref(), Some("UPDATING"));
        let ready_condition = condition(&updating.conditions, READY).unwrap();
        assert_eq!(ready_condition.status, "True");
        assert_eq!(
            ready_condition.last_transition_time, t0,
            "no flip, no new time"
        );
        let failed = sync_failed(
            &updating,
            SyncKind::Update,
            "UpstreamUnreachable",
            "down",
            Some(2),
            &t1,
        );
        assert_eq!(failed.status.as_deref(), Some("UPDATE_UNSUCCESSFUL"));
        assert_eq!(
            failed.catalog_config_maps,
            vec!["cart-catalog-0".to_owned()]
        );
        let ready_condition = condition(&failed.conditions, READY).unwrap();
        assert_eq!(
            (
                ready_condition.status.as_str(),
                ready_condition.reason.as_str()
            ),
            ("True", "ServingLastGoodCatalog")
        );
        let synced = condition(&failed.conditions, SYNCED).unwrap();
        assert_eq!(
            (synced.status.as_str(), synced.last_transition_time.clone()),
            ("False", t1.clone())
        );
        assert_eq!(
            failed.status_reasons,
            vec!["UpstreamUnreachable: down".to_owned()]
        );
    }

    #[test]
    fn failures_without_a_catalog_are_failed_whatever_the_trigger() {
        let t0 = time("2026-11-21T00:00:00Z");
        let failed = sync_failed(
            &GatewayTargetStatus::default(),
            SyncKind::Synchronize,
            "UpstreamTimeout",
            "slow",
            Some(1),
            &t0,
        );
        assert_eq!(failed.status.as_deref(), Some("FAILED"));
        assert_eq!(
            condition(&failed.conditions, READY).unwrap().reason,
            "UpstreamTimeout"
        );
    }

    #[test]
    fn identical_inputs_give_an_identical_status_so_the_write_is_skipped() {
        let t0 = time("2026-11-21T00:00:00Z");
        let t1 = time("2026-11-21T00:05:00Z");
        let a = sync_failed(
            &GatewayTargetStatus::default(),
            SyncKind::Create,
            "GatewayNotFound",
            "no gateway",
            Some(1),
            &t0,
        );
        let b = sync_failed(
            &a,
            SyncKind::Create,
            "GatewayNotFound",
            "no gateway",
            Some(1),
            &t1,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn collisions_are_listed_bounded_and_explained() {
        let status = with_collisions(
            &GatewayTargetStatus::default(),
            (0..25).map(|i| format!("t{i}")).collect(),
        );
        assert_eq!(status.collisions.len(), 21);
        assert_eq!(status.collisions[20], "... and 5 more");
        assert!(status.status_reasons[0].starts_with("NameCollision: 25 exposed name(s)"));
        let cleared = with_collisions(&status, vec![]);
        assert!(cleared.collisions.is_empty() && cleared.status_reasons.is_empty());
    }

    #[test]
    fn gateway_status_follows_the_deployment() {
        let t0 = time("2026-11-21T00:00:00Z");
        let deployment: Deployment = serde_yaml::from_str(
            "metadata: {name: shop-gateway}\nspec: {replicas: 2, selector: {}, template: {}}\nstatus: {availableReplicas: 1, readyReplicas: 1, updatedReplicas: 1}\n",
        )
        .unwrap();
        let status = gateway_status(
            &GatewayStatus::default(),
            "http://shop-gateway.default.svc:8080/mcp",
            1,
            2,
            5,
            "sha256:x",
            Some(&deployment),
            Some(3),
            &t0,
        );
        assert_eq!(status.targets.as_deref(), Some("1/2"));
        let ready = condition(&status.conditions, READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "Progressing")
        );
        let mut rolled = deployment.clone();
        rolled.status.as_mut().unwrap().updated_replicas = Some(2);
        rolled.status.as_mut().unwrap().available_replicas = Some(2);
        let status = gateway_status(
            &status,
            "http://shop-gateway.default.svc:8080/mcp",
            2,
            2,
            5,
            "sha256:x",
            Some(&rolled),
            Some(3),
            &t0,
        );
        let ready = condition(&status.conditions, READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Available")
        );
        assert_eq!(status.observed_generation, Some(3));
    }
}
