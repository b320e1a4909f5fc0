# shellcheck shell=bash disable=SC2154 # $work and $test_name come from the script that sources this
# Sourced by the podman tests (container_test.sh, run_container_test.sh):
# the podman setup this CI's machines need, and log/fail lines named after
# the test. Needs $work (a scratch directory) and $test_name set.
#
# runc: crun refuses hybrid cgroup hierarchies (cgroup v1 with a v2 mount), as
# on this CI's machines. The ulimits: podman's default nofile (1048576) is
# above the hard limit a sandboxed root may raise to, and runc then fails with
# "error setting rlimit type 7". A private containers.conf carries both to the
# containers podman makes by itself (a pod's infra container); the flags say
# the same for the containers the tests run.
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
# shellcheck disable=SC2034 # used by the scripts that source this one
podman_run=(podman run --pull=never --runtime runc
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

log() { printf '[%s %s] %s\n' "$test_name" "$(date +%H:%M:%S)" "$*"; }
fail() {
  log "FAIL: $*"
  exit 1
}
