//! Reading `Gateway`/`GatewayTarget` manifests from YAML files, as `kubectl apply -f DIR`
//! would, and turning them into the gateway's runtime configuration.

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use std::sync::Arc;

use switchboard_gateway::config::{
    GatewaySettings, RuntimeConfig, TargetSettings, UpstreamProtocol,
};
use switchboard_gateway::secrets::MemorySecretSource;

use crate::crd::{Gateway, GatewayTarget, McpProtocol};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: document {index}: {reason}")]
    Invalid {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("no Gateway found in {0}")]
    NoGateway(String),
    #[error("{count} Gateways found ({names}); choose one with --gateway")]
    ManyGateways { count: usize, names: String },
    #[error("Gateway {0:?} not found")]
    GatewayNotFound(String),
}

/// Everything Switchboard found in a set of manifests, in file and document order.
#[derive(Debug, Default)]
pub struct Manifests {
    pub gateways: Vec<Gateway>,
    pub targets: Vec<GatewayTarget>,
    /// `kind: Secret` documents, for the credentials the others reference.
    pub secrets: Arc<MemorySecretSource>,
}

fn yaml_files(path: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let read_error = |source| ManifestError::Read {
        path: path.display().to_string(),
        source,
    };
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    Ok(files)
}

impl Manifests {
    /// Reads every `*.yaml`/`*.yml` in `path` (or the file itself). Kinds other than ours
    /// are skipped, as a local run has no use for them.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let mut manifests = Manifests::default();
        for file in yaml_files(path)? {
            let display = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Read {
                path: display.clone(),
                source,
            })?;
            manifests.add_yaml(&display, &text)?;
        }
        Ok(manifests)
    }

    pub fn add_yaml(&mut self, origin: &str, text: &str) -> Result<(), ManifestError> {
        for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let invalid = |reason: String| ManifestError::Invalid {
                path: origin.to_owned(),
                index: index + 1,
                reason,
            };
            let value =
                serde_yaml::Value::deserialize(document).map_err(|e| invalid(e.to_string()))?;
            if value.is_null() {
                continue;
            }
            let api_version = value
                .get("apiVersion")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let kind = value
                .get("kind")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let ours = api_version.starts_with(&format!("{}/", crate::crd::GROUP));
            match (ours, kind) {
                (true, "Gateway") => self.gateways.push(
                    serde_yaml::from_value(value).map_err(|e| invalid(format!("Gateway: {e}")))?,
                ),
                (true, "GatewayTarget") => self.targets.push(
                    serde_yaml::from_value(value)
                        .map_err(|e| invalid(format!("GatewayTarget: {e}")))?,
                ),
                (true, other) => {
                    return Err(invalid(format!("unknown kind {other:?} in {api_version}")));
                }
                (false, "Secret") => {
                    let json = serde_json::to_value(&value).map_err(|e| invalid(e.to_string()))?;
                    self.secrets
                        .load_manifest(&json)
                        .map_err(|e| invalid(e.to_string()))?;
                }
                (false, _) => tracing::debug!(origin, kind, "skipping a manifest that is not ours"),
            }
        }
        Ok(())
    }

    /// The Gateway to run: the only one, or the one named.
    pub fn gateway(&self, name: Option<&str>) -> Result<&Gateway, ManifestError> {
        let name_of = |g: &Gateway| g.metadata.name.clone().unwrap_or_default();
        match name {
            Some(name) => self
                .gateways
                .iter()
                .find(|g| name_of(g) == name)
                .ok_or_else(|| ManifestError::GatewayNotFound(name.to_owned())),
            None => match self.gateways.as_slice() {
                [only] => Ok(only),
                [] => Err(ManifestError::NoGateway("the manifests".into())),
                many => Err(ManifestError::ManyGateways {
                    count: many.len(),
                    names: many.iter().map(name_of).collect::<Vec<_>>().join(", "),
                }),
            },
        }
    }

    /// The targets attached to `gateway`, in manifest order.
    pub fn targets_of(&self, gateway: &str) -> Vec<&GatewayTarget> {
        self.targets
            .iter()
            .filter(|t| t.spec.gateway_ref.name == gateway)
            .collect()
    }
}

/// The gateway's settings from a `Gateway` spec.
pub fn gateway_settings(gateway: &Gateway) -> GatewaySettings {
    let spec = &gateway.spec;
    let mut settings = GatewaySettings::new(gateway.metadata.name.clone().unwrap_or_default());
    if let Some(naming) = &spec.naming {
        if let Some(separator) = &naming.separator {
            settings.separator.clone_from(separator);
        }
        if let Some(max) = naming.max_length {
            settings.max_name_length = max as usize;
        }
    }
    settings.allowed_hosts.clone_from(&spec.allowed_hosts);
    settings.inbound_auth = spec.inbound_auth.clone();
    settings.rate_limits.clone_from(&spec.rate_limits);
    settings.authorization.clone_from(&spec.authorization);
    settings.search = spec.search.clone().unwrap_or_default();
    settings.audit = spec.audit.clone().unwrap_or_default();
    settings.replicas = spec.replicas.map_or(1, |r| r.max(1) as u32);
    settings.public_url.clone_from(&spec.public_url);
    if let Some(page_size) = spec.page_size {
        settings.page_size = page_size as usize;
    }
    settings
}

/// A target's settings from a `GatewayTarget` spec. `created_at` orders targets when
/// two claim the same name (older first).
pub fn target_settings(target: &GatewayTarget, created_at: String) -> TargetSettings {
    let spec = &target.spec;
    let name = target.metadata.name.clone().unwrap_or_default();
    let filter = spec.tool_filter.clone().unwrap_or_default();
    TargetSettings {
        tool_prefix: spec.tool_prefix.clone().unwrap_or_else(|| name.clone()),
        name,
        endpoint: spec.mcp.endpoint.clone(),
        protocol: match spec.mcp.protocol.unwrap_or_default() {
            McpProtocol::Auto => UpstreamProtocol::Auto,
            McpProtocol::Legacy => UpstreamProtocol::Legacy,
            McpProtocol::Modern => UpstreamProtocol::Modern,
        },
        timeout_seconds: spec.timeout_seconds.map_or(
            switchboard_gateway::config::DEFAULT_TIMEOUT_SECONDS,
            u64::from,
        ),
        include: filter.include,
        exclude: filter.exclude,
        tenants: spec.tenants.clone(),
        credentials: spec.credentials.clone().unwrap_or_default(),
        created_at,
    }
}

/// The runtime configuration local mode serves for `gateway`.
pub fn runtime_config(manifests: &Manifests, gateway: &Gateway) -> RuntimeConfig {
    let name = gateway.metadata.name.clone().unwrap_or_default();
    let targets = manifests
        .targets_of(&name)
        .into_iter()
        .enumerate()
        .map(|(order, target)| {
            let created = target
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                // Manifest order stands in for age when there is no timestamp.
                .unwrap_or_else(|| format!("manifest-{order:06}"));
            target_settings(target, created)
        })
        .collect();
    RuntimeConfig {
        gateway: gateway_settings(gateway),
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
apiVersion: switchboard.dev/v1alpha1
kind: Gateway
metadata: {name: shop}
spec:
  inboundAuth: {type: None}
---
apiVersion: switchboard.dev/v1alpha1
kind: GatewayTarget
metadata: {name: cart}
spec:
  gatewayRef: {name: shop}
  mcp: {endpoint: "http://127.0.0.1:9001/mcp"}
---
apiVersion: switchboard.dev/v1alpha1
kind: GatewayTarget
metadata: {name: search}
spec:
  gatewayRef: {name: shop}
  mcp: {endpoint: "http://127.0.0.1:9002/mcp", protocol: Legacy}
  toolPrefix: ""
  timeoutSeconds: 5
  toolFilter: {include: ["get_*"], exclude: ["*_internal"]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
"#;

    #[test]
    fn the_minimal_manifests_of_the_design_work_unchanged() {
        let mut manifests = Manifests::default();
        manifests.add_yaml("inline", MINIMAL).unwrap();
        let gateway = manifests.gateway(None).unwrap();
        let config = runtime_config(&manifests, gateway);
        assert_eq!(config.gateway.name, "shop");
        assert_eq!(config.gateway.separator, "___");
        let cart = &config.targets[0];
        assert_eq!(
            (cart.name.as_str(), cart.tool_prefix.as_str()),
            ("cart", "cart")
        );
        assert_eq!(cart.timeout_seconds, 300);
        assert_eq!(cart.protocol, UpstreamProtocol::Auto);
        let search = &config.targets[1];
        assert_eq!(search.tool_prefix, "");
        assert_eq!(search.timeout_seconds, 5);
        assert_eq!(search.protocol, UpstreamProtocol::Legacy);
        assert_eq!(search.include, vec!["get_*".to_owned()]);
        assert!(
            cart.created_at < search.created_at,
            "manifest order stands for age"
        );
    }

    #[test]
    fn bad_documents_are_reported_with_their_place() {
        let mut manifests = Manifests::default();
        let error = manifests
            .add_yaml("bad.yaml", "apiVersion: switchboard.dev/v1alpha1\nkind: GatewayTarget\nmetadata: {name: x}\nspec: {mcp: {}}\n")
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("bad.yaml: document 1: GatewayTarget"),
            "{text}"
        );
        let error = manifests
            .add_yaml(
                "k.yaml",
                "apiVersion: switchboard.dev/v1alpha1\nkind: Gatway\n",
            )
            .unwrap_err();
        assert!(error.to_string().contains("unknown kind \"Gatway\""));
    }

    #[test]
    fn several_gateways_need_a_choice() {
        let mut manifests = Manifests::default();
        manifests.add_yaml("a", MINIMAL).unwrap();
        manifests
            .add_yaml("b", "apiVersion: switchboard.dev/v1alpha1\nkind: Gateway\nmetadata: {name: other}\nspec: {inboundAuth: {type: None}}\n")
            .unwrap();
        assert!(matches!(
            manifests.gateway(None),
            Err(ManifestError::ManyGateways { count: 2, .. })
        ));
        assert!(manifests.gateway(Some("other")).is_ok());
    }
}
