#!/bin/bash
# Verifies deploy/systemd/memoryguard.service with systemd itself:
# `systemd-analyze verify` must accept it without a single warning (it exits 0
# on an unknown or misspelt key, so any output is a failure), and
# `systemd-analyze security` must rate its exposure at most 3.0 ("OK").
# The unit is checked as shipped, but for ExecStart's binary, which points at
# this build instead of /usr/local/bin so that verify can stat it.
#   systemd_verify.sh <unit> <memoryguard binary>
set -euo pipefail
unit=$1
binary=$(realpath "$2")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

check() {
  local file=$1 out
  # --man=no: the unit's man page is not installed here; tests/deploy/deb_test.sh
  # verifies the installed unit, man page included.
  out=$(systemd-analyze verify --man=no "$file" 2>&1) || { echo "$out"; return 1; }
  [ -z "$out" ] || { echo "$out"; return 1; }
  systemd-analyze security --offline=true --threshold=30 "$file" >"$scratch/security.txt" 2>&1 ||
    { tail -3 "$scratch/security.txt"; return 1; }
  tail -1 "$scratch/security.txt"
}

sed "s#/usr/local/bin/memoryguard#$binary#g" "$unit" >"$scratch/memoryguard.service"
grep -q "ExecStart=$binary " "$scratch/memoryguard.service" || { echo "no ExecStart to check"; exit 1; }
check "$scratch/memoryguard.service"

# The check itself must be able to fail: a misspelt hardening key and a lost
# capability restriction are each rejected.
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$scratch/memoryguard.service" >"$scratch/typo.service"
if check "$scratch/typo.service" >/dev/null; then echo "a misspelt key was accepted"; exit 1; fi
grep -v -e '^CapabilityBoundingSet=' -e '^SystemCallFilter=' -e '^ProtectSystem=' \
  -e '^PrivateDevices=' -e '^ProtectKernel' "$scratch/memoryguard.service" >"$scratch/open.service"
if check "$scratch/open.service" >/dev/null; then echo "an unhardened unit passed"; exit 1; fi
echo "ok: verified, and the check rejects a typo and an unhardened unit"
