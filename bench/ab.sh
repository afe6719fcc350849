#!/usr/bin/env bash
# Before/after of the hot path in one run: the throughput load (64 streams x 2,000 tokens, worker at full
# speed, 20 s warm-up, 15 s window) against plain YARP, the sidecar built from REV and the sidecar of this
# checkout, in turn on one simulated worker, for ROUNDS rounds. Prints CPU per event and events/s of each.
#
#   bench/ab.sh [REV] [ROUNDS]      default: REV=HEAD~1, ROUNDS=2
#
# REV is checked out in a temporary git worktree and built there. Everything listens on 127.0.0.1 only
# (ports BENCH_BASE_PORT+50..+52, default 18750..18752).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rev=${1:-HEAD~1}
rounds=${2:-2}
base=$(( ${BENCH_BASE_PORT:-18700} + 50 ))
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n 65536 2>/dev/null || true

before=$(mktemp -d)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  git worktree remove --force "$before" 2>/dev/null || rm -rf "$before"
}
trap cleanup EXIT

git worktree add -q --detach "$before" "$rev"
for project in src/Dynamo.Sidecar.SimulatedWorker src/Dynamo.Sidecar tools/Dynamo.Sidecar.LoadTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done
dotnet build -c Release --nologo -v quiet "$before/src/Dynamo.Sidecar" >/dev/null

dotnet src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll --urls "http://127.0.0.1:$base" \
  --Worker:TokensPerSecond=0 --Worker:TimeToFirstTokenMs=0 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
started+=($!)
sleep 2

measure() { # label sidecar-dir metering
  (cd "$2" && exec dotnet Dynamo.Sidecar.dll --urls "http://127.0.0.1:$((base + 1))" --Sidecar:AdminPort=$((base + 2)) \
    --Sidecar:AdminAddress=127.0.0.1 --Sidecar:MeteringEnabled="$3" \
    --ReverseProxy:Clusters:worker:Destinations:primary:Address="http://127.0.0.1:$base") >/dev/null 2>&1 &
  local pid=$!
  sleep 3
  local result
  result=$(dotnet "$root/tools/Dynamo.Sidecar.LoadTool/bin/Release/net10.0/Dynamo.Sidecar.LoadTool.dll" \
    --url "http://127.0.0.1:$((base + 1))" --label "$1" --streams 64 --tokens 2000 --rate 0 --duration 15 --warmup 20 --pid "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  printf '%-16s %s | %s\n' "$1" "$(grep -oE '[0-9.]+ us/event' <<<"$result")" "$(grep -oE '= [0-9]+ events/s' <<<"$result")"
}

echo "round  target           CPU per event | events/s   (before = $(git rev-parse --short "$rev"))"
for round in $(seq 1 "$rounds"); do
  echo "$round"
  measure yarp "$root/src/Dynamo.Sidecar/bin/Release/net10.0" false
  measure sidecar-before "$before/src/Dynamo.Sidecar/bin/Release/net10.0" true
  measure sidecar-now "$root/src/Dynamo.Sidecar/bin/Release/net10.0" true
done
