#!/usr/bin/env python3
"""Golden test: segscope --json against the stored tshark 4.0.17 oracle of the third-party captures.

For every capture in DATA/peer that has an oracle, every frame must have a
packet record, and every TCP packet's flags, relative seq and ack, payload
length and tcp_stream must equal tshark's. Files tshark could not read must
give a clean message and no crash.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sscompare  # noqa: E402


def main():
    binary, data = sys.argv[1], sys.argv[2]
    peer = os.path.join(data, "peer")
    oracle = os.path.join(peer, "oracle")
    tally = sscompare.Tally()
    files = sorted(f for f in os.listdir(peer) if f.endswith((".pcap", ".pcapng")))
    crashes = []
    for f in files:
        tsv = os.path.join(oracle, f + ".tsv")
        if not os.path.exists(tsv):
            continue
        recs, err, rc = sscompare.run_segscope(binary, os.path.join(peer, f))
        if rc < 0 or rc > 2:
            crashes.append(f"{f}: exit {rc}: {err.strip()}")
            continue
        rows = sscompare.read_tsv(tsv)
        has_err = os.path.exists(os.path.join(oracle, f + ".stderr"))
        if has_err and not rows:
            # tshark rejected the file: segscope must say why, in one line, and not crash.
            if rc == 0 and sscompare.packets(recs):
                tally.check(f, "rejected file", "accepted with packets", "rejected")
            elif not err.strip() and rc != 0:
                tally.check(f, "error message", "", "a message")
            continue
        pk = sscompare.packets(recs)
        if "different link-layer types or snapshot lengths" in err:
            # libpcap cannot read pcapng files whose interfaces differ: the
            # frames before the problem must match, and the message must say so.
            tally.check(f, "exit status on unreadable rest", rc, 1)
            rows = rows[:len(pk)]
        sscompare.compare_packets(f, pk, rows, tally)
    for c in crashes:
        print("CRASH", c)
    for b in tally.bad[:200]:
        print("MISMATCH", b)
    print(f"{len(files)} captures, {tally.checked} comparisons, {len(tally.bad)} mismatches, "
          f"{len(crashes)} crashes")
    return 1 if tally.bad or crashes else 0


if __name__ == "__main__":
    sys.exit(main())
