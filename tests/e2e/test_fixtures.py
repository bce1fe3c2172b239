"""The upstream peers themselves, without the gateway: proves that a failure seen through the
gateway is the gateway's, not a broken fixture's."""

import pytest
from harness import connect, http_client, legacy_handshake, legacy_headers, list_all, run, text_of


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_cart_and_catalog_answer_directly(launcher, mode):
    cart = launcher.fixture("cart_server.py")
    catalog = launcher.fixture("catalog_server.py")

    async def scenario():
        async with connect(cart.url, mode) as c1, connect(catalog.url, mode) as c2:
            return (await c1.call_tool("get_item", {"item_id": "42"}),
                    await c2.call_tool("get_item", {"item_id": "42"}),
                    await c1.call_tool("remove_item", {"item_id": "absent"}))

    from_cart, from_catalog, failing = run(scenario())
    assert text_of(from_cart) == "cart item 42: quantity 0"
    assert text_of(from_catalog) == "catalog product 42: blue teapot"
    assert failing.is_error and "cart has no item absent" in text_of(failing)


def test_many_tools_paginates_every_list(launcher):
    many = launcher.fixture("many_tools_server.py")

    async def scenario():
        async with connect(many.url, "legacy") as client:
            first = await client.list_tools()
            return (first, await list_all(client, "tools"), await list_all(client, "resources"),
                    await list_all(client, "prompts"))

    first, tools, resources, prompts = run(scenario())
    assert len(first.tools) == 7 and first.next_cursor
    assert [t.name for t in tools] == [f"tool_{i:03d}" for i in range(250)]
    assert len({t.description for t in tools}) == 250
    assert len(resources) == 25 and len(prompts) == 25


def test_server_everything_answers_directly(launcher):
    everything = launcher.everything()

    async def scenario():
        async with connect(everything.url, "auto") as client:
            return client.protocol_version, await client.call_tool("echo", {"message": "hi"})

    version, echo = run(scenario())
    assert version < "2026", "server-everything is expected to be handshake-era only"
    assert text_of(echo) == "Echo: hi"


def test_slow_server_has_a_fast_and_a_slow_tool(launcher):
    slow = launcher.fixture("slow_server.py")

    async def scenario():
        async with connect(slow.url, "legacy") as client:
            return (await client.call_tool("fast_echo", {"text": "a"}),
                    await client.call_tool("slow_echo", {"text": "b", "seconds": 0.1}))

    fast, slow_result = run(scenario())
    assert text_of(fast) == "fast echo: a" and text_of(slow_result) == "slow echo: b"


@pytest.mark.parametrize("mode", ["garbage", "wrong-type"])
def test_garbage_server_is_not_mcp(launcher, mode):
    junk = launcher.fixture("garbage_server.py", "--mode", mode)
    with http_client() as http:
        response = http.post(junk.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"},
                             headers=legacy_headers())
    assert response.status_code == 200
    if mode == "garbage":
        assert response.headers["content-type"] == "application/json"
        with pytest.raises(ValueError):
            response.json()
    else:
        assert response.headers["content-type"] == "text/html"


def test_garbage_server_after_sync_breaks_only_calls(launcher):
    junk = launcher.fixture("garbage_server.py", "--mode", "after-sync")
    with http_client() as http:
        session = legacy_handshake(http, junk.url)
        listed = http.post(junk.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                           headers=legacy_headers(session))
        called = http.post(junk.url, headers=legacy_headers(session),
                           json={"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                 "params": {"name": "broken_tool", "arguments": {}}})
    assert listed.json()["result"]["tools"][0]["name"] == "broken_tool"
    with pytest.raises(ValueError):
        called.json()
