"""Outbound credentials: the gateway authenticates to upstreams that require it.

The upstream is tests/fixtures/auth_protected_server.py, a FastMCP server whose HTTP middleware
checks bearer tokens against a real OAuth server's JWKS (issued by client credentials), or a
static API key (header or query) or bearer token. Sync and tools/call use the credentials; a
failure names the Secret, key or token endpoint, never a secret value.
"""

import asyncio
import base64
import hashlib
import json
from typing import Any

import pytest
from harness import (
    SUMMARIES, connect, free_port, gateway_doc, http_client, list_all, run, secret_doc,
    target_doc, text_of,
)

CLIENT_ID = "switchboard-gw"
CLIENT_SECRET = "gw-client-secret-5d8a1c93e4f07b26"
AUDIENCE = "vault-api"
RESOURCE = "http://vault.example/mcp"  # also accepted by the upstream (RFC 8707 resource → aud)
SCOPE = "vault:read"
HEADER_KEY = "vault-header-key-0e5b7c4a91d2"
QUERY_KEY = "vault-query-key-63f1a8d0b5e9"
BEARER_TOKEN = "vault-static-bearer-2b9e6d1f7c40"
SECRET_VALUES = [CLIENT_SECRET, HEADER_KEY, QUERY_KEY, BEARER_TOKEN]


# --- peers -------------------------------------------------------------------------------------

def start_vault(launcher, auth: str, idp=None, secret: str | None = None,
                name: str | None = None, label: str = "vault"):
    args = ["--auth", auth]
    if auth == "jwt":
        args += ["--issuer", idp.issuer, "--jwks", idp.jwks_url, "--audience", f"{AUDIENCE},{RESOURCE}",
                 "--client", CLIENT_ID, "--scope", SCOPE]
    if name:
        args += ["--name", name]
    env = {"AUTH_PROTECTED_SECRET": secret} if secret else None
    return launcher.fixture("auth_protected_server.py", *args, name=label, env=env)


def vault_stats(vault) -> dict[str, Any]:
    with http_client() as http:
        return http.get(f"http://127.0.0.1:{vault.port}/_test/stats").json()


def vault_control(vault, path: str) -> dict[str, Any]:
    with http_client() as http:
        response = http.post(f"http://127.0.0.1:{vault.port}/_test/{path}")
    assert response.status_code == 200, response.text
    return response.json()


def oauth_secret(name: str = "upstream-oauth", secret: str = CLIENT_SECRET) -> dict[str, Any]:
    return secret_doc(name, {"client-id": CLIENT_ID, "client-secret": secret})


def oauth_target(name: str, vault, token_url: str, secret_name: str = "upstream-oauth",
                 **oauth2: Any) -> dict[str, Any]:
    return target_doc(name, vault.url, credentials={
        "type": "OAuth2ClientCredentials",
        "oauth2": {"tokenUrl": token_url,
                   "clientIdSecretRef": {"name": secret_name, "key": "client-id"},
                   "clientSecretRef": {"name": secret_name, "key": "client-secret"},
                   "scopes": [SCOPE], "audience": AUDIENCE, **oauth2}})


def call(url: str, name: str, arguments: dict[str, Any], mode: str = "legacy"):
    async def scenario():
        async with connect(url, mode) as client:
            return await client.call_tool(name, arguments)

    return run(scenario())


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_no_secret(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text, f"a secret value leaked into: {text}"


@pytest.fixture(scope="module")
def idp(module_launcher):
    return module_launcher.oauth_server({CLIENT_ID: CLIENT_SECRET})


@pytest.fixture(scope="module")
def vault(module_launcher, idp):
    return start_vault(module_launcher, "jwt", idp)


@pytest.fixture(scope="module")
def gw(module_launcher, idp, vault):
    return module_launcher.gateway([gateway_doc(), oauth_secret(),
                                    oauth_target("vault", vault, idp.token_url)])


# --- OAuth 2.0 client credentials ----------------------------------------------------------------

def test_fixture_refuses_requests_without_a_token(vault):
    """The upstream really requires a token: the gateway cannot be getting through by accident."""
    with http_client() as http:
        response = http.post(vault.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 401, (response.status_code, response.text)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_oauth2_target_syncs_and_calls(gw, vault, mode):
    assert "vault" not in gw.failed, gw.failed
    assert any(line.startswith("target vault synced: 6 tools") for line in gw.lines), gw.lines

    async def scenario():
        async with connect(gw.url, mode) as client:
            names = [t.name for t in await list_all(client, "tools")]
            echo = await client.call_tool("vault___echo", {"text": "hi"})
            who = await client.call_tool("vault___whoami", {})
            return names, echo, who

    names, echo, who = run(scenario())
    assert "vault___echo" in names and "vault___whoami" in names
    assert not echo.is_error and text_of(echo) == "vault echo: hi"
    assert text_of(who) == CLIENT_ID, "the upstream saw the gateway's own client credentials"
    for token in vault_stats(vault)["tokens"]:
        issued = claims_of(token)
        assert issued["aud"] == AUDIENCE and issued["client_id"] == CLIENT_ID, issued
        assert SCOPE in issued["scope"].split(), issued


def test_token_request_parameters(gw, idp):
    request = idp.stats()["lastTokenRequest"]
    assert request == {"grant_type": "client_credentials", "scope": SCOPE, "audience": AUDIENCE,
                       "resource": None, "client_id": CLIENT_ID,
                       "client_auth_method": "client_secret_basic"}, request


def test_client_secret_post_and_resource(launcher, idp, vault):
    gateway = launcher.gateway([gateway_doc(), oauth_secret(), oauth_target(
        "vault", vault, idp.token_url, clientAuthMethod="client_secret_post", resource=RESOURCE,
        audience=None)])
    assert gateway.failed == {}, gateway.lines
    request = idp.stats()["lastTokenRequest"]
    assert request["client_auth_method"] == "client_secret_post", request
    assert request["resource"] == RESOURCE and request["audience"] is None, request
    assert text_of(call(gateway.url, "vault___whoami", {})) == CLIENT_ID
    assert_no_secret(gateway.process.log())


def test_n_calls_need_one_token_request(launcher, idp, vault):
    n = 20
    start = idp.stats()["token"]
    gateway = launcher.gateway([gateway_doc(), oauth_secret(),
                                oauth_target("vault", vault, idp.token_url)])
    after_sync = idp.stats()["token"]

    async def scenario():
        results = []
        async with connect(gateway.url, "legacy") as client:
            for i in range(n // 2):
                results.append(await client.call_tool("vault___echo", {"text": str(i)}))
        async with connect(gateway.url, "2026-07-28") as client:
            results += await asyncio.gather(*(client.call_tool("vault___echo", {"text": f"c{i}"})
                                              for i in range(n // 2)))
        return results

    results = run(scenario())
    assert all(not r.is_error for r in results), [text_of(r) for r in results if r.is_error]
    after_calls = idp.stats()["token"]
    assert after_sync - start <= 1, f"the start-up sync made {after_sync - start} token requests"
    assert after_calls - after_sync == 1, \
        f"{n} calls (10 sequential, 10 concurrent) made {after_calls - after_sync} token requests"
    SUMMARIES.append(f"outbound OAuth2: {n} tools/call (10 sequential, 10 concurrent) → "
                     f"{after_calls - after_sync} token request(s); start-up sync → "
                     f"{after_sync - start}")


def test_upstream_401_refreshes_the_token_and_retries_once(launcher, idp, vault):
    gateway = launcher.gateway([gateway_doc(), oauth_secret(),
                                oauth_target("vault", vault, idp.token_url)])
    assert not call(gateway.url, "vault___echo", {"text": "1"}).is_error
    tokens_before, upstream_before = idp.stats()["token"], vault_stats(vault)

    vault_control(vault, "revoke")  # the upstream now refuses the token the gateway holds
    result = call(gateway.url, "vault___echo", {"text": "2"})
    assert not result.is_error, text_of(result)
    assert text_of(result) == "vault echo: 2"
    upstream_after = vault_stats(vault)
    assert idp.stats()["token"] - tokens_before == 1, "one fresh token after the 401"
    assert upstream_after["rejected"] - upstream_before["rejected"] == 1, upstream_after
    assert len(upstream_after["tokens"]) == len(upstream_before["tokens"]) + 1, \
        "the retry carried a new token"

    # The new token is cached: more calls, no more token requests, no more refusals.
    for i in range(3):
        assert not call(gateway.url, "vault___echo", {"text": f"again {i}"}).is_error
    assert idp.stats()["token"] - tokens_before == 1
    assert vault_stats(vault)["rejected"] == upstream_after["rejected"]


def test_a_second_401_is_not_retried_again(launcher, idp, vault):
    gateway = launcher.gateway([gateway_doc(), oauth_secret(),
                                oauth_target("vault", vault, idp.token_url)])
    assert not call(gateway.url, "vault___echo", {"text": "warm"}).is_error
    before = vault_stats(vault)
    tokens_before = idp.stats()["token"]
    with http_client() as http:  # the next MCP requests are answered 401 whatever the token
        http.post(f"http://127.0.0.1:{vault.port}/_test/fail?count=5&status=401")
    try:
        result = call(gateway.url, "vault___echo", {"text": "refused"})
    finally:
        with http_client() as http:
            http.post(f"http://127.0.0.1:{vault.port}/_test/fail?count=0")
    after = vault_stats(vault)
    assert result.is_error, text_of(result)
    assert "vault" in text_of(result) and "401" in text_of(result), text_of(result)
    assert after["failed"] - before["failed"] == 2, f"expected one attempt and one retry: {after}"
    assert idp.stats()["token"] - tokens_before == 1, "one refresh between the two attempts"
    assert_no_secret(text_of(result))


def test_token_endpoint_unreachable_at_start(launcher, vault):
    dead = f"http://127.0.0.1:{free_port()}/token"
    catalog = launcher.fixture("catalog_server.py")
    gateway = launcher.gateway([gateway_doc(), oauth_secret(), oauth_target("vault", vault, dead),
                                target_doc("catalog", catalog.url)])
    reason = gateway.failed.get("vault", "")
    assert f"token endpoint {dead} unreachable" in reason, gateway.lines
    assert_no_secret(gateway.process.log())
    assert "catalog" not in gateway.failed
    assert text_of(call(gateway.url, "catalog___get_item", {"item_id": "7"})) == \
        "catalog product 7: red kettle"


def test_token_endpoint_unreachable_during_a_call(launcher):
    idp = launcher.oauth_server({CLIENT_ID: CLIENT_SECRET})
    vault = start_vault(launcher, "jwt", idp, label="vault-short-lived-idp")
    gateway = launcher.gateway([gateway_doc(), oauth_secret(),
                                oauth_target("vault", vault, idp.token_url)])
    assert not call(gateway.url, "vault___echo", {"text": "before"}).is_error
    vault_control(vault, "revoke")  # force the gateway to need a new token...
    idp.process.stop()  # ...from a token endpoint that is gone
    for mode in ("legacy", "2026-07-28"):
        result = call(gateway.url, "vault___echo", {"text": "after"}, mode)
        assert result.is_error, text_of(result)
        message = text_of(result)
        assert f"token endpoint {idp.token_url} unreachable" in message, message
        assert "vault" in message, message
        assert_no_secret(message)
    assert_no_secret(gateway.process.log())


def test_token_endpoint_refusing_during_a_call(launcher):
    idp = launcher.oauth_server({CLIENT_ID: CLIENT_SECRET})
    vault = start_vault(launcher, "jwt", idp, label="vault-refusing-idp")
    gateway = launcher.gateway([gateway_doc(), oauth_secret(),
                                oauth_target("vault", vault, idp.token_url)])
    assert not call(gateway.url, "vault___echo", {"text": "before"}).is_error
    vault_control(vault, "revoke")
    idp.token_endpoint(error="temporarily_unavailable", status=503)
    result = call(gateway.url, "vault___echo", {"text": "after"})
    assert result.is_error, text_of(result)
    message = text_of(result)
    assert f"token endpoint {idp.token_url} refused the request: HTTP 503" in message, message
    assert "temporarily_unavailable" in message, message
    idp.token_endpoint()  # healthy again: the next call gets a token and succeeds
    assert not call(gateway.url, "vault___echo", {"text": "recovered"}).is_error


def test_wrong_client_secret_fails_the_sync_naming_the_endpoint(launcher, idp, vault):
    wrong = "not-the-client-secret-8e1f"
    gateway = launcher.gateway([gateway_doc(), oauth_secret(secret=wrong),
                                oauth_target("vault", vault, idp.token_url)])
    reason = gateway.failed.get("vault", "")
    assert f"token endpoint {idp.token_url} refused the request: HTTP 401, error invalid_client" \
        in reason, gateway.lines
    assert wrong not in gateway.process.log()
    assert_no_secret(gateway.process.log())


def test_caller_token_is_not_forwarded_by_default(launcher, idp, vault):
    """With JWT inbound, the upstream sees the gateway's client-credentials token, never the
    caller's (forwardCallerToken is off by default)."""
    inbound = launcher.oauth_server({"agent-a": "agent-a-secret-3c7d"})
    gateway = launcher.gateway([
        gateway_doc(inboundAuth={"type": "JWT", "jwt": {"discoveryUrl": inbound.discovery_url}}),
        oauth_secret(), oauth_target("vault", vault, idp.token_url)])
    caller_token = inbound.mint({"aud": gateway.url, "sub": "alice", "client_id": "agent-a"})
    headers = {"Authorization": f"Bearer {caller_token}"}
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async def scenario():
        async with create_mcp_http_client(headers=headers) as http:
            async with Client(streamable_http_client(gateway.url, http_client=http), mode="legacy",
                              cache=None, read_timeout_seconds=30) as client:
                return await client.call_tool("vault___whoami", {})

    assert text_of(run(scenario())) == CLIENT_ID
    caller_hash = hashlib.sha256(f"Bearer {caller_token}".encode()).hexdigest()
    seen = {r["authorization_sha256"] for r in vault_stats(vault)["recent"]}
    assert caller_hash not in seen, "the caller's token reached the upstream"


# --- static credentials: API key (header, query) and bearer -------------------------------------

@pytest.fixture(scope="module")
def static_vaults(module_launcher):
    return {
        "header": start_vault(module_launcher, "api-key-header", secret=HEADER_KEY,
                              name="X-Vault-Key", label="vault-header"),
        "query": start_vault(module_launcher, "api-key-query", secret=QUERY_KEY, name="key",
                             label="vault-query"),
        "bearer": start_vault(module_launcher, "bearer", secret=BEARER_TOKEN, label="vault-bearer"),
    }


def static_targets(vaults, secret_name: str = "vault-creds") -> list[dict[str, Any]]:
    ref = lambda key: {"name": secret_name, "key": key}  # noqa: E731
    return [
        target_doc("hdr", vaults["header"].url, credentials={
            "type": "APIKey", "apiKey": {"secretRef": ref("header-key"), "in": "header",
                                         "name": "X-Vault-Key"}}),
        target_doc("qry", vaults["query"].url, credentials={
            "type": "APIKey", "apiKey": {"secretRef": ref("query-key"), "in": "query",
                                         "name": "key"}}),
        target_doc("brr", vaults["bearer"].url, credentials={
            "type": "Bearer", "bearer": {"secretRef": ref("bearer-token")}}),
    ]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_api_key_header_query_and_bearer_targets(launcher, static_vaults, mode):
    # `data` (base64) for two keys, `stringData` for the third: both Secret forms load.
    creds = secret_doc("vault-creds", string_data={"bearer-token": BEARER_TOKEN},
                       data={"header-key": HEADER_KEY, "query-key": QUERY_KEY})
    gateway = launcher.gateway([gateway_doc(), creds, *static_targets(static_vaults)])
    assert gateway.failed == {}, gateway.failed

    async def scenario():
        async with connect(gateway.url, mode) as client:
            out = {}
            for prefix in ("hdr", "qry", "brr"):
                out[prefix] = (await client.call_tool(f"{prefix}___whoami", {}),
                               await client.call_tool(f"{prefix}___echo", {"text": prefix}))
            return out

    results = run(scenario())
    expected = {"hdr": "api-key-header", "qry": "api-key-query", "brr": "bearer"}
    for prefix, (who, echo) in results.items():
        assert text_of(who) == expected[prefix], (prefix, text_of(who))
        assert text_of(echo) == f"vault echo: {prefix}"
    assert_no_secret(gateway.process.log())


def test_wrong_static_credentials_fail_with_the_upstreams_401(launcher, static_vaults):
    creds = secret_doc("vault-creds", {"header-key": "wrong-header-key-1", "query-key": "wrong-q-2",
                                       "bearer-token": "wrong-bearer-3"})
    gateway = launcher.gateway([gateway_doc(), creds, *static_targets(static_vaults)])
    for name in ("hdr", "qry", "brr"):
        assert "HTTP 401" in gateway.failed.get(name, ""), (name, gateway.lines)
    log = gateway.process.log()
    for value in ("wrong-header-key-1", "wrong-q-2", "wrong-bearer-3"):
        assert value not in log, f"{value} in the gateway's output"


def test_missing_secret_or_key_names_them(launcher, idp, static_vaults, vault):
    partial = secret_doc("vault-creds", {"header-key": HEADER_KEY})  # no query-key, bearer-token
    gateway = launcher.gateway([
        gateway_doc(), partial, secret_doc("half-oauth", {"client-id": CLIENT_ID}),
        *static_targets(static_vaults),
        target_doc("ghost", static_vaults["bearer"].url, credentials={
            "type": "Bearer", "bearer": {"secretRef": {"name": "no-such-secret", "key": "token"}}}),
        oauth_target("halfo", vault, idp.token_url, secret_name="half-oauth"),
    ])
    failed = gateway.failed
    assert "hdr" not in failed, failed
    assert '"vault-creds"' in failed.get("qry", "") and '"query-key"' in failed["qry"], failed
    assert '"vault-creds"' in failed.get("brr", "") and '"bearer-token"' in failed["brr"], failed
    assert '"no-such-secret"' in failed.get("ghost", ""), failed
    assert '"half-oauth"' in failed.get("halfo", "") and '"client-secret"' in failed["halfo"], failed
    assert_no_secret(gateway.process.log())
    assert not call(gateway.url, "hdr___echo", {"text": "still served"}).is_error
    SUMMARIES.append("credential failures at sync: " + "; ".join(
        f"{name}: {reason}" for name, reason in sorted(failed.items())))
