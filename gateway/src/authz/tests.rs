//! Behaviour of [`Policy`]: rule forms, order, defaults, tenancy, load errors, fail-closed
//! evaluation and binding to (target, upstream tool) pairs.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use super::*;
use crate::auth::{AuthMethod, Caller};

fn config(yaml: &str) -> AuthorizationConfig {
    serde_yaml::from_str(yaml).unwrap()
}

fn caller(tenant: Option<&str>, scopes: &[&str]) -> Caller {
    let mut c = Caller::anonymous();
    c.method = AuthMethod::Jwt;
    c.subject = "sub-1".to_owned();
    c.tenant = tenant.map(str::to_owned);
    c.user = Some("user-1".to_owned());
    c.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    c
}

/// An owned catalog entry; `refs` borrows a list of them as [`ToolRef`]s.
struct Tool {
    exposed: String,
    target: String,
    upstream: String,
}

fn tool(prefix: &str, target: &str, upstream: &str) -> Tool {
    Tool {
        exposed: format!("{prefix}___{upstream}"),
        target: target.to_owned(),
        upstream: upstream.to_owned(),
    }
}

impl Tool {
    fn r(&self) -> ToolRef<'_> {
        ToolRef {
            exposed: &self.exposed,
            target: &self.target,
            upstream_name: &self.upstream,
        }
    }
}

fn refs(tools: &[Tool]) -> Vec<ToolRef<'_>> {
    tools.iter().map(Tool::r).collect()
}

fn shop() -> Vec<Tool> {
    vec![
        tool("billing", "billing", "charge"),
        tool("billing", "billing", "refund"),
        tool("cart", "cart", "add_item"),
        tool("cart", "cart", "checkout"),
        tool("search", "search", "find"),
    ]
}

fn build(yaml: &str, tools: &[Tool]) -> Policy {
    Policy::build(&config(yaml), &[], &refs(tools)).unwrap()
}

fn build_err(yaml: &str) -> PolicyError {
    Policy::build(&config(yaml), &[], &refs(&shop())).unwrap_err()
}

/// The exposed names `caller` may use, through the listing path.
fn visible(policy: &Policy, caller: &Caller, tools: &[Tool]) -> Vec<String> {
    let scoped = policy.for_caller(caller);
    tools
        .iter()
        .filter(|t| scoped.allows(&t.r()))
        .map(|t| t.exposed.clone())
        .collect()
}

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    fn assert_send<T: Send>() {}
    assert_send::<CallerPolicy<'_, '_>>();
}

#[test]
fn allow_all_and_empty_config_allow_everything() {
    let tools = shop();
    let anon = Caller::anonymous();
    for policy in [Policy::allow_all(), build("{}", &tools)] {
        for t in &tools {
            let d = policy.decide(&anon, &t.r());
            assert!(d.allowed, "{d:?}");
            assert_eq!(d.rule, None);
            assert!(!d.hidden);
            assert!(d.reason.contains("no authorization rules"), "{}", d.reason);
        }
        assert!(policy.may_use_target(&anon, "billing"));
        assert_eq!(policy.default_action(), Action::Allow);
    }
}

#[test]
fn tools_rule_matches_by_pattern() {
    let tools = shop();
    let policy = build(
        "rules: [{name: no-billing, action: Deny, tools: ['billing___*', 'cart___check?ut']}]",
        &tools,
    );
    let c = caller(Some("acme"), &[]);
    assert_eq!(
        visible(&policy, &c, &tools),
        ["cart___add_item", "search___find"]
    );
    let d = policy.decide(&c, &tools[0].r());
    assert!(!d.allowed);
    assert_eq!(d.rule.as_deref(), Some("no-billing"));
    assert!(
        d.reason
            .contains("denied by authorization rule \"no-billing\""),
        "{}",
        d.reason
    );
    assert!(!d.hidden);
}

#[test]
fn glob_forms() {
    let tools = shop();
    let policy = build(
        "rules: [{name: r, action: Deny, tools: ['{cart,search}___[af]*']}]",
        &tools,
    );
    let c = caller(None, &[]);
    assert_eq!(
        visible(&policy, &c, &tools),
        ["billing___charge", "billing___refund", "cart___checkout"]
    );
}

#[test]
fn targets_rule_matches_by_target_name() {
    let tools = shop();
    let policy = build(
        "rules: [{name: r, action: Deny, targets: [cart, search]}]",
        &tools,
    );
    let c = caller(None, &[]);
    assert_eq!(
        visible(&policy, &c, &tools),
        ["billing___charge", "billing___refund"]
    );
}

#[test]
fn when_rule_reads_the_caller() {
    let tools = shop();
    let policy = build(
        r#"
rules:
  - name: finance-only
    action: Deny
    tools: ["billing___*"]
    targets: ["billing"]
    when: 'caller.tenant != "finance" && !("billing:write" in caller.scopes)'
"#,
        &tools,
    );
    let all: Vec<String> = tools.iter().map(|t| t.exposed.clone()).collect();
    let no_billing = ["cart___add_item", "cart___checkout", "search___find"];
    assert_eq!(visible(&policy, &caller(Some("finance"), &[]), &tools), all);
    assert_eq!(
        visible(&policy, &caller(Some("acme"), &["billing:write"]), &tools),
        all
    );
    assert_eq!(
        visible(&policy, &caller(Some("acme"), &[]), &tools),
        no_billing
    );
    assert_eq!(visible(&policy, &Caller::anonymous(), &tools), no_billing);
}

#[test]
fn when_rule_reads_the_tool() {
    let tools = shop();
    let policy = build(
        r#"
rules:
  - {name: writers, action: Allow, when: '"write" in caller.scopes'}
  - {name: readers, action: Allow, when: 'tool.upstreamName in ["find", "add_item"] && tool.target != "billing"'}
  - {name: named, action: Allow, when: 'tool.name == "billing___refund"'}
"#,
        &tools,
    );
    assert_eq!(policy.default_action(), Action::Deny);
    assert_eq!(
        visible(&policy, &caller(None, &[]), &tools),
        ["billing___refund", "cart___add_item", "search___find"]
    );
    assert_eq!(visible(&policy, &caller(None, &["write"]), &tools).len(), 5);
    let d = policy.decide(&caller(None, &[]), &tools[0].r());
    assert!(!d.allowed);
    assert_eq!(d.rule, None);
    assert!(d.reason.contains("allow-list"), "{}", d.reason);
}

#[test]
fn all_selectors_must_match() {
    let tools = shop();
    let policy = build(
        r#"
rules:
  - {name: r, action: Deny, tools: ["*___c*"], targets: [cart], when: 'caller.user == "user-1"'}
"#,
        &tools,
    );
    // `*___c*` also matches billing___charge, but billing is not in `targets`.
    assert_eq!(
        visible(&policy, &caller(None, &[]), &tools),
        [
            "billing___charge",
            "billing___refund",
            "cart___add_item",
            "search___find"
        ]
    );
    let mut other = caller(None, &[]);
    other.user = Some("user-2".to_owned());
    assert_eq!(visible(&policy, &other, &tools).len(), 5);
}

#[test]
fn first_match_wins() {
    let tools = shop();
    let c = caller(None, &[]);
    let allow_first = build(
        r#"
defaultAction: Deny
rules:
  - {name: allow-cart, action: Allow, targets: [cart]}
  - {name: deny-cart, action: Deny, targets: [cart]}
"#,
        &tools,
    );
    assert_eq!(
        visible(&allow_first, &c, &tools),
        ["cart___add_item", "cart___checkout"]
    );
    assert_eq!(
        allow_first.decide(&c, &tools[2].r()).rule.as_deref(),
        Some("allow-cart")
    );
    let deny_first = build(
        r#"
defaultAction: Allow
rules:
  - {name: deny-cart, action: Deny, targets: [cart]}
  - {name: allow-cart, action: Allow, targets: [cart]}
"#,
        &tools,
    );
    assert_eq!(
        visible(&deny_first, &c, &tools),
        ["billing___charge", "billing___refund", "search___find"]
    );
    // A rule whose condition is false is skipped, not decisive.
    let skipped = build(
        r#"
rules:
  - {name: never, action: Allow, when: 'false'}
  - {name: deny-all, action: Deny}
"#,
        &tools,
    );
    assert_eq!(
        skipped.decide(&c, &tools[0].r()).rule.as_deref(),
        Some("deny-all")
    );
}

#[test]
fn default_actions() {
    let tools = shop();
    let c = caller(None, &[]);
    let t = tools[4].r();
    let explicit_deny = build("defaultAction: Deny", &tools);
    let d = explicit_deny.decide(&c, &t);
    assert!(!d.allowed);
    assert!(d.reason.contains("defaultAction"), "{}", d.reason);
    let explicit_allow = build(
        "{defaultAction: Allow, rules: [{name: a, action: Allow, targets: [cart]}]}",
        &tools,
    );
    assert!(explicit_allow.decide(&c, &t).allowed);
    // Implied: Deny rules only → Allow; any Allow rule → Deny.
    let deny_only = build("rules: [{name: d, action: Deny, targets: [cart]}]", &tools);
    assert_eq!(deny_only.default_action(), Action::Allow);
    assert!(deny_only.decide(&c, &t).allowed);
    let with_allow = build("rules: [{name: a, action: Allow, targets: [cart]}]", &tools);
    assert_eq!(with_allow.default_action(), Action::Deny);
    assert!(!with_allow.decide(&c, &t).allowed);
}

fn tenancy() -> Vec<TargetTenancy> {
    vec![
        TargetTenancy {
            target: "billing".to_owned(),
            tenants: vec!["acme".to_owned()],
        },
        TargetTenancy {
            target: "cart".to_owned(),
            tenants: vec!["globex".to_owned(), "acme".to_owned()],
        },
        TargetTenancy {
            target: "search".to_owned(),
            tenants: vec![],
        },
    ]
}

#[test]
fn tenancy_limits_targets() {
    let tools = shop();
    let policy = Policy::build(&config("{}"), &tenancy(), &refs(&tools)).unwrap();
    let acme = caller(Some("acme"), &[]);
    let globex = caller(Some("globex"), &[]);
    assert_eq!(visible(&policy, &acme, &tools).len(), 5);
    assert_eq!(
        visible(&policy, &globex, &tools),
        ["cart___add_item", "cart___checkout", "search___find"]
    );
    // No tenant, anonymous, unknown tenant and near-miss spellings see only shared tools.
    let near_misses = ["ACME", "acme ", " acme", "acm", "acme,globex", "", "*"];
    let mut outsiders = vec![caller(None, &[]), Caller::anonymous()];
    outsiders.extend(near_misses.iter().map(|t| caller(Some(t), &[])));
    for c in &outsiders {
        assert_eq!(
            visible(&policy, c, &tools),
            ["search___find"],
            "{:?}",
            c.tenant
        );
        assert!(!policy.may_use_target(c, "billing"));
        assert!(!policy.may_use_target(c, "cart"));
        assert!(policy.may_use_target(c, "search"));
        assert!(policy.may_use_target(c, "unlisted"));
    }
    assert!(policy.may_use_target(&acme, "billing"));
    assert!(!policy.may_use_target(&globex, "billing"));
    assert!(policy.for_caller(&globex).may_use_target("cart"));
}

#[test]
fn one_tenant_never_calls_another_tenants_tools() {
    let tools = shop();
    // An Allow-everything rule with a condition that is true for everyone cannot open a
    // restricted target either.
    let policy = Policy::build(
        &config("rules: [{name: open, action: Allow, when: 'true'}]"),
        &tenancy(),
        &refs(&tools),
    )
    .unwrap();
    let globex = caller(Some("globex"), &["admin"]);
    let anon = Caller::anonymous();
    for c in [&globex, &anon] {
        for t in tools.iter().filter(|t| t.target == "billing") {
            let d = policy.decide(c, &t.r());
            assert!(!d.allowed);
            assert!(d.hidden, "a restricted tool must look unknown: {d:?}");
            assert_eq!(d.rule, None);
            assert!(d.reason.contains("billing"), "{}", d.reason);
        }
    }
    // Guessing: other exposed spellings, or names the catalog does not have, that lead to
    // a restricted target are refused the same way; the exposed string is irrelevant.
    for guess in [
        "billing___charge",
        "BILLING___charge",
        "charge",
        "x___charge",
        "billing___new",
    ] {
        for upstream in ["charge", "new_tool"] {
            let t = ToolRef {
                exposed: guess,
                target: "billing",
                upstream_name: upstream,
            };
            for c in [&globex, &anon] {
                let d = policy.decide(c, &t);
                assert!(!d.allowed && d.hidden, "{guess}/{upstream}: {d:?}");
            }
        }
    }
    // The owning tenant is not affected.
    let acme = caller(Some("acme"), &[]);
    assert!(policy.decide(&acme, &tools[0].r()).allowed);
    let no_tenant = policy.decide(&anon, &tools[0].r());
    assert!(
        no_tenant.reason.contains("no tenant"),
        "{}",
        no_tenant.reason
    );
    let other = policy.decide(&globex, &tools[0].r());
    assert!(other.reason.contains("\"globex\""), "{}", other.reason);
}

#[test]
fn tenancy_is_checked_before_rules() {
    let tools = shop();
    // Even a rule naming the caller's tenant cannot grant another tenant's target.
    let policy = Policy::build(
        &config(
            r#"
defaultAction: Deny
rules:
  - {name: globex-billing, action: Allow, targets: [billing], when: 'caller.tenant == "globex"'}
"#,
        ),
        &tenancy(),
        &refs(&tools),
    )
    .unwrap();
    let globex = caller(Some("globex"), &[]);
    assert!(visible(&policy, &globex, &tools).is_empty());
}

#[test]
fn bad_rules_are_rejected_with_their_name() {
    let cases: &[(&str, &str)] = &[
        (
            "rules: [{name: Bad_Name, action: Allow}]",
            "rule #1 has an invalid name \"Bad_Name\"",
        ),
        ("rules: [{name: '', action: Allow}]", "invalid name"),
        ("rules: [{name: '-a', action: Allow}]", "invalid name"),
        (
            "rules: [{name: a, action: Allow}, {name: a, action: Deny}]",
            "rule \"a\" is defined more than once",
        ),
        (
            "rules: [{name: a, action: Allow, tools: []}]",
            "rule \"a\": `tools` must not be empty",
        ),
        (
            "rules: [{name: a, action: Allow, targets: []}]",
            "`targets` must not be empty",
        ),
        (
            "rules: [{name: a, action: Allow, targets: ['']}]",
            "target names must not be empty",
        ),
        (
            "rules: [{name: a, action: Allow, tools: ['x[']}]",
            "invalid tool pattern \"x[\"",
        ),
        (
            "rules: [{name: a, action: Allow, tools: ['']}]",
            "invalid tool pattern \"\"",
        ),
        (
            "rules: [{name: fin, action: Deny, when: 'caller.tenant == '}]",
            "rule \"fin\": invalid `when` condition: ERROR: <input>:1:",
        ),
        (
            "rules: [{name: a, action: Deny, when: 'claims.x'}]",
            "unknown variable \"claims\"",
        ),
        (
            "rules: [{name: a, action: Deny, when: 'caller.scope == 1'}]",
            "no field \"scope\"",
        ),
        (
            "rules: [{name: a, action: Deny, when: 'caller.user'}]",
            "must evaluate to a bool",
        ),
        (
            "rules: [{name: a, action: Deny, when: 'lower(caller.user)'}]",
            "\"lower\"",
        ),
    ];
    for (yaml, expected) in cases {
        let err = build_err(yaml);
        let text = err.to_string();
        assert!(text.contains(expected), "{yaml}: {text}");
        assert!(err.reason().starts_with("Invalid"), "{}", err.reason());
    }
    let many = AuthorizationConfig {
        default_action: None,
        rules: (0..129)
            .map(|i| AuthorizationRule {
                name: format!("r{i}"),
                action: Action::Deny,
                tools: None,
                targets: None,
                when: None,
            })
            .collect(),
    };
    let err = Policy::build(&many, &[], &[]).unwrap_err();
    assert_eq!(err, PolicyError::TooManyRules(129));
    let cond = build_err("rules: [{name: a, action: Deny, when: '1 +'}]");
    assert_eq!(cond.reason(), "InvalidAuthorizationCondition");
}

#[test]
fn bad_tenancy_is_rejected() {
    let dup = vec![
        TargetTenancy {
            target: "a".to_owned(),
            tenants: vec!["x".to_owned()],
        },
        TargetTenancy {
            target: "a".to_owned(),
            tenants: vec!["y".to_owned()],
        },
    ];
    let err = Policy::build(&config("{}"), &dup, &[]).unwrap_err();
    assert_eq!(err, PolicyError::DuplicateTenancy("a".to_owned()));
    assert_eq!(err.reason(), "InvalidTenancy");
    let empty_tenant = vec![TargetTenancy {
        target: "a".to_owned(),
        tenants: vec![String::new()],
    }];
    let err = Policy::build(&config("{}"), &empty_tenant, &[]).unwrap_err();
    assert!(
        err.to_string().contains("tenant names must not be empty"),
        "{err}"
    );
    let empty_target = vec![TargetTenancy {
        target: String::new(),
        tenants: vec!["x".to_owned()],
    }];
    assert!(Policy::build(&config("{}"), &empty_target, &[]).is_err());
}

#[test]
fn evaluation_errors_fail_closed() {
    let tools = shop();
    // The first rule errors for a caller without the claim; the later Allow must not apply.
    let policy = build(
        r#"
defaultAction: Allow
rules:
  - {name: dept, action: Allow, when: 'caller.claims.dept == "ops"'}
  - {name: everyone, action: Allow}
"#,
        &tools,
    );
    let c = caller(None, &[]);
    let d = policy.decide(&c, &tools[0].r());
    assert!(!d.allowed, "{d:?}");
    assert_eq!(d.rule.as_deref(), Some("dept"));
    assert!(d.reason.contains("could not be evaluated"), "{}", d.reason);
    assert!(d.reason.contains("dept"), "{}", d.reason);
    assert!(visible(&policy, &c, &tools).is_empty());
    // With the claim present the rule evaluates normally.
    let mut with_claim = caller(None, &[]);
    with_claim.claims = serde_json::json!({"dept": "ops"});
    assert_eq!(
        policy.decide(&with_claim, &tools[0].r()).rule.as_deref(),
        Some("dept")
    );
    assert!(policy.decide(&with_claim, &tools[0].r()).allowed);
    // Errors in a Deny rule's condition deny too; so does a non-bool result from data.
    let deny = build(
        "rules: [{name: level, action: Deny, when: 'caller.claims.level > 3'}]",
        &tools,
    );
    let mut text_level = caller(None, &[]);
    text_level.claims = serde_json::json!({"level": "high"});
    assert!(!deny.decide(&text_level, &tools[0].r()).allowed);
    let non_bool = build(
        "rules: [{name: nb, action: Allow, when: 'has(caller.claims.x) ? caller.claims.x : false'}]",
        &tools,
    );
    let mut string_claim = caller(None, &[]);
    string_claim.claims = serde_json::json!({"x": "yes"});
    let d = non_bool.decide(&string_claim, &tools[0].r());
    assert!(!d.allowed);
    assert!(d.reason.contains("instead of a bool"), "{}", d.reason);
}

#[test]
fn rules_bind_to_the_pair_not_the_exposed_string() {
    let tools = shop();
    let policy = build(
        "rules: [{name: r, action: Deny, tools: ['billing___charge']}]",
        &tools,
    );
    let c = caller(None, &[]);
    // Same pair under another exposed name (e.g. a shortened or re-prefixed name): denied.
    let renamed = ToolRef {
        exposed: "pay___charge",
        target: "billing",
        upstream_name: "charge",
    };
    assert!(!policy.decide(&c, &renamed).allowed);
    // A different catalog pair presented under the matching string is not covered: the
    // string carries no authority.
    let spoofed = ToolRef {
        exposed: "billing___charge",
        target: "billing",
        upstream_name: "refund",
    };
    assert!(policy.decide(&c, &spoofed).allowed);
    // A tool the catalog did not have is matched by its exposed name (never looser).
    let newcomer = ToolRef {
        exposed: "billing___charge",
        target: "ledger",
        upstream_name: "charge",
    };
    assert!(!policy.decide(&c, &newcomer).allowed);
}

#[test]
fn binding_survives_a_prefix_change() {
    let cfg = config(
        r#"
rules:
  - {name: no-charges, action: Deny, tools: ["billing___charge", "billing___refund"]}
"#,
    );
    let before = shop();
    let first = Policy::build(&cfg, &[], &refs(&before)).unwrap();
    let c = caller(None, &[]);
    assert!(!first.decide(&c, &before[0].r()).allowed);

    // The billing target's toolPrefix becomes `pay`; a new target `ledger` now exposes
    // `billing___charge` through its own prefix.
    let mut after = vec![
        tool("pay", "billing", "charge"),
        tool("pay", "billing", "refund"),
        tool("billing", "ledger", "charge"),
    ];
    after.extend(shop().into_iter().skip(2));

    // In place (a gateway reloading its catalog) and across a restart (bindings kept
    // with the runtime configuration and read back) the rename changes nothing.
    let stored = serde_json::to_string(&first.bindings()).unwrap();
    let restored: PolicyBindings = serde_json::from_str(&stored).unwrap();
    let rebuilt = first.rebuild(&cfg, &[], &refs(&after)).unwrap();
    let restarted = Policy::build_carrying(&cfg, &[], &refs(&after), &restored).unwrap();
    for policy in [&rebuilt, &restarted] {
        assert!(!policy.decide(&c, &after[0].r()).allowed, "pay___charge");
        assert!(!policy.decide(&c, &after[1].r()).allowed, "pay___refund");
        // The newcomer's tool now carries the matching name: re-resolution covers it.
        assert!(
            !policy.decide(&c, &after[2].r()).allowed,
            "ledger's billing___charge"
        );
        assert!(policy.decide(&c, &after[3].r()).allowed, "cart___add_item");
        assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
    }
    assert_eq!(rebuilt.bindings(), restarted.bindings());
    let bound: Vec<(String, String)> = rebuilt.bindings().rules[0]
        .pairs
        .iter()
        .map(|p| (p.target.clone(), p.upstream_name.clone()))
        .collect();
    assert_eq!(
        bound,
        [
            ("billing".to_owned(), "charge".to_owned()),
            ("billing".to_owned(), "refund".to_owned()),
            ("ledger".to_owned(), "charge".to_owned()),
        ]
    );

    // Without the previous bindings the rule would stop matching pay___refund; the build
    // says so rather than staying silent.
    let fresh = Policy::build(&cfg, &[], &refs(&after)).unwrap();
    assert!(fresh.decide(&c, &after[1].r()).allowed);
    let only_refund =
        config("rules: [{name: no-refunds, action: Deny, tools: ['billing___refund']}]");
    let fresh = Policy::build(&only_refund, &[], &refs(&after)).unwrap();
    assert_eq!(
        fresh.warnings(),
        [
            "authorization rule \"no-refunds\": tools [\"billing___refund\"] match no tool in the catalog"
        ]
    );
}

#[test]
fn carried_bindings_reset_when_the_rule_changes_and_drop_vanished_tools() {
    let before = shop();
    let cfg = config("rules: [{name: r, action: Deny, tools: ['billing___*']}]");
    let first = Policy::build(&cfg, &[], &refs(&before)).unwrap();
    let after = vec![
        tool("pay", "billing", "charge"),
        tool("cart", "cart", "add_item"),
    ];
    let c = caller(None, &[]);
    // Same rule, same patterns: carried, and `refund` (gone from the catalog) is dropped.
    let carried = first.rebuild(&cfg, &[], &refs(&after)).unwrap();
    assert!(!carried.decide(&c, &after[0].r()).allowed);
    assert_eq!(carried.bindings().rules[0].pairs.len(), 1);
    // New patterns: the operator restated the rule, so old bindings no longer apply.
    let edited = config("rules: [{name: r, action: Deny, tools: ['billing___*', 'x']}]");
    let reset = first.rebuild(&edited, &[], &refs(&after)).unwrap();
    assert!(reset.decide(&c, &after[0].r()).allowed);
    // Renamed rule: likewise.
    let renamed = config("rules: [{name: r2, action: Deny, tools: ['billing___*']}]");
    let reset = first.rebuild(&renamed, &[], &refs(&after)).unwrap();
    assert!(reset.decide(&c, &after[0].r()).allowed);
}

#[test]
fn warnings_name_unknown_targets() {
    let tools = shop();
    let policy = Policy::build(
        &config("rules: [{name: r, action: Deny, targets: [cart, nosuch, tenanted]}]"),
        &[TargetTenancy {
            target: "tenanted".to_owned(),
            tenants: vec!["a".to_owned()],
        }],
        &refs(&tools),
    )
    .unwrap();
    assert_eq!(
        policy.warnings(),
        ["authorization rule \"r\": target \"nosuch\" is not a known target"]
    );
}

#[test]
fn listing_path_agrees_with_decide() {
    let tools = shop();
    let policy = Policy::build(
        &config(
            r#"
rules:
  - {name: t, action: Deny, when: 'caller.tenant == "globex" && tool.target == "cart"'}
  - {name: s, action: Allow, when: '"read" in caller.scopes'}
  - {name: c, action: Deny, tools: ["billing___refund"]}
"#,
        ),
        &tenancy(),
        &refs(&tools),
    )
    .unwrap();
    let callers = [
        caller(Some("acme"), &["read"]),
        caller(Some("acme"), &[]),
        caller(Some("globex"), &["read"]),
        caller(None, &["read"]),
        Caller::anonymous(),
    ];
    for c in &callers {
        let scoped = policy.for_caller(c);
        for t in &tools {
            let one = policy.decide(c, &t.r());
            assert_eq!(scoped.decide(&t.r()), one);
            assert_eq!(scoped.allows(&t.r()), one.allowed);
        }
    }
}

#[test]
fn debug_output_names_rules() {
    let policy = build("rules: [{name: r, action: Deny}]", &shop());
    let text = format!("{policy:?}");
    assert!(text.contains("\"r\""), "{text}");
}
