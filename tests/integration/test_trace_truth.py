#!/usr/bin/env python3
"""Ground truth for sticky packets: segscope's counts against an independent computation.

For every CAPTURE.pcap that has a CAPTURE.trace.jsonl beside it (in the
directories given), this test computes, from the capture's TCP segments
(parsed here, without segscope) and the trace's send()/recv() calls alone:
  - messages per direction = the sender's send() calls,
  - coalesced segments = segments whose first-carried bytes belong to 2+ sends,
  - split messages = sends whose bytes were first carried by 2+ segments,
  - glued recv() calls = recvs whose bytes belong to 2+ sends,
and compares them with `segscope --app-trace` (message_stats in the JSON
conversation records). Exits 77 when no capture has a trace.

usage: test_trace_truth.py SEGSCOPE DIR [DIR...]
"""
import json
import os
import socket
import struct
import subprocess
import sys


def read_pcap(path):
    """Yields (linktype, frame bytes) from a little- or big-endian pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    else:
        e = ">"
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        yield linktype, data[off:off + incl]
        off += incl


def tcp_segments(path):
    """(src, sport, dst, dport, seq, flags, payload) of each IPv4/IPv6 TCP segment."""
    for lt, fr in read_pcap(path):
        if lt == 1:
            eth = struct.unpack("!H", fr[12:14])[0]
            ip = fr[14:]
        elif lt == 113:
            eth = struct.unpack("!H", fr[14:16])[0]
            ip = fr[16:]
        elif lt == 276:
            eth = struct.unpack("!H", fr[0:2])[0]
            ip = fr[20:]
        else:
            continue
        if eth == 0x0800 and ip[9] == 6:
            ihl = (ip[0] & 15) * 4
            tot = struct.unpack("!H", ip[2:4])[0]
            src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
            tcp = ip[ihl:tot]
        elif eth == 0x86DD and ip[6] == 6:
            plen = struct.unpack("!H", ip[4:6])[0]
            src, dst = "[%s]" % socket.inet_ntop(socket.AF_INET6, ip[8:24]), "[%s]" % socket.inet_ntop(
                socket.AF_INET6, ip[24:40])
            tcp = ip[40:40 + plen]
        else:
            continue
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        flags = tcp[13]
        yield src, sport, dst, dport, seq, flags, tcp[doff:]


def frame_stream(data, framing):
    """Messages [start, end) of a byte stream under a framing named as segscope names it."""
    out, pos = [], 0
    if framing == "len:4:be":
        while pos + 4 <= len(data):
            n = int.from_bytes(data[pos:pos + 4], "big")
            if pos + 4 + n > len(data):
                break
            out.append((pos, pos + 4 + n))
            pos += 4 + n
    elif framing == "line":
        while True:
            i = data.find(b"\n", pos)
            if i < 0:
                break
            out.append((pos, i + 1))
            pos = i + 1
    elif framing == "filexfer:be":
        while pos + 4 <= len(data):
            hl = int.from_bytes(data[pos:pos + 4], "big")
            out.append((pos, pos + 4))
            hdr = data[pos + 4:pos + 4 + hl]
            if len(hdr) < hl:
                break
            out.append((pos + 4, pos + 4 + hl))
            size = json.loads(hdr.decode()).get("filesize", 0)
            start = pos + 4 + hl
            if size:
                out.append((start, start + size))
            pos = start + size
    return out


def truth(pcap, trace, framings=None):
    """Per (sender endpoint, receiver endpoint): the counts computed from segments and calls."""
    calls = [json.loads(l) for l in open(trace) if l.strip()]
    # first-carrying segment ranges per direction, in stream offsets
    isn, seen, segs, streams = {}, {}, {}, {}
    for src, sp, dst, dp, seq, flags, pay in tcp_segments(pcap):
        key = (f"{src}:{sp}", f"{dst}:{dp}")
        if flags & 0x02:  # SYN
            isn[key] = seq
            continue
        if not pay or key not in isn:
            continue
        off = (seq - isn[key] - 1) % 2**32
        end = off + len(pay)
        hi = seen.get(key, 0)
        if end <= hi:
            continue  # wholly resent
        segs.setdefault(key, []).append((max(off, hi), end))
        seen[key] = max(hi, end)
        buf = streams.setdefault(key, bytearray())
        if off <= len(buf) < end:
            buf += pay[len(buf) - off:]
    out = {}
    for key in segs:
        sends = sorted((c["offset"], c["offset"] + c["len"]) for c in calls
                       if c["call"] == "send" and c["len"] > 0 and (c["local"], c["remote"]) == key)
        if framings is not None:
            fr = framings.get(key)
            if fr in ("len:4:be", "line", "filexfer:be"):
                sends = frame_stream(bytes(streams.get(key, b"")), fr)  # the framed messages instead
            else:
                continue
        recvs = sorted((c["offset"], c["offset"] + c["len"]) for c in calls
                       if c["call"] == "recv" and c["len"] > 0 and (c["remote"], c["local"]) == key)
        if not sends:
            continue

        def msgs_in(a, b):
            return sum(1 for s, e in sends if s < b and e > a)

        def segs_in(a, b):
            return sum(1 for s, e in segs[key] if s < b and e > a)

        out[key] = {
            "messages": len(sends),
            "coalesced_segments": sum(1 for s, e in segs[key] if msgs_in(s, e) >= 2),
            "split_messages": sum(1 for s, e in sends if segs_in(s, e) >= 2),
            "recv_calls": len(recvs),
            "glued_recvs": sum(1 for s, e in recvs if msgs_in(s, e) >= 2),
        }
    return out


def compare(name, convs, want, checked, failures):
    got = {}
    for c in convs:
        if c.get("type") != "conversation" or "message_stats" not in c:
            continue
        for dkey, (a, b) in (("c2s", (c["client"], c["server"])), ("s2c", (c["server"], c["client"]))):
            got[(a, b)] = c["message_stats"][dkey]
    for key, w in want.items():
        g = got.get(key)
        if g is None:
            failures.append(f"{name} {key}: no conversation in segscope's output")
            continue
        ours = {"messages": g["messages"], "coalesced_segments": g["coalesced_segments"],
                "split_messages": g["split_messages"], "recv_calls": g.get("recv_calls"),
                "glued_recvs": g.get("glued_recvs")}
        checked += 1
        if ours != w:
            failures.append(f"{name} {key}: segscope {ours}, independent {w}")
        else:
            print(f"{name} {key[0]} -> {key[1]}: {w}")
    return checked, failures


def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    failures, checked, files = [], 0, 0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith(".pcap"):
                continue
            trace = os.path.join(d, f[:-5] + ".trace.jsonl")
            if not os.path.exists(trace):
                continue
            files += 1
            for mode in ("calls", "auto"):
                extra = ["--framing", "auto"] if mode == "auto" else []
                p = subprocess.run([binary, "-r", os.path.join(d, f), "--app-trace", trace, "--json", "--summary",
                                    *extra], capture_output=True)
                convs = [json.loads(l) for l in p.stdout.decode().splitlines()]
                framings = None
                if mode == "auto":
                    framings = {}
                    for c in convs:
                        if c.get("type") == "conversation" and "message_stats" in c:
                            framings[(c["client"], c["server"])] = c["message_stats"]["c2s"]["framing"]
                            framings[(c["server"], c["client"])] = c["message_stats"]["s2c"]["framing"]
                want = truth(os.path.join(d, f), trace, framings)
                checked, failures = compare(f + (" (framing auto)" if mode == "auto" else ""), convs, want,
                                            checked, failures)
    for x in failures:
        print("FAIL", x)
    if files == 0:
        print("no capture with an application trace: nothing to check")
        return 77
    print(f"{checked - len([x for x in failures if 'no conversation' not in x])} passed, {len(failures)} failed "
          f"({files} captures with traces)")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
