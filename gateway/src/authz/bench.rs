//! Micro-benchmark: 100 rules × 1,000 tools. Prints ns per decision; asserts nothing about
//! speed (CI machines vary), only that the policy decides consistently.
//!
//! `cargo test -p switchboard-gateway --release authz::bench -- --nocapture`
//! (`AUTHZ_BENCH_ROUNDS=N` repeats each measurement N times; default 3.)

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use super::*;
use crate::auth::{AuthMethod, Caller};

const TARGETS: usize = 50;
const TOOLS_PER_TARGET: usize = 20;

struct Catalog {
    names: Vec<(String, String, String)>,
}

impl Catalog {
    fn new() -> Self {
        let mut names = Vec::new();
        for t in 0..TARGETS {
            for u in 0..TOOLS_PER_TARGET {
                let target = format!("t{t:02}");
                let upstream = format!("op{u:02}");
                names.push((format!("{target}___{upstream}"), target, upstream));
            }
        }
        Self { names }
    }

    fn refs(&self) -> Vec<ToolRef<'_>> {
        self.names
            .iter()
            .map(|(exposed, target, upstream)| ToolRef {
                exposed,
                target,
                upstream_name: upstream,
            })
            .collect()
    }
}

/// 100 rules of every form; for the benchmark caller none matches, so each decision
/// evaluates every condition that covers the tool before falling to the default.
fn mixed_rules() -> AuthorizationConfig {
    let mut rules = Vec::new();
    for i in 0..100usize {
        let (tools, targets, when) = match i {
            0..60 => (
                Some(vec![format!("t{:02}___op1*", i % TARGETS)]),
                None,
                format!(r#"caller.tenant == "tenant-{i}" && "scope-{i}" in caller.scopes"#),
            ),
            60..90 => (
                None,
                Some(vec![format!("t{:02}", i % TARGETS)]),
                format!(
                    r#"tool.upstreamName.startsWith("op{:02}") && caller.tenant == "tenant-{i}""#,
                    i % TOOLS_PER_TARGET
                ),
            ),
            90..99 => (None, None, format!("caller.claims.level > {i}")),
            _ => (None, None, r#"tool.name.endsWith("_x")"#.to_owned()),
        };
        rules.push(AuthorizationRule {
            name: format!("rule-{i}"),
            action: if i % 2 == 0 {
                Action::Allow
            } else {
                Action::Deny
            },
            tools,
            targets,
            when: Some(when),
        });
    }
    AuthorizationConfig {
        default_action: Some(Action::Allow),
        rules,
    }
}

/// Worst case: 100 rules without selectors whose conditions read the tool, so every
/// decision evaluates 100 CEL programs.
fn universal_rules() -> AuthorizationConfig {
    AuthorizationConfig {
        default_action: Some(Action::Allow),
        rules: (0..100)
            .map(|i| AuthorizationRule {
                name: format!("rule-{i}"),
                action: Action::Deny,
                tools: None,
                targets: None,
                when: Some(format!(
                    r#"tool.target == "t-{i}" && caller.tenant != "tenant-{i}""#
                )),
            })
            .collect(),
    }
}

fn bench_caller() -> Caller {
    let mut c = Caller::anonymous();
    c.method = AuthMethod::Jwt;
    c.subject = "agent-7".to_owned();
    c.tenant = Some("tenant-none".to_owned());
    c.user = Some("user@example.com".to_owned());
    c.client_id = Some("agent".to_owned());
    c.scopes = (0..10).map(|i| format!("other-{i}")).collect();
    c.claims = serde_json::json!({"sub": "agent-7", "level": 1, "groups": ["a", "b"]});
    c
}

fn rounds() -> u32 {
    std::env::var("AUTHZ_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

fn measure(label: &str, config: &AuthorizationConfig) {
    let catalog = Catalog::new();
    let tools = catalog.refs();
    let started = Instant::now();
    let policy = Policy::build(config, &[], &tools).unwrap();
    let build = started.elapsed();
    let caller = bench_caller();
    let rounds = rounds();

    let mut allowed = 0usize;
    let started = Instant::now();
    for _ in 0..rounds {
        for tool in &tools {
            allowed += usize::from(black_box(policy.decide(&caller, tool)).allowed);
        }
    }
    let decide_ns = started.elapsed().as_nanos() / (u128::from(rounds) * tools.len() as u128);

    let mut listed = 0usize;
    let started = Instant::now();
    for _ in 0..rounds {
        let scoped = policy.for_caller(&caller);
        listed += tools.iter().filter(|t| scoped.allows(black_box(t))).count();
    }
    let list_ns = started.elapsed().as_nanos() / (u128::from(rounds) * tools.len() as u128);
    assert_eq!(allowed, listed, "decide and the listing path disagree");

    println!(
        "authz bench [{label}]: {} rules x {} tools: build {:.1} ms; decide {decide_ns} ns; \
         listing {list_ns} ns/tool ({:.2} ms per tools/list); {} of {} allowed",
        config.rules.len(),
        tools.len(),
        build.as_secs_f64() * 1e3,
        list_ns as f64 * tools.len() as f64 / 1e6,
        allowed / rounds as usize,
        tools.len(),
    );
}

#[test]
fn decide_100_rules_1000_tools() {
    measure("mixed selectors", &mixed_rules());
    measure("100 conditions on every tool", &universal_rules());
}
