//! Exposed names: `prefix + separator + upstream name`, deterministic and within budget.
//!
//! The exposed name is a pure function of (prefix, separator, upstream name, budget), so it
//! never changes when other targets come and go. Names that contain characters agents'
//! function-calling APIs reject, or that exceed the budget, are rewritten and suffixed with
//! a short hash of the original name, which keeps two different originals apart.

use aws_lc_rs::digest;
use globset::{Glob, GlobSet, GlobSetBuilder};

pub const DEFAULT_SEPARATOR: &str = "___";
pub const DEFAULT_MAX_LENGTH: usize = 64;
/// `_` + 8 hex digits.
const HASH_SUFFIX_LEN: usize = 9;

/// How a gateway composes exposed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingPolicy {
    pub separator: String,
    pub max_length: usize,
}

impl Default for NamingPolicy {
    fn default() -> Self {
        Self {
            separator: DEFAULT_SEPARATOR.to_owned(),
            max_length: DEFAULT_MAX_LENGTH,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error(
        "tool prefix {prefix:?} is too long: with separator {separator:?} it leaves fewer than 10 of the {max_length} characters for tool names"
    )]
    PrefixTooLong {
        prefix: String,
        separator: String,
        max_length: usize,
    },
    #[error("tool prefix {0:?} may only contain letters, digits, '-' and '_'")]
    InvalidPrefix(String),
    #[error("invalid tool filter pattern {pattern:?}: {reason}")]
    InvalidPattern { pattern: String, reason: String },
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// First 8 hex digits of SHA-256: short, stable, and collision-safe at catalog scale.
pub fn short_hash(text: &str) -> String {
    let digest = digest::digest(&digest::SHA256, text.as_bytes());
    digest.as_ref()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl NamingPolicy {
    /// Checks that a prefix can be used with this policy.
    pub fn check_prefix(&self, prefix: &str) -> Result<(), NamingError> {
        if !prefix.chars().all(is_allowed) {
            return Err(NamingError::InvalidPrefix(prefix.to_owned()));
        }
        let fixed = if prefix.is_empty() {
            0
        } else {
            prefix.len() + self.separator.len()
        };
        if fixed + HASH_SUFFIX_LEN + 1 > self.max_length {
            return Err(NamingError::PrefixTooLong {
                prefix: prefix.to_owned(),
                separator: self.separator.clone(),
                max_length: self.max_length,
            });
        }
        Ok(())
    }

    /// The exposed name of `upstream` under `prefix`; call [`Self::check_prefix`] first.
    pub fn expose(&self, prefix: &str, upstream: &str) -> String {
        let head = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}{}", self.separator)
        };
        let sanitized: String = upstream
            .chars()
            .map(|c| if is_allowed(c) { c } else { '_' })
            .collect();
        let rewritten = sanitized != upstream || upstream.is_empty();
        if !rewritten && head.len() + sanitized.len() <= self.max_length {
            return format!("{head}{sanitized}");
        }
        let room = self.max_length.saturating_sub(head.len() + HASH_SUFFIX_LEN);
        // `sanitized` is ASCII, so byte slicing is char slicing.
        let kept = &sanitized[..sanitized.len().min(room)];
        format!("{head}{kept}_{}", short_hash(upstream))
    }
}

/// Include/exclude filters on upstream tool names (glob patterns).
#[derive(Debug, Clone)]
pub struct ToolFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, NamingError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|e| NamingError::InvalidPattern {
            pattern: pattern.clone(),
            reason: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| NamingError::InvalidPattern {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })
}

impl ToolFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, NamingError> {
        Ok(Self {
            include: glob_set(include)?,
            exclude: glob_set(exclude)?,
        })
    }

    pub fn allows(&self, upstream_name: &str) -> bool {
        let included = self
            .include
            .as_ref()
            .is_none_or(|set| set.is_match(upstream_name));
        let excluded = self
            .exclude
            .as_ref()
            .is_some_and(|set| set.is_match(upstream_name));
        included && !excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_with_separator_and_allows_empty_prefix() {
        let policy = NamingPolicy::default();
        assert_eq!(policy.expose("cart", "get_item"), "cart___get_item");
        assert_eq!(policy.expose("", "get_item"), "get_item");
    }

    #[test]
    fn long_names_are_shortened_deterministically_within_budget() {
        let policy = NamingPolicy::default();
        let upstream = "a".repeat(80);
        let exposed = policy.expose("catalog", &upstream);
        assert_eq!(exposed.len(), 64);
        assert_eq!(exposed, policy.expose("catalog", &upstream));
        assert!(exposed.starts_with("catalog___aaa"));
        let other = policy.expose("catalog", &format!("{}b", "a".repeat(79)));
        assert_ne!(exposed, other, "different originals must stay apart");
    }

    #[test]
    fn disallowed_characters_are_rewritten_with_a_hash() {
        let policy = NamingPolicy::default();
        let dotted = policy.expose("fs", "files.read");
        let underscored = policy.expose("fs", "files_read");
        assert!(dotted.starts_with("fs___files_read_"), "{dotted}");
        assert_eq!(underscored, "fs___files_read");
        assert_ne!(dotted, underscored);
        assert!(dotted.chars().all(is_allowed));
    }

    #[test]
    fn prefix_checks() {
        let policy = NamingPolicy::default();
        assert!(policy.check_prefix("cart").is_ok());
        assert!(policy.check_prefix("").is_ok());
        assert!(matches!(
            policy.check_prefix("a.b"),
            Err(NamingError::InvalidPrefix(_))
        ));
        assert!(matches!(
            policy.check_prefix(&"p".repeat(60)),
            Err(NamingError::PrefixTooLong { .. })
        ));
    }

    #[test]
    fn filters_include_then_exclude() {
        let filter = ToolFilter::new(&["get_*".into(), "list_*".into()], &["*_internal".into()])
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(filter.allows("get_item"));
        assert!(!filter.allows("get_item_internal"));
        assert!(!filter.allows("delete_item"));
        let everything = ToolFilter::new(&[], &[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(everything.allows("anything"));
    }
}
