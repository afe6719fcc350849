#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (plus `llama-convert-llama2c-to-ggml` and the
# SPM vocab model) from the llama.cpp source bundled inside the npm package
# node-llama-cpp@3.22.1. Needs only the npm registry (and Debian apt for build tools).
#
# Result is cached outside the repo, keyed by version:
#   ${LLAMA_CACHE_DIR:-$HOME/.cache/dynamo-sidecar/llama/node-llama-cpp-3.22.1}
#     bin/llama-server
#     bin/llama-convert-llama2c-to-ggml
#     models/ggml-vocab-llama-spm.gguf
# Idempotent: exits immediately if the cache is complete and working.
# The last line printed on stdout is the cache path.
#
# Env: LLAMA_CACHE_DIR   override cache dir
#      LLAMA_BUILD_JOBS  parallel build jobs (default 2)
set -euo pipefail

NLC_VERSION="3.22.1"
NLC_PACKAGE="node-llama-cpp@${NLC_VERSION}"
CACHE="${LLAMA_CACHE_DIR:-$HOME/.cache/dynamo-sidecar/llama/node-llama-cpp-${NLC_VERSION}}"
JOBS="${LLAMA_BUILD_JOBS:-2}"

log() { echo "[build-llama-server] $*" >&2; }
die() { echo "[build-llama-server] ERROR: $*" >&2; exit 1; }

cache_ok() {
    [[ -x "$CACHE/bin/llama-server" ]] \
        && [[ -x "$CACHE/bin/llama-convert-llama2c-to-ggml" ]] \
        && [[ -s "$CACHE/models/ggml-vocab-llama-spm.gguf" ]] \
        && "$CACHE/bin/llama-server" --version >/dev/null 2>&1
}

if cache_ok; then
    log "cache is complete: $CACHE"
    echo "$CACHE"
    exit 0
fi

log "cache missing or incomplete, building into $CACHE"

# --- build dependencies -------------------------------------------------------
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++   >/dev/null 2>&1 || missing+=(g++)
command -v git   >/dev/null 2>&1 || missing+=(git)
if ((${#missing[@]})); then
    log "installing missing build tools: ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y cmake g++ git
fi
command -v npm >/dev/null 2>&1 || die "npm is required (to fetch $NLC_PACKAGE)"
command -v tar >/dev/null 2>&1 || die "tar is required"

# --- work dir (same filesystem as the cache so the final mv is atomic) -------
CACHE_PARENT="$(dirname "$CACHE")"
mkdir -p "$CACHE_PARENT"
WORK="$(mktemp -d "$CACHE_PARENT/.build-$(basename "$CACHE").XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

# --- fetch source -------------------------------------------------------------
log "npm pack $NLC_PACKAGE"
(cd "$WORK" && npm pack --silent "$NLC_PACKAGE" >/dev/null)
TARBALL="$WORK/node-llama-cpp-${NLC_VERSION}.tgz"
[[ -s "$TARBALL" ]] || die "npm pack did not produce $TARBALL"

tar -xzf "$TARBALL" -C "$WORK" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json \
    || die "tarball lacks package/llama/gitRelease.bundle"
BUNDLE="$WORK/package/llama/gitRelease.bundle"
log "bundled llama.cpp: $(tr -d '\n ' <"$WORK/package/llama/llama.cpp.info.json")"
log "bundle heads: $(git bundle list-heads "$BUNDLE" | tr '\n' ' ')"

git clone --quiet "$BUNDLE" "$WORK/src" || die "git clone of bundle failed"
rm -f "$TARBALL"
SRC="$WORK/src"
log "source commit: $(git -C "$SRC" rev-parse HEAD)"

# --- configure & build --------------------------------------------------------
CMAKE_ARGS=(
    -DCMAKE_BUILD_TYPE=Release
    -DGGML_NATIVE=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_UI=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF
    -DBUILD_SHARED_LIBS=OFF
)
# Older llama.cpp trees have a real LLAMA_CURL option (no internet here -> off).
if grep -q 'option(LLAMA_CURL' "$SRC/CMakeLists.txt"; then
    CMAKE_ARGS+=(-DLLAMA_CURL=OFF)
fi

log "cmake configure: ${CMAKE_ARGS[*]}"
cmake -S "$SRC" -B "$WORK/build" "${CMAKE_ARGS[@]}" || die "cmake configure failed"

log "cmake build (-j$JOBS), this takes ~10 minutes on 2 cores"
start=$(date +%s)
cmake --build "$WORK/build" --config Release -j"$JOBS" \
    --target llama-server llama-convert-llama2c-to-ggml || die "cmake build failed"
log "build took $(( $(date +%s) - start ))s"

# --- stage & publish atomically ----------------------------------------------
STAGE="$WORK/stage"
mkdir -p "$STAGE/bin" "$STAGE/models"
for b in llama-server llama-convert-llama2c-to-ggml; do
    [[ -x "$WORK/build/bin/$b" ]] || die "build did not produce bin/$b"
    cp "$WORK/build/bin/$b" "$STAGE/bin/$b"
done
cp "$SRC/models/ggml-vocab-llama-spm.gguf" "$STAGE/models/" || die "vocab model missing in source tree"
git -C "$SRC" rev-parse HEAD >"$STAGE/llama.cpp.commit"
cp "$WORK/package/llama/llama.cpp.info.json" "$STAGE/"

"$STAGE/bin/llama-server" --version >&2 || die "built llama-server does not run"

# Keep any previously generated models (e.g. tiny.gguf) only if the old cache is replaced.
if [[ -d "$CACHE" ]]; then
    if [[ -d "$CACHE/models" ]]; then
        for f in "$CACHE/models"/*; do
            [[ -e "$f" ]] || continue
            [[ -e "$STAGE/models/$(basename "$f")" ]] || cp -a "$f" "$STAGE/models/"
        done
    fi
    OLD="$WORK/old-cache"
    mv "$CACHE" "$OLD"
fi
mv "$STAGE" "$CACHE"

cache_ok || die "cache at $CACHE is not usable after build"
log "done"
echo "$CACHE"
