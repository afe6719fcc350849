#!/usr/bin/env bash
# Publishes the sidecar as it ships: the Native AOT binary, into artifacts/sidecar (or $1). Prints the binary's path.
# Used by ./run.sh, ./test.sh (the end-to-end tests run this binary), bench/ and tools/soak.sh.
# Needs a C toolchain for the link (clang, else gcc; the Dockerfile's build stage has clang): installs Debian's clang and
# zlib1g-dev when neither is there and it runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/sidecar}
if ! command -v clang >/dev/null && ! command -v gcc >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "publish: Native AOT needs a C toolchain: apt-get install clang zlib1g-dev" >&2; exit 1; }
  echo "publish: installing Debian's clang and zlib1g-dev for the Native AOT link" >&2
  (apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null; }) >&2
fi
dotnet publish src/Dynamo.Sidecar/Dynamo.Sidecar.csproj -c Release --nologo -v quiet -o "$out" >&2
echo "$(cd "$out" && pwd)/Dynamo.Sidecar"
