#!/bin/bash
# `cmake --install` of a build into a scratch DESTDIR, once for each prefix a
# package or an admin uses (/usr and /usr/local): the tree must be exactly the
# package's layout, the unit must point at that prefix, the installed binary
# must accept the installed config and the installed alert rules must pass
# their installed tests. A second install must keep an edited config.
#   install_tree_test.sh <build dir> <source dir>
set -euo pipefail
build=$1
src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for prefix in /usr /usr/local; do
  dest=$scratch/root${prefix//\//_}
  DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$scratch/install.log" ||
    { cat "$scratch/install.log"; fail "cmake --install --prefix $prefix"; }
  if [ "$prefix" = /usr ]; then etc=/etc; else etc=$prefix/etc; fi
  expected=$(sort <<LIST
.$etc/default/memoryguard
.$etc/memoryguard/memoryguard.yaml
.$prefix/bin/memoryguard
.$prefix/lib/systemd/system/memoryguard.service
.$prefix/share/bash-completion/completions/memoryguard
.$prefix/share/man/man1/memoryguard.1
.$prefix/share/man/man5/memoryguard.yaml.5
.$prefix/share/memoryguard/dashboards/memoryguard.json
.$prefix/share/memoryguard/examples/memoryguard.yaml
.$prefix/share/memoryguard/examples/oom-signals.yaml
.$prefix/share/memoryguard/prometheus/alerts.yml
.$prefix/share/memoryguard/prometheus/alerts_test.yml
.$prefix/share/memoryguard/prometheus/kubernetes.rules.yml
.$prefix/share/memoryguard/prometheus/kubernetes.rules_test.yml
LIST
)
  actual=$(cd "$dest" && find . ! -type d | sort)
  [ "$actual" = "$expected" ] ||
    fail "prefix $prefix: the installed tree is not the package layout:
$(diff <(echo "$expected") <(echo "$actual") | sed -n 's/^[<>]/&/p')
(< expected, > installed)"

  [ -x "$dest$prefix/bin/memoryguard" ] || fail "$prefix/bin/memoryguard is not executable"
  cmp -s "$src/config/memoryguard.yaml" "$dest$etc/memoryguard/memoryguard.yaml" ||
    fail "$etc/memoryguard/memoryguard.yaml is not the example config"
  unit=$dest$prefix/lib/systemd/system/memoryguard.service
  grep -qx "ExecStart=$prefix/bin/memoryguard --config.file=$etc/memoryguard/memoryguard.yaml \$MEMORYGUARD_ARGS" "$unit" ||
    fail "the unit does not start $prefix/bin/memoryguard on $etc/memoryguard/memoryguard.yaml: $(grep ^ExecStart= "$unit")"
  grep -qx "EnvironmentFile=-$etc/default/memoryguard" "$unit" ||
    fail "the unit does not read $etc/default/memoryguard: $(grep ^EnvironmentFile= "$unit")"
  grep -q '^MEMORYGUARD_ARGS=' "$dest$etc/default/memoryguard" ||
    fail "$etc/default/memoryguard sets no MEMORYGUARD_ARGS"
  "$dest$prefix/bin/memoryguard" --check-config --config.file="$dest$etc/memoryguard/memoryguard.yaml" >/dev/null ||
    fail "the installed binary rejects the installed config"
  for tests in alerts_test.yml kubernetes.rules_test.yml; do
    promtool test rules "$dest$prefix/share/memoryguard/prometheus/$tests" >"$scratch/promtool.log" 2>&1 ||
      { cat "$scratch/promtool.log"; fail "the installed rules fail their installed $tests"; }
  done

  # An operator's edits survive a second install, as dpkg keeps a conffile.
  echo "# edited" >>"$dest$etc/memoryguard/memoryguard.yaml"
  echo "# edited" >>"$dest$etc/default/memoryguard"
  DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
  for f in "$etc/memoryguard/memoryguard.yaml" "$etc/default/memoryguard"; do
    [ "$(tail -1 "$dest$f")" = "# edited" ] || fail "a second install overwrote the edited $f"
    grep -q "Kept: $dest$f" "$scratch/install.log" || fail "a second install did not say it kept $f"
  done
  echo "ok: prefix $prefix, $(wc -l <<<"$actual") files"
done
