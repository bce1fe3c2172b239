"""Helpers of the chart and manifest tests: tools, rendering, schema validation, and the
static analysis that derives the operator's Kubernetes API use from its Rust source."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jsonschema
import yaml

REPO = Path(os.environ.get("SWITCHBOARD_REPO", Path(__file__).resolve().parents[2]))
TOOLS = Path(
    os.environ.get(
        "SWITCHBOARD_CHART_TOOLS",
        Path(os.environ.get("SWITCHBOARD_TOOLS_DIR", Path.home() / ".cache/switchboard/tools"))
        / "chart",
    )
)
CHART = REPO / "charts" / "switchboard"
DEPLOY = REPO / "deploy"
RELEASE = "switchboard"
NAMESPACE = "switchboard-system"
KUBE_VERSION = "1.32.0"

INSTALL_HINT = "run tests/chart/run.sh (it installs the pinned tools)"


def tool(name: str) -> str:
    """Path of a pinned tool; a missing one fails the test with the install command."""
    candidates = {
        "helm": TOOLS / "bin" / "helm",
        "kubectl": TOOLS / "bin" / "kubectl",
        "kubernetes-validate": TOOLS / "venv" / "bin" / "kubernetes-validate",
    }
    path = candidates.get(name)
    if path is not None and path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise AssertionError(f"{name} not found: {INSTALL_HINT}")


def run(cmd: list[str], *, check: bool = True, env: dict | None = None, cwd=None):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@functools.cache
def helm_home() -> str:
    # helm writes caches and config under $HOME; keep it away from the user's.
    return tempfile.mkdtemp(prefix="chart-tests-helm-")


def helm(*args: str, check: bool = True):
    env = dict(os.environ, HOME=helm_home(), HELM_CACHE_HOME=helm_home(),
               HELM_CONFIG_HOME=helm_home(), HELM_DATA_HOME=helm_home())
    return run([tool("helm"), *args], check=check, env=env)


def render(values: list[Path] | tuple = (), sets: tuple[str, ...] = (), *, crds: bool = True,
           namespace: str = NAMESPACE, check: bool = True):
    """`helm template` of the chart; returns (objects, raw text) or the failed result."""
    args = ["template", RELEASE, str(CHART), "--namespace", namespace]
    if crds:
        args.append("--include-crds")
    for file in values:
        args += ["-f", str(file)]
    for item in sets:
        args += ["--set", item]
    result = helm(*args, check=check)
    if not check:
        return result
    return load_all(result.stdout), result.stdout


def kustomize(path: Path):
    result = run([tool("kubectl"), "kustomize", str(path)])
    return load_all(result.stdout), result.stdout


def load_all(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def load_file(path: Path) -> list[dict]:
    return load_all(path.read_text())


def ident(obj: dict) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


# --- built-in objects -------------------------------------------------------------------

BUILTIN_GROUPS = {
    "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io",
    "networking.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "scheduling.k8s.io",
}


def group_of(obj: dict) -> str:
    api = obj.get("apiVersion", "")
    return api.split("/")[0] if "/" in api else ""


def is_builtin(obj: dict) -> bool:
    return group_of(obj) in BUILTIN_GROUPS


def kubernetes_validate(objects: list[dict]) -> None:
    """kubernetes-validate --strict on every object; a kind it has no schema for fails too
    (it only warns, and a typo in apiVersion would otherwise pass)."""
    assert objects, "nothing to validate"
    with tempfile.TemporaryDirectory() as scratch:
        files = []
        for i, obj in enumerate(objects):
            path = Path(scratch) / f"{i:03d}-{obj['kind'].lower()}.yaml"
            path.write_text(yaml.safe_dump(obj, sort_keys=False))
            files.append(str(path))
        result = run([tool("kubernetes-validate"), "-k", KUBE_VERSION, "--strict", *files],
                     check=False)
    output = result.stdout + result.stderr
    problems = [line for line in output.splitlines() if line.startswith(("ERROR", "WARN"))]
    passed = [line for line in output.splitlines() if " passed for resource " in line]
    assert result.returncode == 0 and not problems, "\n".join(problems) or output
    assert len(passed) == len(objects), output


# --- custom resources against the generated CRD schemas ---------------------------------


def crd_files(directory: Path | None = None) -> list[Path]:
    return sorted((directory or CHART / "crds").glob("*.yaml"))


def _structural_to_jsonschema(node):
    """A CRD structural schema as JSON Schema: unknown fields are errors (what
    `kubectl apply` does with server-side field validation), `nullable` allows null,
    int-or-string is either."""
    if isinstance(node, list):
        return [_structural_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            out[key] = {k: _structural_to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = _structural_to_jsonschema(value)
        elif key.startswith("x-kubernetes-") or key == "nullable":
            continue
        else:
            out[key] = copy.deepcopy(value)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = out.get("anyOf", []) + [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
    if (
        out.get("type") == "object" or "properties" in out
    ) and "properties" in out and "additionalProperties" not in out and not node.get(
        "x-kubernetes-preserve-unknown-fields"
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_validators(directory: str | None = None) -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> validator, from every CRD file of `directory` (chart crds/)."""
    validators = {}
    for path in crd_files(Path(directory) if directory else None):
        for crd in load_file(path):
            assert crd["kind"] == "CustomResourceDefinition", path
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = _structural_to_jsonschema(version["schema"]["openAPIV3Schema"])
                schema.setdefault("properties", {}).update(
                    {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                     "metadata": {"type": "object"}}
                )
                schema["additionalProperties"] = False
                jsonschema.Draft7Validator.check_schema(schema)
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def is_switchboard(obj: dict) -> bool:
    return group_of(obj) == "switchboard.dev"


def validate_custom(obj: dict) -> list[str]:
    """Schema errors of one switchboard.dev object ([] when valid)."""
    validator = crd_validators().get((obj.get("apiVersion"), obj.get("kind")))
    if validator is None:
        return [f"no CRD in {CHART / 'crds'} for {obj.get('apiVersion')} {obj.get('kind')}"]
    errors = []
    name = obj.get("metadata", {}).get("name", "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name or ""):
        errors.append(f"metadata.name {name!r} is not a DNS label")
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return errors


# --- the operator's API use, from its source --------------------------------------------

# Kubernetes type name (k8s-openapi / CRD) -> (API group, resource).
KINDS = {
    "ConfigMap": ("", "configmaps"),
    "Secret": ("", "secrets"),
    "Service": ("", "services"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Pod": ("", "pods"),
    "Namespace": ("", "namespaces"),
    "Endpoints": ("", "endpoints"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets"),
    "Lease": ("coordination.k8s.io", "leases"),
    "Event": ("events.k8s.io", "events"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "Gateway": ("switchboard.dev", "gateways"),
    "GatewayTarget": ("switchboard.dev", "gatewaytargets"),
}

# kube::Api methods -> RBAC verbs. `patch` is special-cased: a server-side apply may create.
METHOD_VERBS = {
    "get": {"get"}, "get_opt": {"get"}, "get_metadata": {"get"}, "get_metadata_opt": {"get"},
    "list": {"list"}, "list_metadata": {"list"},
    "watch": {"watch"}, "watch_metadata": {"watch"},
    "create": {"create"}, "replace": {"update"}, "delete": {"delete"},
    "delete_collection": {"deletecollection"}, "patch_metadata": {"patch"},
    "entry": {"get", "create", "update"},
}
STATUS_METHODS = {"patch_status": {"patch"}, "replace_status": {"update"}, "get_status": {"get"}}

# API calls made inside dependencies the operator drives, keyed by the construct that
# starts them. Checked against the dependency's source when it is in the cargo registry.
DEPENDENCY_CALLS = {
    # kube-runtime's events::Recorder: create an Event, patch it to count a repeat.
    "Recorder::new": ("kube-runtime", "src/events.rs", "Event", {"create", "patch"}),
    # kube-lease-manager: read the Lease, create it once, patch to renew or take it over.
    "LeaseManagerBuilder::new": ("kube-lease-manager", "src/state.rs", "Lease",
                                 {"get", "create", "patch"}),
}


def blank_rust(text: str) -> str:
    """Comments and string/char literal contents replaced by spaces (same offsets), so that
    braces and names inside them are not mistaken for code."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = len(re.match(r'r(#*)"', text[i:]).group(1))
            end = text.find('"' + "#" * hashes, i + 2 + hashes)
            end = n if end < 0 else end + 1 + hashes
            blank(i + 2 + hashes, end - 1 - hashes)
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'":
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2)
                blank(i + 1, j)
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                blank(i + 1, i + 2)
                i += 3
            else:
                i += 1  # a lifetime
        else:
            i += 1
    return "".join(out)


TEST_MODULE = re.compile(
    r"#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{"
)


def test_module_spans(blanked: str) -> list[tuple[int, int]]:
    """(start, end) of every `#[cfg(test)] mod x { ... }` block of blanked source."""
    spans, pos = [], 0
    while m := TEST_MODULE.search(blanked, pos):
        end = matching(blanked, m.end() - 1, "{", "}") + 1
        spans.append((m.start(), end))
        pos = end
    return spans


def strip_test_modules(code: str) -> str:
    """Blanks `#[cfg(test)] mod x { ... }` blocks (of already blanked text)."""
    for start, end in test_module_spans(code):
        code = code[:start] + " " * (end - start) + code[end:]
    return code


def non_test_source(raw: str) -> str:
    """`raw` without its `#[cfg(test)] mod` blocks, string literals kept."""
    for start, end in reversed(test_module_spans(blank_rust(raw))):
        raw = raw[:start] + raw[end:]
    return raw


def matching(code: str, start: int, open_: str, close: str) -> int:
    depth = 0
    for k in range(start, len(code)):
        if code[k] == open_:
            depth += 1
        elif code[k] == close:
            depth -= 1
            if depth == 0:
                return k
    raise ValueError(f"unbalanced {open_} at {start}")


def generic_arg(code: str, start: int) -> tuple[str, int]:
    """The text between the `<` at `start` and its matching `>`."""
    depth = 0
    for k in range(start, len(code)):
        if code[k] == "<":
            depth += 1
        elif code[k] == ">" and code[k - 1] != "-":
            depth -= 1
            if depth == 0:
                return code[start + 1:k].strip(), k
    raise ValueError("unbalanced <")


def kind_name(type_text: str) -> str:
    """`DeserializeGuard<GatewayTarget>` -> `GatewayTarget`; `k8s::Secret` -> `Secret`."""
    t = re.sub(r"\s+", "", type_text)
    while True:
        m = re.fullmatch(r"(?:\w+::)*(?:DeserializeGuard|PartialObjectMeta)<(.+)>", t)
        if not m:
            break
        t = m.group(1)
    return t.split("::")[-1]


def functions(code: str):
    """(name, signature, body) of every fn (nested ones too)."""
    for m in re.finditer(r"\bfn\s+(\w+)", code):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue  # a declaration without body
        end = matching(code, brace, "{", "}")
        yield m.group(1), code[m.end():brace], code[brace:end + 1]


def call_args(code: str, paren: int) -> str:
    return code[paren + 1:matching(code, paren, "(", ")")]


API_TYPE = re.compile(r"\bApi\s*(?:::\s*)?<")


def api_kinds_in(text: str) -> list[tuple[str, int]]:
    """Every `Api<K>` / `Api::<K>` / `api::<K>(` occurrence: (kind, end offset)."""
    found = []
    for m in re.finditer(r"\b[Aa]pi\s*(?:::\s*)?<", text):
        kind, end = generic_arg(text, m.end() - 1)
        found.append((kind_name(kind), end))
    return found


def operator_api_use(src: Path) -> dict:
    """{(group, resource): {verbs}} the operator's code uses, plus `evidence` per entry.

    Rules: a variable bound to `Api<K>` (let with a type, `Api::<K>::...`, `api::<K>(...)`,
    or a parameter `x: &Api<K>`) and a method called on it give its verbs; `patch` with
    `Patch::Apply` and the crate's generic `apply(ctx, api, ...)` helper (server-side apply,
    which creates missing objects) give create + patch; `patch_status` gives patch on
    `<resource>/status`; an `Api` handed to `Controller::new`, `.owns`, `.watches` or a
    watcher gives list + watch; dependencies add the calls of DEPENDENCY_CALLS."""
    use: dict[tuple[str, str], set[str]] = {}
    evidence: dict[tuple[str, str, str], str] = {}
    unknown: list[str] = []

    def add(kind: str, verbs: set[str], where: str, sub: str = ""):
        if kind not in KINDS:
            unknown.append(f"{kind} ({where})")
            return
        group, resource = KINDS[kind]
        key = (group, resource + sub)
        use.setdefault(key, set()).update(verbs)
        for verb in verbs:
            evidence.setdefault((group, resource + sub, verb), where)

    files = sorted(src.rglob("*.rs"))
    assert files, f"no Rust source under {src}"
    texts = {f: strip_test_modules(blank_rust(f.read_text())) for f in files}
    apply_helpers = set()
    for path, code in texts.items():
        for name, signature, body in functions(code):
            if re.search(r"\bPatch::Apply\b", body) and re.search(r":\s*&Api<\s*K\s*>", signature):
                apply_helpers.add(name)

    for path, code in texts.items():
        rel = path.relative_to(src.parent) if src.parent in path.parents else path
        for name, signature, body in functions(code):
            where = f"{rel}: fn {name}"
            bound: dict[str, str] = {}
            for m in re.finditer(r"(\w+)\s*:\s*&?\s*(?:mut\s+)?Api\s*<", signature):
                kind, _ = generic_arg(signature, signature.index("<", m.end() - 1))
                if kind.strip() not in ("K", "T"):
                    bound[m.group(1)] = kind_name(kind)
            for m in re.finditer(r"let\s+(?:mut\s+)?(\w+)\s*(:\s*Api\s*<|=\s*[Aa]pi\s*::\s*<)", body):
                kind, _ = generic_arg(body, body.index("<", m.end() - 1))
                bound[m.group(1)] = kind_name(kind)
            # Methods called on bound variables.
            for var, kind in bound.items():
                for m in re.finditer(rf"\b{var}\s*\.\s*(\w+)\s*\(", body):
                    method = m.group(1)
                    if method == "patch":
                        args = call_args(body, m.end() - 1)
                        verbs = {"create", "patch"} if "Patch::Apply" in args else {"patch"}
                        add(kind, verbs, where)
                    elif method in STATUS_METHODS:
                        add(kind, STATUS_METHODS[method], where, "/status")
                    elif method in METHOD_VERBS:
                        add(kind, METHOD_VERBS[method], where)
            # Server-side apply through the generic helper: creates or patches.
            for helper in apply_helpers:
                for m in re.finditer(rf"(?<![\w.:]){helper}\s*\(", body):
                    args = call_args(body, m.end() - 1)
                    kinds = [k for k, _ in api_kinds_in(args)]
                    if not kinds:
                        refs = [v for v in bound if re.search(rf"&\s*{v}\b", args)]
                        kinds = [bound[v] for v in refs]
                    assert kinds, f"{where}: cannot tell which Api {helper}() is called with"
                    for kind in kinds:
                        add(kind, {"create", "patch"}, where)
            # Watches: Controller::new / .owns / .watches / watcher / reflector.
            for m in re.finditer(r"(Controller::new|\.owns|\.watches|\.watches_stream|\bwatcher|\bmetadata_watcher)\s*\(", body):
                args = call_args(body, m.end() - 1)
                kinds = api_kinds_in(args)
                if kinds:
                    add(kinds[0][0], {"list", "watch"}, where)
            for construct, (crate, _, kind, verbs) in DEPENDENCY_CALLS.items():
                if re.search(rf"\b{re.escape(construct)}\s*\(", body):
                    add(kind, verbs, f"{where} ({crate})")
    assert not unknown, f"Api kinds missing from chartlib.KINDS: {sorted(set(unknown))}"
    blind = blind_spots(texts, apply_helpers)
    assert not blind, "API use this analysis cannot attribute (extend chartlib):\n" + "\n".join(blind)
    return {"use": use, "evidence": evidence}


def blind_spots(texts: dict, apply_helpers: set[str]) -> list[str]:
    """Constructs whose Kubernetes kind the analysis cannot see, so that a new call never
    slips past the RBAC comparison unnoticed: raw client requests, generic functions taking
    an `Api<K>` (other than the server-side-apply helper), and `Api` values built without
    a visible type outside generic constructor helpers."""
    problems = []
    constructors = set()
    for path, code in texts.items():
        for name, signature, body in functions(code):
            if re.search(r"->\s*Api\s*<\s*[A-Z]\s*>", signature):
                constructors.add(name)
    for path, code in texts.items():
        for name, signature, body in functions(code):
            where = f"{path.name}: fn {name}"
            if re.search(r"\.\s*request(_text|_events|_stream|_status)?\s*[:(<]", body):
                problems.append(f"{where}: raw client request")
            generic = re.search(r"\w+\s*:\s*&?\s*Api\s*<\s*[A-Z]\s*>", signature)
            if generic and name not in apply_helpers:
                problems.append(f"{where}: generic Api<K> parameter")
            if name in constructors:
                continue
            for m in re.finditer(r"\bApi\s*::\s*(namespaced|all|default_namespaced)\s*\(", body):
                line = body[body.rfind("\n", 0, m.start()) + 1:m.start()]
                if not re.search(r"let\s+(mut\s+)?\w+\s*:\s*Api\s*<", line):
                    problems.append(f"{where}: Api::{m.group(1)}(...) without a visible type")
    for path, code in texts.items():
        for helper in constructors:
            for m in re.finditer(rf"(?<![\w.:]){helper}\s*\(", code):
                if not code[:m.start()].rstrip().endswith("fn"):
                    problems.append(f"{path.name}: {helper}(...) called without ::<Kind>")
    return problems


def dependency_source(crate: str, lock: Path) -> Path | None:
    """The locked version's source in the cargo registry, if downloaded."""
    m = re.search(rf'name = "{re.escape(crate)}"\nversion = "([^"]+)"', lock.read_text())
    if not m:
        return None
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    for candidate in sorted((home / "registry" / "src").glob(f"*/{crate}-{m.group(1)}")):
        return candidate
    return None


def dependency_verbs(source_file: Path) -> set[str]:
    """Verbs of the calls a dependency makes on its `Api` handles (receivers named `*api`
    or `events`), outside its tests."""
    code = strip_test_modules(blank_rust(source_file.read_text()))
    verbs: set[str] = set()
    pattern = r"\b(\w*api|events)\s*\.\s*(\w+)\s*\("
    for m in re.finditer(pattern, code):
        method = m.group(2)
        if method == "patch":
            verbs.add("patch")
        elif method in METHOD_VERBS:
            verbs |= METHOD_VERBS[method]
    return verbs


def rbac_rules(objects: list[dict]) -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> verbs granted by every Role/ClusterRole in `objects`."""
    granted: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        if obj["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in obj.get("rules", []):
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    granted.setdefault((group, resource), set()).update(rule.get("verbs", []))
    return granted


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
