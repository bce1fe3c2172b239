//! Outbound credential failures, worded for Kubernetes status, Events and tool errors.

use crate::secrets::SecretError;

/// Why credentials could not be applied. `Display` names the Secret and key or the token
/// endpoint (without user info or query) and the OAuth `error` code, never a secret value,
/// so it is safe in statuses, Events, logs and `isError` results.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The credentials block does not make sense (e.g. `type: Bearer` without `bearer`).
    #[error("invalid credentials: {0}")]
    InvalidConfig(String),
    /// A referenced Secret or key could not be read.
    #[error("credential {0}")]
    Secret(#[from] SecretError),
    /// A Secret value cannot be sent (e.g. contains a newline inside a header value).
    #[error("credential Secret {name:?} key {key:?} is not usable in an HTTP request")]
    UnusableSecret {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
    },
    /// The token endpoint could not be reached.
    #[error("token endpoint {url} unreachable: {reason}")]
    TokenEndpointUnreachable {
        /// Token URL, without user info or query.
        url: String,
        /// Transport failure (refused, timed out, ...).
        reason: String,
    },
    /// The token endpoint answered with an error.
    #[error("token endpoint {url} refused the request: HTTP {status}{}", error.as_deref().map(|e| format!(", error {e}")).unwrap_or_default())]
    TokenEndpointRejected {
        /// Token URL, without user info or query.
        url: String,
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code (e.g. `invalid_client`), if the response had one.
        error: Option<String>,
    },
    /// The token endpoint answered 2xx with something that is not a usable bearer token.
    #[error("token endpoint {url} returned an unusable response: {reason}")]
    InvalidTokenResponse {
        /// Token URL, without user info or query.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The outgoing request could not be rebuilt to carry the credential.
    #[error("upstream request could not carry credentials: invalid request")]
    InvalidRequest,
}

impl CredentialError {
    /// A CamelCase reason for conditions, Events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) => "InvalidCredentials",
            Self::Secret(SecretError::NotFound { .. }) => "SecretNotFound",
            Self::Secret(_) | Self::UnusableSecret { .. } => "SecretInvalid",
            Self::TokenEndpointUnreachable { .. } => "TokenEndpointUnreachable",
            Self::TokenEndpointRejected { .. } => "TokenEndpointRejected",
            Self::InvalidTokenResponse { .. } => "TokenResponseInvalid",
            Self::InvalidRequest => "InvalidRequest",
        }
    }
}

/// Keeps only characters RFC 6749 allows in an `error` code, so a hostile token endpoint
/// cannot smuggle text into statuses.
pub(crate) fn sanitize_error_code(code: &str) -> Option<String> {
    let clean: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        .take(64)
        .collect();
    (!clean.is_empty()).then_some(clean)
}
