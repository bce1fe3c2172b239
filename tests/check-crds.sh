#!/usr/bin/env bash
# Regenerates crds/ from the Rust types and fails if the committed YAML differs.
# Usage: tests/check-crds.sh [--fix]   (--fix rewrites crds/ instead of failing)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard/target}"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
cargo run -q -p switchboard -- crd --output-dir "$fresh"
if [[ "${1:-}" == "--fix" ]]; then
    cp "$fresh"/*.yaml crds/
    echo "check-crds: crds/ regenerated"
    exit 0
fi
if ! diff -ru crds "$fresh"; then
    echo "check-crds: crds/ is stale; run tests/check-crds.sh --fix and commit" >&2
    exit 1
fi
echo "check-crds: crds/ matches the Rust types"
