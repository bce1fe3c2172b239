#!/usr/bin/env bash
# Where the gateway's time goes under load: samples the gateway process alone with
# `perf record --call-graph dwarf` while N clients call one tool through it, then prints
# the functions with the most inclusive time (docs/benchmarks.md shows a run).
#
# Usage: tests/profile.sh [CLIENTS=16] [SECONDS=10] [ERA=modern]
# Needs perf (apt-get install linux-perf) and kernel.perf_event_paranoid <= 2.
set -euo pipefail
clients="${1:-16}" seconds="${2:-10}" era="${3:-modern}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard/target}"
cargo build --release -p switchboard-bench --bins
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-profile.XXXXXX")"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$bin/switchboard-bench" upstream --listen 127.0.0.1:0 --tools 10 >"$work/upstream.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "ready at" "$work/upstream.log" && break; sleep 0.1; done
upstream="$(sed -n 's/^upstream ready at //p' "$work/upstream.log")"
"$bin/switchboard-bench" config-dir --upstream "$upstream" --dir "$work/gateway"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
RUST_LOG=info "$bin/switchboard-gateway-under-test" --config-dir "$work/gateway" \
    --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 2>"$work/gateway.log" &
gateway=$!
pids+=("$gateway")
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

perf record -F 999 --call-graph dwarf,32768 -p "$gateway" -o "$work/perf.data" -- sleep "$((seconds + 1))" \
    2>"$work/perf.log" &
perf_pid=$!
"$bin/switchboard-bench" load --url "http://127.0.0.1:$port/mcp" --era "$era" \
    --concurrency "$clients" --duration "$seconds" --tool up___echo
wait "$perf_pid"
echo "==> gateway functions by inclusive time ($clients $era clients, ${seconds}s)"
perf report -i "$work/perf.data" --children --sort symbol --stdio -g none --percent-limit 2 2>/dev/null \
    | grep -E '^ +[0-9]' | sed -E 's/ +$//' | cut -c1-160 | head -80
echo "profile data: $work/perf.data"
