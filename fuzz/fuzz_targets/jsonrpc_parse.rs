//! JSON-RPC parsing: any bytes the gateway may receive (from a client or an upstream)
//! are either refused with a JSON-RPC error code or classified, and what is classified
//! survives a round trip through the gateway's own message builders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use switchboard_gateway::jsonrpc::{self, INVALID_REQUEST, Message};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // Batches are parsed member by member, as the streamable transport does.
    let members = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    for member in members {
        match Message::parse(member) {
            Err(error) => assert_eq!(error.code, INVALID_REQUEST, "{error}"),
            Ok(Message::Request { id, method, params }) => {
                assert!(id.is_string() || id.is_i64() || id.is_u64(), "{id}");
                assert!(params.is_null() || params.is_object() || params.is_array());
                let again = Message::parse(jsonrpc::request(&id, &method, params.clone()));
                assert_eq!(again, Ok(Message::Request { id, method, params }));
            }
            Ok(Message::Notification { method, params }) => {
                let again = Message::parse(jsonrpc::notification(&method, params.clone()));
                assert_eq!(again, Ok(Message::Notification { method, params }));
            }
            Ok(Message::Response { id, outcome }) => {
                let rebuilt = match &outcome {
                    Ok(result) => jsonrpc::success(&id, result.clone()),
                    Err(error) => jsonrpc::failure(&id, error),
                };
                let again = Message::parse(rebuilt);
                assert!(matches!(again, Ok(Message::Response { .. })), "{again:?}");
            }
        }
    }
});
