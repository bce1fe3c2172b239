//! Sealed session ids: everything a handshake-era session needs travels inside the id,
//! encrypted and authenticated with the gateway's key, so any replica holding the same
//! key accepts it and no replica stores anything.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Binds sealed ids to their purpose, so no other sealed blob can pass for one.
const AAD: &[u8] = b"switchboard.dev/session/v1";

/// What a session carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Negotiated protocol version.
    pub v: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Tenant of the caller that opened it, when inbound auth names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tn: Option<String>,
    /// Subject of the caller that opened it: another caller cannot use the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sb: Option<String>,
}

pub struct SessionSealer {
    key: LessSafeKey,
    ttl_seconds: u64,
}

impl std::fmt::Debug for SessionSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the session key cannot be used: {0}")]
pub struct SessionKeyError(String);

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl SessionSealer {
    /// Any key material of at least 16 bytes; it is hashed into an AES-256 key.
    pub fn new(key_material: &[u8], ttl_seconds: u64) -> Result<Self, SessionKeyError> {
        if key_material.len() < 16 {
            return Err(SessionKeyError("it must hold at least 16 bytes".into()));
        }
        let key = digest::digest(&digest::SHA256, key_material);
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref())
            .map_err(|e| SessionKeyError(e.to_string()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            ttl_seconds,
        })
    }

    /// A random key, for gateways that were given none (sessions then live as long as
    /// the process).
    pub fn random(ttl_seconds: u64) -> Result<Self, SessionKeyError> {
        let mut material = [0u8; 32];
        aws_lc_rs::rand::fill(&mut material).map_err(|e| SessionKeyError(e.to_string()))?;
        Self::new(&material, ttl_seconds)
    }

    pub fn seal(&self, claims: &SessionClaims) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut data = serde_json::to_vec(claims).ok()?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .ok()?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&data);
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// `None` for anything forged, corrupted, sealed with another key or expired.
    pub fn unseal(&self, id: &str) -> Option<SessionClaims> {
        if id.len() > 4096 {
            return None;
        }
        let mut sealed = URL_SAFE_NO_PAD.decode(id).ok()?;
        if sealed.len() <= NONCE_LEN {
            return None;
        }
        let mut data = sealed.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&sealed).ok()?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut data)
            .ok()?;
        let claims: SessionClaims = serde_json::from_slice(plain).ok()?;
        let age = now_seconds().saturating_sub(claims.iat);
        (age <= self.ttl_seconds).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            v: "2025-06-18".into(),
            iat: now_seconds(),
            tn: Some("acme".into()),
            sb: Some("alice".into()),
        }
    }

    #[test]
    fn a_sealed_id_opens_with_the_same_key_anywhere() {
        let a = SessionSealer::new(b"0123456789abcdef-shared", 3600).unwrap();
        let b = SessionSealer::new(b"0123456789abcdef-shared", 3600).unwrap();
        let id = a.seal(&claims()).unwrap();
        assert!(
            id.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "visible ASCII only"
        );
        assert_eq!(b.unseal(&id), Some(claims()));
    }

    #[test]
    fn forged_tampered_foreign_and_expired_ids_are_refused() {
        let sealer = SessionSealer::new(b"0123456789abcdef-shared", 3600).unwrap();
        let other = SessionSealer::new(b"another-key-entirely!!", 3600).unwrap();
        let id = sealer.seal(&claims()).unwrap();
        assert_eq!(other.unseal(&id), None);
        let mut tampered = id.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.unseal(&String::from_utf8(tampered).unwrap()), None);
        assert_eq!(sealer.unseal("not-a-session"), None);
        assert_eq!(sealer.unseal(""), None);
        let old = SessionClaims {
            iat: now_seconds() - 7200,
            ..claims()
        };
        assert_eq!(sealer.unseal(&sealer.seal(&old).unwrap()), None);
    }

    #[test]
    fn short_keys_are_rejected() {
        assert!(SessionSealer::new(b"short", 10).is_err());
    }
}
