"""Inbound authentication through the real gateway, against a real OAuth server
(npm `oauth2-mock-server` via tests/fixtures/oauth_server.mjs) and real MCP clients.

Every bad token is tried on the three authenticated surfaces (handshake-era `/mcp`,
2026-07-28 `/mcp`, legacy `GET /sse`); the table of what the gateway answered is printed at
the end of the run.
"""

import asyncio
import json
import re
import time
from typing import Any

import httpx2
import pytest
from harness import (
    SUMMARIES, MemoryTokens, connect, gateway_doc, http_client, legacy_handshake, legacy_headers,
    list_all, modern_request, rpc_body, run, secret_doc, target_doc, text_of, wait_until,
)
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

SCOPE = "mcp:tools"
CLIENTS = {"agent-a": "agent-a-client-secret-7f3e", "agent-b": "agent-b-client-secret-91c2"}
LEEWAY = 5
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "switchboard-e2e", "version": "0"}}}
BAD_TOKEN_TABLE: list[tuple[str, str, str, str, str]] = []


def jwt_auth(oauth, **jwt: Any) -> dict[str, Any]:
    return {"type": "JWT", "jwt": {"discoveryUrl": oauth.discovery_url, **jwt}}


@pytest.fixture(scope="module")
def idp(module_launcher):
    return module_launcher.oauth_server(CLIENTS)


@pytest.fixture(scope="module")
def upstream(module_launcher):
    return module_launcher.fixture("catalog_server.py")


@pytest.fixture(scope="module")
def gw(module_launcher, idp, upstream):
    """JWT gateway: audience = its own /mcp URL (no allowedAudiences), scope mcp:tools
    required, only agent-a allowed, tenant from the `tenant` claim."""
    auth = jwt_auth(idp, requiredScopes=[SCOPE], allowedClients=["agent-a"],
                    leewaySeconds=LEEWAY)
    return module_launcher.gateway([gateway_doc(inboundAuth=auth), target_doc("catalog", upstream.url)],
                                   split_stderr=True)


def claims(gateway, **extra: Any) -> dict[str, Any]:
    """A valid caller: agent-a acting for alice of tenant acme, for this gateway."""
    return {"aud": gateway.url, "client_id": "agent-a", "sub": "alice", "scope": SCOPE,
            "tenant": "acme", **extra}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the three authenticated surfaces, raw ------------------------------------------------

def probe_legacy(gateway, headers: dict[str, str]) -> httpx2.Response:
    with http_client() as http:
        return http.post(gateway.url, json=INIT, headers={**legacy_headers(), **headers})


def probe_modern(gateway, headers: dict[str, str]) -> httpx2.Response:
    request_headers, body = modern_request("tools/list")
    with http_client() as http:
        return http.post(gateway.url, json=body, headers={**request_headers, **headers})


def probe_sse(gateway, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """GET /sse: status, headers and the first bytes (the endpoint event when accepted)."""
    with http_client(timeout=15) as http:
        with http.stream("GET", f"{gateway.base}/sse",
                         headers={"Accept": "text/event-stream", **headers}) as response:
            first = ""
            if response.status_code == 200:
                for chunk in response.iter_text():
                    first += chunk
                    if "endpoint" in first and "\n\n" in first:
                        break
            else:
                first = response.read().decode(errors="replace")
            return response.status_code, dict(response.headers), first


def challenge(headers) -> str:
    return headers.get("www-authenticate", "")


def metadata_url(gateway) -> str:
    return f"{gateway.base}/.well-known/oauth-protected-resource/mcp"


def error_of(header: str) -> str:
    match = re.search(r'error="([^"]*)"', header)
    return match.group(1) if match else "-"


def assert_refused(gateway, headers: dict[str, str], status: int, error: str | None,
                   case: str, token: str | None = None) -> None:
    """All three surfaces refuse with STATUS, the Bearer challenge naming the metadata URL,
    ERROR in it (None: no error attribute), and never echo the token."""
    legacy = probe_legacy(gateway, headers)
    modern = probe_modern(gateway, headers)
    sse_status, sse_headers, sse_body = probe_sse(gateway, headers)
    for surface, got, got_headers, body in [
        ("/mcp handshake", legacy.status_code, legacy.headers, legacy.text),
        ("/mcp 2026-07-28", modern.status_code, modern.headers, modern.text),
        ("GET /sse", sse_status, sse_headers, sse_body),
    ]:
        header = challenge(got_headers)
        assert got == status, f"{case} on {surface}: HTTP {got} {header!r} {body[:300]}"
        assert header.startswith("Bearer "), f"{case} on {surface}: {header!r}"
        assert f'resource_metadata="{metadata_url(gateway)}"' in header, f"{case}: {header!r}"
        if error is None:
            assert "error=" not in header, f"{case} on {surface}: {header!r}"
        else:
            assert error_of(header) == error, f"{case} on {surface}: {header!r}"
        if token:
            assert token not in body and token not in header, f"{case}: token echoed on {surface}"
            payload = token.split(".")[1] if token.count(".") == 2 else token
            assert payload not in body, f"{case}: token payload echoed on {surface}"
    BAD_TOKEN_TABLE.append((case, str(legacy.status_code), str(modern.status_code), str(sse_status),
                            shown(challenge(legacy.headers))))


def shown(header: str) -> str:
    """A challenge for the table, with the (long, per-run) metadata URL elided."""
    return re.sub(r'resource_metadata="[^"]*"', 'resource_metadata="…"', header)


def print_table() -> None:
    if not BAD_TOKEN_TABLE:
        return
    widths = [max(len(row[i]) for row in BAD_TOKEN_TABLE + [HEADER]) for i in range(5)]
    lines = ["inbound auth: what the gateway answered (test_auth.py)"]
    for row in [HEADER, tuple("-" * w for w in widths), *BAD_TOKEN_TABLE]:
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    SUMMARIES.extend(lines)


HEADER = ("case", "/mcp handshake", "/mcp 2026-07-28", "GET /sse", "WWW-Authenticate (handshake /mcp)")


@pytest.fixture(scope="module", autouse=True)
def _table_at_the_end():
    yield
    print_table()


# --- valid tokens --------------------------------------------------------------------------

def test_valid_token_is_accepted_on_every_surface(gw, idp):
    token = idp.mint(claims(gw))
    legacy = probe_legacy(gw, bearer(token))
    assert legacy.status_code == 200, (legacy.status_code, legacy.text)
    assert "result" in rpc_body(legacy), legacy.text
    modern = probe_modern(gw, bearer(token))
    assert modern.status_code == 200, (modern.status_code, modern.text)
    assert {t["name"] for t in rpc_body(modern)["result"]["tools"]} >= {"catalog___get_item"}
    status, _, first = probe_sse(gw, bearer(token))
    assert status == 200 and "/messages?sessionId=" in first, (status, first)
    BAD_TOKEN_TABLE.append(("valid token (reference)", str(legacy.status_code),
                            str(modern.status_code), str(status), "(none)"))


def test_token_within_leeway_is_accepted(gw, idp):
    now = int(time.time())
    token = idp.mint(claims(gw, exp=now - 2, nbf=now + 2, iat=now - 60))
    response = probe_legacy(gw, bearer(token))
    assert response.status_code == 200, (response.status_code, challenge(response.headers))


# --- bad tokens ----------------------------------------------------------------------------

BAD_CASES = [
    # case, how to make the token, expected status, expected error
    ("expired (exp = now-120 s, leeway 5 s)", "expired", 401, "invalid_token"),
    ("not yet valid (nbf = now+120 s)", "not_yet_valid", 401, "invalid_token"),
    ("no exp claim", "no_exp", 401, "invalid_token"),
    ("wrong audience (another resource)", "wrong_audience", 401, "invalid_token"),
    ("audience of the gateway's base URL, not /mcp", "base_audience", 401, "invalid_token"),
    ("wrong issuer (validly signed)", "wrong_issuer", 401, "invalid_token"),
    ("wrong signature (foreign key, issuer's kid)", "foreign-key", 401, "invalid_token"),
    ("tampered payload (genuine signature)", "tampered", 401, "invalid_token"),
    ("alg: none", "none", 401, "invalid_token"),
    ("HS256 signed with the issuer's public key", "hs256-public-key", 401, "invalid_token"),
    ("disallowed client (client_id agent-b)", "agent_b", 401, "invalid_token"),
    ("disallowed client via azp (no client_id)", "azp_b", 401, "invalid_token"),
    ("missing scope (scope: openid)", "no_scope", 403, "insufficient_scope"),
    ("not a JWT", "garbage", 401, "invalid_token"),
]


def make_token(kind: str, gateway, idp) -> str:
    now = int(time.time())
    good = claims(gateway)
    match kind:
        case "expired":
            return idp.mint({**good, "iat": now - 300, "nbf": now - 300, "exp": now - 120})
        case "not_yet_valid":
            return idp.mint({**good, "nbf": now + 120})
        case "no_exp":
            return idp.mint({**good, "exp": None})
        case "wrong_audience":
            return idp.mint({**good, "aud": "http://127.0.0.1:1/mcp"})
        case "base_audience":
            return idp.mint({**good, "aud": gateway.base})
        case "wrong_issuer":
            return idp.mint({**good, "iss": "http://127.0.0.1:9/not-the-issuer"})
        case "foreign-key" | "tampered" | "none" | "hs256-public-key":
            return idp.forge(kind, good)
        case "agent_b":
            return idp.mint({**good, "client_id": "agent-b"})
        case "azp_b":
            return idp.mint({**good, "client_id": None, "azp": "agent-b"})
        case "no_scope":
            return idp.mint({**good, "scope": "openid"})
        case "garbage":
            return "not-a-jwt"
    raise AssertionError(kind)


@pytest.mark.parametrize("case,kind,status,error", BAD_CASES, ids=[c[1] for c in BAD_CASES])
def test_bad_token_is_refused(gw, idp, case, kind, status, error):
    token = make_token(kind, gw, idp)
    assert_refused(gw, bearer(token), status, error, case, token)


def test_missing_scope_names_the_required_scope(gw, idp):
    token = make_token("no_scope", gw, idp)
    header = challenge(probe_legacy(gw, bearer(token)).headers)
    assert f'scope="{SCOPE}"' in header, header


def test_missing_token_gets_401_with_metadata_that_leads_to_the_issuer(gw, idp):
    assert_refused(gw, {}, 401, None, "missing token")
    assert_refused(gw, {"Authorization": "Basic YWdlbnQtYTpzZWNyZXQ="}, 401, None,
                   "Basic credentials instead of Bearer")
    header = challenge(probe_legacy(gw, {}).headers)
    url = re.search(r'resource_metadata="([^"]+)"', header).group(1)
    with http_client() as http:
        for path in (url, f"{gw.base}/.well-known/oauth-protected-resource"):
            document = http.get(path)
            assert document.status_code == 200, (path, document.status_code, document.text)
            body = document.json()
            assert body["resource"] == gw.url, body
            assert body["authorization_servers"] == [idp.issuer], body
            assert SCOPE in body.get("scopes_supported", []), body
            assert "header" in body.get("bearer_methods_supported", []), body
        # The advertised authorization server really is one: its metadata names its token endpoint.
        server = http.get(f"{body['authorization_servers'][0]}/.well-known/openid-configuration")
        assert server.json()["issuer"] == idp.issuer


def test_metadata_is_404_without_jwt(launcher, upstream):
    open_gw = launcher.gateway([gateway_doc(), target_doc("catalog", upstream.url)])
    keys = secret_doc("gateway-api-keys", {"keys.yaml": "- {name: ci, key: sk-metadata-test-1}\n"})
    key_gw = launcher.gateway([
        gateway_doc(inboundAuth={"type": "APIKey", "apiKey": {"secretRef": {"name": "gateway-api-keys"}}}),
        keys, target_doc("catalog", upstream.url)])
    with http_client() as http:
        for gateway in (open_gw, key_gw):
            for path in ("/.well-known/oauth-protected-resource",
                         "/.well-known/oauth-protected-resource/mcp"):
                response = http.get(gateway.base + path)
                assert response.status_code == 404, (path, response.status_code, response.text)


def test_audience_from_allowed_audiences(launcher, idp, upstream):
    """With allowedAudiences set, an API identifier is accepted and the URL is not required."""
    gateway = launcher.gateway([gateway_doc(inboundAuth=jwt_auth(idp, allowedAudiences=["switchboard"])),
                                target_doc("catalog", upstream.url)])
    accepted = probe_legacy(gateway, bearer(idp.mint(claims(gateway, aud="switchboard"))))
    assert accepted.status_code == 200, (accepted.status_code, challenge(accepted.headers))
    refused = probe_legacy(gateway, bearer(idp.mint(claims(gateway, aud="other-api"))))
    assert refused.status_code == 401 and error_of(challenge(refused.headers)) == "invalid_token"


def test_public_url_is_the_resource_and_the_audience(launcher, idp, upstream):
    public = "https://switchboard.example.com/mcp"
    gateway = launcher.gateway([gateway_doc(publicUrl=public, inboundAuth=jwt_auth(idp)),
                                target_doc("catalog", upstream.url)])
    refused = probe_legacy(gateway, {})
    assert refused.status_code == 401
    assert challenge(refused.headers) == \
        'Bearer resource_metadata="https://switchboard.example.com/.well-known/oauth-protected-resource/mcp"'
    with http_client() as http:
        document = http.get(f"{gateway.base}/.well-known/oauth-protected-resource/mcp").json()
    assert document["resource"] == public, document
    accepted = probe_legacy(gateway, bearer(idp.mint(claims(gateway, aud=public))))
    assert accepted.status_code == 200, (accepted.status_code, challenge(accepted.headers))
    local = probe_legacy(gateway, bearer(idp.mint(claims(gateway))))  # aud = the local URL
    assert local.status_code == 401 and error_of(challenge(local.headers)) == "invalid_token"


def test_identity_provider_unreachable_is_503_not_401(launcher, upstream):
    from harness import free_port

    dead = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    gateway = launcher.gateway([gateway_doc(inboundAuth={"type": "JWT", "jwt": {"discoveryUrl": dead}}),
                                target_doc("catalog", upstream.url)])
    response = probe_legacy(gateway, bearer("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"))
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("retry-after"), dict(response.headers)
    BAD_TOKEN_TABLE.append(("IdP unreachable (discovery refused)", "503", "-", "-",
                            f"none; Retry-After: {response.headers.get('retry-after')}"))


# --- key rotation --------------------------------------------------------------------------

def test_key_rotation_new_kid_accepted_after_jwks_refresh(launcher, upstream):
    idp = launcher.oauth_server(CLIENTS)
    gateway = launcher.gateway([gateway_doc(inboundAuth=jwt_auth(idp)), target_doc("catalog", upstream.url)])
    first = idp.mint(claims(gateway))
    assert probe_legacy(gateway, bearer(first)).status_code == 200
    jwks_before = idp.stats()["jwks"]
    assert jwks_before >= 1

    idp.add_key("key-2")  # published in the JWKS and used for signing from now on
    rotated = idp.mint(claims(gateway), kid="key-2")
    assert json.loads(_b64(rotated.split(".")[0]))["kid"] == "key-2"
    attempts = []

    def accepted() -> bool:
        response = probe_legacy(gateway, bearer(rotated))
        attempts.append(response.status_code)
        assert response.status_code in (200, 401), (response.status_code, response.text)
        return response.status_code == 200

    # The gateway refetches the JWKS for an unknown kid at most once per 10 s.
    wait_until(accepted, 30, "a token signed with the rotated key to be accepted", interval=0.25)
    fetched = idp.stats()["jwks"] - jwks_before
    assert 1 <= fetched <= 2, f"{fetched} JWKS fetches for {len(attempts)} attempts: {attempts}"
    # Tokens of the old key still verify (it is still published).
    assert probe_legacy(gateway, bearer(first)).status_code == 200
    SUMMARIES.append(f"key rotation: new kid accepted after {len(attempts)} attempt(s) "
                     f"({attempts.count(401)} refused while the JWKS was fresh), "
                     f"{fetched} JWKS refetch(es)")


def _b64(part: str) -> str:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


# --- real MCP clients ------------------------------------------------------------------------

async def _session_with_headers(url: str, mode: str, headers: dict[str, str]):
    async with create_mcp_http_client(headers=headers) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, cache=None,
                          read_timeout_seconds=30) as client:
            tools = await list_all(client, "tools")
            result = await client.call_tool("catalog___get_item", {"item_id": "42"})
            return [t.name for t in tools], result


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_with_bearer_token(gw, idp, mode):
    token = idp.mint(claims(gw))
    names, result = run(_session_with_headers(gw.url, mode, bearer(token)))
    assert "catalog___get_item" in names
    assert not result.is_error and text_of(result) == "catalog product 42: blue teapot"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_client_without_token_is_refused(gw, mode):
    """An SDK client without credentials gets nothing (the SDK reports the 401 as a generic
    error; the raw answers are checked above)."""
    refused_before = sum('rejection="missing_token"' in line for line in gw.stderr_lines)

    async def scenario():
        async with connect(gw.url, mode) as client:
            await client.list_tools()

    with pytest.raises(Exception):
        run(scenario(), timeout=30)
    wait_until(lambda: sum('rejection="missing_token"' in line for line in gw.stderr_lines)
               > refused_before, 10, "the gateway to log the refusal")


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_sdk_oauth_client_credentials_discovers_and_authenticates(launcher, upstream, mode):
    """The SDK's own OAuth flow: 401 → RFC 9728 metadata → authorization server metadata →
    client_credentials token with `resource` = the gateway's /mcp URL → retried request."""
    idp = launcher.oauth_server(CLIENTS)
    gateway = launcher.gateway([gateway_doc(inboundAuth=jwt_auth(idp, requiredScopes=[SCOPE],
                                                                 allowedClients=["agent-a"])),
                                target_doc("catalog", upstream.url)], split_stderr=True)
    storage = MemoryTokens()

    async def scenario():
        provider = ClientCredentialsOAuthProvider(
            server_url=gateway.url, storage=storage, client_id="agent-a",
            client_secret=CLIENTS["agent-a"], scope=SCOPE, issuer=idp.issuer)
        async with create_mcp_http_client(auth=provider) as http:
            async with Client(streamable_http_client(gateway.url, http_client=http), mode=mode,
                              cache=None, read_timeout_seconds=30) as client:
                tools = await list_all(client, "tools")
                result = await client.call_tool("catalog___get_item", {"item_id": "7"})
                return [t.name for t in tools], result

    names, result = run(scenario())
    assert "catalog___get_item" in names
    assert text_of(result) == "catalog product 7: red kettle"
    stats = idp.stats()
    assert stats["token"] == 1, stats
    assert stats["lastTokenRequest"]["resource"] == gateway.url, stats
    assert storage.tokens is not None
    wait_until(lambda: gateway.audit_records(), 10, "the call's audit line")
    record = gateway.audit_records()[-1]
    assert record["clientId"] == "agent-a" and record["subject"] == "agent-a", record


def test_legacy_sse_transport_with_token(gw, idp):
    token = idp.mint(claims(gw))

    async def scenario():
        async with Client(sse_client(f"{gw.base}/sse", headers=bearer(token)), mode="legacy",
                          cache=None) as client:
            tools = await list_all(client, "tools")
            return [t.name for t in tools], await client.call_tool("catalog___get_item",
                                                                   {"item_id": "9"})

    names, result = run(scenario())
    assert "catalog___get_item" in names
    assert text_of(result) == "catalog product 9: green mug"


def test_legacy_sse_messages_need_the_same_subject(gw, idp):
    alice = idp.mint(claims(gw))
    bob = idp.mint(claims(gw, sub="bob"))
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    with http_client(timeout=15) as http:
        with http.stream("GET", f"{gw.base}/sse",
                         headers={"Accept": "text/event-stream", **bearer(alice)}) as stream:
            assert stream.status_code == 200
            chunks = stream.iter_text()  # held: dropping the iterator would close the stream
            text = ""
            while "\n\n" not in text:
                text += next(chunks)
            endpoint = re.search(r"data: *(\S+)", text).group(1)
            url = f"{gw.base}{endpoint}"
            with http_client() as fresh:  # not on `http`: see test_connection_after_a_401
                no_token = fresh.post(url, json=body)
            assert no_token.status_code == 401, (no_token.status_code, no_token.text)
            other = http.post(url, json=body, headers=bearer(bob))
            assert other.status_code == 404, (other.status_code, other.text)
            own = http.post(url, json=body, headers=bearer(alice))
            assert own.status_code == 202, (own.status_code, own.text)
            while '"id":2' not in text.replace(" ", ""):
                text += next(chunks)
            assert "catalog___get_item" in text, text


def test_session_is_bound_to_its_subject(gw, idp):
    alice = idp.mint(claims(gw))
    bob = idp.mint(claims(gw, sub="bob"))
    ping = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}
    with httpx2.Client(timeout=30, headers=bearer(alice)) as http:
        session = legacy_handshake(http, gw.url)
        own = http.post(gw.url, json=ping, headers=legacy_headers(session))
        assert own.status_code == 200 and "result" in rpc_body(own), own.text
    with http_client() as http:
        stolen = http.post(gw.url, json=ping, headers={**legacy_headers(session), **bearer(bob)})
        assert stolen.status_code == 404, (stolen.status_code, stolen.text)
        anonymous = http.post(gw.url, json=ping, headers=legacy_headers(session))
        assert anonymous.status_code == 401, (anonymous.status_code, anonymous.text)


def test_connection_after_a_401_is_reusable_or_explicitly_closed(gw, idp):
    """A client that sends its headers and body in separate TCP segments (as HTTP clients do)
    can get the 401 before the body is through. The connection must then either stay usable
    for the next request (the retry with a token, on the same keep-alive connection) or the
    401 must say `Connection: close`; silently closing it makes the client's next request fail
    with "Server disconnected without sending a response"."""
    import socket

    port = int(gw.url.rsplit(":", 1)[1].split("/")[0])
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    token = idp.mint(claims(gw))
    follow_up = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                 f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n"
                 f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    def read_head(sock) -> str:
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, "connection closed without an answer"
            answer += chunk
        return answer.split(b"\r\n\r\n")[0].decode()

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(2)
        try:  # the gateway answers before the body is sent...
            head_of_401 = read_head(sock)
        except TimeoutError:  # ...or waits for it, which is fine too
            head_of_401 = None
        sock.settimeout(10)
        sock.sendall(body)
        if head_of_401 is None:
            head_of_401 = read_head(sock)
        assert head_of_401.startswith("HTTP/1.1 401"), head_of_401
        if "connection: close" in head_of_401.lower():
            return
        try:
            sock.sendall(follow_up)
            deadline = time.monotonic() + 10
            reply = b""
            while b"HTTP/1.1 200" not in reply and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError as error:
            reply = repr(error).encode()
    assert b"HTTP/1.1 200" in reply, (
        "after a 401 without `Connection: close`, the gateway closed the keep-alive connection: "
        f"the next request got {reply[:200]!r}\n401 was:\n{head_of_401}")


# --- API keys ------------------------------------------------------------------------------

API_KEYS = {"ci": "sk-live-ci-4c1d9a0e77b2", "alice": "sk-live-alice-0b8e2f61d3c4"}


@pytest.fixture(scope="module")
def key_gw(module_launcher, upstream):
    import hashlib

    table = (f"- name: ci-bot\n  key: {API_KEYS['ci']}\n  tenant: acme\n  user: ci\n"
             f"- name: alice-laptop\n  sha256: {hashlib.sha256(API_KEYS['alice'].encode()).hexdigest()}\n"
             f"  tenant: globex\n")
    return module_launcher.gateway([
        gateway_doc(inboundAuth={"type": "APIKey", "apiKey": {"secretRef": {"name": "gateway-api-keys"}}}),
        secret_doc("gateway-api-keys", {"keys.yaml": table}),
        target_doc("catalog", upstream.url),
    ], split_stderr=True)


def test_api_key_valid_in_header_and_as_bearer(key_gw):
    for headers in ({"X-API-Key": API_KEYS["ci"]}, bearer(API_KEYS["ci"]),
                    {"x-api-key": API_KEYS["alice"]}):
        response = probe_legacy(key_gw, headers)
        assert response.status_code == 200, (headers.keys(), response.status_code, response.text)
        assert probe_modern(key_gw, headers).status_code == 200


def test_api_key_invalid_or_missing_is_401(key_gw):
    for case, headers in [("wrong API key", {"X-API-Key": "sk-live-not-a-key"}),
                          ("missing API key", {}),
                          ("API key in another header", {"X-Other": API_KEYS["ci"]})]:
        for response in (probe_legacy(key_gw, headers), probe_modern(key_gw, headers)):
            assert response.status_code == 401, (case, response.status_code, response.text)
            assert challenge(response.headers).lower().startswith("apikey"), challenge(response.headers)
            assert 'header="x-api-key"' in challenge(response.headers).lower()
        status, _, _ = probe_sse(key_gw, headers)
        assert status == 401, (case, status)
        BAD_TOKEN_TABLE.append((case, "401", "401", str(status), challenge(response.headers)))


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_api_key_caller_in_audit_line(key_gw, mode):
    before = len(key_gw.audit_records())
    names, result = run(_session_with_headers(key_gw.url, mode, {"X-API-Key": API_KEYS["ci"]}))
    assert text_of(result) == "catalog product 42: blue teapot"
    records = wait_until(lambda: key_gw.audit_records()[before:], 10, "the call's audit line")
    record = records[-1]
    assert record["event"] == "tool_call" and record["outcome"] == "ok", record
    assert record["tenant"] == "acme" and record["user"] == "ci", record
    assert record["tool"] == "catalog___get_item", record
    assert record["subject"] == "ci-bot", record  # the key's label, never the key
    for line in key_gw.lines + key_gw.stderr_lines:
        assert API_KEYS["ci"] not in line and API_KEYS["alice"] not in line, line


def test_api_key_sessions_are_bound_to_their_key(key_gw):
    listing = {"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {}}
    with httpx2.Client(timeout=30, headers={"X-API-Key": API_KEYS["ci"]}) as http:
        session = legacy_handshake(http, key_gw.url)
    with http_client() as http:
        stolen = http.post(key_gw.url, json=listing,
                           headers={**legacy_headers(session), "X-API-Key": API_KEYS["alice"]})
        assert stolen.status_code == 404, (stolen.status_code, stolen.text)


def test_concurrent_clients_of_two_keys(key_gw):
    """Both keys' clients work side by side (no shared state between principals)."""
    async def both():
        return await asyncio.gather(
            _session_with_headers(key_gw.url, "legacy", {"X-API-Key": API_KEYS["ci"]}),
            _session_with_headers(key_gw.url, "2026-07-28", {"X-API-Key": API_KEYS["alice"]}))

    for _, result in run(both()):
        assert text_of(result) == "catalog product 42: blue teapot"
