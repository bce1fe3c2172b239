//! Per-tool embeddings as stored in the catalog, and incremental recomputation.
//!
//! A vector is stored as base64 of little-endian `f32`s: 384 dimensions take 2,048
//! characters, against roughly 4,000 for a JSON number array, and it round-trips exactly.
//! Catalog ConfigMaps are capped at 1 MiB, so the size matters.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::embed::{AsyncEmbedder, EmbedError};
use super::text::{definition_hash, embedding_text};

/// Texts sent to the embedder per call during a refresh; bounds memory and request size.
const REFRESH_BATCH: usize = 64;

/// A tool's embedding with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEmbedding {
    /// [`super::Embedder::model_id`] of the model that produced it.
    pub model: String,
    /// [`definition_hash`] of the tool definition it embeds.
    pub definition_hash: String,
    /// The vector, serialized as base64 of little-endian f32.
    #[serde(with = "f32_base64")]
    pub vector: Vec<f32>,
}

impl StoredEmbedding {
    /// True when this embedding can be reused for `model` and `definition_hash`.
    pub fn is_current(&self, model: &str, definition_hash: &str) -> bool {
        self.model == model && self.definition_hash == definition_hash && !self.vector.is_empty()
    }
}

/// Encodes a vector as base64 of little-endian f32.
pub fn encode_vector(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    STANDARD.encode(bytes)
}

/// Decodes [`encode_vector`]'s output.
pub fn decode_vector(s: &str) -> Result<Vec<f32>, String> {
    let bytes = STANDARD
        .decode(s)
        .map_err(|e| format!("invalid base64: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{} bytes is not a whole number of f32",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// `#[serde(with = "f32_base64")]` for `Vec<f32>` fields.
pub mod f32_base64 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as a base64 string.
    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode_vector(v))
    }

    /// Deserializes from a base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let s = String::deserialize(d)?;
        super::decode_vector(&s).map_err(serde::de::Error::custom)
    }
}

/// One tool to (re)embed during a sync.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddingJob<'a> {
    /// Name passed to [`embedding_text`] (the exposed name).
    pub name: &'a str,
    /// Tool description.
    pub description: &'a str,
    /// Tool input schema.
    pub input_schema: &'a Value,
    /// What the previous catalog stored for this tool, if anything.
    pub previous: Option<&'a StoredEmbedding>,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshStats {
    /// Embeddings reused from the previous catalog.
    pub reused: usize,
    /// Embeddings computed now.
    pub computed: usize,
}

/// Returns one embedding per job, in job order: reused when the previous one matches the
/// model and the definition hash, computed (in batches) otherwise.
pub async fn refresh_embeddings(
    embedder: &dyn AsyncEmbedder,
    jobs: &[EmbeddingJob<'_>],
) -> Result<(Vec<StoredEmbedding>, RefreshStats), EmbedError> {
    let model = embedder.model_id().to_string();
    let mut out: Vec<Option<StoredEmbedding>> = Vec::with_capacity(jobs.len());
    let mut pending: Vec<(usize, String, String)> = Vec::new();
    let mut stats = RefreshStats::default();
    for (i, job) in jobs.iter().enumerate() {
        let hash = definition_hash(job.name, job.description, job.input_schema);
        match job.previous.filter(|p| p.is_current(&model, &hash)) {
            Some(prev) => {
                stats.reused += 1;
                out.push(Some(prev.clone()));
            }
            None => {
                out.push(None);
                let text = embedding_text(job.name, job.description, job.input_schema);
                pending.push((i, hash, text));
            }
        }
    }
    for batch in pending.chunks(REFRESH_BATCH) {
        let texts: Vec<String> = batch.iter().map(|(_, _, t)| t.clone()).collect();
        let vectors = embedder.embed(texts).await?;
        if vectors.len() != batch.len() {
            return Err(EmbedError::BadResponse(format!(
                "expected {} embeddings, got {}",
                batch.len(),
                vectors.len()
            )));
        }
        for ((i, hash, _), vector) in batch.iter().zip(vectors) {
            stats.computed += 1;
            out[*i] = Some(StoredEmbedding {
                model: model.clone(),
                definition_hash: hash.clone(),
                vector,
            });
        }
    }
    let out: Vec<StoredEmbedding> = out.into_iter().flatten().collect();
    if out.len() != jobs.len() {
        return Err(EmbedError::BadResponse(
            "embedding results do not cover every tool".into(),
        ));
    }
    Ok((out, stats))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::search::embed::{BlockingEmbedder, Embedder};
    use serde_json::json;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn base64_round_trips_exactly() {
        let v = vec![0.1f32, -2.5, f32::MIN_POSITIVE, 1e30];
        let e = StoredEmbedding {
            model: "m".into(),
            definition_hash: "h".into(),
            vector: v,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"definitionHash\":\"h\""));
        let back: StoredEmbedding = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert!(decode_vector("AAA=").is_err());
        assert!(decode_vector("!!").is_err());
    }

    struct Counting(AtomicUsize);
    impl Embedder for Counting {
        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
        fn model_id(&self) -> &str {
            "count-v1"
        }
    }

    #[tokio::test]
    async fn recomputes_only_changed_tools() {
        let counting = Arc::new(Counting(AtomicUsize::new(0)));
        let embedder = BlockingEmbedder::new(Arc::clone(&counting));
        let schema = json!({"properties": {"q": {"description": "query"}}});
        let first: Vec<EmbeddingJob> = ["a", "b", "c"]
            .iter()
            .map(|n| EmbeddingJob {
                name: n,
                description: "d",
                input_schema: &schema,
                previous: None,
            })
            .collect();
        let (stored, stats) = refresh_embeddings(&embedder, &first).await.unwrap();
        assert_eq!(
            stats,
            RefreshStats {
                reused: 0,
                computed: 3
            }
        );

        // "b" changes its description; "c" was computed by another model.
        let mut other = stored[2].clone();
        other.model = "other".into();
        let second = vec![
            EmbeddingJob {
                previous: Some(&stored[0]),
                ..first[0]
            },
            EmbeddingJob {
                description: "changed",
                previous: Some(&stored[1]),
                ..first[1]
            },
            EmbeddingJob {
                previous: Some(&other),
                ..first[2]
            },
        ];
        let (again, stats) = refresh_embeddings(&embedder, &second).await.unwrap();
        assert_eq!(
            stats,
            RefreshStats {
                reused: 1,
                computed: 2
            }
        );
        assert_eq!(counting.0.load(Ordering::SeqCst), 5);
        assert_eq!(again[0], stored[0]);
        assert_ne!(again[1].definition_hash, stored[1].definition_hash);
        assert_eq!(again[2].model, "count-v1");
    }
}
