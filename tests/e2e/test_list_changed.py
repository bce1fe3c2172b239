"""A catalog reload reaches connected clients: `notifications/tools/list_changed` on the
session's `GET /mcp` stream and on legacy SSE streams, so an agent learns of new tools
without reconnecting.

Peers: the `switchboard-gateway` binary serving a directory laid out like the operator's
projected volume and updated the way kubelet does (atomic `..data` swap); the FastMCP
cart_server.py fixture as the upstream (its tools are listed with the official Python SDK,
as a sync would, and the new tool is called through the gateway); the official Python SDK
client in session mode (which opens the GET stream itself) and its legacy SSE client.
"""

import asyncio
import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from harness import bin_dir, free_port, port_open, require, wait_until
from mcp import Client
from mcp.client.sse import sse_client

SESSION_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
TOOLS_CHANGED = "notifications/tools/list_changed"


def gateway_binary() -> Path:
    return require(bin_dir() / "switchboard-gateway",
                   "build it with `cargo build --workspace --all-targets --all-features`")


async def upstream_tools(url: str) -> list[dict[str, Any]]:
    """The upstream's tool definitions, as a sync reads them."""
    async with Client(url, mode="legacy", cache=None) as client:
        listed = await client.list_tools()
    return [tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in listed.tools]


def catalog(url: str, tools: list[dict[str, Any]], version: int) -> dict[str, Any]:
    return {
        "formatVersion": 1, "target": "cart", "prefix": "cart",
        "serverInfo": {"name": "cart"}, "protocolVersion": "2025-11-25", "capabilities": {},
        "tools": [{"name": f"cart___{t['name']}", "upstreamName": t["name"], "definition": t}
                  for t in tools],
        "resources": [], "resourceTemplates": [], "prompts": [],
        "contentHash": f"sha256:test-{version}", "syncedAt": "2026-11-21T00:00:00Z",
    }


class Volume:
    """A config directory updated like kubelet's AtomicWriter: new `..<stamp>` directory,
    `..data` symlink swapped, top-level entries linking through `..data`."""

    def __init__(self, root: Path, upstream_url: str):
        self.root = root
        self.upstream_url = upstream_url
        self.version = 0

    def publish(self, tools: list[dict[str, Any]]) -> None:
        self.version += 1
        stamp = f"..2026_11_21_06_00_00.{self.version:09d}"
        data = self.root / stamp
        (data / "catalogs").mkdir(parents=True)
        config = {"gateway": {"name": "shop", "inboundAuth": {"type": "None"}},
                  "targets": [{"name": "cart", "endpoint": self.upstream_url,
                               "toolPrefix": "cart", "createdAt": "2026-11-21T00:00:00Z"}]}
        (data / "config.json").write_text(json.dumps(config))
        (data / "session-key").write_text(SESSION_KEY)
        (data / "catalogs" / "cart-catalog-0.json").write_text(
            json.dumps(catalog(self.upstream_url, tools, self.version)))
        previous = os.readlink(self.root / "..data") if (self.root / "..data").exists() else None
        os.symlink(stamp, self.root / "..data_tmp")
        os.replace(self.root / "..data_tmp", self.root / "..data")
        for entry in ("config.json", "session-key", "catalogs"):
            if not (self.root / entry).is_symlink():
                os.symlink(f"..data/{entry}", self.root / entry)
        if previous:
            for path in sorted((self.root / previous).rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            (self.root / previous).rmdir()


class Heard(list):
    """The server notifications a client's message handler received, by method."""

    async def record(self, message: Any) -> None:
        method = getattr(getattr(message, "root", message), "method", None)
        if method:
            self.append(method)


def metric(admin: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


@pytest.fixture
def setup(launcher, tmp_path):
    cart = launcher.fixture("cart_server.py", name="cart")
    tools = asyncio.run(upstream_tools(cart.url))
    assert {"get_item", "add_item"} <= {t["name"] for t in tools}, tools
    volume = Volume(tmp_path / "volume", cart.url)
    volume.root.mkdir()
    # First only get_item: add_item "appears upstream" later.
    volume.publish([t for t in tools if t["name"] == "get_item"])
    port, admin = free_port(), free_port()
    process = launcher._start("gateway", [
        str(gateway_binary()), "--config-dir", str(volume.root), "--listen", f"127.0.0.1:{port}",
        "--admin-listen", f"127.0.0.1:{admin}", "--reload-interval-ms", "100"])
    wait_until(lambda: port_open(admin) or not process.alive(), 30, "the gateway's admin port")
    assert process.alive(), process.log()
    return volume, tools, f"http://127.0.0.1:{port}/mcp", admin


def test_a_session_hears_that_tools_changed_and_calls_the_new_tool(setup):
    volume, tools, url, admin = setup
    notifications = Heard()

    async def scenario() -> None:
        async with Client(url, mode="legacy", cache=None, message_handler=notifications.record) as client:
            assert client.server_capabilities.tools.list_changed is True
            before = {t.name for t in (await client.list_tools()).tools}
            assert "cart___get_item" in before and "cart___add_item" not in before, before
            # The SDK opened the session's GET stream by itself; the gateway counts it.
            await asyncio.to_thread(wait_until, lambda: metric(admin, "switchboard_session_streams") >= 1,
                                    10, "the session's GET /mcp stream")
            volume.publish(tools)
            await asyncio.to_thread(wait_until, lambda: TOOLS_CHANGED in notifications, 15,
                                    "notifications/tools/list_changed")
            after = {t.name for t in (await client.list_tools()).tools}
            assert "cart___add_item" in after, after
            result = await client.call_tool("cart___add_item", {"item_id": "sku-7", "quantity": 2})
            assert not result.is_error and "2 x sku-7" in result.content[0].text, result
            # Only the tools changed: no resources or prompts notification.
            assert set(notifications) == {TOOLS_CHANGED}, notifications

    asyncio.run(asyncio.wait_for(scenario(), 60))
    wait_until(lambda: metric(admin, "switchboard_session_streams") == 0, 10,
               "the GET stream to close with the client")


def test_a_legacy_sse_client_hears_it_too(setup):
    volume, tools, url, admin = setup
    notifications = Heard()

    async def scenario() -> None:
        sse_url = url.removesuffix("/mcp") + "/sse"
        async with Client(sse_client(sse_url), cache=None, message_handler=notifications.record) as client:
            assert "cart___add_item" not in {t.name for t in (await client.list_tools()).tools}
            volume.publish(tools)
            await asyncio.to_thread(wait_until, lambda: TOOLS_CHANGED in notifications, 15,
                                    "notifications/tools/list_changed on the SSE stream")
            assert "cart___add_item" in {t.name for t in (await client.list_tools()).tools}

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_get_without_a_session_or_event_stream_is_refused(setup):
    _, _, url, _ = setup
    import httpx2

    assert httpx2.get(url, headers={"Accept": "text/event-stream"}).status_code == 405
    forged = {"Accept": "text/event-stream", "Mcp-Session-Id": "forged"}
    assert httpx2.get(url, headers=forged).status_code == 404
    assert httpx2.get(url, headers={"Mcp-Session-Id": "forged",
                                    "Accept": "application/json"}).status_code == 406


def test_open_streams_do_not_hold_a_shutdown_open(setup, launcher):
    """On SIGTERM the gateway ends its event streams (clients reconnect elsewhere) and exits,
    instead of waiting for every connected client to leave."""
    _, _, url, admin = setup
    gateway = next(p for p in launcher.processes if p.name.endswith("gateway"))

    async def scenario() -> int:
        async with Client(url, mode="legacy", cache=None) as client:
            await client.list_tools()
            await asyncio.to_thread(wait_until, lambda: metric(admin, "switchboard_session_streams") >= 1,
                                    10, "the session's GET /mcp stream")
            gateway.popen.send_signal(signal.SIGTERM)
            return await asyncio.to_thread(gateway.popen.wait, 10)

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == 0


def test_a_stateless_client_listens_for_changes(setup):
    """2026-07-28: `subscriptions/listen` acknowledges the honored filter, then delivers the
    change; resource subscriptions are not honored (resources/updated is not bridged)."""
    from mcp.client.subscriptions import ToolsListChanged

    volume, tools, url, _ = setup

    async def scenario() -> None:
        async with Client(url, mode="2026-07-28", cache=None) as client:
            assert "cart___add_item" not in {t.name for t in (await client.list_tools()).tools}
            async with client.listen(tools_list_changed=True, prompts_list_changed=True,
                                     resource_subscriptions=["cart://items/1"]) as subscription:
                honored = subscription.honored
                assert honored.tools_list_changed is True and honored.prompts_list_changed is True
                assert honored.resource_subscriptions is None
                assert honored.resources_list_changed is None, "not asked for, not honored"
                volume.publish(tools)
                event = await asyncio.wait_for(anext(subscription), 15)
                assert isinstance(event, ToolsListChanged), event
            after = {t.name for t in (await client.list_tools()).tools}
            assert "cart___add_item" in after, after
            result = await client.call_tool("cart___add_item", {"item_id": "sku-9"})
            assert not result.is_error and "1 x sku-9" in result.content[0].text, result

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_a_listen_stream_closes_gracefully_on_shutdown(setup, launcher):
    """The request's result ends the stream (the spec's graceful close): the client's loop
    ends instead of reporting the subscription lost."""
    _, _, url, _ = setup
    gateway = next(p for p in launcher.processes if p.name.endswith("gateway"))

    async def scenario() -> list[Any]:
        async with Client(url, mode="2026-07-28", cache=None) as client:
            async with client.listen(tools_list_changed=True) as subscription:
                gateway.popen.send_signal(signal.SIGTERM)
                return [event async for event in subscription]

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == []
    assert gateway.popen.wait(10) == 0
