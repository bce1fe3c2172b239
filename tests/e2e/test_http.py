"""The HTTP surface, byte by byte with a raw client: limits, Host checks, JSON-RPC errors,
health endpoints and the legacy HTTP+SSE transport."""

import pytest
from harness import (connect, gateway_doc, http_client, legacy_handshake, legacy_headers,
                     list_all, modern_request, rpc_body, run, target_doc, text_of)
from mcp import Client
from mcp.client.sse import sse_client

FIVE_MIB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def gateway(module_launcher):
    cart = module_launcher.fixture("cart_server.py")
    return module_launcher.gateway([gateway_doc(), target_doc("cart", cart.url)])


@pytest.fixture
def session(gateway):
    with http_client() as http:
        yield http, legacy_handshake(http, gateway.url)


def test_health_and_readiness(gateway):
    with http_client() as http:
        assert http.get(f"{gateway.base}/healthz").status_code == 200
        assert http.get(f"{gateway.base}/readyz").status_code == 200


def test_oversized_body_is_413(gateway, session):
    http, session_id = session
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "cart___get_item", "arguments": {"item_id": "x" * FIVE_MIB}}}
    response = http.post(gateway.url, json=body, headers=legacy_headers(session_id))
    assert response.status_code == 413, (response.status_code, response.text[:500])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "localhost.evil.example"])
def test_foreign_host_header_is_403(gateway, host):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "e2e", "version": "0"}}}
    with http_client() as http:
        response = http.post(gateway.url, json=init, headers={**legacy_headers(), "Host": host})
    assert response.status_code == 403, (response.status_code, response.text[:500])


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_host_headers_are_allowed(gateway, host):
    port = gateway.url.split(":")[2].split("/")[0]
    headers, body = modern_request("tools/list")
    with http_client() as http:
        response = http.post(gateway.url, json=body, headers={**headers, "Host": f"{host}:{port}"})
    assert response.status_code == 200, (response.status_code, response.text[:500])


def test_invalid_json_is_parse_error(gateway, session):
    http, session_id = session
    response = http.post(gateway.url, content=b'{"jsonrpc": "2.0", "id": 1, "method": ',
                         headers=legacy_headers(session_id))
    assert response.status_code in (200, 400), (response.status_code, response.text)
    assert rpc_body(response)["error"]["code"] == -32700, response.text


def test_unknown_method_in_a_session_is_method_not_found(gateway, session):
    http, session_id = session
    response = http.post(gateway.url, json={"jsonrpc": "2.0", "id": 3, "method": "no/such_method"},
                         headers=legacy_headers(session_id))
    assert response.status_code == 200, (response.status_code, response.text)
    body = rpc_body(response)
    assert body["id"] == 3 and body["error"]["code"] == -32601, body


def test_unknown_method_stateless_is_method_not_found(gateway):
    """2026-07-28 maps METHOD_NOT_FOUND to HTTP 404 (as mcp 2.3.0's server does)."""
    headers, body = modern_request("no/such_method", msg_id=4)
    with http_client() as http:
        response = http.post(gateway.url, json=body, headers=headers)
    assert response.status_code == 404, (response.status_code, response.text)
    answer = rpc_body(response)
    assert answer["id"] == 4 and answer["error"]["code"] == -32601, answer


def test_legacy_sse_transport(gateway):
    """An HTTP+SSE client: GET /sse yields the `endpoint` event, messages are POSTed there."""
    async def scenario():
        async with Client(sse_client(f"{gateway.base}/sse"), mode="legacy", cache=None) as client:
            names = {t.name for t in await list_all(client, "tools")}
            return names, await client.call_tool("cart___get_item", {"item_id": "11"})

    names, result = run(scenario())
    assert "cart___get_item" in names
    assert text_of(result) == "cart item 11: quantity 0"


def test_streamable_and_stateless_clients_see_the_same_tools(gateway):
    async def scenario():
        listings = []
        for mode in ("legacy", "2026-07-28"):
            async with connect(gateway.url, mode) as client:
                tools = await list_all(client, "tools")
                listings.append(sorted((t.name, str(t.input_schema)) for t in tools))
        return listings

    legacy, modern = run(scenario())
    assert legacy == modern


def test_server_discover_and_list_cache_hints(gateway):
    """2026-07-28: server/discover names the versions; lists carry resultType/ttlMs/cacheScope."""
    with http_client() as http:
        headers, body = modern_request("server/discover")
        discover = http.post(gateway.url, json=body, headers=headers)
        headers, body = modern_request("tools/list", msg_id=2)
        listed = http.post(gateway.url, json=body, headers=headers)
    assert discover.status_code == 200, (discover.status_code, discover.text)
    result = rpc_body(discover)["result"]
    assert "2026-07-28" in result["supportedVersions"], result
    assert "tools" in result["capabilities"], result
    assert listed.status_code == 200, (listed.status_code, listed.text)
    tools = rpc_body(listed)["result"]
    assert tools["resultType"] == "complete", tools.keys()
    assert isinstance(tools["ttlMs"], int) and tools["cacheScope"] in ("public", "private"), tools.keys()
