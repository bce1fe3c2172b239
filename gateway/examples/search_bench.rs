//! Tool-search benchmark: prints a markdown table.
//!
//! ```text
//! cargo run --release -p switchboard-gateway --example search_bench -- [--tools 10000] [--queries 1000]
//! SWITCHBOARD_EMBEDDING_MODEL_DIR=... cargo run --release -p switchboard-gateway \
//!     --features embeddings --example search_bench -- [--embed-tools 1000]
//! ```
//!
//! Search latency is measured over synthetic tools with random unit vectors (cosine cost
//! does not depend on the values), so vector and hybrid search are measured in every
//! build. With the `embeddings` feature and a model directory it also measures model
//! load time and memory, catalog embedding time per 1,000 tools, and query embedding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_gateway::search::{SearchDocument, SearchIndex, SearchMode, SearchQuery};

const DOMAINS: &[&str] = &[
    "cart",
    "catalog",
    "orders",
    "crm",
    "tickets",
    "hr",
    "finance",
    "ci",
    "monitoring",
    "calendar",
    "email",
    "chat",
    "storage",
    "analytics",
    "maps",
    "travel",
    "iam",
    "payments",
];
const VERBS: &[&str] = &[
    "get", "list", "create", "update", "delete", "search", "archive", "export", "approve",
    "assign", "cancel", "merge", "share", "sync", "validate", "schedule",
];
const NOUNS: &[&str] = &[
    "item",
    "product",
    "order",
    "contact",
    "account",
    "deal",
    "ticket",
    "employee",
    "invoice",
    "payment",
    "pipeline",
    "deployment",
    "alert",
    "incident",
    "event",
    "message",
    "file",
    "folder",
    "report",
    "dashboard",
    "route",
    "place",
    "flight",
    "hotel",
    "user",
    "role",
    "subscription",
    "coupon",
    "review",
    "comment",
    "branch",
    "release",
    "channel",
    "page",
];
const QUALIFIERS: &[&str] = &[
    "for a customer",
    "in a date range",
    "by status",
    "with attachments",
    "for a team",
    "across regions",
    "with audit history",
    "for the current user",
    "in bulk",
    "by owner",
];

/// Deterministic xorshift generator, so every run benchmarks the same catalog.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 20_000) as f32 / 10_000.0 - 1.0
    }
}

fn synthetic_tools(n: usize, dim: usize, rng: &mut Rng) -> Vec<SearchDocument> {
    (0..n)
        .map(|i| {
            let (domain, verb, noun, q) =
                (rng.pick(DOMAINS), rng.pick(VERBS), rng.pick(NOUNS), rng.pick(QUALIFIERS));
            let target = format!("{domain}{}", i % 40);
            SearchDocument {
                exposed_name: format!("{target}___{verb}_{noun}_{i}"),
                target,
                title: None,
                description: format!(
                    "{verb} a {noun} {q} in the {domain} system. Returns the {noun} with its \
                     status, owner and timestamps."
                ),
                input_schema: json!({"type": "object", "properties": {
                    format!("{noun}_id"): {"type": "string", "description": format!("Identifier of the {noun}")},
                    "filter": {"type": "object", "description": format!("Filter {q}"), "properties": {
                        "status": {"type": "string", "description": "Status to match"}
                    }},
                    "limit": {"type": "integer", "description": "Maximum results"}
                }}),
                embedding: (dim > 0).then(|| (0..dim).map(|_| rng.unit()).collect()),
            }
        })
        .collect()
}

fn synthetic_queries(n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|_| {
            format!(
                "{} the {} {} {}",
                rng.pick(VERBS),
                rng.pick(NOUNS),
                rng.pick(QUALIFIERS),
                rng.pick(DOMAINS)
            )
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// CPU time (user + system, all threads) used by this process so far, from
/// /proc/self/stat in clock ticks (USER_HZ = 100 on Linux). Wall-clock latency on a
/// shared machine depends on the load; CPU time much less so, hence both are printed.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} expects a number"))
        })
        .unwrap_or(default)
}

fn main() {
    let tools = arg("--tools", 10_000);
    let n_queries = arg("--queries", 1_000);
    let dim = 384;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let docs = synthetic_tools(tools, dim, &mut rng);
    let queries = synthetic_queries(n_queries, &mut rng);
    let query_vectors: Vec<Vec<f32>> = (0..n_queries)
        .map(|_| (0..dim).map(|_| rng.unit()).collect())
        .collect();

    let started = Instant::now();
    let index = SearchIndex::build(docs);
    let build = started.elapsed();

    println!("\n## Tool search latency: {tools} tools, {n_queries} queries, limit 10\n");
    println!(
        "Index build (BM25F + {dim}-d vectors): {}; load average {} on {} cores\n",
        fmt(build),
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| mode | p50 | p99 | mean | CPU per query |");
    println!("|---|---|---|---|---|");
    // Half the tools hidden by the permission check, as a realistic worst case.
    let may_see = |name: &str| name.len().is_multiple_of(2);
    for mode in [SearchMode::Lexical, SearchMode::Vector, SearchMode::Hybrid] {
        let mut times = Vec::with_capacity(n_queries);
        let cpu = cpu_time();
        for (text, vector) in queries.iter().zip(&query_vectors) {
            let q = SearchQuery {
                text,
                limit: 10,
                targets: None,
                mode,
            };
            let t = Instant::now();
            let hits = index.search(&q, Some(vector), &may_see);
            times.push(t.elapsed());
            std::hint::black_box(hits);
        }
        let cpu = cpu_time().saturating_sub(cpu) / n_queries.max(1) as u32;
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        println!(
            "| {mode:?} | {} | {} | {} | {} |",
            fmt(percentile(&times, 0.5)),
            fmt(percentile(&times, 0.99)),
            fmt(mean),
            fmt(cpu)
        );
    }
    embeddings::run(&mut rng);
}

#[cfg(not(feature = "embeddings"))]
mod embeddings {
    pub fn run(_: &mut super::Rng) {
        println!("\n(Build with `--features embeddings` to measure the embedding model.)");
    }
}

#[cfg(feature = "embeddings")]
mod embeddings {
    use std::time::{Duration, Instant};

    use switchboard_gateway::search::{CandleEmbedder, Embedder, embedding_text};

    use super::{Rng, cpu_time, fmt, percentile, synthetic_queries, synthetic_tools};

    fn rss_mib() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    pub fn run(rng: &mut Rng) {
        let Some(dir) = std::env::var_os("SWITCHBOARD_EMBEDDING_MODEL_DIR") else {
            panic!(
                "set SWITCHBOARD_EMBEDDING_MODEL_DIR to the all-MiniLM-L6-v2 directory (docs/search.md)"
            );
        };
        let embed_tools = super::arg("--embed-tools", 1_000);
        let rss_before = rss_mib();
        let t = Instant::now();
        let embedder = CandleEmbedder::load(&dir).unwrap();
        let load = t.elapsed();
        let rss_after = rss_mib();

        let docs = synthetic_tools(embed_tools, 0, rng);
        let texts: Vec<String> = docs
            .iter()
            .map(|d| embedding_text(&d.exposed_name, &d.description, &d.input_schema))
            .collect();
        let t = Instant::now();
        let cpu = cpu_time();
        let vectors = embedder.embed(&texts).unwrap();
        let catalog = t.elapsed();
        let catalog_cpu = cpu_time().saturating_sub(cpu);
        assert_eq!(vectors.len(), embed_tools);

        let queries = synthetic_queries(100, rng);
        let mut times: Vec<Duration> = queries
            .iter()
            .map(|q| {
                let t = Instant::now();
                std::hint::black_box(embedder.embed(std::slice::from_ref(q)).unwrap());
                t.elapsed()
            })
            .collect();
        times.sort();

        let per_1000 = catalog.as_secs_f64() * 1000.0 / embed_tools.max(1) as f64;
        println!("\n## Embedding model (all-MiniLM-L6-v2, candle, CPU)\n");
        println!("| measure | value |");
        println!("|---|---|");
        println!("| model load (read + build) | {} |", fmt(load));
        println!(
            "| resident memory added by the model | {:.0} MiB |",
            rss_after - rss_before
        );
        println!(
            "| catalog embedding, {embed_tools} tools | {:.2} s |",
            catalog.as_secs_f64()
        );
        println!("| catalog embedding per 1,000 tools | {per_1000:.2} s |");
        println!(
            "| catalog embedding CPU time per 1,000 tools | {:.2} core-s |",
            catalog_cpu.as_secs_f64() * 1000.0 / embed_tools.max(1) as f64
        );
        println!("| query embedding p50 | {} |", fmt(percentile(&times, 0.5)));
        println!(
            "| query embedding p99 | {} |",
            fmt(percentile(&times, 0.99))
        );
    }
}
