//! `GatewayTarget.spec.credentials`: how the gateway (and the operator, during sync)
//! authenticates to a target. Every value comes from a Secret.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secrets::SecretKeyRef;

/// Outbound credentials for one target. Defaults to `type: None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "self.type != 'APIKey' || has(self.apiKey)", "message": "apiKey is required when type is APIKey"},
    {"rule": "self.type != 'Bearer' || has(self.bearer)", "message": "bearer is required when type is Bearer"},
    {"rule": "self.type != 'OAuth2ClientCredentials' || has(self.oauth2)", "message": "oauth2 is required when type is OAuth2ClientCredentials"}
]))]
pub struct TargetCredentials {
    /// `None`, `APIKey`, `Bearer` or `OAuth2ClientCredentials`.
    #[serde(rename = "type", default)]
    pub kind: CredentialType,
    /// Settings for `type: APIKey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyCredential>,
    /// Settings for `type: Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<BearerCredential>,
    /// Settings for `type: OAuth2ClientCredentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Credential>,
    /// DANGEROUS, off by default: send the caller's own bearer token to this target instead
    /// of the credentials above. The target then sees (and can replay) a token that was
    /// issued for the gateway; enable it only for targets trusted with that token and that
    /// accept the gateway's audience. Requests without a caller token (API-key callers,
    /// sync) still use the credentials above.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forward_caller_token: bool,
}

/// Which outbound credential a target uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CredentialType {
    /// No credentials.
    #[default]
    None,
    /// A static key in a header or query parameter.
    #[serde(rename = "APIKey")]
    ApiKey,
    /// A static bearer token.
    Bearer,
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4).
    OAuth2ClientCredentials,
}

/// Where an API key goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ApiKeyLocation {
    /// An HTTP header.
    #[default]
    Header,
    /// A URL query parameter (avoid when possible: URLs end up in access logs).
    Query,
}

/// A static API key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCredential {
    /// Secret key holding the API key.
    pub secret_ref: SecretKeyRef,
    /// `header` (default) or `query`.
    #[serde(default, rename = "in")]
    pub location: ApiKeyLocation,
    /// Header or query parameter name (default `X-API-Key`, or `api_key` in the query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A static bearer token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerCredential {
    /// Secret key holding the token.
    pub secret_ref: SecretKeyRef,
}

/// How the client authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ClientAuthMethod {
    /// HTTP Basic with the URL-encoded client id and secret (RFC 6749 §2.3.1; the default).
    #[default]
    #[serde(rename = "client_secret_basic")]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    #[serde(rename = "client_secret_post")]
    ClientSecretPost,
}

/// OAuth 2.0 client credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2Credential {
    /// Token endpoint URL.
    #[schemars(length(min = 1))]
    pub token_url: String,
    /// Secret key holding the client id.
    pub client_id_secret_ref: SecretKeyRef,
    /// Secret key holding the client secret.
    pub client_secret_ref: SecretKeyRef,
    /// Scopes to request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `audience` parameter (Auth0, Okta and others use it to pick the API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// RFC 8707 `resource` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth_method: Option<ClientAuthMethod>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let yaml = r#"
type: OAuth2ClientCredentials
apiKey: {secretRef: {name: s, key: k}, in: query, name: X-API-Key}
bearer: {secretRef: {name: s, key: token}}
oauth2:
  tokenUrl: "https://idp/token"
  clientIdSecretRef: {name: o, key: id}
  clientSecretRef: {name: o, key: secret}
  scopes: []
  audience: "api"
  resource: "https://upstream/mcp"
forwardCallerToken: false
"#;
        let c: TargetCredentials = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(c.kind, CredentialType::OAuth2ClientCredentials);
        assert_eq!(c.api_key.unwrap().location, ApiKeyLocation::Query);
        assert_eq!(c.oauth2.unwrap().audience.as_deref(), Some("api"));
        assert!(!c.forward_caller_token);
        let schema = serde_json::to_string(&schemars::schema_for!(TargetCredentials)).unwrap();
        assert!(schema.contains("x-kubernetes-validations"));
    }
}
