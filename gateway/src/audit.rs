//! The audit log: one JSON line per tool invocation and per refused request.
//!
//! Arguments and results are left out unless the Gateway asks for them, and then the
//! values of sensitive-looking fields are replaced before anything is written.

use std::io::Write;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Field names whose values are always redacted when arguments or results are logged.
const ALWAYS_REDACTED: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "authorization",
    "api_key",
    "apikey",
];

pub const REDACTED: &str = "[REDACTED]";

/// `Gateway.spec.audit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfig {
    /// Include tool arguments in audit lines (off by default).
    #[serde(default)]
    pub log_arguments: bool,
    /// Include tool results in audit lines (off by default).
    #[serde(default)]
    pub log_results: bool,
    /// More field names (case-insensitive, at any depth) whose values are redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_fields: Vec<String>,
}

/// One audit line.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub time: String,
    /// `tool_call`, `request_denied` or `request_throttled`.
    pub event: &'static str,
    pub method: String,
    /// ok, tool_error, upstream_error, timeout, denied or throttled.
    pub outcome: &'static str,
    pub tenant: Option<String>,
    pub user: Option<String>,
    pub client_id: Option<String>,
    pub subject: String,
    /// Exposed tool name, when the request names a tool.
    pub tool: Option<String>,
    pub target: Option<String>,
    pub upstream_tool: Option<String>,
    pub latency_ms: f64,
    pub request_id: String,
    pub trace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// Writes audit lines to a sink (standard output by default).
pub struct AuditLog {
    sink: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog(..)")
    }
}

impl Default for AuditLog {
    fn default() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }
}

impl AuditLog {
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Self {
            sink: Mutex::new(sink),
        }
    }

    pub fn write(&self, record: &AuditRecord) {
        let Ok(line) = serde_json::to_string(record) else {
            return;
        };
        if let Ok(mut sink) = self.sink.lock() {
            let _ = writeln!(sink, "{line}");
            let _ = sink.flush();
        }
    }
}

impl AuditConfig {
    /// Arguments or results as they may be logged: `None` unless enabled, redacted if so.
    pub fn payload(&self, enabled: bool, value: Option<&Value>) -> Option<Value> {
        let mut value = value.filter(|_| enabled)?.clone();
        redact(&mut value, &self.redact_fields);
        Some(value)
    }
}

fn redact(value: &mut Value, extra: &[String]) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                let sensitive = ALWAYS_REDACTED.contains(&lower.as_str())
                    || extra.iter().any(|e| e.eq_ignore_ascii_case(key));
                if sensitive {
                    *field = Value::String(REDACTED.to_owned());
                } else {
                    redact(field, extra);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact(item, extra)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn arguments_are_left_out_unless_asked_and_redacted_when_logged() {
        let arguments = json!({"card": {"number": "4111", "cvv": "123"}, "password": "hunter2", "items": [{"Token": "t"}]});
        let quiet = AuditConfig::default();
        assert_eq!(quiet.payload(quiet.log_arguments, Some(&arguments)), None);
        let loud = AuditConfig {
            log_arguments: true,
            redact_fields: vec!["cvv".into()],
            ..Default::default()
        };
        let logged = loud.payload(loud.log_arguments, Some(&arguments)).unwrap();
        assert_eq!(logged["password"], REDACTED);
        assert_eq!(logged["card"]["cvv"], REDACTED);
        assert_eq!(logged["card"]["number"], "4111");
        assert_eq!(logged["items"][0]["Token"], REDACTED);
    }

    #[test]
    fn each_record_is_one_json_line() {
        let sink = Shared::default();
        let log = AuditLog::new(Box::new(sink.clone()));
        let record = AuditRecord {
            event: "tool_call",
            outcome: "ok",
            tool: Some("cart___get_item".into()),
            ..Default::default()
        };
        log.write(&record);
        log.write(&record);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let parsed: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(parsed["event"], "tool_call");
        assert_eq!(parsed["tool"], "cart___get_item");
        assert!(parsed.get("arguments").is_none());
    }
}
