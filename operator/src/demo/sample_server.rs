//! A minimal MCP server for the demo teams: streamable HTTP, JSON responses, no
//! session (handshake-era, protocol 2025-06-18). Small on purpose; it stands in for a
//! team's real server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use switchboard_gateway::jsonrpc::{self, Message, RpcError};

use super::teams::Team;

async fn handle(State(team): State<Arc<Team>>, body: Bytes) -> Response {
    let message = serde_json::from_slice::<Value>(&body)
        .map_err(|e| RpcError::new(jsonrpc::PARSE_ERROR, e.to_string()))
        .and_then(Message::parse);
    let (id, method, params) = match message {
        Ok(Message::Request { id, method, params }) => (id, method, params),
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(error) => {
            let body = jsonrpc::failure(&Value::Null, &error).to_string();
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
        }
    };
    let answer = match method.as_str() {
        "initialize" => Ok(json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}, "resources": {}, "prompts": {}},
            "serverInfo": {"name": team.server_name(), "title": team.title(), "version": "1.0.0"},
            "instructions": team.instructions(),
        })),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": team.tools()})),
        "tools/call" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let arguments = params
                .get("arguments")
                .cloned()
                .unwrap_or_else(|| json!({}));
            team.call(name, &arguments)
        }
        "resources/list" => Ok(json!({"resources": team.resources()})),
        "resources/templates/list" => Ok(json!({"resourceTemplates": team.resource_templates()})),
        "resources/read" => team.read(
            params
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        ),
        "prompts/list" => Ok(json!({"prompts": team.prompts()})),
        "prompts/get" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            team.prompt(name, params.get("arguments").unwrap_or(&json!({})))
        }
        other => Err(RpcError::method_not_found(other)),
    };
    let body = match answer {
        Ok(result) => jsonrpc::success(&id, result),
        Err(error) => jsonrpc::failure(&id, &error),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn router(team: Team) -> Router {
    Router::new()
        .route("/mcp", post(handle))
        .with_state(Arc::new(team))
}

/// Binds `listen` and serves the team in the background; returns the bound address.
pub async fn spawn(team: Team, listen: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(team)).await {
            tracing::error!(%error, "sample server stopped");
        }
    });
    Ok(address)
}
