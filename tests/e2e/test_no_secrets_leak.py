"""No secret value ever leaves the gateway.

A workload runs against two gateways that together use every credential kind (JWT and API-key
inbound; OAuth2 client credentials, API key in a header and in the query, static bearer
outbound), with debug logs, JSON logs, audit lines with arguments and results, failures on every
path (bad tokens, refused and unreachable token endpoints, revoked upstream tokens, wrong static
credentials, missing Secret keys, an upstream that dies, timeouts, throttling). Then every line
the gateways wrote (stdout and stderr) and everything the clients received (bodies and headers,
MCP results and errors, /metrics, metadata) is searched for every secret value: client secrets,
API keys, upstream static credentials, every access token issued (to callers and to the
gateway), their signatures, and Basic-auth encodings. None may appear.

(In local mode there are no ConfigMaps, statuses or Events; the operator's are covered by its
own tests. The manifests the test writes hold the Secrets as input and are not searched.)
"""

import base64
from typing import Any

import httpx2
import pytest
from harness import (
    SUMMARIES, MemoryTokens, free_port, gateway_doc, legacy_handshake, legacy_headers,
    modern_request, run, secret_doc, target_doc,
)
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

GW_CLIENT_ID, GW_CLIENT_SECRET = "switchboard-gw", "leak-gw-client-secret-c41f9e07ad2b"
AGENT_ID, AGENT_SECRET = "agent-a", "leak-agent-client-secret-7d2e90b3f1a6"
HEADER_KEY = "leak-upstream-header-key-3e8c1b5f"
QUERY_KEY = "leak-upstream-query-key-90ad4e2c"
BEARER = "leak-upstream-bearer-6f17c2d8a9e3"
WRONG_SECRET = "leak-wrong-client-secret-1b7e"
WRONG_BEARER = "leak-wrong-bearer-5c0a"
INBOUND_KEYS = {"acme": "leak-inbound-key-acme-8c3f2a91", "globex": "leak-inbound-key-globex-47e0d6b5"}
PASSWORD = "leak-password-argument-2d9f7e1c"
AUDIENCE = "vault-api"


class Received:
    """Everything the clients were sent back."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, value: Any) -> None:
        if isinstance(value, httpx2.Response):
            text = f"{value.status_code} {dict(value.headers)} {value.text}"
        elif hasattr(value, "model_dump_json"):
            text = value.model_dump_json()
        else:
            text = value if isinstance(value, str) else repr(value)
        self.items.append((where, text))


class Recorder:
    """An httpx2 client whose responses are all kept."""

    def __init__(self, received: Received, headers: dict[str, str] | None = None):
        self.received = received
        # One connection per request: after a 401 the gateway may close a keep-alive
        # connection (see test_auth.py::test_connection_after_a_401_is_reusable_or_explicitly_closed).
        self.http = httpx2.Client(timeout=30, headers=headers or {},
                                  limits=httpx2.Limits(max_keepalive_connections=0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        response = self.http.request(method, url, **kwargs)
        self.received.add(f"{method} {url}", response)
        return response

    def modern(self, url: str, method: str, params: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> httpx2.Response:
        request_headers, body = modern_request(method, params)
        return self.request("POST", url, json=body, headers={**request_headers, **(headers or {})})


def vault(launcher, auth: str, label: str, idp=None, secret: str | None = None, name: str | None = None):
    args = ["--auth", auth]
    if auth == "jwt":
        args += ["--issuer", idp.issuer, "--jwks", idp.jwks_url, "--audience", AUDIENCE,
                 "--client", GW_CLIENT_ID]
    if name:
        args += ["--name", name]
    return launcher.fixture("auth_protected_server.py", *args, name=label,
                            env={"AUTH_PROTECTED_SECRET": secret} if secret else None)


def vault_stats(upstream) -> dict[str, Any]:
    with httpx2.Client(timeout=30) as http:
        return http.get(f"http://127.0.0.1:{upstream.port}/_test/stats").json()


def vault_post(upstream, path: str) -> None:
    with httpx2.Client(timeout=30) as http:
        assert http.post(f"http://127.0.0.1:{upstream.port}/_test/{path}").status_code == 200


def oauth_target(name: str, upstream, token_url: str, secret: str = "upstream-oauth") -> dict[str, Any]:
    return target_doc(name, upstream.url, timeoutSeconds=2, credentials={
        "type": "OAuth2ClientCredentials",
        "oauth2": {"tokenUrl": token_url, "audience": AUDIENCE, "scopes": ["vault:read"],
                   "clientIdSecretRef": {"name": secret, "key": "client-id"},
                   "clientSecretRef": {"name": secret, "key": "client-secret"}}})


def static_targets(vaults: dict[str, Any], secret: str = "vault-creds", suffix: str = "") -> list:
    ref = lambda key: {"name": secret, "key": key}  # noqa: E731
    return [
        target_doc(f"hdr{suffix}", vaults["header"].url, credentials={
            "type": "APIKey", "apiKey": {"secretRef": ref("header-key"), "in": "header",
                                         "name": "X-Vault-Key"}}),
        target_doc(f"qry{suffix}", vaults["query"].url, credentials={
            "type": "APIKey", "apiKey": {"secretRef": ref("query-key"), "in": "query", "name": "key"}}),
        target_doc(f"brr{suffix}", vaults["bearer"].url, credentials={
            "type": "Bearer", "bearer": {"secretRef": ref("bearer-token")}}),
    ]


def tool_workload(rec: Recorder, url: str, headers: dict[str, str], prefixes: list[str]) -> None:
    for prefix in prefixes:
        for name, arguments in [("echo", {"text": prefix}), ("whoami", {}),
                                ("store", {"label": prefix, "password": PASSWORD})]:
            rec.modern(url, "tools/call", {"name": f"{prefix}___{name}", "arguments": arguments},
                       headers)


@pytest.mark.parametrize("log_level", ["debug", "trace"])
def test_no_secret_in_any_output(launcher, log_level):
    received = Received()
    secrets: dict[str, str] = {
        "gateway's OAuth client secret": GW_CLIENT_SECRET, "agent's OAuth client secret": AGENT_SECRET,
        "upstream API key (header)": HEADER_KEY, "upstream API key (query)": QUERY_KEY,
        "upstream bearer token": BEARER, "wrong client secret": WRONG_SECRET,
        "wrong bearer token": WRONG_BEARER, "password argument": PASSWORD,
        **{f"inbound API key {t}": k for t, k in INBOUND_KEYS.items()},
        "Basic auth of the gateway's client":
            base64.b64encode(f"{GW_CLIENT_ID}:{GW_CLIENT_SECRET}".encode()).decode(),
        "Basic auth of the agent": base64.b64encode(f"{AGENT_ID}:{AGENT_SECRET}".encode()).decode(),
    }
    issued: list[str] = []  # access tokens, collected as they are made

    idp = launcher.oauth_server({GW_CLIENT_ID: GW_CLIENT_SECRET, AGENT_ID: AGENT_SECRET})
    jwt_vault = vault(launcher, "jwt", "vault-jwt", idp)
    vaults = {"header": vault(launcher, "api-key-header", "vault-header", secret=HEADER_KEY,
                              name="X-Vault-Key"),
              "query": vault(launcher, "api-key-query", "vault-query", secret=QUERY_KEY, name="key"),
              "bearer": vault(launcher, "bearer", "vault-bearer", secret=BEARER)}
    creds = [secret_doc("upstream-oauth", {"client-id": GW_CLIENT_ID, "client-secret": GW_CLIENT_SECRET}),
             secret_doc("vault-creds", data={"header-key": HEADER_KEY, "query-key": QUERY_KEY,
                                             "bearer-token": BEARER})]
    debug = {"RUST_LOG": log_level}

    # --- gateway A: JWT inbound, every outbound kind, audit with arguments and results ------
    limits = {"perTenant": {"requestsPerSecond": 100, "burst": 100},
              "tools": [{"tools": ["*___whoami"], "requestsPerSecond": 0.01, "burst": 2}]}
    gw_a = launcher.gateway([
        gateway_doc(inboundAuth={"type": "JWT", "jwt": {"discoveryUrl": idp.discovery_url,
                                                        "requiredScopes": ["mcp:tools"]}},
                    rateLimits=limits, audit={"logArguments": True, "logResults": True}),
        *creds, oauth_target("vault", jwt_vault, idp.token_url), *static_targets(vaults),
    ], admin=True, split_stderr=True, env=debug)
    assert gw_a.failed == {}, gw_a.lines

    caller = idp.mint({"aud": gw_a.url, "sub": "alice", "client_id": AGENT_ID, "scope": "mcp:tools",
                       "tenant": "acme"})
    issued.append(caller)
    bad = {"expired": idp.mint({"aud": gw_a.url, "sub": "alice", "scope": "mcp:tools",
                                "exp": 1_000_000_000, "iat": 999_999_000, "nbf": 999_999_000}),
           "wrong audience": idp.mint({"aud": "elsewhere", "sub": "alice", "scope": "mcp:tools"}),
           "no scope": idp.mint({"aud": gw_a.url, "sub": "alice"}),
           "foreign key": idp.forge("foreign-key", {"aud": gw_a.url, "sub": "alice"}),
           "alg none": idp.forge("none", {"aud": gw_a.url, "sub": "alice"}),
           "hs256": idp.forge("hs256-public-key", {"aud": gw_a.url, "sub": "alice"})}
    issued += [t for t in bad.values()]
    auth = {"Authorization": f"Bearer {caller}"}
    with Recorder(received) as rec:
        prefixes = ["vault", "hdr", "qry", "brr"]
        tool_workload(rec, gw_a.url, auth, prefixes)
        tool_workload(rec, gw_a.url, auth, ["vault"])  # whoami now throttled: 429 bodies
        for name, token in bad.items():
            rec.modern(gw_a.url, "tools/list", headers={"Authorization": f"Bearer {token}"})
            rec.request("POST", gw_a.url, headers={**legacy_headers(), "Authorization": f"Bearer {token}"},
                        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
        rec.modern(gw_a.url, "tools/list")
        rec.request("GET", f"{gw_a.base}/.well-known/oauth-protected-resource/mcp")
        # A revoked upstream token while the token endpoint refuses; then it recovers and the
        # next call fetches a fresh token.
        vault_post(jwt_vault, "revoke")
        idp.token_endpoint(error="invalid_client", status=401)
        rec.modern(gw_a.url, "tools/call", {"name": "vault___echo", "arguments": {"text": "x"}}, auth)
        idp.token_endpoint()
        rec.modern(gw_a.url, "tools/call", {"name": "vault___echo", "arguments": {"text": "r"}}, auth)
        rec.modern(gw_a.url, "tools/call", {"name": "vault___slow", "arguments": {"seconds": 5}}, auth)
        # A session in the handshake era.
        with httpx2.Client(timeout=30, headers=auth) as http:
            session = legacy_handshake(http, gw_a.url)
        rec.request("POST", gw_a.url, headers={**legacy_headers(session), **auth},
                    json={"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                          "params": {"name": "qry___store", "arguments": {"label": "s",
                                                                          "password": PASSWORD}}})

    # The SDK's own OAuth flow (client secret → token → calls), both eras, and legacy SSE.
    async def sdk(mode: str):
        storage = MemoryTokens()
        provider = ClientCredentialsOAuthProvider(server_url=gw_a.url, storage=storage,
                                                  client_id=AGENT_ID, client_secret=AGENT_SECRET,
                                                  scope="mcp:tools", issuer=idp.issuer)
        async with create_mcp_http_client(auth=provider) as http:
            async with Client(streamable_http_client(gw_a.url, http_client=http), mode=mode,
                              cache=None, read_timeout_seconds=30) as client:
                received.add("sdk tools/list", await client.list_tools())
                for prefix in ("vault", "qry"):
                    received.add("sdk call", await client.call_tool(f"{prefix}___echo", {"text": mode}))
                    received.add("sdk call", await client.call_tool(
                        f"{prefix}___store", {"label": mode, "password": PASSWORD}))
        issued.append(storage.tokens.access_token)

    for mode in ("legacy", "2026-07-28"):
        run(sdk(mode))

    async def sse():
        async with Client(sse_client(f"{gw_a.base}/sse", headers=auth), mode="legacy", cache=None) as client:
            received.add("sse tools/list", await client.list_tools())
            received.add("sse call", await client.call_tool("brr___echo", {"text": "sse"}))
            received.add("sse call", await client.call_tool("hdr___store",
                                                            {"label": "sse", "password": PASSWORD}))

    run(sse())
    with httpx2.Client(timeout=30) as http:
        received.add("/metrics", http.get(gw_a.metrics_url).text)

    # --- gateway B: API-key inbound, JSON logs, broken credentials of every kind ---------------
    wrong = [secret_doc("bad-oauth", {"client-id": GW_CLIENT_ID, "client-secret": WRONG_SECRET}),
             secret_doc("bad-creds", {"header-key": HEADER_KEY, "bearer-token": WRONG_BEARER})]
    doomed = {"header": vaults["header"], "bearer": vaults["bearer"],
              "query": vault(launcher, "api-key-query", "vault-query-doomed", secret=QUERY_KEY, name="key")}
    key_table = "".join(f"- {{name: {t}-bot, key: {k}, tenant: {t}}}\n" for t, k in INBOUND_KEYS.items())
    gw_b = launcher.gateway([
        gateway_doc(inboundAuth={"type": "APIKey", "apiKey": {"secretRef": {"name": "gateway-api-keys"}}},
                    rateLimits={"perTenant": {"requestsPerSecond": 0.01, "burst": 10}}),
        secret_doc("gateway-api-keys", {"keys.yaml": key_table}), *creds, *wrong,
        oauth_target("vault", jwt_vault, idp.token_url),
        oauth_target("badoauth", jwt_vault, idp.token_url, secret="bad-oauth"),
        oauth_target("deadidp", jwt_vault, f"http://127.0.0.1:{free_port()}/token"),
        *static_targets(doomed),
        *static_targets(vaults, secret="bad-creds", suffix="bad"),
    ], split_stderr=True, env={**debug, "SWITCHBOARD_LOG_JSON": "true"})
    assert {"badoauth", "deadidp", "qrybad", "brrbad"} <= set(gw_b.failed), gw_b.lines
    acme = {"X-API-Key": INBOUND_KEYS["acme"]}
    with Recorder(received) as rec:
        tool_workload(rec, gw_b.url, acme, ["vault", "qry"])
        doomed["query"].process.kill()  # the query-key upstream dies: transport errors
        tool_workload(rec, gw_b.url, acme, ["qry"])
        rec.modern(gw_b.url, "tools/list", headers={"X-API-Key": "leak-not-a-key"})
        rec.modern(gw_b.url, "tools/list", headers={"Authorization": f"Bearer {INBOUND_KEYS['globex']}"})
        for _ in range(3):  # throttled
            rec.modern(gw_b.url, "tools/list", headers=acme)

    # --- collect the tokens the gateways obtained, then search ---------------------------------
    issued += vault_stats(jwt_vault)["tokens"]
    assert len(vault_stats(jwt_vault)["tokens"]) >= 2, "the gateway should have held upstream tokens"
    for i, token in enumerate(issued):
        secrets[f"access token #{i}"] = token
        if token.count(".") == 2 and len(token.split(".")[2]) >= 16:
            secrets[f"access token #{i} signature"] = token.split(".")[2]

    for gateway in (gw_a, gw_b):
        gateway.process.stop()  # flush and close the logs
    outputs = [(f"gateway A {p.name}", p.read_text(errors="replace"))
               for p in (gw_a.process.log_path, gw_a.process.stderr_log_path)]
    outputs += [(f"gateway B {p.name}", p.read_text(errors="replace"))
                for p in (gw_b.process.log_path, gw_b.process.stderr_log_path)]
    outputs += received.items

    # The workload did reach every path it means to (so a clean search means something).
    log_a = outputs[0][1] + outputs[1][1]
    assert "vault___store" in log_a and '"password":"[REDACTED]"' in log_a.replace(" ", "")
    assert any("429" in text for _, text in received.items)
    assert any("insufficient_scope" in text for _, text in received.items)
    assert any("token endpoint" in text and "refused" in text for _, text in received.items)
    assert any("qry" in text and "unreachable" in text for _, text in received.items)

    leaks = [f"{name} found in {where}" for name, value in secrets.items()
             for where, text in outputs if value in text]
    lines = sum(text.count("\n") + 1 for _, text in outputs)
    SUMMARIES.append(f"secret scan (RUST_LOG={log_level}): {len(secrets)} secret values × "
                     f"{len(outputs)} outputs ({lines} lines, {sum(len(t) for _, t in outputs)} "
                     f"bytes): {len(leaks)} found")
    assert not leaks, "\n".join(leaks)
