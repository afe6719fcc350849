#!/usr/bin/env node
// Offline checks of the deployment artefacts, one sub-command per check; run by tools/validate-deploy.sh.
// Each sub-command prints its findings and ends with one line "OK: <summary>", or "ERROR: <reason>" and exit 1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const require = createRequire(import.meta.url);
const dockerfileUtils = require('dockerfile-utils');
const { DockerfileParser } = require('dockerfile-ast');
const dockerignore = require('@balena/dockerignore');

class CheckError extends Error {}
const problems = [];
const problem = (msg) => problems.push(msg);
const fail = (msg) => { throw new CheckError(msg); };
const finish = (summary) => {
  if (problems.length) fail(`${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  console.log(`OK: ${summary}`);
};

// ---------------------------------------------------------------------------------------------------
// helpers

function readYamlDocs(file) {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) fail(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS();
    if (obj != null) out.push(obj);
  }
  return out;
}

const clone = (x) => JSON.parse(JSON.stringify(x));
const isSubset = (sub, sup) => Object.entries(sub ?? {}).every(([k, v]) => sup?.[k] === v);

function diffPaths(a, b, at = '', out = []) {
  if (out.length > 20) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null || typeof a !== 'object') {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${at || '/'}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffPaths(a[k], b[k], `${at}/${k}`, out);
  return out;
}

function argValue(args, flag) {
  const i = (args ?? []).indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

const SIDECAR = 'dynamo-sidecar';

// ---------------------------------------------------------------------------------------------------
// k8s: schema validation of a rendered manifest set, and the cross-object facts that make it work

// kubernetes-models' schemas accept unknown fields; @kubernetes/client-node's type map knows every field
// of every built-in kind, so a misspelt or misplaced key (`readinesProbe`, `ports` under `env`) is caught.
let clientModels;
function unknownFields(obj, type, at, out) {
  if (obj == null) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(obj)) out.push(`${at}: not a list`);
    else obj.forEach((x, i) => unknownFields(x, m[1], `${at}[${i}]`, out));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof obj !== 'object' || Array.isArray(obj)) out.push(`${at}: not a map`);
    else for (const [k, v] of Object.entries(obj)) unknownFields(v, m[1], `${at}.${k}`, out);
    return;
  }
  const cls = clientModels?.[type];
  if (!cls?.attributeTypeMap) return; // a scalar, IntOrString, Date or free-form object
  if (typeof obj !== 'object' || Array.isArray(obj)) { out.push(`${at}: not an object (${type})`); return; }
  const attrs = new Map(cls.attributeTypeMap.map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(obj)) {
    if (!attrs.has(k)) out.push(`${at}.${k}: unknown field of ${type}`);
    else unknownFields(v, attrs.get(k), `${at}.${k}`, out);
  }
}

function validateModel(obj, where) {
  if (clientModels && obj.apiVersion && !obj.apiVersion.includes('.')) {
    const out = [];
    unknownFields(obj, `V1${obj.kind}`, obj.kind, out);
    out.forEach((u) => problem(`${where}: ${u}`));
  }
  const models = {
    'apps/v1/Deployment': Deployment,
    'v1/Service': Service,
    'v1/ConfigMap': ConfigMap,
    'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  };
  const Model = models[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return problem(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (e) {
    problem(`${where}: ${e.message}`);
  }
}

// Sidecar:DrainTimeout as .NET binds a TimeSpan ("[d.]hh:mm:ss"); unset means the sidecar's default, 150 s.
function drainSeconds(value, where) {
  if (value == null) return 150;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(String(value));
  if (!m) { problem(`${where}: Sidecar__DrainTimeout "${value}" is not [d.]hh:mm:ss`); return 0; }
  return ((Number(m[1] ?? 0) * 24 + Number(m[2])) * 60 + Number(m[3])) * 60 + Number(m[4]);
}

function restrictive(sc, podSc, where) {
  const get = (k) => sc?.[k] ?? podSc?.[k];
  if (get('runAsNonRoot') !== true) problem(`${where}: runAsNonRoot is not true`);
  if (sc?.readOnlyRootFilesystem !== true) problem(`${where}: readOnlyRootFilesystem is not true`);
  if (sc?.allowPrivilegeEscalation !== false) problem(`${where}: allowPrivilegeEscalation is not false`);
  if (!(sc?.capabilities?.drop ?? []).includes('ALL')) problem(`${where}: capabilities.drop lacks ALL`);
  if (get('seccompProfile')?.type !== 'RuntimeDefault') problem(`${where}: seccompProfile is not RuntimeDefault`);
  if (sc?.privileged === true) problem(`${where}: privileged`);
}

function analyse(file, { configFile } = {}) {
  const objs = readYamlDocs(file);
  const byKind = (k) => objs.filter((o) => o.kind === k);
  objs.forEach((o) => validateModel(o, `${o.kind}/${o.metadata?.name}`));

  const [dep, ...moreDeps] = byKind('Deployment');
  if (!dep) fail('no Deployment rendered');
  if (moreDeps.length) problem('more than one Deployment rendered');
  const svcs = byKind('Service');
  const cms = byKind('ConfigMap');
  const pms = byKind('PodMonitor');
  if (svcs.length !== 1) problem(`expected 1 Service, got ${svcs.length}`);
  if (cms.length !== 1) problem(`expected 1 ConfigMap, got ${cms.length}`);
  if (pms.length !== 1) problem(`expected 1 PodMonitor, got ${pms.length}`);

  const tpl = dep.spec.template;
  const pod = tpl.spec;
  const podLabels = tpl.metadata?.labels ?? {};
  const where = `Deployment/${dep.metadata.name}`;
  if (!isSubset(dep.spec.selector?.matchLabels, podLabels)) problem(`${where}: selector does not match the pod labels`);

  const names = pod.containers.map((c) => c.name);
  if (new Set(names).size !== names.length) problem(`${where}: duplicate container names`);
  const ports = pod.containers.flatMap((c) => (c.ports ?? []).map((p) => ({ ...p, container: c.name })));
  const portNames = ports.map((p) => p.name).filter(Boolean);
  if (new Set(portNames).size !== portNames.length) problem(`${where}: duplicate port names in the pod`);
  const portByName = Object.fromEntries(ports.filter((p) => p.name).map((p) => [p.name, p]));

  const sidecar = pod.containers.find((c) => c.name === SIDECAR);
  if (!sidecar) fail(`${where}: no ${SIDECAR} container`);
  const workers = pod.containers.filter((c) => c.name !== SIDECAR);
  if (workers.length !== 1) problem(`${where}: expected one worker container besides the sidecar`);
  const worker = workers[0];

  for (const c of pod.containers) {
    const w = `${where} container ${c.name}`;
    restrictive(c.securityContext, pod.securityContext, w);
    if (!c.resources?.requests || !Object.keys(c.resources.requests).length) problem(`${w}: no resource requests`);
    if (!c.resources?.limits?.memory) problem(`${w}: no memory limit`);
    if (!c.lifecycle?.preStop) problem(`${w}: no preStop hook`);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const port = c[probe]?.httpGet?.port;
      if (typeof port === 'string' && !(c.ports ?? []).some((p) => p.name === port)) problem(`${w}: ${probe} port ${port} is not a port of this container`);
    }
  }

  // The sidecar: ports, probes, drain timing, config mount.
  if (portByName.http?.container !== SIDECAR) problem(`${where}: port "http" is not the sidecar's`);
  if (portByName.metrics?.container !== SIDECAR) problem(`${where}: port "metrics" is not the sidecar's`);
  const lp = sidecar.livenessProbe?.httpGet;
  const rp = sidecar.readinessProbe?.httpGet;
  if (lp?.path !== '/healthz' || lp?.port !== 'metrics') problem(`${where}: sidecar liveness is not GET /healthz on port metrics`);
  if (rp?.path !== '/readyz' || rp?.port !== 'metrics') problem(`${where}: sidecar readiness is not GET /readyz on port metrics`);
  const preStop = sidecar.lifecycle?.preStop?.sleep?.seconds ?? 0;
  if (!(preStop > 0)) problem(`${where}: sidecar preStop is not a sleep`);
  const shutdown = drainSeconds(sidecar.env?.find((e) => e.name === 'Sidecar__DrainTimeout')?.value, where);
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  if (!(grace > preStop + shutdown)) problem(`${where}: terminationGracePeriodSeconds ${grace} <= preStop ${preStop} + shutdown ${shutdown}`);

  const mount = (sidecar.volumeMounts ?? []).find((m) => m.mountPath === '/app/appsettings.Production.json');
  if (!mount?.subPath) fail(`${where}: sidecar does not mount /app/appsettings.Production.json with a subPath`);
  for (const c of pod.containers) {
    for (const m of c.volumeMounts ?? []) {
      if (!(pod.volumes ?? []).some((v) => v.name === m.name)) problem(`${where}: ${c.name} mounts undefined volume ${m.name}`);
    }
  }
  const vol = (pod.volumes ?? []).find((v) => v.name === mount.name);
  const cm = cms.find((c) => c.metadata.name === vol?.configMap?.name);
  if (!cm) fail(`${where}: volume ${mount.name} references ConfigMap ${vol?.configMap?.name}, which is not rendered`);
  const text = cm.data?.[mount.subPath];
  if (text == null) fail(`ConfigMap/${cm.metadata.name} has no key ${mount.subPath}`);
  let config;
  try { config = JSON.parse(text); } catch (e) { fail(`ConfigMap/${cm.metadata.name}: ${mount.subPath} is not JSON: ${e.message}`); }
  if (configFile) {
    const expected = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    const d = diffPaths(config, expected);
    if (d.length) problem(`ConfigMap/${cm.metadata.name} differs from ${configFile}: ${d.join('; ')}`);
  }

  // The config and the pod agree: listener ports, worker address, worker flags.
  const urls = config.Urls ?? config.urls;
  const proxyPort = urls ? Number(new URL(urls.split(';')[0].replace('+', '0.0.0.0').replace('*', '0.0.0.0')).port) : 8080;
  if (portByName.http?.containerPort !== proxyPort) problem(`sidecar listens on ${proxyPort} (config Urls) but port "http" is ${portByName.http?.containerPort}`);
  const adminPort = config.Sidecar?.AdminPort ?? 9464;
  if (portByName.metrics?.containerPort !== adminPort) problem(`Sidecar:AdminPort is ${adminPort} but port "metrics" is ${portByName.metrics?.containerPort}`);
  const ann = tpl.metadata?.annotations ?? {};
  if (ann['prometheus.io/scrape'] !== 'true' || Number(ann['prometheus.io/port']) !== adminPort) problem(`${where}: prometheus.io/scrape|port annotations do not name the admin port ${adminPort}`);
  const dests = Object.values(config.ReverseProxy?.Clusters?.worker?.Destinations ?? {});
  if (dests.length !== 1) problem(`sidecar config: expected one destination in cluster worker, got ${dests.length}`);
  if (worker) {
    const host = argValue(worker.args, '--host');
    const wport = argValue(worker.args, '--port');
    const addr = dests[0] && new URL(dests[0].Address);
    if (host !== '127.0.0.1') problem(`worker ${worker.name}: --host is ${host}, not 127.0.0.1 (only the sidecar may reach it)`);
    if (!addr || addr.hostname !== host || addr.port !== String(wport)) problem(`sidecar worker address ${dests[0]?.Address} is not the worker's --host ${host} --port ${wport}`);
    if (proxyPort === Number(wport)) problem(`sidecar and worker both listen on ${proxyPort}`);
    const image = worker.image ?? '';
    const cmd = [...(worker.command ?? []), ...(worker.args ?? [])];
    if (image.includes('vllm') && !cmd.includes('--enable-prompt-tokens-details')) problem('vLLM worker lacks --enable-prompt-tokens-details (no cached tokens in usage)');
    if (image.includes('sglang') && !cmd.includes('--enable-cache-report')) problem('SGLang worker lacks --enable-cache-report (no cached tokens in usage)');
    const gpu = worker.resources?.limits?.['nvidia.com/gpu'];
    if ((image.includes('vllm') || image.includes('sglang')) && !(Number(gpu) >= 1)) problem(`${image}: no nvidia.com/gpu limit`);
    if (image.includes('llama.cpp') && gpu != null) problem('llama.cpp (CPU) worker asks for a GPU');
  }

  for (const svc of svcs) {
    if (!isSubset(svc.spec.selector, podLabels) || !Object.keys(svc.spec.selector ?? {}).length) problem(`Service/${svc.metadata.name}: selector does not match the pod labels`);
    for (const p of svc.spec.ports ?? []) {
      if (p.targetPort !== 'http') problem(`Service/${svc.metadata.name}: port ${p.port} targets ${p.targetPort}, not the sidecar's port "http"`);
      if (p.name !== 'http') problem(`Service/${svc.metadata.name}: port ${p.port} is not named http`);
    }
  }
  for (const pm of pms) {
    if (!isSubset(pm.spec.selector?.matchLabels, podLabels)) problem(`PodMonitor/${pm.metadata.name}: selector does not match the pod labels`);
    for (const ep of pm.spec.podMetricsEndpoints ?? []) {
      if (ep.port !== 'metrics' || portByName[ep.port]?.container !== SIDECAR) problem(`PodMonitor/${pm.metadata.name}: endpoint port ${ep.port} is not the sidecar's "metrics"`);
      if ((ep.path ?? '/metrics') !== '/metrics') problem(`PodMonitor/${pm.metadata.name}: path ${ep.path}`);
    }
  }
  return { objs, dep, svcs, cms, pms, config, worker, sidecar };
}

function cmdK8s([file, ...rest]) {
  const configFile = rest[0] === '--config' ? rest[1] : undefined;
  const r = analyse(file, { configFile });
  const kinds = r.objs.map((o) => o.kind).sort().join(', ');
  finish(`${r.objs.length} objects valid against the schemas, no unknown field (${kinds}); worker ${r.worker?.image}${configFile ? `; config = ${path.basename(configFile)}` : ''}`);
}

// ---------------------------------------------------------------------------------------------------
// adoption: the component added to someone else's kustomization (see tools/validate-deploy.sh): the
// sidecar joins their Deployment, names follow their namePrefix, an opted-out Deployment is untouched.

function cmdAdoption([file]) {
  const objs = readYamlDocs(file);
  objs.forEach((o) => validateModel(o, `${o.kind}/${o.metadata?.name}`));
  const get = (kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
  const a = get('Deployment', 'team-inference');
  const b = get('Deployment', 'team-embedder');
  const cm = objs.find((o) => o.kind === 'ConfigMap' && /^team-dynamo-sidecar-config-[a-z0-9]+$/.test(o.metadata.name));
  if (!a || !b || !cm) fail(`expected Deployments team-inference, team-embedder and ConfigMap team-dynamo-sidecar-config-<hash>, got ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  const names = (d) => d.spec.template.spec.containers.map((c) => c.name);
  if (!names(a).includes(SIDECAR) || !names(a).includes('server')) problem(`team-inference containers: ${names(a)}`);
  if (names(b).includes(SIDECAR)) problem('team-embedder opted out (dynamo-sidecar/inject: "false") but got the sidecar');
  const vol = a.spec.template.spec.volumes?.find((v) => v.configMap);
  if (vol?.configMap.name !== cm.metadata.name) problem(`team-inference mounts ConfigMap ${vol?.configMap.name}, rendered ${cm.metadata.name}`);
  const pm = get('PodMonitor', 'team-dynamo-sidecar');
  if (!pm || !isSubset(pm.spec.selector.matchLabels, a.spec.template.metadata.labels)) problem('PodMonitor team-dynamo-sidecar missing or not selecting team-inference pods');
  if (isSubset(pm?.spec.selector.matchLabels, b.spec.template.metadata.labels)) problem('PodMonitor selects the opted-out Deployment');
  if (a.metadata.namespace !== 'team' || cm.metadata.namespace !== 'team' || pm?.metadata.namespace !== 'team') problem('namespace not applied to every object');
  finish('sidecar, ConfigMap and PodMonitor added to a foreign Deployment (namespace, namePrefix followed); opt-out honoured');
}

// ---------------------------------------------------------------------------------------------------
// compare: the Helm chart and kustomize render the same pod, Service, config and scrape endpoint

function normalise(file) {
  const r = analyse(file);
  const tpl = clone(r.dep.spec.template);
  const spec = tpl.spec;
  // Kustomize's strategic merges reorder lists; what counts is each item by its merge key.
  const byKey = (list, key) => (list ? Object.fromEntries(list.map((x) => [x[key], x])) : list);
  for (const v of spec.volumes ?? []) if (v.configMap) v.configMap.name = '<sidecar-config>';
  spec.volumes = byKey(spec.volumes, 'name');
  spec.containers = byKey(spec.containers.map((c) => ({
    ...c, env: byKey(c.env, 'name'), ports: byKey(c.ports, 'name'), volumeMounts: byKey(c.volumeMounts, 'mountPath'),
  })), 'name');
  const ann = { ...(tpl.metadata.annotations ?? {}) };
  delete ann['checksum/config'];
  const svc = r.svcs[0]?.spec ?? {};
  return {
    replicas: r.dep.spec.replicas,
    strategy: r.dep.spec.strategy,
    podAnnotations: ann,
    scrapeLabel: tpl.metadata.labels?.['dynamo-sidecar/scrape'],
    podSpec: spec,
    service: { type: svc.type, ports: svc.ports },
    config: r.config,
    podMetricsEndpoints: r.pms[0]?.spec.podMetricsEndpoints,
  };
}

function cmdCompare([a, b]) {
  const na = normalise(a);
  const nb = normalise(b);
  const d = diffPaths(na, nb);
  if (d.length) fail(`${path.basename(a)} and ${path.basename(b)} differ:\n  ${d.join('\n  ')}`);
  const c = Object.values(na.podSpec.containers);
  finish(`same pod (${c.map((x) => `${x.name}: ${x.image}`).join(', ')}), probes, ports, Service, config, scrape endpoint`);
}

// ---------------------------------------------------------------------------------------------------
// dockerfile: lint, the required shape, and an emulated build of its build stage on this machine

function parseDockerfile(file) {
  const content = fs.readFileSync(file, 'utf8');
  const df = DockerfileParser.parse(content);
  const stages = [];
  let argDefaults = {};
  for (const ins of df.getInstructions()) {
    const kw = ins.getKeyword();
    if (kw === 'ARG' && !stages.length) {
      for (const p of ins.getProperties()) argDefaults[p.getName()] = p.getValue() ?? '';
      continue;
    }
    if (kw === 'FROM') {
      const image = ins.getImage().replace(/\$\{?(\w+)\}?/g, (_, n) => argDefaults[n] ?? `\${${n}}`);
      stages.push({ image, name: ins.getBuildStage(), platform: ins.getPlatformFlag()?.getValue(), instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push(ins);
  }
  return { content, df, stages };
}

function cmdDockerfile([file]) {
  const { content, stages } = parseDockerfile(file);
  const diags = dockerfileUtils.validate(content, {});
  for (const d of diags) problem(`dockerfile-utils line ${d.range.start.line + 1}: ${d.message}`);
  if (stages.length !== 2) problem(`expected 2 stages, got ${stages.length}`);
  const [build, run] = stages;
  // Native AOT: the SDK image with the native toolchain builds; runtime-deps (no .NET runtime) runs the binary.
  if (build?.image !== 'mcr.microsoft.com/dotnet/sdk:10.0-noble-aot') problem(`build stage image ${build?.image} (want mcr.microsoft.com/dotnet/sdk:10.0-noble-aot)`);
  if (build?.platform) problem(`build stage FROM --platform=${build.platform}: Native AOT cannot cross-compile in a plain container`);
  if (run?.image !== 'mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled') problem(`runtime image ${run?.image} (want mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled)`);
  const kw = (st, k) => st.instructions.filter((i) => i.getKeyword() === k);
  const runs = kw(build, 'RUN').map((i) => i.getArgumentsContent());
  const restoreAt = runs.findIndex((r) => /dotnet restore/.test(r));
  const publishAt = runs.findIndex((r) => /dotnet publish src\/Dynamo\.Sidecar\b.*-c Release.*-o \/app/.test(r));
  if (restoreAt < 0 || publishAt < 0 || restoreAt > publishAt) problem('build stage must restore (its own layer) before `dotnet publish src/Dynamo.Sidecar -c Release -o /app`');
  // The publish uses the restore's assets, so both name the same runtime identifier (-r RID or -a ARCH).
  const rid = (r) => /\s(-r|--runtime|-a|--arch)[\s=](\S+)/.exec(r ?? '')?.slice(1, 3).join(' ');
  const publish = runs[publishAt];
  if (publish) {
    if (!/--no-restore/.test(publish)) problem('the publish restores again (no --no-restore): the restore layer is not what it builds from');
    if (!rid(runs[restoreAt]) || rid(runs[restoreAt]) !== rid(publish)) problem(`restore (${rid(runs[restoreAt]) ?? 'no runtime identifier'}) and publish (${rid(publish) ?? 'no runtime identifier'}) must name the same runtime identifier`);
    if (/UseAppHost=false|PublishAot=false/i.test(publish)) problem('the publish turns off the native executable (UseAppHost=false or PublishAot=false)');
  }
  if (!runs.some((r) => /\brm\b[^&;|]*\/app\/(Dynamo\.Sidecar|\*)\.dbg/.test(r)) && !/StripSymbols=false/.test(publish ?? '')) problem('the symbols file /app/Dynamo.Sidecar.dbg is not removed in the build stage: it would ship');
  const firstSourceCopy = build.instructions.findIndex((i) => i.getKeyword() === 'COPY'
    && i.getArguments().slice(0, -1).some((a) => ['.', './', 'src', 'src/', 'src/Dynamo.Sidecar', 'src/Dynamo.Sidecar/'].includes(a.getValue())));
  const restoreIdx = build.instructions.findIndex((i) => i.getKeyword() === 'RUN' && /dotnet restore/.test(i.getArgumentsContent()));
  if (!(restoreIdx >= 0 && firstSourceCopy > restoreIdx)) problem('the source tree is copied before the restore layer');
  const env = Object.fromEntries(kw(run, 'ENV').flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])));
  const want = {
    ASPNETCORE_URLS: 'http://+:8080', ASPNETCORE_HTTP_PORTS: '', Sidecar__AdminPort: '9464', DOTNET_EnableDiagnostics: '0',
    DOTNET_hostBuilder__reloadConfigOnChange: 'false',
  };
  for (const [k, v] of Object.entries(want)) if (env[k] !== v) problem(`runtime ENV ${k}=${env[k]} (want ${JSON.stringify(v)})`);
  const expose = kw(run, 'EXPOSE').flatMap((i) => i.getArgumentsContent().split(/\s+/));
  for (const p of ['8080', '9464']) if (!expose.includes(p)) problem(`EXPOSE lacks ${p}`);
  const user = kw(run, 'USER').at(-1)?.getArgumentsContent();
  if (user !== '$APP_UID') problem(`USER is ${user}, not $APP_UID`);
  const ep = kw(run, 'ENTRYPOINT').at(-1);
  let entry;
  try { entry = JSON.parse(ep?.getArgumentsContent() ?? ''); } catch { problem('ENTRYPOINT is not in exec (JSON) form'); }
  if (JSON.stringify(entry) !== JSON.stringify(['/app/Dynamo.Sidecar'])) problem(`ENTRYPOINT ${JSON.stringify(entry)} (want ["/app/Dynamo.Sidecar"])`);
  finish(`dockerfile-utils: ${diags.length} diagnostics; 2 stages (${stages.map((s) => s.image).join(' -> ')}), restore layer first, same runtime identifier, no .dbg, USER $APP_UID, EXPOSE 8080 9464, ENTRYPOINT ${JSON.stringify(entry)}`);
}

// The runtime's DOTNET_* settings are hex numbers; the JIT runtime accepts a `0x` prefix, the Native AOT runtime
// silently ignores a value that has one (DOTNET_GCgen0size=0x200000 left the gen0 budget at its default).
function hexPrefixed(entries, where) {
  return entries.filter(([k, v]) => /^DOTNET_/i.test(k) && /^\s*0x/i.test(String(v ?? '')))
    .map(([k, v]) => `${where}: ${k}=${v}: the Native AOT runtime ignores a 0x prefix (write the hex digits alone)`);
}

// gc-settings: no DOTNET_* value with a 0x prefix in the Dockerfile's ENV, the helm values or any rendered manifest
// (the one check of that rule: the image's ENV is the Dockerfile's); the image, every sidecar container that sets
// one of the runtime settings the sidecar ships with (GC, inline socket completions), ./run.sh and
// bench/runtime-env.sh (the list the benchmarks, the soak and the tests' sidecar processes use) set the same values,
// and that list has every one the image sets.
function cmdGcSettings([dockerfile, values, ...manifests]) {
  const { stages } = parseDockerfile(dockerfile);
  const envs = stages.flatMap((st) => st.instructions.filter((i) => i.getKeyword() === 'ENV')
    .flatMap((i) => i.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])));
  hexPrefixed(envs, path.basename(dockerfile)).forEach(problem);
  const gc = (entries) => entries.filter(([k]) => /^DOTNET_(GC|SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS$)/i.test(k));
  const seen = gc(envs).map(([k, v]) => `${k}=${v}`);
  const v = parseYaml(fs.readFileSync(values, 'utf8'));
  const helmGen0 = v?.sidecar?.gcGen0Size;
  if (helmGen0 == null) problem(`${values}: no sidecar.gcGen0Size`);
  hexPrefixed([['DOTNET_GCgen0size', helmGen0], ...(v?.sidecar?.extraEnv ?? []).map((e) => [e.name, e.value])], `${values} sidecar`).forEach(problem);
  let containers = 0;
  for (const file of manifests) {
    for (const o of readYamlDocs(file)) {
      for (const c of o.spec?.template?.spec?.containers ?? []) {
        const env = (c.env ?? []).map((e) => [e.name, e.value]);
        containers += 1;
        hexPrefixed(env, `${path.basename(file)} ${o.kind}/${o.metadata?.name} container ${c.name}`).forEach(problem);
        if (c.name === SIDECAR) gc(env).forEach(([k, val]) => seen.push(`${k}=${val}`));
      }
    }
  }
  const repo = path.dirname(path.resolve(dockerfile));
  const runSh = [...fs.readFileSync(path.join(repo, 'run.sh'), 'utf8').matchAll(/^export (DOTNET_\w+)=\$\{\1:-([^}]*)\}$/gm)]
    .map((m) => [m[1], m[2]]);
  gc(runSh).forEach(([k, val]) => seen.push(`${k}=${val}`));
  const listed = /^runtime_env=\(([^)]*)\)$/m.exec(fs.readFileSync(path.join(repo, 'bench/runtime-env.sh'), 'utf8'));
  if (!listed) problem('bench/runtime-env.sh: no runtime_env=(NAME=value ...) line');
  const benchEnv = (listed?.[1] ?? '').split(/\s+/).filter(Boolean).map((pair) => pair.split('='));
  gc(benchEnv).forEach(([k, val]) => seen.push(`${k}=${val}`));
  for (const [k] of gc(envs)) {
    if (!benchEnv.some(([name]) => name === k)) problem(`the image sets ${k}, bench/runtime-env.sh does not (the tests and benchmarks would run without it)`);
    if (!runSh.some(([name]) => name === k)) problem(`the image sets ${k}, run.sh does not`);
  }
  const distinct = [...new Set(seen)];
  const names = [...new Set(distinct.map((x) => x.split('=')[0]))];
  for (const name of names) {
    const values = distinct.filter((x) => x.split('=')[0] === name);
    if (values.length > 1) problem(`the image, the manifests, run.sh and bench/runtime-env.sh set ${name} differently: ${values.join(', ')}`);
  }
  if (!distinct.includes('DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1')) problem('no DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 in the image or the manifests');
  finish(`GC and socket settings in ENV/deploy/helm have no 0x prefix (the AOT runtime ignores it): ${distinct.join(', ')} in the image, helm values, ${containers} containers of ${manifests.length} manifests, run.sh and bench/runtime-env.sh`);
}

// Files of the build context, as `docker build .` would send them (.dockerignore applied).
function buildContext(repo) {
  const ignoreFile = path.join(repo, '.dockerignore');
  const lines = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8').split('\n') : [];
  const ig = dockerignore({ ignorecase: false }).add(lines);
  const negations = lines.map((l) => l.trim()).filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/^\/+/, ''));
  const files = [];
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(repo, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        const mayHoldExceptions = negations.some((n) => n.startsWith(`${p}/`) || n === p || n === `${p}/`);
        if (ig.ignores(p) && !mayHoldExceptions) continue;
        walk(p);
      } else if (!ig.ignores(p)) {
        files.push(p);
      }
    }
  };
  walk('');
  return files;
}

function copyInto(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(src, dest, { recursive: true });
}

// Runs the build stage of the Dockerfile here (absolute paths of the image mapped under <out>/build),
// then assembles the runtime stage's WORKDIR under <out>/runtime; writes <out>/image.json.
function cmdEmulate([repo, out]) {
  const { stages } = parseDockerfile(path.join(repo, 'Dockerfile'));
  const files = buildContext(repo);
  const ctx = path.join(out, 'context');
  for (const f of files) copyInto(path.join(repo, f), path.join(ctx, f));
  const leaked = files.filter((f) => /(^|\/)(bin|obj|node_modules|\.git)\//.test(f) || /^(tests|tools|deploy|docs|config)\//.test(f));
  if (leaked.length) problem(`build context holds files it should not: ${leaked.slice(0, 5).join(', ')}`);
  if (files.length > 400) problem(`build context has ${files.length} files`);
  console.log(`build context: ${files.length} files`);

  const [build, runtime] = [stages[0], stages.at(-1)];
  const buildRoot = path.join(out, 'build');
  const runtimeRoot = path.join(out, 'runtime');
  // Absolute image paths used by the build stage and copied from it.
  const imagePaths = new Set();
  for (const st of stages) for (const i of st.instructions) {
    if (i.getKeyword() === 'WORKDIR') imagePaths.add(i.getArgumentsContent().trim());
    if (i.getKeyword() === 'COPY' && i.getFromFlag()) i.getArguments().slice(0, -1).forEach((a) => imagePaths.add(a.getValue()));
  }
  const map = (root, p) => path.join(root, p);
  const rewrite = (cmd) => cmd.replace(/(^|[\s=])(\/[\w.-]+)(?=[\s/]|$)/g, (m, pre, p) => (imagePaths.has(p) ? `${pre}${map(buildRoot, p)}` : m));

  let cwd = buildRoot;
  const env = { ...process.env };
  // The platform arguments BuildKit sets: this machine's, as the build stage runs on the target platform.
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  const platformArgs = { TARGETARCH: arch, TARGETOS: 'linux', TARGETPLATFORM: `linux/${arch}`, BUILDARCH: arch, BUILDOS: 'linux', BUILDPLATFORM: `linux/${arch}` };
  for (const i of build.instructions) {
    const kw = i.getKeyword();
    if (kw === 'ARG') for (const p of i.getProperties()) env[p.getName()] = platformArgs[p.getName()] ?? p.getValue() ?? '';
    else if (kw === 'WORKDIR') { cwd = map(buildRoot, i.getArgumentsContent().trim()); fs.mkdirSync(cwd, { recursive: true }); }
    else if (kw === 'ENV') for (const p of i.getProperties()) env[p.getName()] = p.getValue() ?? '';
    else if (kw === 'COPY') {
      if (i.getFromFlag()) fail('COPY --from in the build stage is not emulated');
      const args = i.getArguments().map((a) => a.getValue());
      const dest = args.pop();
      const destAbs = dest.startsWith('/') ? map(buildRoot, dest) : path.join(cwd, dest);
      for (const s of args) {
        const from = path.join(ctx, s);
        if (!fs.existsSync(from)) fail(`COPY ${s}: not in the build context (.dockerignore?)`);
        const isDir = fs.statSync(from).isDirectory();
        const target = isDir || !dest.endsWith('/') && args.length === 1 && !fs.existsSync(destAbs) ? destAbs : path.join(destAbs, path.basename(s));
        if (isDir) fs.cpSync(from, target, { recursive: true }); else copyInto(from, dest.endsWith('/') || args.length > 1 ? path.join(destAbs, path.basename(s)) : target);
      }
    } else if (kw === 'RUN') {
      const cmd = rewrite(i.getArgumentsContent());
      console.log(`RUN ${cmd}`);
      const r = spawnSync('bash', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) fail(`RUN ${i.getArgumentsContent()} failed (${r.status}):\n${(r.stdout + r.stderr).slice(-4000)}`);
    } else if (kw !== 'LABEL') fail(`build stage: ${kw} is not emulated`);
  }

  let workdir = '/';
  const imageEnv = {};
  let entrypoint; let user; const expose = [];
  for (const i of runtime.instructions) {
    const kw = i.getKeyword();
    if (kw === 'WORKDIR') workdir = i.getArgumentsContent().trim();
    else if (kw === 'ENV') for (const p of i.getProperties()) imageEnv[p.getName()] = p.getValue() ?? '';
    else if (kw === 'COPY') {
      if (!i.getFromFlag()) fail('runtime stage copies from the context: not emulated');
      const args = i.getArguments().map((a) => a.getValue());
      const dest = args.pop();
      const destAbs = map(runtimeRoot, dest.startsWith('/') ? dest : path.join(workdir, dest));
      for (const s of args) fs.cpSync(map(buildRoot, s), destAbs, { recursive: true });
    } else if (kw === 'ENTRYPOINT') entrypoint = JSON.parse(i.getArgumentsContent());
    else if (kw === 'USER') user = i.getArgumentsContent().trim();
    else if (kw === 'EXPOSE') expose.push(...i.getArgumentsContent().split(/\s+/));
  }
  const appDir = map(runtimeRoot, workdir);
  // The ENTRYPOINT is the Native AOT executable itself: a native ELF file, executable by the image's user (not
  // root: others' x bit), needing no .NET runtime library; no managed assembly, host file or symbols file ships.
  const exe = entrypoint?.[0];
  const exePath = exe && map(runtimeRoot, exe.startsWith('/') ? exe : path.join(workdir, exe));
  const stat = exePath && fs.existsSync(exePath) ? fs.statSync(exePath) : null;
  if (!stat?.isFile()) problem(`image lacks the ENTRYPOINT's ${exe}`);
  else {
    if ((stat.mode & 0o005) !== 0o005) problem(`${exe} is not readable and executable by UID 1654 (mode ${(stat.mode & 0o777).toString(8)})`);
    const magic = Buffer.alloc(4);
    const fd = fs.openSync(exePath, 'r');
    fs.readSync(fd, magic, 0, 4, 0);
    fs.closeSync(fd);
    if (!magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) problem(`${exe} is not a native (ELF) executable`);
  }
  let needed = [];
  const readelf = stat?.isFile() ? spawnSync('readelf', ['-d', exePath], { encoding: 'utf8' }) : null;
  if (readelf?.status === 0) {
    needed = [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    const runtimeLibs = needed.filter((l) => /coreclr|hostfxr|hostpolicy|clrjit/.test(l));
    if (runtimeLibs.length) problem(`${exe} links the .NET runtime: ${runtimeLibs.join(', ')}`);
  }
  if (!fs.existsSync(path.join(appDir, 'appsettings.json'))) problem(`image ${workdir} lacks appsettings.json`);
  const shipped = fs.readdirSync(appDir, { recursive: true });
  const jitBits = shipped.filter((f) => /\.(dll|dbg|pdb)$|\.(runtimeconfig|deps)\.json$/.test(f));
  if (jitBits.length) problem(`image ${workdir} holds files of a framework-dependent build or symbols: ${jitBits.slice(0, 8).join(', ')}`);
  const size = spawnSync('du', ['-sh', appDir], { encoding: 'utf8' }).stdout.split('\t')[0];
  fs.writeFileSync(path.join(out, 'image.json'), JSON.stringify({ appDir, workdir, env: imageEnv, entrypoint, exePath, user, expose }, null, 2));
  finish(`image ${workdir} ${size}: ${shipped.join(', ')}; ENTRYPOINT ${JSON.stringify(entrypoint)} a native executable (needs ${needed.join(', ') || '?'}), no .dll/.dbg`);
}

// ---------------------------------------------------------------------------------------------------
// smoke: the published output, with the image's ENV, as UID 1654 on a read-only root filesystem,
// with each sidecar config, in front of a fake OpenAI worker on loopback

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function fakeWorker() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/health') { res.writeHead(200); res.end(); return; }
      // vLLM's model list: the sidecar's readiness probe reads it for model_ready and model_context_length.
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'smoke-model', object: 'model', created: 1, owned_by: 'vllm', root: 'smoke-model', parent: null, max_model_len: 4096, permission: [] }] }));
        return;
      }
      if (req.method === 'POST' && req.url.startsWith('/v1/embeddings')) {
        const r = JSON.parse(body);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: 'embd-smoke', object: 'list', created: 1, model: r.model, data: [{ index: 0, object: 'embedding', embedding: [0.125, -0.5] }], usage: { prompt_tokens: 3, total_tokens: 3, completion_tokens: 0, prompt_tokens_details: null } }));
        return;
      }
      if (req.method !== 'POST' || !req.url.startsWith('/v1/chat/completions')) { res.writeHead(404); res.end(); return; }
      const r = JSON.parse(body);
      const n = r.max_tokens ?? 5;
      // A reasoning model's usage: reasoning_tokens feeds dynamo_frontend_reasoning_tokens.
      const usage = { prompt_tokens: 12, completion_tokens: n, total_tokens: 12 + n, prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: Math.min(2, n) } };
      const base = { id: 'chatcmpl-smoke', object: 'chat.completion.chunk', created: 1, model: r.model };
      if (!r.stream) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok '.repeat(n) }, finish_reason: 'length' }], usage }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      let i = 0;
      const send = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      const tick = setInterval(() => {
        if (res.destroyed) { clearInterval(tick); return; }
        i += 1;
        send({ ...base, choices: [{ index: 0, delta: { content: ` t${i}` }, finish_reason: i === n ? 'length' : null }] });
        if (i === n) {
          clearInterval(tick);
          if (r.stream_options?.include_usage) send({ ...base, choices: [], usage });
          res.end('data: [DONE]\n\n');
        }
      }, n > 20 ? 100 : 10);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function fetchText(url, opts = {}) {
  const r = await fetch(url, { ...opts, signal: opts.signal ?? AbortSignal.timeout(10000) });
  return { status: r.status, text: await r.text() };
}

async function waitFor(fn, ms, what) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try { if (await fn()) return; } catch (e) { if (e instanceof CheckError) throw e; last = e; }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`${what} within ${ms / 1000}s${last ? ` (${last.message})` : ''}`);
}

const which = (cmd) => spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

function sandboxAvailable() {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -o remount,bind,ro / && ! touch /.ro-probe 2>/dev/null && setpriv --reuid=1654 --regid=1654 --clear-groups true'], { stdio: 'ignore' });
  return r.status === 0;
}

// This machine's .NET installations (a directory with shared/Microsoft.NETCore.App): the sandboxed smoke run hides
// them under an empty tmpfs, as the runtime-deps image has none.
function dotnetRoots() {
  const dirs = new Set(['/usr/share/dotnet', '/usr/lib/dotnet', '/usr/local/share/dotnet', '/opt/dotnet', process.env.DOTNET_ROOT]);
  const onPath = which('dotnet');
  if (onPath) dirs.add(path.dirname(fs.realpathSync(onPath)));
  return [...dirs].filter((d) => d && fs.existsSync(path.join(d, 'shared', 'Microsoft.NETCore.App')) && !/['\\]/.test(d))
    .map((d) => fs.realpathSync(d));
}

// PATH as in the image: none of its directories holds a `dotnet`.
const pathWithoutDotnet = () => (process.env.PATH ?? '').split(':').filter((d) => d && !fs.existsSync(path.join(d, 'dotnet'))).join(':');

// Starts the image's ENTRYPOINT with the image's ENV (plus `env`), on loopback, with `configFile` as
// appsettings.Production.json; sandboxed: as UID 1654 on a read-only root with the .NET installations hidden.
async function startSidecar(image, configFile, worker, sandboxed, env = {}) {
  fs.copyFileSync(configFile, path.join(image.appDir, 'appsettings.Production.json'));
  spawnSync('chmod', ['-R', 'a+rX', path.dirname(path.dirname(image.appDir))]);
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const [proxy, admin] = [await freePort(), await freePort()];
  const workerUrl = `http://127.0.0.1:${worker.address().port}`;
  // Every destination goes to the fake worker on loopback (never to the addresses in the file).
  const dests = Object.entries(config.ReverseProxy.Clusters)
    .flatMap(([c, cl]) => Object.keys(cl.Destinations ?? {}).map((d) => `--ReverseProxy:Clusters:${c}:Destinations:${d}:Address=${workerUrl}`));
  // Attribution on, so the dashboard's per-tenant panels find their families (tenant="none" here).
  const args = [...image.entrypoint.slice(1), `--urls=http://127.0.0.1:${proxy}`, `--Sidecar:AdminPort=${admin}`, '--Sidecar:AdminAddress=127.0.0.1',
    '--Sidecar:Attribution:FromBody=true', ...dests];
  // The runtime-deps image's own ENV, then the Dockerfile's.
  const fullEnv = {
    PATH: pathWithoutDotnet(), HOME: '/home/app', APP_UID: '1654', DOTNET_RUNNING_IN_CONTAINER: 'true', ASPNETCORE_HTTP_PORTS: '8080',
    ...image.env, ...env,
  };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const hidden = sandboxed ? dotnetRoots() : [];
  const mount = which('mount'); // absolute: PATH has no dotnet, so perhaps no /usr/bin either
  const script = [...hidden.map((d) => `${mount} -t tmpfs -o ro,mode=755 tmpfs '${d}'`), `${mount} -o remount,bind,ro /`,
    `exec ${which('setpriv')} --reuid=1654 --regid=1654 --clear-groups -- "$@"`].join(' && ');
  const cmd = sandboxed
    ? [which('unshare'), ['-m', '--propagation', 'private', which('sh'), '-c', script, 'sh', image.exePath, ...args]]
    : [image.exePath, args];
  const child = spawn(cmd[0], cmd[1], { cwd: image.appDir, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { name: path.basename(configFile), child, hidden, base: `http://127.0.0.1:${admin}`, proxyBase: `http://127.0.0.1:${proxy}`, log: '', exited: null };
  child.stdout.on('data', (d) => { run.log += d; });
  child.stderr.on('data', (d) => { run.log += d; });
  child.on('exit', (code, sig) => { run.exited = `${code ?? sig}`; });
  child.on('error', (e) => { run.exited = e.message; });
  run.stop = async () => {
    const t0 = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => { if (run.exited) r(); else { child.on('exit', r); setTimeout(() => { child.kill('SIGKILL'); r(); }, 10000).unref(); } });
    if (Date.now() - t0 > 5000) console.log(`  ${run.name}: slow to stop on SIGTERM (${Date.now() - t0} ms)`);
    fs.rmSync(path.join(image.appDir, 'appsettings.Production.json'), { force: true });
  };
  try {
    await waitFor(async () => { if (run.exited) fail(`${run.name}: the sidecar exited (${run.exited})`); return (await fetchText(`${run.base}/healthz`)).status === 200; }, 30000, `${run.name}: /healthz 200`);
  } catch (e) {
    await run.stop();
    e.message += `\n--- sidecar log (${run.name}) ---\n${run.log.slice(-3000)}`;
    throw e;
  }
  return run;
}

// The process is the image's native executable with no .NET runtime loaded (and, sandboxed, none to load).
function assertNoRuntime(run, image) {
  const pid = run.child.pid;
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  if (exe !== fs.realpathSync(image.exePath)) fail(`${run.name}: the process runs ${exe}, not the image's ${image.exePath}`);
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  const loaded = [...new Set(maps.match(/\S*(libcoreclr|libclrjit|libhostfxr|libhostpolicy|System\.Private\.CoreLib)\S*/g) ?? [])];
  if (loaded.length) fail(`${run.name}: the process loaded the .NET runtime: ${loaded.join(', ')}`);
  if (run.hidden.length) {
    const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => ({ at: l.split(' ')[4], fs: l.split(' - ')[1]?.split(' ')[0] }));
    for (const d of run.hidden) if (!mounts.some((m) => m.at === d && m.fs === 'tmpfs')) fail(`${run.name}: ${d} is not hidden (no tmpfs over it)`);
  }
}

async function smokeOne(image, configFile, worker, sandboxed) {
  const run = await startSidecar(image, configFile, worker, sandboxed);
  const { name, child, base, proxyBase } = run;
  try {
    await waitFor(async () => (await fetchText(`${base}/readyz`)).status === 200, 15000, `${name}: /readyz 200 with the worker up`);
    // The admin listener starts before the proxy listener: wait for the proxy too (GET /health passes through).
    await waitFor(async () => (await fetchText(`${proxyBase}/health`)).status === 200, 15000, `${name}: the proxy port forwarding GET /health`);
    if (sandboxed) {
      const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      const root = fs.readFileSync(`/proc/${child.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      if (uid !== '1654' || !/(^|,)ro(,|$)/.test(root?.split(' ')[5] ?? '')) fail(`${name}: sandbox not in effect (uid ${uid}, root ${root})`);
    }
    assertNoRuntime(run, image);
    const post = (body, signal) => fetchText(`${proxyBase}/v1/chat/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal,
    });
    const msg = [{ role: 'user', content: 'hi' }];
    const s = await post({ model: 'smoke-model', stream: true, max_tokens: 5, messages: msg });
    if (s.status !== 200 || !s.text.includes('[DONE]') || s.text.includes('"usage":{')) fail(`${name}: streamed request: ${s.status} ${s.text.slice(0, 300)}`);
    const u = await post({ model: 'smoke-model', max_tokens: 3, messages: msg });
    if (u.status !== 200) fail(`${name}: unary request: ${u.status}`);
    const e = await fetchText(`${proxyBase}/v1/embeddings`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'smoke-model', input: 'hi' }),
    });
    if (e.status !== 200 || !e.text.includes('"embedding"')) fail(`${name}: embeddings request: ${e.status} ${e.text.slice(0, 300)}`);
    const ac = new AbortController();
    const slow = post({ model: 'smoke-model', stream: true, max_tokens: 100, messages: msg }, ac.signal).catch(() => null);
    await new Promise((r) => setTimeout(r, 400));
    ac.abort();
    await slow;
    const p = await fetchText(`${proxyBase}/anything/else`);
    if (p.status !== 404) fail(`${name}: pass-through of an unmetered path answered ${p.status}, the worker 404`);
    let metrics = '';
    await waitFor(async () => {
      metrics = (await fetchText(`${base}/metrics`)).text;
      return /dynamo_frontend_model_cancellation_total\{[^}]*model="smoke-model"[^}]*\} 1/.test(metrics)
        && /dynamo_frontend_inflight_requests\{model="smoke-model"\} 0/.test(metrics)
        && /dynamo_frontend_model_ready\{model="smoke-model"\} 1/.test(metrics);
    }, 10000, `${name}: /metrics shows the cancelled request, no request in flight and the worker's model ready`);
    if (!/dynamo_frontend_model_context_length\{model="smoke-model"\} 4096/.test(metrics)) fail(`${name}: model_context_length is not the worker's max_model_len 4096`);
    const tokens = Number(/dynamo_frontend_output_tokens_total\{model="smoke-model"\} (\S+)/.exec(metrics)?.[1]);
    if (!(tokens >= 8)) fail(`${name}: output_tokens_total ${tokens}, want >= 8`);
    if (!/dynamo_frontend_cached_sequence_length_sum\{model="smoke-model"\} 16/.test(metrics)) fail(`${name}: cached_sequence_length_sum is not 16`);
    if ((await fetchText(`${proxyBase}/metrics`)).text.includes('dynamo_frontend_')) fail(`${name}: the proxy port serves the sidecar's metrics`);
    if (run.exited) fail(`${name}: exited (${run.exited})`);
    const bad = run.log.split('\n').filter((l) => /^(fail|crit):|Read-only file system|UnauthorizedAccess|Permission denied/.test(l));
    if (bad.length) fail(`${name}: ${bad.slice(0, 5).join(' | ')}`);
    return { metrics, tokens };
  } catch (e) {
    e.message += `\n--- sidecar log (${name}) ---\n${run.log.slice(-3000)}`;
    throw e;
  } finally {
    await run.stop();
  }
}

// The image's DOTNET_GCgen0size takes effect: over the same scrapes the sidecar collects gen0 more often with it
// than without it (the default budget follows the L3 cache, tens of MiB). A value the runtime ignores (the Native
// AOT runtime ignores a 0x prefix) collects as often as none.
async function gen0Effect(image, configFile, worker, sandboxed) {
  const value = image.env.DOTNET_GCgen0size;
  if (value == null) return 'no DOTNET_GCgen0size in the image';
  const gen0 = async (env) => {
    const run = await startSidecar(image, configFile, worker, sandboxed, env);
    try {
      const count = async () => Number(/^dotnet_collection_count_total\{generation="0"\} (\S+)/m.exec((await fetchText(`${run.base}/metrics`)).text)?.[1]);
      const before = await count();
      for (let i = 0; i < 500; i++) await fetchText(`${run.base}/metrics`);
      const n = (await count()) - before;
      if (!Number.isFinite(n)) fail(`${run.name}: no dotnet_collection_count_total{generation="0"} in /metrics`);
      return n;
    } catch (e) {
      e.message += `\n--- sidecar log (${run.name}) ---\n${run.log.slice(-3000)}`;
      throw e;
    } finally {
      await run.stop();
    }
  };
  const withIt = await gen0(undefined);
  const without = await gen0({ DOTNET_GCgen0size: undefined });
  if (!(withIt > without)) fail(`DOTNET_GCgen0size=${value} has no effect: ${withIt} gen0 collections over 500 scrapes, ${without} without it`);
  return `DOTNET_GCgen0size=${value} in effect (${withIt} gen0 collections over 500 scrapes, ${without} without it)`;
}

async function cmdSmoke([imageJson, metricsOut, ...configs]) {
  const image = JSON.parse(fs.readFileSync(imageJson, 'utf8'));
  const sandboxed = sandboxAvailable();
  const worker = await fakeWorker();
  let gc;
  try {
    for (const [i, c] of configs.entries()) {
      const t0 = Date.now();
      let r;
      try {
        r = await smokeOne(image, c, worker, sandboxed);
      } catch (e) {
        // A free port taken by another process between the probe and the bind: try once more.
        if (!/address already in use/i.test(e.message)) throw e;
        r = await smokeOne(image, c, worker, sandboxed);
      }
      if (i === 0 && metricsOut && metricsOut !== '-') fs.writeFileSync(metricsOut, r.metrics);
      console.log(`  ${path.basename(c)}: healthz, readyz, stream, unary, embeddings, cancel, pass-through, model gauges, metrics, no .NET runtime loaded ok (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    }
    gc = await gen0Effect(image, configs[0], worker, sandboxed);
    console.log(`  ${gc}`);
  } finally {
    worker.closeAllConnections();
    worker.close();
  }
  const how = sandboxed ? ` as UID 1654 on a read-only root filesystem with ${dotnetRoots().join(', ') || 'no .NET installation'} hidden` : ' (NOT sandboxed: needs root, unshare and setpriv)';
  finish(`${configs.length} configs served traffic from ${image.entrypoint[0]}${how}, PATH without dotnet, no libcoreclr mapped, with the image's ENV; ${gc}`);
}

// ---------------------------------------------------------------------------------------------------
// metric-names: every dynamo_frontend_* name in the rules and the dashboard is exported by the sidecar

function exportedNames(metricsFile) {
  const names = new Set();
  for (const line of fs.readFileSync(metricsFile, 'utf8').split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      names.add(t[1]);
      if (t[2] === 'histogram') ['_bucket', '_sum', '_count'].forEach((s) => names.add(t[1] + s));
      if (t[2] === 'summary') ['_sum', '_count'].forEach((s) => names.add(t[1] + s));
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

const identifiers = (expr) => expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];

function dashboardExprs(file) {
  const dash = JSON.parse(fs.readFileSync(file, 'utf8'));
  const exprs = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && q) exprs.push({ panel: `variable ${v.name}`, expr: q.replace(/^label_values\((.*),\s*\w+\)$/, '$1') });
  }
  return { dash, exprs };
}

function ruleExprs(file) {
  const doc = parseYaml(fs.readFileSync(file, 'utf8'));
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ rule: r.record ?? r.alert, record: r.record, expr: r.expr })));
}

function cmdMetricNames([metricsFile, rulesFile, dashboardFile]) {
  const exported = exportedNames(metricsFile);
  const families = [...exported].filter((n) => n.startsWith('dynamo_frontend_'));
  if (!families.length) fail(`${metricsFile} has no dynamo_frontend_* metric: not the sidecar's /metrics?`);
  const rules = ruleExprs(rulesFile);
  const recorded = new Set(rules.filter((r) => r.record).map((r) => r.record));
  const { exprs } = dashboardExprs(dashboardFile);
  const used = new Map();
  for (const { rule, expr } of rules) for (const id of identifiers(expr)) {
    if (id.startsWith('dynamo_frontend_')) used.set(id, [...(used.get(id) ?? []), `rule ${rule}`]);
    else if (id.includes(':') && !recorded.has(id)) problem(`rule ${rule} uses ${id}, which no rule records`);
  }
  for (const { panel, expr } of exprs) for (const id of identifiers(expr)) {
    if (id.startsWith('dynamo_frontend_')) used.set(id, [...(used.get(id) ?? []), `panel "${panel}"`]);
  }
  for (const [name, where] of used) if (!exported.has(name)) problem(`${name} (${[...new Set(where)].slice(0, 3).join(', ')}) is not in ${path.basename(metricsFile)}`);
  finish(`${used.size} dynamo_frontend_* names used by ${rules.length} rules and ${exprs.length} dashboard queries, all exported (${families.length} exported names)`);
}

// ---------------------------------------------------------------------------------------------------
// dashboard: structure, and its queries as a rules file for promtool (PromQL syntax)

function cmdDashboard([file, rulesOut]) {
  const { dash, exprs } = dashboardExprs(file);
  if (!dash.uid || !dash.title) problem('dashboard has no uid or title');
  const vars = Object.fromEntries((dash.templating?.list ?? []).map((v) => [v.name, v]));
  if (vars.datasource?.type !== 'datasource' || vars.datasource?.query !== 'prometheus') problem('no Prometheus datasource variable');
  if (vars.model?.type !== 'query' || !vars.model.multi || !vars.model.includeAll) problem('no multi-value `model` query variable');
  const ids = new Set();
  const panels = [];
  const walk = (ps) => ps?.forEach((p) => { panels.push(p); walk(p.panels); });
  walk(dash.panels);
  for (const p of panels) {
    if (ids.has(p.id)) problem(`duplicate panel id ${p.id}`);
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || g.x + g.w > 24) problem(`panel "${p.title}": bad gridPos`);
    if (p.type === 'row') continue;
    if (p.datasource?.uid !== '${datasource}') problem(`panel "${p.title}": datasource is not \${datasource}`);
    if (!p.targets?.length) problem(`panel "${p.title}": no query`);
    for (const t of p.targets ?? []) {
      // Every selector of a per-model metric is filtered by the `model` variable.
      for (const m of t.expr.matchAll(/(dynamo_frontend_[a-z_]+)(\{[^}]*\})?/g)) {
        if (m[1] === 'dynamo_frontend_disconnected_clients') continue;
        if (!(m[2] ?? '').includes('model=~"$model"')) problem(`panel "${p.title}": ${m[1]} is not filtered by model=~"$model"`);
      }
    }
  }
  const want = ['output_tokens_total', 'time_to_first_token_seconds_bucket', 'inter_token_latency_seconds_bucket', 'input_sequence_tokens_bucket',
    'output_sequence_tokens_bucket', 'cached_tokens_sum', 'reasoning_tokens_sum', 'embedding_latency_seconds_bucket', 'inflight_requests',
    'queued_requests', 'requests_total', 'model_ready', 'model_context_length'];
  const all = exprs.map((e) => e.expr).join('\n');
  for (const w of want) if (!all.includes(`dynamo_frontend_${w}`)) problem(`no panel shows dynamo_frontend_${w}`);
  if (!panels.some((p) => p.type === 'heatmap')) problem('no heatmap (ISL/OSL distributions)');
  const subst = (e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h').replaceAll('$model', '.*');
  const rules = { groups: [{ name: 'dashboard-queries', rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: subst(e.expr) })) }] };
  fs.writeFileSync(rulesOut, JSON.stringify(rules, null, 2));
  finish(`${panels.filter((p) => p.type !== 'row').length} panels, ${exprs.length} queries, variables ${Object.keys(vars).join(', ')}`);
}

// ---------------------------------------------------------------------------------------------------
// prom-config: Debian's promtool is built without Kubernetes discovery, so kubernetes_sd_configs are
// checked here (and their relabelling run on fake pods); promtool checks the rest of the file.

function relabel(labels, rules) {
  let ls = { ...labels };
  for (const r of rules) {
    const action = r.action ?? 'replace';
    const value = (r.source_labels ?? []).map((l) => ls[l] ?? '').join(r.separator ?? ';');
    const re = new RegExp(`^(?:${r.regex ?? '(.*)'})$`);
    const m = re.exec(value);
    if (action === 'keep' && !m) return null;
    if (action === 'drop' && m) return null;
    if (action === 'replace' && m) {
      const v = (r.replacement ?? '$1').replace(/\$\{?(\d+)\}?/g, (_, n) => m[Number(n)] ?? '');
      if (v === '') delete ls[r.target_label]; else ls[r.target_label] = v;
    }
    if (!['keep', 'drop', 'replace'].includes(action)) fail(`relabel action ${action} not emulated`);
  }
  return ls;
}

function cmdPromConfig([file, out]) {
  const cfg = parseYaml(fs.readFileSync(file, 'utf8'));
  let k8sJobs = 0;
  for (const job of cfg.scrape_configs ?? []) {
    for (const sd of job.kubernetes_sd_configs ?? []) {
      k8sJobs += 1;
      const allowed = new Set(['role', 'namespaces', 'selectors', 'api_server', 'kubeconfig_file', 'attach_metadata', 'follow_redirects', 'enable_http2', 'tls_config', 'authorization', 'oauth2', 'basic_auth', 'proxy_url']);
      for (const k of Object.keys(sd)) if (!allowed.has(k)) problem(`${job.job_name}: unknown kubernetes_sd_configs field ${k}`);
      if (!['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'].includes(sd.role)) problem(`${job.job_name}: bad role ${sd.role}`);
      if (sd.role !== 'pod') continue;
      // Pod role: one target per container port. The sidecar pod has the worker (no port) and the sidecar.
      const pod = (port, name, container, ann, phase = 'Running') => ({
        __address__: `10.1.2.3:${port}`, __meta_kubernetes_namespace: 'llm', __meta_kubernetes_pod_name: 'llm-worker-abc',
        __meta_kubernetes_pod_container_name: container, __meta_kubernetes_pod_container_port_name: name,
        __meta_kubernetes_pod_container_port_number: String(port), __meta_kubernetes_pod_phase: phase,
        __meta_kubernetes_pod_label_app_kubernetes_io_name: 'llm-worker',
        ...(ann ? { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_annotation_prometheus_io_port: '9464', __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics' } : {}),
      });
      const candidates = [
        pod(8080, 'http', 'dynamo-sidecar', true), pod(9464, 'metrics', 'dynamo-sidecar', true),
        pod(9464, 'metrics', 'dynamo-sidecar', false), pod(9464, 'metrics', 'dynamo-sidecar', true, 'Pending'),
        pod(8000, 'metrics', 'other', false),
      ];
      const kept = candidates.map((c) => relabel({ __metrics_path__: job.metrics_path ?? '/metrics', ...c }, job.relabel_configs ?? [])).filter(Boolean);
      if (kept.length !== 1 || kept[0].__address__ !== '10.1.2.3:9464' || kept[0].__metrics_path__ !== '/metrics') {
        problem(`${job.job_name}: relabelling keeps ${JSON.stringify(kept.map((k) => k.__address__))}, want only the annotated running pod's metrics port`);
      } else if (kept[0].namespace !== 'llm' || kept[0].pod !== 'llm-worker-abc') problem(`${job.job_name}: targets lack namespace/pod labels`);
    }
    if (job.kubernetes_sd_configs) {
      delete job.kubernetes_sd_configs;
      job.static_configs = [...(job.static_configs ?? []), { targets: ['kubernetes-sd-placeholder:9464'] }];
    }
  }
  cfg.rule_files = (cfg.rule_files ?? []).map((f) => path.resolve(path.dirname(file), f));
  fs.writeFileSync(out, JSON.stringify(cfg, null, 2));
  finish(`${k8sJobs} kubernetes_sd_configs checked (fields, role; relabelling keeps exactly the sidecar's metrics port of annotated running pods)`);
}

// ---------------------------------------------------------------------------------------------------

const commands = {
  k8s: cmdK8s, adoption: cmdAdoption, compare: cmdCompare, dockerfile: cmdDockerfile, 'gc-settings': cmdGcSettings, emulate: cmdEmulate, smoke: cmdSmoke,
  'metric-names': cmdMetricNames, dashboard: cmdDashboard, 'prom-config': cmdPromConfig,
};
const [cmd, ...rest] = process.argv.slice(2);
if (!commands[cmd]) {
  console.error(`usage: validate.mjs {${Object.keys(commands).join('|')}} ...`);
  process.exit(2);
}
try {
  if (['k8s', 'adoption', 'compare'].includes(cmd)) clientModels = await import('@kubernetes/client-node');
  await commands[cmd](rest);
} catch (e) {
  console.log(`ERROR: ${e instanceof CheckError ? e.message : e.stack}`);
  process.exit(1);
}
