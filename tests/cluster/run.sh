#!/usr/bin/env bash
# Real-cluster end-to-end suite for users' CI: the whole operator flow on the cluster that
# KUBECONFIG points at. Without KUBECONFIG it says so and exits 0 (skipped).
#
# Needs: kubectl, curl, and images the cluster can pull:
#   SWITCHBOARD_IMAGE          the `switchboard` binary (operator, and the demo MCP server)
#   SWITCHBOARD_GATEWAY_IMAGE  the `switchboard-gateway` binary
# Creates a temporary namespace (deleted at the end, also on failure), applies crds/,
# runs the operator there with the RBAC of docs/operator.md (a Role: --watch-namespace),
# and checks what a user sees: CREATING → READY, the gateway serving the tools,
# explicit sync, a rejected bad spec, UPDATE_UNSUCCESSFUL keeping the catalog, deletion.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ -z "${KUBECONFIG:-}" ]]; then
    echo "cluster suite: SKIPPED (KUBECONFIG is not set; point it at a test cluster to run it)"
    exit 0
fi
for tool in kubectl curl; do
    command -v "$tool" >/dev/null || { echo "cluster suite: $tool is required" >&2; exit 1; }
done
: "${SWITCHBOARD_IMAGE:?set SWITCHBOARD_IMAGE to an image with the switchboard binary}"
: "${SWITCHBOARD_GATEWAY_IMAGE:?set SWITCHBOARD_GATEWAY_IMAGE to an image with switchboard-gateway}"

ns="switchboard-e2e-$(date +%s)"
passed=0 failed=0 pf_pid=""
cleanup() {
    [[ -n "$pf_pid" ]] && kill "$pf_pid" 2>/dev/null || true
    kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
k() { kubectl -n "$ns" "$@"; }
check() { # check NAME COMMAND...
    local name="$1"; shift
    if "$@"; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
wait_status() { # wait_status TARGET STATUS
    k wait "mcpgt/$1" --for=jsonpath='{.status.status}'="$2" --timeout=180s >/dev/null
}

kubectl apply -f crds/ >/dev/null
kubectl create namespace "$ns" >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: switchboard-operator}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: switchboard-operator}
rules:
  # watch the custom resources; the target finalizer; statuses; blockOwnerDeletion
  - {apiGroups: [switchboard.dev], resources: [gateways, gatewaytargets], verbs: [get, list, watch]}
  - {apiGroups: [switchboard.dev], resources: [gatewaytargets], verbs: [patch]}
  - {apiGroups: [switchboard.dev], resources: [gateways/status, gatewaytargets/status], verbs: [patch]}
  - {apiGroups: [switchboard.dev], resources: [gateways/finalizers, gatewaytargets/finalizers], verbs: [update]}
  # catalogs and runtime config
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch, create, patch, delete]}
  # credential Secrets (existence) and the session key
  - {apiGroups: [""], resources: [secrets], verbs: [get, create]}
  - {apiGroups: [""], resources: [serviceaccounts, services], verbs: [get, list, watch, create, patch]}
  - {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch, create, patch]}
  - {apiGroups: [policy], resources: [poddisruptionbudgets], verbs: [get, list, watch, create, patch, delete]}
  - {apiGroups: [events.k8s.io], resources: [events], verbs: [create, patch]}
  - {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [create]}
  - {apiGroups: [coordination.k8s.io], resources: [leases], resourceNames: [switchboard-operator], verbs: [get, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: switchboard-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: switchboard-operator}
subjects: [{kind: ServiceAccount, name: switchboard-operator}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: switchboard-operator}
spec:
  selector: {matchLabels: {app: switchboard-operator}}
  template:
    metadata: {labels: {app: switchboard-operator}}
    spec:
      serviceAccountName: switchboard-operator
      containers:
        - name: operator
          image: $SWITCHBOARD_IMAGE
          args: [run, --log-json]
          env:
            - {name: SWITCHBOARD_WATCH_NAMESPACE, value: $ns}
            - {name: SWITCHBOARD_GATEWAY_IMAGE, value: $SWITCHBOARD_GATEWAY_IMAGE}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
          readinessProbe: {httpGet: {path: /readyz, port: 8081}}
          livenessProbe: {httpGet: {path: /healthz, port: 8081}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart-server}
spec:
  selector: {matchLabels: {app: cart-server}}
  template:
    metadata: {labels: {app: cart-server}}
    spec:
      containers:
        - {name: cart, image: $SWITCHBOARD_IMAGE, args: [demo-server, --team, cart, --listen, "0.0.0.0:9000"]}
---
apiVersion: v1
kind: Service
metadata: {name: cart-server}
spec: {selector: {app: cart-server}, ports: [{port: 9000}]}
YAML
k rollout status deploy/switchboard-operator --timeout=180s >/dev/null
k rollout status deploy/cart-server --timeout=180s >/dev/null

k apply -f - >/dev/null <<YAML
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
  mcp: {endpoint: "http://cart-server.$ns.svc:9000/mcp"}
YAML
k get mcpgt -w --output-watch-events=false >"/tmp/$ns-watch.txt" 2>&1 &
watch_pid=$!
check "target becomes READY" wait_status cart READY
check "target reports tools" test "$(k get mcpgt cart -o jsonpath='{.status.toolCount}')" -gt 0
check "gateway becomes Ready" k wait mcpgw/shop --for=condition=Ready --timeout=300s
check "gateway counts the target" test "$(k get mcpgw shop -o jsonpath='{.status.targets}')" = "1/1"

port=$((20000 + RANDOM % 20000))
k port-forward svc/shop-gateway "$port:8080" >/dev/null 2>&1 &
pf_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/mcp" >/dev/null 2>&1 && break; sleep 0.2; done
list_tools() {
    curl -s "http://127.0.0.1:$port/mcp" -H 'content-type: application/json' \
        -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-06-18' \
        -d '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
}
check "the gateway serves the target's tools" bash -c "$(declare -f list_tools); port=$port; list_tools | grep -q 'cart___'"

k annotate mcpgt cart switchboard.dev/sync-requested-at="$(date -Is)" --overwrite >/dev/null
check "explicit sync ends READY" k wait mcpgt/cart --for=jsonpath='{.status.lastSyncRequest}'="$(k get mcpgt cart -o jsonpath='{.metadata.annotations.switchboard\.dev/sync-requested-at}')" --timeout=120s
check "a bad endpoint is rejected at apply time" bash -c \
    "kubectl -n $ns patch mcpgt cart --type merge -p '{\"spec\":{\"mcp\":{\"endpoint\":\"ftp://x\"}}}' 2>&1 | grep -q 'absolute http:// or https:// URL'"
k patch mcpgt cart --type merge -p '{"spec":{"mcp":{"endpoint":"http://nothing-here.invalid:9000/mcp"},"timeoutSeconds":5}}' >/dev/null
check "a failing update is UPDATE_UNSUCCESSFUL" wait_status cart UPDATE_UNSUCCESSFUL
check "and keeps serving the last good catalog" bash -c "$(declare -f list_tools); port=$port; list_tools | grep -q 'cart___'"
k delete mcpgt cart --wait=true --timeout=120s >/dev/null
check "deletion removes the catalog" test -z "$(k get configmap -l switchboard.dev/target=cart -o name)"
check "deletion removes the tools" bash -c "for i in \$(seq 60); do [ \"\$(kubectl -n $ns get mcpgw shop -o jsonpath='{.status.toolCount}')\" = 0 ] && exit 0; sleep 2; done; exit 1"
kill "$watch_pid" 2>/dev/null || true
echo "--- kubectl get mcpgt -w"; cat "/tmp/$ns-watch.txt"
echo "$passed passed, $failed failed"
((failed == 0))
