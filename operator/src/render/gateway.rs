//! A Gateway's children: runtime-config ConfigMap (no secrets), session-key Secret,
//! ServiceAccount without an API token, Deployment mounting everything as one projected
//! volume, Service, and a PodDisruptionBudget when it runs more than one replica.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ObjectMeta;
use serde_json::{Value, json};
use switchboard_gateway::authz::PolicyBindings;
use switchboard_gateway::config::{RuntimeConfig, TargetSettings};

use super::{RenderError, annotations, common_labels, from_json, labels, owner_ref, sha256};
use crate::crd::{Gateway, SecretKeyRef, ServiceType};
use crate::manifests::gateway_settings;

pub const MCP_PORT: i32 = 8080;
pub const ADMIN_PORT: i32 = 8081;
pub const DEFAULT_SERVICE_PORT: i32 = 8080;
pub const CONFIG_DIR: &str = "/etc/switchboard";
pub const CONFIG_KEY: &str = "config.json";
pub const SESSION_KEY: &str = "session-key";
/// Non-root user of the gateway image (distroless `nonroot`).
const RUN_AS: i64 = 65532;

/// Name of the Deployment, Service, ServiceAccount and PDB of a gateway.
pub fn workload_name(gateway: &str) -> String {
    format!("{gateway}-gateway")
}
pub fn config_map_name(gateway: &str) -> String {
    format!("{gateway}-gateway-config")
}
pub fn session_secret_name(gateway: &str) -> String {
    format!("{gateway}-gateway-session")
}

/// One target as the gateway serves it: its last good catalog and the settings that
/// produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedTarget {
    pub settings: TargetSettings,
    pub catalog_hash: String,
    pub config_maps: Vec<String>,
    pub secrets: Vec<SecretKeyRef>,
}

/// Everything the gateway's children are built from.
#[derive(Debug, Clone)]
pub struct GatewayInputs<'a> {
    pub gateway: &'a Gateway,
    /// Used when the Gateway sets no image.
    pub default_image: &'a str,
    /// Sorted by target name.
    pub targets: Vec<ServedTarget>,
    /// What each authorization rule's `tools` patterns are bound to (see
    /// `switchboard_gateway::authz::PolicyBindings`), so pods started later keep them.
    pub policy_bindings: Option<PolicyBindings>,
}

/// The rendered children.
#[derive(Debug, Clone)]
pub struct GatewayChildren {
    pub config: RuntimeConfig,
    pub config_map: ConfigMap,
    pub service_account: ServiceAccount,
    pub deployment: Deployment,
    pub service: Service,
    /// `None`: there must be no PDB (one replica or none).
    pub pdb: Option<PodDisruptionBudget>,
    pub config_hash: String,
    pub endpoint: String,
}

fn names(gateway: &Gateway) -> (String, String) {
    (
        gateway.metadata.name.clone().unwrap_or_default(),
        gateway
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
    )
}

fn selector_labels(gateway: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::NAME.into(), "switchboard-gateway".into()),
        (labels::INSTANCE.into(), gateway.into()),
    ])
}

fn gateway_labels(gateway: &str) -> BTreeMap<String, String> {
    let mut all = common_labels(gateway, labels::COMPONENT_GATEWAY);
    all.extend(selector_labels(gateway));
    all
}

fn meta(gateway: &Gateway, name: String) -> Result<ObjectMeta, RenderError> {
    let (gateway_name, namespace) = names(gateway);
    Ok(ObjectMeta {
        name: Some(name),
        namespace: Some(namespace),
        labels: Some(gateway_labels(&gateway_name)),
        owner_references: Some(vec![owner_ref(gateway)?]),
        ..ObjectMeta::default()
    })
}

/// The runtime config of the gateway: its settings (with its own Service names allowed
/// as Host) and every served target, with age taken from the target.
pub fn runtime_config(gateway: &Gateway, targets: &[ServedTarget]) -> RuntimeConfig {
    let (name, namespace) = names(gateway);
    let mut settings = gateway_settings(gateway);
    let service = workload_name(&name);
    for host in [
        service.clone(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ] {
        if !settings.allowed_hosts.contains(&host) {
            settings.allowed_hosts.push(host);
        }
    }
    RuntimeConfig {
        gateway: settings,
        targets: targets.iter().map(|t| t.settings.clone()).collect(),
    }
}

/// The Secret holding the key that seals session ids; created once and then kept.
pub fn session_secret(gateway: &Gateway, key: &[u8]) -> Result<Secret, RenderError> {
    let (name, _) = names(gateway);
    Ok(Secret {
        metadata: meta(gateway, session_secret_name(&name))?,
        data: Some(BTreeMap::from([(
            SESSION_KEY.to_owned(),
            ByteString(key.to_vec()),
        )])),
        type_: Some("Opaque".into()),
        ..Secret::default()
    })
}

/// Builds every child of the gateway.
pub fn render(inputs: &GatewayInputs<'_>) -> Result<GatewayChildren, RenderError> {
    let gateway = inputs.gateway;
    let (name, namespace) = names(gateway);
    let workload = workload_name(&name);
    let mut config = runtime_config(gateway, &inputs.targets);
    config.gateway.policy_bindings = inputs.policy_bindings.clone();
    let config_json =
        serde_json::to_string_pretty(&config).map_err(|source| RenderError::Build {
            what: "runtime config".into(),
            source,
        })?;

    // Everything a pod reads; its hash in the pod template rolls the Deployment.
    let mut fingerprint = config_json.clone();
    for target in &inputs.targets {
        fingerprint.push_str(&format!(
            "\n{} {} {:?} {:?}",
            target.settings.name, target.catalog_hash, target.config_maps, target.secrets
        ));
    }
    let config_hash = sha256(fingerprint.as_bytes());

    let config_map = ConfigMap {
        metadata: meta(gateway, config_map_name(&name))?,
        data: Some(BTreeMap::from([(CONFIG_KEY.to_owned(), config_json)])),
        ..ConfigMap::default()
    };

    let service_account = ServiceAccount {
        metadata: meta(gateway, workload.clone())?,
        // The gateway never talks to the Kubernetes API.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };

    let replicas = gateway.spec.replicas.unwrap_or(1);
    let image = gateway
        .spec
        .image
        .clone()
        .unwrap_or_else(|| inputs.default_image.to_owned());
    let resources = match &gateway.spec.resources {
        Some(resources) => serde_json::to_value(resources).unwrap_or(Value::Null),
        None => {
            json!({"requests": {"cpu": "50m", "memory": "160Mi"}, "limits": {"memory": "512Mi"}})
        }
    };
    let mut pod_annotations = BTreeMap::new();
    pod_annotations.insert(annotations::CONFIG_HASH.to_owned(), config_hash.clone());

    let deployment: Deployment = from_json(
        "Deployment",
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(gateway, workload.clone())?,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector_labels(&name)},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": gateway_labels(&name), "annotations": pod_annotations},
                    "spec": {
                        "serviceAccountName": workload,
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": RUN_AS,
                            "runAsGroup": RUN_AS,
                            "fsGroup": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}
                        },
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{
                            "name": "gateway",
                            "image": image,
                            "args": [
                                "--config-dir", CONFIG_DIR,
                                "--listen", format!("0.0.0.0:{MCP_PORT}"),
                                "--admin-listen", format!("0.0.0.0:{ADMIN_PORT}"),
                                "--log-json"
                            ],
                            "ports": [
                                {"name": "mcp", "containerPort": MCP_PORT, "protocol": "TCP"},
                                {"name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP"}
                            ],
                            "readinessProbe": {
                                "httpGet": {"path": "/readyz", "port": "admin"},
                                "periodSeconds": 5, "failureThreshold": 3
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": "admin"},
                                "periodSeconds": 10, "failureThreshold": 3
                            },
                            "resources": resources,
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "runAsNonRoot": true,
                                "capabilities": {"drop": ["ALL"]}
                            },
                            "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}]
                        }],
                        "volumes": [{"name": "config", "projected": {
                            "defaultMode": 0o440,
                            "sources": projected_sources(&name, &inputs.targets)
                        }}]
                    }
                }
            }
        }),
    )?;

    let exposure = gateway.spec.service.clone().unwrap_or_default();
    let port = exposure.port.unwrap_or(DEFAULT_SERVICE_PORT);
    let service_type = match exposure.kind.unwrap_or_default() {
        ServiceType::ClusterIP => "ClusterIP",
        ServiceType::NodePort => "NodePort",
        ServiceType::LoadBalancer => "LoadBalancer",
    };
    let service: Service = from_json(
        "Service",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(gateway, workload_name(&name))?,
            "spec": {
                "type": service_type,
                "selector": selector_labels(&name),
                "ports": [{"name": "mcp", "port": port, "targetPort": "mcp", "protocol": "TCP", "appProtocol": "http"}]
            }
        }),
    )?;

    let pdb = if replicas > 1 {
        Some(from_json(
            "PodDisruptionBudget",
            json!({
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": meta(gateway, workload_name(&name))?,
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(&name)}}
            }),
        )?)
    } else {
        None
    };

    Ok(GatewayChildren {
        config,
        config_map,
        service_account,
        deployment,
        service,
        pdb,
        config_hash,
        endpoint: format!("http://{}.{namespace}.svc:{port}/mcp", workload_name(&name)),
    })
}

/// The projected volume: `config.json`, `session-key`, `catalogs/<configmap>.json` and
/// `secrets/<secret>/<key>`.
fn projected_sources(gateway: &str, targets: &[ServedTarget]) -> Vec<Value> {
    let mut sources = vec![
        json!({"configMap": {"name": config_map_name(gateway), "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}]}}),
        json!({"secret": {"name": session_secret_name(gateway), "items": [{"key": SESSION_KEY, "path": SESSION_KEY}]}}),
    ];
    for target in targets {
        for map in &target.config_maps {
            sources.push(json!({"configMap": {"name": map, "items": [
                {"key": super::catalog::CATALOG_KEY, "path": format!("catalogs/{map}.json")}
            ]}}));
        }
    }
    let mut secrets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for target in targets {
        for secret in &target.secrets {
            secrets.entry(&secret.name).or_default().insert(&secret.key);
        }
    }
    for (name, keys) in secrets {
        let items: Vec<Value> = keys
            .into_iter()
            .map(|key| json!({"key": key, "path": format!("secrets/{name}/{key}")}))
            .collect();
        sources.push(json!({"secret": {"name": name, "items": items}}));
    }
    sources
}

/// Every ConfigMap and Secret the Deployment's pod template mounts.
pub fn mounted_config_maps(deployment: &Deployment) -> Vec<String> {
    let Some(volumes) = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.volumes.as_ref())
    else {
        return Vec::new();
    };
    volumes
        .iter()
        .filter_map(|v| v.projected.as_ref())
        .flat_map(|p| p.sources.clone().unwrap_or_default())
        .filter_map(|s| s.config_map.map(|c| c.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_gateway::config::TargetSettings;

    const GATEWAY: &str = r#"
apiVersion: switchboard.dev/v1alpha1
kind: Gateway
metadata: {name: shop, namespace: team-a, uid: 7e1d0000-0000-0000-0000-000000000001}
spec:
  inboundAuth: {type: None}
  replicas: 3
  allowedHosts: [mcp.example.com]
  service: {type: LoadBalancer, port: 443}
"#;

    fn gateway(yaml: &str) -> Gateway {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn served(name: &str, maps: &[&str], secrets: &[(&str, &str)]) -> ServedTarget {
        let mut settings = TargetSettings::new(name, format!("http://{name}.team-a.svc:9000/mcp"));
        settings.created_at = "2026-11-21T00:00:00Z".into();
        ServedTarget {
            settings,
            catalog_hash: format!("sha256:{name}"),
            config_maps: maps.iter().map(|m| (*m).to_owned()).collect(),
            secrets: secrets
                .iter()
                .map(|(n, k)| SecretKeyRef {
                    name: (*n).into(),
                    key: (*k).into(),
                })
                .collect(),
        }
    }

    fn render_with(gateway: &Gateway, targets: Vec<ServedTarget>) -> GatewayChildren {
        render(&GatewayInputs {
            policy_bindings: None,
            gateway,
            default_image: "example/gateway:1",
            targets,
        })
        .unwrap()
    }

    fn pod_spec(children: &GatewayChildren) -> Value {
        serde_json::to_value(&children.deployment).unwrap()["spec"]["template"]["spec"].clone()
    }

    #[test]
    fn deployment_mounts_config_catalogs_and_secrets_as_one_projected_volume() {
        let gw = gateway(GATEWAY);
        let children = render_with(
            &gw,
            vec![
                served(
                    "cart",
                    &["cart-catalog-0", "cart-catalog-1"],
                    &[("cart-creds", "api-key")],
                ),
                served(
                    "search",
                    &["search-catalog-0"],
                    &[("cart-creds", "token"), ("search-creds", "key")],
                ),
            ],
        );
        let pod = pod_spec(&children);
        let sources = pod["volumes"][0]["projected"]["sources"]
            .as_array()
            .unwrap();
        let paths: Vec<(String, String)> = sources
            .iter()
            .flat_map(|s| {
                let (kind, object) = s.as_object().unwrap().iter().next().unwrap();
                let name = object["name"].as_str().unwrap().to_owned();
                object["items"].as_array().unwrap().iter().map(move |i| {
                    (
                        format!("{kind}/{name}"),
                        i["path"].as_str().unwrap().to_owned(),
                    )
                })
            })
            .collect();
        let expected = [
            ("configMap/shop-gateway-config", "config.json"),
            ("secret/shop-gateway-session", "session-key"),
            ("configMap/cart-catalog-0", "catalogs/cart-catalog-0.json"),
            ("configMap/cart-catalog-1", "catalogs/cart-catalog-1.json"),
            (
                "configMap/search-catalog-0",
                "catalogs/search-catalog-0.json",
            ),
            ("secret/cart-creds", "secrets/cart-creds/api-key"),
            ("secret/cart-creds", "secrets/cart-creds/token"),
            ("secret/search-creds", "secrets/search-creds/key"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(paths, expected);
        assert_eq!(
            pod["containers"][0]["volumeMounts"][0]["mountPath"],
            CONFIG_DIR
        );
        assert_eq!(pod["containers"][0]["args"][1], CONFIG_DIR);
        assert_eq!(mounted_config_maps(&children.deployment).len(), 4);
    }

    #[test]
    fn pods_run_hardened_without_an_api_token() {
        let gw = gateway(GATEWAY);
        let children = render_with(&gw, vec![]);
        let pod = pod_spec(&children);
        let container = &pod["containers"][0];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["serviceAccountName"], "shop-gateway");
        assert_eq!(
            children.service_account.automount_service_account_token,
            Some(false)
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(
            container["securityContext"]["allowPrivilegeEscalation"],
            false
        );
        assert_eq!(
            container["securityContext"]["capabilities"]["drop"][0],
            "ALL"
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["image"], "example/gateway:1");
        let owner = &children
            .deployment
            .metadata
            .owner_references
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("Gateway", Some(true))
        );
        let labels = children.deployment.metadata.labels.as_ref().unwrap();
        assert_eq!(
            labels
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("switchboard")
        );
        assert_eq!(
            labels.get("switchboard.dev/gateway").map(String::as_str),
            Some("shop")
        );
    }

    #[test]
    fn the_pod_template_hash_changes_with_catalogs_and_config_only() {
        let gw = gateway(GATEWAY);
        let hash = |targets| {
            let children = render_with(&gw, targets);
            let annotations = children
                .deployment
                .spec
                .unwrap()
                .template
                .metadata
                .unwrap()
                .annotations
                .unwrap();
            annotations[annotations::CONFIG_HASH].clone()
        };
        let base = hash(vec![served("cart", &["cart-catalog-0"], &[])]);
        assert_eq!(
            base,
            hash(vec![served("cart", &["cart-catalog-0"], &[])]),
            "deterministic"
        );
        let mut changed = served("cart", &["cart-catalog-0"], &[]);
        changed.catalog_hash = "sha256:other".into();
        assert_ne!(base, hash(vec![changed]), "a new catalog rolls the pods");
        let mut retimed = served("cart", &["cart-catalog-0"], &[]);
        retimed.settings.timeout_seconds = 5;
        assert_ne!(base, hash(vec![retimed]), "a config change rolls the pods");
    }

    #[test]
    fn runtime_config_allows_the_service_names_and_holds_no_secret() {
        let gw = gateway(GATEWAY);
        let children = render_with(
            &gw,
            vec![served(
                "cart",
                &["cart-catalog-0"],
                &[("cart-creds", "api-key")],
            )],
        );
        let hosts = &children.config.gateway.allowed_hosts;
        assert!(hosts.contains(&"mcp.example.com".to_owned()));
        assert!(hosts.contains(&"shop-gateway.team-a.svc".to_owned()));
        let json = &children.config_map.data.as_ref().unwrap()[CONFIG_KEY];
        let parsed: RuntimeConfig = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.targets[0].name, "cart");
        assert!(
            !json.contains("cart-creds"),
            "only the Deployment names Secrets"
        );
        assert_eq!(children.endpoint, "http://shop-gateway.team-a.svc:443/mcp");
    }

    #[test]
    fn service_and_pdb_follow_the_spec() {
        let gw = gateway(GATEWAY);
        let children = render_with(&gw, vec![]);
        let service = serde_json::to_value(&children.service).unwrap();
        assert_eq!(service["spec"]["type"], "LoadBalancer");
        assert_eq!(service["spec"]["ports"][0]["port"], 443);
        assert_eq!(service["spec"]["ports"][0]["targetPort"], "mcp");
        assert_eq!(
            service["spec"]["selector"]["app.kubernetes.io/instance"],
            "shop"
        );
        let pdb = serde_json::to_value(children.pdb.as_ref().unwrap()).unwrap();
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);

        let single = gateway(&GATEWAY.replace("replicas: 3", "replicas: 1"));
        assert!(render_with(&single, vec![]).pdb.is_none());
        let defaults =
            gateway(&GATEWAY.replace("  service: {type: LoadBalancer, port: 443}\n", ""));
        let children = render_with(&defaults, vec![]);
        let service = serde_json::to_value(&children.service).unwrap();
        assert_eq!(
            (
                service["spec"]["type"].as_str(),
                service["spec"]["ports"][0]["port"].as_i64()
            ),
            (Some("ClusterIP"), Some(8080))
        );
    }

    #[test]
    fn a_gateway_without_uid_cannot_own_children() {
        let gw = gateway(&GATEWAY.replace(", uid: 7e1d0000-0000-0000-0000-000000000001", ""));
        let error = render(&GatewayInputs {
            policy_bindings: None,
            gateway: &gw,
            default_image: "x",
            targets: vec![],
        })
        .unwrap_err();
        assert_eq!(error.reason(), "NotYetPersisted");
    }
}
