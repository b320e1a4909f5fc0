#!/bin/bash
# The compilers and flag sets memoryguard must build with, beyond the two
# trees CI makes anyway: GCC RelWithDebInfo (make test) and GCC with Debian's
# flags (the package, tests/deploy/deb_test.sh). Each variant builds the agent
# and its unit tests with -Werror, and must pass them (ctest -L unit).
#   tests/build/variants.sh            every variant
#   tests/build/variants.sh NAME...    only those (the names are below)
# Trees go to build-variants/NAME; ccache, where installed, keeps rebuilds
# cheap (hits carry across checkouts, as in the Makefile).
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${JOBS:-2}

# Debian's flags as dpkg-buildflags gives them to a package, hardening and
# all; CMake takes no CPPFLAGS, so those join CXXFLAGS (as debhelper does).
debian_flags() {
  local options=$1
  echo "-DCMAKE_BUILD_TYPE=None"
  echo "-DCMAKE_CXX_FLAGS=$(DEB_BUILD_MAINT_OPTIONS=$options dpkg-buildflags --get CPPFLAGS) $(DEB_BUILD_MAINT_OPTIONS=$options dpkg-buildflags --get CXXFLAGS)"
  echo "-DCMAKE_EXE_LINKER_FLAGS=$(DEB_BUILD_MAINT_OPTIONS=$options dpkg-buildflags --get LDFLAGS)"
}

# name: compiler, then the cmake flags of the variant, one a line.
flags_of() {
  case $1 in
    gcc-release) echo g++; echo -DCMAKE_BUILD_TYPE=Release ;;
    # LTO, as Ubuntu and Fedora build packages: warnings found only once the
    # whole program is seen. Clang 14 cannot take dpkg's -ffat-lto-objects.
    gcc-lto) echo g++; debian_flags "hardening=+all optimize=+lto" ;;
    clang-release) echo clang++; echo -DCMAKE_BUILD_TYPE=Release ;;
    clang-relwithdebinfo) echo clang++; echo -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
    clang-debian) echo clang++; debian_flags "hardening=+all" ;;
    *) return 1 ;;
  esac
}
all="gcc-release gcc-lto clang-release clang-relwithdebinfo clang-debian"

if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
fi

summary=()
for name in ${*:-$all}; do
  flags_of "$name" >/dev/null || { echo "variants.sh: no variant '$name' (there are: $all)"; exit 2; }
  mapfile -t flags < <(flags_of "$name")
  tree=build-variants/$name
  t0=$(date +%s)
  echo "=== variant $name: ${flags[*]}"
  cmake -S . -B "$tree" -DCMAKE_CXX_COMPILER="${flags[0]}" "${flags[@]:1}" \
    -DMEMORYGUARD_WERROR=ON -DMEMORYGUARD_UNIT_TESTS_ONLY=ON -DMEMORYGUARD_INSTALL_DATA=OFF >/dev/null
  cmake --build "$tree" -j"$jobs" --target memoryguard unit_tests
  t1=$(date +%s)
  ctest --test-dir "$tree" -L unit -j"$jobs" --output-on-failure >"$tree/unit.log" 2>&1 ||
    { cat "$tree/unit.log"; echo "variant $name: unit tests failed"; exit 1; }
  t2=$(date +%s)
  summary+=("variant $name: built in $((t1 - t0)) s; $(grep -E 'tests passed' "$tree/unit.log") in $((t2 - t1)) s")
done
printf '%s\n' "${summary[@]}"
