"""The official conformance suite (@modelcontextprotocol/conformance 0.1.16, Node 22) against
the gateway fronting a conformance-shaped FastMCP server with an empty tool prefix.

Scenarios that fail for a known reason are listed, each with its reason, in
tests/conformance/expected-failures.yaml; the suite itself fails on a scenario that is
listed there but passes (a stale baseline) or fails without being listed.
"""

import json
import re
import subprocess

import pytest
from harness import (NODE_MODULES, REPO, SUMMARIES, connect, gateway_doc, list_all, node22,
                     require, run, target_doc, text_of)

BASELINE = REPO / "tests" / "conformance" / "expected-failures.yaml"
RESULT_DIR = re.compile(r"^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


@pytest.fixture(scope="module")
def upstream(module_launcher):
    return module_launcher.fixture("conformance_server.py")


@pytest.fixture(scope="module")
def gateway(module_launcher, upstream):
    gw = module_launcher.gateway([gateway_doc(), target_doc("conformance", upstream.url, toolPrefix="")])
    assert gw.failed == {}, gw.failed
    return gw


def conformance(url, out_dir, *extra):
    """Run the server suite; returns (exit code, output, {scenario: (passed, failed)})."""
    cli = require(NODE_MODULES / "@modelcontextprotocol/conformance/dist/index.js")
    done = subprocess.run([node22(), str(cli), "server", "--url", url, "-o", str(out_dir), *extra],
                          capture_output=True, text=True, timeout=600, cwd=out_dir)
    output = done.stdout + done.stderr
    scenarios = {}
    for checks_file in sorted(out_dir.glob("*/checks.json")):
        match = RESULT_DIR.match(checks_file.parent.name)
        name = match.group(1) if match else checks_file.parent.name
        statuses = [check["status"] for check in json.loads(checks_file.read_text())]
        scenarios[name] = (statuses.count("SUCCESS"), statuses.count("FAILURE"))
    assert scenarios, f"conformance wrote no results:\n{output}"
    return done.returncode, output, scenarios


def summarize(label, scenarios):
    failing = sorted(name for name, (_, failed) in scenarios.items() if failed)
    passed = len(scenarios) - len(failing)
    checks_passed = sum(p for p, _ in scenarios.values())
    checks_failed = sum(f for _, f in scenarios.values())
    SUMMARIES.append(f"conformance {label}: {passed}/{len(scenarios)} scenarios passed "
                     f"({checks_passed} checks passed, {checks_failed} failed); "
                     f"failing: {', '.join(failing) or 'none'}")
    return failing


def test_fixture_itself_is_conformant(upstream, tmp_path):
    """Only DNS-rebinding protection fails on the bare FastMCP fixture (it does not check Host)."""
    _, output, scenarios = conformance(upstream.url, tmp_path)
    assert summarize("fixture directly", scenarios) == ["dns-rebinding-protection"], output


def test_gateway_passes_conformance_within_baseline(gateway, tmp_path):
    require(BASELINE, "tests/conformance/expected-failures.yaml is part of the repository")
    code, output, scenarios = conformance(gateway.url, tmp_path, "--expected-failures", str(BASELINE))
    summarize("through the gateway", scenarios)
    assert len(scenarios) >= 30, f"expected the whole active suite, ran {sorted(scenarios)}"
    assert code == 0, f"conformance baseline check failed:\n{output[-6000:]}"


def test_conformance_tools_return_their_content(gateway):
    """A scenario can pass on an error answer; check what the tools really return."""
    async def scenario():
        async with connect(gateway.url, "legacy") as client:
            tools = {t.name: t for t in await list_all(client, "tools")}
            simple = await client.call_tool("test_simple_text", {})
            image = await client.call_tool("test_image_content", {})
            mixed = await client.call_tool("test_multiple_content_types", {})
            failing = await client.call_tool("test_error_handling", {})
            text = await client.read_resource("test://static-text")
            templated = await client.read_resource("test://template/123/data")
            prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "hello", "arg2": "world"})
            return tools, simple, image, mixed, failing, text, templated, prompt

    tools, simple, image, mixed, failing, text, templated, prompt = run(scenario())
    assert text_of(simple) == "This is a simple text response for testing."
    assert image.content[0].type == "image" and image.content[0].mime_type == "image/png"
    assert [block.type for block in mixed.content] == ["text", "image", "resource"]
    assert failing.is_error and "intentionally returns an error" in text_of(failing)
    assert text.contents[0].text == "This is the content of the static text resource."
    assert json.loads(templated.contents[0].text)["id"] == "123"
    assert prompt.messages[0].content.text == "Prompt with arguments: arg1='hello', arg2='world'"
    schema = tools["json_schema_2020_12_tool"].input_schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "address" in schema["$defs"] and schema["additionalProperties"] is False


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_progress_and_log_notifications_reach_the_client(gateway, mode):
    progress, logs = [], []

    async def on_progress(value, total, message):
        progress.append((value, total))

    async def on_log(params):
        # FastMCP's ctx.info() sends data={"msg": ..., "extra": ...}
        logs.append(params.data["msg"] if isinstance(params.data, dict) else params.data)

    async def scenario():
        async with connect(gateway.url, mode, logging_callback=on_log, log_level="info") as client:
            if mode == "legacy":
                await client.set_logging_level("info")
            with_progress = await client.call_tool("test_tool_with_progress", {},
                                                   progress_callback=on_progress)
            with_logging = await client.call_tool("test_tool_with_logging", {})
            return with_progress, with_logging

    with_progress, with_logging = run(scenario())
    assert text_of(with_progress) == "Tool with progress executed successfully"
    assert text_of(with_logging) == "Tool with logging executed successfully"
    assert progress == [(0, 100), (50, 100), (100, 100)]
    assert logs == ["Tool execution started", "Tool processing data", "Tool execution completed"]
