#!/usr/bin/env bash
# Copies the generated CRDs (crds/, regenerated from the Rust types by tests/check-crds.sh)
# into the Helm chart and the kustomize base, which must ship them byte for byte.
# Usage: charts/switchboard/sync-crds.sh [--check] [--from DIR]
#   --check     change nothing; exit 1 and show the diff when a copy is stale
#   --from DIR  take the CRDs from DIR instead of crds/
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source_dir="$repo/crds" check=0
while (($#)); do
    case "$1" in
        --check) check=1 ;;
        --from) source_dir="$(cd "$2" && pwd)"; shift ;;
        *) echo "sync-crds: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
shopt -s nullglob
sources=("$source_dir"/*.yaml)
if ((${#sources[@]} == 0)); then
    echo "sync-crds: no CRDs in $source_dir (generate them: tests/check-crds.sh --fix)" >&2
    exit 1
fi
stale=0
for copy in "$repo/charts/switchboard/crds" "$repo/deploy/crds"; do
    if ((check)); then
        if ! diff -ru "$source_dir" "$copy"; then
            echo "sync-crds: $copy differs from $source_dir; run charts/switchboard/sync-crds.sh" >&2
            stale=1
        fi
    else
        mkdir -p "$copy"
        rm -f "$copy"/*.yaml
        cp "${sources[@]}" "$copy"/
        echo "sync-crds: ${#sources[@]} CRDs copied to ${copy#"$repo"/}"
    fi
done
exit "$stale"
