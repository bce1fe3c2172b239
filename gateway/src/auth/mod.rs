//! Inbound authentication: who is calling the gateway.
//!
//! [`InboundAuthenticator`] turns request headers into a [`Caller`] or an [`AuthRejection`]
//! (which renders the 401/403 answer MCP clients expect). JWTs are validated locally against
//! the issuer's JWKS; API keys against a key table in a Secret. Tokens are never logged.

mod api_key;
mod caller;
mod config;
pub(crate) mod fetch;
mod jwt;
mod metadata;
mod rejection;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use caller::{AuthMethod, Caller};
pub use config::{
    ApiKeyConfig, AuthConfigError, DEFAULT_API_KEY_HEADER, DEFAULT_API_KEYS_SECRET_KEY,
    DEFAULT_LEEWAY_SECONDS, DEFAULT_TENANT_CLAIM, DEFAULT_USER_CLAIM, InboundAuthConfig,
    InboundAuthType, JwtConfig,
};
pub use jwt::{DEFAULT_MIN_REFRESH_INTERVAL, MAX_KEY_AGE};
pub use metadata::{WELL_KNOWN_PATH, metadata_url, protected_resource_metadata};
pub use rejection::{AuthRejection, TokenProblem};

use crate::secrets::SecretSource;
use api_key::ApiKeyAuthenticator;
use jwt::JwtValidator;
use rejection::TokenProblem as Problem;

/// Authenticates inbound requests for one Gateway. Cheap to share (`Arc`) across requests.
pub struct InboundAuthenticator {
    mode: Mode,
    scopes: Vec<String>,
}

enum Mode {
    None,
    Jwt(Box<JwtValidator>),
    ApiKey(ApiKeyAuthenticator),
}

impl InboundAuthenticator {
    /// Builds an authenticator. Nothing is fetched yet: discovery and keys load on first use
    /// (or [`InboundAuthenticator::warm_up`]). `http` should have the cluster's CA roots and
    /// no proxy surprises; its per-request timeout is set here.
    pub fn new(
        config: &InboundAuthConfig,
        secrets: Arc<dyn SecretSource>,
        http: reqwest::Client,
    ) -> Result<Self, AuthConfigError> {
        config.validate()?;
        let missing = |what: &str| AuthConfigError(format!("{what} is required"));
        let (mode, scopes) = match config.kind {
            InboundAuthType::None => (Mode::None, Vec::new()),
            InboundAuthType::Jwt => {
                let jwt = config.jwt.clone().ok_or_else(|| missing("jwt"))?;
                let scopes = jwt.required_scopes.clone();
                (Mode::Jwt(Box::new(JwtValidator::new(jwt, http))), scopes)
            }
            InboundAuthType::ApiKey => {
                let api_key = config.api_key.as_ref().ok_or_else(|| missing("apiKey"))?;
                let auth = ApiKeyAuthenticator::new(api_key, secrets).map_err(AuthConfigError)?;
                (Mode::ApiKey(auth), Vec::new())
            }
        };
        Ok(Self { mode, scopes })
    }

    /// Changes the minimum time between two JWKS fetches triggered by unknown `kid`s
    /// (default [`DEFAULT_MIN_REFRESH_INTERVAL`]). Meant for tests of key rotation.
    pub fn with_min_jwks_refresh_interval(mut self, interval: Duration) -> Self {
        if let Mode::Jwt(jwt) = &mut self.mode {
            jwt.set_min_refresh_interval(interval);
        }
        self
    }

    /// Which kind of authentication this is.
    pub fn kind(&self) -> InboundAuthType {
        match self.mode {
            Mode::None => InboundAuthType::None,
            Mode::Jwt(_) => InboundAuthType::Jwt,
            Mode::ApiKey(_) => InboundAuthType::ApiKey,
        }
    }

    /// Authenticates one request. `resource_url` is the public URL of the MCP endpoint the
    /// request reached (e.g. `https://gw.example/mcp`); with no `allowedAudiences`
    /// configured, JWTs must be issued for it.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        resource_url: &str,
    ) -> Result<Caller, AuthRejection> {
        match &self.mode {
            Mode::None => Ok(Caller::anonymous()),
            Mode::ApiKey(api_key) => api_key.authenticate(headers),
            Mode::Jwt(jwt) => {
                let token = bearer_token(headers)?.ok_or(AuthRejection::MissingToken)?;
                jwt.validate(token, resource_url).await
            }
        }
    }

    /// Loads discovery and keys now. Use it before reporting ready; a failure means the
    /// authorization server is unreachable (requests would get 503 until it is back).
    pub async fn warm_up(&self) -> Result<(), AuthRejection> {
        match &self.mode {
            Mode::Jwt(jwt) => jwt.warm_up().await,
            _ => Ok(()),
        }
    }

    /// The RFC 9728 metadata document to serve at [`metadata_url`] for `resource_url`, or
    /// `None` when inbound auth is not OAuth (serve 404 then).
    pub async fn resource_metadata(
        &self,
        resource_url: &str,
    ) -> Option<Result<serde_json::Value, AuthRejection>> {
        match &self.mode {
            Mode::Jwt(jwt) => Some(
                jwt.issuer()
                    .await
                    .map(|issuer| protected_resource_metadata(resource_url, &issuer, &self.scopes)),
            ),
            _ => None,
        }
    }
}

/// The bearer token from `Authorization`, `None` when there is no bearer credential.
/// Several `Authorization` headers, or a bearer scheme with a malformed token, are refused.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthRejection> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthRejection::InvalidToken(Problem::Malformed));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthRejection::InvalidToken(Problem::Malformed))?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthRejection::InvalidToken(Problem::Malformed));
    }
    Ok(Some(token))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn bearer_extraction() {
        assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
        assert_eq!(bearer_token(&headers(&["Basic abc"])).unwrap(), None);
        assert_eq!(
            bearer_token(&headers(&["bearer abc"])).unwrap(),
            Some("abc")
        );
        assert!(bearer_token(&headers(&["Bearer a", "Bearer b"])).is_err());
        assert!(bearer_token(&headers(&["Bearer  "])).is_err());
    }
}
