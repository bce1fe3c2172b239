//! `switchboard-bench`: measures the gateway against a direct upstream (see
//! docs/benchmarks.md). Subcommands expose the pieces for profiling by hand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use switchboard_bench::bench::{self, BenchConfig};
use switchboard_bench::client::Era;
use switchboard_bench::load::{self, Budget, LoadSpec};
use switchboard_bench::upstream::{self, UpstreamOptions};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard-bench",
    version,
    about = "Benchmark the Switchboard MCP gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Catalog sizes for the tools/list measurement (all pages through the gateway).
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1_000, 10_000])]
    tools: Vec<usize>,
    /// Concurrent clients for the tool-call comparison.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    concurrency: Vec<usize>,
    /// Seconds per tool-call measurement (instead of --requests).
    #[arg(long, conflicts_with = "requests")]
    duration: Option<f64>,
    /// Calls per tool-call measurement.
    #[arg(long, default_value_t = 5_000)]
    requests: u64,
    /// Protocol eras of the clients: legacy (2025-11-25 sessions), modern (2026-07-28).
    #[arg(long, value_delimiter = ',', default_values_t = [Era::Legacy, Era::Modern])]
    eras: Vec<Era>,
    /// Tools of the target whose sync is timed and of the big gateway process.
    #[arg(long, default_value_t = 10_000)]
    sync_tools: usize,
    /// Tools per upstream tools/list page.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Extra properties in each generated tool's input schema.
    #[arg(long, default_value_t = 4)]
    schema_properties: usize,
    /// Repetitions of each list and sync measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Clients driving the gateway process while its RSS is sampled.
    #[arg(long, default_value_t = 64)]
    load_clients: usize,
    /// CI size: a few hundred calls per cell, 1,000-tool catalogs; finishes in seconds.
    #[arg(long)]
    tiny: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// The gateway binary for the process measurements (default: next to this binary).
    #[arg(long)]
    gateway_bin: Option<PathBuf>,
    /// Which measurements to run: calls, lists, sync, process (e.g. to profile one).
    #[arg(long, value_delimiter = ',', default_values_t = ["calls".to_owned(), "lists".to_owned(), "sync".to_owned(), "process".to_owned()])]
    sections: Vec<String>,
    /// Scratch directory for the gateway processes' config directories.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the benchmark's upstream MCP server until killed.
    Upstream {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        #[arg(long, default_value_t = 10)]
        tools: usize,
        #[arg(long, default_value_t = 100)]
        page_size: usize,
        #[arg(long, default_value_t = 4)]
        schema_properties: usize,
        /// Serve handshake-era clients statelessly (no session ids).
        #[arg(long)]
        no_sessions: bool,
    },
    /// Sync an upstream and write a gateway config directory (config.json, catalogs/,
    /// session-key) for `switchboard-gateway --config-dir`, e.g. to profile it.
    ConfigDir {
        /// The upstream MCP endpoint; its target is named `up`.
        #[arg(long)]
        upstream: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Drive an MCP endpoint with concurrent clients and print the statistics as JSON.
    Load {
        #[arg(long)]
        url: String,
        #[arg(long, default_value = "modern")]
        era: Era,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        #[arg(long, default_value = "echo")]
        tool: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            match cli.command {
                Some(Command::Upstream {
                    listen,
                    tools,
                    page_size,
                    schema_properties,
                    no_sessions,
                }) => {
                    serve_upstream(&listen, tools, page_size, schema_properties, !no_sessions).await
                }
                Some(Command::ConfigDir { upstream, dir }) => {
                    use switchboard_bench::gateway;
                    let config = gateway::runtime_config(vec![gateway::target(
                        "up",
                        &upstream,
                        switchboard_gateway::config::UpstreamProtocol::Auto,
                        60,
                    )]);
                    let catalogs = gateway::sync_all(&config).await?;
                    gateway::write_config_dir(&dir, &config, &catalogs, gateway::SESSION_KEY)?;
                    println!("wrote {}", dir.display());
                    Ok(())
                }
                Some(Command::Load {
                    url,
                    era,
                    concurrency,
                    duration,
                    tool,
                }) => {
                    let stats = load::run(&LoadSpec {
                        url,
                        era,
                        concurrency,
                        budget: Budget::Duration(Duration::from_secs_f64(duration)),
                        tool,
                        warmup: 5,
                    })
                    .await;
                    println!("{}", serde_json::to_string_pretty(&stats)?);
                    Ok(())
                }
                None => run_bench(cli.bench).await,
            }
        })
}

async fn serve_upstream(
    listen: &str,
    tools: usize,
    page_size: usize,
    schema_properties: usize,
    sessions: bool,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let options = UpstreamOptions {
        tools,
        schema_properties,
        page_size,
        sessions,
    };
    let upstream = upstream::spawn_on(listener, &options)?;
    println!("upstream ready at {}", upstream.url);
    switchboard_gateway::cli::shutdown_signal().await;
    upstream.stop();
    Ok(())
}

async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let mut config = BenchConfig {
        eras: args.eras,
        concurrency: args.concurrency,
        budget: match args.duration {
            Some(seconds) => Budget::Duration(Duration::from_secs_f64(seconds)),
            None => Budget::Requests(args.requests),
        },
        list_sizes: args.tools,
        sync_tools: args.sync_tools,
        sync_page_size: args.page_size,
        schema_properties: args.schema_properties,
        repeats: args.repeats,
        load_clients: args.load_clients,
        sections: args.sections,
        gateway_bin: args
            .gateway_bin
            .unwrap_or_else(switchboard_bench::gateway::default_gateway_bin),
        work_dir: args.work_dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()))
        }),
    };
    if args.tiny {
        config.concurrency = vec![1, 16];
        config.budget = Budget::Requests(300);
        config.list_sizes = vec![100, 1_000];
        config.sync_tools = 1_000;
        config.repeats = 2;
        config.load_clients = 16;
    }
    let mode = if args.tiny { "tiny" } else { "full" };
    let result = bench::run(&config, mode).await;
    let _ = std::fs::remove_dir_all(&config.work_dir);
    let report = result?;
    let table = bench::markdown(&report);
    println!("{table}");
    if let Some(path) = args.markdown {
        std::fs::write(&path, &table).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
