"""Argo CD health checks (Lua, run the way Argo CD runs them: a chunk with the object in
the global `obj`, returning {status, message}) and the Argo CD manifests. Each sample runs
under lua5.4 and under lua5.1, the dialect of gopher-lua, Argo CD's interpreter."""

import json
import subprocess
from pathlib import Path

import pytest

import chartlib

HEALTH = chartlib.DEPLOY / "argocd" / "health"
SAMPLES = sorted((Path(__file__).parent / "argocd").glob("*.yaml"))
STATES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}


def lua_literal(value) -> str:
    if isinstance(value, dict):
        items = [f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return lua_string(str(value))


def lua_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)  # UTF-8 passes through: Lua strings are bytes
    return '"' + "".join(out) + '"'


def health(script: str, obj: dict, lua: str = "lua5.4") -> tuple[str, str]:
    harness = (
        f"obj = {lua_literal(obj)}\n"
        f"local check = assert(loadfile({json.dumps(str(HEALTH / (script + '.lua')))}))\n"
        "local hs = check()\n"
        "io.write(tostring(hs.status), '\\n', tostring(hs.message))\n"
    )
    result = subprocess.run([chartlib.tool(lua), "-"], input=harness, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    status, _, message = result.stdout.partition("\n")
    return status, message


@pytest.mark.parametrize("lua", ["lua5.4", "lua5.1"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_health_of_sample(path, lua):
    sample = chartlib.load_file(path)[0]
    status, message = health(sample["script"], sample["object"], lua)
    assert status in STATES
    assert status == sample["expect"]["status"], message
    assert sample["expect"]["message"] in message, message


def test_samples_cover_every_target_state():
    states = {
        chartlib.load_file(p)[0]["object"].get("status", {}).get("status")
        for p in SAMPLES
    }
    for state in ("READY", "CREATING", "UPDATING", "SYNCHRONIZING", "FAILED",
                  "UPDATE_UNSUCCESSFUL", "SYNCHRONIZE_UNSUCCESSFUL", "DELETING"):
        assert state in states, f"no Argo CD sample for {state}"


def test_config_map_patch_embeds_the_same_lua():
    [patch] = chartlib.load_file(chartlib.DEPLOY / "argocd" / "argocd-cm-patch.yaml")
    assert patch["kind"] == "ConfigMap" and patch["metadata"]["name"] == "argocd-cm"
    data = patch["data"]
    assert set(data) == {
        "resource.customizations.health.switchboard.dev_Gateway",
        "resource.customizations.health.switchboard.dev_GatewayTarget",
    }
    assert data["resource.customizations.health.switchboard.dev_Gateway"] == (
        HEALTH / "gateway.lua"
    ).read_text()
    assert data["resource.customizations.health.switchboard.dev_GatewayTarget"] == (
        HEALTH / "gatewaytarget.lua"
    ).read_text()
    chartlib.kubernetes_validate([patch])


def test_applications_point_at_paths_of_this_repository():
    for path in sorted((chartlib.DEPLOY / "argocd").glob("*-application.yaml")):
        [app] = chartlib.load_file(path)
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
        source = app["spec"]["source"]
        assert source["repoURL"] == "https://github.com/switchboard-dev/switchboard.git"
        assert (chartlib.REPO / source["path"]).is_dir(), source["path"]
        assert app["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
        values = source.get("helm", {}).get("valuesObject")
        if values is not None:
            with_values = chartlib.render(sets=tuple(
                f"{k}={v}" for k, v in flatten(values).items()
            ))
            assert with_values[0]
        chart = chartlib.load_file(chartlib.CHART / "Chart.yaml")[0]
        assert source["targetRevision"] == f"v{chart['appVersion']}"


def flatten(values, prefix=""):
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = str(value).lower() if isinstance(value, bool) else value
    return out
