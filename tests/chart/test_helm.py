"""The Helm chart: lint, render with every documented values file, validate what renders."""

import json
import re

import pytest

import chartlib
from conftest import RENDERINGS, example_values


def test_helm_lint_strict():
    result = chartlib.helm("lint", "--strict", str(chartlib.CHART))
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout, result.stdout


@pytest.mark.parametrize("values", example_values(), ids=lambda p: p.name)
def test_helm_lint_with_example_values(values):
    chartlib.helm("lint", "--strict", str(chartlib.CHART), "-f", str(values))


@pytest.mark.parametrize("name,values", RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_rendered_builtin_objects_pass_kubernetes_validate(name, values):
    objects, _ = chartlib.render(values)
    builtin = [o for o in objects if chartlib.is_builtin(o)]
    others = {o["kind"] for o in objects if not chartlib.is_builtin(o)}
    # Only the optional ServiceMonitor is not a built-in kind (checked below).
    assert others <= {"ServiceMonitor"}, others
    chartlib.kubernetes_validate(builtin)


@pytest.mark.parametrize("name,values", RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_rendered_objects_are_namespaced_labelled_and_unique(name, values):
    objects, _ = chartlib.render(values, crds=False)
    seen = set()
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
    for obj in objects:
        key = chartlib.ident(obj)
        assert key not in seen, f"{key} rendered twice"
        seen.add(key)
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "switchboard", key
        if obj["kind"] in cluster_scoped:
            assert "namespace" not in obj["metadata"], key
        else:
            assert obj["metadata"].get("namespace"), f"{key} has no namespace"


def test_service_monitor_shape():
    objects, _ = chartlib.render([chartlib.CHART / "examples" / "production.yaml"])
    [monitor] = [o for o in objects if o["kind"] == "ServiceMonitor"]
    [service] = [o for o in objects if o["kind"] == "Service"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert set(monitor["spec"]) == {"selector", "namespaceSelector", "endpoints"}
    assert set(endpoint) == {"port", "path", "interval", "scrapeTimeout"}


def deployment(objects):
    [dep] = [o for o in objects if o["kind"] == "Deployment"]
    return dep


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_operator_deployment_is_hardened(default_render):
    objects, _ = default_render
    dep = deployment(objects)
    pod = dep["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert container["args"] == ["run"]
    assert pod["serviceAccountName"] == "switchboard-operator"
    selector = dep["spec"]["selector"]["matchLabels"]
    assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()


def test_leader_election_defaults_on_and_is_forced_above_one_replica(default_render):
    objects, _ = default_render
    env = env_of(deployment(objects)["spec"]["template"]["spec"]["containers"][0])
    assert env["SWITCHBOARD_LEADER_ELECTION"] == "true"
    assert env["SWITCHBOARD_LEASE_NAME"] == "switchboard-operator"
    assert env["SWITCHBOARD_LEASE_NAMESPACE"] == chartlib.NAMESPACE
    assert env["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert deployment(objects)["spec"]["strategy"]["type"] == "RollingUpdate"

    failed = chartlib.render(sets=("replicas=3", "leaderElection.enabled=false"), check=False)
    assert failed.returncode != 0
    assert "leaderElection.enabled must be true when replicas > 1" in failed.stderr

    objects, _ = chartlib.render(sets=("replicas=3",))
    assert deployment(objects)["spec"]["replicas"] == 3
    assert any(o["kind"] == "PodDisruptionBudget" for o in objects)

    objects, _ = chartlib.render([chartlib.CHART / "examples" / "single-replica-no-lease.yaml"])
    env = env_of(deployment(objects)["spec"]["template"]["spec"]["containers"][0])
    assert env["SWITCHBOARD_LEADER_ELECTION"] == "false"
    assert "SWITCHBOARD_LEASE_NAME" not in env
    assert deployment(objects)["spec"]["strategy"] == {"type": "Recreate"}
    assert not [o for o in objects if o["kind"] == "Role"], "no Lease, no Lease Role"


def test_images_default_to_the_app_version_and_accept_digests(default_render):
    objects, _ = default_render
    container = deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    chart = chartlib.load_file(chartlib.CHART / "Chart.yaml")[0]
    assert container["image"] == f"ghcr.io/switchboard-dev/switchboard:{chart['appVersion']}"
    assert env_of(container)["SWITCHBOARD_GATEWAY_IMAGE"] == (
        f"ghcr.io/switchboard-dev/switchboard-gateway:{chart['appVersion']}"
    )
    objects, _ = chartlib.render([chartlib.CHART / "examples" / "single-replica-no-lease.yaml"])
    container = deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/mirror/switchboard@sha256:" + "0" * 64


def test_values_schema_rejects_typos_and_bad_values():
    for bad in ("replica=2", "metrics.serviceMonitor.enabld=true", "logging.format=yaml",
                "image.digest=latest", "replicas=-1", "watchNamespace=Not_A_Namespace"):
        result = chartlib.render(sets=(bad,), check=False)
        assert result.returncode != 0, f"--set {bad} was accepted"
        assert "values don't meet the specifications of the schema" in result.stderr or \
            "additional properties" in result.stderr or "at '/" in result.stderr, result.stderr


def test_values_schema_documents_every_default_value():
    schema = json.loads((chartlib.CHART / "values.schema.json").read_text())
    values = chartlib.load_file(chartlib.CHART / "values.yaml")[0]

    def walk(value, node, path):
        assert node is not None, f"{path} is not in values.schema.json"
        if isinstance(value, dict) and node.get("additionalProperties") is False:
            for key, sub in value.items():
                walk(sub, node["properties"].get(key), f"{path}.{key}")

    walk(values, schema, "values")


def test_watch_namespace_turns_every_permission_into_a_role_there():
    objects, _ = chartlib.render([chartlib.CHART / "examples" / "single-namespace.yaml"])
    kinds = [o["kind"] for o in objects if o["apiVersion"].startswith("rbac.")]
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    main = [o for o in objects if o["kind"] == "Role" and o["metadata"]["namespace"] == "shop"]
    assert len(main) == 1
    env = env_of(deployment(objects)["spec"]["template"]["spec"]["containers"][0])
    assert env["SWITCHBOARD_WATCH_NAMESPACE"] == "shop"
    default, _ = chartlib.render()
    [cluster_role] = [o for o in default if o["kind"] == "ClusterRole"]
    assert main[0]["rules"] == cluster_role["rules"]


def test_network_policy_allows_only_metrics_and_health_in(default_render):
    objects, _ = default_render
    [policy] = [o for o in objects if o["kind"] == "NetworkPolicy"]
    container = deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"] for p in container["ports"]}
    allowed = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    assert allowed == ports == {"metrics", "health"}
    assert policy["spec"]["policyTypes"] == ["Ingress"]

    objects, _ = chartlib.render([chartlib.CHART / "examples" / "restricted-egress.yaml"])
    [policy] = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress = policy["spec"]["egress"]
    assert {p["port"] for p in egress[0]["ports"]} == {53}
    assert [b["ipBlock"]["cidr"] for b in egress[1]["to"]] == ["10.0.0.1/32", "172.20.0.0/16"]
    assert len(egress) == 4


def test_notes_tell_the_next_command():
    result = chartlib.helm("install", chartlib.RELEASE, str(chartlib.CHART), "--namespace",
                           chartlib.NAMESPACE, "--dry-run=client")
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "kubectl -n switchboard-system rollout status deployment/switchboard-operator" in notes
    assert "kubectl apply -k" in notes and "deploy/examples/ecommerce" in notes
    assert "get mcpgw,mcpgt" in notes
    assert "port-forward svc/shop-gateway 8080:8080" in notes
    single = chartlib.helm("install", chartlib.RELEASE, str(chartlib.CHART), "--namespace",
                           chartlib.NAMESPACE, "--dry-run=client", "--set", "watchNamespace=team-a")
    assert "Put them in namespace team-a" in single.stdout


def test_operator_flags_ports_and_env_exist_in_the_operator(default_render, operator_src):
    """Every SWITCHBOARD_* variable the chart sets is a flag of `switchboard run`, and the
    chart's ports are the ones the operator listens on by default."""
    main = (operator_src / "main.rs").read_text()
    objects, _ = default_render
    container = deployment(objects)["spec"]["template"]["spec"]["containers"][0]
    declared = set(re.findall(r'env\s*=\s*"([A-Z_]+)"', main))
    for name in env_of(container):
        if name == "RUST_LOG":
            continue
        assert name in declared, f"the chart sets {name}, which `switchboard run` does not read"
    assert re.search(r"\bRun\s*\(", main), "no `run` subcommand"
    for flag, port in (("SWITCHBOARD_METRICS_LISTEN", 9090), ("SWITCHBOARD_HEALTH_LISTEN", 8081)):
        m = re.search(rf'env\s*=\s*"{flag}",\s*default_value\s*=\s*"([^"]+)"', main)
        assert m and m.group(1).endswith(f":{port}"), f"{flag} default changed: update the chart"
