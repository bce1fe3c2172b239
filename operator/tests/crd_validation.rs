//! The CRDs' `x-kubernetes-validations` rules, evaluated the way an API server would:
//! kube-cel implements Kubernetes' CEL dialect (including `isURL`/`url()` and
//! `oldSelf` transition rules) over the generated `openAPIV3Schema`. What these tests
//! accept or reject is what `kubectl apply` accepts or rejects, message included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kube::CustomResourceExt;
use kube_cel::{ScopeContext, Validator, analyze_rule, compile_schema};
use serde_json::{Value, json};
use switchboard_operator::crd::{Gateway, GatewayTarget};

fn schema<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .unwrap(),
    )
    .unwrap()
}

/// `Ok` or the messages an API server would answer with.
fn check<K: CustomResourceExt>(object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    Validator::new()
        .validate(&schema::<K>(), object, old)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
}

fn target(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "switchboard.dev/v1alpha1",
        "kind": "GatewayTarget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    })
}

fn spec_with(extra: Value) -> Value {
    let mut spec =
        json!({"gatewayRef": {"name": "shop"}, "mcp": {"endpoint": "http://127.0.0.1:9001/mcp"}});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    spec
}

fn rejected_with(result: Result<(), Vec<String>>, needle: &str) {
    match result {
        Ok(()) => panic!("accepted, expected a rejection mentioning {needle:?}"),
        Err(messages) => assert!(
            messages.iter().any(|m| m.contains(needle)),
            "{messages:?} does not mention {needle:?}"
        ),
    }
}

#[test]
fn every_rule_compiles_and_fits_the_cost_budget() {
    for schema in [schema::<Gateway>(), schema::<GatewayTarget>()] {
        let compiled = compile_schema(&schema);
        assert!(
            compiled.compilation_errors().is_empty(),
            "{:?}",
            compiled.compilation_errors()
        );
        let text = schema.to_string();
        let rules: Vec<String> = serde_json::from_str::<Value>(&text)
            .map(|v| collect_rules(&v))
            .unwrap();
        assert!(!rules.is_empty());
        for rule in rules {
            let warnings = analyze_rule(&rule, &compiled, ScopeContext::CrdValidation);
            assert!(warnings.is_empty(), "{rule}: {warnings:?}");
        }
    }
}

fn collect_rules(value: &Value) -> Vec<String> {
    let mut rules = Vec::new();
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(list)) = map.get("x-kubernetes-validations") {
                rules.extend(
                    list.iter()
                        .filter_map(|r| r["rule"].as_str().map(str::to_owned)),
                );
            }
            for v in map.values() {
                rules.extend(collect_rules(v));
            }
        }
        Value::Array(list) => list.iter().for_each(|v| rules.extend(collect_rules(v))),
        _ => {}
    }
    rules
}

#[test]
fn the_minimal_manifests_of_the_design_are_accepted() {
    let gateway = json!({"apiVersion": "switchboard.dev/v1alpha1", "kind": "Gateway",
        "metadata": {"name": "shop"}, "spec": {"inboundAuth": {"type": "None"}}});
    check::<Gateway>(&gateway, None).unwrap();
    check::<GatewayTarget>(&target("cart", spec_with(json!({}))), None).unwrap();
    let full = spec_with(
        json!({"toolPrefix": "", "timeoutSeconds": 3600, "syncIntervalSeconds": 30,
        "mcp": {"endpoint": "https://mcp.example.com:8443/v1/mcp?x=1", "protocol": "Legacy"}}),
    );
    check::<GatewayTarget>(&target("search", full), None).unwrap();
}

#[test]
fn endpoints_must_be_absolute_http_urls() {
    for bad in [
        "ftp://example.com/mcp",
        "not a url",
        "/mcp",
        "example.com/mcp",
        "http://",
        "file:///etc/passwd",
    ] {
        let object = target("cart", spec_with(json!({"mcp": {"endpoint": bad}})));
        rejected_with(
            check::<GatewayTarget>(&object, None),
            "mcp.endpoint must be an absolute http:// or https:// URL",
        );
    }
    for good in [
        "http://cart.shop.svc:9000/mcp",
        "https://[::1]:8443/mcp",
        "http://127.0.0.1:9001/mcp",
    ] {
        let object = target("cart", spec_with(json!({"mcp": {"endpoint": good}})));
        check::<GatewayTarget>(&object, None).unwrap_or_else(|e| panic!("{good}: {e:?}"));
    }
}

#[test]
fn tool_prefixes_are_short_and_use_safe_characters() {
    rejected_with(
        check::<GatewayTarget>(
            &target("cart", spec_with(json!({"toolPrefix": "a.b"}))),
            None,
        ),
        "toolPrefix may only contain letters, digits, '_' and '-'",
    );
    rejected_with(
        check::<GatewayTarget>(
            &target("cart", spec_with(json!({"toolPrefix": "p".repeat(49)}))),
            None,
        ),
        "toolPrefix must be at most 48 characters",
    );
    check::<GatewayTarget>(
        &target("cart", spec_with(json!({"toolPrefix": "Shop_cart-2"}))),
        None,
    )
    .unwrap();
    // The name is the default prefix, so a dotted name needs an explicit one.
    rejected_with(
        check::<GatewayTarget>(&target("cart.v2", spec_with(json!({}))), None),
        "set spec.toolPrefix",
    );
    check::<GatewayTarget>(
        &target("cart.v2", spec_with(json!({"toolPrefix": "cart2"}))),
        None,
    )
    .unwrap();
}

#[test]
fn timeouts_and_sync_intervals_are_bounded() {
    for (field, value, message) in [
        (
            "timeoutSeconds",
            0,
            "timeoutSeconds must be between 1 and 3600",
        ),
        (
            "timeoutSeconds",
            3601,
            "timeoutSeconds must be between 1 and 3600",
        ),
        (
            "syncIntervalSeconds",
            29,
            "syncIntervalSeconds must be at least 30",
        ),
    ] {
        let object = target("cart", spec_with(json!({field: value})));
        rejected_with(check::<GatewayTarget>(&object, None), message);
    }
    for (field, value) in [
        ("timeoutSeconds", 1),
        ("timeoutSeconds", 300),
        ("syncIntervalSeconds", 30),
    ] {
        check::<GatewayTarget>(&target("cart", spec_with(json!({field: value}))), None).unwrap();
    }
}

#[test]
fn gateway_ref_is_immutable() {
    let old = target("cart", spec_with(json!({})));
    let moved = target("cart", spec_with(json!({"gatewayRef": {"name": "other"}})));
    rejected_with(
        check::<GatewayTarget>(&moved, Some(&old)),
        "gatewayRef is immutable",
    );
    let retimed = target("cart", spec_with(json!({"timeoutSeconds": 5})));
    check::<GatewayTarget>(&retimed, Some(&old)).unwrap();
    rejected_with(
        check::<GatewayTarget>(
            &target("cart", spec_with(json!({"gatewayRef": {"name": "Shop_1"}}))),
            None,
        ),
        "gatewayRef.name must name a Gateway",
    );
}

#[test]
fn naming_separators_and_gateway_names_are_checked() {
    let gateway = |name: &str, separator: &str| {
        json!({"apiVersion": "switchboard.dev/v1alpha1", "kind": "Gateway", "metadata": {"name": name},
            "spec": {"inboundAuth": {"type": "None"}, "naming": {"separator": separator}}})
    };
    for bad in [".", "", "a b", "___________", "/"] {
        rejected_with(
            check::<Gateway>(&gateway("shop", bad), None),
            "separator must be 1 to 10 characters",
        );
    }
    for good in ["___", "__", "-", "_x_"] {
        check::<Gateway>(&gateway("shop", good), None).unwrap();
    }
    rejected_with(
        check::<Gateway>(&gateway(&"g".repeat(51), "___"), None),
        "at most 50 characters",
    );
    rejected_with(
        check::<Gateway>(&gateway("1shop", "___"), None),
        "DNS labels starting with a letter",
    );
}
