#!/usr/bin/env python3
"""The man pages against the binary they document.

- every flag of `memoryguard --help` (and of each subcommand's --help) is an
  entry of memoryguard(1), and memoryguard(1) has no entry for a flag the
  binary does not know;
- every key the config loader accepts, at every level, is an entry of
  memoryguard.yaml(5) in the section of that level, and no other key is. The
  keys come from the loader itself: a probe config with an unknown key at a
  level makes `--check-config` list the keys allowed there, and each of them
  is probed in turn as a map and as a list of maps, to find the levels below;
- groff renders both pages without a warning (groff -ww), and so does man -l.

The test checks itself too: pages with an entry taken out, or a bad request
put in, must fail it.

    man_pages_test.py <memoryguard binary> <dir of the made pages>
"""
import os
import re
import subprocess
import sys
import tempfile

PROBE = "zz_probe"
WHERE_FLAGS = ("README.md, in the table under '## Command line' "
               "(memoryguard(1) is made from it by deploy/man/mkman.py)")
WHERE_KEYS = ("README.md, in '## Config' (memoryguard.yaml(5) is made from it "
              "by deploy/man/mkman.py)")


def unescape(roff):
    """roff text as a reader sees it, enough to compare names."""
    text = re.sub(r"\\f[BIRP]|\\&", "", roff)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\(dq", '"')
    return re.sub(r"\\\[u([0-9A-F]{4})\]", lambda m: chr(int(m.group(1), 16)), text)


def sections(page):
    """[(heading, [tag, ...])] of a page: the tags of the .TP entries under
    each .SH or .SS heading."""
    out, lines = [], page.splitlines()
    for i, line in enumerate(lines):
        if line.startswith((".SH ", ".SS ")):
            out.append((unescape(line[4:]).strip('"'), []))
        elif line == ".TP" and out and i + 1 < len(lines):
            out[-1][1].append(unescape(lines[i + 1]))
    return out


# ---- flags ----

def help_flags(binary):
    """{flag: the command whose --help lists it}, subcommands included."""
    flags = {}
    commands = [[]]
    while commands:
        command = commands.pop()
        text = subprocess.run([binary, *command, "--help"], capture_output=True, text=True,
                              check=True).stdout
        in_subcommands = False
        for line in text.splitlines():
            if re.match(r"\S", line):
                in_subcommands = line.startswith("Subcommands:")
                continue
            m = re.match(r"\s+(?:-\w,)?(--[\w.-]+)", line)
            if m and not in_subcommands:
                flags.setdefault(m.group(1), " ".join(["memoryguard", *command]))
            elif in_subcommands and line.strip():
                commands.append(command + [line.split()[0]])
    return flags


def check_flags(binary, page):
    problems = []
    documented = set()
    for _, tags in sections(page):
        for tag in tags:
            documented |= set(re.findall(r"--[\w.-]*\w", tag))
    known = help_flags(binary)
    for flag, command in sorted(known.items()):
        if flag not in documented:
            problems.append(
                "memoryguard(1) has no entry for %s, which `%s --help` lists: add a row "
                "| `%s=...` | default | what it does | to %s" % (flag, command, flag, WHERE_FLAGS))
    for flag in sorted(documented - set(known)):
        problems.append(
            "memoryguard(1) documents %s, which no --help of the binary lists: take its row "
            "out of %s, or fix its name" % (flag, WHERE_FLAGS))
    return problems


# ---- config keys ----

def probe_yaml(path, leaf):
    """YAML that puts `leaf` at `path`: a list of "key" and "[]" steps."""
    value = leaf
    for step in reversed(path):
        value = [value] if step == "[]" else {step: value}
    return repr_yaml(value)


def repr_yaml(value):
    # Flow style: {a: [{b: 0}]} is YAML as it is, with plain keys.
    if isinstance(value, dict):
        return "{" + ", ".join("%s: %s" % (k, repr_yaml(v)) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(repr_yaml(v) for v in value) + "]"
    return str(value)


def loader_key(path):
    """The key the loader names in its errors: rules[0].match.zz_probe."""
    out = ""
    for step in path:
        out += "[0]" if step == "[]" else ("." if out else "") + step
    return out


def allowed_keys(binary, scratch, path):
    """The keys the loader allows in a map at `path`, or None where it takes no map."""
    config = os.path.join(scratch, "probe.yaml")
    with open(config, "w") as f:
        f.write(probe_yaml(path, {PROBE: 0}) + "\n")
    run = subprocess.run([binary, "--check-config", "--config.file=" + config],
                         capture_output=True, text=True)
    key = re.escape(loader_key(path + [PROBE]))
    for line in run.stderr.splitlines():
        m = re.search(r": %s: unknown key \"%s\".*?; allowed: (.*)$" % (key, PROBE), line)
        if m:
            return [k.strip() for k in m.group(1).split(",")]
    return None


def level_name(path):
    return "".join(s if s == "[]" else ("." if i else "") + s for i, s in enumerate(path))


def loader_levels(binary):
    """{level name: keys} for every map the loader reads, found from the top down."""
    levels = {}
    with tempfile.TemporaryDirectory() as scratch:
        todo = [[]]
        while todo:
            path = todo.pop()
            keys = allowed_keys(binary, scratch, path)
            levels[level_name(path)] = keys
            if len(path) > 8:
                raise SystemExit("the probe went deeper than any config: %s" % level_name(path))
            for key in keys:
                for below in ([key], [key, "[]"]):
                    if allowed_keys(binary, scratch, path + below) is not None:
                        todo.append(path + below)
                        break
    if not levels.get("") or "rules[]" not in levels:
        raise SystemExit("the loader's errors no longer list the allowed keys as "
                         "'unknown key \"...\"; allowed: a, b': update this probe")
    return levels


def check_keys(levels, page):
    problems = []
    found = sections(page)
    for level, keys in sorted(levels.items()):
        shown = level or "the top level"
        # A section documents the levels its heading names (`rules[].match`),
        # the top level's heading says "top level".
        parts = [(h, tags) for h, tags in found
                 if (level and level in re.findall(r"[\w\[\].]+", h))
                 or (not level and "TOP LEVEL" in h.upper())]
        if not parts:
            problems.append(
                "memoryguard.yaml(5) has no section for the keys of %s (%s), which the loader "
                "accepts: add a heading '### Keys of ...: `%s`' with a table of them to %s"
                % (shown, ", ".join(keys), level, WHERE_KEYS))
            continue
        documented = {tag.split()[0] for _, tags in parts for tag in tags if tag.split()}
        for key in keys:
            if key not in documented:
                problems.append(
                    "memoryguard.yaml(5) has no entry for the key `%s` of %s, which the loader "
                    "accepts: add a row | `%s` | default | what it does | under '%s' in %s"
                    % (key, shown, key, parts[0][0], WHERE_KEYS))
        for key in sorted(documented - set(keys)):
            problems.append(
                "memoryguard.yaml(5) documents `%s` under '%s', which the loader does not "
                "accept at %s: take its row out of %s, or fix its name"
                % (key, parts[0][0], shown, WHERE_KEYS))
    return problems


# ---- rendering ----

def check_render(path):
    problems = []
    for command in (["groff", "-ww", "-z", "-man", path],
                    ["man", "--warnings", "-l", path]):
        run = subprocess.run(command, capture_output=True, text=True,
                             env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
        if run.returncode != 0 or run.stderr.strip():
            problems.append("`%s` warns:\n%s" % (" ".join(command), run.stderr.strip()))
        elif command[0] == "man" and "NAME" not in run.stdout:
            problems.append("`%s` renders no NAME section" % " ".join(command))
    return problems


def check(binary, page1, page5, levels, page5_path, page1_path):
    return (check_flags(binary, page1) + check_keys(levels, page5)
            + check_render(page1_path) + check_render(page5_path))


def without_entry(page, tag_start):
    """The page with the .TP entry whose tag starts with `tag_start` taken out."""
    lines = page.splitlines()
    for i, line in enumerate(lines):
        if line == ".TP" and i + 1 < len(lines) and unescape(lines[i + 1]).startswith(tag_start):
            end = i + 2
            while end < len(lines) and not lines[end].startswith((".TP", ".SH", ".SS")):
                end += 1
            return "\n".join(lines[:i] + lines[end:]) + "\n"
    raise SystemExit("self-check: no entry %s to take out" % tag_start)


def main(argv):
    binary, man_dir = argv[1:3]
    page1_path = os.path.join(man_dir, "memoryguard.1")
    page5_path = os.path.join(man_dir, "memoryguard.yaml.5")
    page1 = open(page1_path, encoding="ascii").read()
    page5 = open(page5_path, encoding="ascii").read()
    levels = loader_levels(binary)

    problems = check(binary, page1, page5, levels, page5_path, page1_path)
    if problems:
        print("\n".join("FAIL: " + p for p in problems))
        return 1

    # The check must be able to fail: an entry gone, a request groff does not know.
    with tempfile.TemporaryDirectory() as scratch:
        broken = os.path.join(scratch, "broken.5")
        with open(broken, "w") as f:
            f.write(page5 + ".XX not a request\n")
        caught = {
            "a flag's entry taken out": check_flags(binary, without_entry(page1, "--once")),
            "a key's entry taken out": check_keys(levels, without_entry(page5, "exec_timeout")),
            "an unknown request": check_render(broken),
        }
    for what, found in caught.items():
        if not found:
            print("FAIL: the check missed %s" % what)
            return 1

    counted = sum(len(k) for k in levels.values())
    print("ok: %d flags in memoryguard(1); %d keys at %d levels in memoryguard.yaml(5): %s; "
          "groff and man -l render both without a warning"
          % (len(help_flags(binary)), counted, len(levels),
             ", ".join(level or "(top)" for level in sorted(levels))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
