//! JSON-RPC 2.0 messages as the gateway sees them: raw JSON in, raw JSON out.
//!
//! The gateway is a proxy, so params and results stay `serde_json::Value`: anything a
//! newer protocol revision adds passes through untouched.

use serde_json::{Map, Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// 2026-07-28: an `Mcp-*` routing header disagrees with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: the request names a protocol version the server does not speak.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// The request was cancelled or its upstream did not answer in time.
pub const REQUEST_TIMEOUT: i64 = -32001;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
    }

    pub fn to_value(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(data), Some(object)) = (&self.data, error.as_object_mut()) {
            object.insert("data".into(), data.clone());
        }
        error
    }

    /// Reads an `error` member of a response.
    pub fn from_value(value: &Value) -> Self {
        Self {
            code: value
                .get("code")
                .and_then(Value::as_i64)
                .unwrap_or(INTERNAL_ERROR),
            message: value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("upstream error without a message")
                .to_owned(),
            data: value.get("data").cloned(),
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (JSON-RPC error {})", self.message, self.code)
    }
}

/// One message received from a peer.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A response (result or error) to a request we sent.
    Response {
        id: Value,
        outcome: Result<Value, RpcError>,
    },
}

impl Message {
    /// Classifies a decoded JSON value; errors are what a server answers with `id: null`.
    pub fn parse(value: Value) -> Result<Self, RpcError> {
        let Value::Object(mut object) = value else {
            return Err(RpcError::new(
                INVALID_REQUEST,
                "a JSON-RPC message must be an object",
            ));
        };
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(RpcError::new(INVALID_REQUEST, "jsonrpc must be \"2.0\""));
        }
        let id = object.remove("id");
        // `null` is allowed only on responses: servers use it when no id could be read.
        let is_response = !object.contains_key("method");
        if let Some(id) = &id
            && !(id.is_string() || id.is_i64() || id.is_u64() || (is_response && id.is_null()))
        {
            return Err(RpcError::new(
                INVALID_REQUEST,
                "id must be a string or an integer",
            ));
        }
        match object.remove("method") {
            Some(Value::String(method)) => {
                let params = object.remove("params").unwrap_or(Value::Null);
                if !(params.is_null() || params.is_object() || params.is_array()) {
                    return Err(RpcError::new(INVALID_REQUEST, "params must be an object"));
                }
                Ok(match id {
                    Some(id) => Message::Request { id, method, params },
                    None => Message::Notification { method, params },
                })
            }
            Some(_) => Err(RpcError::new(INVALID_REQUEST, "method must be a string")),
            None => {
                let id = id.unwrap_or(Value::Null);
                if let Some(result) = object.remove("result") {
                    Ok(Message::Response {
                        id,
                        outcome: Ok(result),
                    })
                } else if let Some(error) = object.get("error") {
                    Ok(Message::Response {
                        id,
                        outcome: Err(RpcError::from_value(error)),
                    })
                } else {
                    Err(RpcError::new(
                        INVALID_REQUEST,
                        "message has neither method nor result",
                    ))
                }
            }
        }
    }
}

pub fn request(id: &Value, method: &str, params: Value) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".into(), "2.0".into());
    message.insert("id".into(), id.clone());
    message.insert("method".into(), method.into());
    if !params.is_null() {
        message.insert("params".into(), params);
    }
    Value::Object(message)
}

pub fn notification(method: &str, params: Value) -> Value {
    let mut message = Map::new();
    message.insert("jsonrpc".into(), "2.0".into());
    message.insert("method".into(), method.into());
    if !params.is_null() {
        message.insert("params".into(), params);
    }
    Value::Object(message)
}

pub fn success(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn failure(id: &Value, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": error.to_value()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_requests_notifications_and_responses() {
        let request = Message::parse(json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        assert!(matches!(request, Ok(Message::Request { ref method, .. }) if method == "ping"));
        let note = Message::parse(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        assert!(matches!(note, Ok(Message::Notification { .. })));
        let response = Message::parse(
            json!({"jsonrpc":"2.0","id":"a","error":{"code":-32601,"message":"nope"}}),
        );
        assert!(
            matches!(response, Ok(Message::Response { outcome: Err(ref e), .. }) if e.code == METHOD_NOT_FOUND)
        );
    }

    #[test]
    fn rejects_malformed_envelopes() {
        for bad in [
            json!([]),
            json!({"id":1,"method":"x"}),
            json!({"jsonrpc":"1.0","id":1,"method":"x"}),
            json!({"jsonrpc":"2.0","id":{"a":1},"method":"x"}),
            json!({"jsonrpc":"2.0","id":null,"method":"x"}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
            json!({"jsonrpc":"2.0","id":1,"method":"x","params":"s"}),
        ] {
            let error = Message::parse(bad.clone()).err();
            assert_eq!(error.map(|e| e.code), Some(INVALID_REQUEST), "{bad}");
        }
    }
}
