#!/usr/bin/env bash
# The whole Switchboard test suite, in one command:
#   tools → fmt → clippy → build → cargo tests (nextest) → end-to-end pytest with real peers.
# Every cargo step uses the same feature set (--all-features), so the workspace is built once.
# Ends with `N passed, N failed`: tests of nextest + pytest, plus each failed check step
# (fmt, clippy, build) counted as one failure. Exit status is non-zero if anything failed.
#
# Usage: tests/run-all.sh [--fast] [--no-cargo-tests] [-- PYTEST_ARGS...]
#   --fast             skip cargo fmt and clippy
#   --no-cargo-tests   skip nextest (build and pytest still run)
#   PYTEST_ARGS        passed to pytest, e.g. -- -k federation -x
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
fast=0 cargo_tests=1 pytest_args=()
while (($#)); do
    case "$1" in
        --fast) fast=1 ;;
        --no-cargo-tests) cargo_tests=0 ;;
        --) shift; pytest_args=("$@"); break ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "run-all: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard/target}"
export SWITCHBOARD_TOOLS_DIR="${SWITCHBOARD_TOOLS_DIR:-$HOME/.cache/switchboard/tools}"
export SWITCHBOARD_BIN_DIR="$CARGO_TARGET_DIR/debug"
# Tests of the `embeddings` feature (tool search) load the model setup-tools fetches.
export SWITCHBOARD_EMBEDDING_MODEL_DIR="${SWITCHBOARD_EMBEDDING_MODEL_DIR:-$SWITCHBOARD_TOOLS_DIR/models/all-MiniLM-L6-v2}"
mkdir -p "$CARGO_TARGET_DIR"
logs="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-tests.XXXXXX")"

passed=0 failed=0 failed_steps=()
step() { echo; echo "==> $*"; }
fail_step() { failed_steps+=("$1"); failed=$((failed + 1)); echo "run-all: step '$1' FAILED" >&2; }

step "setup tools"
if ! tests/setup-tools.sh; then
    fail_step setup-tools
    echo "run-all: cannot run the end-to-end suite without its tools" >&2
fi

if ((fast == 0)); then
    step "cargo fmt --all -- --check"
    cargo fmt --all -- --check || fail_step fmt
    step "cargo clippy --workspace --all-targets --all-features -- -D warnings"
    cargo clippy --workspace --all-targets --all-features -- -D warnings || fail_step clippy
    step "cargo deny check bans licenses sources"
    deny="$SWITCHBOARD_TOOLS_DIR/cargo/bin/cargo-deny"
    if "$deny" --offline check bans licenses sources >"$logs/deny.log" 2>&1; then
        tail -1 "$logs/deny.log"
    else
        grep -E '^error' -A 8 "$logs/deny.log"; tail -1 "$logs/deny.log"; fail_step deny
    fi
fi

# --all-targets: the same feature resolution as the test build, so nextest, the benchmark
# and the binaries share one build (a --bins build would resolve features differently).
step "cargo build --workspace --all-targets --all-features"
built=1
cargo build --workspace --all-targets --all-features || { fail_step build; built=0; }

if ((cargo_tests)); then
    if command -v cargo-nextest >/dev/null; then
        step "cargo nextest run --workspace --all-features"
        cargo nextest run --workspace --all-features --no-fail-fast --no-tests=warn 2>&1 | tee "$logs/nextest.log"
        code=${PIPESTATUS[0]}
        # Summary [   0.02s] 12 tests run: 11 passed, 1 failed, 0 skipped
        summary="$(grep -E 'Summary \[.*tests? run:' "$logs/nextest.log" | tail -1)"
        n_pass="$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)"
        n_fail="$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)"
        n_timeout="$(grep -oE '[0-9]+ timed out' <<<"$summary" | grep -oE '[0-9]+' || echo 0)"
    else
        step "cargo test --workspace --all-features (cargo-nextest not installed)"
        cargo test --workspace --all-features 2>&1 | tee "$logs/cargo-test.log"
        code=${PIPESTATUS[0]}
        # test result: ok. 12 passed; 0 failed; 0 ignored; ... (one line per test binary)
        read -r n_pass n_fail < <(awk '/^test result:/ { for (i = 1; i < NF; i++) {
            if ($(i + 1) ~ /^passed/) p += $i; if ($(i + 1) ~ /^failed/) f += $i } }
            END { print p + 0, f + 0 }' "$logs/cargo-test.log")
        n_timeout=0
    fi
    n_pass=${n_pass:-0} n_fail=$(( ${n_fail:-0} + ${n_timeout:-0} ))
    if ((code != 0 && n_fail == 0)); then
        fail_step cargo-tests   # did not compile, or crashed before its summary
    fi
    passed=$((passed + n_pass)) failed=$((failed + n_fail))
    echo "run-all: cargo tests: $n_pass passed, $n_fail failed"
fi

step "benchmark, CI size (tests/bench.sh --tiny)"
if tests/bench.sh --tiny; then passed=$((passed + 1)); else fail_step bench; fi

step "fuzzing, bounded (tests/fuzz.sh ${SWITCHBOARD_FUZZ_SECONDS:-20})"
if tests/fuzz.sh "${SWITCHBOARD_FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else fail_step fuzz; fi

step "chart, manifests and Argo CD health checks (tests/chart/run.sh)"
if tests/chart/run.sh 2>&1 | tee "$logs/chart.log"; then :; fi
read -r c_pass c_fail < <(grep -oE '^[0-9]+ passed, [0-9]+ failed' "$logs/chart.log" | tail -1 |
    awk '{print $1, $3}')
if [[ -z "${c_pass:-}" ]]; then
    fail_step chart
else
    passed=$((passed + c_pass)) failed=$((failed + c_fail))
fi

step "pytest tests/e2e (SWITCHBOARD_BIN_DIR=$SWITCHBOARD_BIN_DIR)"
python="$SWITCHBOARD_TOOLS_DIR/venv/bin/python"
if [[ -x "$python" ]]; then
    ((built)) || echo "run-all: the build failed; gateway tests will fail for lack of a binary" >&2
    "$python" -m pytest tests/e2e -c tests/e2e/pytest.ini --rootdir tests/e2e \
        --junitxml="$logs/pytest.xml" "${pytest_args[@]}"
    code=$?
    read -r p_pass p_fail < <("$python" - "$logs/pytest.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - bad - skipped, bad)
EOF
    )
    if ((code != 0 && p_fail == 0)); then
        fail_step pytest   # collection error, no tests collected (exit 5), or a crash
    fi
    passed=$((passed + p_pass)) failed=$((failed + p_fail))
    echo "run-all: pytest: $p_pass passed, $p_fail failed"
else
    fail_step pytest
    echo "run-all: $python missing: run ./tests/setup-tools.sh" >&2
fi

echo
echo "run-all: logs in $logs"
if ((${#failed_steps[@]})); then
    echo "run-all: failed steps: ${failed_steps[*]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
