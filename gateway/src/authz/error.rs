//! Why a policy could not be built, worded for Gateway status, Events and logs.

/// A rule or tenancy entry the gateway cannot enforce. The whole policy is rejected: the
/// gateway keeps serving with the last good one rather than with a partial policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A rule name is not a DNS label (lowercase letters, digits, `-`; at most 63).
    #[error(
        "authorization rule #{index} has an invalid name {name:?}: use lowercase letters, digits and '-', at most 63 characters"
    )]
    InvalidRuleName {
        /// Position in `rules`, from 1.
        index: usize,
        /// The name as written.
        name: String,
    },
    /// Two rules share a name.
    #[error("authorization rule {0:?} is defined more than once; rule names must be unique")]
    DuplicateRule(String),
    /// `tools: []` or `targets: []`: ambiguous between "nothing" and "everything".
    #[error(
        "authorization rule {rule:?}: `{field}` must not be empty (omit it to cover every tool)"
    )]
    EmptySelector {
        /// Rule name.
        rule: String,
        /// `tools` or `targets`.
        field: &'static str,
    },
    /// A `tools` glob does not parse.
    #[error("authorization rule {rule:?}: invalid tool pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// Rule name.
        rule: String,
        /// The glob as written.
        pattern: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A `targets` entry is empty.
    #[error("authorization rule {rule:?}: target names must not be empty")]
    EmptyTarget {
        /// Rule name.
        rule: String,
    },
    /// The `when` condition does not parse, reads something that does not exist, or does not
    /// produce a bool.
    #[error("authorization rule {rule:?}: invalid `when` condition: {reason}")]
    InvalidCondition {
        /// Rule name.
        rule: String,
        /// The CEL parser's message or what the load-time check found.
        reason: String,
    },
    /// More rules than [`super::config::MAX_RULES`].
    #[error("authorization has {0} rules; at most {max} are allowed", max = super::config::MAX_RULES)]
    TooManyRules(usize),
    /// The same target appears twice in the tenancy list.
    #[error("tenancy of target {0:?} is given more than once")]
    DuplicateTenancy(String),
    /// A tenancy entry with an empty target or tenant name.
    #[error("tenancy of target {target:?}: {reason}")]
    InvalidTenancy {
        /// Target name.
        target: String,
        /// What is wrong.
        reason: String,
    },
}

impl PolicyError {
    /// A CamelCase reason for conditions, Events and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::DuplicateTenancy(_) | Self::InvalidTenancy { .. } => "InvalidTenancy",
            Self::InvalidCondition { .. } => "InvalidAuthorizationCondition",
            _ => "InvalidAuthorizationRule",
        }
    }
}
