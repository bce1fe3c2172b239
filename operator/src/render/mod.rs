//! Pure functions that build the objects the operator applies: no I/O, so unit tests
//! call them on inline YAML and the controllers only add the API calls around them.

pub mod catalog;
pub mod gateway;

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

/// The one server-side-apply field manager for every write of the operator.
pub const FIELD_MANAGER: &str = "switchboard.dev/operator";
/// The annotation whose change asks for an explicit re-sync of a target.
pub const SYNC_REQUESTED_AT: &str = "switchboard.dev/sync-requested-at";
/// Finalizer that lets a target show `DELETING` and leave the gateway before its
/// catalog ConfigMaps go away.
pub const TARGET_FINALIZER: &str = "switchboard.dev/catalog-cleanup";

pub mod labels {
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const MANAGED_BY_VALUE: &str = "switchboard";
    pub const NAME: &str = "app.kubernetes.io/name";
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
    pub const GATEWAY: &str = "switchboard.dev/gateway";
    pub const TARGET: &str = "switchboard.dev/target";
    pub const COMPONENT_CATALOG: &str = "catalog";
    pub const COMPONENT_GATEWAY: &str = "gateway";
    /// Selects every catalog ConfigMap the operator wrote.
    pub const CATALOG_SELECTOR: &str =
        "app.kubernetes.io/managed-by=switchboard,app.kubernetes.io/component=catalog";
}

pub mod annotations {
    pub const CATALOG_HASH: &str = "switchboard.dev/catalog-hash";
    pub const SETTINGS_HASH: &str = "switchboard.dev/settings-hash";
    pub const SHARD: &str = "switchboard.dev/shard";
    pub const CONFIG_HASH: &str = "switchboard.dev/config-hash";
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{kind} {name} has no uid yet; cannot own children")]
    NoUid { kind: &'static str, name: String },
    #[error(
        "tool {tool:?} alone is {bytes} bytes, more than a ConfigMap can hold ({limit}); exclude it with toolFilter"
    )]
    TooLarge {
        tool: String,
        bytes: usize,
        limit: usize,
    },
    #[error("cannot build {what}: {source}")]
    Build {
        what: String,
        source: serde_json::Error,
    },
}

impl RenderError {
    pub fn reason(&self) -> &'static str {
        match self {
            RenderError::NoUid { .. } => "NotYetPersisted",
            RenderError::TooLarge { .. } => "CatalogTooLarge",
            RenderError::Build { .. } => "RenderFailed",
        }
    }
}

/// Controller owner reference to `owner` (garbage collection deletes the child with it).
pub fn owner_ref<K: Resource<DynamicType = ()>>(owner: &K) -> Result<OwnerReference, RenderError> {
    owner
        .controller_owner_ref(&())
        .ok_or_else(|| RenderError::NoUid {
            kind: if K::kind(&()) == "Gateway" {
                "Gateway"
            } else {
                "GatewayTarget"
            },
            name: owner.meta().name.clone().unwrap_or_default(),
        })
}

pub fn common_labels(gateway: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into()),
        (labels::PART_OF.into(), "switchboard".into()),
        (labels::COMPONENT.into(), component.into()),
        (labels::GATEWAY.into(), gateway.into()),
    ])
}

/// `sha256:` + hex of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: impl Into<String>,
    value: serde_json::Value,
) -> Result<T, RenderError> {
    serde_json::from_value(value).map_err(|source| RenderError::Build {
        what: what.into(),
        source,
    })
}
