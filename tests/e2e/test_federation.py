"""One gateway federating real upstreams, driven by the Python SDK in both protocol eras."""

import fnmatch

import pytest
from harness import (
    MODES, SEARCH_TOOL, connect, gateway_doc, list_all, run, target_doc, text_of,
)
from mcp.shared.exceptions import MCPError

MANY = [f"tool_{i:03d}" for i in range(250)]
CART_TOOLS = {"cart___get_item", "cart___add_item", "cart___remove_item", "cart___list_items"}
CATALOG_TOOLS = {"catalog___get_item", "catalog___search_products"}
PICK_INCLUDE, PICK_EXCLUDE = ["tool_00*", "tool_010"], ["tool_003"]


@pytest.fixture(scope="module")
def upstreams(module_launcher):
    return {
        "cart": module_launcher.fixture("cart_server.py"),
        "catalog": module_launcher.fixture("catalog_server.py"),
        "many": module_launcher.fixture("many_tools_server.py"),
    }


@pytest.fixture(scope="module")
def gateway(module_launcher, upstreams):
    docs = [gateway_doc()] + [target_doc(name, up.url) for name, up in upstreams.items()]
    gw = module_launcher.gateway(docs)
    assert gw.failed == {}, f"targets failed to sync: {gw.failed}"
    return gw


@pytest.fixture(scope="module")
def everything_gateway(module_launcher, upstreams):
    """A handshake-era upstream (server-everything) beside a FastMCP one."""
    everything = module_launcher.everything()
    docs = [gateway_doc(), target_doc("everything", everything.url),
            target_doc("cart", upstreams["cart"].url)]
    gw = module_launcher.gateway(docs)
    assert gw.failed == {}, f"targets failed to sync: {gw.failed}"
    return gw


@pytest.fixture(scope="module")
def filtered_gateway(module_launcher, upstreams):
    """Filters on one target, an empty prefix on another."""
    docs = [
        gateway_doc(),
        target_doc("picked", upstreams["many"].url,
                   toolFilter={"include": PICK_INCLUDE, "exclude": PICK_EXCLUDE}),
        target_doc("bare", upstreams["catalog"].url, toolPrefix=""),
    ]
    gw = module_launcher.gateway(docs)
    assert gw.failed == {}, f"targets failed to sync: {gw.failed}"
    return gw


async def upstream_tools(url):
    async with connect(url, "legacy") as client:
        return {tool.name: tool for tool in await list_all(client, "tools")}


@pytest.mark.parametrize("mode", MODES)
def test_lists_every_tool_of_every_target(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            return client.protocol_version, [tool.name for tool in await list_all(client, "tools")]

    version, names = run(scenario())
    assert version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert len(names) == len(set(names)), "duplicate tool names in the listing"
    listed = set(names)
    assert CART_TOOLS <= listed and CATALOG_TOOLS <= listed
    assert {n for n in listed if n.startswith("many___")} == {f"many___{t}" for t in MANY}
    assert SEARCH_TOOL in listed, "the built-in search tool is listed too"
    assert len(listed) == len(CART_TOOLS) + len(CATALOG_TOOLS) + len(MANY) + 1


@pytest.mark.parametrize("mode", MODES)
def test_call_reaches_the_owning_upstream(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            return (await client.call_tool("cart___get_item", {"item_id": "42"}),
                    await client.call_tool("catalog___get_item", {"item_id": "42"}))

    cart, catalog = run(scenario())
    assert not cart.is_error and not catalog.is_error
    assert "cart item 42" in text_of(cart)
    assert "catalog product 42: blue teapot" in text_of(catalog)


@pytest.mark.parametrize("mode", MODES)
def test_stateful_upstream_keeps_state_across_calls(gateway, mode):
    item = f"sku-{mode}"

    async def scenario():
        async with connect(gateway.url, mode) as client:
            added = await client.call_tool("cart___add_item", {"item_id": item, "quantity": 2})
            got = await client.call_tool("cart___get_item", {"item_id": item})
            return text_of(added), text_of(got)

    added, got = run(scenario())
    assert f"2 x {item}" in added
    assert f"cart item {item}: quantity 2" in got


@pytest.mark.parametrize("mode", MODES)
def test_many_tools_keep_their_schemas(gateway, upstreams, mode):
    async def scenario():
        direct = await upstream_tools(upstreams["many"].url)
        async with connect(gateway.url, mode) as client:
            via = {t.name: t for t in await list_all(client, "tools") if t.name.startswith("many___")}
        return direct, via

    direct, via = run(scenario(), timeout=120)
    assert len(direct) == 250 and len(via) == 250
    for name, tool in direct.items():
        exposed = via[f"many___{name}"]
        assert exposed.input_schema == tool.input_schema, name
        assert exposed.description == tool.description, name
    assert "$defs" in via["many___tool_004"].input_schema
    assert "anyOf" in str(via["many___tool_002"].input_schema)


@pytest.mark.parametrize("mode", MODES)
def test_resources_are_listed_and_read(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            resources = {str(r.uri) for r in await list_all(client, "resources")}
            templates = {t.uri_template for t in await list_all(client, "resource_templates")}
            summary = await client.read_resource("cart://summary")
            categories = await client.read_resource("catalog://categories")
            line = await client.read_resource("cart://items/7")
            many = await client.read_resource("many://resource/024")
            return resources, templates, summary, categories, line, many

    resources, templates, summary, categories, line, many = run(scenario())
    assert {"cart://summary", "catalog://categories"} <= resources
    assert {f"many://resource/{i:03d}" for i in range(25)} <= resources
    assert "cart://items/{item_id}" in templates
    assert "cart summary:" in summary.contents[0].text
    assert "kitchen" in categories.contents[0].text
    assert line.contents[0].text == "cart line 7"
    assert many.contents[0].text == "content of resource 024"


@pytest.mark.parametrize("mode", MODES)
def test_prompts_are_listed_and_rendered(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            names = {p.name for p in await list_all(client, "prompts")}
            checkout = await client.get_prompt("cart___checkout_prompt", {"customer": "ada"})
            recommend = await client.get_prompt("catalog___recommend", {"budget": "10 EUR"})
            return names, checkout, recommend

    names, checkout, recommend = run(scenario())
    assert {"cart___checkout_prompt", "catalog___recommend"} <= names
    assert {f"many___prompt_{i:03d}" for i in range(25)} <= names
    assert checkout.messages[0].content.text == "Please check out the cart for ada."
    assert recommend.messages[0].content.text == "Recommend a catalog product under 10 EUR."


@pytest.mark.parametrize("mode", MODES)
def test_unknown_tool_is_invalid_params(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            await list_all(client, "tools")
            with pytest.raises(MCPError) as error:
                await client.call_tool("cart___no_such_tool", {})
            return error.value

    error = run(scenario())
    assert error.code == -32602, f"got {error.code}: {error.message}"


@pytest.mark.parametrize("mode", MODES)
def test_upstream_tool_error_is_a_tool_result(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            return await client.call_tool("cart___remove_item", {"item_id": "absent"})

    result = run(scenario())
    assert result.is_error, text_of(result)
    assert "cart has no item absent" in text_of(result)


@pytest.mark.parametrize("mode", MODES)
def test_handshake_era_upstream_behind_the_gateway(everything_gateway, mode):
    """server-everything only speaks the initialize handshake; clients of both eras reach it."""
    async def scenario():
        async with connect(everything_gateway.url, mode) as client:
            names = {t.name for t in await list_all(client, "tools")}
            echo = await client.call_tool("everything___echo", {"message": "hello upstream"})
            return names, echo

    names, echo = run(scenario())
    assert {"everything___echo", "everything___get-sum"} <= names
    assert not echo.is_error
    assert text_of(echo) == "Echo: hello upstream"


@pytest.mark.parametrize("mode", MODES)
def test_include_exclude_filter_and_empty_prefix(filtered_gateway, upstreams, mode):
    picked = {f"picked___{n}" for n in MANY
              if any(fnmatch.fnmatchcase(n, g) for g in PICK_INCLUDE)
              and not any(fnmatch.fnmatchcase(n, g) for g in PICK_EXCLUDE)}
    assert len(picked) == 10

    async def scenario():
        async with connect(filtered_gateway.url, mode) as client:
            names = {t.name for t in await list_all(client, "tools")}
            bare = await client.call_tool("get_item", {"item_id": "7"})
            chosen = await client.call_tool("picked___tool_010", {"query": "q"})
            prompts = {p.name for p in await list_all(client, "prompts")}
            with pytest.raises(MCPError) as excluded:
                await client.call_tool("picked___tool_003", {"color": "red"})
            return names, bare, chosen, prompts, excluded.value

    names, bare, chosen, prompts, excluded = run(scenario())
    assert names == picked | {SEARCH_TOOL, "get_item", "search_products"}
    assert "catalog product 7: red kettle" in text_of(bare)
    assert text_of(chosen) == "tool_010 called with ['query']"
    assert "recommend" in prompts
    assert excluded.code == -32602


def test_resource_uri_collision_is_reported(launcher):
    """Two targets on the same upstream: tools get distinct prefixes, resource URIs collide."""
    cart = launcher.fixture("cart_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("left", cart.url), target_doc("right", cart.url)])

    async def scenario():
        async with connect(gw.url, "legacy") as client:
            tools = {t.name for t in await list_all(client, "tools")}
            uris = [str(r.uri) for r in await list_all(client, "resources")]
            return tools, uris

    tools, uris = run(scenario())
    assert {"left___get_item", "right___get_item"} <= tools
    assert uris.count("cart://summary") == 1, uris
    assert "collision" in gw.process.log().lower(), gw.process.log()
