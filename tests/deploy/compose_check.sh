#!/bin/bash
# Static checks of the compose demo (deploy/docker-compose.yml), for machines
# with no container engine and no registry to pull prom/grafana from:
#   - the file parses, and follows the compose schema when Debian's
#     docker-compose (v1, `config` needs no engine) is installed;
#   - memoryguard and the workload share the pid namespace of a third service
#     (so killing the workload's pid 1 cannot end the agent's namespace), and
#     the agent runs as uid 0 with only KILL and SYS_PTRACE;
#   - every bind-mounted host path, and the build context and Dockerfile, exist;
#   - Prometheus's config, laid out as its container sees it (the mounts
#     copied under a scratch root), passes `promtool check config` (which also
#     checks the alert rules it loads), and scrapes the memoryguard service;
#   - Grafana's provisioning is there: a datasource pointing at the prometheus
#     service, and a dashboard provider whose path the dashboards are mounted at;
#   - the agent's config passes `memoryguard --check-config`.
#
# Usage: tests/deploy/compose_check.sh PATH/TO/memoryguard
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
compose=${MG_COMPOSE_FILE:-$repo/deploy/docker-compose.yml}
binary=${1:?usage: $0 PATH/TO/memoryguard}
scratch=$(mktemp -d /tmp/mg-compose-check.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

command -v promtool >/dev/null || { echo "compose_check: promtool missing (apt-get install prometheus)"; exit 1; }
python3 -c 'import yaml' 2>/dev/null || { echo "compose_check: python3-yaml missing"; exit 1; }

if command -v docker-compose >/dev/null; then
  docker-compose -f "$compose" config --quiet
  echo "ok: docker-compose config (schema)"
else
  echo "skip: docker-compose (Debian package docker-compose) not installed, schema not checked"
fi

# Structure and paths; prints "service<TAB>host path<TAB>container path" for
# every bind mount, for the checks below.
python3 - "$compose" >"$scratch/mounts" <<'PY'
import os, re, sys, yaml

path = sys.argv[1]
base = os.path.dirname(path)
errors = []
with open(path) as f:
    doc = yaml.safe_load(f)
services = doc.get("services") or {}
for need in ("memoryguard", "workload", "prometheus", "grafana"):
    if need not in services:
        errors.append(f"{path}: services.{need}: missing")

def interpolate(value):
    # ${VAR:-default} as compose does, with the environment or the default.
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}",
                  lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), str(value))

mg = services.get("memoryguard", {})
pid = str(mg.get("pid", ""))
if not pid.startswith("service:") or pid[8:] not in services:
    errors.append(f"{path}: services.memoryguard.pid: '{pid}' is not service:<a service>")
elif pid[8:] == "workload":
    errors.append(f"{path}: services.memoryguard.pid: the workload's own namespace dies with "
                  "its pid 1, and takes the agent with it; share a holder's")
if str(services.get("workload", {}).get("pid", "")) != pid:
    errors.append(f"{path}: services.workload.pid: must be '{pid}', as memoryguard's")
if [c.upper() for c in mg.get("cap_drop", [])] != ["ALL"]:
    errors.append(f"{path}: services.memoryguard.cap_drop: must be [ALL]")
if sorted(c.upper() for c in mg.get("cap_add", [])) != ["KILL", "SYS_PTRACE"]:
    errors.append(f"{path}: services.memoryguard.cap_add: must be [KILL, SYS_PTRACE]")
if str(mg.get("user", "0")).split(":")[0] not in ("0", "root"):
    errors.append(f"{path}: services.memoryguard.user: added capabilities need uid 0")
if "9756" not in " ".join(str(p) for p in mg.get("ports", [])):
    errors.append(f"{path}: services.memoryguard.ports: 9756 not published")

build = mg.get("build")
if build:
    context = os.path.normpath(os.path.join(base, build.get("context", ".")))
    dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
    if not os.path.isfile(dockerfile):
        errors.append(f"{path}: services.memoryguard.build: no {dockerfile}")

for name, svc in services.items():
    image = interpolate(svc.get("image", ""))
    if not image and not svc.get("build"):
        errors.append(f"{path}: services.{name}: neither image nor build")
    for i, vol in enumerate(svc.get("volumes", [])):
        if isinstance(vol, dict):
            source, target, kind = vol.get("source", ""), vol.get("target", ""), vol.get("type")
        else:
            parts = str(vol).split(":")
            source, target = parts[0], parts[1] if len(parts) > 1 else ""
            kind = "bind" if source.startswith((".", "/")) else "volume"
        if kind != "bind":
            continue
        host = os.path.normpath(os.path.join(base, source))
        if not os.path.exists(host):
            errors.append(f"{path}: services.{name}.volumes[{i}]: {source}: no such file or directory")
        elif os.path.isdir(host) and not os.listdir(host):
            errors.append(f"{path}: services.{name}.volumes[{i}]: {source}: empty directory")
        print(f"{name}\t{host}\t{target}")

for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
echo "ok: services, capabilities, pid namespace, $(wc -l <"$scratch/mounts") bind mounts exist"

# Prometheus as its container sees it: each mount copied to its container path.
root="$scratch/prometheus"
while IFS=$'\t' read -r service host target; do
  [ "$service" = prometheus ] || continue
  mkdir -p "$root$(dirname "$target")"
  cp -r "$host" "$root$target"
done <"$scratch/mounts"
promtool check config "$root/etc/prometheus/prometheus.yml"
python3 - "$root/etc/prometheus/prometheus.yml" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
targets = [t for job in cfg.get("scrape_configs", []) for sc in job.get("static_configs", [])
           for t in sc.get("targets", [])]
if "memoryguard:9756" not in targets:
    sys.exit(f"{sys.argv[1]}: scrape_configs: no target memoryguard:9756 (the compose service)")
PY
echo "ok: promtool check config (with the rule files), scrapes memoryguard:9756"

# Grafana: the provisioning that compose mounts, against the compose services.
python3 - "$scratch/mounts" <<'PY'
import glob, os, sys, yaml
mounts = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
grafana = {target: host for service, host, target in mounts if service == "grafana"}
def files(target):
    host = grafana.get(target)
    if not host:
        sys.exit(f"grafana: nothing mounted at {target}")
    found = sorted(glob.glob(os.path.join(host, "*.y*ml")))
    if not found:
        sys.exit(f"grafana: {host}: no provisioning file")
    return found
urls = [ds.get("url", "") for f in files("/etc/grafana/provisioning/datasources")
        for ds in (yaml.safe_load(open(f)) or {}).get("datasources", [])]
if not any("//prometheus:9090" in u for u in urls):
    sys.exit(f"grafana: no datasource with url http://prometheus:9090 (found {urls})")
paths = [p.get("options", {}).get("path", "") for f in files("/etc/grafana/provisioning/dashboards")
         for p in (yaml.safe_load(open(f)) or {}).get("providers", [])]
for p in paths:
    host = next((h + p[len(t):] for t, h in grafana.items() if p == t or p.startswith(t + "/")), None)
    if host is None or not glob.glob(os.path.join(host, "*.json")):
        sys.exit(f"grafana: dashboard provider path {p} holds no mounted dashboard")
if not paths:
    sys.exit("grafana: no dashboard provider")
PY
echo "ok: grafana datasource -> prometheus:9090, dashboards mounted where the provider reads"

config=$(awk -F'\t' '$1 == "memoryguard" && $3 == "/etc/memoryguard/memoryguard.yaml" {print $2}' "$scratch/mounts")
[ -n "$config" ] || { echo "compose_check: memoryguard has no config mounted at /etc/memoryguard/memoryguard.yaml"; exit 1; }
"$binary" --check-config --config.file="$config"
echo "ok: memoryguard --check-config $config"

# The demo only shows kills if a rule that acts matches the workload's command
# line (Python's re agrees with RE2 on the plain patterns a demo uses).
python3 - "$compose" "$config" <<'PY'
import re, sys, yaml
workload = yaml.safe_load(open(sys.argv[1]))["services"]["workload"]
command = workload.get("command", [])
cmdline = " ".join(command) if isinstance(command, list) else str(command)
cfg = yaml.safe_load(open(sys.argv[2]))
acting = [r["name"] for r in cfg.get("rules", [])
          if not r.get("dry_run", cfg.get("dry_run", False))
          and "cmdline" in r.get("match", {}) and re.search(r["match"]["cmdline"], cmdline)]
if not acting:
    sys.exit(f"{sys.argv[2]}: rules: no rule that acts matches the workload's command line")
print(f"ok: rule {acting[0]} matches the workload's command line")
PY
