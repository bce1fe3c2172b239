//! One HTTP exchange with an upstream's streamable HTTP endpoint.

use serde_json::Value;
use tokio::sync::mpsc;

use super::sse::SseParser;
use super::{MAX_RESPONSE_BYTES, UpstreamError};
use crate::auth::Caller;
use crate::credentials::OutboundCredentials;
use crate::jsonrpc::{Message, RpcError};
use crate::protocol::HEADER_SESSION_ID;

/// What came back for a request.
#[derive(Debug)]
pub(super) enum Outcome {
    Response(Result<Value, RpcError>),
    /// HTTP 202: the upstream took the message and will not answer it here.
    Accepted,
    /// HTTP 404 on a request that carried a session id.
    SessionGone,
}

pub(super) struct Exchange<'a> {
    pub http: &'a reqwest::Client,
    pub endpoint: &'a str,
    pub target: &'a str,
    /// Receives the notifications the upstream interleaves with its answer.
    pub relay: Option<&'a mpsc::Sender<Value>>,
    pub credentials: &'a OutboundCredentials,
    /// The gateway's caller, for targets that forward the caller's token.
    pub caller: Option<&'a Caller>,
}

/// How much of an error body is read to look for a JSON-RPC error.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The first 200 characters of a body, whitespace folded, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &folded[..cut]),
        None => folded,
    }
}

impl Exchange<'_> {
    /// POSTs `body` with the target's credentials; an HTTP 401 invalidates a cached token
    /// and the request is sent once more with a fresh one.
    async fn deliver(
        &self,
        body: &Value,
        headers: &[(String, String)],
        session: Option<&str>,
    ) -> Result<reqwest::Response, UpstreamError> {
        let response = self.attempt(body, headers, session).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.credentials.on_unauthorized();
        self.attempt(body, headers, session).await
    }

    async fn attempt(
        &self,
        body: &Value,
        headers: &[(String, String)],
        session: Option<&str>,
    ) -> Result<reqwest::Response, UpstreamError> {
        let request = self
            .credentials
            .apply(self.post(body, headers, session), self.caller)
            .await
            .map_err(|error| UpstreamError::Credentials {
                target: self.target.to_owned(),
                error,
            })?;
        request.send().await.map_err(|e| self.transport_error(e))
    }

    fn post(
        &self,
        body: &Value,
        headers: &[(String, String)],
        session: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(self.endpoint)
            .header(http::header::ACCEPT, "application/json, text/event-stream")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(session) = session {
            request = request.header(HEADER_SESSION_ID, session);
        }
        request
    }

    fn transport_error(&self, error: reqwest::Error) -> UpstreamError {
        // `without_url` keeps query-string credentials out of every message.
        let error = error.without_url();
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        UpstreamError::Unreachable {
            target: self.target.to_owned(),
            reason,
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> UpstreamError {
        UpstreamError::Malformed {
            target: self.target.to_owned(),
            reason: reason.into(),
        }
    }

    pub async fn send(
        &self,
        body: &Value,
        id: &Value,
        headers: &[(String, String)],
        session: Option<&str>,
    ) -> Result<Outcome, UpstreamError> {
        let response = self.deliver(body, headers, session).await?;
        self.read(response, id, session.is_some()).await
    }

    /// Sends `initialize` and also returns the session id the upstream assigned.
    pub async fn send_initialize(
        &self,
        body: &Value,
        id: &Value,
    ) -> Result<(Outcome, Option<String>), UpstreamError> {
        let response = self.deliver(body, &[], None).await?;
        let session = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((self.read(response, id, false).await?, session))
    }

    pub async fn notify(
        &self,
        body: &Value,
        headers: &[(String, String)],
        session: Option<&str>,
    ) -> Result<(), UpstreamError> {
        let mut response = self.deliver(body, headers, session).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.http_error(&mut response).await)
        }
    }

    /// An HTTP error with the start of the upstream's explanation, on one line.
    async fn http_error(&self, response: &mut reqwest::Response) -> UpstreamError {
        let status = response.status().as_u16();
        let body = self
            .read_body(response, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        UpstreamError::Http {
            target: self.target.to_owned(),
            status,
            detail: excerpt(&body),
        }
    }

    async fn read(
        &self,
        mut response: reqwest::Response,
        id: &Value,
        had_session: bool,
    ) -> Result<Outcome, UpstreamError> {
        let status = response.status();
        if status == reqwest::StatusCode::ACCEPTED {
            return Ok(Outcome::Accepted);
        }
        if status == reqwest::StatusCode::NOT_FOUND && had_session {
            return Ok(Outcome::SessionGone);
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !status.is_success() {
            // 2026-07-28 servers answer protocol errors with a 4xx and a JSON-RPC body.
            let body = self
                .read_body(&mut response, ERROR_BODY_LIMIT)
                .await
                .unwrap_or_default();
            if let Some(Ok(Message::Response {
                outcome: Err(error),
                ..
            })) = serde_json::from_slice::<Value>(&body)
                .ok()
                .map(Message::parse)
            {
                return Ok(Outcome::Response(Err(error)));
            }
            return Err(UpstreamError::Http {
                target: self.target.to_owned(),
                status: status.as_u16(),
                detail: excerpt(&body),
            });
        }
        if content_type.starts_with("text/event-stream") {
            self.read_stream(response, id).await
        } else if content_type.starts_with("application/json") {
            let body = self.read_body(&mut response, MAX_RESPONSE_BYTES).await?;
            let value: Value = serde_json::from_slice(&body)
                .map_err(|e| self.malformed(format!("the body is not JSON ({e})")))?;
            let candidates = match value {
                Value::Array(items) => items,
                single => vec![single],
            };
            for candidate in candidates {
                if let Some(outcome) = self.matching_response(candidate, id)? {
                    return Ok(outcome);
                }
            }
            Err(self.malformed("the body holds no response to the request"))
        } else {
            Err(self.malformed(format!("unexpected content type {content_type:?}")))
        }
    }

    async fn read_body(
        &self,
        response: &mut reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, UpstreamError> {
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(self.malformed(format!("the response exceeds {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        id: &Value,
    ) -> Result<Outcome, UpstreamError> {
        let mut parser = SseParser::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            for event in parser.push(&chunk) {
                if event.data.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(&event.data)
                    .map_err(|e| self.malformed(format!("an event is not JSON ({e})")))?;
                if let Some(outcome) = self.matching_response(value, id)? {
                    return Ok(outcome);
                }
            }
            if parser.pending() > MAX_RESPONSE_BYTES {
                return Err(self.malformed("an event exceeds the response size limit"));
            }
        }
        Err(self.malformed("the event stream ended before the response"))
    }

    /// `Some` for the response to `id`; notifications go to the relay, if any; requests
    /// from the upstream (sampling, elicitation) are not bridged and are skipped.
    fn matching_response(
        &self,
        value: Value,
        id: &Value,
    ) -> Result<Option<Outcome>, UpstreamError> {
        if let Some(relay) = self.relay
            && value.get("method").is_some()
            && value.get("id").is_none()
        {
            // A slow client must not stall the upstream: drop what does not fit.
            let _ = relay.try_send(value);
            return Ok(None);
        }
        match Message::parse(value) {
            Ok(Message::Response { id: got, outcome }) if &got == id || got.is_null() => {
                Ok(Some(Outcome::Response(outcome)))
            }
            Ok(Message::Response { id: got, .. }) => {
                Err(self.malformed(format!("response to unknown request id {got}")))
            }
            Ok(_) => Ok(None),
            Err(error) => Err(self.malformed(error.message)),
        }
    }
}
