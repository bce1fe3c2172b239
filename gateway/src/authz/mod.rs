//! Authorization and tenants: which tools a [`Caller`](crate::auth::Caller) may see and call.
//!
//! A [`Policy`] is built once per catalog load from the Gateway's
//! [`AuthorizationConfig`], every target's [`TargetTenancy`] and the catalog's tools, and is
//! then shared read-only by every request. Building compiles the CEL conditions and
//! resolves the rules' tool patterns to (target, upstream tool) pairs; a request only looks
//! the pair up and evaluates the conditions of the rules that cover it.
//!
//! Order of checks for one tool:
//! 1. Tenancy: a target limited to tenants is invisible to every other caller (callers
//!    without a tenant included). No rule can override it.
//! 2. Rules, in order; the first whose selectors all match decides.
//! 3. The default action.
//!
//! Listing (tools/list, search) should use [`Policy::for_caller`] once per request: the
//! caller's CEL value and its tool-independent conditions are then computed once, not once
//! per tool. See docs/authorization.md for the semantics in full.

mod condition;
pub mod config;
mod error;
mod policy;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;

pub use config::{Action, AuthorizationConfig, AuthorizationRule, TargetTenancy};
pub use error::PolicyError;
pub use policy::{BoundTool, CallerPolicy, Policy, PolicyBindings, RuleBinding};

/// A tool as the gateway serves it: the exposed name and the (target, upstream tool) pair
/// behind it. Rules bind to the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ToolRef<'a> {
    /// The exposed name (`prefix + separator + upstream name`, possibly shortened).
    pub exposed: &'a str,
    /// The GatewayTarget that owns the tool.
    pub target: &'a str,
    /// The tool's name on the upstream server.
    pub upstream_name: &'a str,
}

/// The outcome of [`Policy::decide`]: whether the call may go ahead, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the caller may see and call the tool.
    pub allowed: bool,
    /// The rule that decided, if one did (not for tenancy or the default action).
    pub rule: Option<String>,
    /// Why, for the audit line and the error returned to the caller.
    pub reason: String,
    /// The tool belongs to a target the caller's tenant may not use: answer exactly as for
    /// an unknown tool, so a guessed name reveals nothing, and keep `reason` for the audit
    /// line only.
    pub hidden: bool,
}
