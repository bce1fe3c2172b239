//! Outbound credentials: what the gateway sends to a target, for sync and tools/call alike.
//!
//! Values are read from the [`SecretSource`] on every use, so a rotated Secret applies to the
//! next request; OAuth tokens are cached per target until shortly before they expire. Header
//! values are marked sensitive so HTTP-level debug output redacts them.

mod config;
mod error;
mod oauth2;

use std::sync::Arc;

use http::{HeaderName, HeaderValue, header};

pub use config::{
    ApiKeyCredential, ApiKeyLocation, BearerCredential, ClientAuthMethod, CredentialType,
    OAuth2Credential, TargetCredentials,
};
pub use error::CredentialError;

use crate::auth::Caller;
use crate::secrets::{SecretKeyRef, SecretSource, SecretValue};
use oauth2::ClientCredentials;

/// Default header for `type: APIKey, in: header`.
pub const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";
/// Default query parameter for `type: APIKey, in: query`.
pub const DEFAULT_API_KEY_QUERY: &str = "api_key";

/// Applies one target's credentials to outgoing requests. Share one per target (`Arc`): the
/// OAuth token cache lives here.
pub struct OutboundCredentials {
    kind: Kind,
    forward_caller_token: bool,
    secrets: Arc<dyn SecretSource>,
}

enum Kind {
    None,
    Header {
        name: HeaderName,
        secret: SecretKeyRef,
        bearer: bool,
    },
    Query {
        name: String,
        secret: SecretKeyRef,
    },
    OAuth2(Box<ClientCredentials>),
}

impl OutboundCredentials {
    /// Checks the configuration and prepares the credential; nothing is read or fetched yet.
    pub fn new(
        config: &TargetCredentials,
        secrets: Arc<dyn SecretSource>,
        http: reqwest::Client,
    ) -> Result<Self, CredentialError> {
        let missing = |what: &str| {
            CredentialError::InvalidConfig(format!("{what} is required for this type"))
        };
        let kind = match config.kind {
            CredentialType::None => Kind::None,
            CredentialType::Bearer => {
                let bearer = config.bearer.as_ref().ok_or_else(|| missing("bearer"))?;
                Kind::Header {
                    name: header::AUTHORIZATION,
                    secret: bearer.secret_ref.clone(),
                    bearer: true,
                }
            }
            CredentialType::ApiKey => {
                let api_key = config.api_key.as_ref().ok_or_else(|| missing("apiKey"))?;
                match api_key.location {
                    ApiKeyLocation::Header => {
                        let name = api_key.name.as_deref().unwrap_or(DEFAULT_API_KEY_HEADER);
                        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            CredentialError::InvalidConfig(format!(
                                "apiKey.name {name:?} is not a valid header name"
                            ))
                        })?;
                        Kind::Header {
                            name,
                            secret: api_key.secret_ref.clone(),
                            bearer: false,
                        }
                    }
                    ApiKeyLocation::Query => Kind::Query {
                        name: api_key
                            .name
                            .clone()
                            .unwrap_or_else(|| DEFAULT_API_KEY_QUERY.to_owned()),
                        secret: api_key.secret_ref.clone(),
                    },
                }
            }
            CredentialType::OAuth2ClientCredentials => {
                let oauth2 = config.oauth2.as_ref().ok_or_else(|| missing("oauth2"))?;
                match url::Url::parse(&oauth2.token_url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => {
                        return Err(CredentialError::InvalidConfig(
                            "oauth2.tokenUrl must be an http(s) URL".to_owned(),
                        ));
                    }
                }
                Kind::OAuth2(Box::new(ClientCredentials::new(
                    oauth2.clone(),
                    Arc::clone(&secrets),
                    http,
                )))
            }
        };
        Ok(Self {
            kind,
            forward_caller_token: config.forward_caller_token,
            secrets,
        })
    }

    /// Adds the credential to `request`. With `forwardCallerToken` and a caller holding a
    /// bearer token, that token is sent instead. Errors are safe to show (see
    /// [`CredentialError`]).
    pub async fn apply(
        &self,
        request: reqwest::RequestBuilder,
        caller: Option<&Caller>,
    ) -> Result<reqwest::RequestBuilder, CredentialError> {
        if self.forward_caller_token
            && let Some(token) = caller.and_then(|c| c.token.as_ref())
        {
            let value = sensitive(&format!("Bearer {}", token.expose()))
                .ok_or(CredentialError::InvalidRequest)?;
            return Ok(request.header(header::AUTHORIZATION, value));
        }
        match &self.kind {
            Kind::None => Ok(request),
            Kind::Header {
                name,
                secret,
                bearer,
            } => {
                let value = self.read(secret)?;
                let text = if *bearer {
                    format!("Bearer {}", value.expose())
                } else {
                    value.expose().to_owned()
                };
                let value = sensitive(&text).ok_or_else(|| unusable(secret))?;
                Ok(request.header(name.clone(), value))
            }
            Kind::Query { name, secret } => {
                let value = self.read(secret)?;
                let (client, built) = request.build_split();
                let mut built = built.map_err(|_| CredentialError::InvalidRequest)?;
                built
                    .url_mut()
                    .query_pairs_mut()
                    .append_pair(name, value.expose());
                Ok(reqwest::RequestBuilder::from_parts(client, built))
            }
            Kind::OAuth2(client) => {
                let token = client.token().await?;
                let value = sensitive(&format!("Bearer {}", token.expose())).ok_or_else(|| {
                    CredentialError::InvalidTokenResponse {
                        url: String::new(),
                        reason: "access_token is not a valid header value".to_owned(),
                    }
                })?;
                Ok(request.header(header::AUTHORIZATION, value))
            }
        }
    }

    /// Call when the target answered 401 to a request built with [`Self::apply`]: drops the
    /// cached OAuth token so the single retry gets a fresh one. Static credentials are
    /// re-read from their Secret on every request anyway.
    pub fn on_unauthorized(&self) {
        if let Kind::OAuth2(client) = &self.kind {
            client.invalidate();
        }
    }

    fn read(&self, reference: &SecretKeyRef) -> Result<SecretValue, CredentialError> {
        let value = self.secrets.read(&reference.name, &reference.key)?;
        if value.is_empty() {
            return Err(unusable(reference));
        }
        Ok(value)
    }
}

fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

fn unusable(reference: &SecretKeyRef) -> CredentialError {
    CredentialError::UnusableSecret {
        name: reference.name.clone(),
        key: reference.key.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecretSource;

    fn creds(yaml: &str, secrets: Arc<MemorySecretSource>) -> OutboundCredentials {
        let config: TargetCredentials = serde_yaml::from_str(yaml).unwrap();
        OutboundCredentials::new(&config, secrets, reqwest::Client::new()).unwrap()
    }

    fn secrets() -> Arc<MemorySecretSource> {
        let s = MemorySecretSource::new();
        s.insert("s", "k", "key-value-123");
        s.insert("s", "token", "tok-456");
        Arc::new(s)
    }

    async fn built(c: &OutboundCredentials) -> reqwest::Request {
        let client = reqwest::Client::new();
        let req = client.get("http://127.0.0.1:9/mcp?x=1");
        c.apply(req, None).await.unwrap().build().unwrap()
    }

    #[tokio::test]
    async fn api_key_in_header_and_query() {
        let c = creds(
            "type: APIKey\napiKey: {secretRef: {name: s, key: k}, in: header, name: X-Key}",
            secrets(),
        );
        let req = built(&c).await;
        assert_eq!(req.headers()["x-key"], "key-value-123");
        assert!(req.headers()["x-key"].is_sensitive());

        let c = creds(
            "type: APIKey\napiKey: {secretRef: {name: s, key: k}, in: query, name: key}",
            secrets(),
        );
        assert_eq!(
            built(&c).await.url().as_str(),
            "http://127.0.0.1:9/mcp?x=1&key=key-value-123"
        );
    }

    #[tokio::test]
    async fn bearer_and_rotation() {
        let s = secrets();
        let c = creds(
            "type: Bearer\nbearer: {secretRef: {name: s, key: token}}",
            s.clone(),
        );
        assert_eq!(built(&c).await.headers()["authorization"], "Bearer tok-456");
        s.insert("s", "token", "tok-789");
        assert_eq!(built(&c).await.headers()["authorization"], "Bearer tok-789");
    }

    #[tokio::test]
    async fn missing_secret_names_secret_and_key() {
        let c = creds(
            "type: Bearer\nbearer: {secretRef: {name: nope, key: token}}",
            secrets(),
        );
        let err = c
            .apply(reqwest::Client::new().get("http://127.0.0.1:9/"), None)
            .await
            .unwrap_err();
        assert_eq!(err.reason(), "SecretNotFound");
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }

    #[test]
    fn type_without_settings_is_rejected_and_none_is_default() {
        let config: TargetCredentials = serde_yaml::from_str("type: Bearer").unwrap();
        assert!(OutboundCredentials::new(&config, secrets(), reqwest::Client::new()).is_err());
        let config: TargetCredentials = serde_yaml::from_str("{}").unwrap();
        assert_eq!(config.kind, CredentialType::None);
    }

    #[tokio::test]
    async fn forwards_caller_token_only_when_opted_in() {
        let mut caller = Caller::anonymous();
        caller.token = Some(SecretValue::new("caller-jwt"));
        let client = reqwest::Client::new();
        for (yaml, expected) in [
            (
                "type: Bearer\nbearer: {secretRef: {name: s, key: token}}",
                "Bearer tok-456",
            ),
            (
                "type: Bearer\nbearer: {secretRef: {name: s, key: token}}\nforwardCallerToken: true",
                "Bearer caller-jwt",
            ),
        ] {
            let c = creds(yaml, secrets());
            let req = c
                .apply(client.get("http://127.0.0.1:9/"), Some(&caller))
                .await
                .unwrap()
                .build()
                .unwrap();
            assert_eq!(req.headers()["authorization"], expected);
        }
    }
}
