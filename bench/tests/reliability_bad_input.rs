//! Bad input against the real gateway binary: each request gets the right error, and
//! after all of them the process is still up and serving.
// Test code: helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use switchboard_bench::client::{Era, McpClient, http_client, sse_messages, with_envelope};
use switchboard_bench::gateway::{self, GatewayProcess, runtime_config, target};
use switchboard_bench::upstream::{self, UpstreamOptions};
use switchboard_gateway::config::UpstreamProtocol;
use switchboard_gateway::server::session::{SessionClaims, SessionSealer};

/// What came back for one raw request.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    /// The JSON-RPC message in the body (JSON or the first event of a stream).
    fn message(&self) -> Value {
        serde_json::from_str(&self.body)
            .ok()
            .or_else(|| sse_messages(&self.body).into_iter().next())
            .unwrap_or_else(|| panic!("not a JSON-RPC answer: {self:?}"))
    }

    fn error_code(&self) -> i64 {
        self.message()
            .pointer("/error/code")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("no JSON-RPC error: {self:?}"))
    }
}

struct Raw {
    http: reqwest::Client,
    url: String,
}

impl Raw {
    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            body: response.text().await.unwrap_or_default(),
        }
    }

    fn post(&self) -> reqwest::RequestBuilder {
        self.http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
    }

    /// POST with `Content-Type: application/json` and the given extra headers.
    async fn json(&self, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self
            .post()
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }
}

fn legacy(session: &str) -> Vec<(&'static str, String)> {
    vec![
        ("mcp-protocol-version", "2025-11-25".into()),
        ("mcp-session-id", session.to_owned()),
    ]
}

fn refs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sends a raw HTTP/1.1 request and returns the response status. The body is written
/// while the response is read: a server that refuses early (413) answers before it has
/// read everything, and a client that only reads after writing would see a reset.
async fn status_of_raw(port: u16, head: String, body: Vec<u8>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        writer
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(std::time::Duration::from_secs(20), reader.read(&mut buf)).await
        {
            Ok(Ok(n)) if n > 0 => response.extend_from_slice(&buf[..n]),
            other => panic!(
                "no response head: {other:?} after {:?}",
                String::from_utf8_lossy(&response)
            ),
        }
    }
    writing.abort();
    let line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_error_and_nothing_crashes() {
    let up = upstream::spawn(&UpstreamOptions::default()).await.unwrap();
    let dir = common::scratch("bad-input");
    let config = runtime_config(vec![target("up", &up.url, UpstreamProtocol::Auto, 30)]);
    let catalogs = gateway::sync_all(&config).await.unwrap();
    gateway::write_config_dir(&dir, &config, &catalogs, gateway::SESSION_KEY).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_switchboard-gateway-under-test"));
    let mut gw = GatewayProcess::start(&bin, &dir, common::free_port())
        .await
        .unwrap()
        .0;
    let raw = Raw {
        http: http_client(),
        url: gw.url.clone(),
    };
    let mut good = McpClient::new(http_client(), &gw.url, Era::Legacy);
    good.connect().await.unwrap();
    let session = good.session_id().unwrap().to_owned();
    let in_session = legacy(&session);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();

    // Oversized bodies: 413, with a length or streamed without one.
    let big = format!("{}{}", ping, " ".repeat(5 * 1024 * 1024));
    let with_length = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        big.len()
    );
    assert_eq!(
        status_of_raw(gw.port, with_length, big.clone().into_bytes()).await,
        413
    );
    let chunked_head = "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut chunked = Vec::new();
    for piece in big.as_bytes().chunks(64 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        status_of_raw(gw.port, chunked_head.to_owned(), chunked).await,
        413
    );

    // Deep JSON: refused by the parser (recursion limit), not by the stack.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let answer = raw.json(deep, &refs(&in_session)).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32700),
        "{answer:?}"
    );
    let deep_args = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"up___echo","arguments":{{"text":"x","deep":{}{}}}}}}}"#,
        "{\"a\":".repeat(10_000),
        "1}".repeat(10_000)
    );
    let answer = raw.json(deep_args, &refs(&in_session)).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32700),
        "{answer:?}"
    );

    // Not JSON at all.
    for body in [
        "{",
        "nope",
        "\u{0}\u{1}",
        "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ",
    ] {
        let answer = raw.json(body, &refs(&in_session)).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, -32700),
            "{body:?}: {answer:?}"
        );
    }
    let answer = raw
        .json(vec![0xff, 0xfe, 0x00, 0x7b], &refs(&in_session))
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32700),
        "{answer:?}"
    );

    // Invalid JSON-RPC envelopes: -32600.
    for body in [
        json!([]),
        json!("a string"),
        json!(42),
        json!({"id": 1, "method": "ping"}),
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": 7}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": "x"}),
        json!({"jsonrpc": "2.0", "id": 1}),
    ] {
        let answer = raw.json(body.to_string(), &refs(&in_session)).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, -32600),
            "{body}: {answer:?}"
        );
    }
    // A batch answers each member: errors for the bad ones, results for the good.
    let batch = json!([1, {"jsonrpc": "2.0", "id": 7, "method": "ping"}, {"jsonrpc": "2.0", "id": 8, "method": "initialize"}]);
    let answer = raw.json(batch.to_string(), &refs(&in_session)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let answers = answer.message();
    assert_eq!(answers[0]["error"]["code"], -32600, "{answers}");
    assert_eq!(answers[1]["id"], 7);
    assert_eq!(answers[1]["result"], json!({}));
    assert_eq!(
        answers[2]["error"]["code"], -32600,
        "initialize cannot be batched"
    );
    // Notifications and stray responses are accepted without an answer.
    let answer = raw
        .json(
            json!({"jsonrpc": "2.0", "method": "notifications/whatever"}).to_string(),
            &refs(&in_session),
        )
        .await;
    assert_eq!(answer.status, 202);
    let answer = raw
        .json(
            json!({"jsonrpc": "2.0", "id": 99, "result": {}}).to_string(),
            &refs(&in_session),
        )
        .await;
    assert_eq!(answer.status, 202);

    // Wrong content types: 415 before the body is looked at.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
    ] {
        let request = raw
            .post()
            .header("content-type", content_type)
            .body(ping.clone());
        let answer = raw.send(request.header("mcp-session-id", &session)).await;
        assert_eq!(answer.status, 415, "{content_type}: {answer:?}");
    }
    let answer = raw
        .json(
            ping.clone(),
            &[("content-type", "application/json; charset=utf-8")],
        )
        .await;
    assert_ne!(
        answer.status, 415,
        "parameters after application/json are fine"
    );

    // Unknown methods: -32601 (200 in a session, 404 for 2026-07-28).
    let unknown = json!({"jsonrpc": "2.0", "id": 3, "method": "no/such_method"}).to_string();
    let answer = raw.json(unknown, &refs(&in_session)).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (200, -32601),
        "{answer:?}"
    );
    let modern = |method: &str, params: Value| {
        let body =
            json!({"jsonrpc": "2.0", "id": 4, "method": method, "params": with_envelope(params)});
        (body.to_string(), method.to_owned())
    };
    let (body, method) = modern("no/such_method", json!({}));
    let answer = raw
        .json(
            body,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", &method),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (404, -32601),
        "{answer:?}"
    );
    // 2026-07-28 envelope problems: header/body mismatch, unknown version, no envelope.
    let (body, _) = modern("tools/list", json!({}));
    let answer = raw
        .json(
            body.clone(),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32020),
        "{answer:?}"
    );
    let answer = raw
        .json(
            body,
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    let (body, _) = modern(
        "tools/call",
        json!({"name": "up___echo", "arguments": {"text": "x"}}),
    );
    let answer = raw
        .json(
            body,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "up___other"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32020),
        "Mcp-Name mismatch: {answer:?}"
    );
    let bare = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}).to_string();
    let answer = raw
        .json(
            bare,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, -32602),
        "{answer:?}"
    );

    // Unknown tools and bad params: -32602.
    for params in [
        json!({"name": "up___missing", "arguments": {}}),
        json!({"name": "x".repeat(100_000)}),
        json!({"name": 5}),
        json!({}),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": params});
        let answer = raw.json(body.to_string(), &refs(&in_session)).await;
        assert_eq!(answer.error_code(), -32602, "{answer:?}");
    }
    let body = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"cursor": "!!garbage!!"}});
    assert_eq!(
        raw.json(body.to_string(), &refs(&in_session))
            .await
            .error_code(),
        -32602
    );

    // Invalid session ids: 404, which tells a client to start a new session.
    let forged = SessionSealer::new(b"not-the-gateway-key-at-all!", 3600)
        .unwrap()
        .seal(&SessionClaims {
            v: "2025-11-25".into(),
            iat: now(),
            tn: None,
            sb: None,
        })
        .unwrap();
    let expired = SessionSealer::new(gateway::SESSION_KEY, 3600 * 24 * 365)
        .unwrap()
        .seal(&SessionClaims {
            v: "2025-11-25".into(),
            iat: now() - 3 * 24 * 3600,
            tn: None,
            sb: None,
        })
        .unwrap();
    let someone_else = SessionSealer::new(gateway::SESSION_KEY, 3600)
        .unwrap()
        .seal(&SessionClaims {
            v: "2025-11-25".into(),
            iat: now(),
            tn: None,
            sb: Some("mallory".into()),
        })
        .unwrap();
    let mut tampered = session.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (what, id) in [
        ("garbage", "not-a-session".to_owned()),
        ("empty", String::new()),
        ("huge", "A".repeat(6_000)),
        ("sealed with another key", forged),
        ("expired", expired),
        ("another principal's", someone_else),
        ("tampered", tampered),
        ("truncated", session[..session.len() - 4].to_owned()),
    ] {
        let answer = raw.json(ping.clone(), &[("mcp-session-id", &id)]).await;
        assert_eq!(answer.status, 404, "{what} session id: {answer:?}");
    }
    let request = raw
        .post()
        .header("content-type", "application/json")
        .header(
            "mcp-session-id",
            reqwest::header::HeaderValue::from_bytes(b"caf\xe9-\xff").unwrap(),
        )
        .body(ping.clone());
    let answer = raw.send(request).await;
    assert_eq!(answer.status, 404, "non-ASCII session id: {answer:?}");

    // Transport-level abuse: other methods, huge and many headers, a foreign Host.
    assert_eq!(raw.send(raw.http.get(&raw.url)).await.status, 405);
    assert_eq!(
        raw.send(raw.http.put(&raw.url).body(ping.clone()))
            .await
            .status,
        405
    );
    // hyper bounds the request head (≈ 400 KiB by default); past that: 431 or a close.
    let huge_header = "v".repeat(1024 * 1024);
    // An error instead of a response means the connection was closed on us: also a refusal.
    if let Ok(response) = raw
        .http
        .post(&raw.url)
        .header("x-huge", huge_header)
        .body(ping.clone())
        .send()
        .await
    {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let mut many = raw.post().header("content-type", "application/json");
    for i in 0..500 {
        many = many.header(format!("x-many-{i}"), "1");
    }
    if let Ok(response) = many.body(ping.clone()).send().await {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let answer = raw.json(ping.clone(), &[("host", "evil.example:80")]).await;
    assert_eq!(answer.status, 403);

    // Still alive, still serving, for both eras.
    assert!(
        gw.is_running(),
        "the gateway process must survive all of the above"
    );
    let result = good
        .call_tool("up___echo", json!({"text": "alive"}))
        .await
        .unwrap();
    assert_eq!(result["content"][0]["text"], "alive");
    let mut stateless = McpClient::new(http_client(), &gw.url, Era::Modern);
    let result = stateless
        .call_tool("up___echo", json!({"text": "alive"}))
        .await
        .unwrap();
    assert_eq!(result["content"][0]["text"], "alive");
    let _ = std::fs::remove_dir_all(dir);
}
