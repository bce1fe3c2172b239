//! What the index covers, in a form that makes a good search-tool description.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::index::DocMeta;
use super::tokenize::words;

/// Keywords listed per target in [`IndexSummary::describe`].
const KEYWORDS_PER_TARGET: usize = 5;
/// Targets named in [`IndexSummary::describe`] before "and N more".
const TARGETS_DESCRIBED: usize = 25;

/// Verbs every domain has; they say nothing about what a target is about.
const GENERIC: &[&str] = &[
    "get", "list", "create", "update", "delete", "search", "set", "add", "remove", "find", "fetch",
    "read", "write", "put", "post", "patch", "by", "for", "to", "of", "and", "the", "id", "all",
    "new", "my",
];

/// Catalog coverage: per-target tool counts and characteristic words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexSummary {
    /// Number of indexed tools.
    pub total_tools: usize,
    /// Whether tools carry embeddings (semantic search available).
    pub has_vectors: bool,
    /// One entry per target, sorted by target name.
    pub targets: Vec<TargetSummary>,
}

/// One target's share of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetSummary {
    /// Target name.
    pub target: String,
    /// Number of its tools in the index.
    pub tools: usize,
    /// The most frequent non-generic words in its tool names, most frequent first.
    pub keywords: Vec<String>,
}

impl IndexSummary {
    /// The summary of the targets `keep` accepts only (for a caller who may not see
    /// every target).
    pub fn restricted_to(&self, keep: impl Fn(&str) -> bool) -> IndexSummary {
        let targets: Vec<TargetSummary> = self
            .targets
            .iter()
            .filter(|t| keep(&t.target))
            .cloned()
            .collect();
        IndexSummary {
            total_tools: targets.iter().map(|t| t.tools).sum(),
            has_vectors: self.has_vectors,
            targets,
        }
    }

    /// A one-paragraph description for the built-in search tool, naming the domains it
    /// covers so agents know when to call it. Bounded in length for large catalogs.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for t in self.targets.iter().take(TARGETS_DESCRIBED) {
            if t.keywords.is_empty() {
                parts.push(format!("{} ({} tools)", t.target, t.tools));
            } else {
                parts.push(format!(
                    "{} ({} tools: {})",
                    t.target,
                    t.tools,
                    t.keywords.join(", ")
                ));
            }
        }
        let more = self.targets.len().saturating_sub(TARGETS_DESCRIBED);
        if more > 0 {
            parts.push(format!("and {more} more targets"));
        }
        let method = if self.has_vectors {
            "semantic and keyword"
        } else {
            "keyword"
        };
        format!(
            "Search {} tools across {} targets by describing the task in plain words \
             ({method} matching). Covers: {}. Returns the best matching tools with their \
             exact names, descriptions and input schemas, ready to call.",
            self.total_tools,
            self.targets.len(),
            parts.join("; ")
        )
    }
}

pub(super) fn summarize(docs: &[DocMeta], has_vectors: bool) -> IndexSummary {
    let mut by_target: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in docs {
        by_target
            .entry(&d.target)
            .or_default()
            .push(&d.exposed_name);
    }
    let targets = by_target
        .into_iter()
        .map(|(target, names)| TargetSummary {
            target: target.to_string(),
            tools: names.len(),
            keywords: keywords(target, &names),
        })
        .collect();
    IndexSummary {
        total_tools: docs.len(),
        has_vectors,
        targets,
    }
}

fn keywords(target: &str, names: &[&str]) -> Vec<String> {
    let own: HashSet<String> = words(target).iter().map(|w| w.to_lowercase()).collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for name in names {
        // Count each word once per tool so one long name cannot dominate.
        let unique: HashSet<String> = words(name).iter().map(|w| w.to_lowercase()).collect();
        for w in unique {
            let informative = w.chars().count() > 2
                && !w.chars().all(char::is_numeric)
                && !own.contains(&w)
                && !GENERIC.contains(&w.as_str());
            if informative {
                *counts.entry(w).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .take(KEYWORDS_PER_TARGET)
        .map(|(w, _)| w)
        .collect()
}
