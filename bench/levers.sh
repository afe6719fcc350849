#!/usr/bin/env bash
# Runtime settings and builds of the sidecar side by side, in turn on one simulated worker, under bench/run.sh's paced
# load (512 streams at 30 tokens/s, one event per write, 15 s window, 200 fresh-connection TTFT probes), for ROUNDS
# rounds. Each round starts with plain YARP (metering off, this build, no extra setting) as the reference. Every run
# has the runtime settings users run with (bench/runtime-env.sh); a SPEC's settings come after them.
#
#   bench/levers.sh ROUNDS SPEC...
#   SPEC = label[@dir]:[NAME=value ...]    dir: another published build of the sidecar (default this checkout's, as
#                                          tools/publish.sh makes it); a dir with Dynamo.Sidecar.dll and no apphost runs
#                                          under `dotnet`
#   bench/levers.sh 2 "default:" "gen0 1 MiB:DOTNET_GCgen0size=100000" "no concurrent GC:DOTNET_gcConcurrent=0"
#
# LEVERS_SCENARIO=unary: bench/run.sh's unary scenario instead (20,000 non-streaming chats, one at a time); prints CPU
# µs per request and latency p50 / p99 / max.
#
# Prints per run: CPU µs per event, idle RSS (after the 10 s full-speed warm-up), KiB per open stream, probe TTFT
# p50 / p99 / max, and the resident memory split (anonymous / file-backed) and machine load when the load ended.
# Everything listens on 127.0.0.1 only (ports BENCH_BASE_PORT+60..+62, default 18760..18762).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:?usage: bench/levers.sh ROUNDS SPEC...}
shift
base=$(( ${BENCH_BASE_PORT:-18700} + 60 ))
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
ulimit -n 65536 2>/dev/null || true

started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

for project in src/Dynamo.Sidecar.SimulatedWorker tools/Dynamo.Sidecar.LoadTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done
default_dir=$(dirname "$(tools/publish.sh)")

dotnet src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll --urls "http://127.0.0.1:$base" \
  --Worker:TokensPerSecond=0 --Worker:TimeToFirstTokenMs=0 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
started+=($!)
sleep 2

source "$root/bench/runtime-env.sh" # the settings users run with, before each SPEC's own
scenario=${LEVERS_SCENARIO:-paced}
case "$scenario" in
  paced) load_args=(--streams 512 --tokens 1800 --rate 30 --ramp 2 --window 15 --probes 200 --probe-interval 0.05 --warmup 10) ;;
  unary) load_args=(--streams 1 --tokens 36 --unary 20000 --warmup 5) ;;
  *) echo "LEVERS_SCENARIO must be paced or unary" >&2; exit 2 ;;
esac

measure() { # label dir metering [NAME=value...]
  local label=$1 dir=$2 metering=$3
  shift 3
  local cmd=(./Dynamo.Sidecar)
  [ -x "$dir/Dynamo.Sidecar" ] || cmd=(dotnet Dynamo.Sidecar.dll)
  (cd "$dir" && exec env "${runtime_env[@]}" "$@" "${cmd[@]}" --urls "http://127.0.0.1:$((base + 1))" --Sidecar:AdminPort=$((base + 2)) \
    --Sidecar:AdminAddress=127.0.0.1 --Sidecar:MeteringEnabled="$metering" \
    --ReverseProxy:Clusters:worker:Destinations:primary:Address="http://127.0.0.1:$base") >/dev/null 2>&1 &
  local pid=$!
  sleep 3
  local result split
  result=$(dotnet "$root/tools/Dynamo.Sidecar.LoadTool/bin/Release/net10.0/Dynamo.Sidecar.LoadTool.dll" \
    --url "http://127.0.0.1:$((base + 1))" --label "$label" "${load_args[@]}" --pid "$pid")
  split=$(awk '/^RssAnon|^RssFile/ {printf "%s %.0f ", $1, $2/1024}' "/proc/$pid/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ "$scenario" = unary ]; then
    printf '%-28s %s per request | unary ms %s | load %s\n' "$label" "$(grep -oE '[0-9.]+ us/event' <<<"$result" | sed 's|/event||')" \
      "$(grep -oE 'unary ms +p50 [0-9.]+ +p90 [0-9.]+ +p99 [0-9.]+ +max [0-9.]+' <<<"$result" | sed -E 's/unary ms +//; s/ +/ /g')" \
      "$(cut -d' ' -f1 /proc/loadavg)"
    return
  fi
  printf '%-28s %s | %s | %s | probe TTFT %s / %s / %s ms | after: %s MiB | load %s\n' "$label" \
    "$(grep -oE '[0-9.]+ us/event' <<<"$result")" \
    "$(grep -oE 'RSS idle [0-9.]+ MiB' <<<"$result")" \
    "$(grep -oE '[0-9.]+ KiB per open stream' <<<"$result")" \
    "$(grep -oE 'probe TTFT ms +p50 [0-9.]+' <<<"$result" | grep -oE '[0-9.]+$')" \
    "$(grep 'probe TTFT' <<<"$result" | grep -oE 'p99 [0-9.]+' | cut -d' ' -f2)" \
    "$(grep 'probe TTFT' <<<"$result" | grep -oE 'max [0-9.]+' | cut -d' ' -f2)" \
    "$split" "$(cut -d' ' -f1 /proc/loadavg)"
}

echo "$scenario levers, $(date -u '+%H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  measure "plain YARP" "$default_dir" false
  for spec in "$@"; do
    head=${spec%%:*}
    env_part=${spec#*:}
    label=${head%%@*}
    dir=$default_dir
    [[ $head == *@* ]] && dir=${head#*@}
    read -r -a envs <<<"$env_part"
    measure "$label" "$dir" true "${envs[@]}"
  done
done
