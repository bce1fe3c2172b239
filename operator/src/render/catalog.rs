//! A target's catalog as ConfigMaps: sharded so that no object nears Kubernetes' 1 MiB
//! limit, owned by the target, labelled with its gateway. No secret ever goes in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::config::TargetSettings;

use super::{RenderError, annotations, common_labels, labels, owner_ref, sha256};
use crate::crd::GatewayTarget;

/// Kubernetes rejects ConfigMaps whose data exceeds 1 MiB.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;
/// Catalog bytes per shard: leaves room for metadata, the settings document and the
/// escaping of JSON inside a JSON string on the wire.
pub const DEFAULT_SHARD_BYTES: usize = 700 * 1024;

pub const CATALOG_KEY: &str = "catalog.json";
/// The target settings the catalog was synced with (shard 0 only): the gateway serves
/// the last good catalog with the settings that produced it.
pub const SETTINGS_KEY: &str = "settings.json";

pub fn config_map_name(target: &str, index: usize) -> String {
    format!("{target}-catalog-{index}")
}

pub fn settings_hash(settings: &TargetSettings) -> String {
    sha256(
        serde_json::to_string(settings)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// The ConfigMaps holding `catalog`, in shard order.
pub fn catalog_config_maps(
    target: &GatewayTarget,
    catalog: &TargetCatalog,
    settings: &TargetSettings,
    shard_bytes: usize,
) -> Result<Vec<ConfigMap>, RenderError> {
    let owner = owner_ref(target)?;
    let settings_json =
        serde_json::to_string_pretty(settings).map_err(|source| RenderError::Build {
            what: "target settings".into(),
            source,
        })?;
    // Escaping makes the object on the wire bigger than the catalog (a schema full of
    // quotes nearly triples); shrink the shard budget until every object fits.
    let mut budget = shard_bytes;
    loop {
        let maps = render_shards(target, catalog, &settings_json, settings, budget, &owner)?;
        let largest = maps
            .iter()
            .map(|m| serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX))
            .max()
            .unwrap_or(0);
        if largest < CONFIG_MAP_LIMIT {
            return Ok(maps);
        }
        let shrunk = budget * (CONFIG_MAP_LIMIT * 9 / 10) / largest;
        if shrunk >= budget || shrunk < 4096 {
            return Err(too_large(catalog, largest));
        }
        budget = shrunk;
    }
}

/// A catalog (or shard) of `bytes` that no ConfigMap can hold, named by its first tool.
fn too_large(catalog: &TargetCatalog, bytes: usize) -> RenderError {
    RenderError::TooLarge {
        tool: catalog
            .tools
            .first()
            .map(|t| t.upstream_name.clone())
            .unwrap_or_default(),
        bytes,
        limit: CONFIG_MAP_LIMIT,
    }
}

fn render_shards(
    target: &GatewayTarget,
    catalog: &TargetCatalog,
    settings_json: &str,
    settings: &TargetSettings,
    shard_bytes: usize,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> Result<Vec<ConfigMap>, RenderError> {
    let target_name = target.metadata.name.clone().unwrap_or_default();
    let gateway = &target.spec.gateway_ref.name;
    let shards = catalog.split(shard_bytes);
    let count = shards.len();
    let mut maps = Vec::with_capacity(count);
    for (index, shard) in shards.iter().enumerate() {
        let json = serde_json::to_string(shard).map_err(|source| RenderError::Build {
            what: format!("catalog shard {index}"),
            source,
        })?;
        if json.len() + settings_json.len() >= CONFIG_MAP_LIMIT {
            return Err(too_large(shard, json.len()));
        }
        let mut data = BTreeMap::from([(CATALOG_KEY.to_owned(), json)]);
        if index == 0 {
            data.insert(SETTINGS_KEY.to_owned(), settings_json.to_owned());
        }
        let mut map_labels = common_labels(gateway, labels::COMPONENT_CATALOG);
        map_labels.insert(labels::TARGET.into(), target_name.clone());
        maps.push(ConfigMap {
            metadata: ObjectMeta {
                name: Some(config_map_name(&target_name, index)),
                namespace: target.metadata.namespace.clone(),
                labels: Some(map_labels),
                annotations: Some(BTreeMap::from([
                    (
                        annotations::CATALOG_HASH.into(),
                        catalog.content_hash.clone(),
                    ),
                    (annotations::SETTINGS_HASH.into(), settings_hash(settings)),
                    (annotations::SHARD.into(), format!("{index}/{count}")),
                ])),
                owner_references: Some(vec![owner.clone()]),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..ConfigMap::default()
        });
    }
    Ok(maps)
}

/// `(index, count)` of a catalog ConfigMap, from its annotation.
pub fn shard_of(map: &ConfigMap) -> Option<(usize, usize)> {
    let value = map.metadata.annotations.as_ref()?.get(annotations::SHARD)?;
    let (index, count) = value.split_once('/')?;
    Some((index.parse().ok()?, count.parse().ok()?))
}

/// True when the stored shards already hold exactly this catalog and settings, so the
/// write can be skipped.
pub fn up_to_date(
    existing: &[ConfigMap],
    catalog: &TargetCatalog,
    settings: &TargetSettings,
) -> bool {
    let wanted_settings = settings_hash(settings);
    let Some(count) = existing.first().and_then(shard_of).map(|(_, c)| c) else {
        return false;
    };
    existing.len() == count
        && existing.iter().all(|map| {
            let annotations = map.metadata.annotations.clone().unwrap_or_default();
            annotations.get(annotations::CATALOG_HASH) == Some(&catalog.content_hash)
                && annotations.get(annotations::SETTINGS_HASH) == Some(&wanted_settings)
                && shard_of(map).is_some_and(|(_, c)| c == count)
        })
}

/// One target's served catalog, read back from its ConfigMaps.
#[derive(Debug, Clone)]
pub struct StoredCatalog {
    pub catalog: TargetCatalog,
    pub settings: TargetSettings,
    /// ConfigMap names in shard order.
    pub config_maps: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoredCatalogError {
    #[error("catalog ConfigMap {name} is unreadable: {reason}")]
    Unreadable { name: String, reason: String },
    #[error(transparent)]
    Shards(#[from] switchboard_gateway::catalog::CatalogError),
}

/// Reassembles a target's catalog from its ConfigMaps (any order).
pub fn read_stored(target: &str, maps: &[ConfigMap]) -> Result<StoredCatalog, StoredCatalogError> {
    let mut shards = Vec::new();
    let mut settings = None;
    let mut ordered: Vec<(usize, String)> = Vec::new();
    for map in maps {
        let name = map.metadata.name.clone().unwrap_or_default();
        let unreadable = |reason: String| StoredCatalogError::Unreadable {
            name: name.clone(),
            reason,
        };
        let data = map.data.clone().unwrap_or_default();
        let json = data
            .get(CATALOG_KEY)
            .ok_or_else(|| unreadable(format!("no {CATALOG_KEY}")))?;
        let shard: TargetCatalog =
            serde_json::from_str(json).map_err(|e| unreadable(e.to_string()))?;
        ordered.push((shard.shard.map_or(0, |s| s.index), name.clone()));
        if let Some(text) = data.get(SETTINGS_KEY) {
            settings = Some(
                serde_json::from_str::<TargetSettings>(text)
                    .map_err(|e| unreadable(e.to_string()))?,
            );
        }
        shards.push(shard);
    }
    let catalog = switchboard_gateway::catalog::merge_shards(target.to_owned(), shards)?;
    ordered.sort();
    let settings = settings.ok_or_else(|| StoredCatalogError::Unreadable {
        name: config_map_name(target, 0),
        reason: format!("no {SETTINGS_KEY}"),
    })?;
    Ok(StoredCatalog {
        catalog,
        settings,
        config_maps: ordered.into_iter().map(|(_, name)| name).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_gateway::catalog::{CATALOG_FORMAT_VERSION, CatalogEntry};

    const TARGET: &str = r#"
apiVersion: switchboard.dev/v1alpha1
kind: GatewayTarget
metadata: {name: cart, namespace: team-a, uid: 7e1d0000-0000-0000-0000-000000000002}
spec:
  gatewayRef: {name: shop}
  mcp: {endpoint: "http://cart.team-a.svc:9000/mcp"}
"#;

    fn catalog(tools: usize, schema_bytes: usize) -> TargetCatalog {
        let mut catalog = TargetCatalog {
            format_version: CATALOG_FORMAT_VERSION,
            target: "cart".into(),
            prefix: "cart".into(),
            server_info: json!({"name": "cart"}),
            protocol_version: "2025-11-25".into(),
            instructions: None,
            capabilities: json!({"tools": {}}),
            tools: (0..tools)
                .map(|i| CatalogEntry {
                    name: format!("cart___t{i}"),
                    upstream_name: format!("t{i}"),
                    definition: json!({"name": format!("t{i}"), "inputSchema": {"type": "object",
                        "properties": {"q": {"type": "string", "description": "d\"q".repeat(schema_bytes / 3)}}}}), embedding: None })
                .collect(),
            resources: vec![],
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

    fn target() -> GatewayTarget {
        serde_yaml::from_str(TARGET).unwrap()
    }

    #[test]
    fn small_catalogs_fit_one_owned_labelled_config_map() {
        let settings = TargetSettings::new("cart", "http://cart.team-a.svc:9000/mcp");
        let maps = catalog_config_maps(&target(), &catalog(3, 100), &settings, DEFAULT_SHARD_BYTES)
            .unwrap();
        assert_eq!(maps.len(), 1);
        let map = &maps[0];
        assert_eq!(map.metadata.name.as_deref(), Some("cart-catalog-0"));
        let labels = map.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["switchboard.dev/gateway"], "shop");
        assert_eq!(labels["switchboard.dev/target"], "cart");
        assert_eq!(labels["app.kubernetes.io/component"], "catalog");
        let owner = &map.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("GatewayTarget", "cart", Some(true))
        );
        assert_eq!(shard_of(map), Some((0, 1)));
        let stored = read_stored("cart", &maps).unwrap();
        assert_eq!(stored.catalog.tools.len(), 3);
        assert_eq!(stored.settings, settings);
        assert!(up_to_date(&maps, &catalog(3, 100), &settings));
        let mut other = settings.clone();
        other.timeout_seconds = 5;
        assert!(
            !up_to_date(&maps, &catalog(3, 100), &other),
            "settings changes are written"
        );
        assert!(
            !up_to_date(&maps, &catalog(4, 100), &settings),
            "catalog changes are written"
        );
    }

    #[test]
    fn big_catalogs_shard_under_the_limit_and_read_back_whole() {
        let settings = TargetSettings::new("cart", "http://cart.team-a.svc:9000/mcp");
        let whole = catalog(2000, 2000);
        let maps = catalog_config_maps(&target(), &whole, &settings, DEFAULT_SHARD_BYTES).unwrap();
        assert!(maps.len() > 3, "{} shards", maps.len());
        for map in &maps {
            let wire = serde_json::to_vec(map).unwrap().len();
            assert!(wire < CONFIG_MAP_LIMIT, "{wire} bytes on the wire");
        }
        let mut shuffled = maps.clone();
        shuffled.reverse();
        let stored = read_stored("cart", &shuffled).unwrap();
        assert_eq!(stored.catalog.tools, whole.tools);
        assert_eq!(stored.config_maps[0], "cart-catalog-0");
        assert!(
            read_stored("cart", &maps[1..]).is_err(),
            "a missing shard is detected"
        );
    }

    #[test]
    fn a_tool_too_large_for_any_config_map_is_refused_by_name() {
        let settings = TargetSettings::new("cart", "http://x/mcp");
        let error = catalog_config_maps(
            &target(),
            &catalog(1, 1_200_000),
            &settings,
            DEFAULT_SHARD_BYTES,
        )
        .unwrap_err();
        assert_eq!(error.reason(), "CatalogTooLarge");
        assert!(error.to_string().contains("\"t0\""), "{error}");
    }
}
