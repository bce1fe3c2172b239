//! The operator never writes a credential where others can read it. A target whose
//! upstream (a real FastMCP server) checks an API key is synced with the right key, and a
//! second one with a wrong key; then every ConfigMap, Secret-free object, status and Event
//! in the API server (kube-fake-client standing in for it) is searched for both values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use switchboard_operator::crd::{Gateway, GatewayTarget};

const GOOD_KEY: &str = "sk-operator-leak-check-5f1c9e7a";
const WRONG_KEY: &str = "sk-operator-wrong-key-83b2d4c0";

fn secret(name: &str, value: &str) -> serde_json::Value {
    let mut secret: Secret =
        serde_yaml::from_str(&format!("metadata: {{name: {name}, namespace: {NS}}}")).unwrap();
    secret.data = Some(
        [(
            "api-key".to_owned(),
            k8s_openapi::ByteString(value.as_bytes().to_vec()),
        )]
        .into(),
    );
    serde_json::to_value(secret).unwrap()
}

const CREDENTIALS: &str = "  credentials: {type: APIKey, apiKey: {secretRef: {name: SECRET, key: api-key}, in: header, name: X-API-Key}}\n";

async fn everything_but_secrets(client: &kube::Client) -> String {
    let mut dump = Vec::new();
    macro_rules! all {
        ($kind:ty) => {
            let api: Api<$kind> = Api::namespaced(client.clone(), NS);
            for object in api.list(&ListParams::default()).await.unwrap().items {
                dump.push(serde_json::to_string(&object).unwrap());
            }
        };
    }
    all!(ConfigMap);
    all!(Gateway);
    all!(GatewayTarget);
    all!(Event);
    all!(Deployment);
    dump.join("\n")
}

#[tokio::test]
async fn no_credential_reaches_config_maps_status_or_events() {
    let upstream = Upstream::fixture(
        "auth_protected_server.py",
        &["--auth", "api-key-header"],
        &[("AUTH_PROTECTED_SECRET", GOOD_KEY)],
    );
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml(
            "vault",
            "shop",
            &upstream.url,
            &CREDENTIALS.replace("SECRET", "good-key"),
        ),
        target_yaml(
            "intruder",
            "shop",
            &upstream.url,
            &CREDENTIALS.replace("SECRET", "wrong-key"),
        ),
        secret("good-key", GOOD_KEY),
        secret("wrong-key", WRONG_KEY),
    ])
    .await;

    w.reconcile_target("vault").await;
    w.reconcile_target("intruder").await;
    w.reconcile_gateway("shop").await;

    // The credential was really used: the right key syncs, the wrong one is refused.
    assert_eq!(w.status("vault").await.status.as_deref(), Some("READY"));
    let refused = w.status("intruder").await;
    assert_eq!(refused.status.as_deref(), Some("FAILED"), "{refused:?}");
    assert!(
        refused.status_reasons.iter().any(|r| r.contains("401")),
        "the reason says the upstream refused the credential: {:?}",
        refused.status_reasons
    );

    let dump = everything_but_secrets(&w.client).await;
    assert!(
        dump.contains("good-key"),
        "the Deployment mounts the Secret by name"
    );
    for value in [GOOD_KEY, WRONG_KEY] {
        assert!(
            !dump.contains(value),
            "a credential value leaked into an object:\n{dump}"
        );
    }
    drop(upstream);
}
