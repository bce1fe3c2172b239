//! Inbound JWT validation against a real OAuth server (npm `oauth2-mock-server`).
//!
//! Prints the table of bad-token cases and the gateway's answers (`-- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth_support;

use std::sync::Arc;
use std::time::Duration;

use auth_support::{OAuthServer, bearer, unix_now};
use serde_json::{Value, json};
use switchboard_gateway::auth::{
    AuthRejection, InboundAuthConfig, InboundAuthenticator, TokenProblem, metadata_url,
};
use switchboard_gateway::secrets::MemorySecretSource;

const RESOURCE: &str = "http://127.0.0.1:7777/mcp";

fn authenticator(server: &OAuthServer) -> InboundAuthenticator {
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {
            "discoveryUrl": server.discovery_url(),
            "allowedAudiences": ["switchboard"],
            "allowedClients": ["agent-a"],
            "requiredScopes": ["mcp:tools"],
            "leewaySeconds": 5
        }
    }))
    .unwrap();
    InboundAuthenticator::new(
        &config,
        Arc::new(MemorySecretSource::new()),
        reqwest::Client::new(),
    )
    .unwrap()
}

/// Claims of a token the gateway accepts.
fn good_claims() -> Value {
    json!({
        "aud": "switchboard",
        "client_id": "agent-a",
        "scope": "openid mcp:tools",
        "sub": "alice",
        "tenant": "acme"
    })
}

fn with(changes: Value) -> Value {
    let mut claims = good_claims();
    for (k, v) in changes.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

#[tokio::test]
async fn valid_token_maps_caller() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server);
    let token = server.mint(good_claims()).await;
    let caller = auth.authenticate(&bearer(&token), RESOURCE).await.unwrap();
    assert_eq!(caller.subject, "alice");
    assert_eq!(caller.user.as_deref(), Some("alice"));
    assert_eq!(caller.tenant.as_deref(), Some("acme"));
    assert_eq!(caller.client_id.as_deref(), Some("agent-a"));
    assert!(caller.has_scope("mcp:tools"));
    assert_eq!(caller.token.as_ref().unwrap().expose(), token);
    // The raw token never shows in debug output.
    assert!(!format!("{caller:?}").contains(&token));
}

#[tokio::test]
async fn token_from_real_client_credentials_grant_is_accepted() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server);
    let response: Value = reqwest::Client::new()
        .post(server.token_url())
        .basic_auth("agent-a", Some("irrelevant"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=mcp%3Atools&audience=switchboard")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = response["access_token"].as_str().unwrap();
    let caller = auth.authenticate(&bearer(token), RESOURCE).await.unwrap();
    assert_eq!(caller.client_id.as_deref(), Some("agent-a"));
}

#[tokio::test]
async fn every_supported_algorithm_verifies() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server).with_min_jwks_refresh_interval(Duration::ZERO);
    for alg in [
        "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    ] {
        let kid = server.add_key(alg).await;
        let token = server
            .mint_with(json!({"kid": kid, "claims": good_claims()}))
            .await;
        let result = auth.authenticate(&bearer(&token), RESOURCE).await;
        assert!(result.is_ok(), "{alg}: {result:?}");
    }
}

/// Every bad-token case, what the gateway answered, printed as a table.
#[tokio::test]
async fn bad_tokens_are_refused_with_the_right_answer() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server);
    let now = unix_now();
    let meta = metadata_url(RESOURCE).unwrap();

    let mut cases: Vec<(&str, http::HeaderMap, AuthRejection)> = vec![
        (
            "expired (exp = now-120s, leeway 5s)",
            bearer(&server.mint(with(json!({"exp": now - 120}))).await),
            AuthRejection::InvalidToken(TokenProblem::Expired),
        ),
        (
            "not yet valid (nbf = now+120s)",
            bearer(&server.mint(with(json!({"nbf": now + 120}))).await),
            AuthRejection::InvalidToken(TokenProblem::NotYetValid),
        ),
        (
            "no exp claim",
            bearer(&server.mint(with(json!({"exp": null}))).await),
            AuthRejection::InvalidToken(TokenProblem::MissingExpiry),
        ),
        (
            "wrong audience",
            bearer(&server.mint(with(json!({"aud": "someone-else"}))).await),
            AuthRejection::InvalidToken(TokenProblem::WrongAudience),
        ),
        (
            "wrong issuer (validly signed)",
            bearer(
                &server
                    .mint(with(json!({"iss": "http://evil.example"})))
                    .await,
            ),
            AuthRejection::InvalidToken(TokenProblem::WrongIssuer),
        ),
        (
            "wrong signature (foreign key, issuer's kid)",
            bearer(&server.forge("foreign-key", good_claims()).await),
            AuthRejection::InvalidToken(TokenProblem::BadSignature),
        ),
        (
            "tampered payload (genuine signature)",
            bearer(&server.forge("tampered", good_claims()).await),
            AuthRejection::InvalidToken(TokenProblem::BadSignature),
        ),
        (
            "alg: none",
            bearer(&server.forge("none", good_claims()).await),
            AuthRejection::InvalidToken(TokenProblem::UnsupportedAlgorithm),
        ),
        (
            "HS256 signed with the public key",
            bearer(&server.forge("hs256-public-key", good_claims()).await),
            AuthRejection::InvalidToken(TokenProblem::UnsupportedAlgorithm),
        ),
        (
            "disallowed client (client_id agent-b)",
            bearer(&server.mint(with(json!({"client_id": "agent-b"}))).await),
            AuthRejection::InvalidToken(TokenProblem::ClientNotAllowed),
        ),
        (
            "missing scope (scope openid)",
            bearer(&server.mint(with(json!({"scope": "openid"}))).await),
            AuthRejection::InsufficientScope {
                required: vec!["mcp:tools".into()],
            },
        ),
        (
            "not a JWT",
            bearer("not-a-jwt"),
            AuthRejection::InvalidToken(TokenProblem::Malformed),
        ),
        (
            "missing token",
            http::HeaderMap::new(),
            AuthRejection::MissingToken,
        ),
    ];
    let mut basic = http::HeaderMap::new();
    basic.insert("authorization", "Basic YWdlbnQ6cHc=".parse().unwrap());
    cases.push((
        "Basic credentials instead of Bearer",
        basic,
        AuthRejection::MissingToken,
    ));

    println!("\n| Case | Status | Reason | WWW-Authenticate |");
    println!("|---|---|---|---|");
    for (name, headers, expected) in cases {
        let rejection = auth.authenticate(&headers, RESOURCE).await.expect_err(name);
        assert_eq!(rejection, expected, "{name}");
        let response = rejection.into_response(&meta);
        let www = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            www.contains(&format!("resource_metadata=\"{meta}\"")),
            "{name}: {www}"
        );
        println!(
            "| {name} | {} | {} | `{}` |",
            response.status().as_u16(),
            rejection.label(),
            www.replace(&meta, "…")
        );
        let expected_status = if matches!(expected, AuthRejection::InsufficientScope { .. }) {
            403
        } else {
            401
        };
        assert_eq!(response.status().as_u16(), expected_status, "{name}");
    }
}

#[tokio::test]
async fn rotated_key_is_accepted_after_jwks_refresh() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server).with_min_jwks_refresh_interval(Duration::from_millis(200));
    // The readiness probe already fetched discovery once.
    let probes = server.stats().await["discovery"].as_u64().unwrap();
    let old = server.mint(good_claims()).await;
    auth.authenticate(&bearer(&old), RESOURCE).await.unwrap();
    assert_eq!(server.stats().await["jwks"], 1);

    let new_kid = server.add_key("RS256").await;
    assert_ne!(new_kid, server.first_kid);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let new = server.mint(good_claims()).await;
    auth.authenticate(&bearer(&new), RESOURCE).await.unwrap();
    assert_eq!(
        server.stats().await["jwks"],
        2,
        "one refresh for the new kid"
    );
    // Both keys now work without further fetches; discovery was fetched once.
    auth.authenticate(&bearer(&old), RESOURCE).await.unwrap();
    auth.authenticate(&bearer(&new), RESOURCE).await.unwrap();
    let stats = server.stats().await;
    assert_eq!(stats["jwks"], 2);
    assert_eq!(stats["discovery"].as_u64().unwrap() - probes, 1);
}

#[tokio::test]
async fn unknown_kid_refreshes_are_rate_limited() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server); // default interval: 10 s
    let token = server.mint(good_claims()).await;
    auth.authenticate(&bearer(&token), RESOURCE).await.unwrap();
    // A key the server publishes only after our first fetch: within the interval, no
    // refetch happens, so the token is refused as signed by an unknown key.
    let kid = server.add_key("ES256").await;
    let rotated = server
        .mint_with(json!({"kid": kid, "claims": good_claims()}))
        .await;
    let headers = bearer(&rotated);
    let concurrent = (0..20).map(|_| auth.authenticate(&headers, RESOURCE));
    for result in futures::future::join_all(concurrent).await {
        assert_eq!(
            result.unwrap_err(),
            AuthRejection::InvalidToken(TokenProblem::UnknownKey)
        );
    }
    assert_eq!(server.stats().await["jwks"], 1, "no JWKS fetch storm");
}

#[tokio::test]
async fn audience_defaults_to_the_resource_url() {
    let server = OAuthServer::start(&[]).await;
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {"discoveryUrl": server.discovery_url()}
    }))
    .unwrap();
    let auth = InboundAuthenticator::new(
        &config,
        Arc::new(MemorySecretSource::new()),
        reqwest::Client::new(),
    )
    .unwrap();
    let token = server.mint(json!({"aud": RESOURCE, "sub": "bob"})).await;
    assert!(auth.authenticate(&bearer(&token), RESOURCE).await.is_ok());
    assert_eq!(
        auth.authenticate(&bearer(&token), "http://127.0.0.1:7777/other")
            .await
            .unwrap_err(),
        AuthRejection::InvalidToken(TokenProblem::WrongAudience)
    );
}

#[tokio::test]
async fn protected_resource_metadata_names_the_issuer() {
    let server = OAuthServer::start(&[]).await;
    let auth = authenticator(&server);
    let doc = auth.resource_metadata(RESOURCE).await.unwrap().unwrap();
    assert_eq!(doc["resource"], RESOURCE);
    assert_eq!(doc["authorization_servers"], json!([server.issuer]));
    assert_eq!(doc["scopes_supported"], json!(["mcp:tools"]));
    assert_eq!(
        metadata_url(RESOURCE).unwrap(),
        "http://127.0.0.1:7777/.well-known/oauth-protected-resource/mcp"
    );
}

#[tokio::test]
async fn unreachable_issuer_is_503_not_401() {
    let port = auth_support::closed_port();
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "JWT",
        "jwt": {
            "discoveryUrl": format!("http://127.0.0.1:{port}/.well-known/openid-configuration"),
            "allowedAudiences": ["switchboard"]
        }
    }))
    .unwrap();
    let auth = InboundAuthenticator::new(
        &config,
        Arc::new(MemorySecretSource::new()),
        reqwest::Client::new(),
    )
    .unwrap();
    // Shaped like a JWT so it gets past parsing.
    let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let rejection = auth
        .authenticate(&bearer(token), RESOURCE)
        .await
        .unwrap_err();
    assert_eq!(rejection, AuthRejection::Unavailable);
    let response = rejection.into_response("http://x/.well-known/oauth-protected-resource");
    assert_eq!(response.status().as_u16(), 503);
    assert!(auth.warm_up().await.is_err());
}
