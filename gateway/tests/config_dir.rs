//! The `switchboard-gateway` binary serving a directory laid out exactly like the
//! operator's projected volume, as kubelet writes it:
//!
//! ```text
//! DIR/..2026_11_21_06_00_00.000000001/{config.json, session-key,
//!                                      catalogs/<target>-catalog-<i>.json,
//!                                      secrets/<secret>/<key>}
//! DIR/..data -> ..2026_11_21_06_00_00.000000001
//! DIR/config.json -> ..data/config.json   (and catalogs, session-key, secrets)
//! ```
//!
//! Updates are kubelet's atomic swap: a new timestamped directory, `..data_tmp`
//! symlinked to it and renamed over `..data`, the old directory removed. Upstreams are
//! real FastMCP servers; the client is the gateway crate's own MCP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::config::{GatewaySettings, RuntimeConfig, TargetSettings};
use switchboard_gateway::sync::sync_target;
use switchboard_gateway::upstream::{UpstreamClient, http_client};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// These upstreams need no credentials.
fn no_secrets() -> std::sync::Arc<dyn switchboard_gateway::secrets::SecretSource> {
    std::sync::Arc::new(switchboard_gateway::secrets::MemorySecretSource::new())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listened on {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn python() -> PathBuf {
    let tools = std::env::var_os("SWITCHBOARD_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/switchboard/tools")
        });
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/setup-tools.sh",
        python.display()
    );
    python
}

/// A FastMCP fixture from tests/fixtures; returns it and its URL.
fn fixture(script: &str, args: &[&str]) -> (Process, String) {
    let port = free_port();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let child = Command::new(python())
        .arg(fixtures.join(script))
        .arg("--port")
        .arg(port.to_string())
        .args(args)
        .current_dir(&fixtures)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    (Process(child), format!("http://127.0.0.1:{port}/mcp"))
}

async fn sync(name: &str, url: &str) -> (TargetSettings, TargetCatalog) {
    let mut settings = TargetSettings::new(name, url);
    settings.created_at = format!("2026-11-21T00:00:0{}Z", name.len() % 10);
    let catalog = sync_target(
        &settings,
        &Default::default(),
        &UpstreamClient::new(&settings, http_client(), no_secrets()),
    )
    .await
    .unwrap();
    (settings, catalog)
}

/// Writes one version of the volume the way kubelet's AtomicWriter does.
fn publish(dir: &Path, version: u32, targets: &[(TargetSettings, TargetCatalog, usize)]) {
    let stamp = format!("..2026_11_21_06_00_00.{version:09}");
    let data = dir.join(&stamp);
    std::fs::create_dir_all(data.join("catalogs")).unwrap();
    std::fs::create_dir_all(data.join("secrets/cart-creds")).unwrap();
    let config = RuntimeConfig {
        gateway: GatewaySettings::new("shop"),
        targets: targets.iter().map(|(s, _, _)| s.clone()).collect(),
    };
    std::fs::write(
        data.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    std::fs::write(
        data.join("session-key"),
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    )
    .unwrap();
    std::fs::write(data.join("secrets/cart-creds/api-key"), "not-used-yet").unwrap();
    for (settings, catalog, shards) in targets {
        // Like the operator: the ConfigMap key `catalog.json` of `<target>-catalog-<i>`.
        let mut size = serde_json::to_vec(catalog).unwrap().len() / shards;
        let mut parts = catalog.split(size);
        while parts.len() > *shards {
            size += size / 20;
            parts = catalog.split(size);
        }
        assert_eq!(parts.len(), *shards, "shard count of {}", settings.name);
        for (index, part) in parts.iter().enumerate() {
            let file = data.join(format!("catalogs/{}-catalog-{index}.json", settings.name));
            std::fs::write(file, serde_json::to_vec(part).unwrap()).unwrap();
        }
    }
    let previous = std::fs::read_link(dir.join("..data")).ok();
    symlink(&stamp, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    for entry in ["config.json", "session-key", "catalogs", "secrets"] {
        let link = dir.join(entry);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(format!("..data/{entry}"), link).unwrap();
        }
    }
    if let Some(previous) = previous {
        std::fs::remove_dir_all(dir.join(previous)).unwrap();
    }
}

async fn tool_names(gateway: &UpstreamClient) -> Vec<String> {
    let listed = gateway.request("tools/list", json!({})).await.unwrap();
    listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `tools/list` until `check` holds (reloads are asynchronous), 30 s at most.
async fn wait_for_tools(
    gateway: &UpstreamClient,
    what: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let names = tool_names(gateway).await;
        if check(&names) {
            return names;
        }
        assert!(Instant::now() < deadline, "{what}: still {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn serves_a_projected_volume_and_follows_kubelet_swaps_without_dropping_calls() {
    let (_slow, slow_url) = fixture("slow_server.py", &[]);
    let (_inventory, inventory_url) = fixture("operator_upstream.py", &["--tools", "40"]);
    let slow = sync("slow", &slow_url).await;
    let inventory = sync("inventory", &inventory_url).await;

    let dir = tempdir();
    publish(&dir, 1, &[(slow.0.clone(), slow.1.clone(), 1)]);
    let (listen, admin) = (free_port(), free_port());
    let _gateway = Process(
        Command::new(env!("CARGO_BIN_EXE_switchboard-gateway"))
            .args(["--config-dir", dir.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{listen}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
            .args(["--reload-interval-ms", "200"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(admin);
    let ready = reqwest::get(format!("http://127.0.0.1:{admin}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    wait_for_port(listen);

    let mut client_settings =
        TargetSettings::new("agent", format!("http://127.0.0.1:{listen}/mcp"));
    client_settings.timeout_seconds = 30;
    let gateway = UpstreamClient::new(&client_settings, http_client(), no_secrets());
    let names = tool_names(&gateway).await;
    assert_eq!(names, ["slow___fast_echo", "slow___slow_echo"]);

    // A call in flight across the swap.
    let in_flight = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            gateway
                .request("tools/call", json!({"name": "slow___slow_echo", "arguments": {"text": "kept", "seconds": 3}}))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish(
        &dir,
        2,
        &[
            (slow.0.clone(), slow.1.clone(), 1),
            (inventory.0.clone(), inventory.1.clone(), 3),
        ],
    );
    let names = wait_for_tools(&gateway, "the second target appears", |n| n.len() == 2 + 42).await;
    assert!(
        names.contains(&"inventory___tool_0039".to_owned()),
        "all three shards were merged"
    );
    assert!(
        !in_flight.is_finished(),
        "the swap happened while the call was running"
    );
    let result = in_flight.await.unwrap().unwrap();
    assert_eq!(text_of(&result), "slow echo: kept");
    let called = gateway
        .request(
            "tools/call",
            json!({"name": "inventory___tool_0007", "arguments": {"sku": "A-1"}}),
        )
        .await
        .unwrap();
    assert!(
        text_of(&called).starts_with("tool_0007 handled"),
        "{called}"
    );

    // The target is deleted: its catalog leaves the volume, its tools leave the gateway.
    publish(&dir, 3, &[(slow.0.clone(), slow.1.clone(), 1)]);
    wait_for_tools(&gateway, "the deleted target's tools go", |n| n.len() == 2).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-volume-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
