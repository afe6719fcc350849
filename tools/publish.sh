#!/usr/bin/env bash
# Publishes the sidecar as it ships: the Native AOT binary, into artifacts/sidecar (or $1). Prints the binary's path.
# Used by ./run.sh, ./test.sh (the end-to-end tests run this binary), bench/ and tools/soak.sh.
# The link needs a C toolchain: tools/aot-toolchain.sh checks it (and installs Debian's clang when there is none).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/sidecar}
tools/aot-toolchain.sh >/dev/null
dotnet publish src/Dynamo.Sidecar/Dynamo.Sidecar.csproj -c Release --nologo -v quiet -o "$out" >&2
echo "$(cd "$out" && pwd)/Dynamo.Sidecar"
