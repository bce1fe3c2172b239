//! Building a [`Policy`] from configuration and a catalog, and deciding with it.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use cel::common::types::CelMap;
use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::{Condition, caller_value, tool_value};
use super::config::{Action, AuthorizationConfig, AuthorizationRule, MAX_RULES, TargetTenancy};
use super::{Decision, PolicyError, ToolRef};
use crate::auth::Caller;

/// Compiled authorization rules and tenancy for one catalog. `Send + Sync`; build it once
/// per load and share it.
pub struct Policy {
    rules: Vec<Rule>,
    default_action: Action,
    /// Whether `defaultAction` was written or implied.
    default_explicit: bool,
    /// Targets limited to tenants (targets with an empty list are not here).
    restricted: HashMap<String, HashSet<String>>,
    /// For each catalog pair (target → upstream name), the rules that cover it, in order.
    candidates: HashMap<String, HashMap<String, Box<[u32]>>>,
    /// Whether some condition does not read `tool` (worth memoizing per caller).
    caller_only_conditions: bool,
    warnings: Vec<String>,
}

struct Rule {
    name: String,
    action: Action,
    tools: Option<ToolSelector>,
    targets: Option<HashSet<String>>,
    condition: Option<Condition>,
}

struct ToolSelector {
    patterns: Vec<String>,
    globs: GlobSet,
    /// The pairs the patterns resolved to (plus carried bindings), within the catalog.
    bound: BTreeSet<(String, String)>,
}

impl Rule {
    fn covers_target(&self, target: &str) -> bool {
        self.targets.as_ref().is_none_or(|t| t.contains(target))
    }

    /// Whether the rule's selectors cover a catalog pair.
    fn covers_pair(&self, pair: &(String, String)) -> bool {
        self.covers_target(&pair.0) && self.tools.as_ref().is_none_or(|t| t.bound.contains(pair))
    }

    /// Whether the rule's selectors cover a tool that was not in the catalog at build time:
    /// the patterns are matched against its exposed name, so such a tool is never covered
    /// by fewer rules than the patterns say.
    fn covers_unknown(&self, tool: &ToolRef<'_>) -> bool {
        self.covers_target(tool.target)
            && self
                .tools
                .as_ref()
                .is_none_or(|t| t.globs.is_match(tool.exposed))
    }
}

/// What the patterns of each rule were bound to, so a later build can keep those bindings
/// after a target's prefix changes (see [`Policy::build_carrying`]). Serializable so the
/// operator can keep it with the runtime configuration across gateway restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBindings {
    /// One entry per rule that has `tools`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleBinding>,
}

/// The tools one rule's patterns are bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleBinding {
    /// Rule name.
    pub rule: String,
    /// The rule's `tools` patterns when bound; a rule whose patterns changed starts afresh.
    pub tools: Vec<String>,
    /// The bound tools, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<BoundTool>,
}

/// A (target, upstream tool) pair.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct BoundTool {
    /// GatewayTarget name.
    pub target: String,
    /// Upstream tool name.
    pub upstream_name: String,
}

fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

fn compile_rule(rule: &AuthorizationRule) -> Result<Rule, PolicyError> {
    let tools = match &rule.tools {
        None => None,
        Some(patterns) if patterns.is_empty() => {
            return Err(PolicyError::EmptySelector {
                rule: rule.name.clone(),
                field: "tools",
            });
        }
        Some(patterns) => {
            let mut builder = GlobSetBuilder::new();
            for pattern in patterns {
                let invalid = |reason: String| PolicyError::InvalidPattern {
                    rule: rule.name.clone(),
                    pattern: pattern.clone(),
                    reason,
                };
                if pattern.is_empty() {
                    return Err(invalid("empty pattern".to_owned()));
                }
                builder.add(Glob::new(pattern).map_err(|e| invalid(e.kind().to_string()))?);
            }
            let globs = builder.build().map_err(|e| PolicyError::InvalidPattern {
                rule: rule.name.clone(),
                pattern: patterns.join(", "),
                reason: e.to_string(),
            })?;
            Some(ToolSelector {
                patterns: patterns.clone(),
                globs,
                bound: BTreeSet::new(),
            })
        }
    };
    let targets = match &rule.targets {
        None => None,
        Some(targets) if targets.is_empty() => {
            return Err(PolicyError::EmptySelector {
                rule: rule.name.clone(),
                field: "targets",
            });
        }
        Some(targets) => {
            if targets.iter().any(String::is_empty) {
                return Err(PolicyError::EmptyTarget {
                    rule: rule.name.clone(),
                });
            }
            Some(targets.iter().cloned().collect())
        }
    };
    let condition = rule
        .when
        .as_deref()
        .map(Condition::compile)
        .transpose()
        .map_err(|reason| PolicyError::InvalidCondition {
            rule: rule.name.clone(),
            reason,
        })?;
    Ok(Rule {
        name: rule.name.clone(),
        action: rule.action,
        tools,
        targets,
        condition,
    })
}

fn compile_tenancy(
    tenancy: &[TargetTenancy],
) -> Result<HashMap<String, HashSet<String>>, PolicyError> {
    let mut seen = HashSet::new();
    let mut restricted = HashMap::new();
    for entry in tenancy {
        if entry.target.is_empty() {
            return Err(PolicyError::InvalidTenancy {
                target: String::new(),
                reason: "the target name is empty".to_owned(),
            });
        }
        if !seen.insert(entry.target.as_str()) {
            return Err(PolicyError::DuplicateTenancy(entry.target.clone()));
        }
        if entry.tenants.iter().any(String::is_empty) {
            return Err(PolicyError::InvalidTenancy {
                target: entry.target.clone(),
                reason: "tenant names must not be empty".to_owned(),
            });
        }
        if !entry.tenants.is_empty() {
            restricted.insert(
                entry.target.clone(),
                entry.tenants.iter().cloned().collect(),
            );
        }
    }
    Ok(restricted)
}

impl Policy {
    /// Compiles `config` against the catalog: every rule is checked (a bad rule is an error
    /// naming it), conditions are compiled, and `tools` patterns are resolved to the
    /// (target, upstream tool) pairs of `catalog_tools` whose exposed names they match.
    pub fn build(
        config: &AuthorizationConfig,
        tenancy: &[TargetTenancy],
        catalog_tools: &[ToolRef<'_>],
    ) -> Result<Policy, PolicyError> {
        Self::build_carrying(config, tenancy, catalog_tools, &PolicyBindings::default())
    }

    /// [`Policy::build`], keeping what each rule was bound to before: a pair bound by a rule
    /// with the same name and the same `tools` patterns stays bound while it is in the
    /// catalog, even if its exposed name no longer matches (a renamed prefix). Pairs whose
    /// current names match are bound as usual, so new targets are covered too.
    pub fn build_carrying(
        config: &AuthorizationConfig,
        tenancy: &[TargetTenancy],
        catalog_tools: &[ToolRef<'_>],
        previous: &PolicyBindings,
    ) -> Result<Policy, PolicyError> {
        if config.rules.len() > MAX_RULES {
            return Err(PolicyError::TooManyRules(config.rules.len()));
        }
        let restricted = compile_tenancy(tenancy)?;
        let mut names = HashSet::new();
        let mut rules = Vec::with_capacity(config.rules.len());
        for (index, rule) in config.rules.iter().enumerate() {
            if !is_dns_label(&rule.name) {
                return Err(PolicyError::InvalidRuleName {
                    index: index + 1,
                    name: rule.name.clone(),
                });
            }
            if !names.insert(rule.name.as_str()) {
                return Err(PolicyError::DuplicateRule(rule.name.clone()));
            }
            rules.push(compile_rule(rule)?);
        }

        let pairs: BTreeSet<(String, String)> = catalog_tools
            .iter()
            .map(|t| (t.target.to_owned(), t.upstream_name.to_owned()))
            .collect();
        let carried: HashMap<&str, &RuleBinding> = previous
            .rules
            .iter()
            .map(|b| (b.rule.as_str(), b))
            .collect();
        for rule in &mut rules {
            let Some(selector) = &mut rule.tools else {
                continue;
            };
            for tool in catalog_tools {
                if selector.globs.is_match(tool.exposed) {
                    selector
                        .bound
                        .insert((tool.target.to_owned(), tool.upstream_name.to_owned()));
                }
            }
            if let Some(binding) = carried.get(rule.name.as_str())
                && binding.tools == selector.patterns
            {
                for bound in &binding.pairs {
                    let pair = (bound.target.clone(), bound.upstream_name.clone());
                    if pairs.contains(&pair) {
                        selector.bound.insert(pair);
                    }
                }
            }
        }

        let mut candidates: HashMap<String, HashMap<String, Box<[u32]>>> = HashMap::new();
        for pair in &pairs {
            let covering: Box<[u32]> = (0u32..)
                .zip(&rules)
                .filter(|(_, rule)| rule.covers_pair(pair))
                .map(|(i, _)| i)
                .collect();
            candidates
                .entry(pair.0.clone())
                .or_default()
                .insert(pair.1.clone(), covering);
        }

        let known_targets: HashSet<&str> = pairs
            .iter()
            .map(|(t, _)| t.as_str())
            .chain(tenancy.iter().map(|t| t.target.as_str()))
            .collect();
        let mut warnings = Vec::new();
        for rule in &rules {
            if let Some(selector) = &rule.tools
                && selector.bound.is_empty()
            {
                warnings.push(format!(
                    "authorization rule {:?}: tools {:?} match no tool in the catalog",
                    rule.name, selector.patterns
                ));
            }
            for target in rule.targets.iter().flatten() {
                if !known_targets.contains(target.as_str()) {
                    warnings.push(format!(
                        "authorization rule {:?}: target {target:?} is not a known target",
                        rule.name
                    ));
                }
            }
        }
        warnings.sort();

        let (default_action, default_explicit) = match config.default_action {
            Some(action) => (action, true),
            None if rules.iter().any(|r| r.action == Action::Allow) => (Action::Deny, false),
            None => (Action::Allow, false),
        };
        let caller_only_conditions = rules
            .iter()
            .any(|r| r.condition.as_ref().is_some_and(|c| !c.uses_tool()));
        Ok(Policy {
            rules,
            default_action,
            default_explicit,
            restricted,
            candidates,
            caller_only_conditions,
            warnings,
        })
    }

    /// [`Policy::build_carrying`] with this policy's bindings: for a gateway that reloads
    /// its catalog in place.
    pub fn rebuild(
        &self,
        config: &AuthorizationConfig,
        tenancy: &[TargetTenancy],
        catalog_tools: &[ToolRef<'_>],
    ) -> Result<Policy, PolicyError> {
        Self::build_carrying(config, tenancy, catalog_tools, &self.bindings())
    }

    /// No rules, no tenancy: everyone may use everything.
    pub fn allow_all() -> Policy {
        Policy {
            rules: Vec::new(),
            default_action: Action::Allow,
            default_explicit: false,
            restricted: HashMap::new(),
            candidates: HashMap::new(),
            caller_only_conditions: false,
            warnings: Vec::new(),
        }
    }

    /// What each rule's `tools` patterns are bound to, sorted, to carry into the next build.
    pub fn bindings(&self) -> PolicyBindings {
        PolicyBindings {
            rules: self
                .rules
                .iter()
                .filter_map(|rule| {
                    let selector = rule.tools.as_ref()?;
                    Some(RuleBinding {
                        rule: rule.name.clone(),
                        tools: selector.patterns.clone(),
                        pairs: selector
                            .bound
                            .iter()
                            .map(|(target, upstream)| BoundTool {
                                target: target.clone(),
                                upstream_name: upstream.clone(),
                            })
                            .collect(),
                    })
                })
                .collect(),
        }
    }

    /// Things worth a status condition that do not stop the policy: rules whose patterns
    /// match no tool and targets no catalog or tenancy entry knows.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The action applied when no rule matches (explicit or implied).
    pub fn default_action(&self) -> Action {
        self.default_action
    }

    /// Whether `caller` may see and call `tool`, with the rule and reason.
    pub fn decide(&self, caller: &Caller, tool: &ToolRef<'_>) -> Decision {
        self.for_caller(caller).decide(tool)
    }

    /// Whether `caller` may use `target` at all (tenancy only): for a target's resources and
    /// prompts, which rules do not cover.
    pub fn may_use_target(&self, caller: &Caller, target: &str) -> bool {
        match self.restricted.get(target) {
            None => true,
            Some(tenants) => caller
                .tenant
                .as_deref()
                .is_some_and(|t| tenants.contains(t)),
        }
    }

    /// Decisions for one caller over many tools (a list or search): the caller's CEL value
    /// and the conditions that do not read `tool` are evaluated at most once.
    pub fn for_caller<'p, 'c>(&'p self, caller: &'c Caller) -> CallerPolicy<'p, 'c> {
        let memo = if self.caller_only_conditions {
            (0..self.rules.len()).map(|_| OnceCell::new()).collect()
        } else {
            Vec::new()
        };
        CallerPolicy {
            policy: self,
            caller,
            value: OnceCell::new(),
            memo,
        }
    }

    /// The rules covering `tool`, in order.
    fn covering<'a>(&'a self, tool: &ToolRef<'_>) -> std::borrow::Cow<'a, [u32]> {
        if let Some(known) = self
            .candidates
            .get(tool.target)
            .and_then(|t| t.get(tool.upstream_name))
        {
            return std::borrow::Cow::Borrowed(known);
        }
        std::borrow::Cow::Owned(
            (0u32..)
                .zip(&self.rules)
                .filter(|(_, rule)| rule.covers_unknown(tool))
                .map(|(i, _)| i)
                .collect(),
        )
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field(
                "rules",
                &self.rules.iter().map(|r| &r.name).collect::<Vec<_>>(),
            )
            .field("default_action", &self.default_action)
            .field("restricted_targets", &self.restricted.len())
            .field("catalog_targets", &self.candidates.len())
            .finish()
    }
}

/// How a decision was reached, before it is worded.
enum Verdict {
    Tenancy,
    Rule(usize),
    Failed(usize, String),
    Default,
}

/// A [`Policy`] applied to one caller; create one per request with [`Policy::for_caller`].
pub struct CallerPolicy<'p, 'c> {
    policy: &'p Policy,
    caller: &'c Caller,
    value: OnceCell<CelMap<'c>>,
    /// Results of conditions that do not read `tool`, by rule index.
    memo: Vec<OnceCell<Result<bool, String>>>,
}

impl CallerPolicy<'_, '_> {
    /// Whether the caller may see and call `tool`, with the rule and reason.
    pub fn decide(&self, tool: &ToolRef<'_>) -> Decision {
        let policy = self.policy;
        match self.verdict(tool) {
            Verdict::Tenancy => Decision {
                allowed: false,
                rule: None,
                reason: match &self.caller.tenant {
                    None => format!(
                        "target {:?} is limited to named tenants and the caller has no tenant",
                        tool.target
                    ),
                    Some(tenant) => format!(
                        "target {:?} is not available to tenant {tenant:?}",
                        tool.target
                    ),
                },
                hidden: true,
            },
            Verdict::Rule(i) => {
                let rule = &policy.rules[i];
                let allowed = rule.action == Action::Allow;
                Decision {
                    allowed,
                    rule: Some(rule.name.clone()),
                    reason: format!(
                        "{} by authorization rule {:?}",
                        if allowed { "allowed" } else { "denied" },
                        rule.name
                    ),
                    hidden: false,
                }
            }
            Verdict::Failed(i, error) => {
                let rule = &policy.rules[i];
                Decision {
                    allowed: false,
                    rule: Some(rule.name.clone()),
                    reason: format!(
                        "denied: the condition of authorization rule {:?} could not be evaluated: {error}",
                        rule.name
                    ),
                    hidden: false,
                }
            }
            Verdict::Default => {
                let allowed = policy.default_action == Action::Allow;
                let how = match (policy.default_explicit, policy.rules.is_empty()) {
                    (true, _) => "defaultAction",
                    (false, true) => "there are no authorization rules",
                    (false, false) if allowed => "implied defaultAction (no Allow rules)",
                    (false, false) => "implied defaultAction (Allow rules are an allow-list)",
                };
                Decision {
                    allowed,
                    rule: None,
                    reason: format!(
                        "{}: no authorization rule matched; {how}",
                        if allowed { "allowed" } else { "denied" }
                    ),
                    hidden: false,
                }
            }
        }
    }

    /// [`CallerPolicy::decide`] without the wording: for filtering lists.
    pub fn allows(&self, tool: &ToolRef<'_>) -> bool {
        match self.verdict(tool) {
            Verdict::Tenancy | Verdict::Failed(..) => false,
            Verdict::Rule(i) => self.policy.rules[i].action == Action::Allow,
            Verdict::Default => self.policy.default_action == Action::Allow,
        }
    }

    /// Whether the caller may use `target` at all (tenancy only).
    pub fn may_use_target(&self, target: &str) -> bool {
        self.policy.may_use_target(self.caller, target)
    }

    fn verdict(&self, tool: &ToolRef<'_>) -> Verdict {
        let policy = self.policy;
        if !policy.may_use_target(self.caller, tool.target) {
            return Verdict::Tenancy;
        }
        // Built on first use, then shared by every condition evaluated for this tool.
        let tool_map = OnceCell::new();
        for &i in policy.covering(tool).iter() {
            let i = i as usize;
            let rule = &policy.rules[i];
            let Some(condition) = &rule.condition else {
                return Verdict::Rule(i);
            };
            let caller = self.value.get_or_init(|| caller_value(self.caller));
            let outcome = if condition.uses_tool() {
                condition.eval(caller, Some(tool_map.get_or_init(|| tool_value(tool))))
            } else if let Some(memo) = self.memo.get(i) {
                memo.get_or_init(|| condition.eval(caller, None)).clone()
            } else {
                condition.eval(caller, None)
            };
            match outcome {
                Ok(true) => return Verdict::Rule(i),
                Ok(false) => {}
                Err(error) => return Verdict::Failed(i, error),
            }
        }
        Verdict::Default
    }
}
