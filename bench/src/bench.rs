//! The benchmark program: direct vs gateway tool calls, tools/list at scale, sync time,
//! and the gateway process's memory and start-up time. Prints a markdown table and
//! writes the same numbers as JSON.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use switchboard_gateway::catalog::TargetCatalog;
use switchboard_gateway::config::{RuntimeConfig, UpstreamProtocol};

use crate::client::{Era, McpClient, http_client};
use crate::gateway::{self, GatewayProcess};
use crate::load::{self, Budget, LoadSpec, Stats};
use crate::upstream::{self, UpstreamOptions};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub eras: Vec<Era>,
    pub concurrency: Vec<usize>,
    pub budget: Budget,
    /// Catalog sizes for the tools/list measurement.
    pub list_sizes: Vec<usize>,
    /// Tools of the target whose sync is timed, and of the loaded gateway process.
    pub sync_tools: usize,
    pub sync_page_size: usize,
    pub schema_properties: usize,
    /// Repetitions of each list and sync measurement (the median is reported).
    pub repeats: usize,
    /// Clients driving the gateway process while its RSS under load is sampled.
    pub load_clients: usize,
    /// Which of calls, lists, sync, process to run.
    pub sections: Vec<String>,
    pub gateway_bin: PathBuf,
    pub work_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory_total_mib: u64,
    pub kernel: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallRow {
    pub era: Era,
    pub concurrency: usize,
    pub direct: Stats,
    pub gateway: Stats,
    /// gateway / direct.
    pub p50_ratio: f64,
    pub p99_ratio: f64,
    pub throughput_ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    pub tools: usize,
    pub era: Era,
    pub gateway_pages: usize,
    pub gateway_ms: f64,
    pub direct_pages: usize,
    pub direct_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncRow {
    pub tools: usize,
    pub page_size: usize,
    pub pages: usize,
    pub ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessRow {
    pub catalog_tools: usize,
    pub startup_ms: f64,
    pub rss_ready_mib: f64,
    pub rss_after_list_mib: f64,
    pub rss_under_load_mib: f64,
    pub peak_rss_mib: f64,
    pub load: Stats,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub mode: String,
    pub upstream: String,
    pub calls: Vec<CallRow>,
    pub lists: Vec<ListRow>,
    pub sync: Option<SyncRow>,
    pub process: Vec<ProcessRow>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub fn machine() -> Machine {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let memory_total_mib = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")
                .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024;
    Machine {
        nproc: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        memory_total_mib,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

fn mib(kib: Option<u64>) -> f64 {
    kib.unwrap_or(0) as f64 / 1024.0
}

fn target_name(era: Era) -> &'static str {
    match era {
        Era::Legacy => "legacy",
        Era::Modern => "modern",
    }
}

/// Times listing every page of tools at `url`, `repeats` times; median ms and pages.
/// `expected` tools must be named with `prefix` ("" counts every tool).
async fn time_list(
    url: &str,
    era: Era,
    repeats: usize,
    expected: usize,
    prefix: &str,
) -> anyhow::Result<(f64, usize)> {
    let mut client = McpClient::new(http_client(), url, era);
    client.connect().await?;
    let mut times = Vec::new();
    let mut pages = 0;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let (tools, n) = client.list_all_tools().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let found = crate::client::count_prefixed(&tools, prefix);
        if found != expected {
            bail!("{url} listed {found} tools named {prefix}*, expected {expected}");
        }
        pages = n;
    }
    Ok((median(times), pages))
}

async fn calls(config: &BenchConfig) -> anyhow::Result<Vec<CallRow>> {
    let upstream = upstream::spawn(&UpstreamOptions {
        tools: 10,
        schema_properties: config.schema_properties,
        ..UpstreamOptions::default()
    })
    .await?;
    // One target per era, so the gateway speaks to the upstream in the era its clients
    // speak: the comparison with a direct client is like for like.
    let targets = config
        .eras
        .iter()
        .map(|era| {
            let protocol = match era {
                Era::Legacy => UpstreamProtocol::Legacy,
                Era::Modern => UpstreamProtocol::Modern,
            };
            gateway::target(target_name(*era), &upstream.url, protocol, 30)
        })
        .collect();
    let runtime = gateway::runtime_config(targets);
    let catalogs = gateway::sync_all(&runtime).await?;
    let gw = gateway::start(runtime, catalogs).await?;
    let mut rows = Vec::new();
    for &era in &config.eras {
        for &concurrency in &config.concurrency {
            let spec = |url: &str, tool: String| LoadSpec {
                url: url.to_owned(),
                era,
                concurrency,
                budget: config.budget,
                tool,
                warmup: 5,
            };
            let direct = load::run(&spec(&upstream.url, "echo".into())).await;
            let through = load::run(&spec(&gw.url, format!("{}___echo", target_name(era)))).await;
            eprintln!(
                "calls {era} x{concurrency}: direct p50 {:.3} ms {:.0} req/s, gateway p50 {:.3} ms {:.0} req/s",
                direct.p50_ms, direct.throughput_rps, through.p50_ms, through.throughput_rps
            );
            for (what, stats) in [("direct", &direct), ("gateway", &through)] {
                if stats.errors > 0 || stats.requests == 0 {
                    bail!(
                        "{what} calls ({era}, {concurrency} clients): {} errors, {} ok; first error: {}",
                        stats.errors,
                        stats.requests,
                        stats.first_error.as_deref().unwrap_or("none")
                    );
                }
            }
            rows.push(CallRow {
                era,
                concurrency,
                p50_ratio: ratio(through.p50_ms, direct.p50_ms),
                p99_ratio: ratio(through.p99_ms, direct.p99_ms),
                throughput_ratio: ratio(through.throughput_rps, direct.throughput_rps),
                direct,
                gateway: through,
            });
        }
    }
    Ok(rows)
}

/// An upstream with `tools` tools, a gateway config with it as target `name`, and its
/// synced catalog. Keep the upstream alive while the gateway uses it.
async fn synced_upstream(
    config: &BenchConfig,
    tools: usize,
    name: &str,
) -> anyhow::Result<(upstream::Upstream, RuntimeConfig, Vec<TargetCatalog>)> {
    let upstream = upstream::spawn(&UpstreamOptions {
        tools,
        schema_properties: config.schema_properties,
        page_size: config.sync_page_size,
        sessions: true,
    })
    .await?;
    let runtime = gateway::runtime_config(vec![gateway::target(
        name,
        &upstream.url,
        UpstreamProtocol::Auto,
        60,
    )]);
    let catalogs = gateway::sync_all(&runtime).await?;
    Ok((upstream, runtime, catalogs))
}

async fn lists(config: &BenchConfig) -> anyhow::Result<Vec<ListRow>> {
    let mut rows = Vec::new();
    for &tools in &config.list_sizes {
        let (upstream, runtime, catalogs) = synced_upstream(config, tools, "big").await?;
        let gw = gateway::start(runtime, catalogs).await?;
        for &era in &config.eras {
            let (gateway_ms, gateway_pages) =
                time_list(&gw.url, era, config.repeats, tools, "big___").await?;
            let (direct_ms, direct_pages) =
                time_list(&upstream.url, era, config.repeats, tools, "").await?;
            eprintln!(
                "tools/list {tools} tools {era}: gateway {gateway_ms:.1} ms ({gateway_pages} pages), direct {direct_ms:.1} ms ({direct_pages} pages)"
            );
            rows.push(ListRow {
                tools,
                era,
                gateway_pages,
                gateway_ms,
                direct_pages,
                direct_ms,
            });
        }
    }
    Ok(rows)
}

async fn sync_time(config: &BenchConfig) -> anyhow::Result<SyncRow> {
    let upstream = upstream::spawn(&UpstreamOptions {
        tools: config.sync_tools,
        schema_properties: config.schema_properties,
        page_size: config.sync_page_size,
        sessions: true,
    })
    .await?;
    let target = gateway::target("big", &upstream.url, UpstreamProtocol::Auto, 120);
    let mut times = Vec::new();
    for _ in 0..config.repeats.max(1) {
        let started = Instant::now();
        let catalog = gateway::sync(&target).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if catalog.tools.len() != config.sync_tools {
            bail!(
                "sync found {} tools, expected {}",
                catalog.tools.len(),
                config.sync_tools
            );
        }
    }
    let row = SyncRow {
        tools: config.sync_tools,
        page_size: config.sync_page_size,
        pages: config.sync_tools.div_ceil(config.sync_page_size.max(1)),
        ms: median(times),
    };
    eprintln!(
        "sync {} tools in pages of {}: {:.1} ms",
        row.tools, row.page_size, row.ms
    );
    Ok(row)
}

/// The gateway binary with a catalog of `tools` tools: start-up, RSS, RSS under load.
async fn process(config: &BenchConfig, tools: usize) -> anyhow::Result<ProcessRow> {
    let (_upstream, runtime, catalogs) = synced_upstream(config, tools, "up").await?;
    let dir = config.work_dir.join(format!("gateway-{tools}"));
    gateway::write_config_dir(&dir, &runtime, &catalogs, gateway::SESSION_KEY)?;
    let port = gateway::free_port()?;
    let (gw, startup) = GatewayProcess::start(&config.gateway_bin, &dir, port).await?;
    // Let start-up allocations settle before reading the idle footprint.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_ready = gw.rss_kib();
    for &era in &config.eras {
        time_list(&gw.url, era, 1, tools, "up___").await?;
    }
    let rss_after_list = gw.rss_kib();
    let spec = LoadSpec {
        url: gw.url.clone(),
        era: *config.eras.first().unwrap_or(&Era::Modern),
        concurrency: config.load_clients,
        budget: config.budget,
        tool: "up___echo".into(),
        warmup: 2,
    };
    // Highest RSS seen while the clients run (sampled every 20 ms).
    let highest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let pid = gw.pid();
        let highest = highest.clone();
        tokio::spawn(async move {
            loop {
                let now = gateway::proc_status_kib(pid, "VmRSS").unwrap_or(0);
                highest.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let load = load::run(&spec).await;
    sampler.abort();
    let rss_under_load = Some(highest.load(std::sync::atomic::Ordering::Relaxed));
    if load.errors > 0 {
        bail!(
            "load on the gateway process: {} errors; first: {}",
            load.errors,
            load.first_error.as_deref().unwrap_or("none")
        );
    }
    let row = ProcessRow {
        catalog_tools: tools,
        startup_ms: startup.as_secs_f64() * 1000.0,
        rss_ready_mib: mib(rss_ready),
        rss_after_list_mib: mib(rss_after_list),
        rss_under_load_mib: mib(rss_under_load),
        peak_rss_mib: mib(gw.peak_rss_kib()),
        load,
    };
    eprintln!(
        "gateway process with {tools} tools: ready in {:.0} ms, RSS {:.1} MiB ready, {:.1} after list, {:.1} under load, peak {:.1}",
        row.startup_ms,
        row.rss_ready_mib,
        row.rss_after_list_mib,
        row.rss_under_load_mib,
        row.peak_rss_mib
    );
    Ok(row)
}

pub async fn run(config: &BenchConfig, mode: &str) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&config.work_dir)
        .with_context(|| format!("creating {}", config.work_dir.display()))?;
    let wants = |section: &str| config.sections.iter().any(|s| s == section);
    let calls = if wants("calls") {
        calls(config).await?
    } else {
        Vec::new()
    };
    let lists = if wants("lists") {
        lists(config).await?
    } else {
        Vec::new()
    };
    let sync = if wants("sync") {
        Some(sync_time(config).await?)
    } else {
        None
    };
    let mut process_rows = Vec::new();
    if wants("process") {
        process_rows.push(process(config, 10).await?);
        process_rows.push(process(config, config.sync_tools).await?);
    }
    Ok(Report {
        machine: machine(),
        mode: mode.to_owned(),
        upstream: format!(
            "rmcp 3.9 streamable HTTP, echo tools, {} extra schema properties per tool",
            config.schema_properties
        ),
        calls,
        lists,
        sync,
        process: process_rows,
    })
}

fn triple(s: &Stats) -> String {
    format!("{:.2} / {:.2} / {:.2}", s.p50_ms, s.p90_ms, s.p99_ms)
}

/// The report as markdown tables.
pub fn markdown(report: &Report) -> String {
    let m = &report.machine;
    let mut out = String::new();
    out.push_str(&format!(
        "Machine: {} cores ({}), {} MiB RAM, Linux {}. Mode: {}. Upstream: {}.\n\n",
        m.nproc, m.cpu, m.memory_total_mib, m.kernel, report.mode, report.upstream
    ));
    out.push_str("### Tool calls: direct vs through the gateway (latency ms p50 / p90 / p99)\n\n");
    out.push_str("| era | clients | direct | direct req/s | gateway | gateway req/s | p50 ratio | p99 ratio | throughput ratio |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in &report.calls {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {:.0} | {:.2}x | {:.2}x | {:.2}x |\n",
            row.era,
            row.concurrency,
            triple(&row.direct),
            row.direct.throughput_rps,
            triple(&row.gateway),
            row.gateway.throughput_rps,
            row.p50_ratio,
            row.p99_ratio,
            row.throughput_ratio
        ));
    }
    if let Some(worst) = report
        .calls
        .iter()
        .max_by(|a, b| a.p50_ratio.total_cmp(&b.p50_ratio))
    {
        out.push_str(&format!(
            "\nWorst p50 latency ratio gateway/direct: {:.2}x ({} era, {} clients).\n",
            worst.p50_ratio, worst.era, worst.concurrency
        ));
    }
    out.push_str("\n### tools/list, every page (median ms)\n\n");
    out.push_str("| tools | era | gateway ms | gateway pages | direct ms | direct pages |\n|---:|---|---:|---:|---:|---:|\n");
    for row in &report.lists {
        out.push_str(&format!(
            "| {} | {} | {:.1} | {} | {:.1} | {} |\n",
            row.tools, row.era, row.gateway_ms, row.gateway_pages, row.direct_ms, row.direct_pages
        ));
    }
    if let Some(s) = &report.sync {
        out.push_str(&format!(
            "\n### Sync\n\n| tools | upstream page size | pages | sync ms |\n|---:|---:|---:|---:|\n| {} | {} | {} | {:.1} |\n",
            s.tools, s.page_size, s.pages, s.ms
        ));
    }
    out.push_str("\n### Gateway process (`switchboard-gateway --config-dir`)\n\n");
    out.push_str("| catalog tools | start-up to ready ms | RSS ready MiB | RSS after listing MiB | RSS under load MiB | peak RSS MiB | load clients: req/s, p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in &report.process {
        out.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} req/s, {:.2} ms |\n",
            row.catalog_tools,
            row.startup_ms,
            row.rss_ready_mib,
            row.rss_after_list_mib,
            row.rss_under_load_mib,
            row.peak_rss_mib,
            row.load.throughput_rps,
            row.load.p99_ms
        ));
    }
    out
}
