//! Behaviour of [`SearchIndex`]: permissions, filters, limits, determinism, fallbacks.

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn doc(target: &str, name: &str, description: &str, embedding: Option<Vec<f32>>) -> SearchDocument {
    SearchDocument {
        exposed_name: format!("{target}___{name}"),
        target: target.to_string(),
        title: None,
        description: description.to_string(),
        input_schema: json!({"type": "object", "properties": {
            "id": {"type": "string", "description": "Identifier of the record"}
        }}),
        embedding,
    }
}

fn catalog() -> Vec<SearchDocument> {
    vec![
        doc(
            "cart",
            "get_item",
            "Get one item in the shopping cart.",
            Some(vec![1.0, 0.0, 0.0]),
        ),
        doc(
            "catalog",
            "get_item",
            "Get a catalog item (product) by id.",
            Some(vec![0.9, 0.1, 0.0]),
        ),
        doc(
            "cart",
            "remove_item",
            "Remove an item from the shopping cart.",
            Some(vec![0.7, 0.7, 0.0]),
        ),
        doc(
            "hr",
            "list_employees",
            "List employees of a department.",
            Some(vec![0.0, 0.0, 1.0]),
        ),
        doc(
            "secret",
            "get_item",
            "Get an item from the secret vault.",
            Some(vec![1.0, 0.0, 0.0]),
        ),
    ]
}

fn q(text: &str, limit: usize, mode: SearchMode) -> SearchQuery<'_> {
    SearchQuery {
        text,
        limit,
        targets: None,
        mode,
    }
}

fn names(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.exposed_name.as_str()).collect()
}

const ALL_MODES: [SearchMode; 3] = [SearchMode::Lexical, SearchMode::Vector, SearchMode::Hybrid];

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SearchIndex>();
}

#[test]
fn permission_filter_never_leaks_and_limit_still_honoured() {
    let index = SearchIndex::build(catalog());
    let emb = [1.0, 0.0, 0.0];
    let may_see = |name: &str| !name.starts_with("secret___");
    for mode in ALL_MODES {
        for limit in 1..=5 {
            let hits = index.search(&q("get item", limit, mode), Some(&emb), &may_see);
            assert!(
                hits.iter().all(|h| !h.exposed_name.starts_with("secret")),
                "{mode:?}"
            );
            // Four visible tools; hidden ones must not eat into the limit.
            let expected = match mode {
                SearchMode::Lexical => limit.min(3), // hr___list_employees has no term in common
                _ => limit.min(4),
            };
            assert_eq!(
                hits.len(),
                expected,
                "{mode:?} limit {limit}: {:?}",
                names(&hits)
            );
        }
    }
    let nothing = index.search(&q("get item", 10, SearchMode::Hybrid), Some(&emb), &|_| {
        false
    });
    assert!(nothing.is_empty());
}

#[test]
fn may_see_is_called_once_per_candidate() {
    let index = SearchIndex::build(catalog());
    let calls = std::cell::Cell::new(0);
    let may_see = |_: &str| {
        calls.set(calls.get() + 1);
        true
    };
    index.search(
        &q("item", 10, SearchMode::Hybrid),
        Some(&[1.0, 0.0, 0.0]),
        &may_see,
    );
    assert_eq!(calls.get(), 5);
}

#[test]
fn target_filter() {
    let index = SearchIndex::build(catalog());
    let targets = vec!["catalog".to_string()];
    for mode in ALL_MODES {
        let query = SearchQuery {
            targets: Some(&targets),
            ..q("get item", 10, mode)
        };
        let hits = index.search(&query, Some(&[1.0, 0.0, 0.0]), &|_| true);
        assert_eq!(names(&hits), vec!["catalog___get_item"], "{mode:?}");
    }
    let empty: Vec<String> = Vec::new();
    let query = SearchQuery {
        targets: Some(&empty),
        ..q("item", 10, SearchMode::Lexical)
    };
    assert_eq!(
        index.search(&query, None, &|_| true).len(),
        4,
        "empty filter = all targets"
    );
}

#[test]
fn lexical_prefers_the_right_look_alike() {
    let index = SearchIndex::build(catalog());
    let hits = index.search(
        &q("remove an item from my cart", 3, SearchMode::Lexical),
        None,
        &|_| true,
    );
    assert_eq!(hits[0].exposed_name, "cart___remove_item");
    let hits = index.search(
        &q("catalog product item", 1, SearchMode::Lexical),
        None,
        &|_| true,
    );
    assert_eq!(names(&hits), vec!["catalog___get_item"]);
}

#[test]
fn ties_are_broken_by_name_whatever_the_input_order() {
    let mut docs = catalog();
    let a = index_names(SearchIndex::build(docs.clone()));
    docs.reverse();
    let b = index_names(SearchIndex::build(docs));
    assert_eq!(a, b);
    // cart___get_item and secret___get_item have identical embeddings: name order decides.
    let index = SearchIndex::build(catalog());
    let hits = index.search(
        &q("x", 5, SearchMode::Vector),
        Some(&[1.0, 0.0, 0.0]),
        &|_| true,
    );
    assert_eq!(hits[0].exposed_name, "cart___get_item");
    assert_eq!(hits[1].exposed_name, "secret___get_item");
    assert_eq!(hits[0].score, hits[1].score);
}

fn index_names(index: SearchIndex) -> Vec<Vec<String>> {
    ["get item", "cart", "employees department", "item"]
        .iter()
        .map(|t| {
            index
                .search(&q(t, 10, SearchMode::Lexical), None, &|_| true)
                .into_iter()
                .map(|h| format!("{}={}", h.exposed_name, h.score))
                .collect()
        })
        .collect()
}

#[test]
fn empty_query_and_zero_limit_find_nothing() {
    let index = SearchIndex::build(catalog());
    for mode in ALL_MODES {
        for text in ["", "   ", "\n"] {
            assert!(
                index
                    .search(&q(text, 10, mode), Some(&[1.0, 0.0, 0.0]), &|_| true)
                    .is_empty()
            );
        }
        assert!(
            index
                .search(&q("item", 0, mode), Some(&[1.0, 0.0, 0.0]), &|_| true)
                .is_empty()
        );
    }
    assert!(
        index
            .search(&q("the of and", 10, SearchMode::Lexical), None, &|_| true)
            .is_empty()
    );
    let empty = SearchIndex::build(Vec::new());
    assert!(empty.is_empty());
    assert!(
        empty
            .search(&q("item", 10, SearchMode::Hybrid), None, &|_| true)
            .is_empty()
    );
}

#[test]
fn falls_back_to_lexical_without_vectors() {
    let no_vectors: Vec<SearchDocument> = catalog()
        .into_iter()
        .map(|d| SearchDocument {
            embedding: None,
            ..d
        })
        .collect();
    let index = SearchIndex::build(no_vectors);
    assert!(!index.has_vectors());
    assert_eq!(
        index.effective_mode(SearchMode::Hybrid, Some(&[1.0, 0.0, 0.0])),
        SearchMode::Lexical
    );
    let lexical = index.search(&q("remove item", 3, SearchMode::Lexical), None, &|_| true);
    let hybrid = index.search(
        &q("remove item", 3, SearchMode::Hybrid),
        Some(&[1.0, 0.0, 0.0]),
        &|_| true,
    );
    assert_eq!(lexical, hybrid);

    let index = SearchIndex::build(catalog());
    assert!(index.has_vectors());
    assert_eq!(index.dimensions(), 3);
    // No query embedding, or one of the wrong size: lexical.
    assert_eq!(
        index.effective_mode(SearchMode::Vector, None),
        SearchMode::Lexical
    );
    assert_eq!(
        index.effective_mode(SearchMode::Vector, Some(&[1.0])),
        SearchMode::Lexical
    );
    assert_eq!(
        index.effective_mode(SearchMode::Vector, Some(&[1.0, 0.0, 0.0])),
        SearchMode::Vector
    );
}

#[test]
fn hybrid_combines_both_signals() {
    // The words point at HR, the vector at the cart; each fusion must keep HR near the top.
    for fusion in [
        Fusion::Rrf { k: 60.0 },
        Fusion::Convex {
            lexical_weight: 0.8,
        },
    ] {
        let index = SearchIndex::build_with(catalog(), fusion);
        let query = q("employees", 2, SearchMode::Hybrid);
        let hits = index.search(&query, Some(&[1.0, 0.0, 0.0]), &|_| true);
        assert!(
            names(&hits).contains(&"hr___list_employees"),
            "{fusion:?}: {hits:?}"
        );
        let vector = index.search(
            &SearchQuery {
                mode: SearchMode::Vector,
                ..query
            },
            Some(&[1.0, 0.0, 0.0]),
            &|_| true,
        );
        assert!(!names(&vector).contains(&"hr___list_employees"));
    }
}

#[test]
fn duplicate_names_keep_the_first() {
    let mut docs = catalog();
    docs.push(doc(
        "cart",
        "get_item",
        "A duplicate that must be dropped.",
        None,
    ));
    let index = SearchIndex::build(docs);
    assert_eq!(index.len(), 5);
    let hits = index.search(
        &q("duplicate dropped", 5, SearchMode::Lexical),
        None,
        &|_| true,
    );
    assert!(hits.is_empty());
}

#[test]
fn summary_counts_targets() {
    let index = SearchIndex::build(catalog());
    let s = index.summary();
    assert_eq!(s.total_tools, 5);
    assert!(s.has_vectors);
    let cart = s.targets.iter().find(|t| t.target == "cart").unwrap();
    assert_eq!(cart.tools, 2);
    assert_eq!(cart.keywords, vec!["item"]);
    let text = s.describe();
    assert!(text.contains("5 tools across 4 targets"), "{text}");
    assert!(text.contains("cart (2 tools: item)"), "{text}");
}

#[test]
fn search_mode_serde_is_lowercase() {
    assert_eq!(
        serde_json::to_string(&SearchMode::Hybrid).unwrap(),
        "\"hybrid\""
    );
    let m: SearchMode = serde_json::from_str("\"lexical\"").unwrap();
    assert_eq!(m, SearchMode::Lexical);
}
