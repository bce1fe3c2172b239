//! Outbound OAuth 2.0 client credentials against a real OAuth server, and an upstream that
//! itself validates the tokens (with the gateway's own inbound validator).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_support::{OAuthServer, closed_port};
use serde_json::{Value, json};
use switchboard_gateway::auth::{InboundAuthConfig, InboundAuthenticator};
use switchboard_gateway::credentials::{CredentialError, OutboundCredentials, TargetCredentials};
use switchboard_gateway::secrets::{MemorySecretSource, SecretSource};

const CLIENT_ID: &str = "agent-a";
const CLIENT_SECRET: &str = "s3cret-Value-9f2b7c";

fn secrets() -> Arc<MemorySecretSource> {
    let s = MemorySecretSource::new();
    s.insert("upstream-oauth", "client-id", CLIENT_ID);
    s.insert("upstream-oauth", "client-secret", CLIENT_SECRET);
    Arc::new(s)
}

fn credentials(
    token_url: &str,
    method: Option<&str>,
    secrets: Arc<dyn SecretSource>,
) -> OutboundCredentials {
    let mut oauth2 = json!({
        "tokenUrl": token_url,
        "clientIdSecretRef": {"name": "upstream-oauth", "key": "client-id"},
        "clientSecretRef": {"name": "upstream-oauth", "key": "client-secret"},
        "scopes": ["tools:read", "tools:call"],
        "audience": "upstream-api",
        "resource": "http://127.0.0.1:1/mcp"
    });
    if let Some(method) = method {
        oauth2["clientAuthMethod"] = json!(method);
    }
    let config: TargetCredentials =
        serde_json::from_value(json!({"type": "OAuth2ClientCredentials", "oauth2": oauth2}))
            .unwrap();
    OutboundCredentials::new(&config, secrets, reqwest::Client::new()).unwrap()
}

async fn authorization(creds: &OutboundCredentials) -> String {
    let request = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/mcp"), None)
        .await
        .unwrap()
        .build()
        .unwrap();
    let value = &request.headers()["authorization"];
    assert!(value.is_sensitive());
    // Request debug output (which HTTP tracing may print) must not contain the token.
    let token = value.to_str().unwrap().to_owned();
    assert!(!format!("{request:?}").contains(token.trim_start_matches("Bearer ")));
    token
}

async fn token_requests(server: &OAuthServer) -> u64 {
    server.stats().await["token"].as_u64().unwrap()
}

#[tokio::test]
async fn token_is_cached_and_fetched_once_for_concurrent_calls() {
    let server = OAuthServer::start(&["--clients", &format!("{CLIENT_ID}:{CLIENT_SECRET}")]).await;
    let creds = credentials(&server.token_url(), None, secrets());
    const N: usize = 50;
    // 20 concurrent first calls: single-flight means one token request between them.
    let concurrent = futures::future::join_all((0..20).map(|_| authorization(&creds))).await;
    let mut all = concurrent;
    for _ in 20..N {
        all.push(authorization(&creds).await);
    }
    assert!(all.iter().all(|t| t == &all[0]));
    let requests = token_requests(&server).await;
    println!("\n{N} applies -> {requests} token request(s)");
    assert_eq!(requests, 1);

    let sent = &server.stats().await["lastTokenRequest"];
    assert_eq!(sent["grant_type"], "client_credentials");
    assert_eq!(sent["scope"], "tools:read tools:call");
    assert_eq!(sent["audience"], "upstream-api");
    assert_eq!(sent["resource"], "http://127.0.0.1:1/mcp");
    assert_eq!(sent["client_id"], CLIENT_ID);
    assert_eq!(sent["client_auth_method"], "client_secret_basic");
}

#[tokio::test]
async fn client_secret_post_works() {
    let server = OAuthServer::start(&["--clients", &format!("{CLIENT_ID}:{CLIENT_SECRET}")]).await;
    let creds = credentials(&server.token_url(), Some("client_secret_post"), secrets());
    authorization(&creds).await;
    assert_eq!(
        server.stats().await["lastTokenRequest"]["client_auth_method"],
        "client_secret_post"
    );
}

#[tokio::test]
async fn unauthorized_forces_one_fresh_token_and_bursts_coalesce() {
    let server = OAuthServer::start(&[]).await;
    let creds = credentials(&server.token_url(), None, secrets());
    let first = authorization(&creds).await;
    creds.on_unauthorized();
    let second = authorization(&creds).await;
    assert_ne!(first, second);
    assert_eq!(token_requests(&server).await, 2);
    // Several requests that failed with the old token report 401 around the same time:
    // the fresh token must survive them.
    creds.on_unauthorized();
    creds.on_unauthorized();
    assert_eq!(authorization(&creds).await, second);
    assert_eq!(token_requests(&server).await, 2);
}

#[tokio::test]
async fn token_is_refreshed_shortly_before_expiry() {
    let server = OAuthServer::start(&[]).await;
    server.token_endpoint(json!({"ttl": 2})).await;
    let creds = credentials(&server.token_url(), None, secrets());
    let first = authorization(&creds).await;
    assert_eq!(authorization(&creds).await, first);
    // Lifetime 2 s, refreshed 0.2 s early.
    tokio::time::sleep(Duration::from_millis(1900)).await;
    assert_ne!(authorization(&creds).await, first);
    assert_eq!(token_requests(&server).await, 2);
}

fn assert_no_secret(err: &CredentialError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(CLIENT_SECRET), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn token_endpoint_errors_name_url_and_oauth_error_never_the_secret() {
    let server = OAuthServer::start(&["--clients", &format!("{CLIENT_ID}:other-secret")]).await;
    let creds = credentials(&server.token_url(), None, secrets());
    let err = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "token endpoint {} refused the request: HTTP 401, error invalid_client",
            server.token_url()
        )
    );
    assert_eq!(err.reason(), "TokenEndpointRejected");
    assert_no_secret(&err);

    // client_secret_post puts the secret in the body: still never in the error.
    let creds = credentials(&server.token_url(), Some("client_secret_post"), secrets());
    let err = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
        .await
        .unwrap_err();
    assert_no_secret(&err);

    let server = OAuthServer::start(&[]).await;
    server
        .token_endpoint(json!({"error": "invalid_scope", "status": 400, "failures": 1}))
        .await;
    let creds = credentials(&server.token_url(), None, secrets());
    let err = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with("HTTP 400, error invalid_scope"),
        "{err}"
    );
    // The failure is not cached: the next call fetches again and succeeds.
    authorization(&creds).await;
}

#[tokio::test]
async fn unreachable_token_endpoint_is_named() {
    let url = format!("http://127.0.0.1:{}/oauth/token", closed_port());
    let creds = credentials(&url, None, secrets());
    let err = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
        .await
        .unwrap_err();
    println!("unreachable: {err}");
    assert!(matches!(
        err,
        CredentialError::TokenEndpointUnreachable { .. }
    ));
    assert!(
        err.to_string()
            .starts_with(&format!("token endpoint {url} unreachable: "))
    );
    assert_eq!(err.reason(), "TokenEndpointUnreachable");
    assert_no_secret(&err);
}

#[tokio::test]
async fn missing_secret_is_named_not_printed() {
    let s = MemorySecretSource::new();
    s.insert("upstream-oauth", "client-id", CLIENT_ID);
    let creds = credentials("http://127.0.0.1:1/token", None, Arc::new(s));
    let err = creds
        .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "credential Secret \"upstream-oauth\" has no key \"client-secret\" (is the Secret created and mounted?)"
    );
    assert_eq!(err.reason(), "SecretNotFound");
}

/// An upstream API that accepts only tokens from the OAuth server for audience
/// `upstream-api`, and treats the first token it sees as revoked (answering 401), so the
/// client must refresh and retry once.
async fn start_upstream(server: &OAuthServer) -> (String, Arc<AtomicUsize>) {
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {"discoveryUrl": server.discovery_url(), "allowedAudiences": ["upstream-api"],
                "requiredScopes": ["tools:call"]}
    }))
    .unwrap();
    let auth = Arc::new(
        InboundAuthenticator::new(
            &config,
            Arc::new(MemorySecretSource::new()),
            reqwest::Client::new(),
        )
        .unwrap(),
    );
    let revoked = Arc::new(std::sync::Mutex::new(None::<String>));
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let seen_401 = Arc::clone(&unauthorized);
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |headers: http::HeaderMap| {
            let auth = Arc::clone(&auth);
            let revoked = Arc::clone(&revoked);
            let seen_401 = Arc::clone(&seen_401);
            async move {
                let token = headers["authorization"].to_str().unwrap().to_owned();
                let first = {
                    let mut revoked = revoked.lock().unwrap();
                    revoked.get_or_insert_with(|| token.clone()).clone()
                };
                let ok = token != first
                    && auth
                        .authenticate(&headers, "http://upstream/mcp")
                        .await
                        .is_ok();
                if ok {
                    (http::StatusCode::OK, "{\"ok\":true}")
                } else {
                    seen_401.fetch_add(1, Ordering::SeqCst);
                    (http::StatusCode::UNAUTHORIZED, "{}")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, unauthorized)
}

#[tokio::test]
async fn upstream_401_refresh_and_single_retry() {
    let server = OAuthServer::start(&["--clients", &format!("{CLIENT_ID}:{CLIENT_SECRET}")]).await;
    let (upstream, unauthorized) = start_upstream(&server).await;
    let creds = credentials(&server.token_url(), None, secrets());
    let http = reqwest::Client::new();

    // What the gateway does around every upstream call: apply, and on 401 refresh + retry once.
    let call = || async {
        let send = || async {
            creds
                .apply(http.post(&upstream).body("{}"), None)
                .await
                .unwrap()
                .send()
                .await
                .unwrap()
        };
        let response = send().await;
        if response.status() == http::StatusCode::UNAUTHORIZED {
            creds.on_unauthorized();
            return send().await;
        }
        response
    };
    let response = call().await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ok"], true);
    for _ in 0..5 {
        assert_eq!(call().await.status(), 200);
    }
    assert_eq!(unauthorized.load(Ordering::SeqCst), 1);
    assert_eq!(
        token_requests(&server).await,
        2,
        "initial token + one refresh"
    );
}

/// Captures every tracing event (TRACE and up) the auth code emits on this thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_or_token_in_logs_or_errors() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = OAuthServer::start(&["--clients", &format!("{CLIENT_ID}:{CLIENT_SECRET}")]).await;
    let mut shown = Vec::new();
    let mut secrets_seen = vec![CLIENT_SECRET.to_owned()];

    // Outbound: success, then a rejected client secret, then an unreachable endpoint.
    let creds = credentials(&server.token_url(), None, secrets());
    let token = authorization(&creds).await;
    secrets_seen.push(token.trim_start_matches("Bearer ").to_owned());
    let wrong = Arc::new(MemorySecretSource::new());
    wrong.insert("upstream-oauth", "client-id", CLIENT_ID);
    wrong.insert("upstream-oauth", "client-secret", "wrong-s3cret-4d1e");
    secrets_seen.push("wrong-s3cret-4d1e".to_owned());
    for url in [
        server.token_url(),
        format!("http://127.0.0.1:{}/t", closed_port()),
    ] {
        let creds = credentials(&url, Some("client_secret_post"), wrong.clone());
        let err = creds
            .apply(reqwest::Client::new().get("http://127.0.0.1:1/"), None)
            .await
            .unwrap_err();
        shown.push(format!("{err} {err:?}"));
    }

    // Inbound: a valid and a tampered token, and an API-key table that fails to parse.
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {"discoveryUrl": server.discovery_url(), "allowedAudiences": ["upstream-api"]}
    }))
    .unwrap();
    let auth = InboundAuthenticator::new(
        &config,
        Arc::new(MemorySecretSource::new()),
        reqwest::Client::new(),
    )
    .unwrap();
    let bearer_token = token.trim_start_matches("Bearer ");
    let caller = auth
        .authenticate(&auth_support::bearer(bearer_token), "http://x/mcp")
        .await
        .unwrap();
    shown.push(format!("{caller:?}"));
    let forged = server
        .forge("foreign-key", json!({"aud": "upstream-api"}))
        .await;
    secrets_seen.push(forged.clone());
    let rejection = auth
        .authenticate(&auth_support::bearer(&forged), "http://x/mcp")
        .await
        .unwrap_err();
    let response = rejection.into_response("http://x/.well-known/oauth-protected-resource");
    shown.push(format!(
        "{rejection} {rejection:?} {response:?} {}",
        response.body()
    ));

    let keys = MemorySecretSource::new();
    keys.insert("k", "keys.yaml", "- name: a\n  key: [sk-table-leak-77]\n");
    secrets_seen.push("sk-table-leak-77".to_owned());
    let api: InboundAuthConfig = serde_json::from_value(json!({
        "type": "APIKey", "apiKey": {"secretRef": {"name": "k"}}
    }))
    .unwrap();
    let api = InboundAuthenticator::new(&api, Arc::new(keys), reqwest::Client::new()).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-api-key", "sk-table-leak-77".parse().unwrap());
    let rejection = api
        .authenticate(&headers, "http://x/mcp")
        .await
        .unwrap_err();
    shown.push(format!("{rejection:?}"));

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("API key table is invalid"),
        "logs captured: {logs}"
    );
    for secret in &secrets_seen {
        assert!(!logs.contains(secret.as_str()), "secret in logs: {logs}");
        for text in &shown {
            assert!(!text.contains(secret.as_str()), "secret in output: {text}");
        }
    }
}
