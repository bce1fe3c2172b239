"""Operations through the real gateway: per-tenant rate limits (429 + Retry-After, JSON-RPC
-32029), audit lines on standard output, Prometheus metrics after a scripted workload, and W3C
trace context reaching a real FastMCP upstream (tests/fixtures/auth_protected_server.py)."""

import datetime
import json
import re
from typing import Any

import httpx2
import pytest
from harness import (
    SUMMARIES, gateway_doc, http_client, legacy_handshake, legacy_headers, modern_request,
    rpc_body, run, secret_doc, target_doc, wait_until,
)
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

THROTTLED = -32029
KEYS = {"acme": "sk-ops-acme-71c0e2d94b5a", "globex": "sk-ops-globex-2f8d3a6c1e07",
        "anon": "sk-ops-anon-9b4e1d7a03c6"}
KEY_TABLE = (f"- {{name: acme-bot, key: {KEYS['acme']}, tenant: acme, user: ci}}\n"
             f"- {{name: globex-bot, key: {KEYS['globex']}, tenant: globex, user: ops}}\n"
             f"- {{name: anon-bot, key: {KEYS['anon']}}}\n")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"


def api_key_gateway_docs(vault, **spec: Any) -> list[dict[str, Any]]:
    return [gateway_doc(inboundAuth={"type": "APIKey",
                                     "apiKey": {"secretRef": {"name": "gateway-api-keys"}}}, **spec),
            secret_doc("gateway-api-keys", {"keys.yaml": KEY_TABLE}),
            target_doc("vault", vault.url, timeoutSeconds=2)]


def as_tenant(tenant: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[tenant]}


def modern(gateway, method: str, params: dict[str, Any] | None = None,
           headers: dict[str, str] | None = None, msg_id: int = 1) -> httpx2.Response:
    request_headers, body = modern_request(method, params, msg_id)
    with http_client() as http:
        return http.post(gateway.url, json=body, headers={**request_headers, **(headers or {})})


def call(gateway, tool: str, arguments: dict[str, Any], headers: dict[str, str] | None = None,
         **extra: Any) -> httpx2.Response:
    return modern(gateway, "tools/call", {"name": tool, "arguments": arguments, **extra}, headers)


def result_of(response: httpx2.Response) -> dict[str, Any]:
    body = rpc_body(response)
    assert "result" in body, (response.status_code, body)
    return body["result"]


def text(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result.get("content", []))


def assert_throttled(response: httpx2.Response, max_seconds: int) -> int:
    """429, a Retry-After in whole seconds, and the JSON-RPC -32029 error saying when."""
    assert response.status_code == 429, (response.status_code, response.text[:300])
    retry_after = response.headers.get("retry-after")
    assert retry_after and retry_after.isdigit(), dict(response.headers)
    seconds = int(retry_after)
    assert 1 <= seconds <= max_seconds, seconds
    error = response.json()["error"]
    assert error["code"] == THROTTLED, error
    assert "rate limit" in error["message"].lower(), error
    assert error["data"]["retryAfterSeconds"] == seconds, error
    assert 0 < error["data"]["retryAfterMs"] <= seconds * 1000, error
    return seconds


@pytest.fixture(scope="module")
def vault(module_launcher):
    return module_launcher.fixture("auth_protected_server.py", "--auth", "none", name="vault")


def vault_control(vault, path: str) -> None:
    with http_client() as http:
        assert http.post(f"http://127.0.0.1:{vault.port}/_test/{path}").status_code == 200


# --- rate limits -----------------------------------------------------------------------------

def test_burst_beyond_the_limit_is_throttled_and_recovers(launcher, vault):
    """perTenant 0.25/s, burst 3: three calls pass, the fourth gets 429 + Retry-After, and once
    the bucket has refilled calls pass again."""
    limits = {"perTenant": {"requestsPerSecond": 0.25, "burst": 3}}
    gateway = launcher.gateway(api_key_gateway_docs(vault, rateLimits=limits))
    acme = as_tenant("acme")
    for i in range(3):
        response = call(gateway, "vault___echo", {"text": str(i)}, acme)
        assert response.status_code == 200, (i, response.status_code, response.text)
        assert text(result_of(response)) == f"vault echo: {i}"
    retry_after = assert_throttled(call(gateway, "vault___echo", {"text": "x"}, acme), 4)

    attempts: list[int] = []

    def recovered() -> bool:
        response = call(gateway, "vault___echo", {"text": "again"}, acme)
        attempts.append(response.status_code)
        assert response.status_code in (200, 429), response.text
        return response.status_code == 200

    wait_until(recovered, 15, "the bucket to refill", interval=0.2)
    assert_throttled(call(gateway, "vault___echo", {"text": "x"}, acme), 4)
    SUMMARIES.append(f"rate limit 0.25/s burst 3: 3 passed, 4th → 429 Retry-After {retry_after} s; "
                     f"recovered after {attempts.count(429)} throttled polls")


def test_handshake_era_is_throttled_the_same_way(launcher, vault):
    gateway = launcher.gateway(api_key_gateway_docs(
        vault, rateLimits={"perTenant": {"requestsPerSecond": 0.1, "burst": 2}}))
    listing = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}}
    with httpx2.Client(timeout=30, headers=as_tenant("acme")) as http:
        session = legacy_handshake(http, gateway.url)
        for _ in range(2):
            assert http.post(gateway.url, json=listing, headers=legacy_headers(session)).status_code == 200
        throttled = http.post(gateway.url, json=listing, headers=legacy_headers(session))
    assert_throttled(throttled, 10)
    assert throttled.json()["id"] == 7


def test_tenants_do_not_share_buckets(launcher, vault):
    limits = {"perTenant": {"requestsPerSecond": 0.1, "burst": 2},
              "tenantOverrides": {"globex": {"requestsPerSecond": 0.1, "burst": 5}}}
    gateway = launcher.gateway(api_key_gateway_docs(vault, rateLimits=limits))
    for _ in range(2):
        assert call(gateway, "vault___echo", {"text": "a"}, as_tenant("acme")).status_code == 200
    assert_throttled(call(gateway, "vault___echo", {"text": "a"}, as_tenant("acme")), 10)
    # acme is out of budget; globex has its own (overridden) bucket of 5, and callers without a
    # tenant share the default-sized bucket of their own.
    for i in range(5):
        response = call(gateway, "vault___echo", {"text": "g"}, as_tenant("globex"))
        assert response.status_code == 200, (i, response.status_code, response.text)
    assert_throttled(call(gateway, "vault___echo", {"text": "g"}, as_tenant("globex")), 10)
    for _ in range(2):
        assert call(gateway, "vault___echo", {"text": "n"}, as_tenant("anon")).status_code == 200
    assert_throttled(call(gateway, "vault___echo", {"text": "n"}, as_tenant("anon")), 10)


def test_list_requests_are_metered_too(launcher, vault):
    """tools/list, resources/list, resources/templates/list and prompts/list draw from the same
    bucket as calls; ping and initialize do not."""
    gateway = launcher.gateway(api_key_gateway_docs(
        vault, rateLimits={"perTenant": {"requestsPerSecond": 0.1, "burst": 4}}))
    acme = as_tenant("acme")
    for method in ("tools/list", "resources/list", "resources/templates/list", "prompts/list"):
        response = modern(gateway, method, headers=acme)
        assert response.status_code == 200, (method, response.status_code, response.text)
    for method in ("tools/list", "resources/list", "resources/templates/list", "prompts/list"):
        assert_throttled(modern(gateway, method, headers=acme), 10)
    assert_throttled(call(gateway, "vault___echo", {"text": "x"}, acme), 10)
    assert modern(gateway, "ping", headers=acme).status_code == 200
    with httpx2.Client(timeout=30, headers=acme) as http:
        legacy_handshake(http, gateway.url)  # initialize is not metered


def test_per_tool_limits(launcher, vault):
    limits = {"perTenant": {"requestsPerSecond": 100, "burst": 100},
              "tools": [{"tools": ["vault___whoami"], "requestsPerSecond": 0.1, "burst": 1},
                        {"targets": ["vault"], "tools": ["vault___ech*"], "requestsPerSecond": 0.1,
                         "burst": 2}]}
    gateway = launcher.gateway(api_key_gateway_docs(vault, rateLimits=limits))
    acme = as_tenant("acme")
    assert call(gateway, "vault___whoami", {}, acme).status_code == 200
    assert_throttled(call(gateway, "vault___whoami", {}, acme), 10)
    for _ in range(2):
        assert call(gateway, "vault___echo", {"text": "e"}, acme).status_code == 200
    assert_throttled(call(gateway, "vault___echo", {"text": "e"}, acme), 10)
    # Other tools and other tenants are unaffected.
    assert call(gateway, "vault___trace_headers", {}, acme).status_code == 200
    assert call(gateway, "vault___whoami", {}, as_tenant("globex")).status_code == 200


def test_replicas_share_the_configured_rate(launcher, vault):
    """With spec.replicas 2, each replica enforces half: burst 4 → 2 here, 0.2/s → 0.1/s."""
    gateway = launcher.gateway(api_key_gateway_docs(
        vault, replicas=2, rateLimits={"perTenant": {"requestsPerSecond": 0.2, "burst": 4}}))
    for _ in range(2):
        assert call(gateway, "vault___echo", {"text": "r"}, as_tenant("acme")).status_code == 200
    seconds = assert_throttled(call(gateway, "vault___echo", {"text": "r"}, as_tenant("acme")), 10)
    assert seconds >= 9, f"a token every 10 s per replica, Retry-After {seconds}"


def test_throttled_inside_a_legacy_sse_stream(launcher, vault):
    gateway = launcher.gateway(api_key_gateway_docs(
        vault, rateLimits={"perTenant": {"requestsPerSecond": 0.1, "burst": 2}}))

    async def scenario():
        async with Client(sse_client(f"{gateway.base}/sse", headers=as_tenant("acme")),
                          mode="legacy", cache=None) as client:
            await client.list_tools()
            await client.call_tool("vault___echo", {"text": "sse"})
            try:
                await client.list_tools()
            except MCPError as error:
                return error
            raise AssertionError("the third request was not throttled")

    error = run(scenario())
    assert error.code == THROTTLED, error
    assert error.data["retryAfterMs"] > 0 and error.data["retryAfterSeconds"] >= 1, error.data


# --- audit log --------------------------------------------------------------------------------

def audit_gateway(launcher, vault, idp=None, **spec: Any):
    """JWT inbound (tenant claim), the vault target (2 s timeout), a per-tool limit so a call
    can be throttled."""
    limits = {"perTenant": {"requestsPerSecond": 100, "burst": 100},
              "tools": [{"tools": ["vault___whoami"], "requestsPerSecond": 0.01, "burst": 1}]}
    auth = {"type": "JWT", "jwt": {"discoveryUrl": idp.discovery_url}}
    return launcher.gateway([gateway_doc(inboundAuth=auth, rateLimits=limits, **spec),
                             target_doc("vault", vault.url, timeoutSeconds=2)], split_stderr=True)


def wait_for_records(gateway, count: int) -> list[dict[str, Any]]:
    return wait_until(lambda: len(gateway.audit_records()) >= count and gateway.audit_records(),
                      15, f"{count} audit lines")


def test_audit_lines_for_every_outcome(launcher, vault):
    idp = launcher.oauth_server()
    gateway = audit_gateway(launcher, vault, idp)
    token = idp.mint({"aud": gateway.url, "sub": "alice", "client_id": "agent-a", "tenant": "acme"})
    caller = {"Authorization": f"Bearer {token}"}
    traceparent = f"00-{TRACE_ID}-{PARENT_SPAN}-01"

    ok = call(gateway, "vault___echo", {"text": "audited"}, {**caller, "traceparent": traceparent})
    assert text(result_of(ok)) == "vault echo: audited"
    assert result_of(call(gateway, "vault___fail", {"message": "no"}, caller))["isError"]
    vault_control(vault, "fail?count=1&status=503")
    upstream_error = result_of(call(gateway, "vault___echo", {"text": "503"}, caller))
    assert upstream_error["isError"] and "503" in text(upstream_error), upstream_error
    timeout = result_of(call(gateway, "vault___slow", {"seconds": 10}, caller))
    assert timeout["isError"] and "vault" in text(timeout), timeout
    assert call(gateway, "vault___whoami", {}, caller).status_code == 200
    assert_throttled(call(gateway, "vault___whoami", {}, caller), 100)

    records = wait_for_records(gateway, 6)
    # One record per outcome (the first whoami, also ok, only spends the per-tool budget).
    by_outcome = {r["outcome"]: r for r in records
                  if (r["tool"], r["outcome"]) != ("vault___whoami", "ok")}
    assert len(records) == 6, records
    assert set(by_outcome) == {"ok", "tool_error", "upstream_error", "timeout", "throttled"}, records
    for record in records:
        assert record["method"] == "tools/call", record
        assert record["tenant"] == "acme" and record["user"] == "alice", record
        assert record["clientId"] == "agent-a" and record["subject"] == "alice", record
        assert record["target"] == "vault", record
        assert record["tool"].startswith("vault___"), record
        assert record["upstreamTool"] == record["tool"].removeprefix("vault___"), record
        assert isinstance(record["latencyMs"], (int, float)) and record["latencyMs"] >= 0, record
        assert re.fullmatch(r"[0-9a-f]{32}", record["traceId"]), record
        assert record["requestId"], record
        assert datetime.datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert "arguments" not in record and "result" not in record, "logged without being asked"
        assert token not in json.dumps(record)
    assert len({r["requestId"] for r in records}) == len(records), "request ids are unique"
    assert by_outcome["ok"]["event"] == "tool_call" and by_outcome["ok"]["traceId"] == TRACE_ID
    assert by_outcome["ok"]["upstreamTool"] == "echo"
    assert by_outcome["tool_error"]["tool"] == "vault___fail"
    assert "503" in by_outcome["upstream_error"]["reason"], by_outcome["upstream_error"]
    assert by_outcome["timeout"]["latencyMs"] >= 1500, by_outcome["timeout"]
    assert by_outcome["throttled"]["event"] == "request_throttled", by_outcome["throttled"]
    assert by_outcome["throttled"]["tool"] == "vault___whoami"
    # Only audit records are JSON on stdout; every other stdout line is plain text.
    for line in gateway.lines:
        assert line.startswith("{") == line.endswith("}"), line
    SUMMARIES.append("audit lines (test_operations.py):")
    SUMMARIES.extend("  " + json.dumps(by_outcome[o]) for o in
                     ("ok", "tool_error", "upstream_error", "timeout", "throttled"))


def test_throttled_list_is_audited(launcher, vault):
    gateway = launcher.gateway(api_key_gateway_docs(
        vault, rateLimits={"perTenant": {"requestsPerSecond": 0.1, "burst": 1}}), split_stderr=True)
    assert modern(gateway, "tools/list", headers=as_tenant("globex")).status_code == 200
    assert_throttled(modern(gateway, "prompts/list", headers=as_tenant("globex")), 10)
    record = wait_for_records(gateway, 1)[-1]
    assert record["event"] == "request_throttled" and record["outcome"] == "throttled", record
    assert record["method"] == "prompts/list" and record["tool"] is None, record
    assert record["tenant"] == "globex" and record["user"] == "ops", record
    assert record["subject"] == "globex-bot", record
    assert KEYS["globex"] not in json.dumps(record)


def test_audit_arguments_and_results_only_when_asked_and_redacted(launcher, vault):
    idp = launcher.oauth_server()
    gateway = audit_gateway(launcher, vault, idp, audit={"logArguments": True, "logResults": True,
                                                         "redactFields": ["label"]})
    token = idp.mint({"aud": gateway.url, "sub": "bob", "tenant": "acme"})
    caller = {"Authorization": f"Bearer {token}"}
    password = "hunter2-correct-horse-0c9a"
    assert not result_of(call(gateway, "vault___store", {"label": "bank", "password": password},
                              caller)).get("isError")
    assert text(result_of(call(gateway, "vault___echo", {"text": "visible"}, caller))) == \
        "vault echo: visible"
    store, echo = wait_for_records(gateway, 2)[-2:]
    assert store["arguments"] == {"label": "[REDACTED]", "password": "[REDACTED]"}, store
    assert "stored bank" in json.dumps(store["result"]), store
    assert echo["arguments"] == {"text": "visible"}, echo
    assert "vault echo: visible" in json.dumps(echo["result"]), echo
    for line in gateway.lines + gateway.stderr_lines:
        assert password not in line and token not in line, line


# --- metrics ---------------------------------------------------------------------------------

def test_denied_call_is_audited_and_counted(launcher, vault):
    """An authorization rule refusing a call: JSON-RPC -32003 naming the rule, a
    request_denied audit line, switchboard_denied_total and tool_calls_total{outcome=denied}."""
    rules = {"defaultAction": "Allow",
             "rules": [{"name": "no-fail-for-globex", "action": "Deny", "tools": ["vault___fail"],
                        "when": 'caller.tenant == "globex"'}]}
    gateway = launcher.gateway(api_key_gateway_docs(vault, authorization=rules), admin=True,
                               split_stderr=True)
    denied = call(gateway, "vault___fail", {"message": "m"}, as_tenant("globex"))
    error = rpc_body(denied)["error"]
    assert error["code"] == -32003 and "no-fail-for-globex" in error["message"], error
    allowed = result_of(call(gateway, "vault___fail", {"message": "m"}, as_tenant("acme")))
    assert allowed["isError"] and "vault refused: m" in text(allowed), allowed
    records = wait_for_records(gateway, 2)
    record = next(r for r in records if r["outcome"] == "denied")
    assert record["event"] == "request_denied" and record["method"] == "tools/call", record
    assert record["tenant"] == "globex" and record["subject"] == "globex-bot", record
    assert record["tool"] == "vault___fail" and record["target"] == "vault", record
    assert record["upstreamTool"] == "fail", record
    assert "no-fail-for-globex" in record["reason"], record
    samples = scrape(gateway)
    assert sample(samples, "switchboard_tool_calls_total", tenant="globex", target="vault",
                  tool="vault___fail", outcome="denied") == 1
    assert sample(samples, "switchboard_tool_calls_total", tenant="acme", target="vault",
                  tool="vault___fail", outcome="tool_error") == 1
    assert sample(samples, "switchboard_denied_total", tenant="acme") is None
    denied_total = {dict(k[1])["tenant"]: v for k, v in samples.items()
                    if k[0] == "switchboard_denied_total"}
    assert denied_total == {"globex": 1}, \
        f"switchboard_denied_total after one denied call of tenant globex: {denied_total}"




def scrape(gateway) -> dict[tuple[str, frozenset], float]:
    with http_client() as http:
        response = http.get(gateway.metrics_url)
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?", line)
        assert match, f"unparsable exposition line: {line!r}"
        name, labels, value = match.groups()
        pairs = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels or ""))
        samples[(name, pairs)] = float(value)
    return samples


def sample(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def compact(arguments: dict[str, Any]) -> int:
    return len(json.dumps(arguments, separators=(",", ":")))


def test_metrics_after_a_scripted_workload(launcher, vault):
    limits = {"perTenant": {"requestsPerSecond": 100, "burst": 100},
              "tools": [{"tools": ["vault___whoami"], "requestsPerSecond": 0.01, "burst": 1}]}
    started = datetime.datetime.now(datetime.timezone.utc).timestamp()
    gateway = launcher.gateway(api_key_gateway_docs(vault, rateLimits=limits), admin=True)
    acme, globex, anon = as_tenant("acme"), as_tenant("globex"), as_tenant("anon")
    args_in = {"acme": 0, "globex": 0, "_none": 0}

    def tool(headers, tenant, name, arguments, status=200):
        response = call(gateway, name, arguments, headers)
        assert response.status_code == status, (name, response.status_code, response.text)
        if status == 200 and "result" in rpc_body(response):
            args_in[tenant] += compact(arguments)
        return response

    for word in ("a", "bb", "ccc"):
        tool(acme, "acme", "vault___echo", {"text": word})
    tool(acme, "acme", "vault___fail", {"message": "m"})
    tool(acme, "acme", "vault___whoami", {})
    tool(acme, "acme", "vault___whoami", {}, status=429)
    unknown = call(gateway, "vault___no_such_tool", {}, acme)
    assert rpc_body(unknown)["error"]["code"] == -32602, unknown.text
    for _ in range(2):
        assert modern(gateway, "tools/list", headers=acme).status_code == 200
    tool(globex, "globex", "vault___echo", {"text": "g"})
    tool(globex, "globex", "vault___whoami", {})
    assert modern(gateway, "prompts/list", headers=globex).status_code == 200
    tool(anon, "_none", "vault___echo", {"text": "n"})
    with httpx2.Client(timeout=30, headers=acme) as http:  # one handshake-era session
        session = legacy_handshake(http, gateway.url)
        listed = http.post(gateway.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                           headers=legacy_headers(session))
        assert listed.status_code == 200

    samples = scrape(gateway)
    calls = "switchboard_tool_calls_total"
    expected_calls = {
        ("acme", "vault___echo", "ok"): 3, ("acme", "vault___fail", "tool_error"): 1,
        ("acme", "vault___whoami", "ok"): 1, ("acme", "vault___whoami", "throttled"): 1,
        ("globex", "vault___echo", "ok"): 1, ("globex", "vault___whoami", "ok"): 1,
        ("_none", "vault___echo", "ok"): 1,
    }
    got_calls = {(dict(k[1])["tenant"], dict(k[1])["tool"], dict(k[1])["outcome"]): v
                 for k, v in samples.items() if k[0] == calls}
    assert got_calls == expected_calls, got_calls
    for (tenant, name, outcome), value in expected_calls.items():
        assert sample(samples, calls, tenant=tenant, target="vault", tool=name,
                      outcome=outcome) == value
    assert sample(samples, "switchboard_requests_total", method="tools/call", status="ok") == 8
    assert sample(samples, "switchboard_requests_total", method="tools/call", status="error") == 1
    assert sample(samples, "switchboard_requests_total", method="tools/list", status="ok") == 3
    assert sample(samples, "switchboard_requests_total", method="prompts/list", status="ok") == 1
    assert sample(samples, "switchboard_request_duration_seconds_count", method="tools/call") == 9
    assert sample(samples, "switchboard_upstream_duration_seconds_count", target="vault") == 8
    assert sample(samples, "switchboard_throttled_total", tenant="acme") == 1
    assert sample(samples, "switchboard_throttled_total", tenant="globex") is None
    assert not [k for k in samples if k[0] == "switchboard_denied_total"], "nothing was denied"
    assert sample(samples, "switchboard_tenant_tool_calls_total", tenant="acme") == 5
    assert sample(samples, "switchboard_tenant_tool_calls_total", tenant="globex") == 2
    assert sample(samples, "switchboard_tenant_tool_calls_total", tenant="_none") == 1
    for tenant, size in args_in.items():
        assert sample(samples, "switchboard_tenant_tool_call_bytes_total", tenant=tenant,
                      direction="in") == size, (tenant, size)
        assert sample(samples, "switchboard_tenant_tool_call_bytes_total", tenant=tenant,
                      direction="out") > 0
    assert sample(samples, "switchboard_catalog_tools", target="vault") == 6
    synced = sample(samples, "switchboard_catalog_synced_at_seconds", target="vault")
    assert started - 2 <= synced <= datetime.datetime.now(datetime.timezone.utc).timestamp() + 1
    assert sample(samples, "switchboard_sessions_opened_total") == 1
    assert sample(samples, "switchboard_legacy_sse_streams") == 0
    SUMMARIES.append("metrics after the scripted workload (test_operations.py):")
    SUMMARIES.extend(f"  {name}{{{','.join(f'{k}={v!r}' for k, v in sorted(labels))}}} {value:g}"
                     for (name, labels), value in sorted(samples.items())
                     if name.endswith("_total") or name in ("switchboard_catalog_tools",))

    # An open legacy SSE stream is a gauge that goes back down when the client leaves.
    with httpx2.Client(timeout=15, headers=acme) as http:
        with http.stream("GET", f"{gateway.base}/sse", headers={"Accept": "text/event-stream"}) as s:
            chunks = s.iter_text()
            next(chunks)
            wait_until(lambda: sample(scrape(gateway), "switchboard_legacy_sse_streams") == 1, 10,
                       "the open stream to be counted")
    wait_until(lambda: sample(scrape(gateway), "switchboard_legacy_sse_streams") == 0, 10,
               "the closed stream to be uncounted")


# --- trace context ---------------------------------------------------------------------------

def upstream_trace(result: dict[str, Any]) -> dict[str, Any]:
    return result.get("structuredContent") or json.loads(text(result))


def assert_continued(seen: dict[str, Any], flags: str = "01") -> str:
    parts = (seen["traceparent"] or "").split("-")
    assert len(parts) == 4 and parts[0] == "00", seen
    assert parts[1] == TRACE_ID, f"the upstream is in another trace: {seen}"
    assert re.fullmatch(r"[0-9a-f]{16}", parts[2]) and parts[2] != PARENT_SPAN, \
        f"the upstream call should be a new span: {seen}"
    assert parts[3] == flags, seen
    return parts[2]


def test_traceparent_from_the_client_reaches_the_upstream(launcher, vault):
    gateway = launcher.gateway([gateway_doc(), target_doc("vault", vault.url)], split_stderr=True)
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-01", "tracestate": "congo=t61rcWkgMzE,rojo=1"}

    # 2026-07-28, header.
    seen = upstream_trace(result_of(call(gateway, "vault___trace_headers", {}, headers)))
    span_modern = assert_continued(seen)
    assert seen["tracestate"] == "congo=t61rcWkgMzE,rojo=1", seen

    # Handshake era, header, inside a session.
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "vault___trace_headers", "arguments": {}}}
    with http_client() as http:
        session = legacy_handshake(http, gateway.url)
        answer = http.post(gateway.url, json=body, headers={**legacy_headers(session), **headers})
    seen = upstream_trace(result_of(answer))
    span_legacy = assert_continued(seen)
    assert span_legacy != span_modern, "each upstream call is its own span"

    # `_meta.traceparent` when there is no header; unsampled flags are kept.
    meta = {"traceparent": f"00-{TRACE_ID}-{PARENT_SPAN}-00", "tracestate": "vendor=meta"}
    request_headers, body = modern_request("tools/call", {"name": "vault___trace_headers",
                                                          "arguments": {}})
    body["params"]["_meta"].update(meta)
    with http_client() as http:
        seen = upstream_trace(result_of(http.post(gateway.url, json=body, headers=request_headers)))
    assert_continued(seen, flags="00")
    assert seen["tracestate"] == "vendor=meta", seen

    # The audit lines carry the client's trace id.
    records = wait_for_records(gateway, 3)
    assert [r["traceId"] for r in records[-3:]] == [TRACE_ID] * 3, records


def test_without_a_traceparent_the_upstream_gets_a_fresh_trace(launcher, vault):
    gateway = launcher.gateway([gateway_doc(), target_doc("vault", vault.url)], split_stderr=True)
    seen = upstream_trace(result_of(call(gateway, "vault___trace_headers", {})))
    parts = seen["traceparent"].split("-")
    assert re.fullmatch(r"[0-9a-f]{32}", parts[1]) and parts[1] != "0" * 32, seen
    record = wait_for_records(gateway, 1)[-1]
    assert record["traceId"] == parts[1], (record, seen)
    assert seen["tracestate"] is None, seen
