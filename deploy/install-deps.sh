#!/bin/sh
# Installs everything memoryguard needs to build, run and test, from Debian 12
# packages only. Idempotent: a second run installs nothing new. It is the one
# list of packages, for developers, CI and image builds alike, so they cannot
# drift apart.
#   install-deps.sh          build + runtime dependencies
#   install-deps.sh --test   also what the test suite drives (promtool, unshare)
set -eu

packages="build-essential cmake make pkg-config git curl
  prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libre2-dev libcli11-dev libcrypt-dev libgtest-dev libgmock-dev"
if [ "${1:-}" = "--test" ]; then
  packages="$packages prometheus util-linux procps"
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
