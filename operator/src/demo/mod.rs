//! `switchboard demo`: three sample team servers behind one gateway, no cluster needed.

pub mod sample_server;
pub mod teams;

use std::net::SocketAddr;

use teams::{Team, TeamName};

use crate::local::{self, LocalOptions};
use crate::manifests::Manifests;

/// The manifests the demo runs: exactly what `deploy/examples/ecommerce` applies, with
/// local endpoints.
pub fn manifests_yaml(endpoints: &[(TeamName, SocketAddr)]) -> String {
    let mut yaml = String::from(
        "apiVersion: switchboard.dev/v1alpha1\nkind: Gateway\nmetadata: {name: shop}\nspec:\n  inboundAuth: {type: None}\n",
    );
    for (team, address) in endpoints {
        let name = match team {
            TeamName::Cart => "cart",
            TeamName::Catalog => "catalog",
            TeamName::Promotions => "promotions",
        };
        yaml.push_str(&format!(
            "---\napiVersion: switchboard.dev/v1alpha1\nkind: GatewayTarget\nmetadata: {{name: {name}}}\nspec:\n  gatewayRef: {{name: shop}}\n  mcp: {{endpoint: \"http://{address}/mcp\"}}\n"
        ));
    }
    yaml
}

pub async fn run(
    listen: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut endpoints = Vec::new();
    for team in [TeamName::Cart, TeamName::Catalog, TeamName::Promotions] {
        let address =
            sample_server::spawn(Team::new(team), SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        endpoints.push((team, address));
    }
    let mut manifests = Manifests::default();
    manifests.add_yaml("demo", &manifests_yaml(&endpoints))?;
    let options = LocalOptions {
        listen,
        admin_listen: None,
        session_key: None,
        gateway: None,
    };
    local::run(manifests, options, print_next_steps, shutdown).await
}

fn print_next_steps(url: &str) {
    println!(
        "\nTry it:\n  npx @modelcontextprotocol/inspector@0.15.0 --cli {url} --transport http --method tools/list\n  npx @modelcontextprotocol/inspector@0.15.0 --cli {url} --transport http --method tools/call --tool-name catalog___get_item --tool-arg item_id=sku-1001\n  npx @modelcontextprotocol/inspector@0.15.0 --cli {url} --transport http --method tools/call --tool-name switchboard_search_tools --tool-arg 'query=add an item to my cart'\nOr open the Inspector UI with: npx @modelcontextprotocol/inspector@0.15.0  (transport: Streamable HTTP, URL: {url})\nPress Ctrl-C to stop."
    );
}
