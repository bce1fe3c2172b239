//! MCP protocol revisions, envelope keys and HTTP headers shared by both sides.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The stateless revision: no handshake, every request carries its own envelope.
pub const MODERN_VERSION: &str = "2026-07-28";
/// Revisions reached through the `initialize` handshake, oldest first.
pub const HANDSHAKE_VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
pub const LATEST_HANDSHAKE_VERSION: &str = "2025-11-25";
/// What a handshake-era request without `MCP-Protocol-Version` is assumed to speak.
pub const DEFAULT_HANDSHAKE_VERSION: &str = "2025-03-26";

pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// 2026-07-28: the log level a request wants; without it a server sends no log messages.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

pub const HEADER_SESSION_ID: &str = "mcp-session-id";
pub const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub const HEADER_METHOD: &str = "mcp-method";
pub const HEADER_NAME: &str = "mcp-name";
pub const HEADER_PARAM_PREFIX: &str = "mcp-param-";

/// The protocol era a peer speaks; decided per client request and per upstream target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    /// 2024-11-05 .. 2025-11-25: `initialize` handshake and `Mcp-Session-Id`.
    Handshake,
    /// 2026-07-28 and later: stateless per-request envelope.
    Modern,
}

pub fn is_handshake_version(version: &str) -> bool {
    HANDSHAKE_VERSIONS.contains(&version)
}

/// The body parameter that 2026-07-28 mirrors into the `Mcp-Name` header.
pub fn name_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

fn looks_like_sentinel(value: &str) -> bool {
    value.starts_with("=?base64?") && value.ends_with("?=")
}

/// Encodes a value for an `Mcp-Name`/`Mcp-Param-*` header: printable ASCII passes,
/// anything else is wrapped as `=?base64?...?=` so the exact bytes survive.
pub fn encode_header_value(value: &str) -> String {
    let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if printable && value.trim() == value && !looks_like_sentinel(value) {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value.as_bytes()))
    }
}

/// Inverse of [`encode_header_value`]; `None` for a malformed sentinel.
pub fn decode_header_value(value: &str) -> Option<String> {
    if !looks_like_sentinel(value) || value.len() < "=?base64??=".len() {
        return Some(value.to_owned());
    }
    let payload = &value["=?base64?".len()..value.len() - 2];
    let bytes = STANDARD.decode(payload).ok()?;
    if STANDARD.encode(&bytes) != payload {
        return None;
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_round_trip() {
        for value in [
            "get_item",
            "café",
            " padded ",
            "=?base64?abc?=",
            "line\nbreak",
            "",
        ] {
            let encoded = encode_header_value(value);
            assert!(
                encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)),
                "{encoded}"
            );
            assert_eq!(decode_header_value(&encoded).as_deref(), Some(value));
        }
        assert_eq!(encode_header_value("cart___get_item"), "cart___get_item");
        assert_eq!(decode_header_value("=?base64?%%%?="), None);
    }
}
