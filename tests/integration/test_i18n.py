#!/usr/bin/env python3
"""Translations: the Chinese catalog is complete, and the language is chosen as documented.

usage: test_i18n.py po MSGFMT XGETTEXT MSGCMP SOURCE_DIR -- XGETTEXT_ARGS... -- SOURCES...
       test_i18n.py run SEGSCOPE SOURCE_DIR

"po" checks that po/zh_CN.po compiles with no fuzzy or untranslated entry
and that it translates every message the sources mark today. "run" checks
that LANG=zh_CN.UTF-8 gives Chinese even where that locale is not installed,
that LANG=C gives English, that --lang wins over the environment, that JSON
stays English, and that the Chinese summary tables line up on a terminal.
"""
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

failed = passed = 0


def check(name, ok, detail=""):
    global failed, passed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}"[:2000])


def po_checks(argv):
    msgfmt, xgettext, msgcmp, src = argv[:4]
    rest = argv[4:]
    sep = rest.index("--", 1)
    xargs, sources = rest[1:sep], rest[sep + 1:]
    po = os.path.join(src, "po", "zh_CN.po")
    p = subprocess.run([msgfmt, "--check", "--statistics", "-o", os.devnull, po], capture_output=True, text=True)
    stats = p.stderr.strip()
    check("msgfmt --check", p.returncode == 0, stats)
    check("no fuzzy or untranslated entry", "fuzzy" not in stats and "untranslated" not in stats, stats)
    check("something translated", re.search(r"\d+ translated message", stats) is not None, stats)
    with tempfile.TemporaryDirectory() as d:
        pot = os.path.join(d, "segscope.pot")
        p = subprocess.run([xgettext, *xargs, "-o", pot, *sources], capture_output=True, text=True, cwd=src)
        check("xgettext", p.returncode == 0, p.stderr)
        # Every message in today's sources has a translation (extra, older entries are allowed).
        p = subprocess.run([msgcmp, po, pot], capture_output=True, text=True)
        check("every marked message translated (msgcmp)", p.returncode == 0, p.stderr)


def east_asian_width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def tables_aligned(text):
    """Each table: every column starts (left-aligned) or ends (right-aligned) at the same terminal column."""
    problems = []
    blocks, cur = [], []
    for line in text.splitlines():
        if line.startswith("#  "):
            cur = [line]
            blocks.append(cur)
        elif cur and line.strip():
            cur.append(line)
        else:
            cur = []
    for b in blocks:
        spans = []
        for line in b:
            cells = [(m.start(), m.end()) for m in re.finditer(r"\S+(?: \S+)*", line)]
            spans.append([(east_asian_width(line[:a]), east_asian_width(line[:e])) for a, e in cells])
        if len({len(s) for s in spans}) != 1:
            problems.append(f"rows with different numbers of cells: {b}")
            continue
        head, rows = spans[0], spans[1:]
        for c in range(len(head)):
            starts = {r[c][0] for r in rows}
            ends = {r[c][1] for r in rows}
            # Headings are left-aligned; the cells under them left- or right-aligned.
            left = starts == {head[c][0]}
            right = len(ends) == 1 and head[c][0] <= min(starts) and head[c][1] <= min(ends)
            if not (left or right):
                problems.append(f"column {c} of the table under {b[0]!r}: heading {head[c]}, starts {starts}, "
                                f"ends {ends}")
    return blocks, problems


def run_checks(argv):
    binary, src = os.path.abspath(argv[0]), argv[1]
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "NO_COLOR")}
    sticky = os.path.join(src, "captures", "sticky-nagle.pcap")
    anomalies = os.path.join(src, "tests", "data", "spec", "anomalies.pcap")

    def run(args, **env):
        p = subprocess.run([binary, *args], capture_output=True, env=dict(base, **env))
        return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")

    zh = "客户端发起连接"
    en = "The client opens a connection"
    rc, out, err = run(["-r", sticky, "--explain"], LANG="zh_CN.UTF-8")
    check("LANG=zh_CN.UTF-8 gives Chinese", rc == 0 and zh in out, out[:600] + err)
    rc, out, err = run(["-r", sticky, "--explain"], LANG="C")
    check("LANG=C gives English", rc == 0 and en in out and zh not in out, out[:600] + err)
    rc, out, err = run(["-r", sticky, "--explain"])
    check("no locale in the environment gives English", rc == 0 and en in out, out[:600] + err)
    rc, out, err = run(["-r", sticky, "--explain"], LC_ALL="zh_CN.UTF-8", LANG="C")
    check("LC_ALL wins over LANG", rc == 0 and zh in out, out[:600] + err)
    rc, out, err = run(["-r", sticky, "--explain", "--lang", "zh_CN"], LC_ALL="C")
    check("--lang zh_CN under LC_ALL=C", rc == 0 and zh in out, out[:600] + err)
    rc, out, err = run(["-r", sticky, "--explain", "--lang=en"], LANG="zh_CN.UTF-8", LANGUAGE="zh_CN")
    check("--lang en wins over the environment", rc == 0 and en in out and zh not in out, out[:600] + err)
    rc, out, err = run(["--lang", "zh_CN"])
    check("usage errors in Chinese", rc == 2 and "请给出" in err, err)
    rc, out, err = run(["--help"], LANG="zh_CN.UTF-8")
    check("--help in Chinese", rc == 0 and out.startswith("用法") and "--lang" in out, out[:300])
    rc, out, err = run(["-r", anomalies, "--json"], LANG="zh_CN.UTF-8")
    cjk = [ch for ch in out if unicodedata.east_asian_width(ch) in "WF"]
    check("JSON stays English", rc == 0 and out and not cjk, "".join(cjk[:40]))
    rc, out, err = run(["-r", anomalies, "--summary"], LANG="zh_CN.UTF-8")
    blocks, problems = tables_aligned(out)
    check("Chinese summary tables found", rc == 0 and len(blocks) == 2 and "握手" in out, out[:600])
    check("Chinese summary tables line up", not problems, "; ".join(problems))
    with tempfile.TemporaryDirectory() as d:
        page = os.path.join(d, "zh.html")
        rc, out, err = run(["-r", sticky, "--lang", "zh_CN", "--html", page])
        html = open(page, encoding="utf-8").read() if rc == 0 else ""
        check("HTML report in Chinese", '<html lang="zh-CN">' in html and "图例说明" in html and zh in html,
              err + html[:300])
        rc, out, err = run(["-r", sticky, "--html", page], LANG="C")
        html = open(page, encoding="utf-8").read() if rc == 0 else ""
        check("HTML report in English", '<html lang="en">' in html and "How to read the pictures" in html, err)
    rc, out, err = run(["-r", sticky, "--follow", "0", "--lang", "zh_CN"])
    check("--follow in Chinese", rc == 0 and "== 会话 0 结束" in out, out[-300:])
    rc, out, err = run(["-r", anomalies, "--summary"], LANG="C")
    blocks, problems = tables_aligned(out)
    check("English summary tables line up", rc == 0 and len(blocks) == 2 and not problems, "; ".join(problems))


if sys.argv[1] == "po":
    po_checks(sys.argv[2:])
else:
    run_checks(sys.argv[2:])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
