//! How the gateway, local mode and the operator get an embedder, and how a synced catalog
//! gets its tool embeddings.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SearchMode;
use super::cache::{EmbeddingJob, RefreshStats, StoredEmbedding, refresh_embeddings};
use super::embed::{AsyncEmbedder, EmbedError};
use super::openai::{OpenAiConfig, OpenAiEmbedder};
use super::text::definition_hash;
use crate::catalog::TargetCatalog;

/// Directory with all-MiniLM-L6-v2 (`model.safetensors`, `tokenizer.json`, `config.json`).
pub const MODEL_DIR_ENV: &str = "SWITCHBOARD_EMBEDDING_MODEL_DIR";
/// Base URL of an OpenAI-compatible embeddings API (used when no model directory is set).
pub const EMBEDDINGS_URL_ENV: &str = "SWITCHBOARD_EMBEDDINGS_URL";
pub const EMBEDDINGS_MODEL_ENV: &str = "SWITCHBOARD_EMBEDDINGS_MODEL";
pub const EMBEDDINGS_API_KEY_ENV: &str = "SWITCHBOARD_EMBEDDINGS_API_KEY";

/// How tools/list exposes tools when search is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SearchExposure {
    /// Every tool the caller may call, plus the search tool.
    #[default]
    All,
    /// Only the search tool and `pinnedTools`, for clients that drown in tools.
    SearchOnly,
}

/// `Gateway.spec.search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchSettings {
    /// Expose the built-in search tool (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Name of the built-in tool; it is reserved (a target tool of that name is reported
    /// as a collision).
    #[serde(default = "default_tool_name")]
    #[schemars(regex(pattern = "^[A-Za-z0-9_-]{1,64}$"))]
    pub tool_name: String,
    #[serde(default)]
    pub exposure: SearchExposure,
    /// Exposed tool names still listed with `exposure: SearchOnly`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned_tools: Vec<String>,
    /// Ranking when the caller does not choose (hybrid falls back to lexical without a model).
    #[serde(default)]
    pub mode: SearchMode,
}

fn yes() -> bool {
    true
}

fn default_tool_name() -> String {
    "switchboard_search_tools".to_owned()
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tool_name: default_tool_name(),
            exposure: SearchExposure::All,
            pinned_tools: Vec::new(),
            mode: SearchMode::Hybrid,
        }
    }
}

impl SearchSettings {
    /// Tool names the gateway serves itself, as (name, owner) for
    /// [`crate::routes::RouteTable::build_reserving`]: a target tool of that name is a
    /// collision. The operator reserves the same names, so status reports what is served.
    pub fn reserved_tools(&self) -> Vec<(String, String)> {
        if self.enabled {
            vec![(
                self.tool_name.clone(),
                "the built-in search tool".to_owned(),
            )]
        } else {
            Vec::new()
        }
    }
}

/// The embedder configured by environment: a local model directory (with the
/// `embeddings` feature), else an OpenAI-compatible endpoint, else none (lexical search).
pub fn embedder_from_env(
    http: &reqwest::Client,
) -> Result<Option<Arc<dyn AsyncEmbedder>>, EmbedError> {
    let _ = http;
    if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        #[cfg(feature = "embeddings")]
        {
            let model = super::candle::CandleEmbedder::load(&dir)?;
            return Ok(Some(Arc::new(super::embed::BlockingEmbedder::new(
                Arc::new(model),
            ))));
        }
        #[cfg(not(feature = "embeddings"))]
        {
            tracing::warn!(dir = ?dir, "{MODEL_DIR_ENV} is set but this build has no `embeddings` feature: search is lexical");
            return Ok(None);
        }
    }
    let Ok(url) = std::env::var(EMBEDDINGS_URL_ENV) else {
        return Ok(None);
    };
    let model =
        std::env::var(EMBEDDINGS_MODEL_ENV).unwrap_or_else(|_| "text-embedding-3-small".into());
    let mut config = OpenAiConfig::new(url, model);
    config.api_key = std::env::var(EMBEDDINGS_API_KEY_ENV).ok();
    Ok(Some(Arc::new(OpenAiEmbedder::new(config)?)))
}

/// Stores an embedding on every tool of `catalog`, reusing `previous`'s where the model
/// and the tool's definition are unchanged, and updates the catalog's content hash (the
/// stored catalog changed even though clients see the same tools).
///
/// Loses nothing on failure: the tools keep `previous`'s embeddings that are still
/// current (the others have none and are found lexically), and the error is returned.
pub async fn embed_catalog(
    catalog: &mut TargetCatalog,
    previous: Option<&TargetCatalog>,
    embedder: &dyn AsyncEmbedder,
) -> Result<RefreshStats, EmbedError> {
    let empty = serde_json::Value::Null;
    let old = |name: &str| {
        previous?
            .tools
            .iter()
            .find(|t| t.name == name)?
            .embedding
            .as_ref()
    };
    let jobs: Vec<EmbeddingJob> = catalog
        .tools
        .iter()
        .map(|tool| EmbeddingJob {
            name: &tool.name,
            description: tool
                .definition
                .get("description")
                .and_then(|d| d.as_str())
                .unwrap_or(""),
            input_schema: tool.definition.get("inputSchema").unwrap_or(&empty),
            previous: old(&tool.name),
        })
        .collect();
    let outcome = refresh_embeddings(embedder, &jobs).await;
    let embeddings: Vec<Option<StoredEmbedding>> = match &outcome {
        Ok((embeddings, _)) => embeddings.iter().cloned().map(Some).collect(),
        Err(_) => {
            let model = embedder.model_id();
            jobs.iter()
                .map(|job| {
                    let hash = definition_hash(job.name, job.description, job.input_schema);
                    job.previous.filter(|p| p.is_current(model, &hash)).cloned()
                })
                .collect()
        }
    };
    for (tool, embedding) in catalog.tools.iter_mut().zip(embeddings) {
        tool.embedding = embedding;
    }
    catalog.content_hash = catalog.compute_hash();
    outcome.map(|(_, stats)| stats)
}

/// How many of `catalog`'s tools carry an embedding (tools without one are found
/// lexically only).
pub fn embedded_tools(catalog: &TargetCatalog) -> usize {
    catalog
        .tools
        .iter()
        .filter(|t| t.embedding.as_ref().is_some_and(|e| !e.vector.is_empty()))
        .count()
}
