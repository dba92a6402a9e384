#!/usr/bin/env python3
"""Cross-check of the TCP analysis flags against tshark, per flag: precision and recall.

For every capture given (directories of .pcap/.pcapng), runs tshark (with a
private empty profile) and segscope --json, and compares per packet each
tcp.analysis flag. Prints, per flag: tshark count, segscope count, agreed,
missed, extra, precision, recall; and how many duplicate-ACK numbers agree.
Fails when any flag's precision or recall is under the threshold (99%) on
its set, or when a dup_ack_num differs. Exits 77 without tshark unless
SEGSCOPE_REQUIRE_TSHARK=1.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sscompare  # noqa: E402

FLAGS = ["retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
         "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
         "zero_window_probe_ack", "window_full", "window_update", "keep_alive", "keep_alive_ack",
         "reused_ports"]
THRESHOLD = 0.99


def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    if not shutil.which("tshark"):
        if os.environ.get("SEGSCOPE_REQUIRE_TSHARK") == "1":
            print("tshark is required (SEGSCOPE_REQUIRE_TSHARK=1) but not installed")
            return 1
        print("tshark not installed: cross-check skipped")
        return 77
    fields = ["frame.number", "tcp.stream", "tcp.analysis.duplicate_ack_num"] + \
             ["tcp.analysis." + f for f in FLAGS]
    stats = {f: [0, 0, 0] for f in FLAGS}  # tshark, segscope, agreed
    dup_num = [0, 0]
    examples = {f: [] for f in FLAGS}
    ncap = 0
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(d, name)
            rows = sscompare.tshark_fields(path, fields)
            recs, err, rc = sscompare.run_segscope(binary, path)
            ncap += 1
            pk = {p["frame"]: p for p in sscompare.packets(recs)}
            for row in rows:
                fr = int(row["frame.number"])
                p = pk.get(fr)
                if p is None or row["tcp.stream"] == "":
                    continue
                ours = set(p.get("analysis", []))
                for f in FLAGS:
                    t = row["tcp.analysis." + f] != ""
                    o = f in ours
                    stats[f][0] += t
                    stats[f][1] += o
                    stats[f][2] += t and o
                    if t != o and len(examples[f]) < 5:
                        examples[f].append(f"{name} frame {fr}: tshark {t}, segscope {o}")
                tn = row["tcp.analysis.duplicate_ack_num"]
                if tn != "" and "duplicate_ack" in ours:
                    dup_num[0] += 1
                    if str(p.get("dup_ack_num")) == tn.split(",")[0]:
                        dup_num[1] += 1
                    elif len(examples["duplicate_ack"]) < 5:
                        examples["duplicate_ack"].append(
                            f"{name} frame {fr}: dup_ack_num tshark {tn}, segscope {p.get('dup_ack_num')}")
    ok = True
    print(f"{'flag':26} {'tshark':>7} {'segscope':>8} {'agreed':>7} {'missed':>7} {'extra':>6} "
          f"{'precision':>9} {'recall':>7}")
    for f in FLAGS:
        t, o, a = stats[f]
        prec = a / o if o else 1.0
        rec = a / t if t else 1.0
        bad = prec < THRESHOLD or rec < THRESHOLD
        ok &= not bad
        print(f"{f:26} {t:7} {o:8} {a:7} {t - a:7} {o - a:6} {prec:9.4f} {rec:7.4f}{'  << below 99%' if bad else ''}")
    print(f"dup_ack_num equal where both flag a duplicate ACK: {dup_num[1]}/{dup_num[0]}")
    ok &= dup_num[0] == dup_num[1]
    for f in FLAGS:
        for e in examples[f]:
            print("  differs:", f, e)
    print(f"{ncap} captures")
    return 0 if ok and ncap else 1


if __name__ == "__main__":
    sys.exit(main())
