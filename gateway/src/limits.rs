//! Per-tenant rate limits: token buckets with burst, for tool calls, lists and search.
//!
//! Limits are per replica: with `replicas` gateway pods, each enforces `1/replicas` of the
//! configured rate (and burst), so the fleet as a whole admits about the configured rate
//! when a Service spreads load evenly. Callers without a tenant share the bucket `""`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    /// Sustained requests per second.
    #[schemars(range(min = 0.001))]
    pub requests_per_second: f64,
    /// Requests allowed at once above the sustained rate; default: one second's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub burst: Option<u32>,
}

/// An extra limit on some tools, per tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRateLimit {
    /// Exposed tool-name globs; empty means every tool of `targets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Target names; empty means any target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(flatten)]
    pub rate: Rate,
}

/// `Gateway.spec.rateLimits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Every tenant's budget for tool calls, list requests and searches together.
    pub per_tenant: Rate,
    /// Budgets for particular tenants, replacing `perTenant` for them.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub tenant_overrides: HashMap<String, Rate>,
    /// Extra budgets on tool calls to some tools or targets (per tenant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolRateLimit>,
}

/// A refused request and when to try again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_seconds(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    per_second: f64,
    burst: f64,
}

impl Budget {
    fn share(rate: &Rate, replicas: u32) -> Self {
        let replicas = f64::from(replicas.max(1));
        let burst = f64::from(rate.burst.unwrap_or(rate.requests_per_second.ceil() as u32));
        Self {
            per_second: rate.requests_per_second / replicas,
            burst: (burst / replicas).max(1.0),
        }
    }

    /// Takes one token, or says how long until one is there.
    fn take(&self, bucket: &mut Bucket, now: Instant) -> Result<(), Throttled> {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(Throttled {
                retry_after: Duration::from_secs_f64(wait),
            })
        }
    }
}

struct ToolBudget {
    tools: Option<GlobSet>,
    targets: Vec<String>,
    budget: Budget,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid rate limit: {0}")]
pub struct RateLimitError(String);

/// Which bucket family a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Tenant,
    Tool(usize),
}

/// Shared by every request of one gateway replica.
pub struct RateLimiter {
    default: Budget,
    overrides: HashMap<String, Budget>,
    tools: Vec<ToolBudget>,
    buckets: Mutex<HashMap<(String, Scope), Bucket>>,
}

/// Buckets idle this long are full again and can be forgotten.
const IDLE: Duration = Duration::from_secs(600);
const SWEEP_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(config: &RateLimitConfig, replicas: u32) -> Result<Self, RateLimitError> {
        let check = |rate: &Rate| {
            if rate.requests_per_second > 0.0 && rate.requests_per_second.is_finite() {
                Ok(Budget::share(rate, replicas))
            } else {
                Err(RateLimitError("requestsPerSecond must be positive".into()))
            }
        };
        let mut tools = Vec::new();
        for limit in &config.tools {
            let globs = if limit.tools.is_empty() {
                None
            } else {
                let mut builder = GlobSetBuilder::new();
                for pattern in &limit.tools {
                    builder.add(Glob::new(pattern).map_err(|e| RateLimitError(e.to_string()))?);
                }
                Some(builder.build().map_err(|e| RateLimitError(e.to_string()))?)
            };
            tools.push(ToolBudget {
                tools: globs,
                targets: limit.targets.clone(),
                budget: check(&limit.rate)?,
            });
        }
        Ok(Self {
            default: check(&config.per_tenant)?,
            overrides: config
                .tenant_overrides
                .iter()
                .map(|(tenant, rate)| Ok((tenant.clone(), check(rate)?)))
                .collect::<Result<_, RateLimitError>>()?,
            tools,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn take(
        &self,
        tenant: &str,
        scope: Scope,
        budget: Budget,
        now: Instant,
    ) -> Result<(), Throttled> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| now.saturating_duration_since(b.updated) < IDLE);
        }
        let bucket = buckets.entry((tenant.to_owned(), scope)).or_insert(Bucket {
            tokens: budget.burst,
            updated: now,
        });
        budget.take(bucket, now)
    }

    /// Admits one list, search or call request of `tenant`.
    pub fn admit(&self, tenant: Option<&str>) -> Result<(), Throttled> {
        self.admit_at(tenant, Instant::now())
    }

    fn admit_at(&self, tenant: Option<&str>, now: Instant) -> Result<(), Throttled> {
        let tenant = tenant.unwrap_or_default();
        let budget = self.overrides.get(tenant).copied().unwrap_or(self.default);
        self.take(tenant, Scope::Tenant, budget, now)
    }

    /// The extra per-tool budgets a call to `tool` of `target` draws from (after `admit`).
    pub fn admit_tool(
        &self,
        tenant: Option<&str>,
        tool: &str,
        target: &str,
    ) -> Result<(), Throttled> {
        self.admit_tool_at(tenant, tool, target, Instant::now())
    }

    fn admit_tool_at(
        &self,
        tenant: Option<&str>,
        tool: &str,
        target: &str,
        now: Instant,
    ) -> Result<(), Throttled> {
        let tenant = tenant.unwrap_or_default();
        for (index, limit) in self.tools.iter().enumerate() {
            let tool_matches = limit.tools.as_ref().is_none_or(|set| set.is_match(tool));
            let target_matches =
                limit.targets.is_empty() || limit.targets.iter().any(|t| t == target);
            if tool_matches && target_matches {
                self.take(tenant, Scope::Tool(index), limit.budget, now)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rps: f64, burst: u32) -> RateLimitConfig {
        RateLimitConfig {
            per_tenant: Rate {
                requests_per_second: rps,
                burst: Some(burst),
            },
            tenant_overrides: HashMap::new(),
            tools: Vec::new(),
        }
    }

    #[test]
    fn a_burst_beyond_the_limit_is_throttled_and_recovers_after_refill() {
        let limiter = RateLimiter::new(&config(2.0, 3), 1).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.admit_at(Some("acme"), start).is_ok());
        }
        let throttled = limiter.admit_at(Some("acme"), start).unwrap_err();
        assert_eq!(throttled.retry_after, Duration::from_millis(500));
        assert_eq!(throttled.retry_after_seconds(), 1);
        assert!(
            limiter
                .admit_at(Some("acme"), start + Duration::from_millis(500))
                .is_ok()
        );
        assert!(
            limiter
                .admit_at(Some("acme"), start + Duration::from_millis(500))
                .is_err()
        );
    }

    #[test]
    fn tenants_do_not_share_buckets_and_overrides_apply() {
        let mut config = config(1.0, 1);
        config.tenant_overrides.insert(
            "big".into(),
            Rate {
                requests_per_second: 100.0,
                burst: Some(5),
            },
        );
        let limiter = RateLimiter::new(&config, 1).unwrap();
        let now = Instant::now();
        assert!(limiter.admit_at(Some("a"), now).is_ok());
        assert!(limiter.admit_at(Some("a"), now).is_err());
        assert!(
            limiter.admit_at(Some("b"), now).is_ok(),
            "b has its own bucket"
        );
        assert!(
            limiter.admit_at(None, now).is_ok(),
            "no tenant has its own bucket too"
        );
        for _ in 0..5 {
            assert!(limiter.admit_at(Some("big"), now).is_ok());
        }
        assert!(limiter.admit_at(Some("big"), now).is_err());
    }

    #[test]
    fn replicas_share_the_configured_rate() {
        let limiter = RateLimiter::new(&config(10.0, 10), 2).unwrap();
        let now = Instant::now();
        for _ in 0..5 {
            assert!(limiter.admit_at(Some("t"), now).is_ok());
        }
        let throttled = limiter.admit_at(Some("t"), now).unwrap_err();
        assert_eq!(
            throttled.retry_after,
            Duration::from_millis(200),
            "5/s per replica"
        );
    }

    #[test]
    fn tool_limits_apply_only_to_matching_tools() {
        let mut config = config(100.0, 100);
        config.tools.push(ToolRateLimit {
            tools: vec!["billing___*".into()],
            targets: vec![],
            rate: Rate {
                requests_per_second: 1.0,
                burst: Some(1),
            },
        });
        let limiter = RateLimiter::new(&config, 1).unwrap();
        let now = Instant::now();
        assert!(
            limiter
                .admit_tool_at(Some("t"), "billing___pay", "billing", now)
                .is_ok()
        );
        assert!(
            limiter
                .admit_tool_at(Some("t"), "billing___pay", "billing", now)
                .is_err()
        );
        assert!(
            limiter
                .admit_tool_at(Some("t"), "cart___get", "cart", now)
                .is_ok()
        );
    }

    #[test]
    fn invalid_rates_are_rejected() {
        assert!(RateLimiter::new(&config(0.0, 1), 1).is_err());
        let mut bad_glob = config(1.0, 1);
        bad_glob.tools.push(ToolRateLimit {
            tools: vec!["[".into()],
            targets: vec![],
            rate: Rate {
                requests_per_second: 1.0,
                burst: None,
            },
        });
        assert!(RateLimiter::new(&bad_glob, 1).is_err());
    }
}
