#!/usr/bin/env python3
"""--pcapng-out: the same packets and timestamps, with segscope's findings as comments tshark reads.

For several captures (Ethernet, Linux cooked SLL2, raw IP, pcapng input,
framing markers): tshark reads the written file, every frame's bytes
(`tshark -x`) and timestamp equal the input's, the frames that carry
analysis markers, state changes or message markers have a frame.comment
naming them, the others have none, and the section comment says how the
file was made. Exits 77 without tshark unless SEGSCOPE_REQUIRE_TSHARK=1.
usage: test_pcapng_out.py SEGSCOPE SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import Tally

BIN, SRC = sys.argv[1], sys.argv[2]


tally = Tally()
check = tally.check


if not shutil.which("tshark"):
    print("tshark not installed")
    sys.exit(1 if os.environ.get("SEGSCOPE_REQUIRE_TSHARK") == "1" else 77)


def tshark(path, *args):
    with tempfile.TemporaryDirectory() as cfg:
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=cfg)
        return subprocess.run(["tshark", "-n", "-r", path, *args], capture_output=True, env=env).stdout.decode(
            "utf-8", "replace")


MARKERS = {"retransmission": "TCP Retransmission", "fast_retransmission": "TCP Fast Retransmission",
           "spurious_retransmission": "TCP Spurious Retransmission", "out_of_order": "TCP Out-Of-Order",
           "lost_segment": "TCP Previous segment not captured", "ack_lost_segment": "TCP ACKed unseen segment",
           "duplicate_ack": "TCP Dup ACK", "zero_window": "TCP ZeroWindow", "zero_window_probe": "TCP ZeroWindowProbe",
           "zero_window_probe_ack": "TCP ZeroWindowProbeAck", "window_full": "TCP Window Full",
           "window_update": "TCP Window Update", "keep_alive": "TCP Keep-Alive", "keep_alive_ack": "TCP Keep-Alive ACK",
           "reused_ports": "TCP Port numbers reused"}

CASES = [("tests/data/spec/anomalies.pcap", []),
         ("tests/data/spec/real_lo.pcapng", []),
         ("tests/data/peer/suricata-verify__decode-sll2-02__input.pcap", []),
         ("tests/data/peer/suricata-verify__tcp-empty-sack__tcp-opt.pcap", []),
         ("captures/len32.pcap", ["--framing", "auto"])]
with tempfile.TemporaryDirectory() as td:
    for rel, extra in CASES:
        src = os.path.join(SRC, rel)
        if not os.path.exists(src):
            continue
        out = os.path.join(td, os.path.basename(rel) + ".pcapng")
        p = subprocess.run([BIN, "-r", src, "--json", "--pcapng-out", out, *extra], capture_output=True)
        check(f"{rel} exit", p.returncode == 0 and os.path.exists(out), p.stderr.decode())
        recs = {r["frame"]: r for r in map(json.loads, p.stdout.decode().splitlines()) if r["type"] == "packet"}
        # Bytes and timestamps: identical frame by frame.
        check(f"{rel} bytes", tshark(src, "-x") == tshark(out, "-x"), "hex dumps differ")
        t_in = tshark(src, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len")
        t_out = tshark(out, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len")
        check(f"{rel} timestamps", t_in == t_out and t_in, "times differ")
        comments = {}
        for line in tshark(out, "-T", "fields", "-E", "occurrence=a", "-e", "frame.number", "-e",
                           "frame.comment").splitlines():
            fr, _, c = line.partition("\t")
            comments[int(fr)] = c
        for fr, r in recs.items():
            want = [MARKERS[a] for a in r.get("analysis", [])
                    if not (a == "retransmission" and {"fast_retransmission", "spurious_retransmission"} & set(
                        r.get("analysis", [])))]
            c = comments.get(fr, "")
            has = bool(want or r.get("transitions") or r.get("coalesced") or
                       (r.get("messages") and r.get("proto") == "tcp" and False))
            for m in want:
                if m not in c:
                    check(f"{rel} frame {fr} marker {m}", False, c)
            if r.get("transitions"):
                t0 = r["transitions"][0]
                check(f"{rel} frame {fr} state", f"{t0['end']} {t0['from']} -> {t0['to']}" in c, c)
            if r.get("coalesced"):
                check(f"{rel} frame {fr} coalesced", "COALESCED" in c, c)
            if not want and not r.get("transitions") and not r.get("messages"):
                check(f"{rel} frame {fr} no comment", c == "", c)
            if has:
                check(f"{rel} frame {fr} commented", c != "", "")
        info = subprocess.run(["capinfos", out], capture_output=True).stdout.decode() if shutil.which("capinfos") else ""
        check(f"{rel} section comment", not info or "Written by segscope" in info, info[:200])
tally.finish(max_listed=30)
