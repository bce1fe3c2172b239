//! List-changed notifications: which lists a reload changed, and for whom.
//!
//! `Gateway::load` diffs the new route table against the previous one and broadcasts one
//! [`ListChange`] per changed list. Every open server-to-client stream (the streamable
//! HTTP `GET /mcp` stream of a session, and legacy SSE streams) subscribes and forwards
//! `notifications/{tools,resources,prompts}/list_changed` to its caller, but only when a
//! target the caller may use changed: a tenant never learns that another tenant's
//! target moved.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::{Stream, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::Gateway;
use crate::auth::Caller;

use crate::routes::{Listed, RouteTable};

/// Changes kept for a slow stream before it skips ahead (a skipped change only means a
/// client re-lists once more, later).
pub(super) const BACKLOG: usize = 64;

/// The lists MCP can announce as changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Resources,
    Prompts,
}

impl ListKind {
    pub fn notification(self) -> Value {
        let method = match self {
            ListKind::Tools => "notifications/tools/list_changed",
            ListKind::Resources => "notifications/resources/list_changed",
            ListKind::Prompts => "notifications/prompts/list_changed",
        };
        json!({"jsonrpc": "2.0", "method": method})
    }
}

/// One list changed on a reload, in these targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListChange {
    pub kind: ListKind,
    pub targets: Arc<[String]>,
}

impl ListChange {
    /// Whether a caller who may use the targets `may_use_target` accepts should hear of it.
    pub(super) fn concerns(&self, may_use_target: impl Fn(&str) -> bool) -> bool {
        self.targets.iter().any(|t| may_use_target(t))
    }
}

/// The lists that change for `caller` as the gateway reloads, until it shuts down. A
/// stream that fell behind announces every list: the client then re-lists once too often
/// rather than miss a change.
pub(super) fn changed_lists(
    gateway: Arc<Gateway>,
    caller: Arc<Caller>,
) -> impl Stream<Item = ListKind> + Send + 'static {
    let receiver = gateway.list_changes.subscribe();
    let closing = gateway.closing.clone().cancelled_owned();
    futures::stream::unfold(receiver, move |mut receiver| {
        let caller = caller.clone();
        let gateway = gateway.clone();
        async move {
            loop {
                match receiver.recv().await {
                    Ok(change) => {
                        let Some(snapshot) = gateway.snapshot() else {
                            continue;
                        };
                        if change.concerns(|t| snapshot.policy.may_use_target(&caller, t)) {
                            return Some((vec![change.kind], receiver));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let all = [ListKind::Tools, ListKind::Resources, ListKind::Prompts];
                        return Some((all.to_vec(), receiver));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
    .flat_map(futures::stream::iter)
    .take_until(closing)
}

/// [`changed_lists`] as notifications, for the streams of sessions.
pub(super) fn notifications(
    gateway: Arc<Gateway>,
    caller: Arc<Caller>,
) -> impl Stream<Item = Value> + Send + 'static {
    changed_lists(gateway, caller).map(ListKind::notification)
}

/// The lists that differ between two route tables, with the targets that changed them.
pub fn diff(previous: &RouteTable, next: &RouteTable) -> Vec<ListChange> {
    let mut changes = Vec::new();
    let mut push = |kind, targets: BTreeSet<String>| {
        if !targets.is_empty() {
            changes.push(ListChange {
                kind,
                targets: targets.into_iter().collect(),
            });
        }
    };
    push(
        ListKind::Tools,
        changed_targets(previous.tools(), next.tools()),
    );
    let mut resources = changed_targets(previous.resources(), next.resources());
    resources.extend(changed_templates(previous, next));
    push(ListKind::Resources, resources);
    push(
        ListKind::Prompts,
        changed_targets(previous.prompts(), next.prompts()),
    );
    changes
}

/// Targets whose entries were added, removed or redefined.
fn changed_targets(before: &[Listed], after: &[Listed]) -> BTreeSet<String> {
    // Borrowed, not cloned: a reload of a large catalog compares every definition.
    fn index(items: &[Listed]) -> HashMap<&str, (&str, &Value)> {
        items
            .iter()
            .map(|l| (l.exposed.as_str(), (&*l.route.target, &l.definition)))
            .collect()
    }
    let (before, after) = (index(before), index(after));
    let mut changed = BTreeSet::new();
    for (old, new) in [(&before, &after), (&after, &before)] {
        for (name, entry) in old {
            if new.get(name) != Some(entry) {
                changed.insert(entry.0.to_owned());
            }
        }
    }
    changed
}

fn changed_templates(before: &RouteTable, after: &RouteTable) -> BTreeSet<String> {
    let set = |table: &RouteTable| -> BTreeSet<(String, String)> {
        table
            .resource_templates_by_target()
            .map(|(target, template)| (target.to_owned(), template.to_string()))
            .collect()
    };
    let (before, after) = (set(before), set(after));
    before
        .symmetric_difference(&after)
        .map(|(target, _)| target.clone())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::routes::tests::catalog;

    fn cart() -> crate::catalog::TargetCatalog {
        catalog("cart", &[("cart___get_item", "get_item")])
    }

    fn vault(tools: &[(&str, &str)]) -> crate::catalog::TargetCatalog {
        catalog("vault", tools)
    }

    #[test]
    fn only_changed_lists_and_their_targets_are_announced() {
        let echo = [("vault___echo", "echo")];
        let before = RouteTable::build(&[cart(), vault(&echo)]);
        assert_eq!(
            diff(&before, &RouteTable::build(&[cart(), vault(&echo)])),
            []
        );

        let mut redefined = cart();
        redefined.tools[0].definition["description"] = json!("Get one item");
        let changes = diff(&before, &RouteTable::build(&[redefined, vault(&echo)]));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ListKind::Tools);
        assert_eq!(&*changes[0].targets, ["cart".to_owned()]);

        let grown = vault(&[("vault___echo", "echo"), ("vault___store", "store")]);
        let changes = diff(&before, &RouteTable::build(&[cart(), grown]));
        assert_eq!(changes.len(), 1);
        assert_eq!(&*changes[0].targets, ["vault".to_owned()]);
        assert!(
            !changes[0].concerns(|t| t != "vault"),
            "not for callers without vault"
        );
        assert!(changes[0].concerns(|_| true));

        // A target gone: its tools and its resource template.
        let changes = diff(&before, &RouteTable::build(&[vault(&echo)]));
        let kinds: Vec<ListKind> = changes.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [ListKind::Tools, ListKind::Resources]);
        assert!(changes.iter().all(|c| *c.targets == ["cart".to_owned()]));
    }
}
