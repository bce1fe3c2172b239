"""The chart grants exactly the API calls the operator makes: derived from operator/src
(see chartlib.operator_api_use) and compared, verb by verb, with the rendered roles."""

import re

import pytest

import chartlib


def fmt(entries) -> str:
    return "\n".join(f"  {g or 'core'}/{r}: {v}" for (g, r), v in sorted(entries.items()))


@pytest.fixture(scope="module")
def api_use(operator_src):
    return chartlib.operator_api_use(operator_src)


def test_rendered_roles_grant_exactly_what_the_operator_uses(api_use, default_render):
    objects, _ = default_render
    granted = chartlib.rbac_rules(objects)
    used = api_use["use"]
    missing = {k: sorted(v - granted.get(k, set())) for k, v in used.items()
               if v - granted.get(k, set())}
    extra = {k: sorted(v - used.get(k, set())) for k, v in granted.items()
             if v - used.get(k, set())}
    assert not missing, "the operator calls these but the chart does not grant them:\n" + fmt(missing)
    assert not extra, "the chart grants these but the operator never calls them:\n" + fmt(extra)


def test_every_grant_has_evidence_in_the_source(api_use):
    # Printed by `tests/chart/run.sh -k evidence -s`: where each verb comes from.
    for (group, resource, verb), where in sorted(api_use["evidence"].items()):
        print(f"{group or 'core'}/{resource} {verb}: {where}")
    assert api_use["evidence"]


def test_dependencies_still_make_the_calls_we_grant_for(operator_src):
    """The Event recorder and the Lease manager call the API themselves; when their source
    is in the cargo registry, check the calls they make against DEPENDENCY_CALLS."""
    lock = operator_src.parents[1] / "Cargo.lock"
    checked = 0
    for construct, (crate, file, kind, verbs) in chartlib.DEPENDENCY_CALLS.items():
        source = chartlib.dependency_source(crate, lock)
        if source is None:
            print(f"{crate}: not in the cargo registry, using the recorded calls {sorted(verbs)}")
            continue
        assert chartlib.dependency_verbs(source / file) == verbs, f"{crate} {file}"
        checked += 1
    print(f"{checked} dependencies checked against their source")


def test_leases_only_in_the_operator_namespace_and_by_name(default_render):
    objects, _ = default_render
    cluster = [o for o in objects if o["kind"] == "ClusterRole"]
    assert not any(r for o in cluster for r in o["rules"] if "coordination.k8s.io" in r["apiGroups"])
    [role] = [o for o in objects if o["kind"] == "Role"]
    assert role["metadata"]["namespace"] == chartlib.NAMESPACE
    [dep] = [o for o in objects if o["kind"] == "Deployment"]
    env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    for rule in role["rules"]:
        if set(rule["verbs"]) - {"create"}:
            assert rule["resourceNames"] == [env["SWITCHBOARD_LEASE_NAME"]]
    bindings = [o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    for binding in bindings:
        [subject] = binding["subjects"]
        assert subject == {"kind": "ServiceAccount", "name": "switchboard-operator",
                           "namespace": chartlib.NAMESPACE}


def test_no_wildcards_and_secrets_are_never_listed(default_render):
    objects, _ = default_render
    for obj in objects:
        for rule in obj.get("rules", []) if obj["kind"] in ("Role", "ClusterRole") else []:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (chartlib.ident(obj), rule)
            if "secrets" in rule["resources"]:
                assert set(rule["verbs"]) <= {"get", "create"}, rule


def test_one_commented_rule_per_purpose():
    """Every rule in the RBAC template has a comment right above it saying why."""
    lines = (chartlib.CHART / "templates" / "rbac.yaml").read_text().splitlines()
    rules = [i for i, line in enumerate(lines) if re.match(r"\s*- apiGroups:", line)]
    assert rules
    for i in rules:
        assert lines[i - 1].strip().startswith("#"), f"rbac.yaml:{i + 1} has no comment"


def test_the_analysis_on_a_known_snippet(tmp_path):
    """The source analysis itself, on a snippet with every pattern it understands."""
    (tmp_path / "lib.rs").write_text('''
async fn apply<K>(ctx: &Context, api: &Api<K>, name: &str, object: &K) -> Result<K, Error> {
    let params = PatchParams::apply("x").force();
    Ok(api.patch(name, &params, &Patch::Apply(object)).await?)
}
fn api<K>(client: &Client, ns: Option<&str>) -> Api<K> {
    match ns { Some(ns) => Api::namespaced(client.clone(), ns), None => Api::all(client.clone()) }
}
async fn reconcile(ctx: &Context, client: Client) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "ns");
    let _ = secrets.get_opt("s").await; // a comment with maps.delete( in it
    apply(ctx, &Api::<Service>::namespaced(client.clone(), "ns"), "n", &svc).await;
    let maps = Api::<ConfigMap>::namespaced(client.clone(), "ns");
    maps.delete("old", &DeleteParams::default()).await;
    let text = "targets.list( inside a string";
    let targets: Api<GatewayTarget> = Api::all(client.clone());
    targets.patch_status("t", &PatchParams::apply("x"), &Patch::Apply(&status)).await;
    targets.patch("t", &PatchParams::default(), &Patch::Merge(&finalizers)).await;
    Controller::new(api::<DeserializeGuard<Gateway>>(&client, None), Config::default())
        .owns(api::<Deployment>(&client, None), Config::default());
    let recorder = Recorder::new(client.clone(), reporter);
}
#[cfg(test)]
mod tests {
    fn t(client: Client) { let pods: Api<Pod> = Api::all(client); pods.delete("p"); }
}
''')
    use = chartlib.operator_api_use(tmp_path)["use"]
    assert use == {
        ("", "secrets"): {"get"},
        ("", "services"): {"create", "patch"},
        ("", "configmaps"): {"delete"},
        ("switchboard.dev", "gatewaytargets/status"): {"patch"},
        ("switchboard.dev", "gatewaytargets"): {"patch"},
        ("switchboard.dev", "gateways"): {"list", "watch"},
        ("apps", "deployments"): {"list", "watch"},
        ("events.k8s.io", "events"): {"create", "patch"},
    }, use


def test_owner_reference_enforcement_adds_delete_on_every_created_kind(api_use):
    """With rbac.ownerReferencesPermissionEnforcement, the operator may delete every kind it
    creates (all carry owner references), and nothing else is added."""
    objects, _ = chartlib.render(sets=("rbac.ownerReferencesPermissionEnforcement=true",))
    granted = chartlib.rbac_rules(objects)
    expected = {k: set(v) for k, v in api_use["use"].items()}
    for key, verbs in api_use["use"].items():
        if "create" in verbs and key not in {("events.k8s.io", "events"),
                                              ("coordination.k8s.io", "leases")}:
            expected[key].add("delete")
    assert granted == expected, (fmt(granted), fmt(expected))
