//! API-key authentication and Secrets mounted the way the kubelet mounts them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use switchboard_gateway::auth::{
    AuthMethod, AuthRejection, InboundAuthConfig, InboundAuthenticator,
};
use switchboard_gateway::secrets::{DirSecretSource, SecretError, SecretSource};

/// A directory laid out like a Kubernetes projected volume: `<secret>/<key>` resolve through
/// `..data`, a symlink the kubelet atomically repoints at a new timestamped directory.
struct KubeletVolume {
    root: PathBuf,
    generation: u32,
}

impl KubeletVolume {
    fn new(files: &[(&str, &str, &str)]) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root =
            std::env::temp_dir().join(format!("switchboard-auth-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).unwrap();
        let mut volume = Self {
            root,
            generation: 0,
        };
        volume.write(files);
        volume
    }

    /// Publishes a new generation of every file, the way the kubelet's atomic writer does.
    fn write(&mut self, files: &[(&str, &str, &str)]) {
        self.generation += 1;
        let dir_name = format!("..2026_01_01_00_00_0{}", self.generation);
        let dir = self.root.join(&dir_name);
        for (secret, key, value) in files {
            fs::create_dir_all(dir.join(secret)).unwrap();
            fs::write(dir.join(secret).join(key), value).unwrap();
            let link = self.root.join(secret);
            if fs::symlink_metadata(&link).is_err() {
                symlink(Path::new("..data").join(secret), &link).unwrap();
            }
        }
        let tmp = self.root.join("..data_tmp");
        let _ = fs::remove_file(&tmp);
        symlink(&dir_name, &tmp).unwrap();
        fs::rename(&tmp, self.root.join("..data")).unwrap();
    }
}

impl Drop for KubeletVolume {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

const KEYS: &str = r#"
- name: ci-bot
  key: sk-ci-0123456789
  tenant: acme
  user: ci
  scopes: [mcp:tools]
- name: alice-laptop
  # sha256 of "sk-alice-secret"
  sha256: 9c0f00bc70ea9b3fb04fbb6ae6fa3a5cee5ea5a7cc7e8ae5d6e7c0c5f3a1b2c4
  tenant: globex
"#;

fn key_headers(header: &str, key: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
        http::HeaderValue::from_str(key).unwrap(),
    );
    headers
}

fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn authenticator(secrets: Arc<dyn SecretSource>) -> InboundAuthenticator {
    let config: InboundAuthConfig = serde_json::from_value(json!({
        "type": "APIKey",
        "apiKey": {"secretRef": {"name": "gateway-api-keys"}}
    }))
    .unwrap();
    InboundAuthenticator::new(&config, secrets, reqwest::Client::new()).unwrap()
}

fn keys_with_real_hash() -> String {
    KEYS.replace(
        "9c0f00bc70ea9b3fb04fbb6ae6fa3a5cee5ea5a7cc7e8ae5d6e7c0c5f3a1b2c4",
        &sha256_hex("sk-alice-secret"),
    )
}

#[tokio::test]
async fn api_keys_map_to_tenant_and_user() {
    let keys = keys_with_real_hash();
    let volume = KubeletVolume::new(&[("gateway-api-keys", "keys.yaml", &keys)]);
    let auth = authenticator(Arc::new(DirSecretSource::new(&volume.root)));
    let url = "http://127.0.0.1:1/mcp";

    let ci = auth
        .authenticate(&key_headers("x-api-key", "sk-ci-0123456789"), url)
        .await
        .unwrap();
    assert_eq!(ci.method, AuthMethod::ApiKey);
    assert_eq!(
        (
            ci.subject.as_str(),
            ci.tenant.as_deref(),
            ci.user.as_deref()
        ),
        ("ci-bot", Some("acme"), Some("ci"))
    );
    assert!(ci.has_scope("mcp:tools"));
    assert!(ci.token.is_none(), "API keys are never forwarded upstream");

    // A hashed entry, presented as a bearer token; user defaults to the entry name.
    let alice = auth
        .authenticate(&key_headers("authorization", "Bearer sk-alice-secret"), url)
        .await
        .unwrap();
    assert_eq!(
        (alice.tenant.as_deref(), alice.user.as_deref()),
        (Some("globex"), Some("alice-laptop"))
    );

    let wrong = auth
        .authenticate(&key_headers("x-api-key", "sk-ci-0123456780"), url)
        .await
        .unwrap_err();
    assert_eq!(
        wrong,
        AuthRejection::InvalidApiKey {
            header: "x-api-key".into()
        }
    );
    let response = wrong.into_response("unused");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "APIKey header=\"x-api-key\""
    );

    let missing = auth
        .authenticate(&http::HeaderMap::new(), url)
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        AuthRejection::MissingApiKey {
            header: "x-api-key".into()
        }
    );
}

#[tokio::test]
async fn rotated_key_table_applies_without_restart() {
    let keys = keys_with_real_hash();
    let mut volume = KubeletVolume::new(&[("gateway-api-keys", "keys.yaml", &keys)]);
    let auth = authenticator(Arc::new(DirSecretSource::new(&volume.root)));
    let url = "http://127.0.0.1:1/mcp";
    let old = key_headers("x-api-key", "sk-ci-0123456789");
    let new = key_headers("x-api-key", "sk-ci-rotated");
    assert!(auth.authenticate(&old, url).await.is_ok());
    assert!(auth.authenticate(&new, url).await.is_err());

    volume.write(&[(
        "gateway-api-keys",
        "keys.yaml",
        "- {name: ci-bot, key: sk-ci-rotated, tenant: acme}\n",
    )]);
    assert!(auth.authenticate(&new, url).await.is_ok());
    assert!(matches!(
        auth.authenticate(&old, url).await.unwrap_err(),
        AuthRejection::InvalidApiKey { .. }
    ));

    // A broken table fails closed (503), and its error never quotes the content.
    volume.write(&[(
        "gateway-api-keys",
        "keys.yaml",
        "- name: x\n  key: [sk-leak]\n",
    )]);
    assert_eq!(
        auth.authenticate(&new, url).await.unwrap_err(),
        AuthRejection::Unavailable
    );
}

#[test]
fn dir_source_follows_kubelet_rotation_and_never_prints_values() {
    let mut volume = KubeletVolume::new(&[("s", "token", "first-value\n")]);
    let source = DirSecretSource::new(&volume.root);
    let first = source.read("s", "token").unwrap();
    assert_eq!(first.expose(), "first-value", "trailing newline trimmed");
    assert!(
        source.read("s", "token").unwrap().same_read(&first),
        "cached while unchanged"
    );

    volume.write(&[("s", "token", "second-value")]);
    let second = source.read("s", "token").unwrap();
    assert_eq!(second.expose(), "second-value");
    assert!(!format!("{second:?} {second}").contains("second-value"));

    let err = source.read("s", "missing").unwrap_err();
    assert!(matches!(err, SecretError::NotFound { .. }));
    assert!(matches!(
        source.read("s", "../../etc/passwd").unwrap_err(),
        SecretError::InvalidReference { .. }
    ));
    assert!(matches!(
        source.read("s", "..data").unwrap_err(),
        SecretError::InvalidReference { .. }
    ));
}
