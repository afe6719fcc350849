#!/usr/bin/env bash
# Soak test: builds Release and publishes the sidecar, then runs tools/Dynamo.Sidecar.SoakTool, which starts the simulated worker and the
# sidecar (127.0.0.1 only), drives 256 concurrent mixed requests with client disconnects, worker cuts, stalls,
# slow streams and error statuses, and checks the sidecar's metrics and memory at the end (docs/reliability.md#soak).
#
#   tools/soak.sh                     60 s of traffic after a 30 s warm-up (what CI runs)
#   tools/soak.sh --duration 1800     the documented 30-minute soak
#   tools/soak.sh --help              every option (--seed, --concurrency, --warmup, --base-port, ...)
#
# Ends with "N passed, M failed"; exits non-zero when a check failed. SOAK_LOGS=dir keeps the worker's and the
# sidecar's output there (default: a temporary folder, printed at the start).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Hundreds of connections in the client, the sidecar (twice: client and worker side) and the worker.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "[soak] building Release (worker, soak tool) and publishing the sidecar as it ships (Native AOT)" >&2
for project in src/Dynamo.Sidecar.SimulatedWorker tools/Dynamo.Sidecar.SoakTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done

source bench/runtime-env.sh # the runtime settings the sidecar ships with, for the sidecar only
args=(--sidecar "$(tools/publish.sh)" --sidecar-env "${runtime_env[*]}" "$@")
[ -n "${SOAK_LOGS:-}" ] && mkdir -p "$SOAK_LOGS" && args+=(--logs "$SOAK_LOGS")
exec dotnet "$root/tools/Dynamo.Sidecar.SoakTool/bin/Release/net10.0/Dynamo.Sidecar.SoakTool.dll" --root "$root" "${args[@]}"
