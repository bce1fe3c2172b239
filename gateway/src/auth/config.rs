//! `Gateway.spec.inboundAuth`: how clients prove who they are.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secrets::SecretRef;

/// Default claim holding the caller's tenant.
pub const DEFAULT_TENANT_CLAIM: &str = "tenant";
/// Default claim holding the caller's user name.
pub const DEFAULT_USER_CLAIM: &str = "sub";
/// Default clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECONDS: u32 = 30;
/// Default header carrying an API key.
pub const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";
/// Default key, in the API-key Secret, holding the key table.
pub const DEFAULT_API_KEYS_SECRET_KEY: &str = "keys.yaml";

/// Inbound authentication. `type` has no default: an open gateway must be asked for with
/// `type: None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.type != 'JWT' || has(self.jwt)", "message": "jwt is required when type is JWT"},
    {"rule": "self.type != 'APIKey' || has(self.apiKey)", "message": "apiKey is required when type is APIKey"}
]))]
pub struct InboundAuthConfig {
    /// `None`, `JWT` or `APIKey`.
    #[serde(rename = "type")]
    pub kind: InboundAuthType,
    /// Settings for `type: JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtConfig>,
    /// Settings for `type: APIKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyConfig>,
}

/// `type: None`. Only Rust code relies on this default: the CRD keeps `inboundAuth`
/// required, so a manifest must still choose `None` explicitly.
impl Default for InboundAuthConfig {
    fn default() -> Self {
        Self {
            kind: InboundAuthType::None,
            jwt: None,
            api_key: None,
        }
    }
}

/// Which inbound authentication a Gateway uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum InboundAuthType {
    /// Anyone who can reach the endpoint may use it.
    None,
    /// OAuth 2.0 / OIDC access tokens (JWT) validated against the issuer's JWKS.
    #[serde(rename = "JWT")]
    Jwt,
    /// Static API keys from a Secret, each mapped to a tenant and a user.
    #[serde(rename = "APIKey")]
    ApiKey,
}

/// JWT access-token validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfig {
    /// OpenID Connect discovery document URL (`.../.well-known/openid-configuration`); its
    /// `issuer` is the only accepted `iss` and its `jwks_uri` supplies the keys.
    #[schemars(length(min = 1))]
    pub discovery_url: String,
    /// Accepted `aud` values; a token must carry at least one. When empty, the token must
    /// be issued for the gateway's own MCP endpoint URL, which is what MCP clients ask for
    /// with the RFC 8707 `resource` parameter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_audiences: Vec<String>,
    /// If set, the token's `client_id` (or `azp`) must be one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_clients: Vec<String>,
    /// Scopes every token must carry (`scope` string or `scp` array); missing ones give 403.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<String>,
    /// Claim naming the caller's tenant (default `tenant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_claim: Option<String>,
    /// Claim naming the caller's user (default `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_claim: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 600))]
    pub leeway_seconds: Option<u32>,
}

/// API keys from a Secret.
///
/// The Secret holds one key (default `keys.yaml`) with a YAML (or JSON) list of entries:
/// `{name, tenant, user, key | sha256, scopes}`; see `docs/security.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyConfig {
    /// The Secret holding the key table (`key` defaults to `keys.yaml`).
    pub secret_ref: SecretRef,
    /// Header carrying the key (default `X-API-Key`); `Authorization: Bearer` is also read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

/// A configuration the authenticator cannot work with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid inboundAuth: {0}")]
pub struct AuthConfigError(pub String);

impl InboundAuthConfig {
    /// Checks what the schema cannot: the settings for the chosen type are present and usable.
    pub fn validate(&self) -> Result<(), AuthConfigError> {
        let err = |m: &str| Err(AuthConfigError(m.to_owned()));
        match self.kind {
            InboundAuthType::None => Ok(()),
            InboundAuthType::Jwt => {
                let Some(jwt) = &self.jwt else {
                    return err("jwt is required when type is JWT");
                };
                match url::Url::parse(&jwt.discovery_url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => return err("jwt.discoveryUrl must be an http(s) URL"),
                }
                if jwt.allowed_audiences.iter().any(|a| a.is_empty()) {
                    return err("jwt.allowedAudiences entries must not be empty");
                }
                if jwt
                    .required_scopes
                    .iter()
                    .any(|s| s.is_empty() || s.contains(' '))
                {
                    return err("jwt.requiredScopes entries must be single non-empty scopes");
                }
                Ok(())
            }
            InboundAuthType::ApiKey => {
                let Some(api_key) = &self.api_key else {
                    return err("apiKey is required when type is APIKey");
                };
                if let Some(header) = &api_key.header
                    && http::HeaderName::from_bytes(header.as_bytes()).is_err()
                {
                    return err("apiKey.header is not a valid HTTP header name");
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let yaml = r#"
type: JWT
jwt:
  discoveryUrl: http://127.0.0.1:1/.well-known/openid-configuration
  allowedAudiences: [switchboard]
  allowedClients: [agent-a]
  requiredScopes: [mcp:tools]
  tenantClaim: tenant
  userClaim: sub
  leewaySeconds: 30
apiKey:
  secretRef: {name: gateway-api-keys}
  header: X-API-Key
"#;
        let cfg: InboundAuthConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(cfg.kind, InboundAuthType::Jwt);
        assert_eq!(cfg.jwt.as_ref().unwrap().allowed_clients, ["agent-a"]);
        assert_eq!(
            cfg.api_key.as_ref().unwrap().secret_ref.name,
            "gateway-api-keys"
        );
        cfg.validate().unwrap();
    }

    #[test]
    fn type_is_required_and_none_is_explicit() {
        assert!(serde_yaml::from_str::<InboundAuthConfig>("jwt: null").is_err());
        let none: InboundAuthConfig = serde_yaml::from_str("type: None").unwrap();
        assert_eq!(none.kind, InboundAuthType::None);
        let missing: InboundAuthConfig = serde_yaml::from_str("type: JWT").unwrap();
        assert!(missing.validate().is_err());
    }

    #[test]
    fn schema_carries_cel_rules() {
        let schema = schemars::schema_for!(InboundAuthConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("x-kubernetes-validations"), "{text}");
    }
}
