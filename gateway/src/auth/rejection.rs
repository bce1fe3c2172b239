//! Why a request was not authenticated, and the HTTP answer for it (RFC 6750 §3, RFC 9728 §5.1).

use std::fmt;

use http::{HeaderValue, Response, StatusCode, header};

/// Why a bearer token was refused. Descriptions are fixed strings: nothing from the token is
/// ever echoed back (it is attacker-controlled and may be a credential).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not a compact JWS, bad base64 or JSON, or not a JSON object.
    Malformed,
    /// Larger than the gateway accepts.
    TooLarge,
    /// `alg` is `none`, symmetric (`HS*`) or unknown.
    UnsupportedAlgorithm,
    /// `crit` names an extension the gateway does not implement.
    UnsupportedCritical,
    /// No key in the issuer's JWKS matches `kid` and `alg`, even after a refresh.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `exp` is missing.
    MissingExpiry,
    /// `iss` is not the discovered issuer.
    WrongIssuer,
    /// No `aud` value is an allowed audience.
    WrongAudience,
    /// `client_id`/`azp` is missing or not an allowed client.
    ClientNotAllowed,
}

impl TokenProblem {
    /// A short stable label for metrics and audit lines.
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::UnsupportedAlgorithm => "unsupported_alg",
            Self::UnsupportedCritical => "unsupported_crit",
            Self::UnknownKey => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::MissingExpiry => "missing_exp",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::ClientNotAllowed => "client_not_allowed",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::Malformed => "The access token is malformed",
            Self::TooLarge => "The access token is too large",
            Self::UnsupportedAlgorithm => "The access token algorithm is not accepted",
            Self::UnsupportedCritical => "The access token has an unsupported critical header",
            Self::UnknownKey => "The access token signing key is unknown",
            Self::BadSignature => "The access token signature is invalid",
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not yet valid",
            Self::MissingExpiry => "The access token has no expiry",
            Self::WrongIssuer => "The access token issuer is not accepted",
            Self::WrongAudience => "The access token audience is not accepted",
            Self::ClientNotAllowed => "The access token client is not allowed",
        }
    }
}

/// An authentication failure. Turn it into the HTTP answer with [`AuthRejection::into_response`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthRejection {
    /// No credentials were presented (401 without an error code, as RFC 6750 §3.1 asks).
    MissingToken,
    /// A bearer token was presented and refused (401 `invalid_token`).
    InvalidToken(TokenProblem),
    /// The token is valid but lacks scopes (403 `insufficient_scope`).
    InsufficientScope {
        /// Every scope the request needs (not just the missing ones), as RFC 6750 suggests.
        required: Vec<String>,
    },
    /// No API key was presented (401).
    MissingApiKey {
        /// Header the key is expected in.
        header: String,
    },
    /// The API key is not in the key table (401).
    InvalidApiKey {
        /// Header the key is expected in.
        header: String,
    },
    /// Keys or configuration could not be loaded (authorization server or Secret
    /// unavailable); the request may succeed later (503).
    Unavailable,
}

impl AuthRejection {
    /// HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A short stable label for metrics and audit lines.
    pub fn label(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken(problem) => problem.label(),
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::MissingApiKey { .. } => "missing_api_key",
            Self::InvalidApiKey { .. } => "invalid_api_key",
            Self::Unavailable => "unavailable",
        }
    }

    /// The `WWW-Authenticate` challenge, pointing bearer clients at the RFC 9728 metadata so
    /// MCP clients can discover the authorization server.
    pub fn challenge(&self, resource_metadata_url: &str) -> Option<String> {
        let metadata = format!(
            "resource_metadata=\"{}\"",
            quote_safe(resource_metadata_url)
        );
        match self {
            Self::MissingToken => Some(format!("Bearer {metadata}")),
            Self::InvalidToken(problem) => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\", {metadata}",
                problem.description()
            )),
            Self::InsufficientScope { required } => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\", {metadata}",
                quote_safe(&required.join(" "))
            )),
            Self::MissingApiKey { header } | Self::InvalidApiKey { header } => {
                Some(format!("APIKey header=\"{}\"", quote_safe(header)))
            }
            Self::Unavailable => None,
        }
    }

    /// The full HTTP answer: status, `WWW-Authenticate`, and a small JSON body in the
    /// OAuth error shape (`error`, `error_description`).
    pub fn into_response(&self, resource_metadata_url: &str) -> Response<String> {
        let (error, description) = match self {
            Self::MissingToken => ("invalid_request", "Authentication is required"),
            Self::InvalidToken(problem) => ("invalid_token", problem.description()),
            Self::InsufficientScope { .. } => (
                "insufficient_scope",
                "The access token lacks a required scope",
            ),
            Self::MissingApiKey { .. } => ("invalid_request", "An API key is required"),
            Self::InvalidApiKey { .. } => ("invalid_token", "The API key is not valid"),
            Self::Unavailable => (
                "temporarily_unavailable",
                "Authentication is temporarily unavailable",
            ),
        };
        let body = serde_json::json!({"error": error, "error_description": description});
        let mut response = Response::new(body.to_string());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(challenge) = self.challenge(resource_metadata_url)
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if matches!(self, Self::Unavailable) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidToken(problem) => f.write_str(problem.description()),
            Self::InsufficientScope { required } => {
                write!(f, "insufficient scope (requires {})", required.join(" "))
            }
            other => f.write_str(other.label()),
        }
    }
}

impl std::error::Error for AuthRejection {}

/// Keeps configured strings from breaking out of a quoted-string in a header.
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const META: &str = "https://gw.example/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn missing_token_is_401_with_metadata_and_no_error_code() {
        let r = AuthRejection::MissingToken.into_response(META);
        assert_eq!(r.status(), 401);
        let www = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert_eq!(www, format!("Bearer resource_metadata=\"{META}\""));
    }

    #[test]
    fn insufficient_scope_is_403_naming_the_scope() {
        let r = AuthRejection::InsufficientScope {
            required: vec!["mcp:tools".into(), "mcp:admin".into()],
        }
        .into_response(META);
        assert_eq!(r.status(), 403);
        let www = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            www.starts_with("Bearer error=\"insufficient_scope\", scope=\"mcp:tools mcp:admin\"")
        );
        assert!(www.contains("resource_metadata="));
    }

    #[test]
    fn invalid_token_says_why() {
        let r = AuthRejection::InvalidToken(TokenProblem::Expired).into_response(META);
        assert_eq!(r.status(), 401);
        let www = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(www.contains("error=\"invalid_token\""), "{www}");
        assert!(r.body().contains("expired"));
    }
}
