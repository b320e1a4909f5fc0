#!/bin/bash
# The Debian package end to end, on this machine, as root: build it from the
# tree with dpkg-buildpackage (the GCC build with Debian's flags, -Werror on),
# lint it, install it with apt-get, check what it installed, purge it, and
# check that nothing it installed is left but logs. Whatever happens, the
# package is purged before this exits: the machine is left as it was.
#   tests/deploy/deb_test.sh        (./deploy/install-deps.sh --deb first)
# The tree is copied (tracked and untracked files, not ignored ones) to
# build-deb/src, so that dpkg-buildpackage writes its .deb beside it and never
# into the parent of the checkout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$repo/build-deb
start=$(date +%s)
step() { echo "=== deb_test: $* ($(($(date +%s) - start)) s)"; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs and purges the package"
if dpkg-query -W -f='${Status}' memoryguard 2>/dev/null | grep -q installed; then
  fail "memoryguard is installed already; this test installs and purges its own, so it stops here"
fi
for path in /etc/memoryguard /etc/default/memoryguard; do
  [ ! -e "$path" ] || fail "$path exists: an install by hand? This test would take it over; move it away first"
done

installed=0
cleanup() {
  if [ "$installed" = 1 ]; then
    echo "deb_test: purging the package after a failure"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq memoryguard >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "copy the tree to $work/src"
rm -rf "$work"
mkdir -p "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -c) |
  tar -x -C "$work/src"

step "dpkg-buildpackage -us -uc -b"
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
export MEMORYGUARD_REVISION
MEMORYGUARD_REVISION=$(git -C "$repo" rev-parse --short=12 HEAD)
# ccache, where installed, as in the Makefile (CMake reads the launcher from
# the environment): the package build path is fixed, so hits carry over.
# debhelper points HOME at a scratch folder, so the cache is named outright.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$work/src CCACHE_NOHASHDIR=1
  CCACHE_DIR=$(ccache -k cache_dir)
  export CCACHE_DIR
fi
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="werror parallel=2" dpkg-buildpackage -us -uc -b) \
    >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log"
  fail "dpkg-buildpackage failed (the whole log: $work/build.log)"
fi
# The compile lines must carry Debian's hardening flags and -Werror: the build
# that passed is the one the issue asks for.
compile=$(grep -m1 -E '(c\+\+|g\+\+).* -c .*agent/main\.cpp' "$work/build.log") ||
  fail "no compile line of agent/main.cpp in the build log"
for flag in -D_FORTIFY_SOURCE=2 -fstack-protector-strong -Werror=format-security -Werror -O2; do
  grep -q -- " $flag " <<<"$compile " || fail "the package was compiled without $flag: $compile"
done
grep -E '^(100% tests passed|Total Test time)' "$work/build.log" || fail "no unit tests ran at build time"
deb=$(ls "$work"/memoryguard_"$version"_*.deb)

step "lintian --fail-on error,warning"
lintian --fail-on error,warning --display-info "$work"/memoryguard_"$version"_*.changes ||
  fail "lintian"

step "apt-get install $(basename "$deb")"
# Every path outside the scratch, state and log folders and this checkout
# (CI clones it anywhere, and this test writes its reports into it): what the
# package and its scripts add must all be gone after the purge.
snapshot() {
  find / -xdev \( -path "$repo" -o -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
    -o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/containers \
    -o -path /var/lib/dpkg -o -path /root -o -path /home -o -path /work \) -prune -o -print |
    sort
}
snapshot >"$work/before.txt"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get install"; }
snapshot >"$work/installed.txt"
comm -13 "$work/before.txt" "$work/installed.txt" >"$work/added.txt"
echo "the package added $(wc -l <"$work/added.txt") paths:"
sed 's/^/  /' "$work/added.txt"

step "check the installed package"
memoryguard --version | tee "$work/version.txt"
grep -q "version ${version%%-*} (revision: $MEMORYGUARD_REVISION)" "$work/version.txt" ||
  fail "--version does not say ${version%%-*} and revision $MEMORYGUARD_REVISION"
memoryguard --check-config >"$work/check.txt" || { cat "$work/check.txt"; fail "--check-config of the shipped config"; }
grep -q "^config OK: /etc/memoryguard/memoryguard.yaml" "$work/check.txt" || fail "--check-config did not read /etc/memoryguard/memoryguard.yaml"
grep -q "dry_run true" "$work/check.txt" || fail "the shipped config is not dry-run, yet the service starts on install"
out=$(systemd-analyze verify /lib/systemd/system/memoryguard.service 2>&1) ||
  { echo "$out"; fail "systemd-analyze verify"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify warns"; }
echo "systemd-analyze verify /lib/systemd/system/memoryguard.service: no warning"
grep -qx "ExecStart=/usr/bin/memoryguard --config.file=/etc/memoryguard/memoryguard.yaml \$MEMORYGUARD_ARGS" \
  /lib/systemd/system/memoryguard.service || fail "the unit does not start /usr/bin/memoryguard"
# Enabled on install, started in dry-run (README.md, Install).
state=$(systemctl is-enabled memoryguard.service 2>&1) || true
[ "$state" = enabled ] || fail "the unit is '$state' after install, not enabled"
conffiles=$(dpkg-query -W -f='${Conffiles}' memoryguard)
for f in /etc/memoryguard/memoryguard.yaml /etc/default/memoryguard; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
for page in memoryguard memoryguard.yaml; do
  man -w "$page" >/dev/null || fail "man $page finds no page"
done
[ -f /usr/share/bash-completion/completions/memoryguard ] || fail "no bash completion"
echo "ok: --version, --check-config (dry-run), the unit (enabled), conffiles, man pages, completion"

step "apt-get purge memoryguard"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq memoryguard >"$work/apt.log" 2>&1 ||
  { cat "$work/apt.log"; fail "apt-get purge"; }
installed=0
snapshot >"$work/purged.txt"
comm -13 "$work/before.txt" "$work/purged.txt" >"$work/left.txt"
comm -23 "$work/before.txt" "$work/purged.txt" >"$work/lost.txt"
[ ! -s "$work/left.txt" ] || { cat "$work/left.txt"; fail "the purge left these paths"; }
[ ! -s "$work/lost.txt" ] || { cat "$work/lost.txt"; fail "these paths were there before the install and are gone"; }
echo "ok: all $(wc -l <"$work/added.txt") paths the package added are gone, and nothing else changed"
step "done"
