// Proves validate.mjs can fail: each mutation breaks one promise of the
// manifests in a scratch copy, and the validator must reject it by name.
//
//   node validator_selftest.mjs <deploy/kubernetes dir> <memoryguard binary>
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [manifestDir, memoryguard] = process.argv.slice(2);
const validator = path.join(path.dirname(fileURLToPath(import.meta.url)), "validate.mjs");

const mutations = [
  ["sidecar/deployment.yaml", "shareProcessNamespace: true", "shareProcessNamespace: false", "shareProcessNamespace"],
  ["sidecar/deployment.yaml", "add: [KILL, SYS_PTRACE]", "add: [KILL, SYS_ADMIN]", "exactly KILL and SYS_PTRACE"],
  ["sidecar/deployment.yaml", "replicas: 1", "replicas: one", "schema"],
  ["sidecar/deployment.yaml", "mountPath: /etc/memoryguard\n", "mountPath: /etc/memoryguard\n              subPath: memoryguard.yaml\n", "subPath"],
  ["sidecar/configmap.yaml", "limit: 200Mi", "limit: 0", "--check-config"],
  ["daemonset/daemonset.yaml", "hostPID: true", "hostPID: false", "hostPID"],
  ["daemonset/daemonset.yaml", "path: /proc\n", "path: /var/proc\n", "host's /proc"],
  ["podmonitor.yaml", "- port: metrics", "- port: http", "scrapes port"],
  ["podmonitor.yaml", "interval: 15s", "interval: fifteen", "must match pattern"],
  ["podmonitor.yaml", 'memoryguard.io/scrape: "true"', 'memoryguard.io/scrape: "yes"', "no PodMonitor selects its pods"],
  ["kustomization.yaml", "  - podmonitor.yaml\n", "", "not listed"],
  // The TLS variants.
  ["tls/kustomization.yaml", "  - daemonset.yaml\n", "", "tls/daemonset.yaml is not listed"],
  ["tls/sidecar.yaml", "livenessProbe:\n            tcpSocket: { port: https-metrics }",
   "livenessProbe:\n            httpGet: { path: /healthz, port: https-metrics, scheme: HTTPS }",
   "presents no client certificate, which the web config requires"],
  ["tls/web-config.yaml", "client_auth_type: RequireAndVerifyClientCert", "client_auth_type: RequireAllCerts", "--check-config"],
  ["tls/web-config.yaml", "min_version: TLS12", "min_version: TLS12\n      max_version: TLS10", "--check-config"],
  ["tls/web-config.yaml", "cert_file: /etc/memoryguard-tls/tls.crt", "cert_file: /etc/ssl/tls.crt", "not in a mounted Secret"],
  ["tls/sidecar.yaml", "mountPath: /etc/memoryguard-tls\n", "mountPath: /etc/memoryguard-tls\n              subPath: tls.crt\n", "subPath"],
  ["tls/sidecar.yaml", "- name: https-metrics", "- name: metrics", "not named https-metrics"],
  ["podmonitor.yaml", "scheme: https", "scheme: http", "must be scraped with scheme https"],
  ["podmonitor.yaml", "keySecret: { name: memoryguard-prometheus-client, key: tls.key }\n", "", "presents no client certificate"],
  ["podmonitor.yaml", "- port: https-metrics", "- port: https", "scrapes port https"],
];

let failures = 0;
for (const [file, from, to, expected] of mutations) {
  const scratch = mkdtempSync(path.join(tmpdir(), "mg-k8s-selftest-"));
  try {
    cpSync(manifestDir, scratch, { recursive: true });
    const target = path.join(scratch, file);
    const text = readFileSync(target, "utf8");
    if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`);
    writeFileSync(target, text.replace(from, to));
    let output = "";
    let rejected = false;
    try {
      execFileSync("node", [validator, scratch, memoryguard], { stdio: "pipe" });
    } catch (e) {
      rejected = e.status === 1;
      output = `${e.stdout}${e.stderr}`;
    }
    if (!rejected || !output.includes(expected)) {
      console.error(`FAIL ${file}: ${from} -> ${to}: expected a rejection mentioning "${expected}"\n${output}`);
      failures++;
    } else {
      console.log(`ok   ${file}: ${from.trim()} -> ${to.trim() || "(removed)"} is rejected`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
process.exit(failures ? 1 : 0);
