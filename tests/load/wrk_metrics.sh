#!/bin/sh
# Load a running memoryguard's /metrics with wrk (Debian package `wrk`): 50
# connections for 30s by default, and fail unless every response was a 2xx
# and no socket error happened. Prints wrk's latency distribution (p50..p99).
#
#   tests/load/wrk_metrics.sh http://127.0.0.1:9756/metrics
#   tests/load/wrk_metrics.sh -u admin:s3cret -d 10s http://127.0.0.1:9756/metrics
#
# The same run, against an agent the test starts itself, is the SoakHttp suite
# of integration_tests (`make soak`); a 3s version runs by default (HttpLoad).
set -eu

usage() {
  echo "usage: $0 [-c connections] [-d duration] [-u user:password] URL" >&2
  exit 2
}

connections=50
duration=30s
credentials=
while getopts c:d:u: opt; do
  case $opt in
    c) connections=$OPTARG ;;
    d) duration=$OPTARG ;;
    u) credentials=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
url=$1

command -v wrk >/dev/null || { echo "$0: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# wrk's own timeout (2s) would count a slow answer as an error; 10s is what a
# Prometheus scrape allows by default.
if [ -n "$credentials" ]; then
  auth="Authorization: Basic $(printf '%s' "$credentials" | base64 -w0)"
  wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency -H "$auth" "$url" | tee "$out"
else
  wrk -t2 -c"$connections" -d"$duration" --timeout 10s --latency "$url" | tee "$out"
fi

# wrk prints these two lines only when they are not zero.
if grep -q -e 'Non-2xx or 3xx responses' -e 'Socket errors' "$out"; then
  echo "FAIL: some requests failed (see above)" >&2
  exit 1
fi
grep -q 'requests in' "$out" || { echo "FAIL: wrk made no requests" >&2; exit 1; }
echo "OK: no errors"
