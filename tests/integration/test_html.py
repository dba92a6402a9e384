#!/usr/bin/env python3
"""The HTML report (--html) and the CSV summary (--csv).

    test_html.py SEGSCOPE DATA CAPTURES OUTDIR            structure, without a browser
    test_html.py SEGSCOPE DATA CAPTURES OUTDIR --browser  the pages in headless Chromium

Without a browser: each report parses as well-formed HTML, references
nothing outside itself, and its ladders have one arrow per packet with the
labels and classes the JSON records imply; the CSV has a header row and one
row per JSON conversation record, with the same values.

With --browser: each report is loaded by headless Chromium with a collector
for script errors injected; the page must run its script without errors,
fetch nothing, and keep its arrows; a screenshot of each page is written to
OUTDIR. Skips (77) when Chromium is not installed, unless
SEGSCOPE_REQUIRE_BROWSER=1 (CI sets it).
"""
import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

from checks import Tally

BIN, DATA, CAPTURES, OUTDIR = sys.argv[1:5]
BROWSER = "--browser" in sys.argv[5:]

REPORTS = [
    # name, capture, extra arguments
    ("hello", os.path.join(CAPTURES, "hello.pcap"), []),
    ("anomalies", os.path.join(DATA, "spec", "anomalies.pcap"), []),
    ("real_lo", os.path.join(DATA, "spec", "real_lo.pcap"), []),
    ("len32", os.path.join(CAPTURES, "len32.pcap"), ["--framing", "len32"]),
    ("file-transfer", os.path.join(CAPTURES, "file-transfer.pcap"), ["--framing", "filexfer"]),
    ("udp", os.path.join(CAPTURES, "udp.pcap"), ["--framing", "line"]),
]

REXMIT = {"retransmission", "fast_retransmission", "spurious_retransmission"}


tally = Tally()
check = tally.check


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def json_records(capture, extra):
    rc, out, err = run("-r", capture, "--json", *extra)
    assert rc == 0, err
    return [json.loads(l) for l in out.splitlines()]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Checks nesting (every end tag closes the innermost open element) and collects what the tests need."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.elements = []  # (tag, attrs, path of enclosing (tag, class) pairs)
        self.texts = {}  # id(element record) -> text inside it
        self.open_records = []

    def handle_starttag(self, tag, attrs):
        rec = {"tag": tag, "attrs": dict(attrs), "parents": [r for r in self.open_records], "text": ""}
        self.elements.append(rec)
        if tag not in VOID:
            self.stack.append(tag)
            self.open_records.append(rec)

    def handle_startendtag(self, tag, attrs):
        rec = {"tag": tag, "attrs": dict(attrs), "parents": [r for r in self.open_records], "text": ""}
        self.elements.append(rec)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> "
                               f"at line {self.getpos()[0]}")
            return
        self.stack.pop()
        self.open_records.pop()

    def handle_data(self, data):
        for r in self.open_records:
            r["text"] += data


def classes(rec):
    return rec["attrs"].get("class", "").split()


def parse(text):
    p = Page()
    p.feed(text)
    p.close()
    if p.stack:
        p.errors.append(f"unclosed at the end: {p.stack}")
    return p


def ladder_arrows(page):
    """Arrows (g.pkt inside svg.ladder), grouped by the conversation section (id) they are in."""
    out = {}
    for r in page.elements:
        if r["tag"] != "g" or "pkt" not in classes(r):
            continue
        if not any(p["tag"] == "svg" and "ladder" in classes(p) for p in r["parents"]):
            continue
        sec = next((p["attrs"].get("id") for p in r["parents"] if "conv" in classes(p)), None)
        out.setdefault(sec, []).append(r)
    return out


def child_text(page, arrow, cls):
    """Text of the first element with class `cls` inside `arrow`."""
    for r in page.elements:
        if arrow in r["parents"] and cls in classes(r):
            return r["text"]
    return None


LETTERS = [("SYN", "S"), ("FIN", "F"), ("PSH", "P"), ("RST", "R"), ("URG", "U"), ("ECE", "E"), ("CWR", "W"),
           ("AE", "A"), ("ACK", ".")]


def expected_label(rec):
    """The arrow label the JSON packet record implies: tcpdump's flags, relative numbers."""
    if rec.get("proto") == "udp":
        return None
    flags = "".join(c for f, c in LETTERS if f in rec["flags"]) or "none"
    s = f"[{flags}] seq {rec['seq']}"
    if "ACK" in rec["flags"]:
        s += f" ack {rec['ack']}"
    if rec["len"]:
        s += f" len {rec['len']}"
    if rec["win"] == 0 and "RST" not in rec["flags"]:
        s += " win 0"
    if not rec.get("analyzed", True):
        s += " (raw)"
    return s


# ---- structure, without a browser -------------------------------------------------------------------

work = tempfile.mkdtemp(prefix="segscope-html-")
pages = {}
try:
    for name, capture, extra in REPORTS:
        path = os.path.join(work, name + ".html")
        rc, out, err = run("-r", capture, "--html", path, *extra)
        check(f"{name}: exit 0", rc == 0, err)
        check(f"{name}: timeline still on stdout", len(out.splitlines()) > 5, out[:200])
        leftovers = [f for f in os.listdir(work) if f.startswith(".")]
        check(f"{name}: no temporary file left", not leftovers, leftovers)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        pages[name] = path
        page = parse(text)
        check(f"{name}: well-formed", not page.errors, page.errors[:5])
        check(f"{name}: doctype", text.startswith("<!DOCTYPE html>"), text[:40])
        check(f"{name}: no http:// or https://", not re.search(r"https?://", text),
              re.findall(r".{40}https?://.{40}", text)[:3])
        ext = [(r["tag"], k, v) for r in page.elements for k, v in r["attrs"].items()
               if k in ("src", "srcset", "action", "data", "poster") or (k in ("href", "xlink:href") and not
                                                                             (v or "").startswith("#"))]
        check(f"{name}: no resource references", not ext, ext[:5])
        check(f"{name}: no <link>, <img>, <iframe>", not any(r["tag"] in ("link", "img", "iframe", "object", "embed")
                                                         for r in page.elements), "")
        check(f"{name}: has its script and style", any(r["tag"] == "script" for r in page.elements) and
              any(r["tag"] == "style" for r in page.elements), "")

        recs = json_records(capture, extra)
        convs = [r for r in recs if r["type"] == "conversation"]
        pkts = [r for r in recs if r["type"] == "packet" and ("tcp_stream" in r or "udp_stream" in r)]
        # The table: one row per conversation record.
        rows = [r for r in page.elements if r["tag"] == "tr" and any(p["tag"] == "tbody" for p in r["parents"])
                and any(p["tag"] == "table" and "convs" in classes(p) for p in r["parents"])]
        check(f"{name}: one table row per conversation", len(rows) == len(convs), f"{len(rows)} vs {len(convs)}")
        # The ladders: one arrow per packet, in capture order, with the JSON record's label and classes.
        arrows = ladder_arrows(page)
        for cv in convs:
            key = ("tcp-" + str(cv["tcp_stream"])) if "tcp_stream" in cv else ("udp-" + str(cv["udp_stream"]))
            mine = [p for p in pkts if ("tcp-" + str(p["tcp_stream"]) if "tcp_stream" in p
                                        else "udp-" + str(p["udp_stream"])) == key]
            got = arrows.get(key, [])
            check(f"{name} {key}: one arrow per packet", len(got) == len(mine), f"{len(got)} arrows, {len(mine)} packets")
            for a, p in zip(got, mine):
                where = f"{name} {key} frame {p['frame']}"
                check(f"{where}: data-f", a["attrs"].get("data-f") == str(p["frame"]), a["attrs"])
                check(f"{where}: direction", p["dir"] in classes(a), classes(a))
                want = expected_label(p)
                if want is not None:
                    got_label = child_text(page, a, "lbl")
                    check(f"{where}: label", got_label == want, f"{got_label!r} != {want!r}")
                an = set(p.get("analysis", []))
                check(f"{where}: retrans class", ("retrans" in classes(a)) == bool(an & REXMIT),
                      f"{classes(a)} vs {sorted(an)}")
                check(f"{where}: dupack class", ("dupack" in classes(a)) == ("duplicate_ack" in an), classes(a))
                check(f"{where}: zerowin class", ("zerowin" in classes(a)) == ("zero_window" in an), classes(a))
                check(f"{where}: tooltip", any(r["tag"] == "title" and a in r["parents"] and
                                               f"Frame {p['frame']} " in r["text"] for r in page.elements), "")
            if cv["proto"] == "tcp" and (cv["payload_c2s"] or cv["payload_s2c"]):
                tsg = [r for r in page.elements if r["tag"] == "svg" and "tsg" in classes(r) and
                       any(q["attrs"].get("id") == key for q in r["parents"])]
                check(f"{name} {key}: a time-sequence graph per direction with data",
                      len(tsg) == bool(cv["payload_c2s"]) + bool(cv["payload_s2c"]), len(tsg))

        if name == "hello":
            labels = [child_text(page, a, "lbl") for a in arrows.get("tcp-0", [])]
            check("hello: 12 arrows", len(labels) == 12, labels)
            check("hello: handshake labels", labels[:3] == ["[S] seq 0", "[S.] seq 0 ack 1", "[.] seq 1 ack 1"],
                  labels[:3])
            check("hello: data and FIN labels", "[P.] seq 1 ack 1 len 5" in labels and "[F.] seq 11 ack 16" in labels,
                  labels)
            check("hello: states beside the lines", all(s in text for s in ("SYN-SENT", "SYN-RCVD", "ESTABLISHED",
                                                                              "FIN-WAIT-1", "LAST-ACK", "TIME-WAIT")),
                  "")
            check("hello: legend", "How to read the pictures" in text, "")
        if name == "anomalies":
            retrans = [a for arr in arrows.values() for a in arr if "retrans" in classes(a)]
            check("anomalies: retransmission arrows marked", len(retrans) >= 3, len(retrans))
            check("anomalies: retransmission arrows coloured as notes", all("sev-note" in classes(a) for a in retrans),
                  [classes(a) for a in retrans])
            check("anomalies: markers named", all(s in text for s in ("Fast retransmission", "Dup ACK #1 of frame 7",
                                                                        "Zero window", "Window update")), "")
            check("anomalies: explanations in the tooltips", "the retransmission timer expired" in text, "")
        if name == "len32":
            msgs = [r for r in recs if r["type"] == "message"]
            blocks = [r for r in page.elements if r["tag"] == "g" and "m" in classes(r) and
                      any(p["tag"] == "svg" and "msgv" in classes(p) for p in r["parents"])]
            check("len32: one block per message", len(blocks) == len(msgs), f"{len(blocks)} vs {len(msgs)}")
            split = [b for b in blocks if "split" in classes(b)]
            check("len32: split messages marked", len(split) == sum(1 for m in msgs if m["split"]),
                  f"{len(split)}")
            coal = [r for r in page.elements if r["tag"] == "g" and "coalesced" in classes(r) and "s" in classes(r)]
            check("len32: coalesced segments marked", len(coal) == sum(1 for p in pkts if p.get("coalesced")),
                  len(coal))
            check("len32: coalesced arrows in the ladder", any("coalesced" in classes(a)
                                                               for arr in arrows.values() for a in arr), "")

    # The same capture always gives the same page.
    again = os.path.join(work, "again.html")
    run("-r", REPORTS[1][1], "--html", again)
    with open(pages["anomalies"], "rb") as f1, open(again, "rb") as f2:
        check("deterministic", f1.read() == f2.read(), "two runs differ")

    # A capture without any conversation: a page and a CSV that say so (and nothing sorted from nothing).
    empty = os.path.join(work, "empty.pcap")
    with open(empty, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    rc, out, err = run("-r", empty, "--html", os.path.join(work, "empty.html"), "--csv", os.path.join(work, "empty.csv"))
    check("empty capture: exit 0", rc == 0, err)
    if rc == 0:
        with open(os.path.join(work, "empty.html"), encoding="utf-8") as f:
            text = f.read()
        check("empty capture: page says so", "No TCP or UDP conversation" in text and not parse(text).errors, "")
        with open(os.path.join(work, "empty.csv"), encoding="utf-8") as f:
            check("empty capture: CSV is the header row", len(f.read().splitlines()) == 1, "")

    # A report that cannot be written: exit 2, nothing left behind.
    rc, out, err = run("-r", REPORTS[0][1], "--html", os.path.join(work, "no-such-dir", "r.html"))
    check("unwritable --html", rc == 2 and "--html" in err, f"rc={rc} {err}")

    # --csv: a header row, then one row per conversation record with the same values.
    def flat(cv):
        out = {}
        for k, v in cv.items():
            if k in ("tcp_stream", "udp_stream"):
                out["stream"] = v
            elif k in ("isn", "state") and isinstance(v, dict):
                for side, x in v.items():
                    out[f"{k}_{side}"] = x
            elif k == "analysis_counts":
                out.update(v)
            elif k == "rtt":
                if v:
                    for kk, x in v.items():
                        out[f"rtt_{kk}"] = x
            elif k == "message_stats":
                for d, st in v.items():
                    for kk, x in st.items():
                        out[f"{kk}_{d}"] = x
            elif k not in ("type", "options"):
                out[k] = v
        return out

    def same(csv_value, json_value):
        if json_value is None:
            return csv_value == ""
        if isinstance(json_value, bool):
            return csv_value == ("true" if json_value else "false")
        if isinstance(json_value, (int, float)):
            try:
                return float(csv_value) == float(json_value)
            except ValueError:
                return False
        return csv_value == str(json_value)

    for name, capture, extra in REPORTS:
        path = os.path.join(work, name + ".csv")
        rc, out, err = run("-r", capture, "--csv", path, *extra)
        check(f"{name}.csv: exit 0", rc == 0, err)
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        convs = [r for r in json_records(capture, extra) if r["type"] == "conversation"]
        check(f"{name}.csv: header + one row per conversation", len(rows) == len(convs) + 1,
              f"{len(rows)} rows, {len(convs)} conversations")
        head = rows[0]
        check(f"{name}.csv: header names", head[:4] == ["stream", "proto", "client", "server"] and
              len(set(head)) == len(head), head[:6])
        check(f"{name}.csv: rectangular", all(len(r) == len(head) for r in rows), [len(r) for r in rows])
        for row, cv in zip(rows[1:], convs):
            got = dict(zip(head, row))
            want = flat(cv)
            missing = [k for k in want if k not in got]
            check(f"{name}.csv stream {cv.get('tcp_stream', cv.get('udp_stream'))}: every JSON field has a column",
                  not missing, missing)
            wrong = [(k, got[k], v) for k, v in want.items() if k in got and not same(got[k], v)]
            check(f"{name}.csv stream {cv.get('tcp_stream', cv.get('udp_stream'))}: values equal the JSON record",
                  not wrong, wrong[:5])
            if cv["proto"] == "tcp":
                counts = [k for k in head if k in REXMIT or k in ("duplicate_ack", "zero_window")]
                check(f"{name}.csv: analysis counts are numbers", all(got[k].isdigit() for k in counts), counts)

    if not BROWSER:
        tally.finish()

    # ---- the pages in headless Chromium -------------------------------------------------------------

    chromium = next((shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)),
                    None)
    if not chromium:
        if os.environ.get("SEGSCOPE_REQUIRE_BROWSER") == "1":
            print("chromium is required (SEGSCOPE_REQUIRE_BROWSER=1) but not installed (apt-get install chromium)")
            sys.exit(1)
        print("skipped: chromium is not installed (apt-get install chromium)")
        sys.exit(77)

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=5000"]

    # Injected first in <head>: collects script errors and what the page fetched, then clicks an arrow and a
    # column heading (the page's own script must handle both) and writes the results into the DOM.
    COLLECTOR = """<script>
window.__errs=[];
window.addEventListener('error',function(e){window.__errs.push('error: '+(e.message||e.type))},true);
window.addEventListener('unhandledrejection',function(e){window.__errs.push('rejection: '+e.reason)});
(function(){var ce=console.error;console.error=function(){window.__errs.push('console.error: '+
 Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments)};})();
window.addEventListener('load',function(){setTimeout(function(){
 var d=document,r=d.createElement('div');r.id='ss-test';
 var a=d.querySelector('svg.ladder g.pkt.retrans')||d.querySelector('svg.ladder g.pkt');
 if(a)a.dispatchEvent(new MouseEvent('click',{bubbles:true}));
 var insp=d.getElementById('inspect');
 r.setAttribute('data-inspect',insp&&!insp.hidden?insp.querySelector('pre').textContent.slice(0,200):'');
 var th=d.querySelector('table.convs th');if(th)th.dispatchEvent(new MouseEvent('click',{bubbles:true}));
 r.setAttribute('data-sorted',th?th.getAttribute('aria-sort')||'':'none');
 r.setAttribute('data-js',d.documentElement.classList.contains('js')?'1':'0');
 r.setAttribute('data-fetched',String(performance.getEntriesByType('resource').length));
 r.setAttribute('data-arrows',String(d.querySelectorAll('svg.ladder g.pkt').length));
 r.setAttribute('data-errors',String(window.__errs.length));
 r.textContent=window.__errs.join(' | ');d.body.appendChild(r);},0);});
</script>"""

    def chrome(*args):
        prof = tempfile.mkdtemp(prefix="segscope-chromium-")
        try:
            p = subprocess.run([chromium, *FLAGS, f"--user-data-dir={prof}", *args], capture_output=True, timeout=180)
            return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        finally:
            shutil.rmtree(prof, ignore_errors=True)

    shots = os.path.join(OUTDIR, "html-screenshots")
    os.makedirs(shots, exist_ok=True)
    for name, capture, extra in REPORTS:
        with open(pages[name], encoding="utf-8") as f:
            text = f.read()
        probe = os.path.join(work, name + ".probe.html")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(text.replace("<meta charset=\"utf-8\">\n", "<meta charset=\"utf-8\">\n" + COLLECTOR + "\n", 1))
        rc, dom, err = chrome("--dump-dom", "file://" + probe)
        m = re.search(r'<div id="ss-test"([^>]*)>(.*?)</div>', dom, re.S)
        check(f"{name} (browser): page loaded", rc == 0 and m, f"rc={rc} {err[-500:]}")
        if not m:
            continue
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
        expected = sum(len(v) for v in ladder_arrows(parse(text)).values())
        check(f"{name} (browser): no script errors", attrs.get("data-errors") == "0", m.group(2))
        check(f"{name} (browser): script ran", attrs.get("data-js") == "1", attrs)
        check(f"{name} (browser): nothing fetched", attrs.get("data-fetched") == "0", attrs)
        check(f"{name} (browser): arrows kept", attrs.get("data-arrows") == str(expected), f"{attrs} vs {expected}")
        check(f"{name} (browser): click shows details", attrs.get("data-inspect", "").startswith("Frame "), attrs)
        check(f"{name} (browser): table sorts", attrs.get("data-sorted") == "ascending", attrs)
        png = os.path.join(shots, name + ".png")
        if os.path.exists(png):
            os.unlink(png)
        rc, out, err = chrome("--window-size=1400,2400", f"--screenshot={png}", "file://" + pages[name])
        ok = os.path.exists(png) and os.path.getsize(png) > 10000
        if ok:
            with open(png, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        check(f"{name} (browser): screenshot {png}", ok, f"rc={rc} {err[-300:]}")
    print(f"screenshots in {shots}")
    tally.finish()
finally:
    shutil.rmtree(work, ignore_errors=True)
