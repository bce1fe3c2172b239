//! Local sentence embeddings with candle: a BERT encoder (all-MiniLM-L6-v2) with mean
//! pooling and L2 normalization, loaded offline from a directory.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::embed::{EmbedError, Embedder};
use super::text::hex;

/// The sentence-transformers configuration of all-MiniLM-L6-v2 truncates at 256 tokens
/// (the shipped tokenizer.json says 128; the model was trained with 256).
const MAX_TOKENS: usize = 256;
/// Texts per forward pass. Batches are formed from length-sorted texts, so padding waste
/// stays small; larger batches gain little on CPU and cost memory.
const BATCH: usize = 32;

/// all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling) on the CPU.
pub struct CandleEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    model_id: String,
}

impl std::fmt::Debug for CandleEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleEmbedder")
            .field("model_id", &self.model_id)
            .finish()
    }
}

impl CandleEmbedder {
    /// Loads `model.safetensors`, `tokenizer.json` and `config.json` from `dir`.
    ///
    /// The model id is derived from the files' contents, not the path, so the operator
    /// (embedding tools) and the gateway (embedding queries) agree wherever the files are
    /// mounted, and a different model never reuses cached vectors.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| EmbedError::Load(format!("{}: {e}", dir.join(name).display())))
        };
        let config_bytes = read("config.json")?;
        let tokenizer_bytes = read("tokenizer.json")?;
        let weights = read("model.safetensors")?;

        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| EmbedError::Load(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| EmbedError::Load(format!("tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Load(format!("tokenizer truncation: {e}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));

        let model_id = model_id(&[&config_bytes, &tokenizer_bytes, &weights]);
        let device = Device::Cpu;
        // Buffered rather than memory-mapped: mmap is `unsafe` (the file could change under
        // us) and the workspace forbids unsafe code; the model is only 90 MB.
        let vb = VarBuilder::from_buffered_safetensors(weights, DTYPE, &device)
            .map_err(|e| EmbedError::Load(format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| EmbedError::Load(format!("model.safetensors: {e}")))?;
        Ok(Self {
            model,
            tokenizer,
            device,
            model_id,
        })
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let inputs: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * cols);
        let mut mask = Vec::with_capacity(rows * cols);
        for enc in &encodings {
            ids.extend_from_slice(enc.get_ids());
            mask.extend_from_slice(enc.get_attention_mask());
        }
        let infer = |e: candle_core::Error| EmbedError::Inference(e.to_string());
        let ids = Tensor::from_vec(ids, (rows, cols), &self.device).map_err(infer)?;
        let mask = Tensor::from_vec(mask, (rows, cols), &self.device).map_err(infer)?;
        let type_ids = ids.zeros_like().map_err(infer)?;
        let hidden = self
            .model
            .forward(&ids, &type_ids, Some(&mask))
            .map_err(infer)?;
        mean_pool_normalize(&hidden, &mask).map_err(infer)
    }
}

/// Mean over real (unpadded) tokens, then L2 normalization, as sentence-transformers does.
fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norm)?.to_vec2::<f32>()
}

fn model_id(parts: &[&[u8]]) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(format!("bert-mean-pool-l2;max_tokens={MAX_TOKENS}").as_bytes());
    for p in parts {
        ctx.update(&(p.len() as u64).to_le_bytes());
        ctx.update(p);
    }
    let digest = hex(ctx.finish().as_ref());
    format!("sbert-candle:{}", &digest[..16])
}

impl Embedder for CandleEmbedder {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Sort by length so each batch pads to a similar length, then restore input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embed_batch(&batch)?;
            if vectors.len() != chunk.len() {
                return Err(EmbedError::Inference("batch size mismatch".into()));
            }
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::search::vector::dot;

    /// The real model, or a failure that says how to install it (never a silent skip).
    fn model() -> CandleEmbedder {
        let Some(dir) = std::env::var_os("SWITCHBOARD_EMBEDDING_MODEL_DIR") else {
            panic!(
                "the `embeddings` feature is on: set SWITCHBOARD_EMBEDDING_MODEL_DIR to the \
                 all-MiniLM-L6-v2 directory: export SWITCHBOARD_EMBEDDING_MODEL_DIR=\
                 \"$(tests/search-eval/install-model.sh)\" (see docs/search.md)"
            );
        };
        CandleEmbedder::load(dir).unwrap()
    }

    /// Matches the similarities sentence-transformers documents for all-MiniLM-L6-v2 in its
    /// quickstart (0.6660, 0.1046, 0.1411), so tokenization, pooling and normalization agree
    /// with the reference implementation.
    #[test]
    fn matches_sentence_transformers_reference() {
        let m = model();
        let texts: Vec<String> = [
            "The weather is lovely today.",
            "It's so sunny outside!",
            "He drove to the stadium.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = m.embed(&texts).unwrap();
        let sims = [dot(&v[0], &v[1]), dot(&v[0], &v[2]), dot(&v[1], &v[2])];
        println!("{sims:?}");
        for (got, want) in sims.iter().zip([0.6660, 0.1046, 0.1411]) {
            assert!((got - want).abs() < 2e-3, "{sims:?}");
        }
    }

    #[test]
    fn missing_files_are_a_load_error() {
        let err = CandleEmbedder::load("/nonexistent/model-dir").unwrap_err();
        assert_eq!(err.reason(), "ModelLoadFailed");
        assert!(err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn embeddings_are_normalized_ordered_and_padding_invariant() {
        let m = model();
        assert_eq!(
            m.model_id(),
            model().model_id(),
            "id must not depend on the instance"
        );
        assert!(m.model_id().starts_with("sbert-candle:"));
        let texts: Vec<String> = [
            "remove an item from the shopping cart",
            "delete a line from my basket",
            "book a flight from Paris to New York next Tuesday morning in business class",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let batch = m.embed(&texts).unwrap();
        assert_eq!(batch.len(), 3);
        for v in &batch {
            assert_eq!(v.len(), 384);
            assert!((dot(v, v) - 1.0).abs() < 1e-4);
        }
        // Alone (no padding) and in a padded batch, a text must embed the same.
        let alone = m.embed(&texts[..1]).unwrap();
        assert!(dot(&alone[0], &batch[0]) > 0.9999);
        // Paraphrases are closer than unrelated requests.
        assert!(dot(&batch[0], &batch[1]) > dot(&batch[0], &batch[2]) + 0.2);
        assert!(m.embed(&[]).unwrap().is_empty());
    }
}
