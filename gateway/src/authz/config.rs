//! `Gateway.spec.authorization` (rules) and `GatewayTarget.spec.tenants` (tenancy).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::TargetSettings;

/// Most rules a Gateway may carry; also bounds the CRD's CEL cost estimate.
pub const MAX_RULES: usize = 128;
/// Longest `when` condition, in bytes.
pub const MAX_CONDITION_LEN: usize = 4096;

/// Which tools each caller may see and call.
///
/// Rules are evaluated in order and the first one that matches decides. A rule matches a
/// tool when every selector it has (`tools`, `targets`, `when`) matches; a rule with none
/// matches every tool. Tenancy (`GatewayTarget.spec.tenants`) is checked before any rule
/// and cannot be overridden by one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationConfig {
    /// What happens when no rule matches: `Allow` or `Deny`. When omitted: `Deny` if any
    /// rule has `action: Allow` (the Allow rules are then an allow-list), otherwise `Allow`
    /// (no rules, or Deny rules only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<Action>,
    /// Rules, evaluated in order; the first that matches decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// A list-map keyed by `name`: the API server rejects duplicate names itself (a CEL
    /// uniqueness rule would be quadratic and exceed the CRD cost budget).
    #[schemars(length(max = 128))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub rules: Vec<AuthorizationRule>,
}

/// What a matching rule (or the default) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Action {
    /// The caller may see and call the tool.
    Allow,
    /// The tool is hidden from the caller's lists and its calls are refused.
    Deny,
}

/// One rule. Every selector is optional; those present must all match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationRule {
    /// Unique name, reported in audit lines and denial messages (a DNS label).
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// `Allow` or `Deny`.
    pub action: Action,
    /// Globs (`*`, `?`, `[abc]`, `{a,b}`) over exposed tool names, e.g. `billing___*`.
    /// Resolved to (target, upstream tool) pairs when the catalog is loaded: see
    /// docs/authorization.md for how renamed prefixes and new targets are handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256), inner(length(min = 1, max = 256)))]
    pub tools: Option<Vec<String>>,
    /// GatewayTarget names (exact) whose tools the rule covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256), inner(length(min = 1, max = 253)))]
    pub targets: Option<Vec<String>>,
    /// A CEL condition over `caller` and `tool`, e.g.
    /// `caller.tenant == "finance" && "billing:write" in caller.scopes`. It must evaluate to
    /// a bool; an evaluation error denies the call (fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub when: Option<String>,
}

/// The tenants a target is limited to, from `GatewayTarget.spec.tenants`.
///
/// An empty `tenants` list means the target is shared by every caller, exactly as if it
/// had no entry at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetTenancy {
    /// GatewayTarget name.
    pub target: String,
    /// Tenants whose callers may see and call the target's tools, resources and prompts.
    pub tenants: Vec<String>,
}

impl TargetTenancy {
    /// The tenancy of every target limited to tenants (the others are shared).
    pub fn of<'a>(targets: impl IntoIterator<Item = &'a TargetSettings>) -> Vec<Self> {
        targets
            .into_iter()
            .filter(|t| !t.tenants.is_empty())
            .map(|t| Self {
                target: t.name.clone(),
                tenants: t.tenants.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let yaml = r#"
defaultAction: Allow
rules:
  - name: finance-only
    action: Deny
    tools: ["billing___*"]
    targets: ["billing"]
    when: 'caller.tenant != "finance" && !("billing:write" in caller.scopes)'
  - name: catch-all
    action: Allow
"#;
        let cfg: AuthorizationConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(cfg.default_action, Some(Action::Allow));
        assert_eq!(cfg.rules.len(), 2);
        let rule = &cfg.rules[0];
        assert_eq!(rule.action, Action::Deny);
        assert_eq!(rule.tools.as_deref(), Some(&["billing___*".to_owned()][..]));
        assert_eq!(rule.targets.as_deref(), Some(&["billing".to_owned()][..]));
        assert!(rule.when.as_deref().unwrap().contains("billing:write"));
        assert_eq!(cfg.rules[1].tools, None);
        let empty: AuthorizationConfig = serde_yaml::from_str("{}").unwrap();
        assert_eq!(empty, AuthorizationConfig::default());
        // Round trip keeps the camelCase names and drops what is unset.
        let text = serde_json::to_string(&cfg).unwrap();
        assert!(text.contains("\"defaultAction\":\"Allow\""), "{text}");
        assert!(!text.contains("null"), "{text}");
    }

    #[test]
    fn rejects_unknown_actions() {
        let bad = "rules: [{name: a, action: allow}]";
        assert!(serde_yaml::from_str::<AuthorizationConfig>(bad).is_err());
        let missing = "rules: [{name: a}]";
        assert!(serde_yaml::from_str::<AuthorizationConfig>(missing).is_err());
    }

    #[test]
    fn schema_carries_validations() {
        let schema = schemars::schema_for!(AuthorizationConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(
            text.contains("\"x-kubernetes-list-map-keys\":[\"name\"]"),
            "{text}"
        );
        assert!(text.contains("\"maxItems\":128"), "{text}");
        assert!(text.contains("\"maxLength\":4096"), "{text}");
        assert!(text.contains("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), "{text}");
        assert_eq!(MAX_RULES, 128);
        assert_eq!(MAX_CONDITION_LEN, 4096);
    }
}
