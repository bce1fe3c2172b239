//! RFC 9728 OAuth 2.0 Protected Resource Metadata, which MCP clients fetch (from the URL in
//! a 401's `WWW-Authenticate`) to find the authorization server.

use serde_json::{Value, json};

/// Path of the metadata document for a resource at the host root.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The metadata document for `resource_url` (e.g. `https://gw.example/mcp`), naming
/// `issuer` as its authorization server and the scopes clients should request.
pub fn protected_resource_metadata(resource_url: &str, issuer: &str, scopes: &[String]) -> Value {
    let mut doc = json!({
        "resource": resource_url,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
    });
    if !scopes.is_empty()
        && let Some(map) = doc.as_object_mut()
    {
        map.insert("scopes_supported".to_owned(), json!(scopes));
    }
    doc
}

/// Where the metadata for `resource_url` is served (RFC 9728 §3.1): the well-known path is
/// inserted between the host and the resource's path, so `https://gw/mcp` maps to
/// `https://gw/.well-known/oauth-protected-resource/mcp`. Serve both that path and the bare
/// well-known path; clients try the suffixed form first.
pub fn metadata_url(resource_url: &str) -> Option<String> {
    let mut url = url::Url::parse(resource_url).ok()?;
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{WELL_KNOWN_PATH}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn suffixed_metadata_url() {
        assert_eq!(
            metadata_url("https://gw.example:8443/mcp").unwrap(),
            "https://gw.example:8443/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn document_shape() {
        let doc =
            protected_resource_metadata("https://gw/mcp", "https://idp", &["mcp:tools".to_owned()]);
        assert_eq!(doc["resource"], "https://gw/mcp");
        assert_eq!(doc["authorization_servers"][0], "https://idp");
        assert_eq!(doc["scopes_supported"][0], "mcp:tools");
    }
}
