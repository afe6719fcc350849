#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK, and writes where it is to
#   ${DYNAMO_SIDECAR_E2E_ENV:-$HOME/.cache/dynamo-sidecar/e2e.env}
# (KEY=VALUE lines the tests read; this script exports nothing; the npm project is always the
# checkout's own tests/e2e-node, so it is not in the file):
#   - Debian's prometheus and promtool (apt-get, as root) if they are missing;
#   - llama.cpp's llama-server and the tiny model (tools/llama/*.sh; cached outside the repo);
#   - the openai and @anthropic-ai/sdk npm clients in tests/e2e-node (npm ci, skipped when
#     package-lock.json is unchanged).
# Idempotent and quick once done. Any failure stops it with an ERROR line and a non-zero exit.
#
# Env: LLAMA_CACHE_DIR         as in tools/llama (default ~/.cache/dynamo-sidecar/llama/node-llama-cpp-3.22.1)
#      DYNAMO_SIDECAR_E2E_ENV  where to write the paths
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_FILE="${DYNAMO_SIDECAR_E2E_ENV:-$HOME/.cache/dynamo-sidecar/e2e.env}"
NODE_DIR="$ROOT/tests/e2e-node"

log() { echo "[test-deps] $*" >&2; }
die() {
    echo "" >&2
    echo "[test-deps] ERROR: $*" >&2
    echo "[test-deps] the end-to-end tests cannot run until this is fixed" >&2
    exit 1
}
trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# Finds a binary on PATH or in /usr/bin (where Debian puts it even if PATH is trimmed).
find_bin() {
    local name="$1" path
    path="$(command -v "$name" 2>/dev/null || true)"
    if [[ -z "$path" && -x "/usr/bin/$name" ]]; then
        path="/usr/bin/$name"
    fi
    echo "$path"
}

# --- Prometheus (Debian) ------------------------------------------------------
PROMETHEUS="$(find_bin prometheus)"
PROMTOOL="$(find_bin promtool)"
if [[ -z "$PROMETHEUS" || -z "$PROMTOOL" ]]; then
    log "prometheus/promtool missing, installing Debian's prometheus"
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install prometheus (or install it yourself)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || die "apt-get update failed"
    apt-get install -y --no-install-recommends prometheus || die "apt-get install prometheus failed"
    PROMETHEUS="$(find_bin prometheus)"
    PROMTOOL="$(find_bin promtool)"
fi
[[ -n "$PROMETHEUS" ]] || die "prometheus is neither on PATH nor in /usr/bin after installing"
[[ -n "$PROMTOOL" ]] || die "promtool is neither on PATH nor in /usr/bin after installing"
"$PROMETHEUS" --version >/dev/null 2>&1 || die "$PROMETHEUS --version does not run"
"$PROMTOOL" --version >/dev/null 2>&1 || die "$PROMTOOL --version does not run"
log "prometheus: $PROMETHEUS"

# --- llama.cpp llama-server and the tiny model ----------------------------------
LLAMA_CACHE="$("$ROOT/tools/llama/build-llama-server.sh" | tail -n 1)" || die "tools/llama/build-llama-server.sh failed"
LLAMA_MODEL="$("$ROOT/tools/llama/make-tiny-model.sh" | tail -n 1)" || die "tools/llama/make-tiny-model.sh failed"
LLAMA_SERVER="$LLAMA_CACHE/bin/llama-server"
[[ -x "$LLAMA_SERVER" ]] || die "build-llama-server.sh reported $LLAMA_CACHE but $LLAMA_SERVER is missing"
[[ -s "$LLAMA_MODEL" ]] || die "make-tiny-model.sh reported $LLAMA_MODEL but it is missing or empty"
log "llama-server: $LLAMA_SERVER"

# --- node and the openai npm client ---------------------------------------------
NODE="$(find_bin node)"
if [[ -z "$NODE" || -z "$(find_bin npm)" ]]; then
    log "node/npm missing, installing Debian's nodejs and npm"
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install nodejs npm (or install Node.js 20+ yourself)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || die "apt-get update failed"
    apt-get install -y --no-install-recommends nodejs npm || die "apt-get install nodejs npm failed"
    NODE="$(find_bin node)"
fi
[[ -n "$NODE" ]] || die "node is neither on PATH nor in /usr/bin"
NPM="$(find_bin npm)"
[[ -n "$NPM" ]] || die "npm is neither on PATH nor in /usr/bin"

[[ -f "$NODE_DIR/package-lock.json" ]] || die "$NODE_DIR/package-lock.json is missing"
LOCK_SUM="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
STAMP="$NODE_DIR/node_modules/.test-deps-lock.sha256"
NODE_CLIENTS=(openai @anthropic-ai/sdk)
clients_installed() {
    local package
    for package in "${NODE_CLIENTS[@]}"; do
        [[ -f "$NODE_DIR/node_modules/$package/package.json" ]] || return 1
    done
}
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$LOCK_SUM" ]] && clients_installed; then
    log "tests/e2e-node: node_modules matches package-lock.json"
else
    log "tests/e2e-node: npm ci"
    (cd "$NODE_DIR" && "$NPM" ci --no-audit --no-fund) || die "npm ci in $NODE_DIR failed"
    clients_installed || die "npm ci did not install ${NODE_CLIENTS[*]}"
    echo "$LOCK_SUM" >"$STAMP"
fi
(cd "$NODE_DIR" && "$NODE" --input-type=module -e "import OpenAI from 'openai'; import Anthropic from '@anthropic-ai/sdk'; if (typeof OpenAI !== 'function' || typeof Anthropic !== 'function') process.exit(1);") \
    || die "node cannot import the openai and @anthropic-ai/sdk packages from $NODE_DIR"
version() { (cd "$NODE_DIR" && "$NODE" -p "require('./node_modules/$1/package.json').version"); }
log "node: $NODE ($("$NODE" --version)), openai $(version openai), @anthropic-ai/sdk $(version @anthropic-ai/sdk)"

# --- where it all is ------------------------------------------------------------
mkdir -p "$(dirname "$ENV_FILE")"
TMP_ENV="$(mktemp "$ENV_FILE.XXXXXX")"
cat >"$TMP_ENV" <<EOF
# Written by tools/test-deps.sh; read by tests/Dynamo.Sidecar.EndToEndTests.
LLAMA_CACHE_DIR=$LLAMA_CACHE
LLAMA_SERVER=$LLAMA_SERVER
LLAMA_MODEL=$LLAMA_MODEL
PROMETHEUS=$PROMETHEUS
PROMTOOL=$PROMTOOL
NODE=$NODE
EOF
mv "$TMP_ENV" "$ENV_FILE"
log "wrote $ENV_FILE"
