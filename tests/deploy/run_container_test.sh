#!/bin/bash
# End-to-end test of deploy/run/Containerfile with podman, as root: an image
# whose pid 1 is `memoryguard run`, built on the image container_test.sh
# builds (memoryguard:test, reused so that CI compiles once). In containers
# of it, memoryguard as pid 1 must
#   1. kill a program that leaks past 80% of the container's memory limit,
#      and exit with --kill-exit-code (99), never killing itself;
#   2. reap 100 orphans, so that none is left a zombie, and exit with the
#      program's status (0);
#   3. forward `podman stop`'s SIGTERM to the program, which traps it and
#      exits 0, long before podman's SIGKILL;
#   4. refuse to start (exit 2, saying why) without a memory limit.
#
# Usage: tests/deploy/run_container_test.sh    (from anywhere, as root; runs
#        tests/deploy/container_test.sh first when memoryguard:test is missing)
# Env:   MG_IMAGE      the memoryguard image to build on (memoryguard:test)
#        MG_RUN_IMAGE  the image built here (memoryguard-run:test, removed at the end)
#
# Safety: memoryguard sees only its container's pid namespace; every
# container is capped (--memory, and ulimit -v for the leak) and removed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
image=${MG_IMAGE:-memoryguard:test}
run_image=${MG_RUN_IMAGE:-memoryguard-run:test}
run_id="mgrt-$$-$RANDOM"
work=$(mktemp -d "/tmp/$run_id.XXXXXX")

test_name=run_container_test
# shellcheck source=tests/deploy/podman_env.sh
. "$repo/tests/deploy/podman_env.sh"

cleanup() {
  local rc=$?
  for c in leak orphans stop nolimit; do
    if [ "$rc" -ne 0 ] && podman container exists "$run_id-$c" 2>/dev/null; then
      log "$c container log (last 20 lines):"
      podman logs --tail 20 "$run_id-$c" 2>&1 | sed "s/^/  $c| /" || true
    fi
    podman rm -f -t 0 "$run_id-$c" >/dev/null 2>&1 || true
  done
  podman rmi -f "$run_image" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ "$rc" -eq 0 ]; then log "PASS"; else log "FAILED (exit $rc)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v podman >/dev/null || fail "podman is missing: ./deploy/install-deps.sh --podman"
[ "$(id -u)" -eq 0 ] || fail "run as root (rootful podman)"

if ! podman image exists "$image"; then
  log "$image is missing: building it with tests/deploy/container_test.sh"
  MG_IMAGE="$image" MG_KEEP_IMAGE=1 "$repo/tests/deploy/container_test.sh"
fi

log "== build $run_image from deploy/run/Containerfile on $image"
podman build --pull=never --network host --isolation chroot --format docker \
  --build-arg MEMORYGUARD_IMAGE="$image" -f "$repo/deploy/run/Containerfile" \
  -t "$run_image" "$repo/deploy/run" >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; fail "podman build failed"; }
entrypoint=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$run_image")
log "entrypoint: $entrypoint"
[[ "$entrypoint" == '["/usr/bin/memoryguard","run",'* ]] || fail "the entrypoint is not memoryguard run"

# --no-healthcheck: HEALTHCHECK NONE still has podman try to arm a systemd
# timer, which it cannot without systemd as pid 1 (and says so).
podman_run+=(--no-healthcheck)

# Each container's exit code, with a deadline (podman wait has none).
wait_exit() {
  timeout "$2" podman wait "$1" 2>/dev/null || echo timeout
}

log "== 1. a leak past 80% of --memory 256m is killed; memoryguard, pid 1, survives to say so"
# bash adding a 4 MiB string to an array every 0.1 s: over 80% of 256 MiB
# within seconds, long before ulimit -v (1 GiB) or the container's limit.
# Its PSS only grows: no string is copied whole again (s+=... would, and its
# PSS would dip back below the limit at each copy), and nothing forks (an
# external sleep's fork would halve bash's PSS for a moment): the 0.1 s wait
# is bash's own `read -t` on a FIFO that never speaks.
"${podman_run[@]}" -d --name "$run_id-leak" --memory 256m --memory-swap 256m --cap-drop=all \
  "$run_image" bash -c "ulimit -v 1048576; printf -v chunk '%*s' 4194304 '';
    mkfifo /tmp/never; exec 9<>/tmp/never
    while :; do a+=(\"\$chunk\"); read -r -t 0.1 -u 9 || :; done" >/dev/null
code=$(wait_exit "$run_id-leak" 120)
leak_log=$(podman logs "$run_id-leak" 2>&1)
[ "$code" = 99 ] || fail "exit '$code', expected 99 (--kill-exit-code): $(tail -5 <<<"$leak_log")"
grep -q 'pid1=true' <<<"$leak_log" || fail "memoryguard was not pid 1: $leak_log"
grep -q 'msg=action rule=bash' <<<"$leak_log" || fail "no action line: $leak_log"
grep -q 'msg="command ended by memoryguard"' <<<"$leak_log" || fail "no kill marker: $leak_log"
log "exit 99; $(grep -m1 -o 'msg=action.*' <<<"$leak_log")"

log "== 2. 100 orphans are reaped: no zombie is left"
# Each (sleep 5 &) subshell exits at once, leaving its sleep to pid 1. A
# zombie keeps its PPid until reaped, so once this shell is the only process
# left whose parent is pid 1, every orphan has exited and been reaped; a pid
# 1 that did not reap would leave 100 zombies and this shell waiting 20 s.
# shellcheck disable=SC2016 # expanded in the container
"${podman_run[@]}" -d --name "$run_id-orphans" --memory 256m "$run_image" bash -c '
    children_of_1() { grep -l "^PPid:[[:space:]]*1$" /proc/[0-9]*/status 2>/dev/null | wc -l; }
    for i in $(seq 100); do (sleep 5 &); done
    orphans=$(($(children_of_1) - 1))
    for _ in $(seq 200); do [ "$(children_of_1)" -le 1 ] && break; sleep 0.1; done
    zombies=$(grep -l "^State:[[:space:]]*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)
    echo "orphans=$orphans zombies=$zombies"; [ "$zombies" = 0 ]' >/dev/null
code=$(wait_exit "$run_id-orphans" 60)
orphans_log=$(podman logs "$run_id-orphans" 2>&1)
[ "$code" = 0 ] || fail "exit '$code', expected 0: $(tail -5 <<<"$orphans_log")"
result=$(grep -o 'orphans=[0-9]* zombies=[0-9]*' <<<"$orphans_log")
orphans=${result#orphans=}
orphans=${orphans%% *}
[ "$orphans" -ge 1 ] || fail "no orphan was seen adopted by pid 1 ($result)"
log "exit 0; $result"

log "== 3. podman stop: SIGTERM reaches the program, which exits 0"
"${podman_run[@]}" -d --name "$run_id-stop" --memory 256m "$run_image" bash -c '
    trap "echo trapped SIGTERM; exit 0" TERM; echo started; while :; do sleep 0.1; done' >/dev/null
for _ in $(seq 100); do
  podman logs "$run_id-stop" 2>&1 | grep -q started && break
  sleep 0.1
done
start=$(date +%s)
podman stop -t 30 "$run_id-stop" >/dev/null
took=$(($(date +%s) - start))
code=$(wait_exit "$run_id-stop" 10)
stop_log=$(podman logs "$run_id-stop" 2>&1)
[ "$code" = 0 ] || fail "exit '$code', expected 0: $(tail -5 <<<"$stop_log")"
grep -q 'trapped SIGTERM' <<<"$stop_log" || fail "the program never saw SIGTERM: $stop_log"
[ "$took" -lt 30 ] || fail "podman stop took ${took}s: it had to SIGKILL"
log "exit 0 after ${took}s; the program trapped SIGTERM"

log "== 4. no memory limit: a 80% limit is refused at start"
"${podman_run[@]}" -d --name "$run_id-nolimit" "$run_image" true >/dev/null
code=$(wait_exit "$run_id-nolimit" 30)
nolimit_log=$(podman logs "$run_id-nolimit" 2>&1)
[ "$code" = 2 ] || fail "exit '$code', expected 2: $nolimit_log"
grep -q -- '--limit=80%: ' <<<"$nolimit_log" || fail "no message naming --limit: $nolimit_log"
log "exit 2: $(head -1 <<<"$nolimit_log")"
