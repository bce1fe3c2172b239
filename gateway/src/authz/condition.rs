//! `when` conditions: CEL compiled once per load, evaluated per request.
//!
//! Evaluation reads two variables, `caller` and `tool`, served by a resolver that borrows
//! the caller's values (built once per request) and the tool's names, so a call copies no
//! strings. Names the gateway does not provide, misspelt fields and unknown functions are
//! load errors, not per-request surprises.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Context, Env, ExecutionError, Program, Value};

use super::ToolRef;
use crate::auth::{AuthMethod, Caller};

/// Fields of `caller`, as conditions spell them.
pub(crate) const CALLER_FIELDS: &[&str] = &[
    "subject", "tenant", "user", "clientId", "scopes", "claims", "method",
];
/// Fields of `tool`.
pub(crate) const TOOL_FIELDS: &[&str] = &["name", "target", "upstreamName"];

/// Longest evaluation error kept in a denial reason (they can quote claim values).
const MAX_ERROR_LEN: usize = 200;

thread_local! {
    /// The standard CEL environment. Every evaluation holds an `Arc` of it; one per thread
    /// keeps that reference count off a cache line shared by all request threads.
    static ENV: Arc<Env> = Arc::new(Env::stdlib());
}

fn context<'v>() -> Context<'static, 'v> {
    ENV.with(|env| Context::with_env(Arc::clone(env)))
}

/// A compiled `when` condition.
#[derive(Debug)]
pub(crate) struct Condition {
    program: Program,
    /// Whether it reads `tool`; if not, its value is the same for every tool of one caller.
    uses_tool: bool,
}

impl Condition {
    /// Parses `source` and checks what can be checked before any request: only `caller` and
    /// `tool` are referenced, only with fields they have, only functions CEL knows, and the
    /// result is a bool.
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the condition is empty".to_owned());
        }
        if source.len() > super::config::MAX_CONDITION_LEN {
            return Err(format!(
                "the condition is longer than {} bytes",
                super::config::MAX_CONDITION_LEN
            ));
        }
        let program = ENV
            .with(|env| env.compile(source))
            .map_err(|e| e.to_string())?;
        let mut uses_tool = false;
        check(program.expression(), &mut Vec::new(), &mut uses_tool)?;
        let condition = Self { program, uses_tool };
        condition.dry_run()?;
        Ok(condition)
    }

    pub(crate) fn uses_tool(&self) -> bool {
        self.uses_tool
    }

    /// Evaluates against `caller` (from [`caller_value`]) and `tool` (from [`tool_value`];
    /// needed only if [`Condition::uses_tool`]).
    pub(crate) fn eval(
        &self,
        caller: &CelMap<'_>,
        tool: Option<&CelMap<'_>>,
    ) -> Result<bool, String> {
        let vars = Vars { caller, tool };
        let mut context = context();
        context.set_variable_resolver(&vars);
        match self.program.execute(&context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "the condition evaluated to a {} instead of a bool",
                other.type_of()
            )),
            Err(e) => Err(truncate(e.to_string())),
        }
    }

    /// Evaluates against a fully populated and an anonymous caller, so a function CEL does
    /// not have (e.g. `matches`, which this build leaves out) or a non-bool result is
    /// reported at load. Branches that short-circuit are not reached; those fail closed at
    /// request time.
    fn dry_run(&self) -> Result<(), String> {
        let mut full = Caller::anonymous();
        full.method = AuthMethod::Jwt;
        full.subject = "dry-run".to_owned();
        full.tenant = Some("dry-run".to_owned());
        full.user = Some("dry-run".to_owned());
        full.client_id = Some("dry-run".to_owned());
        full.scopes = vec!["dry-run".to_owned()];
        let tool = ToolRef {
            exposed: "dry___run",
            target: "dry",
            upstream_name: "run",
        };
        for caller in [full, Caller::anonymous()] {
            let value = caller_value(&caller);
            let tool = tool_value(&tool);
            let vars = Vars {
                caller: &value,
                tool: Some(&tool),
            };
            let mut context = context();
            context.set_variable_resolver(&vars);
            match self.program.execute(&context) {
                Ok(Value::Bool(_)) => {}
                Ok(other) => {
                    return Err(format!(
                        "the condition must evaluate to a bool, not a {}",
                        other.type_of()
                    ));
                }
                Err(ExecutionError::UndeclaredReference(name)) => {
                    return Err(format!("unknown function or identifier {name:?}"));
                }
                // Missing claims and the like depend on the caller: fine at load time.
                Err(_) => {}
            }
        }
        Ok(())
    }
}

/// Walks the AST: free identifiers must be `caller` or `tool`, and fields selected directly
/// on them must exist. Comprehension variables (`scopes.exists(s, ...)`) are bound.
fn check(expr: &IdedExpr, bound: &mut Vec<String>, uses_tool: &mut bool) -> Result<(), String> {
    match &expr.expr {
        Expr::Ident(name) => {
            // `@result` and friends are the macros' own accumulators.
            if name.starts_with('@') || bound.iter().any(|b| b == name) {
                return Ok(());
            }
            match name.as_str() {
                "caller" => Ok(()),
                "tool" => {
                    *uses_tool = true;
                    Ok(())
                }
                _ => Err(format!(
                    "unknown variable {name:?}: conditions can read `caller` and `tool`"
                )),
            }
        }
        Expr::Select(select) => {
            if let Expr::Ident(root) = &select.operand.expr
                && !bound.iter().any(|b| b == root)
            {
                let fields = match root.as_str() {
                    "caller" => CALLER_FIELDS,
                    "tool" => TOOL_FIELDS,
                    _ => &[],
                };
                if !fields.is_empty() && !fields.contains(&select.field.as_str()) {
                    return Err(format!(
                        "`{root}` has no field {:?}; it has {}",
                        select.field,
                        fields.join(", ")
                    ));
                }
            }
            check(&select.operand, bound, uses_tool)
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                check(target, bound, uses_tool)?;
            }
            call.args
                .iter()
                .try_for_each(|arg| check(arg, bound, uses_tool))
        }
        Expr::Comprehension(comp) => {
            check(&comp.iter_range, bound, uses_tool)?;
            check(&comp.accu_init, bound, uses_tool)?;
            let depth = bound.len();
            bound.push(comp.iter_var.clone());
            bound.extend(comp.iter_var2.iter().cloned());
            bound.push(comp.accu_var.clone());
            let inner = [&comp.loop_cond, &comp.loop_step, &comp.result]
                .into_iter()
                .try_for_each(|e| check(e, bound, uses_tool));
            bound.truncate(depth);
            inner
        }
        Expr::List(list) => list
            .elements
            .iter()
            .try_for_each(|e| check(e, bound, uses_tool)),
        Expr::Map(map) => map
            .entries
            .iter()
            .try_for_each(|entry| check_entry(&entry.expr, bound, uses_tool)),
        Expr::Struct(st) => st
            .entries
            .iter()
            .try_for_each(|entry| check_entry(&entry.expr, bound, uses_tool)),
        Expr::Literal(_) | Expr::Unspecified => Ok(()),
    }
}

fn check_entry(
    entry: &EntryExpr,
    bound: &mut Vec<String>,
    uses_tool: &mut bool,
) -> Result<(), String> {
    match entry {
        EntryExpr::StructField(field) => check(&field.value, bound, uses_tool),
        EntryExpr::MapEntry(entry) => {
            check(&entry.key, bound, uses_tool)?;
            check(&entry.value, bound, uses_tool)
        }
    }
}

/// Serves `caller` and `tool` by reference.
struct Vars<'a, 'b> {
    caller: &'a CelMap<'a>,
    tool: Option<&'b CelMap<'b>>,
}

impl VariableResolver for Vars<'_, '_> {
    fn resolve<'r>(&'r self, variable: &str) -> Option<CowVal<'r, 'r>> {
        match variable {
            "caller" => Some(CowVal::Borrowed(self.caller)),
            "tool" => self.tool.map(|t| CowVal::Borrowed(t as &dyn Val)),
            _ => None,
        }
    }
}

fn string(s: &str) -> Box<dyn Val + '_> {
    Box::new(CelString::from(s))
}

fn optional_string(s: Option<&str>) -> Box<dyn Val + '_> {
    match s {
        Some(s) => string(s),
        None => Box::new(CelNull),
    }
}

/// The CEL value of `caller`: absent tenant, user and client are `null`; claims are the
/// token's claims as a map (empty for API keys and anonymous callers).
pub(crate) fn caller_value(caller: &Caller) -> CelMap<'_> {
    let method = match caller.method {
        AuthMethod::Anonymous => "anonymous",
        AuthMethod::Jwt => "jwt",
        AuthMethod::ApiKey => "apiKey",
    };
    let scopes: Vec<Box<dyn Val + '_>> = caller.scopes.iter().map(|s| string(s)).collect();
    let mut map: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> = HashMap::with_capacity(8);
    map.insert("subject".into(), string(&caller.subject));
    map.insert("tenant".into(), optional_string(caller.tenant.as_deref()));
    map.insert("user".into(), optional_string(caller.user.as_deref()));
    map.insert(
        "clientId".into(),
        optional_string(caller.client_id.as_deref()),
    );
    map.insert("scopes".into(), Box::new(CelList::from(scopes)));
    map.insert("claims".into(), json_value(&caller.claims));
    map.insert("method".into(), string(method));
    CelMap::from(map)
}

/// The CEL value of `tool`.
pub(crate) fn tool_value<'a>(tool: &ToolRef<'a>) -> CelMap<'a> {
    let mut map: HashMap<CelMapKey<'a>, Box<dyn Val + 'a>> = HashMap::with_capacity(3);
    map.insert("name".into(), string(tool.exposed));
    map.insert("target".into(), string(tool.target));
    map.insert("upstreamName".into(), string(tool.upstream_name));
    CelMap::from(map)
}

/// JSON claims as CEL values: integers as `int` (or `uint` past `i64`), other numbers as
/// `double`. Depth is bounded by the JSON parser that produced the claims.
fn json_value(value: &serde_json::Value) -> Box<dyn Val + '_> {
    use serde_json::Value as J;
    match value {
        J::Null => Box::new(CelNull),
        J::Bool(b) => Box::new(CelBool::from(*b)),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => string(s),
        J::Array(items) => Box::new(CelList::from(
            items.iter().map(json_value).collect::<Vec<_>>(),
        )),
        J::Object(fields) => Box::new(CelMap::from(
            fields
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), json_value(v)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn jwt_caller() -> Caller {
        let mut c = Caller::anonymous();
        c.method = AuthMethod::Jwt;
        c.subject = "alice".to_owned();
        c.tenant = Some("finance".to_owned());
        c.user = Some("alice@example.com".to_owned());
        c.client_id = Some("agent-a".to_owned());
        c.scopes = vec!["billing:read".to_owned(), "billing:write".to_owned()];
        c.claims = serde_json::json!({
            "dept": "ops", "level": 3, "groups": ["admins", "ops"], "big": u64::MAX,
            "ratio": 0.5, "nested": {"ok": true}, "nothing": null
        });
        c
    }

    const TOOL: ToolRef<'static> = ToolRef {
        exposed: "billing___charge",
        target: "billing",
        upstream_name: "charge",
    };

    fn eval(source: &str, caller: &Caller) -> Result<bool, String> {
        let cond = Condition::compile(source).unwrap();
        cond.eval(&caller_value(caller), Some(&tool_value(&TOOL)))
    }

    #[test]
    fn every_variable_is_readable() {
        let c = jwt_caller();
        for source in [
            r#"caller.subject == "alice""#,
            r#"caller.tenant == "finance""#,
            r#"caller.user.endsWith("@example.com")"#,
            r#"caller.clientId == "agent-a""#,
            r#""billing:write" in caller.scopes"#,
            r#"caller.scopes.exists(s, s.startsWith("billing:"))"#,
            r#"size(caller.scopes) == 2"#,
            r#"caller.claims.dept == "ops""#,
            r#"caller.claims.level >= 3"#,
            r#""admins" in caller.claims.groups"#,
            r#"caller.claims.big == 18446744073709551615u"#,
            r#"caller.claims.ratio < 1.0"#,
            r#"caller.claims.nested.ok"#,
            r#"caller.claims.nothing == null"#,
            r#"has(caller.claims.dept) && !has(caller.claims.missing)"#,
            r#""dept" in caller.claims"#,
            r#"caller.method == "jwt""#,
            r#"tool.name == "billing___charge""#,
            r#"tool.target == "billing" && tool.upstreamName == "charge""#,
            r#"tool.name.startsWith(tool.target)"#,
        ] {
            assert_eq!(eval(source, &c), Ok(true), "{source}");
        }
    }

    #[test]
    fn anonymous_callers_have_nulls_and_no_scopes() {
        let anon = Caller::anonymous();
        assert_eq!(eval(r#"caller.tenant == null"#, &anon), Ok(true));
        assert_eq!(eval(r#"caller.tenant != "finance""#, &anon), Ok(true));
        assert_eq!(eval(r#"caller.tenant == "finance""#, &anon), Ok(false));
        assert_eq!(eval(r#"caller.method == "anonymous""#, &anon), Ok(true));
        assert_eq!(eval(r#"size(caller.scopes) == 0"#, &anon), Ok(true));
        assert_eq!(eval(r#"caller.subject == "anonymous""#, &anon), Ok(true));
        let mut key = Caller::anonymous();
        key.method = AuthMethod::ApiKey;
        assert_eq!(eval(r#"caller.method == "apiKey""#, &key), Ok(true));
    }

    #[test]
    fn missing_claims_and_type_errors_are_errors() {
        let c = jwt_caller();
        let err = eval(r#"caller.claims.missing == "x""#, &c).unwrap_err();
        assert!(err.contains("missing"), "{err}");
        assert!(eval(r#"caller.claims.level > "a""#, &c).is_err());
        // A non-bool result at request time (only reachable through data) is an error.
        let err = eval(
            r#"caller.tenant == "finance" ? caller.claims.dept : true"#,
            &c,
        );
        assert!(err.unwrap_err().contains("instead of a bool"));
    }

    #[test]
    fn load_time_checks_name_the_problem() {
        let cases = [
            ("1 + ", "Syntax error"),
            ("", "empty"),
            ("   ", "empty"),
            ("user.tenant == 'x'", "unknown variable \"user\""),
            ("caller.tenat == 'x'", "has no field \"tenat\""),
            ("tool.upstream == 'x'", "has no field \"upstream\""),
            ("has(caller.scope)", "has no field \"scope\""),
            (
                "nosuch(caller.tenant)",
                "unknown function or identifier \"nosuch\"",
            ),
            ("caller.subject.matches('a.*')", "\"matches\""),
            ("caller.tenant", "must evaluate to a bool"),
            ("caller.scopes.map(s, s)", "must evaluate to a bool"),
            ("caller.scopes.exists(s, t)", "unknown variable \"t\""),
        ];
        for (source, expected) in cases {
            let err = Condition::compile(source).unwrap_err();
            assert!(err.contains(expected), "{source:?}: {err}");
        }
        let long = format!("true{}", " && true".repeat(600));
        assert!(Condition::compile(&long).unwrap_err().contains("longer"));
    }

    #[test]
    fn comprehension_variables_shadow_and_are_scoped() {
        // `caller` as a loop variable is a plain value, not the caller map.
        let c = jwt_caller();
        assert_eq!(eval(r#"["x"].exists(caller, caller == "x")"#, &c), Ok(true));
        assert!(Condition::compile(r#"["x"].exists(s, s == "x") && s == "x""#).is_err());
    }

    #[test]
    fn tool_use_is_detected() {
        assert!(
            !Condition::compile("caller.tenant == 'a'")
                .unwrap()
                .uses_tool()
        );
        assert!(
            Condition::compile("tool.target == 'a'")
                .unwrap()
                .uses_tool()
        );
        assert!(
            Condition::compile("caller.scopes.exists(s, s == tool.name)")
                .unwrap()
                .uses_tool()
        );
    }

    #[test]
    fn long_errors_are_truncated() {
        let t = truncate("é".repeat(300));
        assert!(t.len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert!(t.ends_with('…'));
    }
}
