"""The gateway's built-in tool search (`switchboard_search_tools`, docs/search.md) through the
real gateway binary.

Peers: the FastMCP fixtures cart_server.py (stateful shopping cart), catalog_server.py,
many_tools_server.py (250 numbered tools) and auth_protected_server.py (the `vault` target of a
single tenant), driven by the official Python SDK client (`mcp.Client`) in every protocol mode
of harness.MODES and by raw stateless 2026-07-28 HTTP requests where exact JSON matters.

Covered: the search tool's listing (description generated from the catalog, schema requiring
`query`); results that are ready to call (full input schemas, identical to tools/list, then
called by name); `limit`, `targets` and bad input; permission-aware results (authorization
rules and tenant-restricted targets filter candidates before ranking, so a hidden tool never
appears or takes a slot); `exposure: SearchOnly` with pinned tools; hybrid ranking with the
all-MiniLM-L6-v2 model, lexical ranking without it, an explicit `mode`; search disabled.

Gateways with the model get SWITCHBOARD_EMBEDDING_MODEL_DIR (as tests/run-all.sh exports it;
default: the all-MiniLM-L6-v2 directory of tests/setup-tools.sh); the others get it empty, which
the gateway reads as "no model" (lexical search only).
"""

import os
from pathlib import Path
from typing import Any

import pytest
from harness import (
    MODES, SEARCH_TOOL, TOOLS, connect, gateway_doc, list_all, require, rpc_body, run,
    secret_doc, target_doc, text_of,
)
from mcp.shared.exceptions import MCPError
from test_operations import KEY_TABLE, as_tenant, call, modern, result_of, vault  # noqa: F401

MODEL_DIR = Path(os.environ.get("SWITCHBOARD_EMBEDDING_MODEL_DIR")
                 or TOOLS / "models" / "all-MiniLM-L6-v2")
NO_MODEL = {"SWITCHBOARD_EMBEDDING_MODEL_DIR": ""}
CART_TOOLS = {"cart___get_item", "cart___add_item", "cart___remove_item", "cart___list_items"}
CATALOG_TOOLS = {"catalog___get_item", "catalog___search_products"}
ADD_TO_CART = "add a product to my shopping cart"
# Words of no cart tool's name, description or parameters: only the model can match them.
PARAPHRASE = "put something in my basket"
UNKNOWN_TOOL = -32602
DENY_GLOBEX_CART_WRITES = {"rules": [{"name": "no-cart-writes-for-globex", "action": "Deny",
                                      "tools": ["cart___add_item"],
                                      "when": 'caller.tenant == "globex"'}]}


def with_model() -> dict[str, str]:
    require(MODEL_DIR / "model.safetensors", "fetch all-MiniLM-L6-v2 with ./tests/setup-tools.sh "
            "or point SWITCHBOARD_EMBEDDING_MODEL_DIR at it")
    return {"SWITCHBOARD_EMBEDDING_MODEL_DIR": str(MODEL_DIR)}


@pytest.fixture(scope="module")
def upstreams(module_launcher):
    return {"cart": module_launcher.fixture("cart_server.py", name="cart"),
            "catalog": module_launcher.fixture("catalog_server.py", name="catalog"),
            "many": module_launcher.fixture("many_tools_server.py", name="many")}


def started(launcher, docs: list[dict[str, Any]], env: dict[str, str], **kwargs: Any):
    gateway = launcher.gateway(docs, env=env, **kwargs)
    assert gateway.failed == {}, f"targets failed to sync: {gateway.failed}"
    return gateway


@pytest.fixture(scope="module")
def gateway(module_launcher, upstreams):
    """cart + catalog + many (256 tools), searching hybrid with the model."""
    docs = [gateway_doc()] + [target_doc(name, up.url) for name, up in upstreams.items()]
    return started(module_launcher, docs, with_model(), split_stderr=True)


@pytest.fixture(scope="module")
def lexical_gateway(module_launcher, upstreams):
    """cart + catalog without a model: lexical search only."""
    docs = [gateway_doc(), target_doc("cart", upstreams["cart"].url),
            target_doc("catalog", upstreams["catalog"].url)]
    return started(module_launcher, docs, NO_MODEL)


@pytest.fixture(scope="module")
def tenant_gateway(module_launcher, upstreams, vault):  # noqa: F811 - vault is the shared fixture
    """API-key callers of tenants acme and globex (and one without a tenant); vault belongs to
    acme alone; globex may not call cart___add_item. Hybrid, so a large limit ranks everything."""
    docs = [gateway_doc(inboundAuth={"type": "APIKey",
                                     "apiKey": {"secretRef": {"name": "gateway-api-keys"}}},
                        authorization=DENY_GLOBEX_CART_WRITES),
            secret_doc("gateway-api-keys", {"keys.yaml": KEY_TABLE}),
            target_doc("vault", vault.url, tenants=["acme"]),
            target_doc("cart", upstreams["cart"].url)]
    return started(module_launcher, docs, with_model())


@pytest.fixture(scope="module")
def search_only_gateway(module_launcher, upstreams):
    docs = [gateway_doc(search={"exposure": "SearchOnly", "pinnedTools": ["cart___get_item"]}),
            target_doc("cart", upstreams["cart"].url),
            target_doc("catalog", upstreams["catalog"].url)]
    return started(module_launcher, docs, NO_MODEL)


@pytest.fixture(scope="module")
def disabled_gateway(module_launcher, upstreams):
    docs = [gateway_doc(search={"enabled": False}), target_doc("cart", upstreams["cart"].url)]
    return started(module_launcher, docs, NO_MODEL)


def search(gateway, arguments: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The search tool's result to a raw 2026-07-28 tools/call (a JSON-RPC error fails)."""
    return result_of(call(gateway, SEARCH_TOOL, arguments, headers))


def found(result: dict[str, Any]) -> list[str]:
    assert not result.get("isError"), result
    return [tool["name"] for tool in result["structuredContent"]["tools"]]


def listed(gateway, headers: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """tools/list over raw HTTP; the default page size holds every tool of these catalogs."""
    result = result_of(modern(gateway, "tools/list", {}, headers))
    assert "nextCursor" not in result, "expected one page"
    return {tool["name"]: tool for tool in result["tools"]}


def text_of_result(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"])


def error_text(result: dict[str, Any]) -> str:
    assert result.get("isError") is True, result
    assert "structuredContent" not in result, result
    return result["content"][0]["text"]


# --- listing -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_search_tool_is_listed_first_and_describes_the_catalog(gateway, mode):
    async def scenario():
        async with connect(gateway.url, mode) as client:
            return await list_all(client, "tools")

    tools = run(scenario())
    assert tools[0].name == SEARCH_TOOL, [t.name for t in tools[:3]]
    assert [t.name for t in tools].count(SEARCH_TOOL) == 1
    tool = tools[0]
    described = tool.description
    assert described.startswith("Search 256 tools across 3 targets"), described
    for part in ("cart (4 tools", "catalog (2 tools", "many (250 tools", "semantic and keyword"):
        assert part in described, (part, described)
    schema = tool.input_schema
    assert schema["required"] == ["query"], schema
    assert schema["properties"]["query"]["type"] == "string"
    limit = schema["properties"]["limit"]
    assert [limit[k] for k in ("type", "minimum", "maximum", "default")] == ["integer", 1, 50, 5]
    assert schema["properties"]["targets"]["items"]["enum"] == ["cart", "catalog", "many"]
    assert schema["properties"]["mode"]["enum"] == ["hybrid", "lexical", "vector"]
    assert tool.annotations.read_only_hint is True


def test_description_follows_the_catalog_without_a_model(lexical_gateway):
    tool = listed(lexical_gateway)[SEARCH_TOOL]
    assert tool["description"].startswith("Search 6 tools across 2 targets"), tool["description"]
    assert "(keyword matching)" in tool["description"], "no model: no semantic matching claimed"
    assert tool["inputSchema"]["properties"]["targets"]["items"]["enum"] == ["cart", "catalog"]


# --- results are ready to call ---------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_results_carry_listed_schemas_and_are_callable_by_name(gateway, mode):
    item = f"sku-found-{mode}"

    async def scenario():
        async with connect(gateway.url, mode) as client:
            tools = {t.name: t for t in await list_all(client, "tools")}
            result = await client.call_tool(SEARCH_TOOL, {"query": ADD_TO_CART})
            hits = result.structured_content["tools"]
            # Argument names come from the returned schema, as an agent would build them.
            properties = hits[0]["inputSchema"]["properties"]
            assert set(properties) == {"item_id", "quantity"}, properties
            added = await client.call_tool(hits[0]["name"], {"item_id": item, "quantity": 3})
            return tools, result, added

    tools, result, added = run(scenario())
    assert not result.is_error, text_of(result)
    assert result.structured_content["mode"] == "hybrid"
    hits = result.structured_content["tools"]
    assert [h["name"] for h in hits][0] == "cart___add_item", hits
    assert len(hits) == 5, "the default limit"
    for hit in hits:
        assert set(hit) == {"name", "title", "description", "target", "inputSchema", "score"}, hit
        same = tools[hit["name"]]
        assert hit["inputSchema"] == same.input_schema, hit["name"]
        assert hit["description"] == same.description, hit["name"]
        assert hit["name"].startswith(hit["target"] + "___"), hit
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True), "best first"
    lines = text_of(result).splitlines()
    assert lines[0].startswith(f'5 tools match "{ADD_TO_CART}"'), lines[0]
    assert lines[1:] == [f"- {h['name']}: {h['description']}" for h in hits], lines
    assert not added.is_error, text_of(added)
    assert text_of(added) == f"cart now holds 3 x {item}"


def test_nested_schemas_come_back_whole(gateway):
    """Every schema shape of many_tools_server ($defs/$ref, nested objects, anyOf, enums) comes
    back verbatim; an exact tool name finds that tool first."""
    everything = listed(gateway)
    for i in range(5):
        name = f"many___tool_{i:03d}"
        hits = search(gateway, {"query": name, "limit": 1})["structuredContent"]["tools"]
        assert [hit["name"] for hit in hits] == [name], hits
        assert hits[0]["inputSchema"] == everything[name]["inputSchema"], name
    assert "$defs" in everything["many___tool_004"]["inputSchema"]


# --- limit, targets, bad input ---------------------------------------------------------------

def test_limit_and_targets_are_honoured(gateway):
    assert len(found(search(gateway, {"query": "shopping cart", "limit": 2}))) == 2
    assert len(found(search(gateway, {"query": "shopping cart", "limit": 50}))) == 50
    catalog = found(search(gateway, {"query": ADD_TO_CART, "targets": ["catalog"], "limit": 50}))
    assert set(catalog) == CATALOG_TOOLS and len(catalog) == 2, catalog
    both = found(search(gateway, {"query": ADD_TO_CART, "targets": ["cart", "catalog"],
                                  "limit": 50}))
    assert set(both) == CART_TOOLS | CATALOG_TOOLS and len(both) == 6, both
    assert both[0] == "cart___add_item"
    # An empty list means every target, like no filter.
    assert found(search(gateway, {"query": ADD_TO_CART, "targets": []})) == \
        found(search(gateway, {"query": ADD_TO_CART}))


@pytest.mark.parametrize("limit", [0, 51, 1000, -1, 2.5, "2", True])
def test_a_limit_outside_the_schema_is_a_tool_error(gateway, limit):
    result = search(gateway, {"query": "shopping cart", "limit": limit})
    assert error_text(result).startswith("limit must be an integer from 1 to 50, not "), limit


@pytest.mark.parametrize("arguments", [
    {}, {"query": ""}, {"query": "   "}, {"limit": 3},
], ids=["missing", "empty", "blank", "limit-only"])
def test_missing_or_empty_query_is_a_tool_error(gateway, arguments):
    result = search(gateway, arguments)
    assert error_text(result) == "query must be a non-empty string describing the task"


@pytest.mark.parametrize("query,kind", [(5, "a number"), (["cart"], "a list")])
def test_a_query_of_the_wrong_type_is_named(gateway, query, kind):
    result = search(gateway, {"query": query})
    assert error_text(result) == f"query must be a string describing the task, not {kind}"


def test_unknown_mode_is_a_tool_error(gateway):
    result = search(gateway, {"query": "cart", "mode": "fuzzy"})
    assert error_text(result) == 'unknown mode "fuzzy": use hybrid, lexical or vector'


def test_sdk_client_sees_bad_input_as_a_tool_error(gateway):
    async def scenario():
        async with connect(gateway.url, "legacy") as client:
            return await client.call_tool(SEARCH_TOOL, {"query": ""})

    result = run(scenario())
    assert result.is_error and "non-empty string" in text_of(result)


def test_an_unknown_target_is_a_tool_error_naming_the_servers(gateway):
    """A typo must not look like "no tool matches"."""
    result = search(gateway, {"query": "cart", "targets": ["nowhere"]})
    assert error_text(result) == 'unknown target "nowhere": the servers are cart, catalog, many'


@pytest.mark.parametrize("odd,message", [
    ({"targets": "catalog"}, "targets must be a list of server names, not a string"),
    ({"targets": [7]}, "targets must be a list of server names, not a list holding a number"),
    ({"colour": "red"}, "unknown argument(s) colour: the arguments are query, limit, targets and mode"),
    ({"mode": 1}, "unknown mode 1: use hybrid, lexical or vector"),
], ids=["targets-string", "targets-numbers", "unknown-argument", "mode-number"])
def test_ill_typed_or_unknown_arguments_are_tool_errors(gateway, odd, message):
    """Nothing is silently dropped: `targets: "catalog"` would otherwise widen the search."""
    assert error_text(search(gateway, {"query": "shopping cart", **odd})) == message


def test_arguments_that_are_not_an_object_are_a_tool_error(gateway):
    body = rpc_body(modern(gateway, "tools/call", {"name": SEARCH_TOOL, "arguments": "cart"}))
    assert "result" in body, body
    assert error_text(body["result"]) == \
        'arguments must be an object like {"query": "..."}, not a string'


def test_bad_search_calls_are_audited_as_tool_errors(gateway):
    search(gateway, {"query": "cart", "targets": ["audited-typo"]})
    records = [r for r in gateway.audit_records() if r.get("tool") == SEARCH_TOOL
               and r.get("outcome") == "tool_error" and "audited-typo" in (r.get("reason") or "")]
    assert records, "the failed search has an audit line with its reason"


# --- permission-aware ------------------------------------------------------------------------

def test_results_only_hold_tools_the_caller_may_call(tenant_gateway):
    """With a limit above the catalog size, hybrid ranks every candidate: the results are then
    exactly what the caller's tools/list shows, whatever the query names."""
    for tenant in ("acme", "globex", "anon"):
        headers = as_tenant(tenant)
        visible = set(listed(tenant_gateway, headers)) - {SEARCH_TOOL}
        for query in ("vault___echo echo the text back", "cart___add_item add an item to the cart",
                      "store a password in the vault"):
            names = found(search(tenant_gateway, {"query": query, "limit": 50}, headers))
            assert set(names) == visible and len(names) == len(visible), (tenant, query, names)
    globex = set(listed(tenant_gateway, as_tenant("globex")))
    assert "cart___add_item" not in globex and not any(n.startswith("vault___") for n in globex)


def test_other_callers_find_what_globex_may_not(tenant_gateway):
    acme = found(search(tenant_gateway, {"query": "vault echo the text back"}, as_tenant("acme")))
    assert acme[0] == "vault___echo", acme
    anon = found(search(tenant_gateway, {"query": ADD_TO_CART}, as_tenant("anon")))
    assert anon[0] == "cart___add_item", anon
    assert not any(n.startswith("vault___") for n in anon), "vault belongs to acme alone"
    globex = search(tenant_gateway, {"query": "vault echo the text back", "limit": 50,
                                     "targets": ["vault"]}, as_tenant("globex"))
    assert error_text(globex) == 'unknown target "vault": the servers are cart', \
        "another tenant's target answers exactly like one that does not exist"


def test_the_search_tool_describes_only_targets_the_caller_may_use(tenant_gateway):
    """The description and the `targets` enum are per caller: globex never learns that acme's
    vault exists, from the search tool or from the server's instructions."""
    acme = listed(tenant_gateway, as_tenant("acme"))[SEARCH_TOOL]
    globex = listed(tenant_gateway, as_tenant("globex"))[SEARCH_TOOL]
    assert "vault" in acme["description"]
    assert acme["inputSchema"]["properties"]["targets"]["items"]["enum"] == ["cart", "vault"]
    assert "vault" not in globex["description"], globex["description"]
    assert globex["inputSchema"]["properties"]["targets"]["items"]["enum"] == ["cart"]
    assert "Search 4 tools across 1 targets" in globex["description"], globex["description"]
    for tenant, sees_vault in (("acme", True), ("globex", False)):
        discovered = result_of(modern(tenant_gateway, "server/discover", {}, as_tenant(tenant)))
        assert ("vault" in discovered["instructions"]) is sees_vault, (tenant, discovered)


def test_a_hidden_tool_never_takes_a_slot(tenant_gateway):
    """Lexically exactly the four cart tools match; with limit 3 globex still gets three."""
    query = {"query": "shopping cart item", "limit": 3, "mode": "lexical"}
    acme = search(tenant_gateway, query, as_tenant("acme"))
    assert acme["structuredContent"]["mode"] == "lexical"
    assert "cart___add_item" in found(acme) and len(found(acme)) == 3, found(acme)
    globex = found(search(tenant_gateway, query, as_tenant("globex")))
    assert set(globex) == CART_TOOLS - {"cart___add_item"}, globex
    # Whereas the denied tool is still refused when called by name.
    denied = rpc_body(call(tenant_gateway, "cart___add_item", {"item_id": "x"},
                           as_tenant("globex")))
    assert "no-cart-writes-for-globex" in denied["error"]["message"], denied


# --- SearchOnly exposure ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_search_only_lists_search_and_pinned_tools_yet_finds_and_calls_the_rest(
        search_only_gateway, mode):
    item = f"sku-search-only-{mode}"

    async def scenario():
        async with connect(search_only_gateway.url, mode) as client:
            names = [t.name for t in await list_all(client, "tools")]
            result = await client.call_tool(SEARCH_TOOL, {"query": "add item to shopping cart"})
            first = result.structured_content["tools"][0]["name"]
            added = await client.call_tool(first, {"item_id": item})
            pinned = await client.call_tool("cart___get_item", {"item_id": item})
            return names, result, first, added, pinned

    names, result, first, added, pinned = run(scenario())
    assert names == [SEARCH_TOOL, "cart___get_item"], names
    assert first == "cart___add_item", result.structured_content
    assert not added.is_error and text_of(added) == f"cart now holds 1 x {item}", text_of(added)
    assert text_of(pinned) == f"cart item {item}: quantity 1"


def test_search_only_still_searches_the_whole_catalog(search_only_gateway):
    description = listed(search_only_gateway)[SEARCH_TOOL]["description"]
    assert description.startswith("Search 6 tools across 2 targets"), description
    names = found(search(search_only_gateway, {"query": "product catalog", "limit": 50}))
    assert set(names) >= CATALOG_TOOLS, names


# --- modes -----------------------------------------------------------------------------------

def test_hybrid_with_the_model_finds_a_paraphrase(gateway):
    status = "\n".join(gateway.lines)
    assert "search: hybrid, 256 of 256 tools embedded (model sbert-candle:" in status, status
    log = "\n".join(gateway.stderr_lines)
    assert "tool embeddings target=cart" in log, "tool embeddings are computed at sync"
    hybrid = search(gateway, {"query": PARAPHRASE})
    assert hybrid["structuredContent"]["mode"] == "hybrid"
    assert found(hybrid)[0] == "cart___add_item", found(hybrid)
    lexical = search(gateway, {"query": PARAPHRASE, "mode": "lexical"})
    assert lexical["structuredContent"]["mode"] == "lexical", "an explicit mode is honoured"
    assert found(lexical) == [], "no word of the query is in any tool"
    vector = search(gateway, {"query": PARAPHRASE, "mode": "vector"})
    assert vector["structuredContent"]["mode"] == "vector"
    assert found(vector)[0] == "cart___add_item", found(vector)


def test_lexical_without_the_model(lexical_gateway):
    log = "\n".join(lexical_gateway.lines)
    assert "search: lexical only (no embedding model configured" in log, log
    assert "tool embeddings" not in log
    keyword = search(lexical_gateway, {"query": ADD_TO_CART})
    assert keyword["structuredContent"]["mode"] == "lexical"
    assert found(keyword)[0] == "cart___add_item", found(keyword)
    # Asking for hybrid or vector without a model still answers, lexically.
    for mode in ("hybrid", "vector"):
        result = search(lexical_gateway, {"query": ADD_TO_CART, "mode": mode})
        assert result["structuredContent"]["mode"] == "lexical"
        assert found(result) == found(keyword)
    paraphrase = search(lexical_gateway, {"query": PARAPHRASE})
    assert found(paraphrase) == []
    assert text_of_result(paraphrase) == f'No tool matches "{PARAPHRASE}".'


# --- disabled --------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_disabled_search_is_neither_listed_nor_callable(disabled_gateway, mode):
    async def scenario():
        async with connect(disabled_gateway.url, mode) as client:
            names = {t.name for t in await list_all(client, "tools")}
            errors = []
            for name in (SEARCH_TOOL, "cart___no_such_tool"):
                with pytest.raises(MCPError) as error:
                    await client.call_tool(name, {"query": "cart"})
                errors.append(error.value)
            return names, errors

    names, (search_error, unknown_error) = run(scenario())
    assert names == CART_TOOLS, names
    assert search_error.code == unknown_error.code == UNKNOWN_TOOL
    assert search_error.message == f"Unknown tool: {SEARCH_TOOL}"
    assert unknown_error.message == "Unknown tool: cart___no_such_tool"
