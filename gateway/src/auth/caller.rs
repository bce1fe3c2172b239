//! Who is calling, as established by inbound authentication.

use crate::secrets::SecretValue;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `inboundAuth.type: None`.
    Anonymous,
    /// A validated JWT access token.
    Jwt,
    /// An API key from the Gateway's key table.
    ApiKey,
}

/// An authenticated caller. Authorization rules, tenant filtering, audit and opt-in token
/// forwarding read it; `Debug` is safe to log (the raw token is redacted).
#[derive(Clone, Debug)]
pub struct Caller {
    /// How the caller authenticated.
    pub method: AuthMethod,
    /// The token's `sub`, or the API-key entry name; `anonymous` without authentication.
    pub subject: String,
    /// OAuth client (`client_id`, else `azp`), when the token names one.
    pub client_id: Option<String>,
    /// Tenant, from the configured tenant claim or the API-key entry.
    pub tenant: Option<String>,
    /// User, from the configured user claim or the API-key entry.
    pub user: Option<String>,
    /// Granted scopes (`scope` string or `scp` array; API-key entry scopes).
    pub scopes: Vec<String>,
    /// All token claims (an empty object for API keys and anonymous callers).
    pub claims: serde_json::Value,
    /// The raw bearer token, kept only so a target that opts in (`forwardCallerToken`) can
    /// forward it. `None` for API keys: a gateway key is never sent to an upstream.
    pub token: Option<SecretValue>,
}

impl Caller {
    /// The caller of a Gateway with `inboundAuth.type: None`.
    pub fn anonymous() -> Self {
        Self {
            method: AuthMethod::Anonymous,
            subject: "anonymous".to_owned(),
            client_id: None,
            tenant: None,
            user: None,
            scopes: Vec::new(),
            claims: serde_json::Value::Object(serde_json::Map::new()),
            token: None,
        }
    }

    /// Whether the caller holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
