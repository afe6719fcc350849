#!/usr/bin/env bash
# Load benchmark of the sidecar against the same simulated worker reached directly, through nginx, through
# plain YARP (the sidecar with metering off) and through the Portkey AI gateway (bench/portkey), in one run.
# Prints a markdown table per scenario and the targets of the issues "Fast and measured" and "At a real
# worker's pace" (issue 12) as met/missed lines (see docs/benchmarks.md).
#
#   bench/run.sh            the five scenarios (paced, unary, throughput, latency, scale); about 12 minutes
#   bench/run.sh --smoke    10 s of load on the sidecar only; exits non-zero if the load tool fails (for CI)
#   bench/run.sh --micro    the BenchmarkDotNet micro-benchmarks (short job); a few minutes
#
# Environment: BENCH_BASE_PORT (default 18700: worker, nginx, yarp, sidecar, portkey on +0..+4, admin ports +12, +13),
# BENCH_OUT (results folder, default bench/results/<time>), PACED_STREAMS (512), PACED_WINDOW (15 s), PACED_PROBES (200),
# UNARY_REQUESTS (20000), THROUGHPUT_SECONDS (15), LATENCY_TOKENS (200), SCALE_STREAMS (4000), SCALE_TOKENS (20),
# WARMUP_SECONDS (20, throughput only); BENCH_SCENARIOS and BENCH_TARGETS pick a subset (e.g. BENCH_SCENARIOS=paced
# BENCH_TARGETS="direct yarp sidecar" for an A/B of the hot path). Everything listens on 127.0.0.1 only.
# BENCH_SIDECAR_ARGS adds settings to the metering sidecar only (not plain YARP), e.g. the request-end features:
# BENCH_SIDECAR_ARGS="--Sidecar:AccessLog=true --Sidecar:Exemplars=true --Sidecar:Attribution:FromBody=true
# --OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 --OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=full
case "${1:-}" in
  "") ;;
  --smoke) mode=smoke ;;
  --micro) mode=micro ;;
  *) echo "usage: bench/run.sh [--smoke|--micro]" >&2; exit 2 ;;
esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "$mode" = micro ]; then
  dotnet build -c Release --nologo -v quiet tests/Dynamo.Sidecar.Benchmarks/Dynamo.Sidecar.Benchmarks.csproj >/dev/null
  cd tests/Dynamo.Sidecar.Benchmarks
  exec dotnet bin/Release/net10.0/Dynamo.Sidecar.Benchmarks.dll --filter '*' --job short
fi

base=${BENCH_BASE_PORT:-18700}
worker_port=$base
nginx_port=$((base + 1))
yarp_port=$((base + 2))
sidecar_port=$((base + 3))
portkey_port=$((base + 4))
yarp_admin=$((base + 12))
sidecar_admin=$((base + 13))
worker_url=http://127.0.0.1:$worker_port

out=${BENCH_OUT:-$root/bench/results/$(date +%Y%m%d-%H%M%S)}
[ "$mode" = smoke ] && out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
run_dir=$(mktemp -d)

# 4,000 streams need 4,000 sockets in each of the client, the worker and the proxy (8,000 there).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

log() { echo "[bench] $*" >&2; }

started=()
cleanup() {
  for pid in "${started[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${started[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$run_dir"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() { # url pid
  for _ in $(seq 1 150); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    kill -0 "$2" 2>/dev/null || { log "process $2 exited before $1 answered"; return 1; }
    sleep 0.1
  done
  log "$1 did not answer within 15 s"
  return 1
}

stop() { # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=()
  for pid in "${started[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  started=("${kept[@]}")
}

log "building Release (worker, load tool) and publishing the sidecar as it ships (Native AOT)"
for project in src/Dynamo.Sidecar.SimulatedWorker tools/Dynamo.Sidecar.LoadTool; do
  dotnet build -c Release --nologo -v quiet "$project" >/dev/null
done
worker_dll=$root/src/Dynamo.Sidecar.SimulatedWorker/bin/Release/net10.0/Dynamo.Sidecar.SimulatedWorker.dll
sidecar_bin=$(tools/publish.sh)
load_tool=(dotnet "$root/tools/Dynamo.Sidecar.LoadTool/bin/Release/net10.0/Dynamo.Sidecar.LoadTool.dll")

ports=("$worker_port" "$sidecar_port" "$sidecar_admin")
[ "$mode" = full ] && ports+=("$nginx_port" "$yarp_port" "$yarp_admin" "$portkey_port")
for port in "${ports[@]}"; do
  port_free "$port" || { log "port $port is in use: set BENCH_BASE_PORT"; exit 1; }
done

log "starting the simulated worker on $worker_url"
dotnet "$worker_dll" --urls "$worker_url" --Worker:TokensPerSecond=0 --Worker:TimeToFirstTokenMs=0 \
  --Logging:LogLevel:Default=Warning >"$out/worker.log" 2>&1 &
worker_pid=$!
started+=("$worker_pid")
wait_ready "$worker_url/health" "$worker_pid"

proxy_pids= # set by start_target: the processes whose CPU and memory are measured

source "$root/bench/runtime-env.sh"

start_sidecar() { # name port admin_port metering
  (cd "$(dirname "$sidecar_bin")" && exec env "${runtime_env[@]}" "$sidecar_bin" --urls "http://127.0.0.1:$2" --Sidecar:AdminPort="$3" \
    --Sidecar:AdminAddress=127.0.0.1 --Sidecar:MeteringEnabled="$4" \
    --ReverseProxy:Clusters:worker:Destinations:primary:Address="$worker_url" \
    $([ "$4" = true ] && echo "${BENCH_SIDECAR_ARGS:-}")) >"$out/$1.log" 2>&1 &
  local pid=$!
  started+=("$pid")
  wait_ready "http://127.0.0.1:$2/health" "$pid"
  proxy_pids=$pid
}

install_nginx() {
  command -v nginx >/dev/null || { log "installing nginx (Debian)"; apt-get install -y -qq nginx >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }; }
}

start_nginx() {
  mkdir -p "$run_dir/nginx"
  sed -e "s|@RUN_DIR@|$run_dir/nginx|g" -e "s|@PORT@|$nginx_port|g" -e "s|@UPSTREAM@|127.0.0.1:$worker_port|g" \
    "$root/bench/nginx.conf" >"$run_dir/nginx/nginx.conf"
  nginx -p "$run_dir/nginx" -c "$run_dir/nginx/nginx.conf" -g 'daemon off;' >"$out/nginx.log" 2>&1 &
  local pid=$!
  started+=("$pid")
  wait_ready "http://127.0.0.1:$nginx_port/health" "$pid"
  # The master and its workers (worker_processes auto), summed.
  proxy_pids=$(echo "$pid" $(pgrep -P "$pid") | tr ' ' ',')
}

# The Portkey AI gateway, pinned by bench/portkey/package-lock.json and installed there with npm ci (again only
# when the lock file changed). It reaches the worker through its custom-host header (see target_args).
start_portkey() {
  local dir=$root/bench/portkey stamp want
  command -v node >/dev/null && command -v npm >/dev/null || { log "installing node and npm (Debian)"; apt-get install -y -qq nodejs npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }; }
  stamp=$dir/node_modules/.lock-sha256
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the Portkey gateway (npm ci in bench/portkey)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
  # production: no log UI, no per-request log streaming to it.
  NODE_ENV=production node "$dir/start.mjs" --port="$portkey_port" --headless >"$out/portkey.log" 2>&1 &
  local pid=$!
  started+=("$pid")
  wait_ready "http://127.0.0.1:$portkey_port/" "$pid"
  proxy_pids=$pid
}

target_url() {
  case "$1" in
    direct) echo "$worker_url" ;;
    nginx) echo "http://127.0.0.1:$nginx_port" ;;
    yarp) echo "http://127.0.0.1:$yarp_port" ;;
    sidecar) echo "http://127.0.0.1:$sidecar_port" ;;
    portkey) echo "http://127.0.0.1:$portkey_port" ;;
  esac
}

# Request headers a target needs: Portkey routes by x-portkey-provider / x-portkey-custom-host (an OpenAI-compatible
# base URL; loopback is trusted by default), wants a key for the openai provider, and forwards other headers, such as
# the simulated worker's pacing header, only when told to.
target_args() {
  case "$1" in
    portkey) printf '%s\n' --header "x-portkey-provider: openai" --header "x-portkey-custom-host: $worker_url/v1" \
      --header "x-portkey-forward-headers: x-sim-tokens-per-second" --header "Authorization: Bearer sk-bench" ;;
  esac
}

start_target() {
  proxy_pids=
  case "$1" in
    direct) ;;
    nginx) start_nginx ;;
    yarp) start_sidecar yarp "$yarp_port" "$yarp_admin" false ;;
    sidecar) start_sidecar sidecar "$sidecar_port" "$sidecar_admin" true ;;
    portkey) start_portkey ;;
  esac
}

stop_target() {
  [ -z "$proxy_pids" ] && return 0
  stop "${proxy_pids%%,*}"
  proxy_pids=
}

load() { # scenario target args...
  local scenario=$1 target=$2
  shift 2
  local args=(--url "$(target_url "$target")" --label "$target" --worker-pid "$worker_pid" --out "$out/$scenario-$target.json" "$@")
  [ -n "$proxy_pids" ] && args+=(--pid "$proxy_pids")
  local extra
  mapfile -t extra < <(target_args "$target")
  args+=("${extra[@]}")
  [ "$target" != direct ] && [ -f "$out/$scenario-direct.json" ] && args+=(--baseline "$out/$scenario-direct.json")
  log "$scenario / $target: load $(cut -d' ' -f1-3 /proc/loadavg)"
  "${load_tool[@]}" "${args[@]}" >"$out/$scenario-$target.txt" 2>&1 || { cat "$out/$scenario-$target.txt" >&2; return 1; }
  sed 's/^/    /' "$out/$scenario-$target.txt" >&2
}

if [ "$mode" = smoke ]; then
  start_target sidecar
  log "smoke: 10 s of 16 streams on the sidecar"
  status=0
  load throughput sidecar --streams 16 --tokens 200 --rate 200 --duration 10 --warmup 2 || status=$?
  if [ "$status" -eq 0 ]; then
    "${load_tool[@]}" report "$out" >/dev/null || status=$?
  fi
  [ -z "${BENCH_OUT:-}" ] && rm -rf "$out"
  [ "$status" -eq 0 ] && log "smoke: OK" || log "smoke: FAILED ($status)"
  exit "$status"
fi

# Before the machine line (it prints nginx's version) and before any load, so apt does not run inside a scenario.
[ "$mode" = full ] && install_nginx

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) memory"
  echo ".NET: $(dotnet --version) SDK, runtime $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}'); nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
  echo "node: $(node --version); Portkey gateway: $(node -p "require('$root/bench/portkey/package.json').dependencies['@portkey-ai/gateway']")"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt" 2>/dev/null || true
cat "$out/machine.txt" >&2

failed=0
scenarios=" ${BENCH_SCENARIOS:-paced unary throughput latency scale} "
scenario() { # name args...
  local name=$1
  shift
  [[ $scenarios == *" $name "* ]] || return 0
  for target in ${BENCH_TARGETS:-direct nginx yarp sidecar portkey}; do
    start_target "$target"
    # Portkey is a reference, not under test: a failure of it is reported, not fatal.
    if ! load "$name" "$target" "$@"; then
      if [ "$target" = portkey ]; then log "$name / portkey failed (see $out/$name-portkey.txt and portkey.log); not in the table"; else failed=1; fi
    fi
    stop_target
  done
}

# Paced (the headline, issue 12): 512 streams at 30 tokens/s, one event per write (the simulated worker flushes every
# event), ramped up over 2 s and long enough (60 s) to stay open through the window. Once all are open the window
# takes CPU per event and RSS per open stream over 15 s, while 200 probes, each on a new connection, time the first
# token (the worker adds no time to first token, so the probes time the path alone). 10 s of full-speed warm-up first.
scenario paced --streams "${PACED_STREAMS:-512}" --tokens 1800 --rate 30 --ramp 2 --window "${PACED_WINDOW:-15}" \
  --probes "${PACED_PROBES:-200}" --probe-interval 0.05 --warmup 10
# Unary: one request at a time, a 36-token answer (197 bytes of text, 580 bytes of JSON): the latency added to it.
scenario unary --streams 1 --tokens 36 --unary "${UNARY_REQUESTS:-20000}" --warmup 5
# Throughput: 64 streams of 2,000 tokens, the worker as fast as it can; a finished stream starts another.
# 20 s of warm-up: tiered compilation of the per-request code goes on for ~20 s of this load (1,300 methods
# compiled between 8 and 16 s, measured with DOTNET_JitDisasmSummary), and would be counted as proxy CPU.
scenario throughput --streams 64 --tokens 2000 --rate 0 --duration "${THROUGHPUT_SECONDS:-15}" --warmup "${WARMUP_SECONDS:-20}"
# Latency: 256 streams at 20 tokens/s: the gap each proxy adds to every event.
scenario latency --streams 256 --tokens "${LATENCY_TOKENS:-200}" --rate 20
# Scale: thousands of open, slow streams (1 token/s), opened over 4 s: what an open stream costs in memory.
scenario scale --streams "${SCALE_STREAMS:-4000}" --tokens "${SCALE_TOKENS:-20}" --rate 1 --ramp 4 --timeout 180

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
echo
sed 's/^/    /' "$out/machine.txt"
echo
"${load_tool[@]}" report "$out" | tee "$out/report.md"
echo
log "results in $out"
exit "$failed"
