#!/usr/bin/env python3
"""Makes the man pages memoryguard(1) and memoryguard.yaml(5) from README.md.

The README is the one source: its sections are converted to roff as they
are, so the man pages cannot say something else than the README does.

    mkman.py README.md VERSION OUTDIR

Which README sections make each page is in PAGES below. Within a section,
the text before its first `###` heading goes under the page section named
there; each `###` heading becomes a page section of its own and `####` a
subsection. Tables become tagged paragraphs, one a row: the first column is
the tag, the last the text, and the columns between are shown as
"Header: value". Only the Markdown the README uses is understood:
paragraphs, `-` lists, tables, fenced code, `code`, **bold**, *italics* and
[links](...).

SOURCE_DATE_EPOCH, when set (dpkg-buildpackage sets it from
debian/changelog), dates the pages; otherwise they carry no date, so that a
build is reproducible either way.
"""
import datetime
import os
import re
import sys

PAGES = {
    "memoryguard.1": {
        "title": "MEMORYGUARD",
        "section": "1",
        "manual": "User Commands",
        "name": "memoryguard \\- kill processes that grow past their memory limit, "
        "and export what it sees to Prometheus",
        # The first fenced block of the first README section is the synopsis.
        "synopsis_from_first_block": True,
        "description": "intro",
        "sections": [
            ("Command line", "OPTIONS"),
            ("Guarding one program: `run` and `--pid`", "GUARDING ONE PROGRAM"),
            ("How it behaves", "BEHAVIOUR"),
        ],
        "see_also": "memoryguard.yaml(5), systemctl(1), journalctl(1)",
    },
    "memoryguard.yaml.5": {
        "title": "MEMORYGUARD.YAML",
        "section": "5",
        "manual": "File Formats",
        "name": "memoryguard.yaml \\- the rules of memoryguard(1)",
        "synopsis": "/etc/memoryguard/memoryguard.yaml",
        "sections": [
            ("Config", "DESCRIPTION"),
            ("What the kernel OOM-kills on: working set, pressure, MemAvailable", "CONDITIONS"),
        ],
        "see_also": "memoryguard(1)",
    },
}


class SourceError(Exception):
    pass


def split_sections(lines):
    """The README as {H2 title: its lines}, plus the intro under the H1."""
    sections, title, intro = {}, None, []
    in_code = False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            title = line[3:].strip()
            sections[title] = []
        elif title is None:
            intro.append(line)
        else:
            sections[title].append(line)
    return intro, sections


def escape(text):
    """Plain text as roff: backslashes, hyphens (minus signs, so that flags
    copy and paste) and non-ASCII characters (as groff's Unicode escapes, so
    that groff needs no preprocessor for them)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s][^*]*?)\*(?![\w*])"
    r"|\[(?P<link>[^\]]+)\]\((?P<url>[^)]+)\)"
)


def inline(text):
    """Markdown spans as roff fonts; links keep their text only."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(escape(text[pos : m.start()]))
        if m.group("code") is not None:
            out.append("\\fB" + escape(m.group("code")) + "\\fR")
        elif m.group("bold") is not None:
            out.append("\\fB" + inline(m.group("bold")) + "\\fR")
        elif m.group("em") is not None:
            out.append("\\fI" + inline(m.group("em")) + "\\fR")
        else:
            out.append(inline(m.group("link")))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def text_line(text):
    """One line of running text; a leading . or ' would read as a request."""
    line = inline(text.strip())
    return "\\&" + line if line[:1] in (".", "'") else line


def cells(row):
    row = row.strip()
    if not (row.startswith("|") and row.endswith("|")):
        raise SourceError("a table row must start and end with |: " + row)
    # A | inside a code span (`a|b`) is part of the cell, not a border.
    parts, cur, in_code = [], "", False
    for ch in row[1:-1]:
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def table(rows):
    header = cells(rows[0])
    if len(rows) < 2 or not re.fullmatch(r"\|?[\s|:-]+\|?", rows[1].strip()):
        raise SourceError("a table needs a header and a |---| line: " + rows[0])
    out = []
    for row in rows[2:]:
        row_cells = cells(row)
        if len(row_cells) != len(header):
            raise SourceError("this row has %d cells, its header %d: %s"
                              % (len(row_cells), len(header), row))
        out.append(".TP")
        out.append(text_line(row_cells[0]))
        body = row_cells[-1] if len(row_cells) > 1 else ""
        extras = []
        for name, value in zip(header[1:-1], row_cells[1:-1]):
            if value:
                extras.append((name[:1].upper() + name[1:] if name else "") + ": " + value)
        if body:
            out.append(text_line(body))
        for i, extra in enumerate(extras):
            if body or i:
                out.append(".br")
            out.append(text_line(extra))
    return out


def heading(text):
    """A section heading: upper case, as man pages have them, except inside
    code spans (key paths such as rules[].match keep their case)."""
    parts = re.split(r"(`[^`]+`)", text.strip())
    shown = "".join(p if p.startswith("`") else p.upper() for p in parts)
    return '"' + inline(shown).replace('"', "\\(dq") + '"'


def starts_paragraph_line(line):
    """Whether the line goes on a paragraph rather than end it."""
    stripped = line.strip()
    return bool(stripped) and not line.startswith("- ") and not re.match(
        r"```|#|\||<a id=", stripped)


def blocks(lines):
    """roff for a run of README lines (no H2 among them)."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or re.fullmatch(r"<a id=\"[^\"]*\"></a>", stripped):
            i += 1
        elif stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            if j == len(lines):
                raise SourceError("a fenced code block is never closed: " + stripped)
            out += [".PP", ".RS 4", ".nf"]
            out += ["\\&" + escape(code) for code in lines[i + 1 : j]]
            out += [".fi", ".RE"]
            i = j + 1
        elif stripped.startswith("#### "):
            out.append(".SS " + heading(stripped[5:]))
            i += 1
        elif stripped.startswith("### "):
            out.append(".SH " + heading(stripped[4:]))
            i += 1
        elif stripped.startswith("#"):
            raise SourceError("only ### and #### headings may stand in a section: " + stripped)
        elif stripped.startswith("|"):
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            out += table(lines[i:j])
            i = j
        elif re.match(r"- ", line):
            item = [line[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i])
                i += 1
            out += [".IP \\(bu 2", text_line(" ".join(s.strip() for s in item))]
        else:
            para = [stripped]
            i += 1
            while i < len(lines) and starts_paragraph_line(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out += [".PP", text_line(" ".join(para))]
    return out


def first_paragraph(lines):
    para = []
    for line in lines:
        if line.startswith("#"):
            continue
        if not line.strip():
            if para:
                break
            continue
        para.append(line.strip())
    return para


def page(name, spec, intro, sections, version, date):
    out = [
        '.\\" Made by deploy/man/mkman.py from README.md: edit the README, not this file.',
        '.TH %s %s "%s" "memoryguard %s" "%s"'
        % (spec["title"], spec["section"], date, version, spec["manual"]),
        ".SH NAME",
        spec["name"],
        ".SH SYNOPSIS",
    ]
    body = []
    synopsis = spec.get("synopsis")
    for number, (title, first_heading) in enumerate(spec["sections"]):
        if title not in sections:
            raise SourceError("README.md has no section '## %s', which %s is made of"
                              % (title, name))
        lines = sections[title]
        if number == 0 and spec.get("synopsis_from_first_block"):
            start = next((i for i, l in enumerate(lines) if l.startswith("```")), None)
            end = start is not None and next(
                (i for i in range(start + 1, len(lines)) if lines[i].startswith("```")), None)
            if not end:
                raise SourceError("'## %s' must open with a code block: the synopsis" % title)
            synopsis = lines[start + 1 : end]
            lines = lines[:start] + lines[end + 1 :]
        body.append(".SH " + heading(first_heading))
        body += blocks(lines)
    if isinstance(synopsis, list):
        out += [".nf"] + ["\\&" + escape(s) for s in synopsis] + [".fi"]
    else:
        out.append(escape(synopsis))
    if spec.get("description") == "intro":
        out += [".SH DESCRIPTION", text_line(" ".join(first_paragraph(intro)))]
    out += body
    out += [".SH \"SEE ALSO\"", escape(spec["see_also"])]
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: mkman.py README.md VERSION OUTDIR")
    readme, version, outdir = argv[1:]
    with open(readme, encoding="utf-8") as f:
        intro, sections = split_sections(f.read().splitlines())
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = ""
    if epoch:
        date = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d")
    os.makedirs(outdir, exist_ok=True)
    for name, spec in PAGES.items():
        try:
            text = page(name, spec, intro, sections, version, date)
        except SourceError as e:
            sys.exit("mkman.py: %s: %s" % (readme, e))
        with open(os.path.join(outdir, name), "w", encoding="ascii") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv)
