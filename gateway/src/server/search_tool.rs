//! The built-in search tool: finds the tools a caller may call by describing the task.
//!
//! The index is built once per catalog load from the route table (tool embeddings come
//! from the catalogs, computed at sync time); the query is embedded per request when the
//! gateway has a model, else the search is lexical.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::Snapshot;
use super::context::CallContext;
use super::forward::{CallRecord, record_call};
use crate::authz::CallerPolicy;
use crate::catalog::TargetCatalog;
use crate::config::GatewaySettings;
use crate::jsonrpc::RpcError;
use crate::routes::{Listed, Route, RouteTable};
use crate::search::{
    AsyncEmbedder, IndexSummary, SearchDocument, SearchIndex, SearchMode, SearchQuery,
};

const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 50;
/// What audit lines and metrics name as the search tool's target.
const OWNER: &str = "switchboard";

pub(super) struct SearchTool {
    /// The tool as listed, under its configured name.
    pub listed: Listed,
    index: SearchIndex,
    /// Per-target coverage, for the description each caller sees.
    summary: IndexSummary,
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
        let listed = Listed {
            route: Route {
                target: Arc::from(OWNER),
                upstream_name: "search".to_owned(),
            },
            exposed: search.tool_name.clone(),
            definition: definition(&search.tool_name, &summary),
        };
        Some(Self {
            listed,
            index,
            summary,
            mode: search.mode,
        })
    }

    /// Whether the index can rank semantically (tools carry vectors of the query model).
    pub fn has_vectors(&self) -> bool {
        self.index.has_vectors()
    }

    /// The tool as `view`'s caller sees it: described from the targets it may use only,
    /// so a tenant's targets stay invisible to other tenants here too.
    pub fn definition_for(&self, view: &CallerPolicy<'_, '_>) -> Cow<'_, Value> {
        if self
            .summary
            .targets
            .iter()
            .all(|t| view.may_use_target(&t.target))
        {
            return Cow::Borrowed(&self.listed.definition);
        }
        let visible = self.summary.restricted_to(|t| view.may_use_target(t));
        Cow::Owned(definition(&self.listed.exposed, &visible))
    }
}

/// The listed definition: its description and target enum say what `summary` covers.
fn definition(tool_name: &str, summary: &IndexSummary) -> Value {
    let targets: Vec<&str> = summary.targets.iter().map(|t| t.target.as_str()).collect();
    json!({
        "name": tool_name,
        "title": "Search tools",
        "description": summary.describe(),
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "The task, in plain words, e.g. \"add a product to the shopping cart\""},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT, "description": "How many tools to return"},
                "targets": {"type": "array", "items": {"type": "string", "enum": targets}, "description": "Only tools of these servers (empty: all)"},
                "mode": {"type": "string", "enum": ["hybrid", "lexical", "vector"], "description": "Ranking method (default: hybrid, lexical when no model is loaded)"}
            },
            "required": ["query"],
            "additionalProperties": false
        },
        "annotations": {"readOnlyHint": true, "openWorldHint": false},
    })
}

fn tool_error(text: String) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": true})
}

/// The arguments of one search, validated against the listed schema.
struct SearchArguments {
    query: String,
    limit: usize,
    targets: Option<Vec<String>>,
    mode: Option<SearchMode>,
}

/// Validates `arguments` like the schema says; the error tells the caller (an agent,
/// usually) exactly what to fix. Targets the caller may not use are unknown here.
fn parse_arguments(
    arguments: &Value,
    search: &SearchTool,
    view: &CallerPolicy<'_, '_>,
) -> Result<SearchArguments, String> {
    let Some(object) = arguments.as_object() else {
        return Err(format!(
            "arguments must be an object like {{\"query\": \"...\"}}, not {}",
            kind_of(arguments)
        ));
    };
    let mut unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !["query", "limit", "targets", "mode"].contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(format!(
            "unknown argument(s) {}: the arguments are query, limit, targets and mode",
            unknown.join(", ")
        ));
    }
    let query = match object.get("query") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.trim().to_owned(),
        Some(Value::String(_)) | None => {
            return Err("query must be a non-empty string describing the task".into());
        }
        Some(other) => {
            return Err(format!(
                "query must be a string describing the task, not {}",
                kind_of(other)
            ));
        }
    };
    let limit = match object.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(value) => match value.as_u64() {
            Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
            _ => {
                return Err(format!(
                    "limit must be an integer from 1 to {MAX_LIMIT}, not {value}"
                ));
            }
        },
    };
    let visible: Vec<&str> = search
        .summary
        .targets
        .iter()
        .map(|t| t.target.as_str())
        .filter(|t| view.may_use_target(t))
        .collect();
    let targets = match object.get("targets") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                let Some(name) = item.as_str() else {
                    return Err(format!(
                        "targets must be a list of server names, not a list holding {}",
                        kind_of(item)
                    ));
                };
                if !visible.contains(&name) {
                    return Err(format!(
                        "unknown target {name:?}: the servers are {}",
                        visible.join(", ")
                    ));
                }
                names.push(name.to_owned());
            }
            Some(names)
        }
        Some(other) => {
            return Err(format!(
                "targets must be a list of server names, not {}",
                kind_of(other)
            ));
        }
    };
    let mode = match object.get("mode") {
        None | Some(Value::Null) => None,
        Some(Value::String(mode)) if mode == "lexical" => Some(SearchMode::Lexical),
        Some(Value::String(mode)) if mode == "vector" => Some(SearchMode::Vector),
        Some(Value::String(mode)) if mode == "hybrid" => Some(SearchMode::Hybrid),
        Some(other) => {
            return Err(format!(
                "unknown mode {other}: use hybrid, lexical or vector"
            ));
        }
    };
    Ok(SearchArguments {
        query,
        limit,
        targets,
        mode,
    })
}

/// "a number", "a list"... for error messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
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
    let view = snapshot.policy.for_caller(&context.caller);
    let parsed = match parse_arguments(&arguments, search, &view) {
        Ok(parsed) => parsed,
        Err(message) => {
            let result = tool_error(message.clone());
            let call = CallRecord {
                tool: &search.listed,
                label: "tool_error",
                elapsed: started.elapsed(),
                arguments: Some(&arguments),
                reason: Some(message),
            };
            record_call(snapshot, context, &call, Some(&result));
            return Ok(result);
        }
    };
    let SearchArguments {
        query,
        limit,
        targets,
        mode,
    } = parsed;
    let mode = mode.unwrap_or(search.mode);
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
    let may_see = |name: &str| {
        snapshot
            .routes
            .tool(name)
            .is_some_and(|t| view.allows(&t.tool_ref()))
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
