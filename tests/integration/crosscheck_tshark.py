#!/usr/bin/env python3
"""Cross-check: segscope --json against tshark itself, packet by packet.

Runs both on every capture under DATA/peer, DATA/spec and CAPTURES, and
compares for each frame: a packet record exists; for TCP packets the flags,
relative seq and ack, payload length and tcp_stream. Exits 77 (skipped)
when tshark is not installed, unless SEGSCOPE_REQUIRE_TSHARK=1 (CI sets it),
in which case a missing tshark is a failure.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sscompare  # noqa: E402

FIELDS = ["frame.number", "tcp.stream", "tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.len", "udp.stream",
          "frame.len", "frame.protocols", "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport"]


def endpoint(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def compare_conversations(name, recs, rows, tally):
    """Per TCP/UDP conversation: frames and bytes (frame lengths) sent by each endpoint, and per
    packet the udp_stream. tshark's conversation tables leave out the TCP/UDP headers that ICMP
    errors quote, and so does segscope."""
    theirs = {}
    pk = {p["frame"]: p for p in sscompare.packets(recs)}
    for row in rows:
        protos = row["frame.protocols"].split(":")
        for proto, key in (("tcp", "tcp.stream"), ("udp", "udp.stream")):
            if row[key] == "" or proto not in protos:
                continue
            i = protos.index(proto)
            if "icmp" in protos[:i] or "icmpv6" in protos[:i]:
                continue
            addr = row["ip.src"] or row["ipv6.src"]
            ep = endpoint(addr, row[proto + ".srcport"])
            d = theirs.setdefault((proto, int(row[key])), {})
            f, b = d.get(ep, (0, 0))
            d[ep] = (f + 1, b + int(row["frame.len"]))
            if proto == "udp":
                p = pk.get(int(row["frame.number"]))
                tally.check(f"{name} frame {row['frame.number']}", "udp_stream",
                            p.get("udp_stream") if p else None, int(row[key]))
    ours = {}
    for r in recs:
        if r.get("type") != "conversation":
            continue
        key = "tcp_stream" if r["proto"] == "tcp" else "udp_stream"
        d = {}
        if r["frames_c2s"]:
            d[r["client"]] = (r["frames_c2s"], r["bytes_c2s"])
        if r["frames_s2c"]:
            d[r["server"]] = (r["frames_s2c"], r["bytes_s2c"])
        ours[(r["proto"], r[key])] = d
    tally.check(name, "conversations", sorted(ours), sorted(theirs))
    for k in sorted(theirs):
        tally.check(f"{name} {k[0]} stream {k[1]}", "frames and bytes per sender", ours.get(k), theirs[k])


# tshark's checksum status: 0 bad, 1 good, 2 unverified. segscope's offload
# verdict is a bad checksum to tshark (it only hints at offload in its text).
STATUS = {"good": "1", "bad": "0", "unverified (offload)": "0", "unverifiable (not fully captured)": "2"}


def compare_checksums(binary, path, name, nframes, tally):
    rows = sscompare.tshark_fields(path, ["frame.number", "ip.checksum.status", "tcp.checksum.status",
                                          "udp.checksum.status"],
                                   prefs=["ip.check_checksum:TRUE", "tcp.check_checksum:TRUE",
                                          "udp.check_checksum:TRUE"])
    recs, _, _ = sscompare.run_segscope(binary, path, "--verify-checksums")
    byframe = {p["frame"]: p for p in sscompare.packets(recs)}
    for row in rows[:nframes]:
        p = byframe.get(int(row["frame.number"]))
        if p is None or "checksum" not in p:
            continue
        cs = p["checksum"]
        where = f"{name} frame {row['frame.number']}"
        if "ip" in cs and row["ip.checksum.status"] in ("0", "1"):
            tally.check(where, "ip checksum", STATUS[cs["ip"]], row["ip.checksum.status"])
        for proto in ("tcp", "udp"):
            theirs = row[proto + ".checksum.status"]
            if proto in cs and theirs in ("0", "1"):
                tally.check(where, proto + " checksum", STATUS[cs[proto]], theirs)


def main():
    binary = sys.argv[1]
    dirs = [os.path.join(sys.argv[2], "peer"), os.path.join(sys.argv[2], "spec")] + sys.argv[3:]
    if not shutil.which("tshark"):
        if os.environ.get("SEGSCOPE_REQUIRE_TSHARK") == "1":
            print("tshark is required (SEGSCOPE_REQUIRE_TSHARK=1) but not installed")
            return 1
        print("tshark not installed: cross-check skipped")
        return 77
    tally = sscompare.Tally()
    ncap = 0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(d, f)
            rows = sscompare.tshark_fields(path, FIELDS)
            recs, err, rc = sscompare.run_segscope(binary, path)
            ncap += 1
            if rc < 0 or rc > 2:
                tally.check(f, "exit status", rc, "0, 1 or 2")
                continue
            pk = sscompare.packets(recs)
            if not rows:
                continue  # tshark read nothing (rejected or empty file)
            if "different link-layer types or snapshot lengths" in err:
                rows = rows[:len(pk)]  # libpcap stops where the interfaces differ
            sscompare.compare_packets(f, pk, rows, tally)
            if "different link-layer types or snapshot lengths" not in err:
                compare_conversations(f, recs, rows, tally)
            compare_checksums(binary, path, f, len(pk), tally)
    for b in tally.bad[:200]:
        print("MISMATCH", b)
    print(f"{ncap} captures, {tally.checked} comparisons with tshark (per packet: flags, seq, ack, len, "
          f"tcp_stream, udp_stream, checksums; per conversation: frames and bytes each way), "
          f"{len(tally.bad)} mismatches")
    return 1 if tally.bad or ncap == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
