//! JWT access-token validation: header → key → signature → claims.
//!
//! Signatures are checked with aws-lc-rs directly rather than through a JWT crate: the
//! gateway needs verification only, aws-lc-rs is already its TLS crypto provider (no new
//! dependency, no `ring`), and keeping the `alg` → key-type binding in our own ~100 lines
//! makes the algorithm-confusion rules (`none`, `HS*` against a public key, an RSA `alg`
//! against an EC key) explicit and tested here.

mod alg;
mod claims;
mod jwk;
mod jws;
mod keys;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use keys::{DEFAULT_MIN_REFRESH_INTERVAL, MAX_KEY_AGE};

use crate::auth::caller::Caller;
use crate::auth::config::JwtConfig;
use crate::auth::rejection::{AuthRejection, TokenProblem};
use crate::secrets::SecretValue;
use claims::ClaimRules;
use jwk::KeySet;
use jws::UnverifiedToken;
use keys::IssuerKeys;

/// Validates bearer tokens for one `inboundAuth.jwt` configuration.
pub(crate) struct JwtValidator {
    config: JwtConfig,
    keys: IssuerKeys,
    rules: OnceLock<ClaimRules>,
}

enum Verification {
    Valid,
    NoKey,
    BadSignature,
}

impl JwtValidator {
    pub(crate) fn new(config: JwtConfig, http: reqwest::Client) -> Self {
        let keys = IssuerKeys::new(http, config.discovery_url.clone());
        Self {
            config,
            keys,
            rules: OnceLock::new(),
        }
    }

    pub(crate) fn set_min_refresh_interval(&mut self, interval: Duration) {
        self.keys.set_min_refresh_interval(interval);
    }

    /// The issuer from discovery (fetching it if needed).
    pub(crate) async fn issuer(&self) -> Result<String, AuthRejection> {
        self.keys
            .discovery()
            .await
            .map(|d| d.issuer.clone())
            .map_err(unavailable)
    }

    /// Fetches discovery and keys now, so the first request does not pay for them and
    /// readiness can reflect whether the authorization server is reachable.
    pub(crate) async fn warm_up(&self) -> Result<(), AuthRejection> {
        self.keys.discovery().await.map_err(unavailable)?;
        self.keys.current().await.map_err(unavailable)?;
        Ok(())
    }

    pub(crate) async fn validate(
        &self,
        token: &str,
        resource_url: &str,
    ) -> Result<Caller, AuthRejection> {
        let parsed = UnverifiedToken::parse(token).map_err(AuthRejection::InvalidToken)?;
        let discovery = self.keys.discovery().await.map_err(unavailable)?;
        let key_set = self.keys.current().await.map_err(unavailable)?;
        let mut outcome = verify(&key_set, &parsed);
        if matches!(outcome, Verification::NoKey) {
            let refreshed = self.keys.refresh_for_unknown_kid().await;
            outcome = verify(&refreshed, &parsed);
        }
        match outcome {
            Verification::Valid => {}
            Verification::NoKey => {
                return Err(AuthRejection::InvalidToken(TokenProblem::UnknownKey));
            }
            Verification::BadSignature => {
                return Err(AuthRejection::InvalidToken(TokenProblem::BadSignature));
            }
        }
        let claims = parsed.claims().map_err(AuthRejection::InvalidToken)?;
        let rules = self
            .rules
            .get_or_init(|| ClaimRules::new(&self.config, discovery.issuer.clone()));
        rules.check(claims, unix_now(), resource_url, SecretValue::new(token))
    }
}

fn verify(keys: &KeySet, token: &UnverifiedToken<'_>) -> Verification {
    let mut any = false;
    for key in keys.candidates(token.kid.as_deref(), token.alg) {
        any = true;
        if key
            .verify_sig(token.signing_input, &token.signature)
            .is_ok()
        {
            return Verification::Valid;
        }
    }
    // A known kid whose signature fails is forgery or corruption, not rotation: no refetch.
    if any || token.kid.as_deref().is_some_and(|kid| keys.has_kid(kid)) {
        Verification::BadSignature
    } else {
        Verification::NoKey
    }
}

fn unavailable(err: keys::KeyError) -> AuthRejection {
    tracing::warn!(error = %err, "cannot validate tokens: authorization server unavailable");
    AuthRejection::Unavailable
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
