#!/usr/bin/env python3
"""test_bench_smoke.py - the benchmark's capture generator is deterministic and its captures read everywhere.

Usage: test_bench_smoke.py GEN FLOOR SEGSCOPE

Generates 20 000 packets twice with the same seed (the files must be
identical) and once with another seed (it must differ), then checks that the
capture reads to its end in the libpcap floor, in segscope (exit status 0, one
JSON packet record per frame) and, when it is installed, in tshark (the same
number of frames). No timing here: bench/run measures, tests only check.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

PACKETS = 20000


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split('\n')[2])
    gen, floor, segscope = sys.argv[1:]
    failures = []

    def check(ok, what):
        print(('ok    ' if ok else 'FAIL  ') + what)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as d:
        paths = []
        for name, seed in (('a', 7), ('b', 7), ('c', 8)):
            p = os.path.join(d, name + '.pcap')
            r = subprocess.run([gen, '-n', str(PACKETS), '-f', '300', '--seed', str(seed), '-o', p],
                               stderr=subprocess.PIPE, text=True)
            check(r.returncode == 0, 'generator exits 0 (seed %d): %s' % (seed, r.stderr.strip()))
            paths.append(p)
        a, b, c = (sha256(p) for p in paths)
        check(a == b, 'same seed gives an identical file (%s)' % a[:16])
        check(a != c, 'another seed gives another file')
        cap = paths[0]

        r = subprocess.run([floor, 'count', cap], stdout=subprocess.PIPE, text=True)
        check(r.returncode == 0 and r.stdout.split()[:2] == ['packets', str(PACKETS)],
              'floor reads %d packets: %s' % (PACKETS, r.stdout.strip()))
        r = subprocess.run([floor, 'hash', cap], stdout=subprocess.PIPE, text=True)
        words = r.stdout.split()
        check(r.returncode == 0 and words[words.index('tcp_udp') + 1] == str(PACKETS),
              'every generated frame is TCP or UDP over IPv4 or IPv6: %s' % r.stdout.strip())

        r = subprocess.run([segscope, '-r', cap, '--json', '--framing', '9000=len32,9001=line'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(r.returncode == 0, 'segscope exits 0: %s' % r.stderr.strip()[-300:])
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        types = {}
        for rec in recs:
            types[rec['type']] = types.get(rec['type'], 0) + 1
        check(types.get('packet') == PACKETS, 'one packet record per frame: %s' % types)
        check(recs and recs[-1]['type'] == 'end' and recs[-1]['frames'] == PACKETS, 'end record counts every frame')
        malformed = sum(1 for rec in recs if rec['type'] == 'packet' and ('malformed' in rec or 'truncated' in rec))
        check(malformed == 0, 'no frame decodes as malformed or truncated (%d)' % malformed)
        flags = set()
        for rec in recs:
            flags.update(rec.get('analysis', []))
        for want in ('retransmission', 'fast_retransmission', 'duplicate_ack', 'out_of_order', 'zero_window'):
            check(want in flags, 'the capture shows %s' % want)
        check(types.get('message', 0) > 0, 'the framed ports give messages (%d)' % types.get('message', 0))
        r = subprocess.run([segscope, '-r', cap, '--summary', '--verify-checksums', '--json'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(r.returncode == 0, 'segscope --summary --verify-checksums exits 0')

        if shutil.which('tshark'):
            r = subprocess.run(['tshark', '-r', cap, '-T', 'fields', '-e', 'frame.number'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            n = len(r.stdout.split())
            check(r.returncode == 0 and n == PACKETS, 'tshark reads the same %d frames (%d)' % (PACKETS, n))
        elif os.environ.get('SEGSCOPE_REQUIRE_TSHARK') == '1':
            check(False, 'tshark is required here (SEGSCOPE_REQUIRE_TSHARK=1) but not installed')
        else:
            print('skip  tshark is not installed: frame count not cross-checked')

    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
