//! The issuer's discovery document and signing keys, fetched lazily and cached.
//!
//! Discovery is fetched once. The JWKS is fetched on first use, again when a token names a
//! `kid` the cache lacks (key rotation) but at most once per refresh interval, so a flood of
//! tokens with made-up `kid`s cannot turn the gateway into a JWKS-fetching amplifier, and
//! again when the cached set is older than [`MAX_KEY_AGE`] (to drop revoked keys). Refreshes
//! are single-flight; on failure the previous keys keep working.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::jwk::KeySet;
use crate::auth::fetch::{self, display_url};

/// Default minimum time between two JWKS fetches.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Cached keys older than this are refetched on the next request.
pub const MAX_KEY_AGE: Duration = Duration::from_secs(15 * 60);

/// What the gateway needs from the discovery document.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: String,
}

/// Why keys could not be had. Logged by the caller; the client only sees 503.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("OIDC discovery from {url} failed: {reason}")]
    Discovery { url: String, reason: String },
    #[error("JWKS from {url} failed: {reason}")]
    Jwks { url: String, reason: String },
    #[error("OIDC discovery failed recently; retrying later")]
    Backoff,
    #[error("no JWKS has been fetched yet")]
    NoKeys,
}

#[derive(Default)]
struct FetchTimes {
    last_jwks_attempt: Option<Instant>,
    last_jwks_success: Option<Instant>,
    last_discovery_failure: Option<Instant>,
}

/// Discovery + JWKS cache for one issuer.
pub(crate) struct IssuerKeys {
    http: reqwest::Client,
    discovery_url: String,
    min_refresh_interval: Duration,
    discovery: tokio::sync::OnceCell<Discovery>,
    keys: RwLock<Arc<KeySet>>,
    times: Mutex<FetchTimes>,
    /// Held while fetching, so concurrent misses wait for one fetch instead of each doing one.
    refreshing: tokio::sync::Mutex<()>,
}

impl IssuerKeys {
    pub(crate) fn new(http: reqwest::Client, discovery_url: String) -> Self {
        Self {
            http,
            discovery_url,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            discovery: tokio::sync::OnceCell::new(),
            keys: RwLock::new(Arc::new(KeySet::default())),
            times: Mutex::new(FetchTimes::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn set_min_refresh_interval(&mut self, interval: Duration) {
        self.min_refresh_interval = interval;
    }

    /// The discovery document, fetched on first call. After a failure, calls within the
    /// refresh interval fail fast instead of hitting the authorization server again.
    pub(crate) async fn discovery(&self) -> Result<&Discovery, KeyError> {
        if let Some(d) = self.discovery.get() {
            return Ok(d);
        }
        if let Ok(times) = self.times.lock()
            && times
                .last_discovery_failure
                .is_some_and(|t| t.elapsed() < self.min_refresh_interval)
        {
            return Err(KeyError::Backoff);
        }
        let result = self
            .discovery
            .get_or_try_init(|| fetch_discovery(&self.http, &self.discovery_url))
            .await;
        if result.is_err()
            && let Ok(mut times) = self.times.lock()
        {
            times.last_discovery_failure = Some(Instant::now());
        }
        result
    }

    /// The cached keys, fetching them first if there are none yet or they are too old
    /// (both subject to the refresh interval, so a down authorization server is not hit on
    /// every request).
    pub(crate) async fn current(&self) -> Result<Arc<KeySet>, KeyError> {
        let fresh = self
            .times
            .lock()
            .map(|t| {
                t.last_jwks_success
                    .is_some_and(|s| s.elapsed() < MAX_KEY_AGE)
            })
            .unwrap_or(false);
        if !fresh && let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "JWKS fetch failed");
        }
        let ever_fetched = self
            .times
            .lock()
            .map(|t| t.last_jwks_success.is_some())
            .unwrap_or(false);
        if ever_fetched {
            Ok(self.snapshot())
        } else {
            Err(KeyError::NoKeys)
        }
    }

    /// Refetches the JWKS after a token named an unknown `kid`, unless a fetch happened
    /// within the refresh interval. Returns the (possibly unchanged) keys.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> Arc<KeySet> {
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "JWKS refresh for an unknown kid failed");
        }
        self.snapshot()
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(keys) => Arc::clone(&keys),
            Err(_) => Arc::new(KeySet::default()),
        }
    }

    async fn refresh(&self) -> Result<(), KeyError> {
        let asked_at = Instant::now();
        let _flight = self.refreshing.lock().await;
        if let Ok(times) = self.times.lock()
            && let Some(last) = times.last_jwks_attempt
        {
            // Someone fetched while we waited for the lock: use their result.
            if last >= asked_at {
                return Ok(());
            }
            if last.elapsed() < self.min_refresh_interval {
                return Ok(());
            }
        }
        if let Ok(mut times) = self.times.lock() {
            times.last_jwks_attempt = Some(Instant::now());
        }
        let discovery = self.discovery().await?;
        let keys = fetch_jwks(&self.http, &discovery.jwks_uri).await?;
        tracing::debug!(keys = keys.len(), "JWKS refreshed");
        if let Ok(mut slot) = self.keys.write() {
            *slot = Arc::new(keys);
        }
        if let Ok(mut times) = self.times.lock() {
            times.last_jwks_success = Some(Instant::now());
        }
        Ok(())
    }
}

async fn fetch_discovery(http: &reqwest::Client, url: &str) -> Result<Discovery, KeyError> {
    let fail = |reason: String| KeyError::Discovery {
        url: display_url(url),
        reason,
    };
    let doc = fetch::get_json(http, url)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let text = |name: &str| {
        doc.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| fail(format!("document has no {name}")))
    };
    let issuer = text("issuer")?;
    let jwks_uri = text("jwks_uri")?;
    match url::Url::parse(&jwks_uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => return Err(fail("jwks_uri is not an http(s) URL".to_owned())),
    }
    Ok(Discovery { issuer, jwks_uri })
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<KeySet, KeyError> {
    let fail = |reason: String| KeyError::Jwks {
        url: display_url(url),
        reason,
    };
    let doc = fetch::get_json(http, url)
        .await
        .map_err(|e| fail(e.to_string()))?;
    KeySet::from_jwks(&doc).map_err(fail)
}
