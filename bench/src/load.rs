//! The load generator: N concurrent MCP clients calling one tool in a closed loop.
//!
//! Every client has its own HTTP connection pool and (handshake era) its own session,
//! connects and warms up before the clock starts, then calls until the request budget
//! or the duration is used up. Latency is measured per call, end to end, as the client
//! sees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio::sync::{Barrier, Mutex};

use crate::client::{ClientError, Era, McpClient, http_client, is_error};

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// This many measured calls in total, across all clients.
    Requests(u64),
    /// Calls until this much time has passed.
    Duration(Duration),
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub url: String,
    pub era: Era,
    pub concurrency: usize,
    pub budget: Budget,
    /// The tool to call, with `{"text": ...}` arguments.
    pub tool: String,
    /// Unmeasured calls per client before the clock starts.
    pub warmup: usize,
}

/// Latency percentiles and throughput of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// The `q` quantile (0..=1) of sorted microsecond samples, in milliseconds.
pub fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

impl Stats {
    pub fn from_samples(mut samples_us: Vec<u32>, errors: u64, elapsed: Duration) -> Self {
        samples_us.sort_unstable();
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Self {
            requests: samples_us.len() as u64,
            errors,
            seconds,
            throughput_rps: samples_us.len() as f64 / seconds,
            p50_ms: quantile_ms(&samples_us, 0.50),
            p90_ms: quantile_ms(&samples_us, 0.90),
            p99_ms: quantile_ms(&samples_us, 0.99),
            max_ms: quantile_ms(&samples_us, 1.0),
            first_error: None,
        }
    }
}

fn check(result: Result<serde_json::Value, ClientError>) -> Result<(), String> {
    match result {
        Ok(result) if is_error(&result) => Err(format!("tool error: {result}")),
        Ok(_) => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}

/// Runs one load test and returns its statistics (errors are counted, not fatal).
pub async fn run(spec: &LoadSpec) -> Stats {
    let concurrency = spec.concurrency.max(1);
    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let remaining = Arc::new(AtomicU64::new(match spec.budget {
        Budget::Requests(n) => n,
        Budget::Duration(_) => u64::MAX,
    }));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let spec = spec.clone();
        let barrier = barrier.clone();
        let remaining = remaining.clone();
        let errors = errors.clone();
        let first_error = first_error.clone();
        workers.push(tokio::spawn(async move {
            let mut client = McpClient::new(http_client(), &spec.url, spec.era);
            let failure = |message: String| {
                errors.fetch_add(1, Ordering::Relaxed);
                let first_error = first_error.clone();
                async move {
                    let mut slot = first_error.lock().await;
                    if slot.is_none() {
                        *slot = Some(message);
                    }
                }
            };
            let connected = client.connect().await;
            let arguments = json!({"text": format!("hello from client {worker}")});
            if let Err(e) = connected {
                failure(format!("connect: {e}")).await;
            } else {
                for _ in 0..spec.warmup {
                    let _ = client.call_tool(&spec.tool, arguments.clone()).await;
                }
            }
            barrier.wait().await;
            let start = Instant::now();
            let mut samples = Vec::new();
            loop {
                match spec.budget {
                    Budget::Requests(_) => {
                        if remaining
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                n.checked_sub(1)
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                    Budget::Duration(d) => {
                        if start.elapsed() >= d {
                            break;
                        }
                    }
                }
                let began = Instant::now();
                let outcome = check(client.call_tool(&spec.tool, arguments.clone()).await);
                let took = began.elapsed();
                match outcome {
                    Ok(()) => samples.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX)),
                    Err(message) => failure(message).await,
                }
            }
            samples
        }));
    }
    // Every client is connected and warm: start the clock.
    barrier.wait().await;
    let started = Instant::now();
    let mut samples = Vec::new();
    for worker in workers {
        if let Ok(mut mine) = worker.await {
            samples.append(&mut mine);
        }
    }
    let mut stats = Stats::from_samples(samples, errors.load(Ordering::Relaxed), started.elapsed());
    stats.first_error = first_error.lock().await.clone();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(quantile_ms(&samples, 0.5), 50.0);
        assert_eq!(quantile_ms(&samples, 0.99), 99.0);
        assert_eq!(quantile_ms(&samples, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }
}
