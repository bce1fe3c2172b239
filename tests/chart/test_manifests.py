"""CRDs, custom resources, the kustomize base and the examples."""

import re
import subprocess
from pathlib import Path

import pytest

import chartlib

EXAMPLES = sorted(p.parent for p in (chartlib.DEPLOY / "examples").glob("*/kustomization.yaml"))
NEGATIVE = sorted((Path(__file__).parent / "negative").glob("*.yaml"))
SAMPLES = sorted((Path(__file__).parent / "argocd").glob("*.yaml"))


def test_chart_and_kustomize_crds_are_the_generated_ones():
    """charts/switchboard/crds and deploy/crds are byte-for-byte copies of crds/."""
    generated = chartlib.crd_files(chartlib.REPO / "crds")
    assert generated, (
        "crds/ is empty: generate it (tests/check-crds.sh --fix), then run "
        "charts/switchboard/sync-crds.sh"
    )
    result = subprocess.run([str(chartlib.CHART / "sync-crds.sh"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_crds_pass_kubernetes_validate():
    crds = [doc for path in chartlib.crd_files() for doc in chartlib.load_file(path)]
    assert {c["spec"]["names"]["kind"] for c in crds} == {"Gateway", "GatewayTarget"}
    chartlib.kubernetes_validate(crds)


def test_crd_schemas_are_strict_and_have_status_subresources():
    for path in chartlib.crd_files():
        [crd] = chartlib.load_file(path)
        for version in crd["spec"]["versions"]:
            assert version.get("subresources", {}).get("status") == {}, path
            assert "spec" in version["schema"]["openAPIV3Schema"]["properties"]
    assert chartlib.crd_validators()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_renders_with_kustomize_and_validates(example):
    objects, _ = chartlib.kustomize(example)
    custom = [o for o in objects if chartlib.is_switchboard(o)]
    assert custom, f"{example} declares no Gateway or GatewayTarget"
    for obj in custom:
        assert chartlib.validate_custom(obj) == [], chartlib.ident(obj)
    builtin = [o for o in objects if chartlib.is_builtin(o)]
    if builtin:
        chartlib.kubernetes_validate(builtin)
    assert len(custom) + len(builtin) == len(objects), "an object of an unknown kind"


def test_every_example_file_is_in_its_kustomization():
    for example in EXAMPLES:
        listed = set(chartlib.load_file(example / "kustomization.yaml")[0]["resources"])
        files = {p.name for p in example.glob("*.yaml")} - {"kustomization.yaml"}
        assert files == listed, f"{example}: {files ^ listed}"


def test_examples_reference_existing_gateways_services_and_secrets():
    """Targets point at a Gateway, a Service port and Secret keys that the examples define
    (the e-commerce example provides the Gateway `shop` and the demo servers)."""
    objects = [o for example in EXAMPLES for o in chartlib.kustomize(example)[0]]
    gateways = {(o["metadata"]["namespace"], o["metadata"]["name"])
                for o in objects if o["kind"] == "Gateway"}
    services = {(o["metadata"]["name"], o["metadata"]["namespace"], p["port"])
                for o in objects if o["kind"] == "Service" for p in o["spec"]["ports"]}
    secrets = {(o["metadata"]["namespace"], o["metadata"]["name"], k)
               for o in objects if o["kind"] == "Secret"
               for k in list(o.get("stringData", {})) + list(o.get("data", {}))}
    for target in (o for o in objects if o["kind"] == "GatewayTarget"):
        ns = target["metadata"]["namespace"]
        assert (ns, target["spec"]["gatewayRef"]["name"]) in gateways, chartlib.ident(target)
        m = re.fullmatch(r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)/mcp",
                         target["spec"]["mcp"]["endpoint"])
        if m:
            assert (m.group(1), m.group(2), int(m.group(3))) in services, chartlib.ident(target)
        oauth2 = target["spec"].get("credentials", {}).get("oauth2")
        for ref in (oauth2 or {}).values():
            if isinstance(ref, dict) and "name" in ref:
                assert (ns, ref["name"], ref["key"]) in secrets, (chartlib.ident(target), ref)


def test_demo_servers_run_the_operator_image_with_demo_server():
    objects, _ = chartlib.kustomize(chartlib.DEPLOY / "examples" / "ecommerce")
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    teams = set()
    for dep in deployments:
        [container] = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"].startswith("ghcr.io/switchboard-dev/switchboard:")
        assert container["args"][:2] == ["demo-server", "--team"]
        teams.add(container["args"][2])
        assert container["args"][3:] == ["--listen", "0.0.0.0:9000"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert teams == {"cart", "catalog", "promotions"}
    targets = {o["metadata"]["name"] for o in objects if o["kind"] == "GatewayTarget"}
    assert targets == teams


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.name)
def test_negative_custom_resources_are_rejected(path):
    expected = re.search(r"^# expect: (.+)$", path.read_text(), re.M).group(1)
    [obj] = chartlib.load_file(path)
    errors = chartlib.validate_custom(obj)
    assert errors, f"{path.name} was accepted by the CRD schema"
    assert any(expected in e for e in errors), errors


def test_the_design_minimal_manifests_validate():
    text = """
apiVersion: switchboard.dev/v1alpha1
kind: Gateway
metadata: {name: shop}
spec:
  inboundAuth: {type: None}
---
apiVersion: switchboard.dev/v1alpha1
kind: GatewayTarget
metadata: {name: cart}
spec:
  gatewayRef: {name: shop}
  mcp: {endpoint: "http://127.0.0.1:9001/mcp"}
"""
    for obj in chartlib.load_all(text):
        assert chartlib.validate_custom(obj) == []


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_argocd_sample_objects_match_the_crd_status_schema(path):
    sample = chartlib.load_file(path)[0]
    assert chartlib.validate_custom(sample["object"]) == []


def test_kustomize_base_renders_and_validates():
    objects, _ = chartlib.kustomize(chartlib.DEPLOY)
    assert all(chartlib.is_builtin(o) for o in objects)
    chartlib.kubernetes_validate(objects)


def normalize(objects):
    """Objects keyed by identity, without labels that only say which tool applied them."""
    out = {}
    for obj in objects:
        labels = obj.get("metadata", {}).get("labels")
        if labels:
            labels.pop("helm.sh/chart", None)
            labels.pop("app.kubernetes.io/managed-by", None)
        for template in [obj.get("spec", {}).get("template", {})]:
            tlabels = template.get("metadata", {}).get("labels")
            if tlabels:
                tlabels.pop("helm.sh/chart", None)
                tlabels.pop("app.kubernetes.io/managed-by", None)
        out[chartlib.ident(obj)] = obj
    return out


def test_kustomize_base_equals_the_chart_default_install():
    """deploy/ installs the same objects as `helm install` with default values (plus the
    Namespace helm's --create-namespace would make). Regenerate with deploy/generate.sh."""
    chart, _ = chartlib.render()
    kustomized, _ = chartlib.kustomize(chartlib.DEPLOY)
    chart, kustomized = normalize(chart), normalize(kustomized)
    namespace = kustomized.pop(f"Namespace/{chartlib.NAMESPACE}", None)
    assert namespace is not None
    assert sorted(chart) == sorted(kustomized), "run deploy/generate.sh"
    for key in chart:
        assert chart[key] == kustomized[key], (
            f"{key} differs from the chart: run deploy/generate.sh\n"
            f"chart: {chartlib.to_json(chart[key])}\nkustomize: {chartlib.to_json(kustomized[key])}"
        )


def test_generated_operator_manifests_are_up_to_date(tmp_path):
    """deploy/generate.sh reproduces deploy/operator/ byte for byte."""
    import os
    import shutil

    copy = tmp_path / "repo"
    for part in ("charts", "deploy"):
        shutil.copytree(chartlib.REPO / part, copy / part)
    env = dict(os.environ, HELM=chartlib.tool("helm"))
    chartlib.run([str(copy / "deploy" / "generate.sh")], env=env)
    for file in sorted((chartlib.DEPLOY / "operator").glob("*.yaml")):
        assert (copy / "deploy" / "operator" / file.name).read_text() == file.read_text(), (
            f"deploy/operator/{file.name} is stale: run deploy/generate.sh"
        )
    assert sorted(p.name for p in (copy / "deploy" / "operator").glob("*.yaml")) == sorted(
        p.name for p in (chartlib.DEPLOY / "operator").glob("*.yaml")
    )
