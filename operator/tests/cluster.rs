//! Runs the real-cluster suite (tests/cluster/run.sh). Without KUBECONFIG the suite
//! prints that it skipped and succeeds; with it, the whole flow runs on that cluster.

#![allow(clippy::unwrap_used, clippy::panic)]

#[test]
fn real_cluster_suite_runs_or_says_it_skipped() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cluster/run.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the cluster suite failed");
    if std::env::var_os("KUBECONFIG").is_none() {
        assert!(
            stdout.contains("cluster suite: SKIPPED (KUBECONFIG is not set"),
            "{stdout}"
        );
    }
}
