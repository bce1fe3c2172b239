//! Runtime configuration of a gateway: what the operator writes into the runtime-config
//! ConfigMap and what local mode builds in memory. Never holds a secret value.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::audit::AuditConfig;
use crate::auth::InboundAuthConfig;
use crate::authz::{AuthorizationConfig, PolicyBindings};
use crate::credentials::TargetCredentials;
use crate::limits::RateLimitConfig;
use crate::naming::{DEFAULT_MAX_LENGTH, DEFAULT_SEPARATOR, NamingPolicy};
use crate::search::SearchSettings;

pub const DEFAULT_TIMEOUT_SECONDS: u64 = 300;
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_PAGE_SIZE: usize = 500;
pub const DEFAULT_LIST_TTL_MS: u64 = 30_000;
pub const DEFAULT_SESSION_TTL_SECONDS: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    pub gateway: GatewaySettings,
    #[serde(default)]
    pub targets: Vec<TargetSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySettings {
    pub name: String,
    /// How clients authenticate; references Secrets, never holds their values.
    #[serde(default = "no_inbound_auth")]
    pub inbound_auth: InboundAuthConfig,
    /// The endpoint URL clients use (for OAuth protected-resource metadata and the
    /// audience check); derived from the request's `Host` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(default = "default_separator")]
    pub separator: String,
    #[serde(default = "default_max_length")]
    pub max_name_length: usize,
    /// Host names (port ignored) accepted in `Host`/`Origin`, besides loopback names.
    /// `*.example.com` matches any subdomain.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// How long a 2026-07-28 client may cache list results.
    #[serde(default = "default_list_ttl_ms")]
    pub list_ttl_ms: u64,
    /// Who may see and call which tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<AuthorizationConfig>,
    /// What each authorization rule was bound to at the previous render, so a renamed
    /// prefix never makes a rule stop matching (computed by the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_bindings: Option<PolicyBindings>,
    /// The built-in tool search.
    #[serde(default)]
    pub search: SearchSettings,
    /// Per-tenant rate limits (per replica share: see `limits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimitConfig>,
    /// What audit lines include.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Gateway replicas sharing the rate limits.
    #[serde(default = "one")]
    pub replicas: u32,
    /// How long a sealed handshake-era session id stays valid.
    #[serde(default = "default_session_ttl_seconds")]
    pub session_ttl_seconds: u64,
}

fn no_inbound_auth() -> InboundAuthConfig {
    InboundAuthConfig::default()
}

fn one() -> u32 {
    1
}

fn default_separator() -> String {
    DEFAULT_SEPARATOR.to_owned()
}
fn default_max_length() -> usize {
    DEFAULT_MAX_LENGTH
}
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}
fn default_list_ttl_ms() -> u64 {
    DEFAULT_LIST_TTL_MS
}
fn default_session_ttl_seconds() -> u64 {
    DEFAULT_SESSION_TTL_SECONDS
}

impl GatewaySettings {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            inbound_auth: no_inbound_auth(),
            authorization: None,
            policy_bindings: None,
            search: SearchSettings::default(),
            rate_limits: None,
            audit: AuditConfig::default(),
            replicas: 1,
            public_url: None,
            separator: default_separator(),
            max_name_length: default_max_length(),
            allowed_hosts: Vec::new(),
            max_body_bytes: default_max_body_bytes(),
            page_size: default_page_size(),
            list_ttl_ms: default_list_ttl_ms(),
            session_ttl_seconds: default_session_ttl_seconds(),
        }
    }

    pub fn naming(&self) -> NamingPolicy {
        NamingPolicy {
            separator: self.separator.clone(),
            max_length: self.max_name_length,
        }
    }
}

/// Which protocol era to speak to an upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpstreamProtocol {
    /// Try `server/discover` (2026-07-28), fall back to `initialize`.
    #[default]
    Auto,
    /// Always use the `initialize` handshake.
    Legacy,
    /// Always use the 2026-07-28 per-request envelope.
    Modern,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSettings {
    pub name: String,
    pub endpoint: String,
    #[serde(default)]
    pub protocol: UpstreamProtocol,
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    pub tool_prefix: String,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Tenants allowed to see and call this target's tools; empty = every tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Outbound credentials; references Secrets, never holds their values.
    #[serde(default)]
    pub credentials: TargetCredentials,
    /// Older targets keep a contested name; RFC 3339, or empty when unknown.
    #[serde(default)]
    pub created_at: String,
}

fn default_timeout_seconds() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl TargetSettings {
    pub fn new(name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            tool_prefix: name.clone(),
            name,
            endpoint: endpoint.into(),
            protocol: UpstreamProtocol::Auto,
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            include: Vec::new(),
            exclude: Vec::new(),
            tenants: Vec::new(),
            credentials: TargetCredentials::default(),
            created_at: String::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}
