#!/bin/sh
# Installs everything memoryguard needs to build, run and test, from Debian 12
# packages only. Idempotent: a second run installs nothing new. It is the one
# list of packages, for developers, CI and image builds alike, so they cannot
# drift apart.
#   install-deps.sh          build + runtime dependencies
#   install-deps.sh --test   also what the test suite drives (promtool, unshare,
#                            systemd-analyze, and the npm packages pinned by
#                            tests/deploy/kubernetes/package-lock.json)
#   install-deps.sh --bench  also the benchmark's peers and tools (make bench)
#   install-deps.sh --podman what tests/deploy/container_test.sh drives: podman
#                            and debootstrap, to build and run the Dockerfile
#   install-deps.sh --deb    also what builds and checks the Debian package
#                            (dpkg-buildpackage -b, tests/deploy/deb_test.sh)
set -eu
cd "$(dirname "$0")/.."

packages="build-essential cmake make pkg-config git curl ccache
  prometheus-cpp-dev libboost-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libre2-dev libcli11-dev libcrypt-dev libssl-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev python3"
case "${1:-}" in
  # groff-base, man-db and bash-completion: the man page and completion tests;
  # openssl: the TLS tests make their certificates with it.
  --test) packages="$packages prometheus openssl util-linux procps systemd yq wrk nodejs npm clang
    libclang-rt-14-dev python3-yaml docker-compose groff-base man-db bash-completion" ;;
  # The package's Build-Depends are the base list above (debian/control).
  --deb) packages="$packages debhelper dpkg-dev lintian systemd man-db" ;;
  # The peers and tools of tests/bench (make bench).
  --bench) packages="$packages util-linux procps python3 strace gnuplot-nox prometheus-process-exporter" ;;
  # catatonit (the pod's init) and netavark are only Recommends of podman.
  --podman) packages="podman buildah debootstrap fuse-overlayfs slirp4netns uidmap runc catatonit
    netavark aardvark-dns iptables curl" ;;
esac

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

# Node.js and npm may come with the machine rather than from Debian; either will do.
if command -v npm >/dev/null 2>&1; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ' | sed 's/^ *//;s/ *$//')
  [ -z "$missing" ] || missing=" $missing"
fi

install_npm_packages() {
  [ "${1:-}" = "--test" ] || return 0
  # The Kubernetes schemas the manifests are validated against, at the
  # versions in the lockfile.
  if [ ! -d tests/deploy/kubernetes/node_modules ]; then
    echo "install-deps: npm ci in tests/deploy/kubernetes"
    npm ci --prefix tests/deploy/kubernetes --no-audit --no-fund --loglevel=error
  fi
}

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  install_npm_packages "${1:-}"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
install_npm_packages "${1:-}"
