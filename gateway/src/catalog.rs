//! The catalog: what one target offers, as synced, in a versioned JSON document.
//!
//! Definitions are stored exactly as the upstream listed them (schemas included); the
//! exposed name is kept beside the upstream one so the gateway never re-derives it. A
//! catalog may be split into shards (the operator keeps every ConfigMap under 1 MiB);
//! [`load_dir`] reassembles them.

use std::collections::BTreeMap;
use std::path::Path;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::search::StoredEmbedding;

pub const CATALOG_FORMAT_VERSION: u32 = 1;

/// One tool or prompt: its exposed name, its upstream name and the definition as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    pub name: String,
    pub upstream_name: String,
    pub definition: Value,
    /// For semantic search; computed at sync time when a model is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<StoredEmbedding>,
}

/// Position of a shard within a split catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Everything one target offers, as of one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetCatalog {
    pub format_version: u32,
    pub target: String,
    pub prefix: String,
    /// The upstream's `serverInfo` (name, version, title...).
    pub server_info: Value,
    pub protocol_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default)]
    pub capabilities: Value,
    #[serde(default)]
    pub tools: Vec<CatalogEntry>,
    #[serde(default)]
    pub resources: Vec<Value>,
    #[serde(default)]
    pub resource_templates: Vec<Value>,
    #[serde(default)]
    pub prompts: Vec<CatalogEntry>,
    /// Problems found while syncing that did not fail it (e.g. a duplicate upstream name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `sha256:` of the content, stable across syncs that saw the same upstream.
    pub content_hash: String,
    /// RFC 3339.
    pub synced_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("catalog {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("catalog {path} has format version {found}; this gateway reads version {expected}")]
    Version {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error("catalog of target {target} is incomplete: {reason}")]
    Shards { target: String, reason: String },
}

impl TargetCatalog {
    /// The hash over everything a client can observe, excluding the sync time.
    pub fn compute_hash(&self) -> String {
        let observable = serde_json::json!([
            self.prefix,
            self.server_info,
            self.protocol_version,
            self.instructions,
            self.capabilities,
            self.tools,
            self.resources,
            self.resource_templates,
            self.prompts,
        ]);
        let digest = digest::digest(&digest::SHA256, observable.to_string().as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Splits the catalog into shards whose serialized size stays under `max_bytes`
    /// (a single definition larger than that still gets a shard of its own).
    pub fn split(&self, max_bytes: usize) -> Vec<TargetCatalog> {
        let mut header = self.clone();
        header.tools.clear();
        header.resources.clear();
        header.resource_templates.clear();
        header.prompts.clear();
        let base = serde_json::to_vec(&header).map(|v| v.len()).unwrap_or(0) + 64;
        let mut shards: Vec<TargetCatalog> = vec![header.clone()];
        let mut size = base;
        macro_rules! place {
            ($field:ident, $items:expr) => {
                for item in $items {
                    let item_size = serde_json::to_vec(item).map(|v| v.len()).unwrap_or(0) + 1;
                    if size + item_size > max_bytes && size > base {
                        shards.push(header.clone());
                        size = base;
                    }
                    size += item_size;
                    if let Some(last) = shards.last_mut() {
                        last.$field.push(item.clone());
                    }
                }
            };
        }
        place!(tools, &self.tools);
        place!(resources, &self.resources);
        place!(resource_templates, &self.resource_templates);
        place!(prompts, &self.prompts);
        let count = shards.len();
        if count > 1 {
            for (index, shard) in shards.iter_mut().enumerate() {
                shard.shard = Some(Shard { index, count });
            }
        }
        shards
    }
}

/// Reads every `*.json` catalog in `dir` (skipping kubelet's `..data` entries) and
/// reassembles sharded catalogs. Catalogs are returned sorted by target name.
pub fn load_dir(dir: &Path) -> Result<Vec<TargetCatalog>, CatalogError> {
    let display = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Read {
        path: display.clone(),
        source,
    })?;
    let mut parts: BTreeMap<String, Vec<TargetCatalog>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|source| CatalogError::Read {
            path: display.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let path = entry.path();
        let path_text = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|source| CatalogError::Read {
            path: path_text.clone(),
            source,
        })?;
        let catalog: TargetCatalog =
            serde_json::from_slice(&bytes).map_err(|source| CatalogError::Parse {
                path: path_text.clone(),
                source,
            })?;
        if catalog.format_version != CATALOG_FORMAT_VERSION {
            return Err(CatalogError::Version {
                path: path_text,
                found: catalog.format_version,
                expected: CATALOG_FORMAT_VERSION,
            });
        }
        parts
            .entry(catalog.target.clone())
            .or_default()
            .push(catalog);
    }
    parts
        .into_iter()
        .map(|(target, shards)| merge_shards(target, shards))
        .collect()
}

/// Joins the shards of one target back into one catalog.
pub fn merge_shards(
    target: String,
    mut shards: Vec<TargetCatalog>,
) -> Result<TargetCatalog, CatalogError> {
    let incomplete = |reason: String| CatalogError::Shards {
        target: target.clone(),
        reason,
    };
    if shards.len() == 1 && shards[0].shard.is_none_or(|s| s.count == 1) {
        return shards.pop().ok_or_else(|| incomplete("no shard".into()));
    }
    shards.sort_by_key(|s| s.shard.map(|s| s.index));
    let count = shards.len();
    let hash = shards[0].content_hash.clone();
    for (expected, shard) in shards.iter().enumerate() {
        match shard.shard {
            Some(Shard {
                index,
                count: total,
            }) if index == expected && total == count => {}
            _ => return Err(incomplete(format!("expected {count} consecutive shards"))),
        }
        if shard.content_hash != hash {
            return Err(incomplete("shards come from different syncs".into()));
        }
    }
    let mut iter = shards.into_iter();
    let mut merged = iter.next().ok_or_else(|| incomplete("no shard".into()))?;
    for shard in iter {
        merged.tools.extend(shard.tools);
        merged.resources.extend(shard.resources);
        merged.resource_templates.extend(shard.resource_templates);
        merged.prompts.extend(shard.prompts);
    }
    merged.shard = None;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog(tools: usize) -> TargetCatalog {
        let mut catalog = TargetCatalog {
            format_version: CATALOG_FORMAT_VERSION,
            target: "cart".into(),
            prefix: "cart".into(),
            server_info: json!({"name": "cart", "version": "1"}),
            protocol_version: "2025-11-25".into(),
            instructions: None,
            capabilities: json!({"tools": {}}),
            tools: (0..tools)
                .map(|i| CatalogEntry {
                    name: format!("cart___t{i:04}"),
                    upstream_name: format!("t{i:04}"),
                    definition: json!({"name": format!("t{i:04}"), "inputSchema": {"type": "object", "description": "x".repeat(500)}}), embedding: None })
                .collect(),
            resources: vec![json!({"uri": "cart://summary", "name": "summary"})],
            resource_templates: vec![],
            prompts: vec![],
            warnings: vec![],
            content_hash: String::new(),
            synced_at: "2026-11-21T00:00:00Z".into(),
            shard: None,
        };
        catalog.content_hash = catalog.compute_hash();
        catalog
    }

    #[test]
    fn hash_ignores_sync_time_but_not_content() {
        let a = catalog(3);
        let mut b = a.clone();
        b.synced_at = "2027-01-01T00:00:00Z".into();
        assert_eq!(a.compute_hash(), b.compute_hash());
        b.tools[0].definition["description"] = json!("changed");
        assert_ne!(a.compute_hash(), b.compute_hash());
    }

    #[test]
    fn split_shards_stay_under_the_limit_and_merge_back() {
        let whole = catalog(200);
        let shards = whole.split(20_000);
        assert!(shards.len() > 1);
        for shard in &shards {
            let size = serde_json::to_vec(shard).unwrap().len();
            assert!(size <= 20_000, "shard of {size} bytes");
        }
        let merged = merge_shards("cart".into(), shards).unwrap();
        assert_eq!(merged, whole);
    }

    #[test]
    fn missing_shard_is_reported() {
        let mut shards = catalog(200).split(20_000);
        shards.remove(1);
        let error = merge_shards("cart".into(), shards).unwrap_err();
        assert!(error.to_string().contains("consecutive shards"), "{error}");
    }
}
