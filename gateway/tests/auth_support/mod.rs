//! Test support: a real OAuth 2.0 / OIDC server (npm `oauth2-mock-server`, launched by
//! `tests/fixtures/oauth_server.mjs`) on 127.0.0.1, killed when dropped.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The oauth2-mock-server version the tests are written against (tests/setup-tools.sh).
pub const OAUTH2_MOCK_SERVER_VERSION: &str = "9.3.0";

pub fn tools_dir() -> PathBuf {
    match std::env::var_os("SWITCHBOARD_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/switchboard/tools")
        }
    }
}

fn install_hint(tools: &Path) -> String {
    format!(
        "oauth2-mock-server {OAUTH2_MOCK_SERVER_VERSION} (needs Node >= 22.12) not found under {}. \
         Install it with: mkdir -p {0}/npm && cd {0}/npm && npm install --no-audit --no-fund \
         oauth2-mock-server@{OAUTH2_MOCK_SERVER_VERSION} node@22   (or run tests/setup-tools.sh; \
         set SWITCHBOARD_TOOLS_DIR to use another directory)",
        tools.display()
    )
}

/// Node 22 from the tools directory (npm package `node`), else `node` on PATH.
fn node_binary(tools: &Path) -> PathBuf {
    let bundled = tools.join("npm/node_modules/.bin/node");
    if bundled.exists() {
        bundled
    } else {
        PathBuf::from("node")
    }
}

pub struct OAuthServer {
    child: Child,
    pub issuer: String,
    pub port: u16,
    pub first_kid: String,
    http: reqwest::Client,
}

impl OAuthServer {
    /// Starts the server; `extra_args` e.g. `["--clients", "id:secret"]`.
    pub async fn start(extra_args: &[&str]) -> Self {
        let tools = tools_dir();
        if !tools
            .join("npm/node_modules/oauth2-mock-server/package.json")
            .exists()
        {
            panic!("{}", install_hint(&tools));
        }
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/oauth_server.mjs");
        let mut child = Command::new(node_binary(&tools))
            .arg(&script)
            .arg("--tools-dir")
            .arg(&tools)
            .args(extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node ({e}); {}", install_hint(&tools)));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if !line.trim().is_empty() => line,
            _ => {
                let _ = child.kill();
                panic!(
                    "OAuth server did not start within 30 s; {}",
                    install_hint(&tools)
                );
            }
        };
        let ready: Value = serde_json::from_str(line.trim()).unwrap();
        let server = Self {
            child,
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            port: u16::try_from(ready["port"].as_u64().unwrap()).unwrap(),
            first_kid: ready["kid"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        };
        server.wait_ready().await;
        server
    }

    /// Polls discovery until it answers (bounded).
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(r) = self.http.get(self.discovery_url()).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "OAuth server not ready after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_test/{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// A token signed by the issuer's current key with these claims merged over the
    /// defaults (iss, iat, nbf, exp); a `null` claim is removed.
    pub async fn mint(&self, claims: Value) -> String {
        self.mint_with(json!({ "claims": claims })).await
    }

    /// `body`: `{claims, kid, expiresIn}`.
    pub async fn mint_with(&self, body: Value) -> String {
        self.control("token", body).await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A forged token: `none`, `hs256-public-key`, `foreign-key`, `tampered`.
    pub async fn forge(&self, kind: &str, claims: Value) -> String {
        self.control("forge", json!({ "kind": kind, "claims": claims }))
            .await["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Adds a signing key (it becomes the default for `mint`); returns its kid.
    pub async fn add_key(&self, alg: &str) -> String {
        self.control("keys", json!({ "alg": alg })).await["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Changes the token endpoint: `{error, status, failures}` to fail, `{ttl}` to shorten.
    pub async fn token_endpoint(&self, behaviour: Value) {
        self.control("token-endpoint", behaviour).await;
    }

    /// `{token, jwks, discovery, lastTokenRequest}` request counts.
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_test/stats", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Headers with `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
