//! The merged view of every target's catalog: which target owns each exposed name.
//!
//! Built once per catalog load and shared read-only. Precedence between targets that
//! claim the same name is by age (older target first, then name), so a newcomer can
//! never take a name away from a target that already serves it.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::authz::ToolRef;
use crate::catalog::{CatalogEntry, TargetCatalog};

/// `_meta` key under which listed items publish their origin (the name mapping).
pub const META_UPSTREAM: &str = "dev.switchboard/upstream";

/// Where a name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub target: Arc<str>,
    /// The upstream tool or prompt name, or a resource URI.
    pub upstream_name: String,
}

/// An item as the gateway lists it, with its route.
#[derive(Debug, Clone)]
pub struct Listed {
    pub route: Route,
    pub exposed: String,
    /// The upstream definition under its exposed name.
    pub definition: Value,
}

impl Listed {
    /// The tool as authorization sees it.
    pub fn tool_ref(&self) -> ToolRef<'_> {
        ToolRef {
            exposed: &self.exposed,
            target: &self.route.target,
            upstream_name: &self.route.upstream_name,
        }
    }
}

/// Two targets wanted the same exposed name; `dropped` does not serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub kind: &'static str,
    pub name: String,
    pub kept: String,
    pub dropped: String,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?} of target {} collides with target {}, which keeps it",
            self.kind, self.name, self.dropped, self.kept
        )
    }
}

#[derive(Debug, Default)]
struct Section {
    items: Vec<Listed>,
    index: HashMap<String, usize>,
    /// Names the gateway itself serves (name → who), claimed before any target.
    reserved: HashMap<String, String>,
}

impl Section {
    fn claim(&mut self, kind: &'static str, listed: Listed, collisions: &mut Vec<Collision>) {
        if let Some(owner) = self.reserved.get(&listed.exposed) {
            collisions.push(Collision {
                kind,
                name: listed.exposed,
                kept: owner.clone(),
                dropped: listed.route.target.to_string(),
            });
            return;
        }
        if let Some(&existing) = self.index.get(&listed.exposed) {
            collisions.push(Collision {
                kind,
                name: listed.exposed,
                kept: self.items[existing].route.target.to_string(),
                dropped: listed.route.target.to_string(),
            });
            return;
        }
        self.index.insert(listed.exposed.clone(), self.items.len());
        self.items.push(listed);
    }

    fn get(&self, name: &str) -> Option<&Listed> {
        self.index.get(name).map(|&i| &self.items[i])
    }
}

#[derive(Debug)]
struct Template {
    target: Arc<str>,
    pattern: UriTemplate,
}

/// Every exposed tool, prompt, resource and resource template with its owner.
#[derive(Debug, Default)]
pub struct RouteTable {
    tools: Section,
    prompts: Section,
    resources: Section,
    templates: Vec<Template>,
    template_definitions: Vec<Value>,
    collisions: Vec<Collision>,
}

fn with_origin(mut definition: Value, exposed: &str, target: &str, upstream: &str) -> Value {
    if let Some(object) = definition.as_object_mut() {
        object.insert("name".into(), exposed.into());
        let meta = object.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(
                META_UPSTREAM.into(),
                json!({"target": target, "name": upstream}),
            );
        }
    }
    definition
}

fn listed(target: &Arc<str>, entry: &CatalogEntry) -> Listed {
    Listed {
        route: Route {
            target: target.clone(),
            upstream_name: entry.upstream_name.clone(),
        },
        exposed: entry.name.clone(),
        definition: with_origin(
            entry.definition.clone(),
            &entry.name,
            target,
            &entry.upstream_name,
        ),
    }
}

impl RouteTable {
    /// `catalogs` must already be in precedence order (see [`precedence`]).
    pub fn build(catalogs: &[TargetCatalog]) -> Self {
        Self::build_reserving(catalogs, &[])
    }

    /// Like [`RouteTable::build`], with tool names the gateway serves itself (name, owner):
    /// a target tool of such a name is reported as a collision, never served.
    pub fn build_reserving(
        catalogs: &[TargetCatalog],
        reserved_tools: &[(String, String)],
    ) -> Self {
        let mut table = RouteTable::default();
        table.tools.reserved = reserved_tools.iter().cloned().collect();
        let mut collisions = Vec::new();
        for catalog in catalogs {
            let target: Arc<str> = Arc::from(catalog.target.as_str());
            for entry in &catalog.tools {
                table
                    .tools
                    .claim("tool", listed(&target, entry), &mut collisions);
            }
            for entry in &catalog.prompts {
                table
                    .prompts
                    .claim("prompt", listed(&target, entry), &mut collisions);
            }
            for resource in &catalog.resources {
                let Some(uri) = resource.get("uri").and_then(Value::as_str) else {
                    continue;
                };
                let item = Listed {
                    route: Route {
                        target: target.clone(),
                        upstream_name: uri.to_owned(),
                    },
                    exposed: uri.to_owned(),
                    definition: resource.clone(),
                };
                table.resources.claim("resource", item, &mut collisions);
            }
            for template in &catalog.resource_templates {
                let Some(uri) = template.get("uriTemplate").and_then(Value::as_str) else {
                    continue;
                };
                table.templates.push(Template {
                    target: target.clone(),
                    pattern: UriTemplate::parse(uri),
                });
                table.template_definitions.push(template.clone());
            }
        }
        table.collisions = collisions;
        table
    }

    pub fn tools(&self) -> &[Listed] {
        &self.tools.items
    }

    pub fn tool(&self, exposed: &str) -> Option<&Listed> {
        self.tools.get(exposed)
    }

    pub fn prompts(&self) -> &[Listed] {
        &self.prompts.items
    }

    pub fn prompt(&self, exposed: &str) -> Option<&Listed> {
        self.prompts.get(exposed)
    }

    pub fn resources(&self) -> &[Listed] {
        &self.resources.items
    }

    pub fn resource_templates(&self) -> &[Value] {
        &self.template_definitions
    }

    /// Resource templates with the target that owns each.
    pub fn resource_templates_by_target(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.templates
            .iter()
            .map(|t| &*t.target)
            .zip(&self.template_definitions)
    }

    /// The target that serves `uri`: a listed resource first, then the first template match.
    pub fn resource_owner(&self, uri: &str) -> Option<Arc<str>> {
        if let Some(listed) = self.resources.get(uri) {
            return Some(listed.route.target.clone());
        }
        self.templates
            .iter()
            .find(|t| t.pattern.matches(uri))
            .map(|t| t.target.clone())
    }

    /// The target whose resource template is exactly `template` (completion requests
    /// name the template, not a URI), or that serves `template` as a URI.
    pub fn resource_template_owner(&self, template: &str) -> Option<Arc<str>> {
        self.template_definitions
            .iter()
            .zip(&self.templates)
            .find(|(definition, _)| {
                definition.get("uriTemplate").and_then(Value::as_str) == Some(template)
            })
            .map(|(_, t)| t.target.clone())
            .or_else(|| self.resource_owner(template))
    }

    pub fn collisions(&self) -> &[Collision] {
        &self.collisions
    }
}

/// Orders catalogs for [`RouteTable::build`]: older targets first (RFC 3339 sorts as
/// text; unknown ages last), then by name.
pub fn precedence(catalogs: &mut [TargetCatalog], created_at: &HashMap<String, String>) {
    catalogs.sort_by(|a, b| {
        let age = |c: &TargetCatalog| {
            created_at
                .get(&c.target)
                .filter(|t| !t.is_empty())
                .cloned()
                .unwrap_or_else(|| "~".into())
        };
        age(a).cmp(&age(b)).then_with(|| a.target.cmp(&b.target))
    });
}

/// A matcher for RFC 6570 URI templates, enough to route `resources/read`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A variable; `reserved` ones (`{+x}`, `{#x}`) may contain `/`.
    Variable {
        reserved: bool,
    },
    /// `{?x,y}` / `{&x}`: an optional query tail.
    Query,
}

impl UriTemplate {
    pub fn parse(template: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                parts.push(Part::Literal(rest[open..].to_owned()));
                rest = "";
                break;
            };
            let expression = &rest[open + 1..open + close];
            match expression.chars().next() {
                Some('?') | Some('&') => parts.push(Part::Query),
                Some('+') | Some('#') => parts.push(Part::Variable { reserved: true }),
                Some('/') => {
                    parts.push(Part::Literal("/".into()));
                    parts.push(Part::Variable { reserved: false });
                }
                _ => parts.push(Part::Variable { reserved: false }),
            }
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Self { parts }
    }

    pub fn matches(&self, uri: &str) -> bool {
        matches_from(&self.parts, uri)
    }
}

fn matches_from(parts: &[Part], uri: &str) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(literal) => uri
            .strip_prefix(literal.as_str())
            .is_some_and(|tail| matches_from(rest, tail)),
        Part::Query => uri.is_empty() || uri.starts_with('?') || uri.starts_with('&'),
        Part::Variable { reserved } => {
            // Try every non-empty prefix as the variable's value, shortest first.
            let ends = uri
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain([uri.len()]);
            for end in ends {
                if !reserved && uri[..end].contains(['/', '?', '#']) {
                    return false;
                }
                if matches_from(rest, &uri[end..]) {
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::CATALOG_FORMAT_VERSION;

    /// A catalog of `target` with (exposed, upstream) tools and one resource template.
    pub(crate) fn catalog(target: &str, tools: &[(&str, &str)]) -> TargetCatalog {
        TargetCatalog {
            format_version: CATALOG_FORMAT_VERSION,
            target: target.into(),
            prefix: target.into(),
            server_info: json!({}),
            protocol_version: "2025-11-25".into(),
            instructions: None,
            capabilities: json!({}),
            tools: tools
                .iter()
                .map(|(exposed, upstream)| CatalogEntry {
                    name: (*exposed).into(),
                    upstream_name: (*upstream).into(),
                    definition: json!({"name": upstream, "inputSchema": {"type": "object"}}),
                    embedding: None,
                })
                .collect(),
            resources: vec![],
            resource_templates: vec![
                json!({"uriTemplate": format!("{target}://items/{{id}}"), "name": "item"}),
            ],
            prompts: vec![],
            warnings: vec![],
            content_hash: String::new(),
            synced_at: String::new(),
            shard: None,
        }
    }

    #[test]
    fn routes_exposed_names_to_their_target_and_publishes_the_mapping() {
        let table = RouteTable::build(&[
            catalog("cart", &[("cart___get_item", "get_item")]),
            catalog("catalog", &[("catalog___get_item", "get_item")]),
        ]);
        let listed = table.tool("catalog___get_item").unwrap();
        assert_eq!(&*listed.route.target, "catalog");
        assert_eq!(listed.route.upstream_name, "get_item");
        assert_eq!(listed.definition["name"], "catalog___get_item");
        assert_eq!(
            listed.definition["_meta"][META_UPSTREAM]["target"],
            "catalog"
        );
        assert!(table.collisions().is_empty());
    }

    #[test]
    fn older_target_keeps_a_contested_name() {
        let mut catalogs = vec![
            catalog("zeta", &[("shared", "shared")]),
            catalog("alpha", &[("shared", "shared")]),
        ];
        let ages = HashMap::from([
            ("zeta".to_owned(), "2026-01-01T00:00:00Z".to_owned()),
            ("alpha".to_owned(), "2026-06-01T00:00:00Z".to_owned()),
        ]);
        precedence(&mut catalogs, &ages);
        let table = RouteTable::build(&catalogs);
        assert_eq!(&*table.tool("shared").unwrap().route.target, "zeta");
        assert_eq!(
            table.collisions(),
            &[Collision {
                kind: "tool",
                name: "shared".into(),
                kept: "zeta".into(),
                dropped: "alpha".into()
            }]
        );
    }

    #[test]
    fn uri_templates_route_reads() {
        let table = RouteTable::build(&[catalog("cart", &[]), catalog("catalog", &[])]);
        assert_eq!(
            table.resource_owner("catalog://items/42").as_deref(),
            Some("catalog")
        );
        assert_eq!(
            table.resource_owner("cart://items/7").as_deref(),
            Some("cart")
        );
        assert_eq!(table.resource_owner("cart://items/7/extra"), None);
        assert_eq!(table.resource_owner("other://x"), None);
        assert!(UriTemplate::parse("file:///{+path}").matches("file:///a/b/c"));
        assert!(UriTemplate::parse("api://search{?q,limit}").matches("api://search?q=x"));
    }
}
