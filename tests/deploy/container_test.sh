#!/bin/bash
# End-to-end test of the container image, with podman, as root:
#   1. a debian:bookworm-slim base image (debootstrap; reused once imported),
#   2. `podman build` of the Dockerfile,
#   3. the final image holds no compiler and no -dev package,
#   4. a pod with one shared pid namespace: the agent as a sidecar
#      (--cap-drop=all --cap-add=KILL --cap-add=SYS_PTRACE, a test config
#      mounted) beside a workload that leaks memory; the agent must SIGKILL the
#      workload (its container exits 137) and count it on /metrics, scraped
#      from the host through the pod's published port; the image's own
#      HEALTHCHECK must pass.
#
# Usage: tests/deploy/container_test.sh     (from anywhere, as root)
#        tests/deploy/container_test.sh --base-image-only
#          only makes the base image, if missing: CI runs it in the background
#          while the suite compiles, since debootstrap mostly waits on the
#          network and the disk.
#   About a minute with the base image and build layers cached; on a fresh
#   machine, add debootstrap (2-4 min) and a full compile (2-9 min).
# Env:   MG_IMAGE             image tag to build       (memoryguard:test)
#        MG_BASE_IMAGE        base image               (docker.io/library/debian:bookworm-slim)
#        MG_DEBIAN_MIRROR     debootstrap mirror       (the host's apt mirror)
#        MG_KEEP_IMAGE=0      also remove the built image at the end (it is kept
#                             by default: its layers make the next run fast)
#
# Safety: the agent's only rule matches a marker unique to this run, and it can
# see only the pod's pid namespace. The workload is capped twice (ulimit -v and
# the container's memory limit), so a broken agent cannot eat the machine.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
image=${MG_IMAGE:-memoryguard:test}
base_image=${MG_BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
run_id="mgct-$$-$RANDOM"
pod="$run_id-pod"
marker="memoryguard-container-test-leaker-$run_id"
rule="container-test-leaker"
work=$(mktemp -d "/tmp/$run_id.XXXXXX")

test_name=container_test
# shellcheck source=tests/deploy/podman_env.sh
. "$repo/tests/deploy/podman_env.sh"

phase_name=""
phase_start=0
timings=()
phase() {
  phase_end
  phase_name=$1
  phase_start=$(date +%s.%N)
  log "== $phase_name"
}
phase_end() {
  if [ -n "$phase_name" ]; then
    timings+=("$(printf '%-22s %6.1fs' "$phase_name" "$(awk -v a="$phase_start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')")")
  fi
  phase_name=""
}

cleanup() {
  local rc=$?
  phase_end
  if [ "$rc" -ne 0 ] && podman container exists "$run_id-agent" 2>/dev/null; then
    log "agent log (last 40 lines):"
    podman logs --tail 40 "$run_id-agent" 2>&1 | sed 's/^/  agent| /' || true
  fi
  podman pod rm -f -t 0 "$pod" >/dev/null 2>&1 || true
  if [ "${MG_KEEP_IMAGE:-1}" = 0 ]; then
    podman rmi -f "$image" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  if [ "${#timings[@]}" -gt 0 ]; then
    log "timings:"
    printf '  %s\n' "${timings[@]}"
  fi
  if [ "$rc" -eq 0 ]; then log "PASS"; else log "FAILED (exit $rc)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in podman debootstrap curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install -y podman buildah debootstrap fuse-overlayfs slirp4netns uidmap runc curl"
done
[ "$(id -u)" -eq 0 ] || fail "run as root (rootful podman, debootstrap)"

# The host's Debian mirror, from deb822 or one-line apt sources.
host_mirror() {
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 /debian || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# A stand-in for Docker Hub's debian:bookworm-slim, made the way that image
# is: a minbase debootstrap without apt lists, .deb caches, docs or locales.
make_base_image() {
  local mirror rootfs
  mirror=${MG_DEBIAN_MIRROR:-$(host_mirror)}
  rootfs="$work/rootfs"
  log "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  # The same sources as the host (bookworm, -updates, -security) when it has
  # them in deb822 form, as the real image does.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
  # As the real image: apt keeps no package caches in a layer.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' --quiet - "$base_image" >/dev/null
  rm -rf "$rootfs"
}

phase "base image"
if podman image exists "$base_image"; then
  log "reusing $base_image"
else
  make_base_image
fi
if [ "${1:-}" = "--base-image-only" ]; then
  log "base image ready: $base_image"
  exit 0
fi

phase "image build"
# --format docker: the OCI format has no HEALTHCHECK, and podman drops it.
# --isolation chroot, --network host: no runtime or CNI needed for RUN steps.
podman build --pull=never --network host --isolation chroot --format docker \
  --build-arg DEBIAN_IMAGE="$base_image" \
  --build-arg MEMORYGUARD_REVISION="$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
  -t "$image" "$repo" 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(date +%s)" "$line"
done >"$work/build.log" ||
  { tail -40 "$work/build.log"; fail "podman build failed (log above)"; }
# Where the build's time went: each RUN or COPY step that took a second or more
# ("Using cache" steps take none).
awk 'function flush() { if (name != "" && $1 - start >= 1) printf "    %4ds  %s\n", $1 - start, substr(name, 1, 90) }
     / STEP [0-9]+\/[0-9]+: / { flush(); start = $1; name = $0; sub(/^[0-9]+ /, "", name); next }
     END { flush() }' "$work/build.log"
size=$(podman image inspect --format '{{.Size}}' "$image")
log "built $image: $((size / 1024 / 1024)) MiB"

phase "image contents"
# --no-healthcheck: one-shot containers need no probe (and podman would try
# to arm it with a systemd timer).
# shellcheck disable=SC2016 # ${Package} is dpkg-query's, not the shell's
packages=$("${podman_run[@]}" --rm --no-healthcheck --entrypoint dpkg-query "$image" -W -f '${Package}\n')
toolchain=$(grep -E -- '-dev$|^(gcc|gcc-[0-9]+|g\+\+(-[0-9]+)?|cpp(-[0-9]+)?|clang.*|binutils.*|make|cmake|build-essential|libc6-dev)$' <<<"$packages" || true)
[ -z "$toolchain" ] || fail "final image holds build packages: ${toolchain//$'\n'/ }"
# shellcheck disable=SC2016 # expanded in the container
compilers=$("${podman_run[@]}" --rm --no-healthcheck --entrypoint bash "$image" -c \
  'for t in cc gcc c++ g++ ld as make cmake; do command -v "$t"; done; true')
[ -z "$compilers" ] || fail "final image holds build tools: ${compilers//$'\n'/ }"
log "no compiler, no -dev package ($(wc -l <<<"$packages") packages)"

phase "agent start"
cat >"$work/memoryguard.yaml" <<EOF
interval: 250ms
stats_frequency: 2s
dry_run: false
measure: pss
rules:
  - name: $rule
    match:
      cmdline: '$marker'
    limit: 64Mi
    action:
      signal: SIGKILL
EOF
# The pod's infra container holds the shared pid namespace, so the workload
# dying does not take the agent with it (as Kubernetes' pause container).
podman pod create --name "$pod" --share pid,net,ipc,uts -p 127.0.0.1::9756 >/dev/null
# --health-interval=disable: the image's HEALTHCHECK stays defined (podman
# healthcheck run uses it below) without a systemd timer, which podman cannot
# arm on machines without systemd as pid 1.
# (It still logs "unable to get systemd connection"; that line is dropped.)
# The rest is the production setup: uid 0, only KILL and SYS_PTRACE, a
# read-only root, no privilege gain.
"${podman_run[@]}" -d --pod "$pod" --name "$run_id-agent" --health-interval=disable \
  --cap-drop=all --cap-add=KILL --cap-add=SYS_PTRACE \
  --read-only --security-opt no-new-privileges \
  -v "$work/memoryguard.yaml:/etc/memoryguard/memoryguard.yaml:ro,Z" \
  "$image" --config.file=/etc/memoryguard/memoryguard.yaml \
  2> >(grep -v 'unable to get systemd connection' >&2) >/dev/null
port=$(podman port "$(podman pod inspect -f '{{.InfraContainerID}}' "$pod")" 9756/tcp | head -1 | sed 's/.*://')
[ -n "$port" ] || fail "the pod published no port for 9756"
url="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break
  [ "$(podman inspect -f '{{.State.Running}}' "$run_id-agent")" = true ] ||
    fail "the agent exited: $(podman logs "$run_id-agent" 2>&1 | tail -5)"
  sleep 0.5
done
curl -fsS -o /dev/null "$url/healthz" || fail "$url/healthz never answered 200"
log "agent up, /healthz 200 at $url"
podman healthcheck run "$run_id-agent" >/dev/null || fail "the image's HEALTHCHECK failed"
log "podman healthcheck run: healthy"

phase "workload killed"
# A leak of about 40 MiB/s (bash appending to a string), slow enough that the
# agent, checking every 250ms, catches it at 64 MiB long before either cap:
# ulimit -v (1 GiB) and the container's memory limit (512 MiB, no swap).
"${podman_run[@]}" -d --pod "$pod" --name "$run_id-workload" --no-healthcheck \
  --memory 512m --memory-swap 512m \
  "$base_image" bash -c ": $marker; ulimit -v 1048576; printf -v chunk '%*s' 4194304 '';
    while :; do s+=\$chunk; sleep 0.1; done" >/dev/null
code=$(timeout 120 podman wait "$run_id-workload" || echo timeout)
[ "$code" = 137 ] || fail "workload ended with '$code', expected 137 (SIGKILL from the agent)"
log "workload exited 137 (SIGKILL)"

phase "metrics"
kills=0
for _ in $(seq 1 20); do
  kills=$(curl -fsS "$url/metrics" |
    awk -v r="rule=\"$rule\"" '/^memoryguard_kills_total\{/ && index($0, r) {s += $NF} END {print s + 0}')
  [ "$kills" -ge 1 ] && break
  sleep 0.5
done
[ "$kills" -ge 1 ] || fail "memoryguard_kills_total{rule=\"$rule\"} is $kills on $url/metrics"
log "memoryguard_kills_total{rule=\"$rule\"} = $kills"
podman logs "$run_id-agent" 2>&1 | grep -m1 'msg=action' | sed 's/^/  agent| /' || true
phase_end
