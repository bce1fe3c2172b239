"""The MCP Inspector CLI (0.15.0, Node 20) as an independent client of the gateway."""

import json
import subprocess

import pytest
from harness import NODE_MODULES, gateway_doc, node20, require, target_doc


@pytest.fixture(scope="module")
def gateway(module_launcher):
    cart = module_launcher.fixture("cart_server.py")
    catalog = module_launcher.fixture("catalog_server.py")
    return module_launcher.gateway(
        [gateway_doc(), target_doc("cart", cart.url), target_doc("catalog", catalog.url)])


def inspector(url, *args):
    cli = require(NODE_MODULES / "@modelcontextprotocol/inspector/cli/build/cli.js")
    done = subprocess.run([node20(), str(cli), "--cli", url, "--transport", "http", *args],
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"inspector failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_inspector_lists_tools(gateway):
    names = {tool["name"] for tool in inspector(gateway.url, "--method", "tools/list")["tools"]}
    assert {"cart___get_item", "cart___add_item", "catalog___get_item"} <= names


def test_inspector_calls_a_tool(gateway):
    result = inspector(gateway.url, "--method", "tools/call", "--tool-name", "cart___get_item",
                       "--tool-arg", "item_id=42")
    assert result.get("isError") in (None, False), result
    assert result["content"][0]["text"] == "cart item 42: quantity 0"


def test_inspector_reads_a_resource_and_gets_a_prompt(gateway):
    resource = inspector(gateway.url, "--method", "resources/read", "--uri", "catalog://categories")
    assert "kitchen" in resource["contents"][0]["text"]
    prompt = inspector(gateway.url, "--method", "prompts/get", "--prompt-name",
                       "cart___checkout_prompt", "--prompt-args", "customer=ada")
    assert prompt["messages"][0]["content"]["text"] == "Please check out the cart for ada."


def test_inspector_finds_a_tool_with_the_search_tool(gateway):
    """What the demo suggests: a task in plain words → the tool to call, with its schema."""
    result = inspector(gateway.url, "--method", "tools/call", "--tool-name",
                       "switchboard_search_tools", "--tool-arg", "query=add a product to my cart",
                       "--tool-arg", "limit=2")
    assert result.get("isError") in (None, False), result
    tools = result["structuredContent"]["tools"]
    assert [t["name"] for t in tools][0] == "cart___add_item", tools
    assert len(tools) == 2
    assert "item_id" in tools[0]["inputSchema"]["properties"]
