#!/usr/bin/env bash
# Publishes the sidecar as it ships: the Native AOT binary, into artifacts/sidecar (or $1). Prints the binary's path.
# Used by ./run.sh, ./test.sh (the end-to-end tests run this binary), bench/ and tools/soak.sh.
# Needs clang and zlib's headers (Debian: clang zlib1g-dev), as the Dockerfile's build stage has.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/sidecar}
dotnet publish src/Dynamo.Sidecar/Dynamo.Sidecar.csproj -c Release --nologo -v quiet -o "$out" >&2
echo "$(cd "$out" && pwd)/Dynamo.Sidecar"
