"""Upstream faults: each failing call is a CallToolResult with isError and a message naming the
target, and a healthy target of the same gateway keeps serving right after."""

import asyncio

import pytest
from harness import (
    SEARCH_TOOL, connect, free_port, gateway_doc, list_all, run, target_doc, text_of,
)
from mcp.shared.exceptions import MCPError


def call(url, name, arguments, mode="legacy", timeout=60):
    async def scenario():
        async with connect(url, mode) as client:
            return await client.call_tool(name, arguments)

    return run(scenario(), timeout=timeout)


def assert_healthy(gateway):
    result = call(gateway.url, "catalog___get_item", {"item_id": "9"})
    assert not result.is_error, text_of(result)
    assert text_of(result) == "catalog product 9: green mug"


def assert_tool_error_naming(result, target):
    assert result.is_error, f"expected isError, got: {text_of(result)}"
    assert target in text_of(result), f"message does not name target {target!r}: {text_of(result)}"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_upstream_killed_mid_run(launcher, mode):
    flaky = launcher.fixture("cart_server.py", name="flaky")
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("flaky", flaky.url),
                           target_doc("catalog", catalog.url)])
    assert not call(gw.url, "flaky___get_item", {"item_id": "1"}, mode).is_error

    flaky.process.kill()
    assert_tool_error_naming(call(gw.url, "flaky___get_item", {"item_id": "1"}, mode), "flaky")
    assert_healthy(gw)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_upstream_killed_during_a_call(launcher, tmp_path, mode):
    mark = tmp_path / "slow-calls"
    sluggish = launcher.fixture("slow_server.py", name="sluggish",
                                env={"SLOW_SERVER_MARK": str(mark)})
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("sluggish", sluggish.url),
                           target_doc("catalog", catalog.url)])

    async def scenario():
        async with connect(gw.url, mode) as client:
            call = asyncio.create_task(
                client.call_tool("sluggish___slow_echo", {"text": "x", "seconds": 120}))
            deadline = asyncio.get_running_loop().time() + 20
            while not mark.exists():  # wait until the upstream is inside the call
                assert asyncio.get_running_loop().time() < deadline, "call never reached upstream"
                assert not call.done(), call.result()
                await asyncio.sleep(0.05)
            sluggish.process.kill()
            return await asyncio.wait_for(call, 20)

    assert_tool_error_naming(run(scenario()), "sluggish")
    assert_healthy(gw)


def test_restarted_upstream_is_used_again(launcher):
    """The gateway's pooled upstream session dies with the upstream; it must re-initialize."""
    flaky = launcher.fixture("cart_server.py", name="flaky")
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("flaky", flaky.url),
                           target_doc("catalog", catalog.url)])
    assert not call(gw.url, "flaky___get_item", {"item_id": "1"}).is_error

    flaky.process.kill()
    assert call(gw.url, "flaky___get_item", {"item_id": "1"}).is_error
    launcher.fixture("cart_server.py", name="flaky-again", port=flaky.port)
    result = call(gw.url, "flaky___get_item", {"item_id": "1"})
    assert not result.is_error, text_of(result)
    assert text_of(result) == "cart item 1: quantity 0"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_slow_upstream_exceeds_target_timeout(launcher, mode):
    sluggish = launcher.fixture("slow_server.py", name="sluggish")
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("sluggish", sluggish.url, timeoutSeconds=2),
                           target_doc("catalog", catalog.url)])

    # The upstream sleeps 30 s; with timeoutSeconds 2 the gateway must answer long before that.
    result = call(gw.url, "sluggish___slow_echo", {"text": "x", "seconds": 30}, mode, timeout=20)
    assert_tool_error_naming(result, "sluggish")
    assert_healthy(gw)
    fast = call(gw.url, "sluggish___fast_echo", {"text": "y"}, mode)
    assert text_of(fast) == "fast echo: y", "a timed-out call must not poison the target"


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_garbage_answer_to_a_call(launcher, mode):
    junk = launcher.fixture("garbage_server.py", "--mode", "after-sync", name="junk")
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("junk", junk.url),
                           target_doc("catalog", catalog.url)])
    assert gw.failed == {}, gw.failed

    assert_tool_error_naming(call(gw.url, "junk___broken_tool", {}, mode), "junk")
    assert_healthy(gw)


@pytest.mark.parametrize("fault", ["down", "garbage", "wrong-type"])
def test_target_broken_at_startup_does_not_block_the_gateway(launcher, fault):
    if fault == "down":
        endpoint = f"http://127.0.0.1:{free_port()}/mcp"
    else:
        endpoint = launcher.fixture("garbage_server.py", "--mode", fault, name="junk").url
    catalog = launcher.fixture("catalog_server.py")
    gw = launcher.gateway([gateway_doc(), target_doc("broken", endpoint),
                           target_doc("catalog", catalog.url)])

    assert list(gw.failed) == ["broken"], f"expected `target broken failed:` line, got {gw.lines}"
    assert gw.failed["broken"], "the failure line must give a reason"
    assert_healthy(gw)

    async def scenario():
        async with connect(gw.url, "legacy") as client:
            names = {t.name for t in await list_all(client, "tools")}
            with pytest.raises(MCPError) as error:
                await client.call_tool("broken___get_item", {"item_id": "1"})
            return names, error.value

    names, error = run(scenario())
    assert names == {SEARCH_TOOL, "catalog___get_item", "catalog___search_products"}
    assert error.code == -32602
