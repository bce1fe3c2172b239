//! What a tool "says" about itself: the text that is embedded and its stable hash.

use serde_json::Value;

/// Bumped whenever [`embedding_text`] changes shape, so every cached embedding is
/// recomputed once instead of silently mixing two text formats.
const TEXT_FORMAT_VERSION: &str = "switchboard-search-text-v1";

/// Nesting and size bounds for walking untrusted input schemas.
const MAX_DEPTH: usize = 8;
const MAX_PARAMS: usize = 200;

/// One parameter found in an input schema, at any depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamText {
    /// Property name (the leaf name, not the full path).
    pub name: String,
    /// Its `description` (or `title` when there is no description), possibly empty.
    pub description: String,
}

/// Collects parameter names and descriptions from a JSON Schema, walking nested
/// `properties`, array `items` and `anyOf`/`oneOf`/`allOf` branches in document order.
///
/// Depth and count are bounded because schemas come from upstream servers.
pub fn schema_params(input_schema: &Value) -> Vec<ParamText> {
    let mut out = Vec::new();
    walk(input_schema, 0, &mut out);
    out
}

fn walk(schema: &Value, depth: usize, out: &mut Vec<ParamText>) {
    if depth > MAX_DEPTH || out.len() >= MAX_PARAMS {
        return;
    }
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            if out.len() >= MAX_PARAMS {
                return;
            }
            let description = prop
                .get("description")
                .or_else(|| prop.get("title"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.push(ParamText {
                name: name.clone(),
                description: description.trim().to_string(),
            });
            walk(prop, depth + 1, out);
        }
    }
    if let Some(items) = obj.get("items") {
        walk(items, depth + 1, out);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            for branch in branches {
                walk(branch, depth + 1, out);
            }
        }
    }
}

/// Turns an identifier such as `cart___get_item` or `getItem` into `cart get item`.
///
/// Sentence-embedding tokenizers split raw identifiers into meaningless word pieces;
/// spaced lowercase words embed far better.
pub fn humanize(identifier: &str) -> String {
    super::tokenize::words(identifier)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text embedded for a tool: its humanized name, its description, then each parameter
/// as `name: description`, nested properties included.
///
/// Pass the exposed name (with the target prefix) so that look-alike tools on different
/// targets (`cart___get_item`, `catalog___get_item`) embed differently.
pub fn embedding_text(name: &str, description: &str, input_schema: &Value) -> String {
    let mut text = humanize(name);
    let description = description.trim();
    if !description.is_empty() {
        text.push_str(". ");
        text.push_str(description);
    }
    let params = schema_params(input_schema);
    if !params.is_empty() {
        text.push_str("\nParameters: ");
        let rendered: Vec<String> = params
            .iter()
            .map(|p| {
                let name = humanize(&p.name);
                if p.description.is_empty() {
                    name
                } else {
                    format!("{name}: {}", p.description)
                }
            })
            .collect();
        text.push_str(&rendered.join("; "));
    }
    text
}

/// Stable hex SHA-256 of everything [`embedding_text`] depends on (and of its format
/// version), so a sync recomputes embeddings only for tools whose definition changed.
pub fn definition_hash(name: &str, description: &str, input_schema: &Value) -> String {
    let text = embedding_text(name, description, input_schema);
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(TEXT_FORMAT_VERSION.as_bytes());
    ctx.update(b"\n");
    ctx.update(text.as_bytes());
    hex(ctx.finish().as_ref())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "orderId": {"type": "string", "description": "Order to refund"},
                "lines": {"type": "array", "items": {"type": "object", "properties": {
                    "sku": {"type": "string", "description": "Product SKU"},
                    "qty": {"type": "integer"}
                }}},
                "reason": {"anyOf": [{"type": "object", "properties": {
                    "code": {"type": "string", "title": "Reason code"}
                }}]}
            }
        })
    }

    #[test]
    fn walks_nested_properties() {
        let names: Vec<String> = schema_params(&schema())
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(
            names,
            vec!["orderId", "lines", "sku", "qty", "reason", "code"]
        );
    }

    #[test]
    fn renders_name_description_and_params() {
        let text = embedding_text("orders___refund_order", "Refund an order.", &schema());
        assert!(text.starts_with("orders refund order. Refund an order.\nParameters: "));
        assert!(text.contains("order id: Order to refund"));
        assert!(text.contains("sku: Product SKU"));
        assert!(text.contains("code: Reason code"));
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = definition_hash("t", "d", &schema());
        assert_eq!(a, definition_hash("t", "d", &schema()));
        assert_eq!(a.len(), 64);
        assert_ne!(a, definition_hash("t", "d2", &schema()));
        assert_ne!(a, definition_hash("t", "d", &json!({})));
    }

    #[test]
    fn bounded_on_deep_schemas() {
        let mut s = json!({"type": "string"});
        for i in 0..100 {
            s = json!({"properties": {format!("p{i}"): s}});
        }
        assert!(schema_params(&s).len() <= MAX_DEPTH + 1);
    }
}
