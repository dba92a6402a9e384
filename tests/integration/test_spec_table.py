#!/usr/bin/env python3
"""Golden test: the expected table of the TCP analysis specification, frame by frame.

The rows below transcribe the table of expected tshark 4.0.17 results for
tests/data/spec/anomalies.pcap (stream, relative seq/ack, length, raw window,
ACK RTT, bytes in flight, analysis markers), plus the two precedence
captures and the t=0 variant. Runs without tshark.
"""
import json
import os
import subprocess
import sys

from checks import Tally

BIN, DATA = sys.argv[1], sys.argv[2]
SPEC = os.path.join(DATA, "spec")

R, FR, SP, OOO = "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order"
LOST, UNSEEN, DUP = "lost_segment", "ack_lost_segment", "duplicate_ack"
ZW, ZWP, ZWPA, WF, WU = "zero_window", "zero_window_probe", "zero_window_probe_ack", "window_full", "window_update"
KA, KAA, REUSE = "keep_alive", "keep_alive_ack", "reused_ports"

# frame: (stream, seq, ack, len, win_raw, ack_rtt, bytes_in_flight, flags)
ANOMALIES = {
    1: (0, 0, 0, 0, 65535, None, None, []),
    2: (0, 0, 1, 0, 65535, 0.010, None, []),
    3: (0, 1, 1, 0, 512, 0.010, None, []),
    4: (0, 1, 1, 100, 512, None, 100, []),
    5: (0, 101, 1, 100, 512, None, 200, []),
    6: (0, 301, 1, 100, 512, None, None, [LOST]),
    7: (0, 1, 201, 0, 512, 0.009, None, []),
    8: (0, 1, 201, 0, 512, None, None, [DUP]),
    9: (0, 1, 201, 0, 512, None, None, [DUP]),
    10: (0, 1, 201, 0, 512, None, None, [DUP]),
    11: (0, 201, 1, 100, 512, None, 200, [R, FR]),
    12: (0, 1, 401, 0, 512, 0.018, None, []),
    13: (0, 301, 1, 100, 512, None, 100, [R, SP]),
    14: (0, 401, 1, 100, 512, None, 200, []),
    15: (0, 401, 1, 100, 512, None, 200, [R]),
    16: (0, 601, 1, 100, 512, None, None, [LOST]),
    17: (0, 501, 1, 100, 512, None, None, [OOO]),
    18: (0, 1, 701, 0, 512, 0.010, None, []),
    19: (0, 1, 801, 0, 512, None, None, [UNSEEN]),
    20: (0, 801, 1, 100, 512, None, None, [LOST]),
    21: (0, 1, 901, 0, 512, 0.010, None, [UNSEEN]),
    22: (0, 900, 1, 0, 512, None, None, [KA]),
    23: (0, 1, 901, 0, 512, None, None, [KAA]),
    24: (0, 1, 901, 0, 0, None, None, [ZW]),
    25: (0, 901, 1, 1, 512, None, 1, [ZWP]),
    26: (0, 1, 901, 0, 0, None, None, [ZWPA, ZW]),
    27: (0, 1, 901, 0, 2, None, None, [WU]),
    28: (0, 901, 1, 256, 512, None, 256, [WF]),
    29: (0, 1, 1157, 0, 512, 0.010, None, []),
    30: (0, 1157, 1, 0, 512, None, None, []),
    31: (0, 1, 1158, 0, 512, 0.010, None, []),
    32: (0, 1158, 2, 0, 512, 0.010, None, []),
    33: (1, 0, 0, 0, 65535, None, None, [REUSE]),
    34: (1, 0, 1, 0, 65535, 0.010, None, []),
    35: (1, 1, 1, 0, 512, 0.010, None, []),
    36: (1, 1, 1, 10, 512, None, 10, []),
    37: (1, 1, 11, 0, 0, 0.010, None, []),
    38: (2, 0, 0, 0, 65535, None, None, []),
    39: (2, 0, 0, 0, 65535, None, None, [R]),
    40: (2, 0, 1, 0, 65535, 1.010, None, []),
    41: (2, 1, 1, 0, 512, 0.010, None, []),
    42: (2, 1, 1, 10, 512, None, 10, []),
    43: (2, 1, 11, 0, 512, 0.010, None, []),
    44: (2, 10, 1, 1, 512, None, 1, [KA]),
    45: (2, 1, 11, 0, 512, 0.001, None, [KAA]),
    46: (3, 1, 1, 50, 300, None, 50, []),
    47: (3, 1, 51, 0, 300, 0.010, None, []),
}



tally = Tally()
check = tally.check


def packets(name, *extra):
    p = subprocess.run([BIN, "-r", os.path.join(SPEC, name), "--json", *extra], capture_output=True, check=True)
    recs = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return {r["frame"]: r for r in recs if r["type"] == "packet"}, [r for r in recs if r["type"] == "conversation"]


pk, convs = packets("anomalies.pcap")
check("anomalies frames", len(pk) == 47, str(len(pk)))
for fr, (stream, seq, ack, ln, win, rtt, bif, flags) in ANOMALIES.items():
    p = pk.get(fr, {})
    w = f"anomalies frame {fr}"
    check(w + " stream", p.get("tcp_stream") == stream, str(p.get("tcp_stream")))
    check(w + " seq/ack/len", (p.get("seq"), p.get("ack"), p.get("len")) == (seq, ack, ln),
          str((p.get("seq"), p.get("ack"), p.get("len"))))
    check(w + " raw window", p.get("win_raw") == win, str(p.get("win_raw")))
    got_rtt = p.get("ack_rtt")
    check(w + " ack_rtt", (rtt is None and got_rtt is None) or (rtt is not None and got_rtt is not None
                                                              and abs(got_rtt - rtt) < 1e-6), str(got_rtt))
    check(w + " bytes_in_flight", p.get("bytes_in_flight") == bif, str(p.get("bytes_in_flight")))
    check(w + " flags", sorted(p.get("analysis", [])) == sorted(flags), str(p.get("analysis")))
# Dup ACK numbers and the frame they repeat; iRTT; scale unknown on the mid-stream pickup.
check("dup ack numbers", [(pk[f].get("dup_ack_num"), pk[f].get("dup_ack_of")) for f in (8, 9, 10)] ==
      [(1, 7), (2, 7), (3, 7)], str([(pk[f].get("dup_ack_num"), pk[f].get("dup_ack_of")) for f in (8, 9, 10)]))
check("iRTT 20 ms from frame 3", abs(pk[3].get("irtt", 0) - 0.020) < 1e-9 and "irtt" not in pk[2], str(pk[3].get("irtt")))
check("iRTT from the retransmitted SYN", abs(pk[41].get("irtt", 0) - 0.020) < 1e-9, str(pk[41].get("irtt")))
check("scale unknown mid-stream", pk[46].get("win_scale") == "unknown" and pk[46].get("win") == 300, str(pk[46]))
check("FIN active/passive", pk[30].get("fin") == "active" and pk[31].get("fin") == "passive", "")
bystream = {c["tcp_stream"]: c for c in convs}
check("completeness", [bystream[i]["completeness"] for i in range(4)] == [31, 47, 15, 12],
      str([bystream[i]["completeness"] for i in range(4)]))

# The same file with the first SYN at time 0: no iRTT, so frame 17 is a plain retransmission.
pk0, _ = packets("anomalies_t0.pcap")
check("t0 frame 17", pk0[17].get("analysis") == [R], str(pk0[17].get("analysis")))
check("t0 no irtt in stream 0", all("irtt" not in pk0[f] for f in range(1, 33)), "")
check("t0 rto 1.005 s", abs(pk0[17].get("rto", 0) - 1.005) < 1e-6, str(pk0[17].get("rto")))

# Precedence: spurious before out-of-order; fast retransmission before out-of-order.
pks, _ = packets("prec_spurious_vs_ooo.pcap")
check("spurious beats out-of-order", sorted(pks[7].get("analysis", [])) == sorted([R, SP]), str(pks[7].get("analysis")))
pkf, _ = packets("prec_fastrt_vs_ooo.pcap")
check("fast beats out-of-order", sorted(pkf[9].get("analysis", [])) == sorted([R, FR]), str(pkf[9].get("analysis")))
check("prec dup acks", [pkf[f].get("dup_ack_num") for f in (7, 8)] == [1, 2], "")

tally.finish()
