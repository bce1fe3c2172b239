//! The `Gateway` and `GatewayTarget` custom resources (group `switchboard.dev`, `v1alpha1`).
//!
//! These types are the API contract: the same YAML works with `kubectl apply` and with
//! `switchboard local -f DIR`. What a schema can check is checked here, at apply time,
//! with `x-kubernetes-validations` CEL rules whose messages say what to fix; the rest
//! is reported by the controllers as `FAILED` with a reason.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_gateway::audit::AuditConfig;
use switchboard_gateway::auth::InboundAuthConfig;
use switchboard_gateway::authz::AuthorizationConfig;
use switchboard_gateway::credentials::{CredentialType, TargetCredentials};
use switchboard_gateway::limits::RateLimitConfig;
use switchboard_gateway::search::SearchSettings;

pub const GROUP: &str = "switchboard.dev";

/// Target states, named as AgentCore Gateway names them.
pub mod phase {
    pub const CREATING: &str = "CREATING";
    pub const UPDATING: &str = "UPDATING";
    pub const SYNCHRONIZING: &str = "SYNCHRONIZING";
    pub const READY: &str = "READY";
    pub const FAILED: &str = "FAILED";
    pub const UPDATE_UNSUCCESSFUL: &str = "UPDATE_UNSUCCESSFUL";
    pub const SYNCHRONIZE_UNSUCCESSFUL: &str = "SYNCHRONIZE_UNSUCCESSFUL";
    pub const DELETING: &str = "DELETING";
}

/// One MCP endpoint in front of every attached `GatewayTarget`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "switchboard.dev",
    version = "v1alpha1",
    kind = "Gateway",
    doc = "A Switchboard gateway: one MCP endpoint in front of its GatewayTargets.",
    namespaced,
    shortname = "mcpgw",
    category = "switchboard",
    status = "GatewayStatus",
    derive = "Default",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Targets","type":"string","jsonPath":".status.targets"}"#,
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.toolCount"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Search","type":"string","jsonPath":".status.search.mode","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = Rule::new("self.metadata.name.size() <= 50").message("Gateway names are at most 50 characters (the Service is named <name>-gateway, at most 63)"),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')").message("Gateway names must be DNS labels starting with a letter (they name a Service)")
)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// How clients authenticate: `None` (chosen explicitly), `JWT` or `APIKey`.
    pub inbound_auth: InboundAuthConfig,
    /// The URL clients use to reach the endpoint, e.g. `https://mcp.example.com/mcp`
    /// (OAuth metadata and the token audience use it). Derived from `Host` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Gateway pods to run (default 1). Above 1, a PodDisruptionBudget keeps one available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: Option<i32>,
    /// How exposed tool names are composed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naming: Option<NamingSpec>,
    /// Host names clients may use to reach the gateway (DNS-rebinding protection);
    /// loopback names and the gateway's own Service names are always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 253)))]
    pub allowed_hosts: Vec<String>,
    /// Who may see and call which tools (rules with CEL conditions); see docs/authorization.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<AuthorizationConfig>,
    /// The built-in tool search (on by default): tool name, exposure, default ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchSettings>,
    /// Per-tenant rate limits (token buckets), shared out among the replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimitConfig>,
    /// What audit lines include (arguments and results are off by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditConfig>,
    /// Items per page of tools/list, prompts/list and resources/list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub page_size: Option<u32>,
    /// Gateway container image; defaults to the operator's `--gateway-image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Resources of the gateway container (default: requests 50m CPU and 160Mi memory, the
    /// embedding model takes about 90 MiB; limit 512Mi memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// How the gateway's Service is exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceExposure>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamingSpec {
    /// Between prefix and tool name; default `___`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_-]{1,10}$')").message("separator must be 1 to 10 characters among letters, digits, '_' and '-'"))]
    pub separator: Option<String>,
    /// Longest exposed name; longer ones are shortened with a hash. Default 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16, max = 256))]
    pub max_length: Option<u32>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceExposure {
    /// `ClusterIP` (default), `NodePort` or `LoadBalancer`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ServiceType>,
    /// Port of the MCP endpoint on the Service (default 8080).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// In-cluster URL of the MCP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `ready/total` attached targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
    /// Tools served (after collisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// What the built-in tool search can do with the served catalogs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchStatus>,
    /// Hash of the runtime config and catalogs the Deployment was last rendered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// `Gateway.status.search`.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchStatus {
    /// `Hybrid` (lexical and embeddings), `Lexical` (no tool has an embedding, or
    /// `spec.search.mode` asks for it) or `Disabled`.
    pub mode: String,
    /// Name of the built-in search tool (absent when disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Served tools that carry an embedding, of `tools`.
    pub embedded_tools: u32,
    pub tools: u32,
    /// Model the tool embeddings were computed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why, and what to change for semantic search.
    pub message: String,
}

/// An upstream MCP server attached to a `Gateway`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[kube(
    group = "switchboard.dev",
    version = "v1alpha1",
    kind = "GatewayTarget",
    doc = "An upstream MCP server whose tools a Gateway serves.",
    namespaced,
    shortname = "mcpgt",
    category = "switchboard",
    status = "GatewayTargetStatus",
    derive = "Default",
    derive = "PartialEq",
    printcolumn = r#"{"name":"Gateway","type":"string","jsonPath":".spec.gatewayRef.name"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.status"}"#,
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.toolCount"}"#,
    printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.lastSyncTime","priority":1}"#,
    printcolumn = r#"{"name":"Embedded","type":"integer","jsonPath":".status.embeddedToolCount","priority":1}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.statusReasons[0]","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    validation = Rule::new("has(self.spec.toolPrefix) || self.metadata.name.matches('^[a-z0-9-]{1,48}$')").message("metadata.name is the default toolPrefix: set spec.toolPrefix when the name is longer than 48 characters or contains '.'")
)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTargetSpec {
    /// The Gateway (same namespace) that serves this target's tools. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("gatewayRef is immutable: create a new GatewayTarget to move a target to another Gateway"))]
    pub gateway_ref: GatewayRef,
    pub mcp: McpEndpoint,
    /// Per-request timeout towards this target, in seconds (1 to 3600). Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 3600").message("timeoutSeconds must be between 1 and 3600"))]
    pub timeout_seconds: Option<u32>,
    /// Prefix of exposed names; defaults to the target's name; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(
        validation = Rule::new("self.size() <= 48").message("toolPrefix must be at most 48 characters"),
        validation = Rule::new("self.matches('^[A-Za-z0-9_-]*$')").message("toolPrefix may only contain letters, digits, '_' and '-'")
    )]
    pub tool_prefix: Option<String>,
    /// Which upstream tools to expose (glob patterns on upstream names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_filter: Option<ToolFilterSpec>,
    /// Only callers of these tenants may see and call this target's tools; empty or
    /// absent means every caller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// How the gateway authenticates to this target; values come from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<TargetCredentials>,
    /// Re-sync every this many seconds (at least 30); unset means only on change or request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 30").message("syncIntervalSeconds must be at least 30"))]
    pub sync_interval_seconds: Option<u32>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
pub struct GatewayRef {
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("gatewayRef.name must name a Gateway (a DNS label)"))]
    pub name: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpEndpoint {
    /// Streamable HTTP URL of the MCP server (`http://` or `https://`).
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''").message("mcp.endpoint must be an absolute http:// or https:// URL"))]
    pub endpoint: String,
    /// Protocol era: `Auto` (default) tries 2026-07-28 then the initialize handshake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<McpProtocol>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum McpProtocol {
    #[default]
    Auto,
    Legacy,
    Modern,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ToolFilterSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 256)))]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 256)))]
    pub exclude: Vec<String>,
}

/// A key of a Secret in the target's namespace.
#[derive(
    Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// The Secrets a target's spec refers to (credentials). The operator checks they exist
/// before syncing and mounts them into the gateway pods at `secrets/<name>/<key>`.
pub fn referenced_secrets(spec: &GatewayTargetSpec) -> Vec<SecretKeyRef> {
    let Some(credentials) = &spec.credentials else {
        return Vec::new();
    };
    let mut refs = Vec::new();
    let mut add = |r: &switchboard_gateway::secrets::SecretKeyRef| {
        refs.push(SecretKeyRef {
            name: r.name.clone(),
            key: r.key.clone(),
        });
    };
    match credentials.kind {
        CredentialType::None => {}
        CredentialType::ApiKey => credentials.api_key.iter().for_each(|k| add(&k.secret_ref)),
        CredentialType::Bearer => credentials.bearer.iter().for_each(|b| add(&b.secret_ref)),
        CredentialType::OAuth2ClientCredentials => {
            if let Some(oauth) = &credentials.oauth2 {
                add(&oauth.client_id_secret_ref);
                add(&oauth.client_secret_ref);
            }
        }
    }
    refs
}

/// The upstream as the last successful sync saw it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamServerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTargetStatus {
    /// CREATING, UPDATING, SYNCHRONIZING, READY, FAILED, UPDATE_UNSUCCESSFUL,
    /// SYNCHRONIZE_UNSUCCESSFUL or DELETING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the target is in its state and what to fix (never a secret value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_reasons: Vec<String>,
    /// Tools the gateway serves for this target (the last good catalog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_count: Option<u32>,
    /// `sha256:` of the served catalog's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_hash: Option<String>,
    /// ConfigMaps holding the served catalog, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalog_config_maps: Vec<String>,
    /// When the served catalog was last confirmed by a successful sync (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// The last `switchboard.dev/sync-requested-at` annotation value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_info: Option<UpstreamServerInfo>,
    /// MCP protocol version negotiated with the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Naming policy (`separator` and max length) the served names were built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_naming: Option<String>,
    /// Tools whose embedding for semantic search is stored in the catalog (the others
    /// are found by tool search lexically only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_tool_count: Option<u32>,
    /// Exposed names this target lists but another target of the gateway keeps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collisions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Prints both CRDs as one multi-document YAML stream.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    Ok(format!(
        "{}---\n{}",
        gateway_crd_yaml()?,
        target_crd_yaml()?
    ))
}

pub fn gateway_crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt as _;
    serde_yaml::to_string(&Gateway::crd())
}

pub fn target_crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt as _;
    serde_yaml::to_string(&GatewayTarget::crd())
}
