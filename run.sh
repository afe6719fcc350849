#!/usr/bin/env bash
# Runs the sidecar: proxy on :8080, admin (/metrics, /healthz, /readyz) on :9464, in front of
# WORKER_URL, or of the simulated worker (started here on 127.0.0.1:8000) when none is given.
# Extra arguments go to the sidecar, e.g. ./run.sh --Sidecar:AdminPort=9500
set -euo pipefail
cd "$(dirname "$0")"

# The sidecar as it ships: the Native AOT binary (about a minute to publish the first time; clang and zlib1g-dev).
sidecar=$(tools/publish.sh)

if [ -z "${WORKER_URL:-}" ]; then
  dotnet build -c Release --nologo -v quiet src/Dynamo.Sidecar.SimulatedWorker/Dynamo.Sidecar.SimulatedWorker.csproj >/dev/null
  dotnet src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll \
    --urls http://127.0.0.1:8000 "--Worker:TokensPerSecond=${SIM_TOKENS_PER_SECOND:-50}" &
  worker=$!
  trap 'kill $worker 2>/dev/null' EXIT
  WORKER_URL=http://127.0.0.1:8000
  echo "simulated worker on $WORKER_URL (pid $worker)"
fi

# The GC's gen0 budget follows the host's L3 cache (tens of MiB on a server CPU, whatever the pod's limits), and
# the heap grows to it: 2 MiB keeps the sidecar's anonymous memory at about half (paced load, docs/benchmarks.md,
# "Memory levers"). Environment only: the runtime reads no runtimeconfig.json knob for it. Same in the Dockerfile.
# Hex without "0x": the Native AOT runtime ignores a value written 0x200000, silently.
export DOTNET_GCgen0size=${DOTNET_GCgen0size:-200000}
# Each token is read from the worker, metered and written to the client on the socket engine's thread that polled it
# (the runtime's switch; Kestrel follows it), not handed to a thread-pool thread and back: a quarter less CPU per
# event and 7 MiB less idle memory under 512 paced streams (docs/benchmarks.md, "Inline socket scheduling").
export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=${DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS:-1}
cd "$(dirname "$sidecar")"
./Dynamo.Sidecar "--ReverseProxy:Clusters:worker:Destinations:primary:Address=$WORKER_URL" "$@"
