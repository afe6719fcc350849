#!/usr/bin/env bash
# CPU profile of the sidecar and of plain YARP under the throughput load of bench/run.sh, with Linux perf:
# where each spends its CPU, by category and by method. The evidence behind docs/benchmarks.md.
#
#   bench/profile.sh                 both, 8 s of samples each, after 8 s of load
#   PROFILE_TARGETS=sidecar bench/profile.sh
#   PROFILE_LOAD="--streams 256 --tokens 400 --rate 20" bench/profile.sh    the latency shape instead
#   PROFILE_WARMUP=22 bench/profile.sh     sample after 22 s of load, when tiered compilation has settled
#
# Both targets are the published Native AOT binary (tools/publish.sh), so perf names managed code from the binary's
# symbols (Dynamo.Sidecar.dbg beside it; NativeAOT names methods Namespace_Type__Method), as users run it.
# With the runtime settings users run with (bench/runtime-env.sh), as ./run.sh, the Dockerfile and deploy/ run it.
# PROFILE_LOAD="--streams 512 --tokens 1800 --rate 30 --ramp 2 --window 15 --warmup 10" PROFILE_WARMUP=16 bench/profile.sh
#   profiles the paced scenario (samples start once all 512 streams are open).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v perf >/dev/null || { echo "perf is not installed (Debian: linux-perf)" >&2; exit 1; }
base=${BENCH_BASE_PORT:-18750}
worker_url=http://127.0.0.1:$base
out=${PROFILE_OUT:-$(mktemp -d)}
mkdir -p "$out"

for project in src/Dynamo.Sidecar.SimulatedWorker tools/Dynamo.Sidecar.LoadTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done
sidecar_dir=$(dirname "$(tools/publish.sh)")
load_tool=(dotnet "$root/tools/Dynamo.Sidecar.LoadTool/bin/Release/net10.0/Dynamo.Sidecar.LoadTool.dll")

started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

dotnet src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll --urls "$worker_url" \
  --Worker:TokensPerSecond=0 --Worker:TimeToFirstTokenMs=0 --Logging:LogLevel:Default=Warning >"$out/worker.log" 2>&1 &
started+=($!)
sleep 2

warmup=${PROFILE_WARMUP:-8} # seconds of load before the 8 s of samples
source "$root/bench/runtime-env.sh"

profile() { # name metering
  local port=$((base + 3))
  (cd "$sidecar_dir" && exec env "${runtime_env[@]}" ./Dynamo.Sidecar \
    --urls "http://127.0.0.1:$port" --Sidecar:AdminPort=$((base + 13)) --Sidecar:AdminAddress=127.0.0.1 \
    --Sidecar:MeteringEnabled="$2" --ReverseProxy:Clusters:worker:Destinations:primary:Address="$worker_url") >"$out/$1.log" 2>&1 &
  local pid=$!
  started+=("$pid")
  sleep 3
  "${load_tool[@]}" --url "http://127.0.0.1:$port" ${PROFILE_LOAD:---streams 64 --tokens 2000 --rate 0 --duration $((warmup + 10))} --pid "$pid" --label "$1" >"$out/$1-load.txt" 2>&1 &
  local load=$!
  sleep "$warmup"
  perf record -F 999 -g -p "$pid" -o "$out/$1.perf" -- sleep 8 >/dev/null 2>&1
  wait "$load" || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true

  echo "### $1"
  echo
  sed 's/^/    /' "$out/$1-load.txt"
  echo
  perf report -i "$out/$1.perf" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' >"$out/$1.symbols"
  echo "CPU by category (self time):"
  echo
  awk '
    { pct = $1; sub(/%/, "", pct); line = $0 }
    line ~ /Prometheus[._](Exemplar|ObservedExemplar)(::|\+|__)|ObjectPool|ConcurrentQueueSegment/ { c["prometheus-net exemplars (trace/span id on every observation)"] += pct; next }
    line ~ /Prometheus[._]/ { c["prometheus-net counters and histograms"] += pct; next }
    line ~ /System[._]Text[._]Json|CompletionChunkReader|UsageJson|ResponsesEventReader/ { c["JSON chunk reading (Utf8JsonReader)"] += pct; next }
    line ~ /Dynamo[._]Sidecar[._](Sse|Metering)/ { c["SSE framing, metering stream, request meter"] += pct; next }
    line ~ /S_P_CoreLib_System_Runtime_|RhpNew|RhpAssign|RhpCheckedAssign|WKS::|gc_heap/ { c["runtime (GC, allocation and write-barrier helpers)"] += pct; next }
    line ~ /\[k\]/ { c["kernel (sockets, scheduling)"] += pct; next }
    { c["everything else (Kestrel, YARP, HttpClient, BCL, libc)"] += pct }
    END { for (k in c) printf "| %6.2f%% | %s |\n", c[k], k }' "$out/$1.symbols" | sort -t'|' -k2 -rn
  echo
  echo "Top methods (self time):"
  echo
  head -25 "$out/$1.symbols" | sed -E 's/ +$//; s/^/    /' | cut -c1-200
  echo
}

for target in ${PROFILE_TARGETS:-yarp sidecar}; do
  case "$target" in
    yarp) profile yarp false ;;
    sidecar) profile sidecar true ;;
  esac
done
echo "perf data and logs in $out" >&2
