#!/usr/bin/env python3
"""Translations: the Chinese catalog is complete, and the language is chosen as documented.

usage: test_i18n.py po MSGFMT XGETTEXT MSGCMP SOURCE_DIR -- XGETTEXT_ARGS... -- SOURCES...
       test_i18n.py run SEGSCOPE SOURCE_DIR [SEGSCOPE_DEMO]

"po" checks that po/zh_CN.po compiles with no fuzzy or untranslated entry
and that it translates every message the sources mark today. "run" checks
that LANG=zh_CN.UTF-8 gives Chinese even where that locale is not installed,
that LANG=C gives English, that --lang wins over the environment, that JSON
stays English, and that the Chinese summary tables line up on a terminal;
that the framing module's reasons are translated in the summary and the
notes but stay English in JSON; and, given SEGSCOPE_DEMO, the same for
segscope-demo: list, --help and errors follow --lang and the locale, and (as
root) a Chinese `segscope-demo run hello` prints Chinese while its trace file
stays what an English run writes.
"""
import json
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

    # The framing module's reasons: translated for people, English in JSON.
    zh_why, en_why = "超过最大消息长度", "exceeds the maximum message size"
    rc, out, err = run(["-r", sticky, "--framing", "len32", "--summary"], LANG="zh_CN.UTF-8")
    check("framing lost: Chinese reason in the summary", rc == 0 and zh_why in out and en_why not in out, out[-600:])
    rc, out, err = run(["-r", sticky, "--framing", "len32", "--json"], LANG="zh_CN.UTF-8")
    cjk = [ch for ch in out if unicodedata.east_asian_width(ch) in "WF"]
    check("framing lost: English reason in JSON", rc == 0 and en_why in out and not cjk, "".join(cjk[:40]))
    rc, out, err = run(["-r", sticky, "--framing", "auto", "--lang", "zh_CN"])
    check("inferred framing: Chinese reason in the note", rc == 0 and "条消息，每条以分隔符结尾" in out, out[:600])
    rc, out, err = run(["-r", sticky, "--framing", "auto", "--json", "--lang", "zh_CN"])
    check("inferred framing: English reason in JSON", rc == 0 and "each ended by the delimiter" in out, out[:600])

    if len(argv) > 2:
        demo_checks(os.path.abspath(argv[2]), base)


def demo_checks(demo, base):
    def run(args, cwd=None, timeout=60, **env):
        p = subprocess.run([demo, *args], capture_output=True, env=dict(base, **env), cwd=cwd, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")

    zh, en = "一条消息及其回复", "one message and its reply"
    rc, out, err = run(["list", "--lang", "zh_CN"])
    check("demo: list --lang zh_CN", rc == 0 and zh in out and en not in out, out[:400] + err)
    rc, out, err = run(["list"], LANG="zh_CN.UTF-8")
    check("demo: LANG=zh_CN.UTF-8 list", rc == 0 and zh in out and en not in out, out[:400] + err)
    rc, out, err = run(["--lang", "en", "list"], LANG="zh_CN.UTF-8", LANGUAGE="zh_CN")
    check("demo: --lang en (before the command) wins over the environment", rc == 0 and en in out and zh not in out,
          out[:400] + err)
    rc, out, err = run(["list", "--lang=en"], LC_ALL="zh_CN.UTF-8")
    check("demo: list --lang=en", rc == 0 and en in out and zh not in out, out[:400] + err)
    rc, out, err = run(["list"], LANG="C")
    check("demo: LANG=C list", rc == 0 and en in out, out[:400] + err)
    rc, out, err = run(["--help"], LANG="zh_CN.UTF-8")
    check("demo: --help in Chinese", rc == 0 and out.startswith("用法") and "--lang" in out and "零窗口" in out,
          out[:400])
    rc, out, err = run(["--help", "--lang", "en"], LANG="zh_CN.UTF-8")
    check("demo: --help in English", rc == 0 and out.startswith("Usage") and "--lang" in out, out[:400])
    rc, out, err = run(["client", "--bogus", "--lang", "zh_CN"])
    check("demo: usage errors in Chinese", rc == 2 and "未知选项" in err, err)
    rc, out, err = run(["run", "--help"], LANG="zh_CN.UTF-8")
    check("demo: run --help in Chinese", rc == 0 and out.startswith("用法") and "--lang" in out, out[:400])

    # A scenario captured in a network namespace of its own: root only (or user namespaces).
    if os.geteuid() != 0:
        print("demo: not root, the Chinese run of a scenario is not checked")
        return
    with tempfile.TemporaryDirectory() as d:
        dz, de = os.path.join(d, "zh"), os.path.join(d, "en")
        os.mkdir(dz)
        os.mkdir(de)
        rc, out, err = run(["run", "hello", "--no-color", "--out", dz], LANG="zh_CN.UTF-8", timeout=90)
        check("demo: Chinese run hello", rc == 0, out[-800:] + err)
        check("demo: Chinese scenario heading", out.startswith("场景 hello：" + zh), out[:300])
        check("demo: Chinese program lines", "程序的输出：" in out and "服务器 正在监听" in out and "once：发送 5 字节" in out,
              out[:1200])
        check("demo: Chinese analysis and verdict", "三次握手" in out and "hello：看到了" in out, out[-600:])
        rc2, out2, err2 = run(["run", "hello", "--no-color", "--out", de], LANG="C", timeout=90)
        check("demo: English run hello", rc2 == 0 and out2.startswith("Scenario hello: " + en)
              and "hello: shows" in out2, out2[-600:] + err2)

        def records(path):
            """The trace's lines, with what differs from run to run (time, pids, fds, ports) blanked."""
            recs = []
            raw = open(path, "rb").read()
            for line in raw.decode("ascii").splitlines():
                r = json.loads(line)
                keys = list(r)
                for k in ("ts", "pid", "fd"):
                    r[k] = 0
                for k in ("local", "remote"):
                    if r.get(k):
                        r[k] = r[k].rsplit(":", 1)[0] + (":9000" if r[k].endswith(":9000") else ":*")
                recs.append((keys, r))
            return recs

        tz, te = os.path.join(dz, "hello.trace.jsonl"), os.path.join(de, "hello.trace.jsonl")
        if os.path.exists(tz) and os.path.exists(te):
            try:
                rz, ren = records(tz), records(te)
            except (UnicodeDecodeError, ValueError) as e:
                rz, ren = None, str(e)
            ok = bool(rz) and sorted(map(str, rz)) == sorted(map(str, ren))
            check("demo: the Chinese run's trace is ASCII JSON with the English run's records", ok,
                  f"{rz!r}\n{ren!r}"[:1500])
        else:
            check("demo: both runs saved a trace", False, str(os.listdir(dz)) + str(os.listdir(de)))


if sys.argv[1] == "po":
    po_checks(sys.argv[2:])
else:
    run_checks(sys.argv[2:])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
