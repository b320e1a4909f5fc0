// Validates deploy/kubernetes offline: every object against the Kubernetes and
// prometheus-operator API schemas (kubernetes-models), then the promises the
// README makes about them, which no schema can check: the sidecar shares the
// process namespace, probes and the PodMonitor use the named metrics port, the
// ConfigMap is mounted so that updates reach the agent, the capabilities are
// exactly KILL and SYS_PTRACE, and each embedded memoryguard config passes
// `memoryguard --check-config`. The TLS variants (tls/) too: their web config
// passes --check-config with certificates where their Secret is mounted (as a
// directory), their port is https-metrics, their probes can get through the
// handshake it asks for, and a PodMonitor endpoint scrapes them over HTTPS
// with a client certificate. Each kustomization builds (kubectl kustomize,
// where kubectl is installed).
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

// ---- the kustomizations name every manifest, and only existing ones -------
// deploy/kubernetes and deploy/kubernetes/tls each have one; a manifest
// belongs to the one of its own directory or the nearest above it.
const kustomizations = yamlFilesUnder(manifestDir).filter((f) => path.basename(f) === "kustomization.yaml");
const kustomizationFile = path.join(manifestDir, "kustomization.yaml");
const listed = new Set();
for (const k of kustomizations) {
  const [kustomization] = readYamlDocs(k);
  for (const r of kustomization.resources ?? []) {
    const file = path.join(path.dirname(k), r);
    listed.add(file);
    if (!statSync(file, { throwIfNoEntry: false }))
      fail(k, `resource ${path.relative(manifestDir, file)} does not exist`);
  }
  try {
    execFileSync("kubectl", ["kustomize", path.dirname(k)], { stdio: "pipe" });
  } catch (e) {
    if (e.code !== "ENOENT") fail(k, `kubectl kustomize fails: ${e.stderr}`);
  }
}
for (const file of yamlFilesUnder(manifestDir)) {
  if (path.basename(file) !== "kustomization.yaml" && !listed.has(file)) {
    const owner = kustomizations
      .filter((k) => file.startsWith(path.dirname(k) + path.sep))
      .sort((a, b) => b.length - a.length)[0];
    fail(owner ?? kustomizationFile, `${path.relative(manifestDir, file)} is not listed in resources`);
  }
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
const workloadPorts = [];  // the agent's port of each workload, for the PodMonitors
const scratch = mkdtempSync(path.join(tmpdir(), "mg-k8s-"));

function flagValue(args, flag) {
  const arg = (args ?? []).find((a) => a.startsWith(`${flag}=`));
  return arg?.slice(flag.length + 1);
}

// A file of a ConfigMap mounted (as a directory) where `file` is: its text,
// or undefined after a failure naming the problem.
function mountedConfigMapFile(where, pod, container, file, what) {
  const mount = (container.volumeMounts ?? []).find((m) => path.dirname(file) === m.mountPath);
  if (!mount) {
    fail(where, `nothing is mounted at ${path.dirname(file)} for ${file}`);
    return undefined;
  }
  if (mount.subPath) fail(where, `the ${what} is mounted with subPath, so it would never reload`);
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  const configMap = configMaps.get(volume?.configMap?.name);
  const key = path.basename(file);
  if (!configMap?.data?.[key]) {
    fail(where, `no ConfigMap ${volume?.configMap?.name} with key ${key}`);
    return undefined;
  }
  return configMap.data[key];
}

// Certificates for --check-config of the TLS variants: what cert-manager
// puts in a Secret (tls.crt, tls.key, ca.crt), made once with openssl.
let fakeSecret;
function fakeSecretDir() {
  if (fakeSecret) return fakeSecret;
  fakeSecret = path.join(scratch, "secret");
  execFileSync("mkdir", ["-p", fakeSecret]);
  const run = (args) => execFileSync("openssl", args, { cwd: fakeSecret, stdio: "pipe" });
  run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca"]);
  run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=memoryguard"]);
  run(["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "1",
       "-days", "2", "-out", "tls.crt"]);
  return fakeSecret;
}

const certificateModes = ["RequireAnyClientCert", "RequireClientCert", "RequireAndVerifyClientCert"];

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

  // The web config, if any: TLS or not, and whether the handshake wants a
  // client certificate, which no kubelet probe presents.
  let tls;
  const webFile = flagValue(agent.args, "--web.config.file");
  if (webFile) {
    const text = mountedConfigMapFile(where, pod, agent, webFile, "web config");
    const web = text ? parseAllDocuments(text)[0]?.toJS() ?? {} : {};
    const t = web.tls_server_config;
    if (t && (t.cert_file || t.cert)) {
      const mode = t.client_auth_type ?? "NoClientCert";
      tls = {
        config: t,
        text,
        needsCert: certificateModes.includes(mode) ||
          (mode !== "NoClientCert" && (t.client_allowed_sans ?? []).length > 0),
      };
    }
  }
  const portName = tls ? "https-metrics" : "metrics";
  const ports = new Set((agent.ports ?? []).map((p) => p.name));
  if (!ports.has(portName)) fail(where, `the agent's container port is not named ${portName}`);
  for (const probe of ["livenessProbe", "readinessProbe"]) {
    const get = agent[probe]?.httpGet;
    if (tls?.needsCert) {
      // An HTTPS probe would fail the handshake: the port is all it can check.
      if (agent[probe]?.tcpSocket?.port !== portName)
        fail(where, `${probe} must be a tcpSocket probe on ${portName}: the kubelet presents no ` +
          "client certificate, which the web config requires");
    } else if (get?.path !== "/healthz" || get?.port !== portName ||
               (get?.scheme ?? "HTTP") !== (tls ? "HTTPS" : "HTTP")) {
      fail(where, `${probe} must GET /healthz on the ${portName} port` + (tls ? " over HTTPS" : ""));
    }
  }
  const listen = flagValue(agent.args, "--web.listen-address") ?? ":9756";
  const containerPort = agent.ports?.find((p) => p.name === portName)?.containerPort;
  if (!listen.endsWith(`:${containerPort}`))
    fail(where, `listens on ${listen} but the ${portName} port is ${containerPort}`);

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
  const rules = mountedConfigMapFile(where, pod, agent, configFile, "config");
  if (rules === undefined) continue;
  const copy = path.join(scratch, `${doc.metadata.name}-${path.basename(configFile)}`);
  writeFileSync(copy, rules);
  const checkArgs = ["--check-config", `--config.file=${copy}`];

  // The certificates: each in a Secret mounted as a directory, so that a
  // renewal (a ..data swap) reaches the agent. The web config is checked
  // with stand-ins for them where the Secret would be.
  if (tls) {
    let webText = tls.text;
    for (const key of ["cert_file", "key_file", "client_ca_file"]) {
      const file = tls.config[key];
      if (!file) continue;
      const mount = (agent.volumeMounts ?? []).find((m) => path.dirname(file) === m.mountPath);
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      if (!volume?.secret) {
        fail(where, `tls_server_config.${key} ${file} is not in a mounted Secret`);
        continue;
      }
      if (mount.subPath) fail(where, "the TLS Secret is mounted with subPath, so a renewal would never reach the agent");
      webText = webText.replaceAll(`${mount.mountPath}/`, `${fakeSecretDir()}/`);
    }
    const webCopy = path.join(scratch, `${doc.metadata.name}-web.yml`);
    writeFileSync(webCopy, webText);
    checkArgs.push(`--web.config.file=${webCopy}`);
  }
  try {
    execFileSync(memoryguard, checkArgs, { stdio: "pipe" });
  } catch (e) {
    fail(where, `its config does not pass --check-config:\n${e.stdout}${e.stderr}`);
  }
  workloadPorts.push({ where, labels: doc.spec.template.metadata?.labels ?? {}, port: portName, tls });

  const procfs = flagValue(agent.args, "--procfs");
  if (procfs) {
    const procMount = (agent.volumeMounts ?? []).find((m) => m.mountPath === procfs);
    const hostPath = pod.volumes?.find((v) => v.name === procMount?.name)?.hostPath?.path;
    if (hostPath !== "/proc") fail(where, `--procfs=${procfs} is not the host's /proc`);
  }
}
rmSync(scratch, { recursive: true, force: true });

// Every agent's port is scraped by a PodMonitor endpoint that selects its
// pods, over HTTPS (with a client certificate, where the web config wants
// one) for the TLS variants.
const monitors = byKind("PodMonitor");
if (monitors.length === 0) fail(manifestDir, "no PodMonitor");
for (const { where, doc } of monitors) {
  for (const endpoint of doc.spec.podMetricsEndpoints ?? []) {
    if (!["metrics", "https-metrics"].includes(endpoint.port))
      fail(where, `scrapes port ${endpoint.port}, not metrics or https-metrics`);
    const https = endpoint.port === "https-metrics";
    if ((endpoint.scheme ?? "http") !== (https ? "https" : "http"))
      fail(where, `port ${endpoint.port} must be scraped with scheme ${https ? "https" : "http"}`);
    if (https) {
      const t = endpoint.tlsConfig ?? {};
      if (!t.ca?.secret && !t.ca?.configMap) fail(where, "the https endpoint's tlsConfig trusts no CA");
      if (workloadPorts.some((w) => w.tls?.needsCert) && !(t.cert?.secret && t.keySecret))
        fail(where, "the https endpoint presents no client certificate, which the TLS variants require");
    }
  }
}
for (const w of workloadPorts) {
  const scraped = monitors.some(({ doc }) => {
    const wanted = doc.spec.selector?.matchLabels ?? {};
    return Object.entries(wanted).every(([k, v]) => w.labels[k] === v) &&
      (doc.spec.podMetricsEndpoints ?? []).some((e) => e.port === w.port);
  });
  if (!scraped) fail(w.where, `no PodMonitor selects its pods and scrapes their ${w.port} port`);
}

if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`ok: ${workloads.length} workloads, ${configMaps.size} configs, ${monitors.length} PodMonitor`);
