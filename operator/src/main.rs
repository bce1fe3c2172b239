//! `switchboard`: the operator's command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use switchboard_operator::demo::teams::{Team, TeamName};
use switchboard_operator::local::{self, LocalOptions};
use switchboard_operator::manifests::Manifests;
use switchboard_operator::{crd, demo};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard: one MCP endpoint for every MCP server"
)]
struct Cli {
    /// Log JSON lines instead of text.
    #[arg(long, global = true, env = "SWITCHBOARD_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML.
    Crd,
    /// Sync the targets declared in manifests and serve them here, without a cluster.
    Local {
        /// A manifest file or a directory of *.yaml files.
        #[arg(short = 'f', long = "filename")]
        path: PathBuf,
        #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The Gateway to run when the manifests declare several.
        #[arg(long)]
        gateway: Option<String>,
        /// Key for sealing session ids; gateways sharing it accept each other's sessions.
        #[arg(long, env = "SWITCHBOARD_SESSION_KEY_FILE")]
        session_key_file: Option<PathBuf>,
        /// Also serve /metrics, /healthz and /readyz on this address.
        #[arg(long, env = "SWITCHBOARD_ADMIN_LISTEN")]
        admin_listen: Option<SocketAddr>,
    },
    /// Run three sample team servers behind one gateway.
    Demo {
        #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Serve one demo team's MCP server (for the example deployment).
    DemoServer {
        #[arg(long, value_enum)]
        team: TeamName,
        #[arg(long, default_value = "0.0.0.0:9000")]
        listen: SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    switchboard_gateway::telemetry::init_logging(cli.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    let shutdown = switchboard_gateway::cli::shutdown_signal();
    match command {
        Command::Crd => {
            print!("{}", crd::crds_yaml()?);
            Ok(())
        }
        Command::Local {
            path,
            listen,
            gateway,
            session_key_file,
            admin_listen,
        } => {
            let manifests = Manifests::read(&path)?;
            let session_key = session_key_file
                .map(|file| std::fs::read(&file).map(|key| key.trim_ascii().to_vec()))
                .transpose()?;
            local::run(
                manifests,
                LocalOptions {
                    listen,
                    admin_listen,
                    session_key,
                    gateway,
                },
                |_| {},
                shutdown,
            )
            .await
        }
        Command::Demo { listen } => demo::run(listen, shutdown).await,
        Command::DemoServer { team, listen } => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!(
                "demo {team:?} server on http://{}/mcp",
                listener.local_addr()?
            );
            axum::serve(listener, demo::sample_server::router(Team::new(team)))
                .with_graceful_shutdown(shutdown)
                .await?;
            Ok(())
        }
    }
}
