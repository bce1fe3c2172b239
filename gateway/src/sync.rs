//! Sync: ask a target everything it offers and turn it into a [`TargetCatalog`].

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::catalog::{CATALOG_FORMAT_VERSION, CatalogEntry, TargetCatalog};
use crate::config::TargetSettings;
use crate::jsonrpc::METHOD_NOT_FOUND;
use crate::naming::{NamingError, NamingPolicy, ToolFilter};
use crate::upstream::{UpstreamClient, UpstreamError};

/// A runaway cursor loop ends here rather than never.
const MAX_PAGES: usize = 100_000;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("invalid naming configuration: {0}")]
    Naming(#[from] NamingError),
    #[error("target {target}: {method} returned an invalid page: {reason}")]
    InvalidPage {
        target: String,
        method: String,
        reason: String,
    },
}

impl SyncError {
    /// A CamelCase reason for Kubernetes conditions and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            SyncError::Upstream(UpstreamError::Unreachable { .. }) => "UpstreamUnreachable",
            SyncError::Upstream(UpstreamError::Timeout { .. }) => "UpstreamTimeout",
            SyncError::Upstream(UpstreamError::Protocol { .. }) => "UnsupportedProtocol",
            SyncError::Upstream(UpstreamError::Credentials { error, .. }) => error.reason(),
            SyncError::Upstream(_) => "UpstreamError",
            SyncError::Naming(_) => "InvalidSpec",
            SyncError::InvalidPage { .. } => "InvalidListing",
        }
    }
}

/// Syncs one target: negotiate, list every page of everything, apply filters and naming.
pub async fn sync_target(
    settings: &TargetSettings,
    naming: &NamingPolicy,
    client: &UpstreamClient,
) -> Result<TargetCatalog, SyncError> {
    naming.check_prefix(&settings.tool_prefix)?;
    let filter = ToolFilter::new(&settings.include, &settings.exclude)?;
    let connection = client.connection().await?;
    let offers = |capability: &str| connection.capabilities.get(capability).is_some();

    let mut warnings = Vec::new();
    let tools = list_all(client, "tools/list", "tools").await?;
    let tools = name_entries(settings, naming, tools, &filter, "tool", &mut warnings);
    let (resources, resource_templates) = if offers("resources") {
        (
            list_optional(client, "resources/list", "resources").await?,
            list_optional(client, "resources/templates/list", "resourceTemplates").await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let prompts = if offers("prompts") {
        let prompts = list_optional(client, "prompts/list", "prompts").await?;
        let everything = ToolFilter::new(&[], &[])?;
        name_entries(
            settings,
            naming,
            prompts,
            &everything,
            "prompt",
            &mut warnings,
        )
    } else {
        Vec::new()
    };

    let mut catalog = TargetCatalog {
        format_version: CATALOG_FORMAT_VERSION,
        target: settings.name.clone(),
        prefix: settings.tool_prefix.clone(),
        server_info: connection.server_info.clone(),
        protocol_version: connection.protocol_version.clone(),
        instructions: connection.instructions.clone(),
        capabilities: connection.capabilities.clone(),
        tools,
        resources,
        resource_templates,
        prompts,
        warnings,
        content_hash: String::new(),
        synced_at: now_rfc3339(),
        shard: None,
    };
    catalog.content_hash = catalog.compute_hash();
    Ok(catalog)
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Follows every `nextCursor` of a list method and returns all items in order.
pub async fn list_all(
    client: &UpstreamClient,
    method: &str,
    field: &str,
) -> Result<Vec<Value>, SyncError> {
    let invalid = |reason: String| SyncError::InvalidPage {
        target: client.target().to_owned(),
        method: method.to_owned(),
        reason,
    };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(cursor) => json!({"cursor": cursor}),
            None => json!({}),
        };
        let page = client.request(method, params).await?;
        let Some(Value::Array(batch)) = page.get(field) else {
            return Err(invalid(format!("missing the {field} array")));
        };
        items.extend(batch.iter().cloned());
        match page.get("nextCursor") {
            Some(Value::String(next)) if !next.is_empty() => {
                if !seen.insert(next.clone()) {
                    return Err(invalid(format!("cursor {next:?} came back twice")));
                }
                cursor = Some(next.clone());
            }
            _ => return Ok(items),
        }
    }
    Err(invalid(format!("more than {MAX_PAGES} pages")))
}

/// Like [`list_all`], but a server that does not implement the method lists nothing.
async fn list_optional(
    client: &UpstreamClient,
    method: &str,
    field: &str,
) -> Result<Vec<Value>, SyncError> {
    match list_all(client, method, field).await {
        Err(SyncError::Upstream(error))
            if error
                .rpc_error()
                .is_some_and(|e| e.code == METHOD_NOT_FOUND) =>
        {
            Ok(Vec::new())
        }
        other => other,
    }
}

/// Names tools or prompts, sorted by exposed name; duplicates are dropped with a warning.
fn name_entries(
    settings: &TargetSettings,
    naming: &NamingPolicy,
    definitions: Vec<Value>,
    filter: &ToolFilter,
    kind: &str,
    warnings: &mut Vec<String>,
) -> Vec<CatalogEntry> {
    let mut named: BTreeMap<String, CatalogEntry> = BTreeMap::new();
    for definition in definitions {
        let Some(upstream_name) = definition.get("name").and_then(Value::as_str) else {
            warnings.push(format!("skipped a {kind} without a name"));
            continue;
        };
        if !filter.allows(upstream_name) {
            continue;
        }
        let name = naming.expose(&settings.tool_prefix, upstream_name);
        if let Some(existing) = named.get(&name) {
            warnings.push(format!(
                "{kind} {upstream_name:?} and {:?} both map to {name:?}; kept the first",
                existing.upstream_name
            ));
            continue;
        }
        let upstream_name = upstream_name.to_owned();
        named.insert(
            name.clone(),
            CatalogEntry {
                name,
                upstream_name,
                definition,
                embedding: None,
            },
        );
    }
    named.into_values().collect()
}
