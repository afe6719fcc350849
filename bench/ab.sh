#!/usr/bin/env bash
# Before/after of the hot path in one run: a load against plain YARP, the sidecar built from REV and the sidecar
# of this checkout, in turn on one simulated worker, for ROUNDS rounds. Prints CPU per event and events/s of each.
#
#   bench/ab.sh [REV] [ROUNDS]      default: REV=HEAD~1, ROUNDS=2 (even, so each sidecar runs second as often)
#
# AB_SCENARIO=throughput (default): 64 streams x 2,000 tokens, worker at full speed, 20 s warm-up, 15 s window.
# AB_SCENARIO=paced: bench/run.sh's headline, 512 streams at 30 tokens/s, one event per write, 15 s window with
#   every stream open and 200 TTFT probes on fresh connections; also prints idle RSS, KiB per open stream, probe TTFT.
# AB_ENV="NAME=value ...": environment of the sidecar of this checkout only, to try a runtime setting against the
#   same build (REV=HEAD), e.g. AB_SCENARIO=paced AB_ENV=DOTNET_GCgen0size=400000 bench/ab.sh HEAD 3
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
for project in src/Dynamo.Sidecar.SimulatedWorker tools/Dynamo.Sidecar.LoadTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done
# Both sidecars published as they ship. A REV from before Native AOT publishes a framework-dependent build, whose
# apphost has the same name, so both run as ./Dynamo.Sidecar.
now_dir=$(dirname "$(tools/publish.sh)")
dotnet publish -c Release --nologo -v quiet -o "$before/artifacts/sidecar" "$before/src/Dynamo.Sidecar" >/dev/null
before_dir=$before/artifacts/sidecar

dotnet src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll --urls "http://127.0.0.1:$base" \
  --Worker:TokensPerSecond=0 --Worker:TimeToFirstTokenMs=0 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
started+=($!)
sleep 2

scenario=${AB_SCENARIO:-throughput}
case "$scenario" in
  throughput) load_args=(--streams 64 --tokens 2000 --rate 0 --duration 15 --warmup 20) ;;
  paced) load_args=(--streams 512 --tokens 1800 --rate 30 --ramp 2 --window 15 --probes 200 --probe-interval 0.05 --warmup 10) ;;
  *) echo "AB_SCENARIO must be throughput or paced" >&2; exit 2 ;;
esac
read -r -a now_env <<<"${AB_ENV:-}"

source "$root/bench/runtime-env.sh" # the settings users run with; AB_ENV comes after them

measure() { # label sidecar-dir metering [NAME=value...]
  local label=$1 dir=$2 metering=$3
  shift 3
  (cd "$dir" && exec env "${runtime_env[@]}" "$@" ./Dynamo.Sidecar --urls "http://127.0.0.1:$((base + 1))" --Sidecar:AdminPort=$((base + 2)) \
    --Sidecar:AdminAddress=127.0.0.1 --Sidecar:MeteringEnabled="$metering" \
    --ReverseProxy:Clusters:worker:Destinations:primary:Address="http://127.0.0.1:$base") >/dev/null 2>&1 &
  local pid=$!
  sleep 3
  local result
  result=$(dotnet "$root/tools/Dynamo.Sidecar.LoadTool/bin/Release/net10.0/Dynamo.Sidecar.LoadTool.dll" \
    --url "http://127.0.0.1:$((base + 1))" --label "$label" "${load_args[@]}" --pid "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  local line
  line=$(printf '%-16s %s | %s' "$label" "$(grep -oE '[0-9.]+ us/event' <<<"$result")" "$(grep -oE '= [0-9]+ events/s' <<<"$result")")
  if [ "$scenario" = paced ]; then
    line+=" | $(grep -oE 'RSS idle [0-9.]+ MiB' <<<"$result") | $(grep -oE '[0-9.]+ KiB per open stream' <<<"$result")"
    line+=" | probe TTFT $(grep -oE 'probe TTFT ms +p50 [0-9.]+' <<<"$result" | grep -oE '[0-9.]+$') / $(grep -A0 'probe TTFT' <<<"$result" | grep -oE 'p99 [0-9.]+' | cut -d' ' -f2) / $(grep -A0 'probe TTFT' <<<"$result" | grep -oE 'max [0-9.]+' | cut -d' ' -f2) ms"
    line+=" | closed in window $(grep -oE 'streams closed in it [0-9]+' <<<"$result" | grep -oE '[0-9]+$')"
  fi
  echo "$line"
}

header="round  target           CPU per event | events/s"
[ "$scenario" = paced ] && header+=" | idle RSS | per open stream | probe TTFT p50 / p99 / max (fresh connections) | streams closed in window"
echo "$header   ($scenario; before = $(git rev-parse --short "$rev")${AB_ENV:+; now with $AB_ENV})"
# The two sidecars swap places every round: the later run of a round measured 2-3% more CPU with the same build on
# both sides (docs/benchmarks.md), so a fixed order would favour one of them.
for round in $(seq 1 "$rounds"); do
  echo "$round"
  measure yarp "$now_dir" false
  if (( round % 2 )); then
    measure sidecar-before "$before_dir" true
    measure sidecar-now "$now_dir" true "${now_env[@]}"
  else
    measure sidecar-now "$now_dir" true "${now_env[@]}"
    measure sidecar-before "$before_dir" true
  fi
done
