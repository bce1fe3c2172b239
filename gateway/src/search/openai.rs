//! Embeddings from an OpenAI-compatible `POST {base}/embeddings` endpoint
//! (OpenAI, Azure-style proxies, vLLM, llama.cpp server, text-embeddings-inference, ...).

use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::embed::{AsyncEmbedder, EmbedError, validate};

/// Largest response body accepted; a batch of 64 × 3,072 floats is well under this.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Where and how to call the endpoint.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenAiConfig {
    /// Base URL including the version segment, e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`; `/embeddings` is appended.
    pub base_url: String,
    /// Model name sent in the request, e.g. `text-embedding-3-small`.
    pub model: String,
    /// Bearer token, if the endpoint needs one. Never logged or shown in errors.
    #[serde(default, skip_serializing)]
    pub api_key: Option<String>,
    /// Timeout per HTTP request.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Texts per request.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_timeout_seconds() -> u64 {
    30
}

fn default_batch_size() -> usize {
    64
}

impl OpenAiConfig {
    /// Config with default timeout and batch size and no API key.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout_seconds: default_timeout_seconds(),
            batch_size: default_batch_size(),
        }
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout_seconds", &self.timeout_seconds)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

/// [`AsyncEmbedder`] for an OpenAI-compatible embeddings API.
#[derive(Debug)]
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    endpoint: String,
    model_id: String,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    index: usize,
}

impl OpenAiEmbedder {
    /// Validates the config and builds the HTTP client.
    pub fn new(config: OpenAiConfig) -> Result<Self, EmbedError> {
        let base = url::Url::parse(&config.base_url)
            .map_err(|e| EmbedError::Load(format!("invalid embeddings base URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(EmbedError::Load(
                "embeddings base URL must be http or https".into(),
            ));
        }
        if config.model.is_empty() {
            return Err(EmbedError::Load("embeddings model name is empty".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .build()
            .map_err(|e| EmbedError::Load(format!("cannot build HTTP client: {e}")))?;
        let endpoint = format!("{}/embeddings", config.base_url.trim_end_matches('/'));
        let model_id = format!("openai:{}", config.model);
        Ok(Self {
            config,
            endpoint,
            model_id,
            client,
        })
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = Request {
            model: &self.config.model,
            input: texts,
            encoding_format: "float",
        };
        let mut req = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.config.api_key {
            req = req.bearer_auth(key);
        }
        // `without_url` keeps any URL userinfo or query out of error messages.
        let resp = req
            .send()
            .await
            .map_err(|e| EmbedError::Http(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(EmbedError::Http(format!("endpoint answered HTTP {status}")));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(EmbedError::BadResponse("response too large".into()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| EmbedError::Http(e.without_url().to_string()))?;
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(EmbedError::BadResponse("response too large".into()));
        }
        let parsed: Response = serde_json::from_slice(&bytes)
            .map_err(|e| EmbedError::BadResponse(format!("not an embeddings response: {e}")))?;
        // The API does not promise input order; `index` says which input each vector is for.
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        for item in parsed.data {
            let slot = slots
                .get_mut(item.index)
                .ok_or_else(|| EmbedError::BadResponse("embedding index out of range".into()))?;
            *slot = Some(item.embedding);
        }
        let vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
        validate(texts.len(), vectors)
    }
}

impl AsyncEmbedder for OpenAiEmbedder {
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, EmbedError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(texts.len());
            for batch in texts.chunks(self.config.batch_size.max(1)) {
                out.extend(self.embed_batch(batch).await?);
            }
            Ok(out)
        })
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use serde_json::{Value, json};

    /// A local OpenAI-shaped endpoint: answers in reverse order (so `index` handling is
    /// exercised) with `[len(text), 1]`, and requires `Authorization: Bearer sk-test`.
    async fn serve() -> (String, tokio::task::JoinHandle<()>) {
        async fn embeddings(
            headers: HeaderMap,
            Json(body): Json<Value>,
        ) -> (StatusCode, Json<Value>) {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test")
            {
                return (StatusCode::UNAUTHORIZED, Json(json!({"error": "no"})));
            }
            let inputs = body["input"].as_array().cloned().unwrap_or_default();
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .rev()
                .map(|(i, t)| {
                    let n = t.as_str().map_or(0, str::len) as f32;
                    json!({"object": "embedding", "index": i, "embedding": [n, 1.0]})
                })
                .collect();
            (
                StatusCode::OK,
                Json(json!({"object": "list", "data": data, "model": body["model"]})),
            )
        }
        let app = axum::Router::new().route("/v1/embeddings", post(embeddings));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{addr}/v1"), task)
    }

    #[tokio::test]
    async fn embeds_in_batches_and_orders_by_index() {
        let (base, server) = serve().await;
        let mut config = OpenAiConfig::new(base, "test-model");
        config.api_key = Some("sk-test".into());
        config.batch_size = 2;
        let e = OpenAiEmbedder::new(config).unwrap();
        assert_eq!(e.model_id(), "openai:test-model");
        let texts: Vec<String> = ["a", "bbb", "cc"].iter().map(|s| s.to_string()).collect();
        let out = e.embed(texts).await.unwrap();
        assert_eq!(out.len(), 3);
        // [3, 1] normalized: the longer text has the larger first component.
        assert!(out[1][0] > out[2][0] && out[2][0] > out[0][0]);
        server.abort();
    }

    #[tokio::test]
    async fn auth_failure_does_not_leak_the_key() {
        let (base, server) = serve().await;
        let mut config = OpenAiConfig::new(base, "m");
        config.api_key = Some("sk-wrong-secret".into());
        let e = OpenAiEmbedder::new(config).unwrap();
        let err = e.embed(vec!["x".into()]).await.expect_err("must fail");
        assert!(err.to_string().contains("401"), "{err}");
        assert!(!err.to_string().contains("sk-wrong-secret"));
        assert!(!format!("{e:?}").contains("sk-wrong-secret"));
        server.abort();
    }

    #[test]
    fn rejects_bad_config() {
        assert!(OpenAiEmbedder::new(OpenAiConfig::new("ftp://x", "m")).is_err());
        assert!(OpenAiEmbedder::new(OpenAiConfig::new("not a url", "m")).is_err());
        assert!(OpenAiEmbedder::new(OpenAiConfig::new("http://x/v1", "")).is_err());
    }
}
