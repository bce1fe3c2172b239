//! Inbound authentication for the MCP routes, and the RFC 9728 metadata that tells
//! clients where to get a token.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Gateway;
use crate::auth::metadata_url;
use crate::config::GatewaySettings;

/// The public URL of the MCP endpoint, as configured or as the client addressed it.
pub(super) fn resource_url(settings: &GatewaySettings, headers: &HeaderMap) -> String {
    if let Some(url) = &settings.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}/mcp")
}

fn into_axum(response: http::Response<String>) -> Response {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::from(body))
}

/// Puts the authenticated [`crate::auth::Caller`] into the request's extensions, or
/// answers 401/403 with the `WWW-Authenticate` challenge MCP clients follow.
pub(super) async fn authenticate(
    State(gateway): State<Arc<Gateway>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(snapshot) = gateway.snapshot() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response();
    };
    let resource = resource_url(&snapshot.settings, request.headers());
    match snapshot
        .authenticator
        .authenticate(request.headers(), &resource)
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(Arc::new(caller));
            next.run(request).await
        }
        Err(rejection) => {
            tracing::info!(rejection = rejection.label(), status = %rejection.status(), "request not authenticated");
            let metadata = metadata_url(&resource).unwrap_or_default();
            refuse(request, into_axum(rejection.into_response(&metadata))).await
        }
    }
}

/// Answers a request that is refused before its body was read. The body is read (up to
/// a small bound) first so the client's keep-alive connection stays usable; a larger one
/// closes the connection explicitly rather than silently.
pub(super) async fn refuse(request: Request, mut response: Response) -> Response {
    const DRAIN_LIMIT: usize = 64 * 1024;
    if axum::body::to_bytes(request.into_body(), DRAIN_LIMIT)
        .await
        .is_err()
    {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// `GET /.well-known/oauth-protected-resource[/mcp]`: 404 unless inbound auth is JWT.
pub(super) async fn protected_resource(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Response {
    let Some(snapshot) = gateway.snapshot() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "catalog not loaded yet").into_response();
    };
    let resource = resource_url(&snapshot.settings, &headers);
    match snapshot.authenticator.resource_metadata(&resource).await {
        None => (StatusCode::NOT_FOUND, "this gateway does not use OAuth").into_response(),
        Some(Ok(document)) => axum::Json(document).into_response(),
        Some(Err(rejection)) => into_axum(rejection.into_response("")),
    }
}
