//! Semantic tool search: find the right tool among thousands, permission-aware.
//!
//! A [`SearchIndex`] is built once per catalog version from [`SearchDocument`]s and is
//! immutable afterwards, so request handlers share it behind an `Arc` without locking.
//! It ranks tools three ways:
//!
//! - [`SearchMode::Lexical`]: BM25F over the tokenized name, description and parameter
//!   text ([`bm25`], [`tokenize`]). Always available.
//! - [`SearchMode::Vector`]: cosine similarity between the query embedding and tool
//!   embeddings computed at sync time ([`vector`]).
//! - [`SearchMode::Hybrid`]: both, fused ([`fusion`]).
//!
//! Vector and hybrid need tool embeddings and a query embedding; without them the index
//! answers lexically (check [`SearchIndex::has_vectors`]). Embeddings come from an
//! [`Embedder`] (the local all-MiniLM-L6-v2 `CandleEmbedder` behind the `embeddings`
//! cargo feature) or an [`AsyncEmbedder`] such as [`OpenAiEmbedder`], and are cached in
//! the catalog as [`StoredEmbedding`]s keyed by [`definition_hash`].
//!
//! Apart from `setup` (settings, embedder choice, catalog embedding), this module depends
//! on nothing else in the gateway; `server::search_tool` serves it.

pub mod bm25;
pub mod cache;
#[cfg(feature = "embeddings")]
pub mod candle;
pub mod embed;
pub mod fusion;
mod index;
pub mod openai;
mod setup;
mod summary;
pub mod text;
pub mod tokenize;
pub mod vector;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use cache::{
    EmbeddingJob, RefreshStats, StoredEmbedding, decode_vector, encode_vector, refresh_embeddings,
};
#[cfg(feature = "embeddings")]
pub use candle::CandleEmbedder;
pub use embed::{AsyncEmbedder, BlockingEmbedder, EmbedError, Embedder};
pub use fusion::Fusion;
pub use index::SearchIndex;
pub use openai::{OpenAiConfig, OpenAiEmbedder};
pub use setup::{
    EMBEDDINGS_API_KEY_ENV, EMBEDDINGS_MODEL_ENV, EMBEDDINGS_URL_ENV, MODEL_DIR_ENV,
    SearchExposure, SearchSettings, embed_catalog, embedded_tools, embedder_from_env,
};
pub use summary::{IndexSummary, TargetSummary};
pub use text::{definition_hash, embedding_text};

/// One tool as the search index sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDocument {
    /// Name clients call the tool by (`prefix + separator + upstream name`); unique.
    pub exposed_name: String,
    /// Target (GatewayTarget name) that owns the tool; used by the target filter.
    pub target: String,
    /// Optional human-readable title from the tool definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Tool description.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the tool's arguments; parameter names and descriptions are indexed.
    #[serde(default)]
    pub input_schema: serde_json::Value,
    /// Embedding of [`embedding_text`] for this tool, if one was computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

/// Ranking method.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25F only.
    Lexical,
    /// Embedding cosine similarity only.
    Vector,
    /// Lexical and vector, fused. Falls back to lexical without embeddings.
    #[default]
    Hybrid,
}

/// One search request.
#[derive(Debug, Clone, Copy)]
pub struct SearchQuery<'a> {
    /// Natural-language query. Empty (or stop words only, in lexical mode) finds nothing.
    pub text: &'a str,
    /// Maximum number of hits; 0 returns nothing. Callers should clamp user input.
    pub limit: usize,
    /// Only tools of these targets; `None` or an empty slice means every target.
    pub targets: Option<&'a [String]>,
    /// Requested ranking method.
    pub mode: SearchMode,
}

/// One result, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// Exposed tool name; look the definition up in the catalog.
    pub exposed_name: String,
    /// Method-specific relevance (BM25, cosine or fused); only the order is meaningful.
    pub score: f32,
}
