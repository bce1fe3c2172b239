//! `switchboard`: the operator's command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use switchboard_operator::controller::run::RunOptions;
use switchboard_operator::controller::{self, Options};
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
    Crd {
        /// Write one file per CRD (`switchboard.dev_<plural>.yaml`) into this directory.
        #[arg(long)]
        output_dir: Option<PathBuf>,
    },
    /// Run the operator: reconcile Gateways and GatewayTargets in the cluster.
    Run(Box<RunArgs>),
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

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Default image of gateway pods (a Gateway's spec.image overrides it).
    #[arg(long, env = "SWITCHBOARD_GATEWAY_IMAGE", default_value_t = controller::default_gateway_image())]
    gateway_image: String,
    /// Watch only this namespace; all namespaces when unset.
    #[arg(long, env = "SWITCHBOARD_WATCH_NAMESPACE")]
    watch_namespace: Option<String>,
    /// Address of /metrics (Prometheus text).
    #[arg(
        long,
        env = "SWITCHBOARD_METRICS_LISTEN",
        default_value = "0.0.0.0:9090"
    )]
    metrics_listen: SocketAddr,
    /// Address of /healthz and /readyz.
    #[arg(
        long,
        env = "SWITCHBOARD_HEALTH_LISTEN",
        default_value = "0.0.0.0:8081"
    )]
    health_listen: SocketAddr,
    /// Elect one writing replica through a Lease; disable only with a single replica.
    #[arg(long, env = "SWITCHBOARD_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    #[arg(
        long,
        env = "SWITCHBOARD_LEASE_NAME",
        default_value = "switchboard-operator"
    )]
    lease_name: String,
    /// Namespace of the Lease; defaults to the operator pod's namespace.
    #[arg(long, env = "SWITCHBOARD_LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Seconds a leader holds the Lease without renewing it.
    #[arg(long, env = "SWITCHBOARD_LEASE_SECONDS", default_value_t = 15)]
    lease_seconds: u64,
    /// Identity in the Lease; defaults to the pod name (POD_NAME) or the host name.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Reconciles running at once per controller (one target never syncs twice at once).
    #[arg(
        long,
        env = "SWITCHBOARD_MAX_CONCURRENT_RECONCILES",
        default_value_t = 8
    )]
    max_concurrent_reconciles: u16,
    /// Safety re-reconcile of every object, in seconds.
    #[arg(long, env = "SWITCHBOARD_RESYNC_SECONDS", default_value_t = 3600)]
    resync_seconds: u64,
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
        Command::Crd { output_dir: None } => {
            print!("{}", crd::crds_yaml()?);
            Ok(())
        }
        Command::Crd {
            output_dir: Some(dir),
        } => {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("switchboard.dev_gateways.yaml"),
                crd::gateway_crd_yaml()?,
            )?;
            std::fs::write(
                dir.join("switchboard.dev_gatewaytargets.yaml"),
                crd::target_crd_yaml()?,
            )?;
            Ok(())
        }
        Command::Run(args) => run_operator(*args, shutdown).await,
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

async fn run_operator(
    args: RunArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let lease_namespace = args
        .lease_namespace
        .or_else(|| {
            std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
                .ok()
                .map(|ns| ns.trim().to_owned())
        })
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let identity = args.identity.unwrap_or_else(|| {
        std::env::var("HOSTNAME").unwrap_or_else(|_| format!("switchboard-{}", std::process::id()))
    });
    let options = Options {
        gateway_image: args.gateway_image,
        resync_after: std::time::Duration::from_secs(args.resync_seconds.max(1)),
        embedder: tool_embedder(),
        ..Options::default()
    };
    controller::run::run(
        client,
        RunOptions {
            options,
            namespace: args.watch_namespace,
            metrics_listen: args.metrics_listen,
            health_listen: args.health_listen,
            leader_election: args.leader_election,
            lease_name: args.lease_name,
            lease_namespace,
            identity,
            lease_seconds: args.lease_seconds,
            max_concurrent_reconciles: args.max_concurrent_reconciles,
        },
        shutdown,
    )
    .await
}

/// The model that embeds tools at sync, from the environment (the operator image sets
/// `SWITCHBOARD_EMBEDDING_MODEL_DIR`). Without one, or if it does not load, the operator
/// still runs: tool search is lexical and Gateway status says why.
fn tool_embedder() -> Option<controller::ToolEmbedder> {
    use switchboard_gateway::search::embedder_from_env;
    match embedder_from_env(&switchboard_gateway::upstream::http_client()) {
        Ok(Some(embedder)) => {
            tracing::info!(model = embedder.model_id(), "tool embeddings: on");
            Some(controller::ToolEmbedder(embedder))
        }
        Ok(None) => {
            tracing::info!(
                "tool embeddings: off (no embedding model configured); tool search is lexical"
            );
            None
        }
        Err(error) => {
            tracing::error!(%error, "tool embeddings: off (the embedding model did not load); tool search is lexical");
            None
        }
    }
}
