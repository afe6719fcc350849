#!/usr/bin/env bash
# Runs (exec, foreground) llama-server with the tiny random model on 127.0.0.1:PORT.
#   usage: start-llama-server.sh PORT [extra llama-server args...]
# Serves the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models)
# plus /health, /metrics and /slots. Model alias: "tiny".
# Prerequisites: build-llama-server.sh and make-tiny-model.sh (run automatically
# if their outputs are missing; the build takes ~10+ minutes).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LLAMA_CACHE_DIR:-$HOME/.cache/dynamo-sidecar/llama/node-llama-cpp-3.22.1}"

die() { echo "[start-llama-server] ERROR: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || die "usage: $0 PORT [extra llama-server args...]"
PORT="$1"; shift
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$PORT'"

SERVER="$CACHE/bin/llama-server"
MODEL="$CACHE/models/tiny.gguf"
[[ -x "$SERVER" ]] || "$HERE/build-llama-server.sh" >/dev/null
[[ -s "$MODEL" ]]  || "$HERE/make-tiny-model.sh" >/dev/null
[[ -x "$SERVER" ]] || die "missing $SERVER"
[[ -s "$MODEL" ]]  || die "missing $MODEL"

ARGS=(
    -m "$MODEL"
    --override-kv llama.context_length=int:4096
    -c 4096
    -np 2
    -t 2
    --chat-template chatml
    --alias tiny
    --host 127.0.0.1
    --port "$PORT"
)
HELP="$("$SERVER" --help 2>&1 || true)"
grep -q -- '--metrics' <<<"$HELP" && ARGS+=(--metrics)
grep -q -- '--slots'   <<<"$HELP" && ARGS+=(--slots)

exec "$SERVER" "${ARGS[@]}" "$@"
