#!/usr/bin/env python3
"""test_threads.py - reading ahead on a second thread changes nothing in what segscope writes.

Usage: test_threads.py SEGSCOPE GEN DIR...

Runs segscope with --threads 1 and --threads 2 and compares standard
output, standard error and the exit status, byte for byte:
  - every capture under the DIRs, in three modes (the timeline with
    --explain and inferred framing, JSON with inferred framing, the
    summary tables);
  - a capture of many blocks from the benchmark's generator, in more modes
    (-c limits that end inside and on a batch, a BPF filter, -w), cut off in
    the middle of its last record, and converted to pcapng with editcap
    when editcap is installed (frames are then copied, not handed over in
    blocks).
Also checks that --threads takes only 1 or 2.
"""
import os
import shutil
import subprocess
import sys
import tempfile

MODES = (
    ['--explain', '--framing', 'auto'],
    ['--json', '--framing', 'auto'],
    ['--summary', '--framing', 'auto'],
)

BIG_MODES = MODES + (
    ['--json'],
    ['--summary', '--framing', '9000=len32,9001=line'],
    ['--json', '-c', '12345'],
    ['--json', '-c', '1024'],
    ['--summary', '--framing', 'auto', 'tcp port 9001'],
    ['--json', '--framing', 'auto', 'len > 300'],
)


def captures(dirs):
    for top in dirs:
        for root, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith(('.pcap', '.pcapng', '.cap')):
                    yield os.path.join(root, f)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split('\n')[2])
    segscope, gen, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    env = dict(os.environ, LC_ALL='C.UTF-8')
    env.pop('LANGUAGE', None)
    failures = []
    runs = 0

    def run(args):
        p = subprocess.run([segscope, '-q', '--no-color', *args], capture_output=True, env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr

    def compare(path, mode, wfile=None):
        nonlocal runs
        out = []
        for t in ('1', '2'):
            extra = ['-w', wfile + t] if wfile else []
            out.append(run(['--threads', t, '-r', path, *extra, *mode]))
        runs += 1
        same = out[0] == out[1]
        if wfile:
            same = same and open(wfile + '1', 'rb').read() == open(wfile + '2', 'rb').read()
        if not same:
            failures.append('%s %s: exit %d/%d, stdout %d/%d bytes, stderr %r / %r' % (
                path, ' '.join(mode), out[0][0], out[1][0], len(out[0][1]), len(out[1][1]),
                out[0][2][:200], out[1][2][:200]))
        return out[0]

    n = 0
    for path in captures(dirs):
        n += 1
        for mode in MODES:
            compare(path, mode)
    print('%d captures from %s, %d modes each' % (n, ', '.join(dirs), len(MODES)))

    with tempfile.TemporaryDirectory() as d:
        big = os.path.join(d, 'big.pcap')
        r = subprocess.run([gen, '-n', '30000', '-f', '400', '--seed', '3', '-o', big], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append('generator failed: ' + r.stderr.strip())
        else:
            data = open(big, 'rb').read()
            print('generated capture: %d bytes' % len(data))
            cut = os.path.join(d, 'cut.pcap')
            with open(cut, 'wb') as f:
                f.write(data[:len(data) - 7])
            bigs = [big, cut]
            editcap = shutil.which('editcap')
            if editcap:
                ng = os.path.join(d, 'big.pcapng')
                subprocess.run([editcap, '-F', 'pcapng', big, ng], check=True)
                bigs.append(ng)
            else:
                print('editcap not installed: the pcapng copy of the generated capture was not compared')
            for path in bigs:
                for mode in BIG_MODES:
                    code, out, err = compare(path, mode)
                    if code not in (0, 1) or not out:
                        failures.append('%s %s: exit %d, %d bytes: %r' % (path, ' '.join(mode), code, len(out), err[:200]))
                code, _, err = compare(path, ['--summary'], os.path.join(d, 'w'))
            code, _, err = run(['--threads', '1', '-r', cut, '--summary'])
            if b'cut off in the middle of a packet record' not in err:
                failures.append('the cut capture is not reported as cut: %r' % err[:300])

    for bad in ('0', '3', 'x', ''):
        code, _, err = run(['--threads', bad, '-r', os.devnull])
        runs += 1
        if code != 2 or b'--threads' not in err:
            failures.append('--threads %r: exit %d, %r' % (bad, code, err[:200]))

    for f in failures:
        print('FAIL ' + f)
    print('%d comparisons, %d failed' % (runs, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
