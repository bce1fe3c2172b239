//! JSON Web Key Sets (RFC 7517) turned into ready-to-use aws-lc-rs verifiers.
//!
//! Keys are parsed once per JWKS fetch, so a request pays only for the signature check.
//! Keys the gateway cannot or must not use (symmetric `oct`, `use: enc`, unknown curves)
//! are skipped rather than failing the whole set, because issuers publish mixed sets.

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::alg::{Algorithm, KeyFamily};

/// JWK members are base64url without padding, but some publishers pad; accept both.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One usable public key with a verifier per algorithm it may be used with.
pub(crate) struct VerifyingKey {
    kid: Option<String>,
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

/// The usable keys of an issuer.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`).
    pub(crate) fn from_jwks(doc: &Value) -> Result<Self, String> {
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "JWKS has no \"keys\" array".to_owned())?;
        let mut keys = Vec::new();
        for entry in entries {
            match parse_jwk(entry) {
                Ok(key) => keys.push(key),
                Err(reason) => {
                    let kid = field(entry, "kid").unwrap_or("");
                    tracing::debug!(kid, reason, "skipping JWKS key");
                }
            }
        }
        Ok(Self { keys })
    }

    /// Number of usable keys.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether a key with this `kid` exists (for any algorithm).
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Verifiers that may check a token with this `kid` (all keys when the token has none)
    /// and `alg`. The key type follows from `alg`, never the other way round.
    pub(crate) fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a ParsedPublicKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none() || k.kid.as_deref() == kid)
            .flat_map(move |k| {
                k.verifiers
                    .iter()
                    .filter(move |(a, _)| *a == alg)
                    .map(|(_, key)| key)
            })
    }
}

fn field<'a>(jwk: &'a Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

fn bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = field(jwk, name).ok_or_else(|| format!("missing {name}"))?;
    JWK_B64
        .decode(text)
        .map_err(|_| format!("{name} is not base64url"))
}

fn parse_jwk(jwk: &Value) -> Result<VerifyingKey, String> {
    if let Some(usage) = field(jwk, "use")
        && usage != "sig"
    {
        return Err(format!("use is {usage:?}"));
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array)
        && !ops.iter().any(|op| op.as_str() == Some("verify"))
    {
        return Err("key_ops lacks verify".to_owned());
    }
    let pinned = match field(jwk, "alg") {
        Some(name) => {
            Some(Algorithm::from_name(name).ok_or_else(|| format!("alg {name:?} not accepted"))?)
        }
        None => None,
    };
    let kty = field(jwk, "kty").unwrap_or("");
    let (family, algorithms, raw) = match kty {
        "RSA" => {
            let algorithms = match pinned {
                Some(alg) => vec![alg],
                None => Algorithm::RSA.to_vec(),
            };
            (KeyFamily::Rsa, algorithms, None)
        }
        "EC" => {
            let (family, alg, len) = match field(jwk, "crv") {
                Some("P-256") => (KeyFamily::EcP256, Algorithm::Es256, 32),
                Some("P-384") => (KeyFamily::EcP384, Algorithm::Es384, 48),
                Some("P-521") => (KeyFamily::EcP521, Algorithm::Es512, 66),
                other => return Err(format!("EC curve {other:?} not supported")),
            };
            let (x, y) = (bytes(jwk, "x")?, bytes(jwk, "y")?);
            if x.len() != len || y.len() != len {
                return Err("EC coordinates have the wrong length".to_owned());
            }
            // SEC1 uncompressed point, the form aws-lc-rs takes for raw EC public keys.
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (family, vec![alg], Some(point))
        }
        "OKP" => {
            if field(jwk, "crv") != Some("Ed25519") {
                return Err("OKP curve not supported".to_owned());
            }
            let x = bytes(jwk, "x")?;
            if x.len() != 32 {
                return Err("Ed25519 key has the wrong length".to_owned());
            }
            (KeyFamily::Ed25519, vec![Algorithm::EdDsa], Some(x))
        }
        // `oct` (symmetric) keys are refused outright: a public JWKS must never hold one.
        other => return Err(format!("kty {other:?} not supported")),
    };
    if let Some(alg) = pinned
        && alg.family() != family
    {
        return Err("alg does not match the key type".to_owned());
    }

    let mut verifiers = Vec::new();
    if family == KeyFamily::Rsa {
        let n = bytes(jwk, "n")?;
        let e = bytes(jwk, "e")?;
        let components = RsaPublicKeyComponents {
            n: strip_leading_zeros(&n),
            e: strip_leading_zeros(&e),
        };
        for alg in algorithms {
            if let Some(params) = alg.rsa_parameters() {
                let key = components
                    .to_parsed_public_key(params)
                    .map_err(|_| "RSA key rejected".to_owned())?;
                verifiers.push((alg, key));
            }
        }
    } else if let Some(raw) = raw {
        for alg in algorithms {
            if let Some(verifier) = alg.raw_key_algorithm() {
                let key = ParsedPublicKey::new(verifier, &raw)
                    .map_err(|_| "public key rejected".to_owned())?;
                verifiers.push((alg, key));
            }
        }
    }
    Ok(VerifyingKey {
        kid: field(jwk, "kid").map(str::to_owned),
        verifiers,
    })
}

/// RFC 7518 says no leading zeros, but some encoders add a sign byte; aws-lc-rs rejects it.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn symmetric_and_encryption_keys_are_skipped() {
        let set = KeySet::from_jwks(&json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "kid": "hs", "alg": "HS256", "crv": "Ed25519", "x": "AA"}
        ]}))
        .unwrap();
        assert_eq!(set.len(), 0);
    }

    #[test]
    fn ed25519_key_is_usable_only_for_eddsa() {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let x = JWK_B64.encode(pair.public_key().as_ref());
        let set = KeySet::from_jwks(&json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": x}
        ]}))
        .unwrap();
        assert!(set.has_kid("ed"));
        assert_eq!(set.candidates(Some("ed"), Algorithm::EdDsa).count(), 1);
        assert_eq!(set.candidates(Some("ed"), Algorithm::Rs256).count(), 0);
        assert_eq!(set.candidates(Some("other"), Algorithm::EdDsa).count(), 0);
    }
}
