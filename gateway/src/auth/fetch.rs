//! Bounded HTTP reads for documents fetched from authorization servers (discovery, JWKS,
//! token responses): every fetch has a timeout and a size cap, and errors never carry the
//! response body.

use std::time::Duration;

/// Timeout for one discovery/JWKS/token request.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Discovery documents and key sets are a few KiB; refuse anything absurd.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Why a fetch failed, in words safe for logs and statuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    /// No HTTP response: refused, timed out, DNS, TLS.
    #[error("{0}")]
    Unreachable(String),
    /// An HTTP response that is not a usable document.
    #[error("{0}")]
    BadResponse(String),
}

/// Describes a transport error without the URL (callers add it, stripped of credentials)
/// and without any response content.
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let io_kind = {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut found = None;
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                found = Some(io.kind());
                break;
            }
            source = e.source();
        }
        found
    };
    if err.is_timeout() {
        "timed out".to_owned()
    } else if let Some(kind) = io_kind {
        format!("connection failed: {kind}")
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// Reads a response body, failing once it exceeds `max` bytes.
pub(crate) async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(FetchError::BadResponse(format!(
            "response larger than {max} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Unreachable(describe(&e)))?
    {
        if body.len() + chunk.len() > max {
            return Err(FetchError::BadResponse(format!(
                "response larger than {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GETs a JSON object from `url`.
pub(crate) async fn get_json(
    client: &reqwest::Client,
    url: &str,
) -> Result<serde_json::Value, FetchError> {
    let response = client
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| FetchError::Unreachable(describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::BadResponse(format!("HTTP {}", status.as_u16())));
    }
    let body = read_bounded(response, MAX_DOCUMENT_BYTES).await?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| FetchError::BadResponse("response is not JSON".to_owned()))?;
    if !value.is_object() {
        return Err(FetchError::BadResponse(
            "response is not a JSON object".to_owned(),
        ));
    }
    Ok(value)
}

/// A URL for messages: no user info, query or fragment, which may hold credentials.
pub(crate) fn display_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn display_url_strips_credentials() {
        assert_eq!(
            display_url("https://user:pw@idp.example/token?client_secret=x#f"),
            "https://idp.example/token"
        );
    }
}
