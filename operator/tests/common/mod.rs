//! Shared harness of the reconciler tests: real FastMCP upstreams (started and killed by
//! the test, on 127.0.0.1 ephemeral ports) and kube-fake-client as the API server.
//!
//! The API side is a FAKE (kube-fake-client, in memory): no watches (tests call the
//! reconcilers directly, as the Controller would after each event), server-side apply is
//! a merge, deletion ignores finalizers (tests seed already-deleting objects), and every
//! non-status write bumps `generation`, so annotation changes go through the status
//! path to keep `generation` as a real API server would.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use switchboard_gateway::config::TargetSettings;
use switchboard_gateway::upstream::{UpstreamClient, http_client};
use switchboard_operator::controller::{Context, Options, gateway, target};
use switchboard_operator::crd::{Gateway, GatewayTarget};

pub const NS: &str = "default";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn python() -> PathBuf {
    let tools = std::env::var_os("SWITCHBOARD_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/switchboard/tools")
        });
    let python = tools.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/setup-tools.sh to install the FastMCP venv",
        python.display()
    );
    python
}

/// A real FastMCP server (tests/fixtures/operator_upstream.py), killed on drop.
pub struct Upstream {
    child: Child,
    pub url: String,
}

impl Upstream {
    /// tests/fixtures/operator_upstream.py with `args`.
    pub fn start(args: &[&str]) -> Self {
        Self::fixture("operator_upstream.py", args, &[])
    }

    /// Any FastMCP fixture of tests/fixtures that takes `--port`.
    pub fn fixture(script: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python())
            .arg(repo().join("tests/fixtures").join(script))
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the FastMCP fixture");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "FastMCP fixture did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }

    /// Calls a tool on the upstream with the gateway's own MCP client.
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        let client = UpstreamClient::new(
            &TargetSettings::new("probe", &self.url),
            http_client(),
            std::sync::Arc::new(switchboard_gateway::secrets::MemorySecretSource::new()),
        );
        client
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
            .unwrap()
    }

    /// Stops the server (by PID) and waits until it is gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status phases written, in order, as `kubectl get mcpgt -w` would see them.
#[derive(Clone, Default)]
pub struct Transcript(pub Arc<Mutex<Vec<Line>>>);

/// (target, phase, tool count) of one status write.
pub type Line = (String, String, Option<u64>);

impl Transcript {
    pub fn phases(&self, name: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, p, _)| p.clone())
            .collect()
    }
    pub fn writes(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn print(&self, gateway: &str) {
        println!("$ kubectl get mcpgt -w");
        println!(
            "{:<10} {:<8} {:<26} {:<6} AGE",
            "NAME", "GATEWAY", "STATUS", "TOOLS"
        );
        for (name, phase, tools) in self.0.lock().unwrap().iter() {
            let tools = tools.map(|t| t.to_string()).unwrap_or_else(|| "".into());
            println!("{name:<10} {gateway:<8} {phase:<26} {tools:<6} 1s");
        }
    }
}

pub struct World {
    pub client: Client,
    pub ctx: Arc<Context>,
    pub transcript: Transcript,
}

pub fn options() -> Options {
    Options {
        gateway_image: "example.com/switchboard-gateway:test".into(),
        ..Options::default()
    }
}

pub async fn world(objects: Vec<Value>) -> World {
    world_with(objects, options()).await
}

pub async fn world_with(objects: Vec<Value>, options: Options) -> World {
    let transcript = Transcript::default();
    let record = transcript.clone();
    let funcs = kube_fake_client::interceptor::Funcs::new().patch_status(move |ctx| {
        let status = &ctx.patch["status"];
        if ctx.patch["kind"] == "GatewayTarget"
            && let Some(phase) = status["status"].as_str()
        {
            record.0.lock().unwrap().push((
                ctx.name.to_owned(),
                phase.to_owned(),
                status["toolCount"].as_u64(),
            ));
        }
        Ok(None)
    });
    let client = kube_fake_client::ClientBuilder::new()
        .with_resource::<Gateway>()
        .with_resource::<GatewayTarget>()
        .with_status_subresource::<Gateway>()
        .with_status_subresource::<GatewayTarget>()
        .with_status_subresource::<Deployment>()
        .with_runtime_objects(objects)
        .with_interceptor_funcs(funcs)
        .build()
        .await
        .unwrap();
    World {
        ctx: Context::new(client.clone(), options),
        client,
        transcript,
    }
}

pub fn gateway_yaml(name: &str, extra: &str) -> Value {
    let text = format!(
        "apiVersion: switchboard.dev/v1alpha1\nkind: Gateway\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  inboundAuth: {{type: None}}\n{extra}"
    );
    serde_yaml::from_str(&text).unwrap()
}

pub fn target_yaml(name: &str, gateway: &str, endpoint: &str, extra: &str) -> Value {
    let text = format!(
        "apiVersion: switchboard.dev/v1alpha1\nkind: GatewayTarget\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  gatewayRef: {{name: {gateway}}}\n  mcp: {{endpoint: \"{endpoint}\"}}\n{extra}"
    );
    serde_yaml::from_str(&text).unwrap()
}

impl World {
    pub fn targets(&self) -> Api<GatewayTarget> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn gateways(&self) -> Api<Gateway> {
        Api::namespaced(self.client.clone(), NS)
    }
    pub fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn target(&self, name: &str) -> GatewayTarget {
        self.targets().get(name).await.unwrap()
    }

    /// One reconcile of a target, handed the latest object as a watch event would.
    pub async fn reconcile_target(&self, name: &str) -> kube::runtime::controller::Action {
        let object = self.target(name).await;
        target::reconcile_target(&object, &self.ctx).await.unwrap()
    }

    pub async fn reconcile_gateway(&self, name: &str) -> kube::runtime::controller::Action {
        let object = self.gateways().get(name).await.unwrap();
        gateway::reconcile_gateway(&object, &self.ctx)
            .await
            .unwrap()
    }

    pub async fn status(&self, name: &str) -> switchboard_operator::crd::GatewayTargetStatus {
        self.target(name).await.status.unwrap_or_default()
    }

    /// `kubectl patch --type merge` of the spec (bumps generation).
    pub async fn patch_spec(&self, name: &str, spec: Value) {
        self.targets()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": spec})),
            )
            .await
            .unwrap();
    }

    /// `kubectl annotate mcpgt NAME switchboard.dev/sync-requested-at=VALUE --overwrite`.
    /// Written through the status path: the fake would otherwise bump `generation`,
    /// which a real API server does not do for metadata changes.
    pub async fn annotate_sync(&self, name: &str, value: &str) {
        let patch =
            json!({"metadata": {"annotations": {"switchboard.dev/sync-requested-at": value}}});
        self.targets()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    pub async fn catalog_maps(&self, target: &str) -> Vec<ConfigMap> {
        let mut maps = self
            .config_maps()
            .list(&ListParams::default().labels(&format!("switchboard.dev/target={target}")))
            .await
            .unwrap()
            .items;
        maps.sort_by_key(|m| switchboard_operator::render::catalog::shard_of(m).map(|(i, _)| i));
        maps
    }

    /// Events about `name`, as (type, reason, note).
    pub async fn events(&self, name: &str) -> Vec<(String, String, String)> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), NS);
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| {
                (
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.note.unwrap_or_default(),
                )
            })
            .collect()
    }

    pub async fn runtime_config(
        &self,
        gateway: &str,
    ) -> switchboard_gateway::config::RuntimeConfig {
        let map = self
            .config_maps()
            .get(&format!("{gateway}-gateway-config"))
            .await
            .unwrap();
        serde_json::from_str(&map.data.unwrap()["config.json"]).unwrap()
    }

    pub async fn deployment(&self, gateway: &str) -> Deployment {
        Api::<Deployment>::namespaced(self.client.clone(), NS)
            .get(&format!("{gateway}-gateway"))
            .await
            .unwrap()
    }
}

pub fn condition<'a>(
    status: &'a switchboard_operator::crd::GatewayTargetStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition"))
}

/// The tool names stored in a target's catalog ConfigMaps.
pub fn tool_names(maps: &[ConfigMap]) -> Vec<String> {
    let stored = switchboard_operator::render::catalog::read_stored(
        &maps[0].labels()["switchboard.dev/target"],
        maps,
    )
    .unwrap();
    stored.catalog.tools.into_iter().map(|t| t.name).collect()
}
