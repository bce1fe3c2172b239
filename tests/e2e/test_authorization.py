"""Authorization rules and tenants through the real gateway (API-key callers of two tenants):
lists show a caller only what it may call, in both protocol eras; a denied call gets a clear
JSON-RPC error and an audit line; another tenant's restricted tools cannot be seen, called,
guessed or read, and answer exactly like tools that do not exist."""

from typing import Any

import pytest
from harness import gateway_doc, list_all, rpc_body, run, secret_doc, target_doc
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from test_operations import KEY_TABLE, as_tenant, call, modern, vault, wait_for_records  # noqa: F401

DENIED = -32003
INVALID_PARAMS = -32602
RULES = {"rules": [{"name": "no-cart-writes-for-globex", "action": "Deny",
                    "tools": ["cart___add_item"], "when": 'caller.tenant == "globex"'}]}


@pytest.fixture(scope="module")
def cart(module_launcher):
    return module_launcher.fixture("cart_server.py", name="cart")


@pytest.fixture(scope="module")
def gateway(module_launcher, vault, cart):  # noqa: F811 - vault is the shared fixture
    docs = [gateway_doc(inboundAuth={"type": "APIKey",
                                     "apiKey": {"secretRef": {"name": "gateway-api-keys"}}},
                        authorization=RULES),
            secret_doc("gateway-api-keys", {"keys.yaml": KEY_TABLE}),
            # vault belongs to tenant acme alone; cart is shared.
            target_doc("vault", vault.url, tenants=["acme"]),
            target_doc("cart", cart.url)]
    return module_launcher.gateway(docs, split_stderr=True)


def tool_names(gateway, tenant: str) -> set[str]:
    body = rpc_body(modern(gateway, "tools/list", {}, as_tenant(tenant)))
    return {tool["name"] for tool in body["result"]["tools"]}


def error_of(response) -> dict[str, Any]:
    body = rpc_body(response)
    assert "error" in body, body
    return body["error"]


def test_lists_show_each_tenant_only_what_it_may_call(gateway):
    acme, globex, no_tenant = (tool_names(gateway, t) for t in ("acme", "globex", "anon"))
    assert {"vault___echo", "cart___add_item", "cart___get_item"} <= acme
    assert not any(name.startswith("vault___") for name in globex), globex
    assert "cart___get_item" in globex and "cart___add_item" not in globex, globex
    assert not any(name.startswith("vault___") for name in no_tenant), no_tenant
    assert "cart___add_item" in no_tenant, "the rule only concerns tenant globex"


async def listed_by_sdk(url: str, tenant: str, mode: str) -> set[str]:
    async with create_mcp_http_client(headers=as_tenant(tenant)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, cache=None,
                          read_timeout_seconds=30) as client:
            return {tool.name for tool in await list_all(client, "tools")}


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_the_sdk_client_sees_the_same_filtered_list(gateway, mode):
    globex = run(listed_by_sdk(gateway.url, "globex", mode))
    assert globex == tool_names(gateway, "globex")
    assert "vault___echo" in run(listed_by_sdk(gateway.url, "acme", mode))


def test_a_denied_call_names_the_rule_and_is_audited(gateway):
    error = error_of(call(gateway, "cart___add_item", {"item_id": "sku-1"}, as_tenant("globex")))
    assert error["code"] == DENIED and "no-cart-writes-for-globex" in error["message"], error
    allowed = rpc_body(call(gateway, "cart___add_item", {"item_id": "sku-1"}, as_tenant("acme")))
    assert "result" in allowed, allowed
    records = wait_for_records(gateway, 1)
    denied = [r for r in records if r["outcome"] == "denied" and r["tool"] == "cart___add_item"]
    assert denied and denied[-1]["tenant"] == "globex", records
    assert denied[-1]["event"] == "request_denied", denied[-1]


def test_another_tenants_tools_answer_like_unknown_ones(gateway):
    """Guessing a restricted tool's name reveals nothing: same error as a made-up name."""
    guessed = error_of(call(gateway, "vault___echo", {"text": "x"}, as_tenant("globex")))
    made_up = error_of(call(gateway, "vault___does_not_exist", {}, as_tenant("globex")))
    assert guessed["code"] == made_up["code"] == INVALID_PARAMS, (guessed, made_up)
    assert guessed["message"] == "Unknown tool: vault___echo", guessed
    no_tenant = error_of(call(gateway, "vault___echo", {"text": "x"}, as_tenant("anon")))
    assert no_tenant["code"] == INVALID_PARAMS, no_tenant
    own = rpc_body(call(gateway, "vault___echo", {"text": "x"}, as_tenant("acme")))
    assert "result" in own and not own["result"].get("isError"), own
    assert "vault echo: x" in own["result"]["content"][0]["text"], own
    records = wait_for_records(gateway, 1)
    assert any(r["outcome"] == "denied" and r["tool"] == "vault___echo" and r["tenant"] == "globex"
               for r in records), "the probe is still audited"
