// Validates deploy/kubernetes offline: every object against the Kubernetes and
// prometheus-operator API schemas (kubernetes-models), then the promises the
// README makes about them, which no schema can check: the sidecar shares the
// process namespace, probes and the PodMonitor use the named metrics port, the
// ConfigMap is mounted so that updates reach the agent, the capabilities are
// exactly KILL and SYS_PTRACE, and each embedded memoryguard config passes
// `memoryguard --check-config`.
//
//   node validate.mjs <deploy/kubernetes dir> <memoryguard binary>
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const [manifestDir, memoryguard] = process.argv.slice(2);
if (!manifestDir || !memoryguard) {
  console.error("usage: node validate.mjs <deploy/kubernetes dir> <memoryguard binary>");
  process.exit(2);
}

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

// apiVersion -> the module of kubernetes-models that defines its kinds.
const modules = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

function readYamlDocs(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  return docs.map((doc) => {
    if (doc.errors.length) fail(file, doc.errors.map((e) => e.message).join("; "));
    return doc.toJS();
  });
}

function yamlFilesUnder(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return yamlFilesUnder(full);
    return entry.endsWith(".yaml") ? [full] : [];
  });
}

// ---- the kustomization names every manifest, and only existing ones -------
const kustomizationFile = path.join(manifestDir, "kustomization.yaml");
const [kustomization] = readYamlDocs(kustomizationFile);
const listed = new Set((kustomization.resources ?? []).map((r) => path.join(manifestDir, r)));
for (const file of listed) {
  try {
    statSync(file);
  } catch {
    fail(kustomizationFile, `resource ${path.relative(manifestDir, file)} does not exist`);
  }
}
for (const file of yamlFilesUnder(manifestDir)) {
  if (file !== kustomizationFile && !listed.has(file))
    fail(kustomizationFile, `${path.relative(manifestDir, file)} is not listed in resources`);
}

// ---- every object against its API schema -----------------------------------
const objects = [];
for (const file of [...listed].filter((f) => statSync(f, { throwIfNoEntry: false }))) {
  for (const doc of readYamlDocs(file)) {
    if (!doc) continue;
    const where = `${path.relative(manifestDir, file)} ${doc.kind}/${doc.metadata?.name}`;
    const module = modules[doc.apiVersion];
    if (!module) {
      fail(where, `no schema known for apiVersion ${doc.apiVersion}`);
      continue;
    }
    const Model = (await import(module))[doc.kind];
    if (!Model) {
      fail(where, `${doc.apiVersion} has no kind ${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
    }
    objects.push({ where, doc });
  }
}
console.log(`schema-checked ${objects.length} objects from ${listed.size} files`);

// ---- what the README promises -------------------------------------------------
const byKind = (kind) => objects.filter((o) => o.doc.kind === kind);
const configMaps = new Map(byKind("ConfigMap").map((o) => [o.doc.metadata.name, o.doc]));
const workloads = [...byKind("Deployment"), ...byKind("DaemonSet")];
const scratch = mkdtempSync(path.join(tmpdir(), "mg-k8s-"));

function flagValue(args, flag) {
  const arg = (args ?? []).find((a) => a.startsWith(`${flag}=`));
  return arg?.slice(flag.length + 1);
}

for (const { where, doc } of workloads) {
  const pod = doc.spec.template.spec;
  const agents = pod.containers.filter((c) => c.image.includes("memoryguard"));
  if (agents.length !== 1) {
    fail(where, "expected exactly one memoryguard container");
    continue;
  }
  const agent = agents[0];
  if (doc.kind === "Deployment" && pod.shareProcessNamespace !== true)
    fail(where, "a sidecar needs shareProcessNamespace: true to see the app's processes");
  if (doc.kind === "DaemonSet" && pod.hostPID !== true)
    fail(where, "a node agent needs hostPID: true");

  const ports = new Set((agent.ports ?? []).map((p) => p.name));
  if (!ports.has("metrics")) fail(where, "the agent's container port is not named metrics");
  for (const probe of ["livenessProbe", "readinessProbe"]) {
    const get = agent[probe]?.httpGet;
    if (get?.path !== "/healthz" || get?.port !== "metrics")
      fail(where, `${probe} must GET /healthz on the metrics port`);
  }
  const listen = flagValue(agent.args, "--web.listen-address") ?? ":9756";
  const containerPort = agent.ports?.find((p) => p.name === "metrics")?.containerPort;
  if (!listen.endsWith(`:${containerPort}`))
    fail(where, `listens on ${listen} but the metrics port is ${containerPort}`);

  const sc = agent.securityContext ?? {};
  const caps = sc.capabilities ?? {};
  if (JSON.stringify(caps.drop) !== JSON.stringify(["ALL"])) fail(where, "must drop ALL capabilities");
  if (JSON.stringify([...(caps.add ?? [])].sort()) !== JSON.stringify(["KILL", "SYS_PTRACE"]))
    fail(where, "must add exactly KILL and SYS_PTRACE");
  // Added capabilities reach only uid 0 in Kubernetes.
  if (sc.runAsUser !== 0) fail(where, "must run as uid 0 for its added capabilities to apply");
  if (sc.allowPrivilegeEscalation !== false) fail(where, "allowPrivilegeEscalation must be false");
  for (const kind of ["requests", "limits"]) {
    if (!agent.resources?.[kind]?.memory) fail(where, `resources.${kind}.memory is not set`);
  }

  // The config: a ConfigMap mounted as a directory (a subPath never updates).
  const configFile = flagValue(agent.args, "--config.file") ?? "/etc/memoryguard/memoryguard.yaml";
  const mount = (agent.volumeMounts ?? []).find((m) => path.dirname(configFile) === m.mountPath);
  if (!mount) {
    fail(where, `nothing is mounted at ${path.dirname(configFile)} for ${configFile}`);
    continue;
  }
  if (mount.subPath) fail(where, "the config is mounted with subPath, so it would never reload");
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  const configMap = configMaps.get(volume?.configMap?.name);
  const key = path.basename(configFile);
  if (!configMap?.data?.[key]) {
    fail(where, `no ConfigMap ${volume?.configMap?.name} with key ${key}`);
    continue;
  }
  const copy = path.join(scratch, `${doc.metadata.name}-${key}`);
  writeFileSync(copy, configMap.data[key]);
  try {
    execFileSync(memoryguard, ["--check-config", `--config.file=${copy}`], { stdio: "pipe" });
  } catch (e) {
    fail(where, `its config does not pass --check-config:\n${e.stdout}${e.stderr}`);
  }

  const procfs = flagValue(agent.args, "--procfs");
  if (procfs) {
    const procMount = (agent.volumeMounts ?? []).find((m) => m.mountPath === procfs);
    const hostPath = pod.volumes?.find((v) => v.name === procMount?.name)?.hostPath?.path;
    if (hostPath !== "/proc") fail(where, `--procfs=${procfs} is not the host's /proc`);
  }
}
rmSync(scratch, { recursive: true, force: true });

// The PodMonitor must select every pod template that runs the agent, by a
// port that those pods have.
const monitors = byKind("PodMonitor");
if (monitors.length === 0) fail(manifestDir, "no PodMonitor");
for (const { where, doc } of monitors) {
  const wanted = doc.spec.selector?.matchLabels ?? {};
  for (const w of workloads) {
    const labels = w.doc.spec.template.metadata?.labels ?? {};
    if (!Object.entries(wanted).every(([k, v]) => labels[k] === v))
      fail(where, `does not select the pods of ${w.where}`);
  }
  for (const endpoint of doc.spec.podMetricsEndpoints ?? []) {
    if (endpoint.port !== "metrics") fail(where, `scrapes port ${endpoint.port}, not metrics`);
  }
}

if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`ok: ${workloads.length} workloads, ${configMaps.size} configs, ${monitors.length} PodMonitor`);
