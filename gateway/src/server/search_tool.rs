//! The built-in search tool: finds the tools a caller may call by describing the task.
//!
//! The index is built once per catalog load from the route table (tool embeddings come
//! from the catalogs, computed at sync time); the query is embedded per request when the
//! gateway has a model, else the search is lexical.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::Snapshot;
use super::context::CallContext;
use super::forward::{CallRecord, record_call, tool_ref};
use crate::catalog::TargetCatalog;
use crate::config::GatewaySettings;
use crate::jsonrpc::RpcError;
use crate::routes::{Listed, Route, RouteTable};
use crate::search::{AsyncEmbedder, SearchDocument, SearchIndex, SearchMode, SearchQuery};

const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 50;
/// What audit lines and metrics name as the search tool's target.
const OWNER: &str = "switchboard";

pub(super) struct SearchTool {
    /// The tool as listed, under its configured name.
    pub listed: Listed,
    index: SearchIndex,
    mode: SearchMode,
}

impl SearchTool {
    /// `None` when search is disabled. Tool embeddings are used only when they come from
    /// the model that embeds queries here (vectors of different models do not compare).
    pub fn build(
        settings: &GatewaySettings,
        routes: &RouteTable,
        catalogs: &[TargetCatalog],
        embedder: Option<&dyn AsyncEmbedder>,
    ) -> Option<Self> {
        let search = &settings.search;
        if !search.enabled {
            return None;
        }
        let model = embedder.map(|e| e.model_id().to_owned());
        let vectors: HashMap<&str, &Vec<f32>> = catalogs
            .iter()
            .flat_map(|c| &c.tools)
            .filter_map(|tool| {
                let stored = tool.embedding.as_ref()?;
                (Some(&stored.model) == model.as_ref())
                    .then_some((tool.name.as_str(), &stored.vector))
            })
            .collect();
        let docs = routes
            .tools()
            .iter()
            .map(|tool| {
                let text = |key: &str| {
                    tool.definition
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                SearchDocument {
                    exposed_name: tool.exposed.clone(),
                    target: tool.route.target.to_string(),
                    title: text("title"),
                    description: text("description").unwrap_or_default(),
                    input_schema: tool
                        .definition
                        .get("inputSchema")
                        .cloned()
                        .unwrap_or(Value::Null),
                    embedding: vectors.get(tool.exposed.as_str()).map(|v| (*v).clone()),
                }
            })
            .collect();
        let index = SearchIndex::build(docs);
        let summary = index.summary();
        let targets: Vec<&str> = summary.targets.iter().map(|t| t.target.as_str()).collect();
        let description = summary.describe();
        let definition = json!({
            "name": search.tool_name,
            "title": "Search tools",
            "description": description,
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The task, in plain words, e.g. \"add a product to the shopping cart\""},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "How many tools to return"},
                    "targets": {"type": "array", "items": {"type": "string", "enum": targets}, "description": "Only tools of these servers"},
                    "mode": {"type": "string", "enum": ["hybrid", "lexical", "vector"], "description": "Ranking method (default: hybrid, lexical when no model is loaded)"}
                },
                "required": ["query"],
                "additionalProperties": false
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false},
        });
        let listed = Listed {
            route: Route {
                target: Arc::from(OWNER),
                upstream_name: "search".to_owned(),
            },
            exposed: search.tool_name.clone(),
            definition,
        };
        Some(Self {
            listed,
            index,
            mode: search.mode,
        })
    }

    /// Whether the index can rank semantically (tools carry vectors of the query model).
    pub fn has_vectors(&self) -> bool {
        self.index.has_vectors()
    }
}

fn tool_error(text: String) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": true})
}

/// Answers a call of the search tool with the tools the caller may call, best first.
pub(super) async fn call(
    snapshot: &Snapshot,
    search: &SearchTool,
    params: &Value,
    context: &CallContext,
) -> Result<Value, RpcError> {
    let started = Instant::now();
    let arguments = params
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let query = arguments
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if query.is_empty() {
        return Ok(tool_error(
            "query must be a non-empty string describing the task".into(),
        ));
    }
    let limit = arguments
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(DEFAULT_LIMIT, |l| (l as usize).clamp(1, MAX_LIMIT));
    let targets: Option<Vec<String>> =
        arguments
            .get("targets")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            });
    let mode = match arguments.get("mode").and_then(Value::as_str) {
        Some("lexical") => SearchMode::Lexical,
        Some("vector") => SearchMode::Vector,
        Some("hybrid") => SearchMode::Hybrid,
        Some(other) => {
            return Ok(tool_error(format!(
                "unknown mode {other:?}: use hybrid, lexical or vector"
            )));
        }
        None => search.mode,
    };
    let embedding = match (
        &snapshot.embedder,
        search.has_vectors() && mode != SearchMode::Lexical,
    ) {
        (Some(embedder), true) => match embedder.embed(vec![query.clone()]).await {
            Ok(mut vectors) => vectors.pop(),
            Err(error) => {
                tracing::warn!(%error, "query embedding failed; searching lexically");
                None
            }
        },
        _ => None,
    };
    let view = snapshot.policy.for_caller(&context.caller);
    let may_see = |name: &str| {
        snapshot
            .routes
            .tool(name)
            .is_some_and(|t| view.allows(&tool_ref(t)))
    };
    let request = SearchQuery {
        text: &query,
        limit,
        targets: targets.as_deref(),
        mode,
    };
    let effective = search.index.effective_mode(mode, embedding.as_deref());
    let hits = search
        .index
        .search(&request, embedding.as_deref(), &may_see);
    let tools: Vec<Value> = hits
        .iter()
        .filter_map(|hit| {
            let tool = snapshot.routes.tool(&hit.exposed_name)?;
            let definition = &tool.definition;
            Some(json!({
                "name": tool.exposed,
                "title": definition.get("title"),
                "description": definition.get("description"),
                "target": &*tool.route.target,
                "inputSchema": definition.get("inputSchema"),
                "score": hit.score,
            }))
        })
        .collect();
    let text = if tools.is_empty() {
        format!("No tool matches {query:?}.")
    } else {
        let lines: Vec<String> = tools
            .iter()
            .map(|t| {
                format!(
                    "- {}: {}",
                    t["name"].as_str().unwrap_or(""),
                    t["description"].as_str().unwrap_or("")
                )
            })
            .collect();
        format!(
            "{} tools match {query:?} (call them by name; input schemas are in the structured result):\n{}",
            tools.len(),
            lines.join("\n")
        )
    };
    let mode_name = match effective {
        SearchMode::Lexical => "lexical",
        SearchMode::Vector => "vector",
        SearchMode::Hybrid => "hybrid",
    };
    let result = json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"tools": tools, "mode": mode_name},
        "isError": false,
    });
    let call = CallRecord {
        tool: &search.listed,
        label: "ok",
        elapsed: started.elapsed(),
        arguments: Some(&arguments),
        reason: None,
    };
    record_call(snapshot, context, &call, Some(&result));
    Ok(result)
}
