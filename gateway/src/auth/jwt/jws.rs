//! Splitting a compact JWS (`header.payload.signature`) into checked parts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::alg::Algorithm;
use crate::auth::rejection::TokenProblem;

/// Access tokens are a few KiB; a cap bounds parsing work for hostile input.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A structurally valid, not yet verified, token.
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
    payload_b64: &'a str,
}

impl<'a> UnverifiedToken<'a> {
    /// Parses the header and refuses unacceptable algorithms before any key is looked at,
    /// so `alg: none` and `HS*` fail here regardless of what the JWKS holds.
    pub(crate) fn parse(token: &'a str) -> Result<Self, TokenProblem> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenProblem::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenProblem::Malformed);
        };
        let header: Value = decode_json(header_b64)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(TokenProblem::Malformed)?;
        let alg = Algorithm::from_name(alg).ok_or(TokenProblem::UnsupportedAlgorithm)?;
        // RFC 7515 §4.1.11: a recipient must reject critical extensions it does not know.
        if header.get("crit").is_some() {
            return Err(TokenProblem::UnsupportedCritical);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(TokenProblem::Malformed),
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| TokenProblem::Malformed)?;
        if signature.is_empty() {
            return Err(TokenProblem::BadSignature);
        }
        let signing_len = header_b64.len() + 1 + payload_b64.len();
        Ok(Self {
            alg,
            kid,
            signing_input: &token.as_bytes()[..signing_len],
            signature,
            payload_b64,
        })
    }

    /// The claims. Call only after the signature verified.
    pub(crate) fn claims(&self) -> Result<Value, TokenProblem> {
        decode_json(self.payload_b64)
    }
}

fn decode_json(part: &str) -> Result<Value, TokenProblem> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenProblem::Malformed)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| TokenProblem::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(TokenProblem::Malformed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn problem(token: &str) -> TokenProblem {
        match UnverifiedToken::parse(token) {
            Ok(_) => panic!("accepted {token}"),
            Err(p) => p,
        }
    }

    #[test]
    fn refuses_none_and_hmac_before_looking_at_keys() {
        let payload = b64(r#"{"sub":"x"}"#);
        let none = format!("{}.{payload}.", b64(r#"{"alg":"none"}"#));
        assert_eq!(problem(&none), TokenProblem::UnsupportedAlgorithm);
        let hs = format!("{}.{payload}.c2ln", b64(r#"{"alg":"HS256","kid":"k"}"#));
        assert_eq!(problem(&hs), TokenProblem::UnsupportedAlgorithm);
    }

    #[test]
    fn refuses_structural_garbage() {
        assert_eq!(problem("abc"), TokenProblem::Malformed);
        assert_eq!(problem("a.b.c.d"), TokenProblem::Malformed);
        assert_eq!(
            problem(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            TokenProblem::TooLarge
        );
        let crit = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256","crit":["x"]}"#),
            b64("{}")
        );
        assert_eq!(problem(&crit), TokenProblem::UnsupportedCritical);
        let empty_sig = format!("{}.{}.", b64(r#"{"alg":"RS256"}"#), b64("{}"));
        assert_eq!(problem(&empty_sig), TokenProblem::BadSignature);
    }

    #[test]
    fn keeps_signing_input_exact() {
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"ES256","kid":"k1"}"#),
            b64("{}")
        );
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.alg, Algorithm::Es256);
        assert!(token.starts_with(std::str::from_utf8(parsed.signing_input).unwrap()));
        assert_eq!(parsed.signing_input.len(), token.rfind('.').unwrap());
    }
}
