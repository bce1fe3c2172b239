//! Embedding providers.
//!
//! Two traits, because the two kinds of provider block in different ways:
//!
//! - [`Embedder`] is synchronous: a local model is CPU-bound work that must not run on an
//!   async worker thread, and a plain function is the easiest thing to test and benchmark.
//! - [`AsyncEmbedder`] is what the gateway and the sync code hold (`Arc<dyn AsyncEmbedder>`):
//!   an HTTP provider ([`super::OpenAiEmbedder`]) implements it natively, and any
//!   [`Embedder`] becomes one through [`BlockingEmbedder`], which moves the work to
//!   tokio's blocking pool. reqwest's blocking client is not available (and would
//!   deadlock inside a runtime), so there is no sync HTTP embedder.

use std::sync::Arc;

use futures::future::BoxFuture;

/// Why embedding failed. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// Model files missing or unreadable.
    #[error("cannot load embedding model: {0}")]
    Load(String),
    /// The tokenizer rejected the input.
    #[error("tokenization failed: {0}")]
    Tokenize(String),
    /// The model failed while computing embeddings.
    #[error("embedding inference failed: {0}")]
    Inference(String),
    /// The embeddings endpoint could not be reached or timed out.
    #[error("embeddings request failed: {0}")]
    Http(String),
    /// The endpoint answered, but not with usable embeddings.
    #[error("embeddings endpoint returned an invalid response: {0}")]
    BadResponse(String),
    /// The blocking task was cancelled or panicked.
    #[error("embedding task failed: {0}")]
    Task(String),
}

impl EmbedError {
    /// Short stable label for metrics and Event reasons.
    pub fn reason(&self) -> &'static str {
        match self {
            EmbedError::Load(_) => "ModelLoadFailed",
            EmbedError::Tokenize(_) => "TokenizeFailed",
            EmbedError::Inference(_) => "InferenceFailed",
            EmbedError::Http(_) => "EndpointUnreachable",
            EmbedError::BadResponse(_) => "EndpointBadResponse",
            EmbedError::Task(_) => "TaskFailed",
        }
    }
}

/// A synchronous (CPU-bound) text embedder. Implementations return one L2-normalized
/// vector per input text, in input order.
pub trait Embedder: Send + Sync {
    /// Embeds `texts`; an empty slice yields an empty result.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Identifies the model (and anything else that changes its output); cached
    /// embeddings are reused only when this matches.
    fn model_id(&self) -> &str;
}

/// An embedder that may wait on I/O. This is the interface the gateway holds.
pub trait AsyncEmbedder: Send + Sync {
    /// Embeds `texts`, one vector per text, in input order.
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, EmbedError>>;
    /// See [`Embedder::model_id`].
    fn model_id(&self) -> &str;
}

/// Runs a synchronous [`Embedder`] on tokio's blocking thread pool.
pub struct BlockingEmbedder<E: ?Sized> {
    inner: Arc<E>,
}

impl<E: Embedder + ?Sized + 'static> BlockingEmbedder<E> {
    /// Wraps a shared embedder.
    pub fn new(inner: Arc<E>) -> Self {
        Self { inner }
    }
}

impl<E: Embedder + ?Sized + 'static> AsyncEmbedder for BlockingEmbedder<E> {
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, EmbedError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            tokio::task::spawn_blocking(move || inner.embed(&texts))
                .await
                .map_err(|e| EmbedError::Task(e.to_string()))?
        })
    }

    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
}

/// Checks a provider's answer: right count, one dimension, finite values; normalizes.
pub(crate) fn validate(
    expected: usize,
    vectors: Vec<Vec<f32>>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    if vectors.len() != expected {
        return Err(EmbedError::BadResponse(format!(
            "expected {expected} embeddings, got {}",
            vectors.len()
        )));
    }
    let dim = vectors.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(vectors.len());
    for v in vectors {
        if v.len() != dim || dim == 0 {
            return Err(EmbedError::BadResponse(
                "inconsistent embedding dimensions".into(),
            ));
        }
        let unit = super::vector::normalized(&v)
            .ok_or_else(|| EmbedError::BadResponse("zero or non-finite embedding".into()))?;
        out.push(unit);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Fixed;
    impl Embedder for Fixed {
        fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
        fn model_id(&self) -> &str {
            "fixed"
        }
    }

    #[tokio::test]
    async fn blocking_adapter_runs_sync_embedder() {
        let e: Arc<dyn AsyncEmbedder> = Arc::new(BlockingEmbedder::new(Arc::new(Fixed)));
        let out = e.embed(vec!["abc".into(), "a".into()]).await.unwrap();
        assert_eq!(out, vec![vec![3.0, 1.0], vec![1.0, 1.0]]);
        assert_eq!(e.model_id(), "fixed");
        assert!(e.embed(Vec::new()).await.unwrap().is_empty());
    }

    #[test]
    fn validate_rejects_bad_answers() {
        assert!(validate(2, vec![vec![1.0]]).is_err());
        assert!(validate(2, vec![vec![1.0], vec![1.0, 2.0]]).is_err());
        assert!(validate(1, vec![vec![0.0, 0.0]]).is_err());
        let ok = validate(1, vec![vec![3.0, 4.0]]).unwrap();
        assert!((ok[0][0] - 0.6).abs() < 1e-6);
    }
}
