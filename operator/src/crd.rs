//! The `Gateway` and `GatewayTarget` custom resources (group `switchboard.dev`, `v1alpha1`).
//!
//! These types are the API contract: the same YAML works with `kubectl apply` and with
//! `switchboard local -f DIR`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_gateway::audit::AuditConfig;
use switchboard_gateway::auth::InboundAuthConfig;
use switchboard_gateway::credentials::TargetCredentials;
use switchboard_gateway::limits::RateLimitConfig;

pub const GROUP: &str = "switchboard.dev";

/// One MCP endpoint in front of every attached `GatewayTarget`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "switchboard.dev",
    version = "v1alpha1",
    kind = "Gateway",
    namespaced,
    shortname = "mcpgw",
    category = "switchboard",
    status = "GatewayStatus",
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".status.endpoint"}"#,
    printcolumn = r#"{"name":"Targets","type":"string","jsonPath":".status.targets"}"#,
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.toolCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// How clients authenticate: `None` (chosen explicitly), `JWT` or `APIKey`.
    pub inbound_auth: InboundAuthConfig,
    /// The URL clients use to reach the endpoint, e.g. `https://mcp.example.com/mcp`
    /// (OAuth metadata and the token audience use it). Derived from `Host` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Gateway pods to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: Option<i32>,
    /// How exposed tool names are composed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naming: Option<NamingSpec>,
    /// Host names clients may use to reach the gateway (DNS-rebinding protection);
    /// loopback names and the gateway's own Service names are always allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
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
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamingSpec {
    /// Between prefix and tool name; default `___`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Longest exposed name; longer ones are shortened with a hash. Default 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16, max = 256))]
    pub max_length: Option<u32>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `ready/total`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_count: Option<u32>,
}

/// An upstream MCP server attached to a `Gateway`.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "switchboard.dev",
    version = "v1alpha1",
    kind = "GatewayTarget",
    namespaced,
    shortname = "mcpgt",
    category = "switchboard",
    status = "GatewayTargetStatus",
    printcolumn = r#"{"name":"Gateway","type":"string","jsonPath":".spec.gatewayRef.name"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.status"}"#,
    printcolumn = r#"{"name":"Tools","type":"integer","jsonPath":".status.toolCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTargetSpec {
    pub gateway_ref: GatewayRef,
    pub mcp: McpEndpoint,
    /// Per-request timeout towards this target, in seconds. Default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub timeout_seconds: Option<u32>,
    /// Prefix of exposed names; defaults to the target's name; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_prefix: Option<String>,
    /// Which upstream tools to expose (glob patterns on upstream names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_filter: Option<ToolFilterSpec>,
    /// How the gateway authenticates to this target; values come from Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<TargetCredentials>,
    /// Re-sync every this many seconds; unset means only on change or request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30))]
    pub sync_interval_seconds: Option<u32>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GatewayRef {
    pub name: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpEndpoint {
    /// Streamable HTTP URL of the MCP server.
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
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayTargetStatus {
    /// CREATING, UPDATING, SYNCHRONIZING, READY, FAILED, UPDATE_UNSUCCESSFUL,
    /// SYNCHRONIZE_UNSUCCESSFUL or DELETING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_count: Option<u32>,
}

/// Prints both CRDs as one multi-document YAML stream.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt as _;
    Ok(format!(
        "{}---\n{}",
        serde_yaml::to_string(&Gateway::crd())?,
        serde_yaml::to_string(&GatewayTarget::crd())?
    ))
}
