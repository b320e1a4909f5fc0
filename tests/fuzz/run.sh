#!/bin/bash
# Fuzzes every target (or the ones named) for SECONDS each, on a copy of its
# seed corpus, so the repo's corpus only grows by hand. Fails on any crash,
# leak, timeout or sanitizer report and prints the input that caused it.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   e.g. run.sh 60 config units
# Env: FUZZ_BUILD (default build-fuzz), FUZZ_KEEP=DIR keeps the grown corpora
# and the crash inputs there for minimizing and adding to corpus/.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds="${1:-10}"
shift || true
build="${FUZZ_BUILD:-$repo/build-fuzz}"
bindir="$build/fuzz"

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for bin in "$bindir"/fuzz_*; do targets+=("$(basename "$bin" | sed 's/^fuzz_//')"); done
fi
if [ ${#targets[@]} -eq 0 ] || [ ! -x "$bindir/fuzz_${targets[0]}" ]; then
  echo "run.sh: no fuzz targets in $bindir; build them first:" >&2
  echo "  cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DMEMORYGUARD_FUZZ=ON -DMEMORYGUARD_SANITIZE=address,undefined" >&2
  echo "  cmake --build build-fuzz --target fuzz_targets" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/mg-fuzz-run.XXXXXX")"
shm="$(mktemp -d /dev/shm/mg-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$work" "$shm"' EXIT
export MG_FUZZ_TMPDIR="$shm"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

passed=0
failed=0
for name in "${targets[@]}"; do
  bin="$bindir/fuzz_$name"
  if [ ! -x "$bin" ]; then
    echo "FAIL $name: no binary $bin"
    failed=$((failed + 1))
    continue
  fi
  corpus="$work/$name/corpus"
  artifacts="$work/$name/artifacts"
  mkdir -p "$corpus" "$artifacts"
  [ -d "$here/corpus/$name" ] && cp -r "$here/corpus/$name/." "$corpus/"
  args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$artifacts/")
  [ -f "$here/dict/$name.dict" ] && args+=(-dict="$here/dict/$name.dict")
  log="$work/$name/log"
  "$bin" "${args[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  summary="$(stat number_of_executed_units) execs, $(stat average_exec_per_sec)/s, \
$(stat new_units_added) new units, peak $(stat peak_rss_mb) MB"
  crashes=("$artifacts"/*)
  if [ $rc -ne 0 ] || [ -e "${crashes[0]}" ]; then
    failed=$((failed + 1))
    echo "FAIL $name (exit $rc): $summary"
    grep -E "ERROR: |SUMMARY: |invariant failed|runtime error" "$log" | head -5 | sed 's/^/  /'
    keep="${FUZZ_KEEP:-$repo/build-fuzz/fuzz-crashes}"
    mkdir -p "$keep/$name"
    for c in "${crashes[@]}"; do
      [ -e "$c" ] || continue
      cp "$c" "$keep/$name/"
      echo "  crash input: $keep/$name/$(basename "$c")"
    done
    cp "$log" "$keep/$name/log"
    echo "  full log: $keep/$name/log"
  else
    passed=$((passed + 1))
    echo "ok   $name: $summary"
  fi
  if [ -n "${FUZZ_KEEP:-}" ]; then
    mkdir -p "$FUZZ_KEEP/$name"
    cp -r "$corpus" "$FUZZ_KEEP/$name/"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
