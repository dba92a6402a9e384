#!/usr/bin/env python3
"""Integration tests of the segscope command on saved captures: options, errors, output formats."""
import json
import re
import os
import subprocess
import sys
import tempfile

from checks import Tally

BIN, DATA, CAPTURES = sys.argv[1], sys.argv[2], sys.argv[3]
PEER = os.path.join(DATA, "peer")
PKT_LINE = re.compile(r"^\s*\d+\s+-?\d+\.\d{6}\s")


def pkt_lines(text):
    """The packet lines of a timeline (state changes and explanations are indented lines)."""
    return [l for l in text.splitlines() if PKT_LINE.match(l)]


def run(*args, stdin=None, env=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


tally = Tally()
check = tally.check


hello = os.path.join(CAPTURES, "hello.pcap")

# Text timeline of the bundled capture: one line per frame, handshake and close in tcpdump notation.
rc, out, err = run("-r", hello)
lines = pkt_lines(out)
check("text exit", rc == 0, f"rc={rc} err={err}")
check("text one line per frame", len(lines) == 12, f"{len(lines)} lines")
check("text SYN first", "[S]" in lines[0] and "seq 0" in lines[0], lines[0] if lines else "")
check("text SYN-ACK", "[S.]" in lines[1] and "ack 1" in lines[1], lines[1] if len(lines) > 1 else "")
check("text FIN", any("[F.]" in l for l in lines), out)
check("text no colour when piped", "\033[" not in out, "escape codes in piped output")
rc, out2, _ = run("-r", hello, "--color")
check("--color forces colour", "\033[" in out2, "no escape codes")
rc, out3, _ = run("-r", hello, "--color", env={"NO_COLOR": "1"})
check("--color beats NO_COLOR", "\033[" in out3, "no escape codes")
rc, out4, _ = run("-r", hello, "--no-options")
check("--no-options", "options [" not in out4 and len(pkt_lines(out4)) == 12, out4[:200])
rc1, outa, _ = run("-r", hello)
check("deterministic output", outa == out, "two runs differ")

# JSON Lines: valid JSON, schema fields, one packet record per frame.
rc, out, err = run("-r", hello, "--json")
recs = [json.loads(l) for l in out.splitlines()]
pk = [r for r in recs if r["type"] == "packet"]
check("json exit", rc == 0, err)
check("json capture record first", recs[0]["type"] == "capture" and recs[0]["schema"] >= 1, str(recs[0]))
check("json end record last", recs[-1]["type"] == "end" and recs[-1]["frames"] == 12, str(recs[-1]))
check("json packets", len(pk) == 12, str(len(pk)))
need = {"type", "frame", "ts", "src", "dst", "sport", "dport", "proto", "flags", "seq", "ack",
        "seq_raw", "ack_raw", "len", "win", "win_raw", "options"}
check("json fields", all(need <= set(p) for p in pk), str(need - set(pk[0])))
check("json frames 1-based", [p["frame"] for p in pk] == list(range(1, 13)), "")
check("json SYN", pk[0]["flags"] == ["SYN"] and pk[0]["seq"] == 0 and "mss" in pk[0]["options"], str(pk[0]))
check("json data", sum(p["len"] for p in pk) == 25, str([p["len"] for p in pk]))
check("json relative ack", pk[1]["ack"] == 1 and pk[1]["ack_raw"] == (pk[0]["seq_raw"] + 1) % 2**32, "")
check("json ts float", isinstance(pk[0]["ts"], float) and pk[0]["ts"] > 1e9, str(pk[0]["ts"]))

# The conversation record of the bundled capture (checked by hand against its 12 frames).
conv = [r for r in recs if r["type"] == "conversation"]
check("one conversation", len(conv) == 1, str(len(conv)))
c0 = conv[0] if conv else {}
check("conversation fields", c0.get("handshake") == "complete" and c0.get("close") == "fin" and
      c0.get("closed_first_by") == "client" and c0.get("fin_exchange") == "three-way" and
      c0.get("state") == {"client": "TIME-WAIT", "server": "CLOSED"} and c0.get("history") == "ShADadFf",
      str(c0))
check("conversation counts", (c0.get("frames_c2s"), c0.get("frames_s2c"), c0.get("payload_c2s"),
                              c0.get("payload_s2c")) == (7, 5, 10, 15), str(c0))
check("conversation isn", c0.get("isn", {}).get("client") == pk[0]["seq_raw"] and
      c0.get("isn", {}).get("server") == pk[1]["seq_raw"], str(c0.get("isn")))
check("packet states", pk[0]["state"] == {"client": "SYN-SENT", "server": "UNKNOWN"} and
      pk[2]["state"] == {"client": "ESTABLISHED", "server": "ESTABLISHED"}, str(pk[0].get("state")))

# --follow: the reassembled bytes of conversation 0, each write in its own segment,
# the reply "got: helloworld" (the server's one recv() returned both writes).
rc, out, err = run("-r", hello, "--follow", "0")
check("--follow text", rc == 0 and "\nhello\n" in out and "\nworld\n" in out and "got: helloworld" in out and
      "frame 4" in out and "frame 6" in out, out)
rc, out, err = run("-r", hello, "--follow", "7")
check("--follow missing", rc == 0 and "no TCP conversation 7" in out, out)

# UDP with --framing: one message per datagram; numbered datagrams (a 32-bit big-endian
# counter, as the demo sends) 0, 1, 2, 4, 3: #3 missing before #4, then #3 late.
import struct


def udp_frame(sport, dport, payload):
    ip_len = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


with tempfile.TemporaryDirectory() as td:
    up = os.path.join(td, "udp.pcap")
    with open(up, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, n in enumerate([0, 1, 2, 4, 3]):
            fr = udp_frame(40000, 9999, struct.pack("!I", n) + b"x" * (10 + n))
            f.write(struct.pack("<IIII", 1700000000, i * 1000, len(fr), len(fr)) + fr)
    rc, out, err = run("-r", up, "--framing", "none", "--json")
    recs = [json.loads(l) for l in out.splitlines()]
    up_pk = [r for r in recs if r["type"] == "packet"]
    msgs = [r for r in recs if r["type"] == "message"]
    check("udp datagrams are messages", [m["index"] for m in msgs] == [0, 1, 2, 3, 4] and
          all(m["udp_stream"] == 0 and m["complete"] for m in msgs), str(msgs[:2]))
    check("udp numbering", [(p.get("datagram_number"), p.get("missing_before"), p.get("late")) for p in up_pk] ==
          [(0, 0, False), (1, 0, False), (2, 0, False), (4, 1, False), (3, 0, True)],
          str([(p.get("datagram_number"), p.get("missing_before"), p.get("late")) for p in up_pk]))
    conv = [r for r in recs if r["type"] == "conversation"][0]
    check("udp stats", conv["message_stats"]["c2s"]["messages"] == 5 and
          conv["message_stats"]["c2s"].get("datagrams_missing") == 0 and
          conv["message_stats"]["c2s"].get("datagrams_late") == 1, str(conv.get("message_stats")))
    rc, out, err = run("-r", up, "--framing", "none", "--explain")
    check("udp text", "[datagram #3 never seen]" in out and "[datagram #3 late" in out and
          "UDP keeps message boundaries" in out, out)

# Standard input.
with open(hello, "rb") as f:
    rc, out, err = run("-r", "-", stdin=f.read())
check("stdin", rc == 0 and len(pkt_lines(out)) == 12, f"rc={rc} {err}")

# BPF filter expression in trailing arguments, -c count.
rc, out, err = run("-r", hello, "tcp[tcpflags] & tcp-syn != 0")
check("filter SYNs", rc == 0 and len(pkt_lines(out)) == 2, out)
rc, out, err = run("-r", hello, "--json", "tcp[tcpflags] & tcp-fin != 0")
fr = [json.loads(l)["frame"] for l in out.splitlines() if '"packet"' in l]
check("filter keeps file frame numbers", fr == [10, 11], str(fr))
rc, out, err = run("-r", hello, "-c", "3")
check("-c 3", rc == 0 and len(pkt_lines(out)) == 3, out)
rc, out, err = run("-r", hello, "port", "(((")
check("bad filter exit 2", rc == 2 and "filter" in err, f"rc={rc} {err}")

# -w saves what was read; the saved file reads back the same.
with tempfile.TemporaryDirectory() as td:
    w = os.path.join(td, "copy.pcap")
    rc, out, err = run("-r", hello, "-w", w, "tcp[tcpflags] & tcp-fin != 0")
    rc2, out2, _ = run("-r", w, "--json")
    fins = [json.loads(l) for l in out2.splitlines() if '"packet"' in l]
    check("-w writes filtered frames", rc == 0 and rc2 == 0 and len(fins) == 2, f"{rc} {rc2} {len(fins)}")

    # Errors: missing, unreadable directory, not a capture.
    rc, out, err = run("-r", os.path.join(td, "missing.pcap"))
    check("missing file", rc == 2 and "missing.pcap" in err and "No such file" in err and
          len(err.strip().splitlines()) == 1, f"rc={rc} {err}")
    rc, out, err = run("-r", td)
    check("directory", rc == 2 and td in err, f"rc={rc} {err}")
    txt = os.path.join(td, "notes.txt")
    with open(txt, "w") as f:
        f.write("this is not a capture\n" * 10)
    rc, out, err = run("-r", txt)
    check("not a capture", rc == 2 and "not a capture file" in err and len(err.strip().splitlines()) == 1,
          f"rc={rc} {err}")

    # A file cut off mid-record: everything before the cut, a warning, exit 0.
    with open(hello, "rb") as f:
        blob = f.read()
    cut = os.path.join(td, "cut.pcap")
    with open(cut, "wb") as f:
        f.write(blob[:-30])
    rc, out, err = run("-r", cut)
    check("cut file exit 0", rc == 0, f"rc={rc}")
    check("cut file frames before", len(pkt_lines(out)) == 11, str(len(pkt_lines(out))))
    check("cut file warning", "warning" in err and "cut off" in err, err)

    # Every prefix of the file is handled cleanly (no crash, exit 0 or 2).
    bad = []
    for n in range(0, len(blob), 7):
        p = os.path.join(td, "prefix.pcap")
        with open(p, "wb") as f:
            f.write(blob[:n])
        rc, _, _ = run("-r", p)
        if rc not in (0, 2):
            bad.append((n, rc))
    check("all prefixes clean", not bad, str(bad[:5]))

# pcapng whose interfaces have different link types: frames before, then a clear message.
ng = os.path.join(PEER, "pcapplusplus__pcapng-example.pcapng")
rc, out, err = run("-r", ng)
check("mixed link types message", rc == 1 and "different link-layer types" in err, f"rc={rc} {err}")
check("mixed link types frames before", len(pkt_lines(out)) == 59, str(len(pkt_lines(out))))
ng2 = os.path.join(PEER, "zeek__ldap__gap-data-missing.pcapng")
rc, out, err = run("-r", ng2)
check("mixed snaplen message", rc == 1 and "snapshot lengths" in err, f"rc={rc} {err}")

# Damaged record header: frames before, message, no crash.
sm = os.path.join(PEER, "suricata-verify__smtp-to-comma__10.7.29.101_49898-178.63.41.150_25.pcap")
rc, out, err = run("-r", sm)
check("damaged record", rc == 1 and len(pkt_lines(out)) == 18 and "damaged" in err, f"rc={rc} {err}")

# Files libpcap rejects at the header.
for f in ("libpcap__pcap-invalid-version-1.pcap", "libpcap__pcapng-invalid-vers-1.pcapng"):
    rc, out, err = run("-r", os.path.join(PEER, f))
    check("rejected " + f, rc == 2 and f in err and out == "", f"rc={rc} {err}")

# Checksums: loopback leaves only the pseudo-header sum (offload), never "bad".
rc, out, err = run("-r", hello, "--verify-checksums", "--json")
cs = [json.loads(l).get("checksum", {}) for l in out.splitlines() if '"packet"' in l]
check("offload checksums", cs and all(c.get("tcp") == "unverified (offload)" and c.get("ip") == "good"
                                          for c in cs), str(cs[:2]))
rc, out, err = run("-r", os.path.join(PEER, "zeek__tcp__reassembly.pcap"), "--verify-checksums", "--json")
cs = [json.loads(l).get("checksum", {}) for l in out.splitlines() if '"packet"' in l]
# Frame 1 is intact; frame 7's payload was altered in this test trace (tshark agrees:
# field 0x64c8, correct value 0x8c22).
check("real checksum good", cs[0] == {"ip": "good", "tcp": "good"}, str(cs[0]))
check("real checksum bad", cs[6].get("tcp") == "bad" and cs[6].get("expected") == 0x8c22, str(cs[6]))

# Usage errors.
rc, out, err = run()
check("no arguments", rc == 2 and "-r FILE" in err, err)
rc, out, err = run("-r", hello, "-i", "lo")
check("both -r and -i", rc == 2, err)
rc, out, err = run("--bogus")
check("unknown option", rc == 2, err)
rc, out, err = run("-r", hello, "-c", "0")
check("-c 0", rc == 2, err)
rc, out, err = run("--help")
check("--help", rc == 0 and "Usage:" in out and "--json" in out, out[:100])
rc, out, err = run("--version")
check("--version", rc == 0 and out.startswith("segscope "), out)

# Runtime limits that drop state say so once: --max-unacked per conversation direction,
# --max-fragments once per run.
rc, out, err = run("-r", os.path.join(CAPTURES, "loss.pcap"), "--max-unacked", "4", "--json")
un = [json.loads(l) for l in out.splitlines() if '"notice"' in l and "unacknowledged-segment limit" in l]
check("--max-unacked 4: one notice per direction that reached it", rc == 0 and len(un) == 1 and
      "conversation 0 client to server" in json.dumps(un[0]), f"rc={rc} {un}")
rc, out, err = run("-r", os.path.join(CAPTURES, "loss.pcap"), "--json")
check("default --max-unacked: no notice on a 512 KiB transfer", rc == 0 and "unacknowledged-segment" not in out,
      f"rc={rc}")


def ip4_frag(ident, mf, off8, payload):
    total = 20 + len(payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, ident, (0x2000 if mf else 0) | off8, 64, 17, 0,
                      bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return hdr + payload


with tempfile.TemporaryDirectory() as fr_dir:
    cap = os.path.join(fr_dir, "frags.pcap")
    udp = lambda n: struct.pack(">HHHH", 1000 + n, 53, 8 + 16, 0) + bytes(16)  # 24 bytes: 3 units of 8
    frames = [ip4_frag(1, True, 0, udp(1)[:16]), ip4_frag(2, True, 0, udp(2)[:16]),
              ip4_frag(1, False, 2, udp(1)[16:]), ip4_frag(2, False, 2, udp(2)[16:])]
    with open(cap, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)) + fr)
    rc, out, err = run("-r", cap, "--max-fragments", "1")
    fl = [l for l in out.splitlines() if "fragment limit reached" in l]
    check("--max-fragments 1: the eviction is announced once", rc == 0 and len(fl) == 1 and "frame 2" in fl[0],
          f"rc={rc} {fl} {err}")
    rc, out, err = run("-r", cap)
    check("default --max-fragments: both datagrams reassembled, no notice",
          rc == 0 and "fragment limit" not in out and out.count("UDP") >= 2, out[-400:])

# --max-html-elements caps what the HTML report draws, and the page says so.
with tempfile.TemporaryDirectory() as h_dir:
    small, full = os.path.join(h_dir, "small.html"), os.path.join(h_dir, "full.html")
    rc1, _, err1 = run("-r", os.path.join(CAPTURES, "loss.pcap"), "-q", "--html", small, "--max-html-elements", "50")
    rc2, _, err2 = run("-r", os.path.join(CAPTURES, "loss.pcap"), "-q", "--html", full)
    s_txt, f_txt = open(small).read(), open(full).read()
    check("--max-html-elements 50: the page says it drew 50 and is smaller",
          rc1 == 0 and rc2 == 0 and "Only the first 50 of its 790 packets are drawn" in s_txt and
          "Only the first" not in f_txt and len(s_txt) < len(f_txt) // 2, f"{rc1} {rc2} {err1} {len(s_txt)} {len(f_txt)}")
rc, out, err = run("-r", hello, "--max-html-elements", "0")
check("--max-html-elements 0 refused", rc == 2 and "--max-html-elements" in err, err)

# A report written to something that is not a regular file (a FIFO here; /dev/null alike) is
# written to in place: never replaced by a renamed temporary file, never removed.
import stat
import threading
with tempfile.TemporaryDirectory() as fd_dir:
    fifo = os.path.join(fd_dir, "report.fifo")
    os.mkfifo(fifo)
    got = []

    def drain():
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=drain)
    t.start()
    rc, out, err = run("-r", hello, "-q", "--csv", fifo)
    t.join(30)
    check("--csv to a FIFO: written in place", rc == 0 and got and got[0].startswith(b"stream,proto,") and
          stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(fd_dir) == ["report.fifo"],
          f"rc={rc} {err} {got[:1]} {os.listdir(fd_dir)}")

tally.finish()
