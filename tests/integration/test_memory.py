#!/usr/bin/env python3
"""test_memory.py - segscope's memory stays bounded on hostile captures built here.

Usage: test_memory.py SEGSCOPE

Each capture is built in Python (raw IPv4 frames, so they stay small) in a temporary directory,
segscope reads it with its output sent to /dev/null, and the peak resident set size of that one
process is read from wait4()'s rusage. The checks:

  * a SYN flood from 300,000 distinct ports with --max-flows 10000 (and with --framing auto);
  * a port scan of 200,000 refused SYNs beside 100,000 short closed exchanges, with the default
    limits: every conversation ends, and the default --max-closed alone must bound them;
  * 200,000 out-of-order segments that are never filled: one conversation with the default
    caps, and 2,000 conversations with a small --reasm-budget;
  * a len32 stream whose first message declares 4 GiB, and a file-transfer header whose length
    points past the end of the stream, on many conversations;
  * one conversation of 500,000 packets against the same mix in 50,000: memory bounded by the
    flow table must not grow with the number of packets.

The bound, 150 MB, is the largest cap these runs can reach (16 MiB of reassembly budget, or 10,000
conversations of a few KiB each) plus the program and libpcap (about 10 MB), with room to spare
for the allocator; it is far below what any of these captures would cost without the caps
(300,000 conversations, hundreds of MB of buffered segments, a 4 GiB message). The figures are
printed. Time: about a minute on one core.

Under AddressSanitizer the resident size measures the sanitizer (its quarantine of freed
memory, its shadow memory) more than segscope, so a sanitizer build runs the same captures for
the sanitizer's sake and leaves the bounds unchecked.
"""
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

BOUND_MB = 150
GROWTH_TOLERANCE = 0.20  # 500k packets vs 50k: peak RSS within 20%

PCAP_HEADER = struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 228)  # LINKTYPE_IPV4


def ip4(a):
    return bytes(a)


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b''):
    """An IPv4 + TCP frame (checksums left 0: segscope only checks them with --verify-checksums)."""
    tcp = struct.pack('>HHIIBBHHH', sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                      65535, 0, 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    return ip + tcp


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


class Writer:
    """Writes pcap records with a clock advancing 10 microseconds per frame."""

    def __init__(self, path):
        self.f = open(path, 'wb', buffering=1 << 20)
        self.f.write(PCAP_HEADER)
        self.t = 1_700_000_000 * 1_000_000
        self.n = 0

    def add(self, frame):
        self.t += 10
        self.f.write(struct.pack('<IIII', self.t // 1_000_000, self.t % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)
        self.n += 1

    def close(self):
        self.f.close()
        return self.n


CLIENT = ip4([10, 0, 0, 1])
SERVER = ip4([10, 0, 0, 2])


def handshake(w, sport, dport, cisn, sisn, client=CLIENT):
    w.add(tcp_frame(client, SERVER, sport, dport, cisn, 0, SYN))
    w.add(tcp_frame(SERVER, client, dport, sport, sisn, cisn + 1, SYN | ACK))
    w.add(tcp_frame(client, SERVER, sport, dport, cisn + 1, sisn + 1, ACK))


def build_syn_flood(path, n=300_000):
    """n SYNs, each from its own (address, port): n conversations that never go away on their own."""
    w = Writer(path)
    for i in range(n):
        src = ip4([10, 1 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
        w.add(tcp_frame(src, SERVER, 1024 + (i % 60000), 80, i * 7919, 0, SYN))
    return w.close()


def build_scan(path, n=200_000):
    """A port scan answered: n SYNs each refused by a RST, and n short exchanges closed by FINs, interleaved.
    Every conversation ends, so with default limits only --max-closed keeps them from piling up."""
    w = Writer(path)
    rst = 0x04
    for i in range(n):
        src = ip4([10, 3 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
        sport = 1024 + (i % 60000)
        w.add(tcp_frame(src, SERVER, sport, 1 + i % 1000, i * 7919, 0, SYN))
        w.add(tcp_frame(SERVER, src, 1 + i % 1000, sport, 0, i * 7919 + 1, rst | ACK))
        if i % 2 == 0:
            c, s_ = 1000 + i, 5000 + i
            handshake(w, sport, 9001, c, s_, client=src)
            w.add(tcp_frame(src, SERVER, sport, 9001, c + 1, s_ + 1, ACK | PSH, b'hello\n'))
            w.add(tcp_frame(src, SERVER, sport, 9001, c + 7, s_ + 1, FIN | ACK))
            w.add(tcp_frame(SERVER, src, 9001, sport, s_ + 1, c + 8, FIN | ACK))
            w.add(tcp_frame(src, SERVER, sport, 9001, c + 8, s_ + 2, ACK))
    return w.close()


def build_ooo(path, conns, per_conn, size=200):
    """After a handshake, each conversation sends segments that all lie beyond a 1-byte hole, never acked."""
    w = Writer(path)
    payload = b'x' * size
    for c in range(conns):
        handshake(w, 2000 + c % 60000, 9000, 1000, 5000, client=ip4([10, 2, c >> 8, c & 0xFF]))
    for k in range(per_conn):
        for c in range(conns):
            client = ip4([10, 2, c >> 8, c & 0xFF])
            w.add(tcp_frame(client, SERVER, 2000 + c % 60000, 9000, 1000 + 2 + k * size, 5001, ACK | PSH, payload))
    return w.close()


def build_len32_huge(path, conns=2000, segs=25):
    """Each conversation's first 4 bytes declare a 4 GiB message; 25 segments of it follow."""
    w = Writer(path)
    body = b'y' * 1400
    for c in range(conns):
        client = ip4([10, 3, c >> 8, c & 0xFF])
        handshake(w, 3000 + c, 9000, 1000, 5000, client=client)
        seq = 1001
        w.add(tcp_frame(client, SERVER, 3000 + c, 9000, seq, 5001, ACK | PSH, struct.pack('>I', 0xFFFFFFFF)))
        seq += 4
        for _ in range(segs):
            w.add(tcp_frame(client, SERVER, 3000 + c, 9000, seq, 5001, ACK, body))
            seq += len(body)
    return w.close()


def build_filexfer_past_end(path, conns=5000):
    """File-transfer headers whose JSON length (60,000) runs past the end of the stream."""
    w = Writer(path)
    for c in range(conns):
        client = ip4([10, 4, c >> 8, c & 0xFF])
        handshake(w, 4000 + c % 60000, 9000, 1000, 5000, client=client)
        data = struct.pack('>I', 60000) + b'{"name": "f", "filesize": 9999999999' + b' ' * 1000
        w.add(tcp_frame(client, SERVER, 4000 + c % 60000, 9000, 1001, 5001, ACK | PSH, data))
    return w.close()


def build_one_flow(path, packets):
    """One long conversation: data, ACKs, a retransmission and an out-of-order pair now and then."""
    w = Writer(path)
    handshake(w, 5555, 9000, 1000, 5000)
    seq, k = 1001, 0
    body = b'z' * 100
    while w.n < packets:
        k += 1
        if k % 50 == 0:  # two segments swapped: briefly out of order
            w.add(tcp_frame(CLIENT, SERVER, 5555, 9000, seq + 100, 5001, ACK, body))
            w.add(tcp_frame(CLIENT, SERVER, 5555, 9000, seq, 5001, ACK, body))
            seq += 200
        else:
            w.add(tcp_frame(CLIENT, SERVER, 5555, 9000, seq, 5001, ACK | PSH, body))
            seq += 100
        if k % 37 == 0:  # a retransmission
            w.add(tcp_frame(CLIENT, SERVER, 5555, 9000, seq - 100, 5001, ACK | PSH, body))
        w.add(tcp_frame(SERVER, CLIENT, 9000, 5555, 5001, seq, ACK))
    return w.close()


def peak_rss_mb(cmd, timeout=None):
    """Runs cmd with stdout to /dev/null; returns (exit status, peak RSS in MB, seconds, stderr).
    With a timeout, a run still going after it is killed and TimeoutExpired raised."""
    t0 = time.monotonic()
    with open(os.devnull, 'wb') as null, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=null, stderr=err)
        timer = threading.Timer(timeout, p.kill) if timeout else None
        if timer:
            timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        if timer:
            timer.cancel()
            if time.monotonic() - t0 >= timeout:
                raise subprocess.TimeoutExpired(cmd, timeout)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors='replace')
    return p.returncode, ru.ru_maxrss / 1024.0, time.monotonic() - t0, text


def sanitized(path):
    """Whether the program was built with AddressSanitizer."""
    with open(path, 'rb') as f:
        return b'__asan_init' in f.read()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    segscope = os.path.abspath(sys.argv[1])
    check_rss = not sanitized(segscope)
    if not check_rss:
        print('AddressSanitizer build: the runs are made, their peak RSS is printed but not checked')
    failures = []
    figures = {}
    with tempfile.TemporaryDirectory(prefix='segscope-memory.') as d:
        def path(name):
            return os.path.join(d, name + '.pcap')

        t0 = time.monotonic()
        built = {
            'syn-flood': build_syn_flood(path('syn-flood')),
            'scan': build_scan(path('scan')),
            'ooo-one': build_ooo(path('ooo-one'), 1, 200_000),
            'ooo-many': build_ooo(path('ooo-many'), 2000, 100, size=1000),
            'len32-4gib': build_len32_huge(path('len32-4gib')),
            'filexfer-past-end': build_filexfer_past_end(path('filexfer-past-end')),
            'flow-50k': build_one_flow(path('flow-50k'), 50_000),
            'flow-500k': build_one_flow(path('flow-500k'), 500_000),
        }
        print('built %d captures (%s packets) in %.1f s' % (
            len(built), ', '.join('%s %d' % kv for kv in built.items()), time.monotonic() - t0))

        runs = [
            # name, capture, options, what it shows
            ('syn-flood --max-flows 10000', 'syn-flood', ['--max-flows', '10000']),
            ('syn-flood --max-flows 10000 --json', 'syn-flood', ['--max-flows', '10000', '--json']),
            ('syn-flood --max-flows 10000 --summary', 'syn-flood', ['--max-flows', '10000', '--summary']),
            ('syn-flood --max-flows 10000 --html --csv', 'syn-flood',
             ['--max-flows', '10000', '--html', os.devnull, '--csv', os.devnull]),
            ('syn-flood --max-flows 10000 --framing line', 'syn-flood', ['--max-flows', '10000', '--framing', 'line',
                                                                         '--summary', '--timeline']),
            ('syn-flood --max-flows 10000 --framing auto', 'syn-flood', ['--max-flows', '10000', '--framing', 'auto',
                                                                         '--summary']),
            # 300,000 conversations that all end: no --max-flows, the default --max-closed bounds them.
            ('scan, default limits', 'scan', []),
            ('scan, default limits --json --framing auto', 'scan', ['--json', '--framing', 'auto']),
            ('ooo, 1 conversation, default caps', 'ooo-one', ['--framing', 'line']),
            ('ooo, 2000 conversations, --reasm-budget 16M', 'ooo-many',
             ['--framing', 'line', '--reasm-budget', str(16 << 20)]),
            ('len32 declaring 4 GiB', 'len32-4gib', ['--framing', 'len32']),
            ('len32 declaring 4 GiB, --max-message 8G', 'len32-4gib', ['--framing', 'len32', '--max-message', str(8 << 30)]),
            ('filexfer header past the end', 'filexfer-past-end', ['--framing', 'filexfer', '--explain']),
            ('one flow, 50k packets', 'flow-50k', ['--framing', 'line', '--explain']),
            ('one flow, 500k packets', 'flow-500k', ['--framing', 'line', '--explain']),
        ]
        print('%-50s %9s %8s %6s' % ('run', 'packets', 'peak MB', 'secs'))
        for name, cap, opts in runs:
            rc, mb, secs, err = peak_rss_mb([segscope, '-r', path(cap)] + opts)
            figures[name] = mb
            print('%-50s %9d %8.1f %6.1f' % (name, built[cap], mb, secs))
            if rc != 0:
                failures.append('%s: exit status %d: %s' % (name, rc, err.strip()[-300:]))
            if check_rss and mb > BOUND_MB:
                failures.append('%s: peak RSS %.1f MB is over the %d MB bound' % (name, mb, BOUND_MB))

        small, big = figures['one flow, 50k packets'], figures['one flow, 500k packets']
        growth = (big - small) / small
        print('one flow: 50k packets %.1f MB, 500k packets %.1f MB: %+.0f%%' % (small, big, growth * 100))
        if check_rss and growth > GROWTH_TOLERANCE:
            failures.append('memory grows with the packet count of one flow: %.1f MB for 50k packets, '
                            '%.1f MB for 500k (more than %d%%)' % (small, big, GROWTH_TOLERANCE * 100))

        # The caps announce themselves: a notice once per conversation direction.
        out = subprocess.run([segscope, '-r', path('ooo-many'), '--framing', 'line', '--reasm-budget', str(16 << 20),
                              '--summary', '--json'], capture_output=True, text=True).stdout
        notices = [l for l in out.splitlines() if '"notice"' in l and 'reassembly budget reached' in l]
        print('ooo, 2000 conversations: %d "reassembly budget reached" notices' % len(notices))
        if not notices:
            failures.append('no "reassembly budget reached" notice when the budget was spent')
        if len(notices) != len(set(notices)):
            failures.append('a "reassembly budget reached" notice was repeated for one direction')
        out = subprocess.run([segscope, '-r', path('ooo-one'), '--framing', 'line'], capture_output=True,
                             text=True).stdout
        lim = [l for l in out.splitlines() if 'out-of-order limit reached' in l]
        print('ooo, 1 conversation: %d "out-of-order limit reached" notice(s)' % len(lim))
        if len(lim) != 1:
            failures.append('expected one "out-of-order limit reached" notice, got %d' % len(lim))

        # An application trace naming 300,000 distinct connection directions: the reader keeps
        # 200,000 of them (SS_APPTRACE_MAX_GROUPS), says how many records it ignored, and its lookups
        # are hashed (a scan per record took minutes here; the timeout only catches such a hang).
        trace = os.path.join(d, 'many-endpoints.trace.jsonl')
        with open(trace, 'w') as f:
            for i in range(300_000):
                f.write('{"ts":1700000000.%06d,"pid":1,"fd":3,"call":"send","local":"10.%d.%d.%d:%d",'
                        '"remote":"127.0.0.1:9000","offset":0,"len":5}\n'
                        % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1 + i % 60000))
        name = 'app trace of 300k endpoints'
        try:
            rc, mb, secs, err = peak_rss_mb([segscope, '-r', path('flow-50k'), '--app-trace', trace, '--summary'],
                                            timeout=300)
        except subprocess.TimeoutExpired:
            failures.append('%s: still running after 300 s' % name)
        else:
            print('%-50s %9s %8.1f %6.1f' % (name, '300000', mb, secs))
            if rc != 0:
                failures.append('%s: exit status %d: %s' % (name, rc, err.strip()[-300:]))
            if check_rss and mb > BOUND_MB:
                failures.append('%s: peak RSS %.1f MB is over the %d MB bound' % (name, mb, BOUND_MB))
            if '100000 records beyond the limits' not in err:
                failures.append('%s: no warning that 100000 records were ignored: %s' % (name, err.strip()[-300:]))

    if failures:
        print('\nFAILED:\n  ' + '\n  '.join(failures))
        sys.exit(1)
    print('all peaks under %d MB' % BOUND_MB if check_rss else 'every run ended cleanly')


if __name__ == '__main__':
    main()
