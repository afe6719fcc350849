#!/usr/bin/env bash
# Generates a tiny random-weight llama model (dim 64, 2 layers, 32000-token SPM
# vocab, ~8 MB) and converts it to GGUF with llama-convert-llama2c-to-ggml.
# Output: $CACHE/models/tiny.gguf (skipped if it already exists).
# Requires build-llama-server.sh to have run (it is invoked if the cache is missing).
# The last line printed on stdout is the path to tiny.gguf.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LLAMA_CACHE_DIR:-$HOME/.cache/dynamo-sidecar/llama/node-llama-cpp-3.22.1}"
OUT="$CACHE/models/tiny.gguf"

log() { echo "[make-tiny-model] $*" >&2; }
die() { echo "[make-tiny-model] ERROR: $*" >&2; exit 1; }

if [[ -s "$OUT" ]]; then
    log "already exists: $OUT"
    echo "$OUT"
    exit 0
fi

CONVERT="$CACHE/bin/llama-convert-llama2c-to-ggml"
VOCAB="$CACHE/models/ggml-vocab-llama-spm.gguf"
if [[ ! -x "$CONVERT" || ! -s "$VOCAB" ]]; then
    log "llama.cpp cache incomplete, running build-llama-server.sh"
    "$HERE/build-llama-server.sh" >/dev/null
fi
[[ -x "$CONVERT" ]] || die "missing $CONVERT"
[[ -s "$VOCAB" ]]   || die "missing $VOCAB"
command -v python3 >/dev/null 2>&1 || die "python3 is required"

WORK="$(mktemp -d "$CACHE/models/.tiny.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

python3 "$HERE/make-tiny-model.py" "$WORK/tiny.bin" || die "make-tiny-model.py failed"
"$CONVERT" \
    --copy-vocab-from-model "$VOCAB" \
    --llama2c-model "$WORK/tiny.bin" \
    --llama2c-output-model "$WORK/tiny.gguf" >"$WORK/convert.log" 2>&1 \
    || { cat "$WORK/convert.log" >&2; die "conversion failed"; }
[[ -s "$WORK/tiny.gguf" ]] || { cat "$WORK/convert.log" >&2; die "converter produced no output"; }

mv "$WORK/tiny.gguf" "$OUT"
log "wrote $OUT ($(stat -c %s "$OUT") bytes)"
echo "$OUT"
