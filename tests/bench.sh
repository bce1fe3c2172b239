#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): tool calls direct vs through the gateway, tools/list
# at 100/1,000/10,000 tools, sync time, gateway RSS and start-up time.
#
# Usage: tests/bench.sh [--tiny] [switchboard-bench options...]
#   --tiny   CI size, debug build (what run-all already built); finishes well under 2 min
#   (full)   release build, the sizes in docs/benchmarks.md; several minutes
# Writes bench.json and bench.md to $SWITCHBOARD_BENCH_OUT (default
# $CARGO_TARGET_DIR/bench). Exits non-zero if the benchmark cannot run or a call fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard/target}"
tiny=0
for arg in "$@"; do
    [[ "$arg" == --tiny ]] && tiny=1
    [[ "$arg" == -h || "$arg" == --help ]] && { sed -n '2,10p' "$0"; exit 0; }
done
out="${SWITCHBOARD_BENCH_OUT:-$CARGO_TARGET_DIR/bench}"
mkdir -p "$out"

if ((tiny)); then
    # The same feature set run-all builds, so nothing is rebuilt.
    cargo build --workspace --all-features --bins
    bin="$CARGO_TARGET_DIR/debug/switchboard-bench"
    limit=115
else
    cargo build --release -p switchboard-bench --bins
    bin="$CARGO_TARGET_DIR/release/switchboard-bench"
    limit=3600
fi

echo "==> switchboard-bench $* (time limit ${limit}s)"
start=$SECONDS
if ! timeout --kill-after=5 "$limit" "$bin" --json "$out/bench.json" --markdown "$out/bench.md" "$@"; then
    echo "bench: FAILED (see above)" >&2
    exit 1
fi
echo "bench: done in $((SECONDS - start)) s; report in $out/bench.md and $out/bench.json"
