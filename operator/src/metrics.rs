//! Operator metrics in the Prometheus text format, hand-rolled to keep dependencies lean:
//! a few counters and duration sums, labelled by controller, outcome and reason.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Family {
    help: &'static str,
    kind: &'static str,
    values: BTreeMap<Vec<(&'static str, String)>, f64>,
}

/// Shared by both controllers; rendered on `/metrics`.
#[derive(Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
    leader: AtomicBool,
}

impl Metrics {
    fn add(
        &self,
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        labels: Labels,
        value: f64,
    ) {
        if let Ok(mut families) = self.families.lock() {
            let family = families.entry(name).or_insert_with(|| Family {
                help,
                kind,
                values: BTreeMap::new(),
            });
            *family.values.entry(labels).or_insert(0.0) += value;
        }
    }

    /// One reconcile of `controller` ended with `outcome` (`ok` or an error label).
    pub fn reconciled(&self, controller: &'static str, outcome: &str, took: Duration) {
        self.add(
            "switchboard_operator_reconciliations_total",
            "Reconciles by controller and outcome.",
            "counter",
            vec![
                ("controller", controller.into()),
                ("outcome", outcome.into()),
            ],
            1.0,
        );
        self.add(
            "switchboard_operator_reconcile_duration_seconds_sum",
            "Total time spent reconciling, by controller.",
            "counter",
            vec![("controller", controller.into())],
            took.as_secs_f64(),
        );
    }

    /// One sync of a target ended: `result` is `success` or the failure reason.
    pub fn synced(&self, result: &str, took: Duration) {
        self.add(
            "switchboard_operator_syncs_total",
            "Target syncs by result (success or failure reason).",
            "counter",
            vec![("result", result.into())],
            1.0,
        );
        self.add(
            "switchboard_operator_sync_duration_seconds_sum",
            "Total time spent syncing targets.",
            "counter",
            vec![],
            took.as_secs_f64(),
        );
    }

    /// A server-side apply (`written`) or a write skipped as a no-op (`skipped`).
    pub fn write(&self, kind: &'static str, outcome: &'static str) {
        self.add(
            "switchboard_operator_writes_total",
            "Writes by object kind: applied or skipped because nothing changed.",
            "counter",
            vec![("kind", kind.into()), ("outcome", outcome.into())],
            1.0,
        );
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP switchboard_operator_leader 1 if this replica holds the leader lease.\n",
        );
        out.push_str("# TYPE switchboard_operator_leader gauge\n");
        out.push_str(&format!(
            "switchboard_operator_leader {}\n",
            u8::from(self.leader.load(Ordering::Relaxed))
        ));
        let Ok(families) = self.families.lock() else {
            return out;
        };
        for (name, family) in families.iter() {
            out.push_str(&format!(
                "# HELP {name} {}\n# TYPE {name} {}\n",
                family.help, family.kind
            ));
            for (labels, value) in &family.values {
                let labels: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| {
                        format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                    })
                    .collect();
                if labels.is_empty() {
                    out.push_str(&format!("{name} {value}\n"));
                } else {
                    out.push_str(&format!("{name}{{{}}} {value}\n", labels.join(",")));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.reconciled("target", "ok", Duration::from_millis(1500));
        metrics.reconciled("target", "ok", Duration::from_millis(500));
        metrics.write("ConfigMap", "skipped");
        let text = metrics.render();
        assert!(text.contains("switchboard_operator_reconciliations_total{controller=\"target\",outcome=\"ok\"} 2\n"), "{text}");
        assert!(
            text.contains(
                "switchboard_operator_reconcile_duration_seconds_sum{controller=\"target\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE switchboard_operator_writes_total counter"));
        assert!(text.contains("switchboard_operator_leader 0\n"));
    }
}
