//! Tool embeddings for semantic search, computed by the GatewayTarget reconciler at sync
//! time and summarized in Gateway status: real FastMCP upstreams, kube-fake-client as the
//! API server (see tests/common/mod.rs), and the real all-MiniLM-L6-v2 model from
//! `SWITCHBOARD_EMBEDDING_MODEL_DIR` (tests with the model need `--features embeddings`;
//! a missing model directory fails them with install instructions, never a silent skip).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use switchboard_operator::crd::SearchStatus;

async fn search_status(w: &World, gateway: &str) -> SearchStatus {
    w.gateways()
        .get(gateway)
        .await
        .unwrap()
        .status
        .unwrap()
        .search
        .expect("Gateway status has a search summary")
}

#[tokio::test]
async fn without_a_model_the_gateway_status_says_search_is_lexical_and_why() {
    let upstream = Upstream::start(&["--tools", "2"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    let status = w.status("cart").await;
    assert_eq!(status.embedded_tool_count, Some(0));
    assert!(
        !catalog_json(&w, "cart").await.contains("\"embedding\""),
        "no model, no embeddings in the catalog"
    );

    w.reconcile_gateway("shop").await;
    let search = search_status(&w, "shop").await;
    assert_eq!(search.mode, "Lexical");
    assert_eq!((search.embedded_tools, search.tools), (0, 4));
    assert_eq!(
        search.tool_name.as_deref(),
        Some("switchboard_search_tools")
    );
    assert!(
        search
            .message
            .contains("the operator has no embedding model"),
        "{}",
        search.message
    );
}

#[tokio::test]
async fn disabled_search_is_reported_as_such() {
    let upstream = Upstream::start(&["--tools", "1"]);
    let w = world(vec![
        gateway_yaml("shop", "  search: {enabled: false}\n"),
        target_yaml("cart", "shop", &upstream.url, ""),
    ])
    .await;
    w.reconcile_target("cart").await;
    w.reconcile_gateway("shop").await;
    let search = search_status(&w, "shop").await;
    assert_eq!(search.mode, "Disabled");
    assert_eq!(search.tool_name, None);
}

#[tokio::test]
async fn a_target_tool_named_like_the_search_tool_is_reported_as_a_collision() {
    // Empty prefix: the upstream's tool `switchboard_search_tools` would shadow the
    // built-in one; the gateway keeps its own, and status says so.
    let upstream = Upstream::start(&["--tools", "1", "--stem", "switchboard_search"]);
    let w = world(vec![
        gateway_yaml("shop", ""),
        target_yaml("cart", "shop", &upstream.url, "  toolPrefix: \"\"\n"),
    ])
    .await;
    w.reconcile_target("cart").await;
    let names = tool_names(&w.catalog_maps("cart").await);
    assert!(
        names.contains(&"switchboard_search_0000".to_owned()),
        "{names:?}"
    );
    // Rename the built-in tool onto the upstream's name: now they collide.
    w.gateways()
        .patch(
            "shop",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&serde_json::json!({
                "spec": {"search": {"toolName": "switchboard_search_0000"}}
            })),
        )
        .await
        .unwrap();
    w.reconcile_target("cart").await;
    let status = w.status("cart").await;
    assert_eq!(
        status.collisions,
        ["tool switchboard_search_0000 (kept by the built-in search tool)"],
        "{status:?}"
    );
}

async fn catalog_json(w: &World, target: &str) -> String {
    w.catalog_maps(target)
        .await
        .iter()
        .flat_map(|m| m.data.clone().unwrap_or_default().into_values())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(feature = "embeddings")]
mod with_model {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use futures::future::BoxFuture;
    use serde_json::json;
    use switchboard_gateway::catalog::TargetCatalog;
    use switchboard_gateway::search::{
        AsyncEmbedder, BlockingEmbedder, CandleEmbedder, EmbedError, MODEL_DIR_ENV,
    };
    use switchboard_operator::controller::{Options, ToolEmbedder};

    use super::*;

    /// The real model, counting the texts it embeds; `fail` makes it refuse (standing in
    /// for an embeddings endpoint that is down: no real peer fails on demand).
    struct Counting {
        model: BlockingEmbedder<CandleEmbedder>,
        texts: AtomicUsize,
        fail: AtomicBool,
    }

    impl AsyncEmbedder for Counting {
        fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, EmbedError>> {
            Box::pin(async move {
                if self.fail.load(Ordering::SeqCst) {
                    return Err(EmbedError::Http("connection refused".into()));
                }
                self.texts.fetch_add(texts.len(), Ordering::SeqCst);
                self.model.embed(texts).await
            })
        }
        fn model_id(&self) -> &str {
            self.model.model_id()
        }
    }

    fn counting_model() -> Arc<Counting> {
        let dir = std::env::var_os(MODEL_DIR_ENV).unwrap_or_else(|| {
            panic!(
                "{MODEL_DIR_ENV} is not set: run `export {MODEL_DIR_ENV}=\"$(tests/search-eval/install-model.sh)\"` (docs/search.md)"
            )
        });
        let model = CandleEmbedder::load(&dir).expect("load all-MiniLM-L6-v2");
        Arc::new(Counting {
            model: BlockingEmbedder::new(Arc::new(model)),
            texts: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
        })
    }

    /// Gateway `shop` and target `cart` on `upstream`, the operator embedding with `model`.
    async fn embedding_world(model: &Arc<Counting>, upstream: &Upstream) -> World {
        let options = Options {
            embedder: Some(ToolEmbedder(model.clone())),
            ..options()
        };
        world_with(
            vec![
                gateway_yaml("shop", ""),
                target_yaml("cart", "shop", &upstream.url, ""),
            ],
            options,
        )
        .await
    }

    async fn stored(w: &World, target: &str) -> TargetCatalog {
        let maps = w.catalog_maps(target).await;
        switchboard_operator::render::catalog::read_stored(target, &maps)
            .unwrap()
            .catalog
    }

    #[tokio::test]
    async fn syncs_embed_new_and_changed_tools_only_and_status_reports_hybrid_search() {
        let model = counting_model();
        let upstream = Upstream::start(&["--tools", "2"]);
        let w = embedding_world(&model, &upstream).await;

        w.reconcile_target("cart").await;
        let first = w.status("cart").await;
        assert_eq!(first.status.as_deref(), Some("READY"));
        assert_eq!(
            (first.tool_count, first.embedded_tool_count),
            (Some(4), Some(4))
        );
        assert_eq!(model.texts.load(Ordering::SeqCst), 4);
        let catalog = stored(&w, "cart").await;
        for tool in &catalog.tools {
            let embedding = tool.embedding.as_ref().expect("every tool embedded");
            assert_eq!(embedding.model, model.model_id());
            assert_eq!(embedding.vector.len(), 384, "{}", tool.name);
        }

        w.reconcile_gateway("shop").await;
        let search = search_status(&w, "shop").await;
        assert_eq!(search.mode, "Hybrid");
        assert_eq!((search.embedded_tools, search.tools), (4, 4));
        assert_eq!(search.model.as_deref(), Some(model.model_id()));

        // Two new tools upstream, then an explicit re-sync: only they are embedded.
        upstream.call("grow", json!({"count": 2})).await;
        w.annotate_sync("cart", "2026-11-21T10:00:00+00:00").await;
        w.reconcile_target("cart").await;
        let grown = w.status("cart").await;
        assert_eq!(
            (grown.tool_count, grown.embedded_tool_count),
            (Some(6), Some(6))
        );
        assert_eq!(
            model.texts.load(Ordering::SeqCst),
            6,
            "4 reused, 2 computed"
        );
        let after = stored(&w, "cart").await;
        for tool in &catalog.tools {
            let again = after.tools.iter().find(|t| t.name == tool.name).unwrap();
            assert_eq!(
                again.embedding, tool.embedding,
                "{} reused as is",
                tool.name
            );
        }

        // An unchanged upstream re-synced: nothing embedded, nothing rewritten.
        let maps_before = w.catalog_maps("cart").await;
        w.annotate_sync("cart", "2026-11-21T11:00:00+00:00").await;
        w.reconcile_target("cart").await;
        assert_eq!(model.texts.load(Ordering::SeqCst), 6);
        assert_eq!(w.status("cart").await.catalog_hash, grown.catalog_hash);
        assert_eq!(w.catalog_maps("cart").await, maps_before);

        // A prefix change renames every tool, so every definition text changes.
        w.patch_spec("cart", json!({"toolPrefix": "basket"})).await;
        w.reconcile_target("cart").await;
        assert_eq!(model.texts.load(Ordering::SeqCst), 12);
    }

    #[tokio::test]
    async fn a_failing_embedder_never_fails_the_sync_nor_drops_embeddings_it_had() {
        let model = counting_model();
        let upstream = Upstream::start(&["--tools", "2"]);
        let w = embedding_world(&model, &upstream).await;
        w.reconcile_target("cart").await;
        assert_eq!(w.status("cart").await.embedded_tool_count, Some(4));

        model.fail.store(true, Ordering::SeqCst);
        upstream.call("grow", json!({"count": 1})).await;
        w.annotate_sync("cart", "2026-11-21T10:00:00+00:00").await;
        w.reconcile_target("cart").await;
        let status = w.status("cart").await;
        assert_eq!(status.status.as_deref(), Some("READY"), "{status:?}");
        assert_eq!(
            (status.tool_count, status.embedded_tool_count),
            (Some(5), Some(4)),
            "the four unchanged tools keep their embeddings"
        );
        let events = w.events("cart").await;
        assert!(
            events.iter().any(|(t, r, n)| t == "Warning"
                && r == "EmbeddingFailed"
                && n.contains("connection refused")
                && n.contains("4 of 5 tools keep their previous embedding")),
            "{events:?}"
        );

        w.reconcile_gateway("shop").await;
        let search = search_status(&w, "shop").await;
        assert_eq!(search.mode, "Hybrid");
        assert_eq!((search.embedded_tools, search.tools), (4, 5));
        assert!(
            search.message.contains(
                "1 of 5 tools have no embedding and are found lexically only (targets: cart)"
            ),
            "{}",
            search.message
        );

        // The embedder recovers: the next sync completes the set.
        model.fail.store(false, Ordering::SeqCst);
        w.annotate_sync("cart", "2026-11-21T11:00:00+00:00").await;
        w.reconcile_target("cart").await;
        assert_eq!(w.status("cart").await.embedded_tool_count, Some(5));
        w.reconcile_gateway("shop").await;
        let search = search_status(&w, "shop").await;
        assert_eq!((search.embedded_tools, search.tools), (5, 5));
        assert!(
            search.message.starts_with("all 5 tools embedded"),
            "{}",
            search.message
        );
    }
}
