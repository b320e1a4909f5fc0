#!/bin/bash
# deploy/bash-completion/memoryguard, run by bash with bash-completion's own
# framework as an interactive shell would: each case sets COMP_WORDS and
# COMP_LINE as bash does for that command line, calls the completion, and
# compares what it offers.
#   bash_completion_test.sh <memoryguard binary> <completion file>
set -uo pipefail
binary=$(realpath "$1")
framework=/usr/share/bash-completion/bash_completion
[ -r "$framework" ] || { echo "FAIL: no $framework (apt-get install bash-completion)"; exit 1; }
# shellcheck source=/dev/null
source "$framework"
# shellcheck source=/dev/null
source "$2"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/rules.d"
touch "$scratch/a.yaml" "$scratch/b.yml" "$scratch/notes.txt"

failures=0
# expect LINE WORDS... -- OFFERED...: completing at the end of LINE, which bash
# splits into WORDS (with `=` a word of its own), must offer exactly OFFERED.
expect() {
  local line=$1 words=() want=()
  shift
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  shift
  want=("$@")
  COMP_WORDS=("$binary" "${words[@]}")
  COMP_CWORD=${#words[@]}
  COMP_LINE="$binary $line"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _memoryguard "$binary" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
  local wanted
  wanted=$(printf '%s\n' "${want[@]}" | sort | tr '\n' ' ')
  if [ "$got" != "$wanted" ]; then
    echo "FAIL: memoryguard $line<TAB> offers [${got% }], not [${wanted% }]"
    failures=$((failures + 1))
  fi
}

# Every long flag of --help, and nothing else, for an empty word.
mapfile -t flags < <("$binary" --help | sed -nE 's/^ +(-[[:alnum:]],)?(--[[:alnum:]][[:alnum:]._-]*).*/\2/p')
[ "${#flags[@]}" -ge 10 ] || { echo "FAIL: read only ${#flags[@]} flags from --help"; exit 1; }
expect "" "" -- "${flags[@]}"
expect "--log.l" --log.l -- --log.level
expect "--dry-run --on" --dry-run --on -- --once
expect "--log.level " --log.level "" -- debug info warn error
expect "--log.level=w" --log.level = w -- warn
expect "--log.format " --log.format "" -- logfmt json
expect "--log.format=j" --log.format = j -- json
# The rules file: YAML files and directories, not other files.
expect "--config.file $scratch/" --config.file "$scratch/" -- "$scratch/a.yaml" "$scratch/b.yml" "$scratch/rules.d"
expect "--config.file=$scratch/" --config.file = "$scratch/" -- "$scratch/a.yaml" "$scratch/b.yml" "$scratch/rules.d"
expect "--web.config.file $scratch/a" --web.config.file "$scratch/a" -- "$scratch/a.yaml"
# A directory flag: directories only.
expect "--procfs $scratch/" --procfs "$scratch/" -- "$scratch/rules.d"
# A value typed freely: nothing to offer, and no flag in its place.
expect "--web.listen-address " --web.listen-address "" --

# The harness itself must see a wrong answer.
out=$(expect "--log.level " --log.level "" -- debug info)
[ -n "$out" ] || { echo "FAIL: the test did not see a missing value"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || exit 1
echo "ok: ${#flags[@]} flags, their values and paths complete as expected"
