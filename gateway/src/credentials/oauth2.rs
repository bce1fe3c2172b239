//! OAuth 2.0 client credentials grant with a cached, single-flight token.
//!
//! A token is reused until shortly before it expires. When it must be (re)fetched, one task
//! fetches while the others wait and then share the result, success or failure, so a burst
//! of calls never becomes a burst of token requests.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{HeaderValue, header};
use serde_json::Value;

use super::config::{ClientAuthMethod, OAuth2Credential};
use super::error::{CredentialError, sanitize_error_code};
use crate::auth::fetch::{self, FETCH_TIMEOUT, display_url};
use crate::secrets::{SecretKeyRef, SecretSource, SecretValue};

/// Lifetime assumed when the token response has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Refresh at most this long before expiry...
const MAX_EARLY_REFRESH: Duration = Duration::from_secs(60);
/// ...and never with less than this many seconds of lifetime ignored (tenth of lifetime).
const EARLY_REFRESH_DIVISOR: u32 = 10;
/// Invalidations closer together than this are one event: a burst of 401s caused by one
/// expired token must not discard the fresh token the first retry fetched.
const INVALIDATION_COALESCE: Duration = Duration::from_secs(1);
/// Token responses are tiny.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

struct CachedToken {
    value: SecretValue,
    refresh_at: Instant,
}

#[derive(Default)]
struct TokenState {
    token: Option<CachedToken>,
    /// Incremented by every completed fetch, so waiters can tell one happened.
    fetches: u64,
    last_error: Option<CredentialError>,
    last_invalidation: Option<Instant>,
}

/// A client-credentials token source for one target.
pub(crate) struct ClientCredentials {
    config: OAuth2Credential,
    url_for_messages: String,
    secrets: Arc<dyn SecretSource>,
    http: reqwest::Client,
    state: RwLock<TokenState>,
    flight: tokio::sync::Mutex<()>,
}

impl ClientCredentials {
    pub(crate) fn new(
        config: OAuth2Credential,
        secrets: Arc<dyn SecretSource>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            url_for_messages: display_url(&config.token_url),
            config,
            secrets,
            http,
            state: RwLock::new(TokenState::default()),
            flight: tokio::sync::Mutex::new(()),
        }
    }

    /// A valid access token, from the cache or freshly fetched.
    pub(crate) async fn token(&self) -> Result<SecretValue, CredentialError> {
        let seen = {
            let state = self.read_state();
            if let Some(token) = state
                .token
                .as_ref()
                .filter(|t| Instant::now() < t.refresh_at)
            {
                return Ok(token.value.clone());
            }
            state.fetches
        };
        let _flight = self.flight.lock().await;
        {
            let state = self.read_state();
            if let Some(token) = state
                .token
                .as_ref()
                .filter(|t| Instant::now() < t.refresh_at)
            {
                return Ok(token.value.clone());
            }
            if state.fetches != seen
                && let Some(err) = &state.last_error
            {
                // The fetch we waited for failed: share its error instead of retrying at once.
                return Err(err.clone());
            }
        }
        let started = Instant::now();
        let result = self.fetch().await;
        let mut state = self.write_state();
        state.fetches += 1;
        match result {
            Ok((value, lifetime)) => {
                state.token = Some(CachedToken {
                    value: value.clone(),
                    refresh_at: started + lifetime - early_refresh(lifetime),
                });
                state.last_error = None;
                Ok(value)
            }
            Err(err) => {
                state.token = None;
                state.last_error = Some(err.clone());
                Err(err)
            }
        }
    }

    /// Forgets the cached token after the target answered 401, unless another 401 already
    /// did so within [`INVALIDATION_COALESCE`].
    pub(crate) fn invalidate(&self) {
        let mut state = self.write_state();
        let now = Instant::now();
        if state
            .last_invalidation
            .is_some_and(|t| now.duration_since(t) < INVALIDATION_COALESCE)
        {
            return;
        }
        state.last_invalidation = Some(now);
        state.token = None;
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, TokenState> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, TokenState> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read_secret(&self, reference: &SecretKeyRef) -> Result<SecretValue, CredentialError> {
        Ok(self.secrets.read(&reference.name, &reference.key)?)
    }

    async fn fetch(&self) -> Result<(SecretValue, Duration), CredentialError> {
        let client_id = self.read_secret(&self.config.client_id_secret_ref)?;
        let client_secret = self.read_secret(&self.config.client_secret_ref)?;
        let method = self.config.client_auth_method.unwrap_or_default();
        // In a block: the serializer is not `Send` and must be gone before any await.
        let form_body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if !self.config.scopes.is_empty() {
                form.append_pair("scope", &self.config.scopes.join(" "));
            }
            if let Some(audience) = &self.config.audience {
                form.append_pair("audience", audience);
            }
            if let Some(resource) = &self.config.resource {
                form.append_pair("resource", resource);
            }
            if method == ClientAuthMethod::ClientSecretPost {
                form.append_pair("client_id", client_id.expose());
                form.append_pair("client_secret", client_secret.expose());
            }
            form.finish()
        };
        let mut request = self
            .http
            .post(&self.config.token_url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .timeout(FETCH_TIMEOUT);
        if method == ClientAuthMethod::ClientSecretBasic {
            // RFC 6749 §2.3.1: form-encode each part before base64.
            let user: String =
                url::form_urlencoded::byte_serialize(client_id.expose().as_bytes()).collect();
            let pass: String =
                url::form_urlencoded::byte_serialize(client_secret.expose().as_bytes()).collect();
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| CredentialError::InvalidRequest)?;
            value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.body(form_body).send().await.map_err(|e| {
            CredentialError::TokenEndpointUnreachable {
                url: self.url_for_messages.clone(),
                reason: fetch::describe(&e),
            }
        })?;
        let status = response.status();
        let body = fetch::read_bounded(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .map_err(|e| self.invalid(e.to_string()))?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            return Err(CredentialError::TokenEndpointRejected {
                url: self.url_for_messages.clone(),
                status: status.as_u16(),
                error: json
                    .as_ref()
                    .and_then(|j| j.get("error"))
                    .and_then(Value::as_str)
                    .and_then(sanitize_error_code),
            });
        }
        let json = json.ok_or_else(|| self.invalid("response is not JSON".to_owned()))?;
        let token = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.invalid("no access_token".to_owned()))?;
        if let Some(kind) = json.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(self.invalid(format!(
                "token_type {:?} is not Bearer",
                sanitize_error_code(kind).unwrap_or_default()
            )));
        }
        let lifetime = match json.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64().map(Duration::from_secs),
            // Some servers send it as a string.
            Some(Value::String(s)) => s.parse().ok().map(Duration::from_secs),
            _ => None,
        }
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_LIFETIME);
        Ok((SecretValue::new(token), lifetime))
    }

    fn invalid(&self, reason: String) -> CredentialError {
        CredentialError::InvalidTokenResponse {
            url: self.url_for_messages.clone(),
            reason,
        }
    }
}

/// How long before expiry to stop using a token: a tenth of its lifetime, at most a minute,
/// so clock skew and request latency never make us send an expired token.
fn early_refresh(lifetime: Duration) -> Duration {
    (lifetime / EARLY_REFRESH_DIVISOR).min(MAX_EARLY_REFRESH)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_shortly_before_expiry() {
        assert_eq!(
            early_refresh(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            early_refresh(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            early_refresh(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
    }
}
