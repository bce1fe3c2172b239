//! DNS-rebinding protection: only listed host names may address the gateway.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Gateway;

const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The host part of a `Host` value or an `Origin` URL, without port or brackets.
pub(super) fn host_of(value: &str) -> &str {
    let value = value.split_once("://").map_or(value, |(_, rest)| rest);
    let value = value.split('/').next().unwrap_or(value);
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match value.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => value,
    }
}

pub(super) fn is_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    LOOPBACK.contains(&host.as_str())
        || allowed.iter().any(|pattern| {
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => pattern == host || pattern == "*",
            }
        })
}

pub(super) async fn check_host(
    State(gateway): State<Arc<Gateway>>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = gateway
        .snapshot()
        .map(|s| s.settings.allowed_hosts.clone())
        .unwrap_or_default();
    let refusal = [header::HOST, header::ORIGIN].into_iter().find_map(|name| {
        let host = request
            .headers()
            .get(&name)?
            .to_str()
            .map(host_of)
            .unwrap_or("");
        (!is_allowed(host, &allowed)).then(|| format!("{name} {host:?} is not allowed"))
    });
    if let Some(message) = refusal {
        tracing::warn!(%message, "request refused: host not allowed");
        let response = (StatusCode::FORBIDDEN, message).into_response();
        return super::authn::refuse(request, response).await;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_compared_without_ports() {
        assert_eq!(host_of("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("http://localhost:6274"), "localhost");
        assert_eq!(host_of("gw.example.com"), "gw.example.com");
        let allowed = vec![
            "gw.example.com".to_owned(),
            "*.svc.cluster.local".to_owned(),
        ];
        assert!(is_allowed("LOCALHOST", &allowed));
        assert!(is_allowed("gw.example.com", &allowed));
        assert!(is_allowed("shop.default.svc.cluster.local", &allowed));
        assert!(!is_allowed("evil.example", &allowed));
        assert!(!is_allowed("svc.cluster.local.evil", &allowed));
    }
}
