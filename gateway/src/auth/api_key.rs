//! API keys from a Secret, each mapped to a tenant and a user.
//!
//! The Secret holds a key table (default key `keys.yaml`), a YAML or JSON list:
//!
//! ```yaml
//! - name: ci-bot          # unique label, shown in audit lines (never the key)
//!   key: sk-live-...      # the key itself, or instead:
//!   sha256: 9f86d0...     # hex SHA-256 of the key, so the Secret need not hold it
//!   tenant: acme          # optional
//!   user: alice           # optional, defaults to name
//!   scopes: [mcp:tools]   # optional
//! ```
//!
//! Presented keys are looked up by their SHA-256 digest, so the comparison never runs over
//! the key bytes themselves. The table is re-parsed whenever the Secret changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use http::HeaderMap;
use serde::Deserialize;

use crate::auth::caller::{AuthMethod, Caller};
use crate::auth::config::{ApiKeyConfig, DEFAULT_API_KEY_HEADER, DEFAULT_API_KEYS_SECRET_KEY};
use crate::auth::rejection::AuthRejection;
use crate::secrets::{SecretSource, SecretValue};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// Who a key belongs to.
#[derive(Debug)]
struct Identity {
    name: String,
    tenant: Option<String>,
    user: String,
    scopes: Vec<String>,
}

type Table = HashMap<[u8; 32], Arc<Identity>>;
/// The secret read a table was parsed from, and the parse outcome (errors are cached too,
/// so a broken table is logged once per change, not once per request).
type CachedTable = Option<(SecretValue, Result<Arc<Table>, String>)>;

/// Authenticates requests by API key.
pub(crate) struct ApiKeyAuthenticator {
    secret_name: String,
    secret_key: String,
    header: http::HeaderName,
    secrets: Arc<dyn SecretSource>,
    /// The last table parsed, with the secret read it came from.
    cache: Mutex<CachedTable>,
}

impl ApiKeyAuthenticator {
    pub(crate) fn new(
        config: &ApiKeyConfig,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Self, String> {
        let header = config.header.as_deref().unwrap_or(DEFAULT_API_KEY_HEADER);
        let header = http::HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| "apiKey.header is not a valid HTTP header name".to_owned())?;
        Ok(Self {
            secret_name: config.secret_ref.name.clone(),
            secret_key: config
                .secret_ref
                .key
                .clone()
                .unwrap_or_else(|| DEFAULT_API_KEYS_SECRET_KEY.to_owned()),
            header,
            secrets,
            cache: Mutex::new(None),
        })
    }

    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthRejection> {
        let header = self.header.as_str().to_owned();
        let presented =
            presented_key(headers, &self.header).ok_or(AuthRejection::MissingApiKey {
                header: header.clone(),
            })?;
        let table = self.table()?;
        let digest = sha256(presented.as_bytes());
        let identity = table
            .get(&digest)
            .ok_or(AuthRejection::InvalidApiKey { header })?;
        Ok(Caller {
            method: AuthMethod::ApiKey,
            subject: identity.name.clone(),
            client_id: None,
            tenant: identity.tenant.clone(),
            user: Some(identity.user.clone()),
            scopes: identity.scopes.clone(),
            claims: serde_json::json!({}),
            token: None,
        })
    }

    /// The current key table, re-parsed only when the Secret changed.
    fn table(&self) -> Result<Arc<Table>, AuthRejection> {
        let raw = self
            .secrets
            .read(&self.secret_name, &self.secret_key)
            .map_err(|e| {
                tracing::error!(error = %e, "API key table unavailable");
                AuthRejection::Unavailable
            })?;
        let mut cache = self.cache.lock().map_err(|_| AuthRejection::Unavailable)?;
        let outcome = match cache.as_ref() {
            Some((read, outcome)) if read.same_read(&raw) => outcome.clone(),
            _ => {
                let outcome = parse_table(raw.expose()).map(Arc::new);
                if let Err(reason) = &outcome {
                    tracing::error!(
                        secret = %self.secret_name,
                        key = %self.secret_key,
                        reason = %reason,
                        "API key table is invalid"
                    );
                }
                *cache = Some((raw, outcome.clone()));
                outcome
            }
        };
        outcome.map_err(|_| AuthRejection::Unavailable)
    }
}

/// The key from the configured header, else from `Authorization: Bearer` (many MCP clients
/// can only send bearer tokens).
fn presented_key<'h>(headers: &'h HeaderMap, header: &http::HeaderName) -> Option<&'h str> {
    if let Some(value) = headers.get(header) {
        return value.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    crate::auth::bearer_token(headers).ok().flatten()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// Parses the key table. Errors carry entry names and positions only: a YAML type error's
/// own message can quote the offending value, which may be a key.
fn parse_table(text: &str) -> Result<Table, String> {
    let entries: Vec<Entry> = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(at) => format!(
            "not a list of key entries (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => "not a list of key entries".to_owned(),
    })?;
    let mut table = Table::new();
    let mut names = std::collections::HashSet::new();
    for entry in entries {
        if entry.name.is_empty() || !names.insert(entry.name.clone()) {
            return Err(format!("entry name {:?} is empty or repeated", entry.name));
        }
        let digest = match (&entry.key, &entry.sha256) {
            (Some(key), None) if !key.is_empty() => sha256(key.as_bytes()),
            (None, Some(hex)) => parse_hex_digest(hex)
                .ok_or_else(|| format!("entry {:?}: sha256 is not 64 hex digits", entry.name))?,
            _ => {
                return Err(format!(
                    "entry {:?} needs exactly one of key and sha256",
                    entry.name
                ));
            }
        };
        let identity = Identity {
            user: entry.user.unwrap_or_else(|| entry.name.clone()),
            name: entry.name,
            tenant: entry.tenant,
            scopes: entry.scopes,
        };
        if table.insert(digest, Arc::new(identity)).is_some() {
            return Err("two entries share the same key".to_owned());
        }
    }
    Ok(table)
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table_errors_never_quote_values() {
        let err = parse_table("- name: a\n  key: [sk-secret-value]\n").unwrap_err();
        assert!(!err.contains("sk-secret-value"), "{err}");
        let err = parse_table("- {name: a, key: k1}\n- {name: b, key: k1}\n").unwrap_err();
        assert!(!err.contains("k1"), "{err}");
        assert!(parse_table("- {name: a, key: k, sha256: ab}\n").is_err());
        assert!(parse_table("- {name: a, kee: k}\n").is_err());
    }

    #[test]
    fn hashed_and_plain_keys_map_to_identities() {
        let hashed = "- name: h\n  sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n";
        let table = parse_table(hashed).unwrap();
        assert_eq!(table.get(&sha256(b"hello")).unwrap().name, "h");
        let table = parse_table("- {name: p, key: k, tenant: t, user: u}\n").unwrap();
        let id = table.get(&sha256(b"k")).unwrap();
        assert_eq!((id.tenant.as_deref(), id.user.as_str()), (Some("t"), "u"));
    }
}
