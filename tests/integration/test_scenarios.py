#!/usr/bin/env python3
"""segscope-demo run: scenarios captured in a network namespace of their own, checked with segscope --json.

Usage: test_scenarios.py SEGSCOPE_DEMO SEGSCOPE

Runs `segscope-demo run X --out TMP --no-analysis` for hello, loss,
zero-window, rst, refused and udp, then reads TMP/X.pcap with
`segscope -r ... --json` and checks that each capture shows its phenomenon,
and that each trace (TMP/X.trace.jsonl) has contiguous offsets; for hello,
that the traced bytes of each direction add up to the captured payload.

Needs root or unprivileged user namespaces; without either, the demo says
why and exits 2, and this test reports itself skipped (77) unless
SEGSCOPE_REQUIRE_LIVE=1.
"""
import json
import os
import subprocess
import sys
import tempfile

from checks import Tally

DEMO, SEGSCOPE = sys.argv[1], sys.argv[2]
TIMEOUT = 60  # seconds one run may take (the demo's own watchdog is 20 s)


tally = Tally()
check = tally.check


def run_demo(args, env):
    try:
        return subprocess.run([DEMO, *args], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, -1, e.stdout or "", f"timed out after {TIMEOUT} s")


def analyse(path):
    p = subprocess.run([SEGSCOPE, "-r", path, "--json"], capture_output=True, text=True, timeout=TIMEOUT)
    if p.returncode != 0:
        return None, None
    recs = [json.loads(l) for l in p.stdout.splitlines()]
    return [r for r in recs if r["type"] == "packet"], [r for r in recs if r["type"] == "conversation"]


def trace_streams(path, name):
    """Checks that offsets are contiguous; returns {(pid, fd, local, remote, call): bytes}."""
    streams = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            key = (r["pid"], r["fd"], r["local"], r["remote"], r["call"])
            if r["offset"] != streams.get(key, 0):
                check(f"{name} trace contiguous", False, f"line {n}: offset {r['offset']}, "
                      f"expected {streams.get(key, 0)}")
                return streams
            streams[key] = r["offset"] + r["len"]
    check(f"{name} trace contiguous", True)
    return streams


with tempfile.TemporaryDirectory() as td:
    out = os.path.join(td, "out")
    tmp = os.path.join(td, "tmp")
    os.mkdir(tmp)
    env = dict(os.environ, TMPDIR=tmp, NO_COLOR="1")

    # list names every scenario of the issue; bad arguments are usage errors.
    p = run_demo(["list"], env)
    names = [l.split()[0] for l in p.stdout.splitlines() if l.strip()]
    want = ["hello", "echo-many", "chat", "sticky-nagle", "sticky-nodelay", "len32", "line", "file-transfer",
            "loss", "loss-small", "zero-window", "rst", "refused", "half-close", "keepalive", "udp", "ipv6"]
    check("list", p.returncode == 0 and all(n in names for n in want), p.stdout + p.stderr)
    check("list descriptions", all(len(l.split(None, 1)) == 2 for l in p.stdout.splitlines()), p.stdout)
    p = run_demo(["run", "no-such-scenario"], env)
    check("unknown scenario", p.returncode == 2 and "hello" in p.stderr, f"rc={p.returncode} {p.stderr}")
    p = run_demo(["run"], env)
    check("no scenario", p.returncode == 2, f"rc={p.returncode}")
    p = run_demo(["tour", "--bogus"], env)
    check("bad option", p.returncode == 2, f"rc={p.returncode}")

    # The first run tells whether namespaces are available at all.
    p = run_demo(["run", "hello", "--out", out, "--no-analysis"], env)
    if p.returncode == 2 and "network namespace" in p.stderr:
        check("no-namespace message", "root" in p.stderr and "max_user_namespaces" in p.stderr, p.stderr)
        tally.finish(skipped="no network namespace: needs root or unprivileged user namespaces")
    runs = {"hello": p}
    for name in ["loss", "zero-window", "rst", "refused", "udp"]:
        runs[name] = run_demo(["run", name, "--out", out, "--no-analysis"], env)

    for name, p in runs.items():
        ok = p.returncode == 0
        check(f"{name} exit 0", ok, f"rc={p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
        check(f"{name} says what it shows", f"{name}: shows " in p.stdout, p.stdout[-500:])
        pcap = os.path.join(out, name + ".pcap")
        trace = os.path.join(out, name + ".trace.jsonl")
        check(f"{name} files", os.path.isfile(pcap) and os.path.isfile(trace), str(os.listdir(out)))
        if not os.path.isfile(pcap) or not os.path.isfile(trace):
            continue
        pk, conv = analyse(pcap)
        if pk is None:
            check(f"{name} segscope reads the capture", False)
            continue
        streams = trace_streams(trace, name)
        tcp = [c for c in conv if c["proto"] == "tcp"]
        flags = [f for x in pk for f in x.get("analysis", [])]
        # MSS-sized segments: offloads off in the namespace (or the run said it could not).
        biggest = max([x.get("len", 0) for x in pk if x.get("proto") == "tcp"] or [0])
        check(f"{name} segments at most the MSS", biggest <= 1460 or "segmentation offload" in p.stdout,
              f"largest TCP payload {biggest}")

        if name == "hello":
            c = tcp[0] if len(tcp) == 1 else {}
            check("hello one conversation", len(tcp) == 1, str(conv))
            check("hello handshake", c.get("handshake") == "complete", str(c))
            check("hello close", c.get("close") == "fin" and c.get("closed_first_by") == "client", str(c))
            client, server = c.get("client"), c.get("server")
            sent_c2s = sum(v for k, v in streams.items() if k[4] == "send" and k[2] == client)
            recv_c2s = sum(v for k, v in streams.items() if k[4] == "recv" and k[2] == server)
            sent_s2c = sum(v for k, v in streams.items() if k[4] == "send" and k[2] == server)
            recv_s2c = sum(v for k, v in streams.items() if k[4] == "recv" and k[2] == client)
            check("hello trace c2s = payload_c2s", sent_c2s == recv_c2s == c.get("payload_c2s") and sent_c2s > 0,
                  f"sent {sent_c2s}, received {recv_c2s}, captured {c.get('payload_c2s')}")
            check("hello trace s2c = payload_s2c", sent_s2c == recv_s2c == c.get("payload_s2c") and sent_s2c > 0,
                  f"sent {sent_s2c}, received {recv_s2c}, captured {c.get('payload_s2c')}")
        elif name == "loss":
            check("loss retransmission", "retransmission" in flags, str(sorted(set(flags))))
            check("loss duplicate ACK", "duplicate_ack" in flags, str(sorted(set(flags))))
            check("loss closed", len(tcp) == 1 and tcp[0]["close"] == "fin", str(tcp))
        elif name == "zero-window":
            check("zero-window zero window", "zero_window" in flags, str(sorted(set(flags))))
            check("zero-window window update", "window_update" in flags, str(sorted(set(flags))))
        elif name == "rst":
            check("rst close", len(tcp) == 1 and tcp[0]["close"] == "rst", str(tcp))
        elif name == "refused":
            check("refused close", len(tcp) == 1 and tcp[0]["close"] == "refused", str(tcp))
            syn = [x for x in pk if x.get("flags") == ["SYN"]]
            rst = [x for x in pk if "RST" in x.get("flags", [])]
            check("refused SYN then RST", syn and rst and syn[0]["frame"] < rst[0]["frame"],
                  str([x.get("flags") for x in pk]))
        elif name == "udp":
            udp = [c for c in conv if c["proto"] == "udp"]
            check("udp conversation", len(udp) == 1 and udp[0]["frames_c2s"] >= 20 and udp[0]["frames_s2c"] >= 20,
                  str(udp))
            check("udp no tcp", not tcp, str(tcp))
            check("udp trace datagrams", sum(1 for k in streams if k[4] == "send") >= 2, str(streams))

    # Every run cleaned up after itself: no temporary directory left behind.
    check("temporary files removed", os.listdir(tmp) == [], str(os.listdir(tmp)))

tally.finish()
