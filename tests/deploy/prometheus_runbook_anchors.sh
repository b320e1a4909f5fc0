#!/bin/bash
# Every alert's runbook_url must land on a section of the README: each anchor
# it names exists there as <a id="...">, and each alert has one.
#   prometheus_runbook_anchors.sh <alerts.yml> <README.md>
set -euo pipefail
alerts=$1
readme=$2
status=0
alert_count=$(grep -c -- '- alert:' "$alerts")
anchors=$(grep -o 'runbook_url: [^ ]*#[a-z0-9-]*' "$alerts" | sed 's/.*#//')
[ "$(echo "$anchors" | wc -l)" -eq "$alert_count" ] ||
  { echo "$alert_count alerts but $(echo "$anchors" | wc -l) runbook_url anchors"; status=1; }
for anchor in $anchors; do
  grep -q "<a id=\"$anchor\"></a>" "$readme" || { echo "README.md has no anchor $anchor"; status=1; }
done
[ $status -ne 0 ] || echo "ok: $alert_count alerts, every runbook anchor is in the README"
exit $status
