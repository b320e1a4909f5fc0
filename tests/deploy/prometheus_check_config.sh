#!/bin/sh
# promtool check config on deploy/prometheus/prometheus.yml, and a check of
# what its Kubernetes jobs keep and how they label it.
#   prometheus_check_config.sh PROMTOOL PROMETHEUS_YML PODS_JSON EXPECTED
#
# Debian's Prometheus is built without Kubernetes service discovery, so its
# promtool rejects kubernetes_sd_configs. Where that is so, the config is
# checked with each kubernetes_sd_configs swapped for a file_sd_configs that
# lists the pods of PODS_JSON: everything else, the relabeling included, is
# still validated by promtool. Either way the relabeling of each job is then
# run on those pods (promtool check service-discovery), and the targets kept
# by all of them must be exactly EXPECTED. promtool wants the client
# certificate files of the HTTPS jobs to exist: empty stand-ins are put
# where the copy names them.
set -eu
promtool=$1 config=$2 pods=$(realpath "$3") expected=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The copy sits beside the rule files it names, so they are checked too.
cp "$(dirname "$config")"/*.yml "$work"/
copy="$work/$(basename "$config")"
for f in $(yq -r '.scrape_configs[] | .tls_config // {} | .ca_file, .cert_file, .key_file
    | select(. != null)' "$config"); do
  case $f in /*) echo "FAIL: $f: use a path relative to $config"; exit 1 ;; esac
  mkdir -p "$work/$(dirname "$f")" && touch "$work/$f"
done
yq -y --arg pods "$pods" \
  '.scrape_configs |= map(if .kubernetes_sd_configs
     then del(.kubernetes_sd_configs) + {file_sd_configs: [{files: [$pods]}]}
     else . end)' "$config" > "$work/with-file-sd.yml"

if "$promtool" check config "$copy" > "$work/out" 2>&1; then
  cat "$work/out"
elif grep -q 'field kubernetes_sd_configs not found' "$work/out"; then
  echo "note: this promtool has no Kubernetes discovery; checking with file_sd in its place"
  "$promtool" check config "$work/with-file-sd.yml"
else
  cat "$work/out"
  exit 1
fi

jobs=$(yq -r '.scrape_configs[] | select(.kubernetes_sd_configs) | .job_name' "$config")
[ -n "$jobs" ] || { echo "FAIL: no job with kubernetes_sd_configs in $config"; exit 1; }
: > "$work/got"
for job in $jobs; do
  yq -e --arg job "$job" '.scrape_configs[] | select(.job_name == $job)
    | .kubernetes_sd_configs | any(.role == "pod")' "$config" > /dev/null \
    || { echo "FAIL: job $job does not discover pods"; exit 1; }
  "$promtool" check service-discovery --timeout=1s "$work/with-file-sd.yml" "$job" \
    > "$work/sd.json" 2> "$work/sd.err" || { cat "$work/sd.err"; exit 1; }
  jq -r '.[] | .labels | select(. != null and length > 0)
    | "job=\(.job) scheme=\(.__scheme__) instance=\(.instance) path=\(.__metrics_path__) namespace=\(.namespace) pod=\(.pod) node=\(.node)"' \
    "$work/sd.json" >> "$work/got"
done
sort -o "$work/got" "$work/got"
if ! diff -u "$expected" "$work/got"; then
  echo "FAIL: jobs $(echo $jobs) kept other targets than $expected (diff above: - expected, + got)"
  exit 1
fi
echo "SUCCESS: jobs $(echo $jobs) keep exactly the targets of $(basename "$expected")"
