"""Shared helpers for the integration tests: run segscope, read tshark's fields, compare."""
import json
import os
import subprocess

# tshark 4.0's tcp.flags.str: 12 characters, most significant first:
# 3 reserved, AE (was NS), CWR, ECE, URG, ACK, PSH, RST, SYN, FIN.
FLAG_POS = {"AE": 3, "CWR": 4, "ECE": 5, "URG": 6, "ACK": 7, "PSH": 8, "RST": 9, "SYN": 10, "FIN": 11}


def flags_from_str(s):
    """Set of flag names from a tcp.flags.str value.

    When AccECN is in use tshark shows the 3-bit ACE counter (AE, CWR, ECE)
    as "-N-" in positions 3-5 instead of three letters.
    """
    if len(s) != 12:
        return None
    out = {name for name, pos in FLAG_POS.items() if pos > 5 and s[pos] != "\u00b7"}
    ace = s[3:6]
    if ace[0] == "-" and ace[2] == "-" and ace[1].isdigit():
        n = int(ace[1])
        for bit, name in ((4, "AE"), (2, "CWR"), (1, "ECE")):
            if n & bit:
                out.add(name)
    else:
        out |= {name for name, pos in FLAG_POS.items() if 3 <= pos <= 5 and s[pos] != "\u00b7"}
    return out


def run_segscope(binary, capture, *extra):
    """Runs segscope --json; returns (records, stderr, exit code)."""
    p = subprocess.run([binary, "-r", capture, "--json", *extra], capture_output=True)
    recs = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        recs.append(json.loads(line))
    return recs, p.stderr.decode("utf-8", "replace"), p.returncode


def packets(recs):
    return [r for r in recs if r.get("type") == "packet"]


def read_tsv(path):
    """Rows of a tshark -T fields -E header=y file, as dicts."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines:
        return []
    head = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cols = line.split("\t")
        cols += [""] * (len(head) - len(cols))
        rows.append(dict(zip(head, cols)))
    return rows


def tshark_fields(capture, fields, prefs=()):
    """Runs tshark with a private empty profile; returns rows as dicts."""
    import tempfile
    with tempfile.TemporaryDirectory() as cfg:
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=cfg, LC_ALL="C")
        args = ["tshark", "-n", "-r", capture, "-o", "tcp.relative_sequence_numbers:TRUE",
                "-o", "tcp.analyze_sequence_numbers:TRUE", "-T", "fields", "-E", "header=y",
                "-E", "separator=/t", "-E", "occurrence=f"]
        for pref in prefs:
            args += ["-o", pref]
        for f in fields:
            args += ["-e", f]
        p = subprocess.run(args, capture_output=True, env=env)
    text = p.stdout.decode("utf-8", "replace")
    lines = text.splitlines()
    if not lines:
        return []
    head = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        cols = line.split("\t")
        cols += [""] * (len(head) - len(cols))
        rows.append(dict(zip(head, cols)))
    return rows


class Tally:
    """Counts comparisons and keeps the first few mismatches per file."""

    def __init__(self):
        self.checked = 0
        self.bad = []

    def check(self, where, what, ours, theirs):
        self.checked += 1
        if ours != theirs:
            self.bad.append(f"{where}: {what}: segscope {ours!r}, tshark {theirs!r}")


def compare_packets(name, ours, rows, tally, check_streams=True):
    """Compares segscope packet records with tshark rows (frame, tcp.* fields)."""
    tally.check(name, "packet records vs frames", len(ours), len(rows))
    byframe = {p["frame"]: p for p in ours}
    for row in rows:
        fr = int(row["frame.number"])
        p = byframe.get(fr)
        where = f"{name} frame {fr}"
        if p is None:
            tally.check(where, "packet record", None, "present")
            continue
        if row.get("tcp.flags.str", "") == "" and row.get("tcp.stream", "") == "":
            continue  # not TCP for tshark
        if row.get("tcp.flags.str", "") == "":
            continue
        theirs_flags = flags_from_str(row["tcp.flags.str"])
        q = p.get("quoted")
        if p.get("proto") in ("icmp", "icmpv6") and q is not None:
            # tshark dissects the TCP header an ICMP error quotes; so does segscope.
            if "flags" in q:
                tally.check(where, "quoted flags", set(q["flags"]), theirs_flags)
            tally.check(where, "quoted seq", q.get("seq_raw"), int(row["tcp.seq"]) if row["tcp.seq"] else None)
            if check_streams and row.get("tcp.stream", "") != "":
                tally.check(where, "quoted tcp_stream", q.get("tcp_stream"), int(row["tcp.stream"]))
            continue
        tally.check(where, "proto", p.get("proto"), "tcp")
        tally.check(where, "flags", set(p.get("flags", [])), theirs_flags)
        tally.check(where, "seq", p.get("seq"), int(row["tcp.seq"]) if row["tcp.seq"] else None)
        tally.check(where, "ack", p.get("ack"), int(row["tcp.ack"]) if row["tcp.ack"] else None)
        if row.get("tcp.len", "") != "":
            tally.check(where, "len", p.get("len"), int(row["tcp.len"]))
        else:
            # tshark prints no length for a header it could not dissect.
            tally.check(where, "analyzed", p.get("analyzed"), False)
        if check_streams and row.get("tcp.stream", "") != "":
            tally.check(where, "tcp_stream", p.get("tcp_stream"), int(row["tcp.stream"]))
