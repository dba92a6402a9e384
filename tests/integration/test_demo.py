#!/usr/bin/env python3
"""segscope-demo server and client on loopback: every mode, malformed input, limits, the application trace.

Each case starts a server on a port the kernel picks (--port 0, read back from
its "listening on" line), runs a client or raw Python sockets against it, and
checks what the programs themselves report. Cases are independent and run a
few at a time, so the whole file takes seconds.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from checks import Tally

DEMO = sys.argv[1]
TIMEOUT = 40  # seconds any one program may run


tally = Tally()
check = tally.check


class Server:
    """A segscope-demo server on a kernel-chosen port, with its stderr and stdout collected as they come."""

    def __init__(self, mode, *args, clients=1, family6=False, stdin=subprocess.DEVNULL):
        cmd = [DEMO, "server", "--mode", mode, "--port", "0"]
        if clients:
            cmd += ["--clients", str(clients)]
        if family6:
            cmd.append("-6")
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err_lines, self.out_lines = [], []
        self.port = None
        self.ready = threading.Event()
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err.start()
        self.t_out.start()
        if not self.ready.wait(10) or self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.err_lines))

    def _read_err(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.err_lines.append(line)
            m = re.search(r"listening on \S*:(\d+) ", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def _read_out(self):
        for raw in self.proc.stdout:
            self.out_lines.append(raw.decode("utf-8", "replace"))

    def wait(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "timeout"
        self.t_err.join(5)
        self.t_out.join(5)
        return rc

    @property
    def log(self):
        return "".join(self.err_lines)

    @property
    def out(self):
        return "".join(self.out_lines)


def client(port, mode, *args, family6=False, timeout=TIMEOUT):
    cmd = [DEMO, "client", "--mode", mode, "--port", str(port)]
    if family6:
        cmd.append("-6")
    cmd += list(args)
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode(), (e.stderr or b"").decode()
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def pair(mode, sargs=(), cargs=(), family6=False):
    """One server (--clients 1) and one client; returns (server rc, server log, client rc, client out, client err)."""
    srv = Server(mode, *sargs, family6=family6)
    crc, cout, cerr = client(srv.port, mode, *cargs, family6=family6)
    src = srv.wait()
    return src, srv.log, crc, cout, cerr


def run(*args, stdin=None):
    p = subprocess.run([DEMO, *args], input=stdin, capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def stream_bytes(n):
    """The bulk stream the demo sends: 16-byte numbered lines."""
    out = bytearray()
    line = 0
    while len(out) < n:
        out += b"bulk %010d\n" % line
        line += 1
    return bytes(out[:n])


def served(log):
    m = re.search(r"served (\d+) connections? \((\d+) failed, (\d+) rejected\)", log)
    return tuple(int(x) for x in m.groups()) if m else None


def recv_all(sock, timeout=10):
    """Everything the peer sends until it closes (or resets); None if it never does."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return data
            data += b
    except ConnectionResetError:
        return data
    except socket.timeout:
        return None


# ---------------------------------------------------------------------------
# Cases.

def case_usage():
    for args in (["--help"], ["server", "--help"], ["client", "--help"], ["md5", "--help"]):
        rc, out, err = run(*args)
        check(f"{' '.join(args)} exits 0", rc == 0 and "Usage:" in out, f"rc {rc} {err}")
    rc, out, _ = run("server", "--help")
    for opt in ("--mode", "--port", "--bind", "-6", "--clients", "--max-clients", "--max-message", "--dir",
                "--loss", "--mss", "--nodelay", "--trace", "--idle-timeout", "--conn-timeout", "--read-delay", "--le"):
        check(f"server --help lists {opt}", opt in out, opt)
    rc, out, _ = run("client", "--help")
    for opt in ("--mode", "--host", "--count", "--size", "--bytes", "--file", "--le", "--loss", "--mss",
                "--nodelay", "--trace", "--timeout", "--script"):
        check(f"client --help lists {opt}", opt in out, opt)
    for mode in ("echo", "chat", "once", "sticky", "len32", "line", "file", "bulk", "slow-reader", "abort",
                 "half-close", "keepalive", "udp"):
        check(f"--help lists mode {mode}", mode in out, mode)
    for args, what in ((["bogus"], "unknown command"), (["server", "--mode", "nope"], "unknown mode"),
                       (["server", "--bogus"], "unknown option"), (["server", "--mode", "file"], "file without --dir"),
                       (["client", "--dir", "x"], "server option on the client"),
                       (["server", "--count", "3"], "client option on the server"),
                       (["client", "--loss", "1.5"], "--loss out of range"), (["client", "--port", "0"], "port 0"),
                       (["client", "extra"], "stray argument"), ([], "no command")):
        rc, out, err = run(*args)
        check(f"usage error exits 2: {what}", rc == 2 and err.strip(), f"rc {rc} err {err!r}")


def case_md5():
    # The test suite of RFC 1321, appendix A.5.
    vectors = {
        b"": "d41d8cd98f00b204e9800998ecf8427e",
        b"a": "0cc175b9c0f1b6a831c399e269772661",
        b"abc": "900150983cd24fb0d6963f7d28e17f72",
        b"message digest": "f96b697d7cb7938d525a2f31aaf161d0",
        b"abcdefghijklmnopqrstuvwxyz": "c3fcd3d76192e4007dfb496cca67e13b",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789": "d174ab98d277d9f5a5611c2c9f419d9f",
        b"1234567890" * 8: "57edf4a22be3c955ac49da2e2107b67a",
    }
    for data, want in vectors.items():
        rc, out, err = run("md5", stdin=data)
        check(f"md5 RFC 1321 vector {data[:20]!r}", rc == 0 and out.split()[0] == want, f"{out} {err}")
    # Lengths around the 55/56/64-byte padding edges, and a large random input, against hashlib.
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for n in (55, 56, 57, 63, 64, 65, 119, 120, 128, 1000003):
            p = os.path.join(d, f"f{n}")
            with open(p, "wb") as f:
                f.write(os.urandom(n))
            paths.append(p)
        rc, out, err = run("md5", *paths)
        got = dict(reversed(l.split("  ", 1)) for l in out.splitlines())
        for p in paths:
            with open(p, "rb") as f:
                want = hashlib.md5(f.read()).hexdigest()
            check(f"md5 of {os.path.basename(p)} matches hashlib", got.get(p) == want, f"{got.get(p)} vs {want}")


def case_echo():
    src, slog, crc, cout, cerr = pair("echo", (), ("--count", "7", "--message", "ping"))
    check("echo client", crc == 0 and "7 messages sent, 7 echoed, 7 verified" in cout, f"{crc} {cout} {cerr}")
    check("echo server", src == 0 and "accepted" in slog and "closed: received 56 bytes" in slog and
          served(slog) == (1, 0, 0), slog)
    check("echo server logs each read and send", slog.count("read 8 bytes") == 7 and slog.count("sent 8 bytes") == 7,
          slog)


def case_echo6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        print("SKIP IPv6 echo: no ::1 on this machine")
        return
    src, slog, crc, cout, cerr = pair("echo", (), (), family6=True)
    check("IPv6 echo", crc == 0 and src == 0 and "5 messages sent, 5 echoed, 5 verified" in cout and
          "listening on [::1]:" in slog, f"{cout} {cerr} {slog}")


def case_once():
    src, slog, crc, cout, cerr = pair("once", (), ("--message", "hello, world"))
    check("once", crc == 0 and src == 0 and "sent 12 bytes, received 12 bytes: the same" in cout, f"{cout} {cerr}")


def case_sticky(nodelay):
    cargs = ("--nodelay",) if nodelay else ()
    src, slog, crc, cout, cerr = pair("sticky", (), cargs)
    name = "sticky --nodelay" if nodelay else "sticky"
    m = re.search(r"10 send\(\) calls, (\d+) bytes \((.*?)\); the server's recv\(\) returned them in (\d+) call", cout)
    check(f"{name} client report", crc == 0 and m and m.group(1) == "50" and
          m.group(2) == ("TCP_NODELAY" if nodelay else "Nagle on"), f"{crc} {cout} {cerr}")
    s = re.search(r"sticky: (\d+) bytes arrived in (\d+) recv\(\) calls?, of sizes ([\d,]+)", slog)
    check(f"{name} server report", s and s.group(1) == "50", slog)
    if m and s:
        calls = int(s.group(2))
        sizes = [int(x) for x in s.group(3).split(",")]
        # The server reads 200 ms late: the ten 5-byte writes come out of fewer recv() calls.
        check(f"{name}: writes glued together", calls < 10 and sum(sizes) == 50 and max(sizes) > 5 and
              int(m.group(3)) == calls, f"{calls} calls {sizes}")
        check(f"{name}: server logs each recv() size", slog.count("sticky: recv() returned") == calls, slog)


def framed_counts(out):
    m = re.search(r"messages sent (\d+), received (\d+), verified (\d+); bytes sent (\d+), received (\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def case_framed(mode, le=False):
    extra = ("--le",) if le else ()
    name = mode + (" --le" if le else "")
    src, slog, crc, cout, cerr = pair(mode, ("-q",) + extra, ("--count", "80", "--seed", "7", "-q") + extra)
    c = framed_counts(cout)
    check(f"{name} client", crc == 0 and c and c[:3] == (80, 80, 80) and c[3] == c[4] and c[3] > 262144,
          f"{crc} {cout} {cerr}")
    check(f"{name} server", src == 0 and f"echoed 80 messages" in slog and served(slog) == (1, 0, 0), slog)
    check(f"{name}: sizes from 1 byte to 256 KiB", "sizes 1 to 262144 bytes" in cout, cout)


def case_len32_raw():
    """The wire format itself, from Python: big-endian by default, struct.pack('i') with --le."""
    for le in (False, True):
        srv = Server("len32", *(["--le"] if le else []))
        fmt = "i" if le else ">I"
        with socket.create_connection(("127.0.0.1", srv.port)) as s:
            msgs = [b"x", b"hello", os.urandom(70000), b""]
            s.sendall(b"".join(struct.pack(fmt, len(m)) + m for m in msgs))
            s.shutdown(socket.SHUT_WR)
            back = recv_all(s)
        srv.wait()
        want = b"".join(struct.pack(fmt, len(m)) + m for m in msgs)
        check(f"len32{' --le' if le else ''} echo of Python-framed messages", back == want,
              f"{len(back or b'')} vs {len(want)}")


def case_file():
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "store")
        os.mkdir(store)
        # A generated file.
        src, slog, crc, cout, cerr = pair("file", ("--dir", store, "-q"), ("--size", "1500000", "-q"))
        path = os.path.join(store, "demo-1500000.bin")
        want = hashlib.md5(stream_bytes(1500000)).hexdigest()
        got = hashlib.md5(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None
        check("file: generated file stored with its md5", crc == 0 and got == want and
              f'"status":"ok"' in cout and want in cout and "verified" in cout, f"{crc} {cout} {cerr} {got}")
        check("file: server log", f"stored \"demo-1500000.bin\" (1500000 bytes, md5 {want} verified)" in slog, slog)
        # A real file, under a subdirectory.
        data = os.urandom(300001)
        fpath = os.path.join(d, "random.bin")
        with open(fpath, "wb") as f:
            f.write(data)
        src, slog, crc, cout, cerr = pair("file", ("--dir", store, "-q"), ("--file", fpath, "--name", "in/sub/r.bin"))
        stored = os.path.join(store, "in", "sub", "r.bin")
        check("file: --file stored under a subdirectory, md5 verified",
              crc == 0 and os.path.exists(stored) and open(stored, "rb").read() == data and
              hashlib.md5(data).hexdigest() in cout, f"{crc} {cout} {cerr}")
        # Names that would escape the directory.
        outside = os.path.join(d, "outside")
        os.mkdir(outside)
        os.symlink(outside, os.path.join(store, "link"))
        os.symlink(os.path.join(outside, "target"), os.path.join(store, "dangling"))
        for name, why in (("../evil.bin", "\"..\" component"), ("/tmp/evil.bin", "absolute"),
                          ("a/../../evil.bin", "\"..\" component"), ("link/evil.bin", "symbolic link"),
                          ("dangling", "symbolic link"), ("", "empty filename")):
            src, slog, crc, cout, cerr = pair("file", ("--dir", store, "-q"), ("--size", "1000", "--name", name, "-q"))
            m = re.search(r"server: (\{.*\})$", cout, re.M)
            st = json.loads(m.group(1)) if m else {}
            check(f"file: name {name!r} refused", crc == 1 and st.get("status") == "error" and
                  why in st.get("reason", "") and "refused by the server" in cout and served(slog) == (1, 1, 0),
                  f"{crc} {cout} {cerr} {slog}")
        check("file: nothing created for refused names", sorted(os.listdir(store)) == ["dangling", "demo-1500000.bin",
                                                                                         "in", "link"],
              str(os.listdir(store)))
        check("file: nothing written outside --dir", os.listdir(outside) == [] and
              not os.path.exists(os.path.join(d, "evil.bin")) and not os.path.exists("/tmp/evil.bin"),
              str(os.listdir(outside)))
        leftovers = [f for _, _, fs in os.walk(store) for f in fs if ".part-" in f]
        check("file: no temporary files left", leftovers == [], str(leftovers))


def case_bulk():
    n = 3000000
    src, slog, crc, cout, cerr = pair("bulk", ("-q",), ("--bytes", str(n), "-q"))
    md5 = hashlib.md5(stream_bytes(n)).hexdigest()
    check("bulk client", crc == 0 and f"sent {n} bytes (md5 {md5})" in cout and
          f"the server received {n} bytes (md5 {md5}): verified" in cout, f"{crc} {cout} {cerr}")
    check("bulk server counts the bytes", src == 0 and re.search(rf"bulk: received {n} bytes in \d+ recv\(\) calls, "
                                                                 rf"md5 {md5}", slog), slog)


def case_loss():
    n = 1 << 20
    src, slog, crc, cout, cerr = pair("bulk", ("-q", "--loss", "0.2", "--mss", "1460"),
                                      ("--bytes", str(n), "--mss", "1460", "-q"))
    md5 = hashlib.md5(stream_bytes(n)).hexdigest()
    check("bulk --loss 0.2 completes, all bytes verified", crc == 0 and src == 0 and
          f"the server received {n} bytes (md5 {md5}): verified" in cout, f"{crc} {cout} {cerr} {slog}")
    check("server says it drops segments", "dropping incoming segments at random (--loss)" in slog, slog)
    # Loopback hands TCP segments of up to 64 KiB (GSO) to the filter, so a run can, rarely, lose none of
    # them: the retransmission count is shown, not required. --loss 1 makes the drop certain.
    m = re.search(r"(\d+) segments retransmitted", cout)
    print(f"bulk --loss 0.2: {m.group(1) if m else '?'} segments retransmitted")
    srv = Server("echo", "--loss", "1", clients=0)
    crc, cout, cerr = client(srv.port, "echo", "--timeout", "1.5")
    srv.proc.terminate()
    src = srv.wait()
    check("--loss 1 drops every SYN: the client times out", crc == 1 and "timed out" in cerr, f"{crc} {cerr}")
    check("the server stops cleanly on SIGTERM", src == 0 and served(srv.log) == (0, 0, 0), f"{src} {srv.log}")


def case_slow_reader():
    t0 = time.monotonic()
    src, slog, crc, cout, cerr = pair("slow-reader", (), ("--bytes", "200000", "-q"))
    took = time.monotonic() - t0
    md5 = hashlib.md5(stream_bytes(200000)).hexdigest()
    check("slow-reader client", crc == 0 and f"the server received 200000 bytes (md5 {md5}): verified" in cout,
          f"{crc} {cout} {cerr}")
    check("slow-reader server waited before reading", "waiting 1000 ms before the first recv()" in slog and
          took >= 1.0, f"{took:.2f}s {slog[:300]}")
    sizes = [int(x) for x in re.findall(r"read (\d+) bytes", slog)]
    # SO_RCVBUF 4096: no recv() can return more than the small buffer holds.
    check("slow-reader: small receive buffer", sizes and max(sizes) <= 8192 and sum(sizes) == 200000,
          str(sizes[:10]))


def case_abort():
    src, slog, crc, cout, cerr = pair("abort", (), ())
    check("abort client", crc == 0 and "sent 1000 bytes, then reset the connection (SO_LINGER 0)" in cout,
          f"{crc} {cout} {cerr}")
    check("abort server sees the RST", src == 0 and "connection reset by the client (RST) after 1000 bytes" in slog and
          served(slog) == (1, 0, 0), slog)


def case_half_close():
    src, slog, crc, cout, cerr = pair("half-close", (), ("--bytes", "100000", "-q"))
    check("half-close client", crc == 0 and "sent 100000 bytes, then shutdown(SHUT_WR); received 100000 bytes "
                                            "after that: verified" in cout, f"{crc} {cout} {cerr}")
    check("half-close server", "the client's FIN after 100000 bytes" in slog and
          re.search(r"closed: received 100000 bytes .* sent 100000 bytes", slog), slog)


def case_keepalive():
    src, slog, crc, cout, cerr = pair("keepalive", (), ("--idle", "2.2"))
    m = re.search(r"idle ([\d.]+) s with keep-alive probes; connection still alive after it: echo verified", cout)
    check("keepalive", crc == 0 and src == 0 and m and float(m.group(1)) >= 2.1, f"{crc} {cout} {cerr}")


def case_udp():
    src, slog, crc, cout, cerr = pair("udp", (), ("--count", "60", "-q"))
    check("udp: all datagrams echoed", crc == 0 and "sent 60 datagrams" in cout and "60 verified; lost 0" in cout,
          f"{crc} {cout} {cerr}")
    check("udp server", src == 0 and "the client said goodbye: received 61 datagrams" in slog, slog)
    sizes = {int(x) for x in re.findall(r"datagram #\d+, (\d+) bytes", slog)}
    check("udp: varied sizes", len(sizes) > 10 and min(sizes) == 5 and max(sizes) == 1404, str(sorted(sizes)))
    # With loss on the server's socket, the client names the lost datagrams; the server never saw them.
    src, slog, crc, cout, cerr = pair("udp", ("--loss", "0.3"), ("--count", "60", "-q"))
    m = re.search(r"lost (\d+)(?::((?: #\d+)+))?", cout)
    lost = {int(x) for x in re.findall(r"#(\d+)", m.group(2) or "")} if m else None
    seen = {int(x) for x in re.findall(r"datagram #(\d+),", slog)}
    check("udp --loss 0.3: client reports the lost datagrams", crc == 1 and m and int(m.group(1)) == len(lost) > 0,
          f"{crc} {cout} {cerr}")
    check("udp --loss 0.3: lost = never seen by the server", lost is not None and lost == set(range(60)) - seen,
          f"lost {sorted(lost or [])} server saw {len(seen)}")


def case_chat():
    with tempfile.TemporaryDirectory() as d:
        sp, cp = os.path.join(d, "server.txt"), os.path.join(d, "client.txt")
        with open(sp, "w") as f:
            f.write("hello, client\nfine, thanks\n")
        with open(cp, "w") as f:
            f.write("hello, server\nhow are you?\nbye for now\n")
        srv = Server("chat", "--script", sp)
        crc, cout, cerr = client(srv.port, "chat", "--script", cp)
        src = srv.wait()
        got = re.findall(r"^\[\S+\] (.*)$", cout, re.M)
        check("chat: client gets the server's script, then quit", crc == 0 and
              got == ["hello, client", "fine, thanks", "quit"], f"{crc} {cout} {cerr}")
        heard = re.findall(r"^\[\S+\] (.*)$", srv.out, re.M)
        check("chat: server prints the client's lines", src == 0 and heard == ["hello, server", "how are you?",
                                                                              "bye for now"], srv.out)
        # A client script that ends with quit.
        with open(cp, "w") as f:
            f.write("one\nquit\nnever sent\n")
        srv = Server("chat", "--script", sp)
        crc, cout, cerr = client(srv.port, "chat", "--script", cp)
        srv.wait()
        check("chat: the client's quit ends it", crc == 0 and "never sent" not in srv.out and
              "the client said quit" in srv.log, f"{srv.out} {srv.log}")


def case_many_clients():
    srv = Server("len32", "-q", clients=12)
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        results = list(ex.map(lambda i: client(srv.port, "len32", "--count", "30", "--seed", str(i), "-q"), range(12)))
    src = srv.wait()
    ok = sum(1 for rc, out, _ in results if rc == 0 and (framed_counts(out) or (0,))[:3] == (30, 30, 30))
    check("12 len32 clients at once", ok == 12 and served(srv.log) == (12, 0, 0) and src == 0,
          f"{ok} ok; {srv.log[-300:]}")
    check("server had several connected at once", re.search(r"\((?:fd \d+; )?([2-9]|1[0-2]) connected\)", srv.log),
          srv.log[:500])


def case_malformed_len32():
    srv = Server("len32", "--max-message", "1M", clients=5)
    port = srv.port
    # 1. A declared length far above --max-message: closed at once, before any body is awaited.
    big = socket.create_connection(("127.0.0.1", port))
    big.sendall(b"\xff\xff\xff\xf0")
    # 2. A message cut off by a disconnect: 10 of 1000 bytes, connection held open for now.
    cut = socket.create_connection(("127.0.0.1", port))
    cut.sendall(struct.pack(">I", 1000) + b"0123456789")
    # 3. A client that sends nothing at all yet, then half a length prefix.
    half = socket.create_connection(("127.0.0.1", port))
    # A well-behaved client alongside, while the bad ones are connected.
    crc, cout, cerr = client(port, "len32", "--count", "40", "-q")
    check("malformed: the good client completes", crc == 0 and (framed_counts(cout) or (0,))[:3] == (40, 40, 40),
          f"{crc} {cout} {cerr}")
    check("malformed: oversized length prefix closes that connection", recv_all(big) == b"", "no close")
    cut.close()
    half.sendall(b"\x00\x00")
    half.close()
    # 5. A line-less garbage flood larger than --max-message on the same server (len32 sees a huge length).
    flood = socket.create_connection(("127.0.0.1", port))
    try:
        flood.sendall(b"A" * 100000)
    except OSError:
        pass
    recv_all(flood)
    flood.close()
    src = srv.wait()
    log = srv.log
    check("malformed: oversized length logged", "declared length 4294967280 exceeds --max-message 1048576" in log, log)
    check("malformed: disconnect mid-message logged",
          "disconnected in the middle of a message: 10 of its 1000 bytes" in log, log)
    check("malformed: half a length prefix logged", "2 of the 4 bytes of a length prefix" in log, log)
    check("malformed: garbage as a length logged", "declared length 1094795585 exceeds" in log, log)
    check("malformed: server survives and counts", src == 0 and served(log) == (5, 4, 0), f"{src} {served(log)}")
    check("malformed: one error line per bad connection", log.count("error: ") == 4, log)


def case_malformed_line():
    srv = Server("line", "--max-message", "1000", clients=2)
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"x" * 5000)
    closed = recv_all(s) == b""
    crc, cout, cerr = client(srv.port, "line", "--count", "20", "--max-size", "900", "-q")
    src = srv.wait()
    check("line: a line longer than --max-message is refused", closed and
          "line longer than 1000 bytes (--max-message) without a newline" in srv.log, srv.log)
    check("line: the good client completes", crc == 0 and src == 0 and "verified 20" in cout, f"{cout} {cerr}")


def file_raw(port, payload, shut=True):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(payload)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    ans = recv_all(s)
    s.close()
    return ans


def file_header(d):
    h = json.dumps(d).encode()
    return struct.pack(">I", len(h)) + h


def case_malformed_file():
    with tempfile.TemporaryDirectory() as d:
        srv = Server("file", "--dir", d, "--max-message", "4096", "--max-file", "1M", clients=8)
        port = srv.port
        good_md5 = hashlib.md5(b"hello").hexdigest()
        cases = [
            ("header that is not JSON", struct.pack(">I", 9) + b"not json!", "bad header: not a JSON object"),
            ("header without md5", file_header({"filename": "a.txt", "filesize": 5}) + b"hello",
             "bad header: no \\\"md5\\\" field"),
            ("filesize not a number", file_header({"filename": "a.txt", "filesize": "5", "md5": good_md5}),
             "\\\"filesize\\\" is not a non-negative integer"),
            ("header length above --max-message", struct.pack(">I", 100000) + b"{",
             "declared header length 100000 is above --max-message"),
            ("file above --max-file", file_header({"filename": "big", "filesize": 10 << 20, "md5": good_md5}),
             "larger than --max-file"),
            ("md5 mismatch", file_header({"filename": "m.txt", "filesize": 5, "md5": "0" * 32}) + b"hello",
             "md5 mismatch"),
        ]
        for name, payload, want in cases:
            ans = file_raw(port, payload)
            try:
                st = json.loads(ans) if ans else None
            except ValueError:
                st = None
            check(f"file malformed: {name} answered with an error status", st and st.get("status") == "error" and
                  want.replace("\\", "") in st.get("reason", ""), f"{ans!r}")
        # Disconnect in the middle of the file: 3 of 5 bytes.
        file_raw(port, file_header({"filename": "cut.txt", "filesize": 5, "md5": good_md5}) + b"hel")
        crc, cout, cerr = client(port, "file", "--size", "200000", "-q")
        src = srv.wait()
        log = srv.log
        check("file malformed: the good client completes", crc == 0 and "verified" in cout, f"{cout} {cerr}")
        check("file malformed: disconnect mid-file logged",
              "disconnected in the middle of the file (3 of 5 bytes)" in log, log)
        check("file malformed: server survives and counts", src == 0 and served(log) == (8, 7, 0), str(served(log)))
        stored = sorted(f for f in os.listdir(d))
        check("file malformed: only the good file is stored", stored == ["demo-200000.bin"], str(stored))


def case_fuzz():
    """Mutated file headers and random byte streams: every connection gets an answer or a clean close."""
    import random
    rng = random.Random(1321)
    base = [
        json.dumps({"filename": "f.txt", "filesize": 3, "md5": hashlib.md5(b"abc").hexdigest()}).encode(),
        b'{"filename":"\\u002e\\u002e/x","filesize":0,"md5":"d41d8cd98f00b204e9800998ecf8427e"}',
        b'{"filename":"\\ud83d\\ude00 ok","filesize":0,"md5":"d41d8cd98f00b204e9800998ecf8427e","x":[1,{"y":null}]}',
        b'{"a":' * 40 + b'1' + b'}' * 40,
        b'{"filename":"' + b"n" * 3000 + b'","filesize":1,"md5":"00000000000000000000000000000000"}',
        b'{"filesize":18446744073709551616,"filename":"x","md5":"d41d8cd98f00b204e9800998ecf8427e"}',
    ]
    payloads = []
    for i in range(120):
        h = bytearray(rng.choice(base))
        for _ in range(rng.randrange(0, 4)):
            op = rng.randrange(3)
            pos = rng.randrange(len(h) + 1)
            if op == 0 and h:
                h[min(pos, len(h) - 1)] = rng.randrange(256)
            elif op == 1:
                h[pos:pos] = bytes([rng.choice(b'{}[]",:\\u0\x00\xff')])
            else:
                del h[pos:pos + rng.randrange(1, 5)]
        payloads.append(struct.pack(">I", len(h)) + bytes(h) + b"abc")
    with tempfile.TemporaryDirectory() as d:
        srv = Server("file", "--dir", d, "--max-message", "4096", "-q", clients=len(payloads))
        answered = 0
        for p in payloads:
            ans = file_raw(srv.port, p)
            try:
                if ans is not None and json.loads(ans)["status"] in ("ok", "error"):
                    answered += 1
            except (ValueError, KeyError):
                pass
        src = srv.wait()
        check("fuzzed file headers: each answered with a JSON status", answered == len(payloads) and src == 0 and
              served(srv.log)[0] == len(payloads), f"{answered}/{len(payloads)} {src} {srv.log[-400:]}")
    srv = Server("len32", "--max-message", "64k", "-q", clients=40)
    closed = 0
    for i in range(40):
        ans = file_raw(srv.port, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
        closed += ans is not None
    src = srv.wait()
    check("random streams to len32: each connection closed cleanly", closed == 40 and src == 0 and
          served(srv.log)[0] == 40, f"{closed} {srv.log[-400:]}")


def case_limits():
    # --max-clients: a second connection while one is served is rejected.
    srv = Server("echo", "--max-clients", "1")
    a = socket.create_connection(("127.0.0.1", srv.port))
    a.sendall(b"hi")
    a.settimeout(5)
    first = a.recv(10)
    b = socket.create_connection(("127.0.0.1", srv.port))
    rejected = recv_all(b, 5) == b""
    a.close()
    src = srv.wait()
    check("--max-clients 1 rejects the second client", first == b"hi" and rejected and
          "rejected: already serving 1 clients (--max-clients 1)" in srv.log and served(srv.log) == (1, 0, 1),
          srv.log)
    # --idle-timeout: a silent client is closed.
    srv = Server("echo", "--idle-timeout", "0.5")
    s = socket.create_connection(("127.0.0.1", srv.port))
    t0 = time.monotonic()
    closed = recv_all(s, 5) == b""
    took = time.monotonic() - t0
    s.close()
    srv.wait()
    check("--idle-timeout closes a silent client", closed and 0.4 < took < 3 and "idle for 0.5 s" in srv.log,
          f"{took:.2f} {srv.log}")
    # A client that finds no server fails cleanly and quickly.
    with socket.socket() as t:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
    rc, out, err = client(port, "echo", "--timeout", "2")
    check("client without a server exits 1", rc == 1 and "cannot connect" in err, f"{rc} {err}")


def read_trace(path):
    recs = []
    with open(path) as f:
        for line in f:
            recs.append(json.loads(line))
    return recs


def check_offsets(name, recs):
    """Per (pid, fd, call): offsets start at 0 and each continues where the last ended. Returns byte totals."""
    totals, counts = {}, {}
    keys = ["ts", "pid", "fd", "call", "local", "remote", "offset", "len"]
    check(f"{name}: record fields", all(list(r.keys()) == keys for r in recs), str(recs[:1]))
    ok = True
    last_ts = {}
    for r in recs:
        k = (r["pid"], r["fd"], r["call"])
        if r["offset"] != totals.get(k, 0):
            ok = False
        totals[k] = totals.get(k, 0) + r["len"]
        counts[k] = counts.get(k, 0) + 1
        if r["ts"] < last_ts.get(k, 0):
            ok = False
        last_ts[k] = r["ts"]
    check(f"{name}: offsets contiguous from 0, times in order", ok and recs, f"{len(recs)} records")
    return totals, counts


def case_trace():
    with tempfile.TemporaryDirectory() as d:
        st, ct = os.path.join(d, "server.jsonl"), os.path.join(d, "client.jsonl")
        srv = Server("len32", "--trace", st, "-q")
        crc, cout, cerr = client(srv.port, "len32", "--count", "50", "--trace", ct, "-q")
        srv.wait()
        c = framed_counts(cout)
        check("trace run completes", crc == 0 and c and c[2] == 50, f"{cout} {cerr}")
        srecs, crecs = read_trace(st), read_trace(ct)
        stot, scnt = check_offsets("server trace", srecs)
        ctot, ccnt = check_offsets("client trace", crecs)
        m = re.search(r"closed: sent (\d+) bytes in (\d+) send\(\) calls, received (\d+) bytes in (\d+) recv", cerr)
        cs = {r["call"]: (ctot[k], ccnt[k]) for k, r in {(r["pid"], r["fd"], r["call"]): r for r in crecs}.items()}
        check("client trace sums to the bytes and calls the client reports", m and c and
              cs.get("send") == (int(m.group(1)), int(m.group(2))) == (c[3], int(m.group(2))) and
              cs.get("recv") == (int(m.group(3)), int(m.group(4))) and int(m.group(3)) == c[4],
              f"{cs} {m and m.groups()} {c}")
        m = re.search(r"closed: received (\d+) bytes in (\d+) recv\(\) calls, sent (\d+) bytes in (\d+) send", srv.log)
        ss = {r["call"]: (stot[k], scnt[k]) for k, r in {(r["pid"], r["fd"], r["call"]): r for r in srecs}.items()}
        check("server trace sums to the bytes and calls the server reports", m and
              ss.get("recv") == (int(m.group(1)), int(m.group(2))) and
              ss.get("send") == (int(m.group(3)), int(m.group(4))), f"{ss} {m and m.groups()}")
        check("client's send stream = server's recv stream", cs.get("send", (0,))[0] == ss.get("recv", (1,))[0] and
              ss.get("send", (0,))[0] == cs.get("recv", (1,))[0], f"{cs} {ss}")
        check("endpoints match across the two traces", crecs and srecs and crecs[0]["local"] == srecs[0]["remote"] and
              crecs[0]["remote"] == srecs[0]["local"], f"{crecs[:1]} {srecs[:1]}")
        eof = [r for r in srecs if r["call"] == "recv" and r["len"] == 0]
        check("server trace records the end of stream as a 0-byte recv", len(eof) == 1 and
              eof[0]["offset"] == ss["recv"][0], str(eof))

        # UDP and half-close, both sides into one file (records are appended whole).
        for mode, cargs in (("udp", ("--count", "30")), ("half-close", ("--bytes", "50000"))):
            both = os.path.join(d, f"{mode}.jsonl")
            srv = Server(mode, "--trace", both, "-q")
            time.sleep(0.05)
            crc, cout, cerr = client(srv.port, mode, "--trace", both + ".c", "-q", *cargs)
            srv.wait()
            recs = read_trace(both) + read_trace(both + ".c")
            tot, cnt = check_offsets(f"{mode} traces", recs)
            sends = sum(v for (pid, fd, call), v in tot.items() if call == "send")
            recvs = sum(v for (pid, fd, call), v in tot.items() if call == "recv")
            check(f"{mode} traces: bytes sent = bytes received", crc == 0 and sends == recvs > 0, f"{sends} {recvs}")
            if mode == "half-close":
                # After its shutdown(SHUT_WR), the client's recv() calls carry all 50000 bytes back.
                crecv = sum(r["len"] for r in read_trace(both + ".c") if r["call"] == "recv")
                check("half-close trace: client receives 50000 bytes", crecv == 50000, str(crecv))


CASES = [
    case_usage, case_md5, case_echo, case_echo6, case_once, lambda: case_sticky(False), lambda: case_sticky(True),
    lambda: case_framed("len32"), lambda: case_framed("len32", le=True), lambda: case_framed("line"),
    case_len32_raw, case_file, case_bulk, case_loss, case_slow_reader, case_abort, case_half_close,
    case_keepalive, case_udp, case_chat, case_many_clients, case_malformed_len32, case_malformed_line,
    case_malformed_file, case_fuzz, case_limits, case_trace,
]


def guarded(fn):
    try:
        fn()
    except Exception as e:  # a crash of the test itself is a failure, not an abort of the others
        import traceback
        check(getattr(fn, "__name__", "case"), False, "".join(traceback.format_exception(e))[-1500:])


if __name__ == "__main__":
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        list(ex.map(guarded, CASES))
    tally.finish(note=f" in {time.monotonic() - t0:.1f} s")
