//! Claim checks on a token whose signature already verified.

use serde_json::Value;

use crate::auth::caller::{AuthMethod, Caller};
use crate::auth::config::{
    DEFAULT_LEEWAY_SECONDS, DEFAULT_TENANT_CLAIM, DEFAULT_USER_CLAIM, JwtConfig,
};
use crate::auth::rejection::{AuthRejection, TokenProblem};
use crate::secrets::SecretValue;

/// What a token's claims must satisfy, fixed once the issuer is discovered.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    issuer: String,
    audiences: Vec<String>,
    clients: Vec<String>,
    required_scopes: Vec<String>,
    tenant_claim: String,
    user_claim: String,
    leeway: i64,
}

impl ClaimRules {
    pub(crate) fn new(config: &JwtConfig, issuer: String) -> Self {
        Self {
            issuer,
            audiences: config.allowed_audiences.clone(),
            clients: config.allowed_clients.clone(),
            required_scopes: config.required_scopes.clone(),
            tenant_claim: config
                .tenant_claim
                .clone()
                .unwrap_or_else(|| DEFAULT_TENANT_CLAIM.to_owned()),
            user_claim: config
                .user_claim
                .clone()
                .unwrap_or_else(|| DEFAULT_USER_CLAIM.to_owned()),
            leeway: i64::from(config.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS)),
        }
    }

    /// Checks `exp`, `nbf`, `iss`, `aud`, the client, then scopes (last, because a 403 only
    /// makes sense for an otherwise valid token), and builds the caller.
    pub(crate) fn check(
        &self,
        claims: Value,
        now: i64,
        resource_url: &str,
        token: SecretValue,
    ) -> Result<Caller, AuthRejection> {
        let invalid = |p| Err(AuthRejection::InvalidToken(p));
        match numeric_date(&claims, "exp")? {
            None => return invalid(TokenProblem::MissingExpiry),
            Some(exp) if now > exp.saturating_add(self.leeway) => {
                return invalid(TokenProblem::Expired);
            }
            Some(_) => {}
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && now.saturating_add(self.leeway) < nbf
        {
            return invalid(TokenProblem::NotYetValid);
        }
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return invalid(TokenProblem::WrongIssuer);
        }
        let allowed = |aud: &str| {
            if self.audiences.is_empty() {
                same_resource(aud, resource_url)
            } else {
                self.audiences.iter().any(|a| a == aud)
            }
        };
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => allowed(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(allowed),
            _ => false,
        };
        if !audience_ok {
            return invalid(TokenProblem::WrongAudience);
        }
        let client_id = string_claim(&claims, "client_id").or_else(|| string_claim(&claims, "azp"));
        if !self.clients.is_empty()
            && !client_id
                .as_ref()
                .is_some_and(|c| self.clients.iter().any(|allowed| allowed == c))
        {
            return invalid(TokenProblem::ClientNotAllowed);
        }
        let scopes = scopes(&claims);
        if self
            .required_scopes
            .iter()
            .any(|required| !scopes.contains(required))
        {
            return Err(AuthRejection::InsufficientScope {
                required: self.required_scopes.clone(),
            });
        }
        let subject = string_claim(&claims, "sub")
            .or_else(|| client_id.clone())
            .unwrap_or_default();
        Ok(Caller {
            method: AuthMethod::Jwt,
            subject,
            tenant: lookup(&claims, &self.tenant_claim),
            user: lookup(&claims, &self.user_claim),
            client_id,
            scopes,
            claims,
            token: Some(token),
        })
    }
}

/// Resource URLs compare equal regardless of a trailing slash (clients differ on it).
fn same_resource(aud: &str, resource_url: &str) -> bool {
    !resource_url.is_empty() && aud.trim_end_matches('/') == resource_url.trim_end_matches('/')
}

/// A NumericDate (seconds, possibly fractional); present but not a number is malformed.
fn numeric_date(claims: &Value, name: &str) -> Result<Option<i64>, AuthRejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            // Saturating float→int cast; NaN cannot come out of JSON.
            (None, Some(f)) => Ok(Some(f.floor() as i64)),
            _ => Err(AuthRejection::InvalidToken(TokenProblem::Malformed)),
        },
        Some(_) => Err(AuthRejection::InvalidToken(TokenProblem::Malformed)),
    }
}

fn string_claim(claims: &Value, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A configured claim: a top-level name (which may contain dots or slashes, as namespaced
/// claims like `https://example.com/tenant` do), or a JSON pointer when it starts with `/`.
fn lookup(claims: &Value, claim: &str) -> Option<String> {
    let value = if claim.starts_with('/') {
        claims.pointer(claim)
    } else {
        claims.get(claim)
    }?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Granted scopes from `scope` (RFC 8693/9068 space-separated string) and `scp` (array or
/// string, as Entra ID and Okta emit).
fn scopes(claims: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        for scope in s.split_whitespace() {
            if !out.iter().any(|existing| existing == scope) {
                out.push(scope.to_owned());
            }
        }
    };
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> ClaimRules {
        let config: JwtConfig = serde_json::from_value(json!({
            "discoveryUrl": "http://idp/.well-known/openid-configuration",
            "allowedAudiences": ["switchboard"],
            "allowedClients": ["agent-a"],
            "requiredScopes": ["mcp:tools"],
            "tenantClaim": "https://example.com/tenant",
            "leewaySeconds": 30
        }))
        .unwrap();
        ClaimRules::new(&config, "http://idp".to_owned())
    }

    fn good() -> Value {
        json!({"iss": "http://idp", "aud": ["other", "switchboard"], "exp": 1000, "nbf": 900,
               "sub": "alice", "azp": "agent-a", "scp": ["mcp:tools", "x"],
               "https://example.com/tenant": "acme"})
    }

    fn check(claims: Value, now: i64) -> Result<Caller, AuthRejection> {
        rules().check(claims, now, "https://gw/mcp", SecretValue::new("t"))
    }

    fn with(key: &str, value: Value) -> Value {
        let mut claims = good();
        claims[key] = value;
        claims
    }

    #[test]
    fn accepts_and_maps_the_caller() {
        let caller = check(good(), 950).unwrap();
        assert_eq!(caller.subject, "alice");
        assert_eq!(caller.user.as_deref(), Some("alice"));
        assert_eq!(caller.tenant.as_deref(), Some("acme"));
        assert_eq!(caller.client_id.as_deref(), Some("agent-a"));
        assert_eq!(caller.scopes, ["mcp:tools", "x"]);
    }

    #[test]
    fn leeway_applies_to_exp_and_nbf() {
        assert!(check(good(), 1030).is_ok());
        assert_eq!(
            check(good(), 1031).unwrap_err(),
            AuthRejection::InvalidToken(TokenProblem::Expired)
        );
        assert!(check(good(), 870).is_ok());
        assert_eq!(
            check(good(), 869).unwrap_err(),
            AuthRejection::InvalidToken(TokenProblem::NotYetValid)
        );
    }

    #[test]
    fn each_bad_claim_has_its_answer() {
        let cases = [
            (with("iss", json!("http://evil")), TokenProblem::WrongIssuer),
            (with("aud", json!("other")), TokenProblem::WrongAudience),
            (
                with("azp", json!("agent-b")),
                TokenProblem::ClientNotAllowed,
            ),
            (with("exp", json!("soon")), TokenProblem::Malformed),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                check(claims, 950).unwrap_err(),
                AuthRejection::InvalidToken(expected)
            );
        }
        let mut no_exp = good();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            check(no_exp, 950).unwrap_err(),
            AuthRejection::InvalidToken(TokenProblem::MissingExpiry)
        );
    }

    #[test]
    fn without_configured_audiences_the_resource_url_is_the_audience() {
        let config: JwtConfig = serde_json::from_value(json!({
            "discoveryUrl": "http://idp/.well-known/openid-configuration"
        }))
        .unwrap();
        let rules = ClaimRules::new(&config, "http://idp".to_owned());
        let claims = json!({"iss": "http://idp", "exp": 1000, "aud": "https://gw/mcp/"});
        let check = |url| rules.check(claims.clone(), 950, url, SecretValue::new("t"));
        assert!(check("https://gw/mcp").is_ok());
        assert_eq!(
            check("https://other/mcp").unwrap_err(),
            AuthRejection::InvalidToken(TokenProblem::WrongAudience)
        );
    }

    #[test]
    fn missing_scope_is_403_and_scope_string_works() {
        assert!(matches!(
            check(with("scp", json!(["x"])), 950).unwrap_err(),
            AuthRejection::InsufficientScope { .. }
        ));
        let mut claims = good();
        claims.as_object_mut().unwrap().remove("scp");
        claims["scope"] = json!("a mcp:tools");
        assert!(check(claims, 950).is_ok());
    }
}
