//! `crds/` must be exactly what `switchboard crd --output-dir crds` generates from the
//! Rust types (tests/check-crds.sh does the same from the shell and can fix it).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn committed_crds_match_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    for (file, generated) in [
        (
            "switchboard.dev_gateways.yaml",
            switchboard_operator::crd::gateway_crd_yaml().unwrap(),
        ),
        (
            "switchboard.dev_gatewaytargets.yaml",
            switchboard_operator::crd::target_crd_yaml().unwrap(),
        ),
    ] {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap();
        if committed != generated {
            panic!("crds/{file} is stale: run tests/check-crds.sh --fix and commit it");
        }
    }
}

fn printer_columns(crd: &serde_json::Value) -> Vec<&str> {
    crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn crds_carry_short_names_categories_status_and_printer_columns() {
    use kube::CustomResourceExt;
    use switchboard_operator::crd::{Gateway, GatewayTarget};
    let target = serde_json::to_value(GatewayTarget::crd()).unwrap();
    assert_eq!(target["spec"]["names"]["shortNames"][0], "mcpgt");
    assert_eq!(target["spec"]["names"]["categories"][0], "switchboard");
    assert!(target["spec"]["versions"][0]["subresources"]["status"].is_object());
    assert_eq!(
        printer_columns(&target),
        [
            "Gateway",
            "Status",
            "Tools",
            "Last Sync",
            "Embedded",
            "Reason",
            "Age"
        ]
    );
    let gateway = serde_json::to_value(Gateway::crd()).unwrap();
    assert_eq!(gateway["spec"]["names"]["shortNames"][0], "mcpgw");
    let columns = printer_columns(&gateway);
    assert_eq!(
        columns,
        ["Endpoint", "Targets", "Tools", "Ready", "Search", "Age"]
    );
}
