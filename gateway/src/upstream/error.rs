use crate::credentials::CredentialError;
use crate::jsonrpc::RpcError;

/// Why a request to an upstream failed. Display texts are safe for clients and
/// Kubernetes status: they name the target, never a URL query or a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("target {target} is unreachable: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("target {target} did not answer within {seconds} s")]
    Timeout { target: String, seconds: u64 },
    #[error("target {target} answered HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Http {
        target: String,
        status: u16,
        detail: String,
    },
    #[error("target {target} sent an invalid response: {reason}")]
    Malformed { target: String, reason: String },
    #[error("target {target} does not speak a supported MCP version: {reason}")]
    Protocol { target: String, reason: String },
    #[error("target {target}: {error}")]
    Credentials {
        target: String,
        error: CredentialError,
    },
    #[error("target {target} answered with an error: {error}")]
    Rpc {
        target: String,
        error: Box<RpcError>,
    },
}

impl UpstreamError {
    /// The upstream's own JSON-RPC error, when it answered with one.
    pub fn rpc_error(&self) -> Option<&RpcError> {
        match self {
            UpstreamError::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }

    /// A short machine-readable kind, for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Unreachable { .. } => "unreachable",
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Http { .. } => "http_error",
            UpstreamError::Malformed { .. } => "malformed",
            UpstreamError::Protocol { .. } => "protocol",
            UpstreamError::Rpc { .. } => "rpc_error",
            UpstreamError::Credentials { .. } => "credentials",
        }
    }
}
