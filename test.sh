#!/usr/bin/env bash
# Installs what the end-to-end tests need (idempotent, cached), publishes the sidecar as it ships (the Native AOT
# binary, which the tests that run the published build find through DYNAMO_SIDECAR_BINARY), runs every test project
# of the solution, and ends with one line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"

# The end-to-end suite needs real parts: Prometheus, llama.cpp's llama-server, the openai npm client.
tools/test-deps.sh || { echo; echo "0 passed, 1 failed"; exit 1; }

# What ships must be tested: publish it now, so no test runs a binary older than the source.
binary=$(tools/publish.sh) && [ -x "$binary" ] || { echo "tools/publish.sh failed" >&2; echo; echo "0 passed, 1 failed"; exit 1; }
export DYNAMO_SIDECAR_BINARY="$binary"

results=$(mktemp -d)
dotnet test Dynamo.Sidecar.sln --nologo --logger trx --results-directory "$results" "$@"
status=$?

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  passed=$((passed + $(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")))
  failed=$((failed + $(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")))
done
rm -rf "$results"

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run broke before any test could report (build error, crashed host)
fi
echo
echo "$passed passed, $failed failed"
exit "$status"
