"""Handshake-era session ids are sealed with the Gateway's key, so any replica that holds the
same key accepts them and nothing else does (no shared store)."""

import httpx2
import pytest
from harness import (gateway_doc, http_client, legacy_handshake, legacy_headers, rpc_body, run,
                     target_doc, text_of, write_session_key)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

TOOLS_LIST = {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}


@pytest.fixture
def replicas(launcher, tmp_path):
    """Gateways A and B share a session key; C has its own."""
    cart = launcher.fixture("cart_server.py")
    docs = [gateway_doc(), target_doc("cart", cart.url)]
    shared = write_session_key(tmp_path / "shared.key")
    other = write_session_key(tmp_path / "other.key")
    return (launcher.gateway(docs, session_key_file=shared),
            launcher.gateway(docs, session_key_file=shared),
            launcher.gateway(docs, session_key_file=other))


def open_sdk_session(url):
    """A legacy-mode SDK session; returns (Mcp-Session-Id, negotiated version, a call result)."""
    seen = []

    async def remember(response):
        if "mcp-session-id" in response.headers:
            seen.append(response.headers["mcp-session-id"])

    async def scenario():
        async with httpx2.AsyncClient(timeout=30, event_hooks={"response": [remember]}) as http:
            transport = streamable_http_client(url, http_client=http, terminate_on_close=False)
            async with Client(transport, mode="legacy", cache=None) as client:
                result = await client.call_tool("cart___get_item", {"item_id": "5"})
                return client.protocol_version, result

    version, result = run(scenario())
    assert seen, "the gateway never sent Mcp-Session-Id"
    return seen[0], version, result


def test_session_opened_on_a_works_on_b(replicas):
    a, b, _ = replicas
    session_id, version, result = open_sdk_session(a.url)
    assert text_of(result) == "cart item 5: quantity 0"
    with http_client() as http:
        listed = http.post(b.url, json=TOOLS_LIST, headers=legacy_headers(session_id, version))
        called = http.post(b.url, headers=legacy_headers(session_id, version), json={
            "jsonrpc": "2.0", "id": 8, "method": "tools/call",
            "params": {"name": "cart___get_item", "arguments": {"item_id": "6"}}})
    assert listed.status_code == 200, (listed.status_code, listed.text)
    assert "cart___get_item" in {t["name"] for t in rpc_body(listed)["result"]["tools"]}
    assert called.status_code == 200, (called.status_code, called.text)
    assert rpc_body(called)["result"]["content"][0]["text"] == "cart item 6: quantity 0"


def test_forged_session_id_is_404(replicas):
    _, b, _ = replicas
    with http_client() as http:
        response = http.post(b.url, json=TOOLS_LIST, headers=legacy_headers("forged-0123456789abcdef"))
    assert response.status_code == 404, (response.status_code, response.text)


def test_tampered_session_id_is_404(replicas):
    a, b, _ = replicas
    with http_client() as http:
        session_id = legacy_handshake(http, a.url)
        flipped = session_id[:-2] + ("A" if session_id[-2] != "A" else "B") + session_id[-1]
        response = http.post(b.url, json=TOOLS_LIST, headers=legacy_headers(flipped))
    assert response.status_code == 404, (response.status_code, response.text)


def test_session_sealed_with_another_key_is_404(replicas):
    _, b, c = replicas
    with http_client() as http:
        session_id = legacy_handshake(http, c.url)
        own = http.post(c.url, json=TOOLS_LIST, headers=legacy_headers(session_id))
        foreign = http.post(b.url, json=TOOLS_LIST, headers=legacy_headers(session_id))
    assert own.status_code == 200, (own.status_code, own.text)
    assert foreign.status_code == 404, (foreign.status_code, foreign.text)
