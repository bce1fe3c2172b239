#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for SECONDS each (default 30) and prints the
# executions per target. Committed crash inputs (fuzz/regressions/TARGET/*) are replayed
# first and must pass. Exits non-zero if any target finds a crash.
#
# Usage: tests/fuzz.sh [SECONDS]
# Needs cargo-fuzz (installed here, pinned) and RUSTC_BOOTSTRAP=1 for the sanitizer flags
# on the pinned stable toolchain. New crash inputs land in fuzz/artifacts/TARGET/: copy
# them to fuzz/regressions/TARGET/ with the fix.
set -uo pipefail

seconds="${1:-30}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${SWITCHBOARD_FUZZ_TARGET_DIR:-$HOME/.cache/switchboard/target-fuzz}"
cargo_fuzz_version=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
    echo "==> cargo install cargo-fuzz --locked --version $cargo_fuzz_version"
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" || exit 1
fi

echo "==> cargo fuzz build"
cargo fuzz build --target-dir "$CARGO_TARGET_DIR" || exit 1

logs="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fuzz.XXXXXX")"
failed=0 rows=()
for target in $(cargo fuzz list); do
    if compgen -G "regressions/$target/*" >/dev/null; then
        echo "==> $target: replaying regressions/$target"
        if ! cargo fuzz run --target-dir "$CARGO_TARGET_DIR" "$target" regressions/"$target"/* \
            >"$logs/$target-regressions.log" 2>&1; then
            tail -30 "$logs/$target-regressions.log"
            rows+=("$target|-|-|-|REGRESSION FAILED")
            failed=$((failed + 1))
            continue
        fi
    fi
    corpus="$logs/corpus-$target"
    mkdir -p "$corpus"
    seeds=()
    [[ -d "seeds/$target" ]] && seeds=("seeds/$target")
    echo "==> $target: fuzzing for ${seconds}s"
    cargo fuzz run --target-dir "$CARGO_TARGET_DIR" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1 -max_len=65536 -timeout=30 \
        -rss_limit_mb=2048 >"$logs/$target.log" 2>&1
    code=$?
    execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$logs/$target.log" | grep -oE '[0-9]+$' | tail -1)"
    rate="$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$logs/$target.log" | grep -oE '[0-9]+$' | tail -1)"
    units="$(find "$corpus" -type f | wc -l)"
    if ((code == 0)); then
        rows+=("$target|${execs:-?}|${rate:-?}|$units|ok")
    else
        tail -40 "$logs/$target.log"
        rows+=("$target|${execs:-?}|${rate:-?}|$units|CRASH (fuzz/artifacts/$target/)")
        failed=$((failed + 1))
    fi
done

echo
echo "| target | executions | exec/s | corpus | result |"
echo "|---|---:|---:|---:|---|"
for row in "${rows[@]}"; do
    echo "| ${row//|/ | } |"
done
echo
echo "fuzz: logs in $logs"
((failed == 0))
