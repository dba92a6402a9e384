#!/usr/bin/env python3
"""segscope-demo server under load and abuse, on loopback.

Four servers: echo, len32 and file (each with a short --idle-timeout and
--conn-timeout), and a small echo server with --max-clients 8 for the flood.
200 well-behaved clients start at the same moment (a barrier), a third on
each of the three modes: most are Python sockets speaking the wire formats
(echo: bytes back as sent; len32: 4-byte big-endian length + payload, echoed
framed; file: 4-byte header length, JSON header {filename, filesize, md5},
the bytes, a JSON status line back), the rest `segscope-demo client`
processes. Every byte is checked by digest: the md5 of what came back
against the md5 of what was sent, and the md5 of each stored file against
the file sent.

Alongside them, abusive clients: an oversized declared length (len32 and file
header), a header that is not JSON, path traversal in the filename ("../x",
"sub/../../y", an absolute path), a slowloris stuck in the middle of a header
(closed by --idle-timeout), a slowloris trickling a byte every half second
(closed by --conn-timeout), an abrupt RST (SO_LINGER 0) in the middle of a
len32 message and of a file, and a flood of connections beyond --max-clients.
Each must be refused with a line naming its address on the server's standard
error, nothing may be written outside the file server's directory, no
temporary file may be left, and all 200 well-behaved clients must complete
with every byte verified.

usage: test_load.py SEGSCOPE_DEMO
"""
import concurrent.futures
import hashlib
import json
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from checks import Tally

DEMO = sys.argv[1]
N_CLIENTS = 200
N_PROCS = 30        # of the 200, this many are segscope-demo client processes (10 per mode)
IDLE = 3.0          # the servers' --idle-timeout
CONN = 8.0          # the servers' --conn-timeout
FLOOD_CAP = 8       # the flood server's --max-clients
FLOOD_EXTRA = 24    # connections beyond it
DEADLINE = 45.0     # seconds any one client may take, and the bound of the whole run
T0 = time.monotonic()

lock = threading.Lock()


tally = Tally(detail_limit=1500)
check = tally.check


class Server:
    """A segscope-demo server on a kernel-chosen port, its standard error collected line by line."""

    def __init__(self, mode, *args):
        cmd = [DEMO, "server", "--mode", mode, "--port", "0", "-q", *args]
        self.mode = mode
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        if not self.ready.wait(10) or self.port is None:
            self.proc.kill()
            raise RuntimeError(f"{mode} server did not start: " + "".join(self.lines))

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            with lock:
                self.lines.append(line)
            m = re.search(r"listening on \S*:(\d+) ", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self.ready.set()
        self.ready.set()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "timeout"
        self.t.join(5)
        return rc

    @property
    def log(self):
        with lock:
            return "".join(self.lines)

    def lines_for(self, lport):
        """The log lines about the client whose local port is lport."""
        tag = f" 127.0.0.1:{lport}: "
        with lock:
            return [l for l in self.lines if tag in l]

    def wait_closed(self, n, timeout):
        """Waits until the server has logged n connections closed (a FIN may still be on its way)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with lock:
                if sum(1 for l in self.lines if ": closed" in l) >= n:
                    return True
            time.sleep(0.05)
        return False

    def wait_for(self, lport, text, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in l for l in self.lines_for(lport)):
                return True
            time.sleep(0.05)
        return False


def served(log):
    m = re.search(r"served (\d+) connections? \((\d+) failed, (\d+) rejected\)", log)
    return tuple(int(x) for x in m.groups()) if m else None


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.getsockname()[1]


def pump(port, payload, deadline, together=None):
    """Connects; once every client of `together` (a barrier) is connected too, sends payload while
    reading whatever comes back, half-closes, and reads to the end.

    Returns (bytes received, local port). Raises on a timeout or a reset."""
    s, lport = connect(port)
    if together:
        together.wait()
    s.setblocking(False)
    view = memoryview(payload)
    sent = 0
    got = bytearray()
    if not payload:
        s.shutdown(socket.SHUT_WR)
    p = select.poll()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{sent}/{len(payload)} sent, {len(got)} received")
            p.register(s, select.POLLIN | (select.POLLOUT if sent < len(payload) else 0))
            ev = p.poll(min(500, int(left * 1000) + 1))
            flags = ev[0][1] if ev else 0
            if flags & select.POLLOUT and sent < len(payload):
                try:
                    sent += s.send(view[sent:sent + 65536])
                except BlockingIOError:
                    pass
                if sent == len(payload):
                    s.shutdown(socket.SHUT_WR)
            if flags & (select.POLLIN | select.POLLHUP | select.POLLERR):
                try:
                    b = s.recv(262144)
                except BlockingIOError:
                    continue
                if not b:
                    return bytes(got), lport
                got += b
    finally:
        s.close()


def recv_until_closed(s, timeout):
    """Whatever the server sends until it closes: (bytes, seconds waited, how it ended)."""
    s.settimeout(timeout)
    t = time.monotonic()
    data = b""
    how = "eof"
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        how = "timeout"
    return data, time.monotonic() - t, how


# ---------------------------------------------------------------------------
# Well-behaved clients. Each returns (ok, bytes verified, bytes expected, detail).

def py_echo(i, srv, rng, deadline, together):
    data = rng.randbytes(rng.randrange(16 << 10, 192 << 10))
    back, _ = pump(srv.port, data, deadline, together)
    ok = hashlib.md5(back).digest() == hashlib.md5(data).digest()
    return ok, len(back) if ok else 0, len(data), f"echo {len(back)}/{len(data)} bytes"


def py_len32(i, srv, rng, deadline, together):
    msgs = [rng.randbytes(rng.choice((0, 1, rng.randrange(2, 16 << 10)))) for _ in range(rng.randrange(5, 30))]
    data = b"".join(struct.pack(">I", len(m)) + m for m in msgs)
    back, _ = pump(srv.port, data, deadline, together)
    # The echo is framed the same way: parse it back into messages.
    out, off = [], 0
    while off + 4 <= len(back):
        n = struct.unpack(">I", back[off:off + 4])[0]
        out.append(back[off + 4:off + 4 + n])
        off += 4 + n
    ok = off == len(back) and len(out) == len(msgs) and \
        all(hashlib.md5(a).digest() == hashlib.md5(b).digest() for a, b in zip(out, msgs))
    payload = sum(len(m) for m in msgs)
    return ok, payload if ok else 0, payload, f"len32 {len(out)}/{len(msgs)} messages, {len(back)}/{len(data)} bytes"


def py_file(i, srv, rng, deadline, store, names, together):
    data = rng.randbytes(rng.randrange(4 << 10, 512 << 10))
    name = f"py-{i:03d}.bin" if i % 2 else f"sub{i % 7}/py-{i:03d}.bin"
    md5 = hashlib.md5(data).hexdigest()
    hdr = json.dumps({"filename": name, "filesize": len(data), "md5": md5}).encode()
    back, _ = pump(srv.port, struct.pack(">I", len(hdr)) + hdr + data, deadline, together)
    try:
        st = json.loads(back)
    except ValueError:
        st = {}
    path = os.path.join(store, name)
    stored = hashlib.md5(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None
    ok = st.get("status") == "ok" and st.get("md5") == md5 and st.get("filesize") == len(data) and stored == md5
    with lock:
        names.add(name)
    return ok, len(data) if ok else 0, len(data), f"file {name}: answer {back[:200]!r}, stored md5 {stored}"


def demo_client(mode, port, *args, timeout):
    p = subprocess.run([DEMO, "client", "--mode", mode, "--port", str(port), "--timeout", "20", *args],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def proc_echo(i, srv, rng, deadline):
    msg = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randrange(10, 200)))
    rc, out, err = demo_client("echo", srv.port, "--count", "20", "--message", msg, "-q",
                               timeout=max(1, deadline - time.monotonic()))
    m = re.search(r"20 messages sent, 20 echoed, 20 verified \((\d+) bytes each way\)", out)
    want = sum(len(f"{msg} #{k + 1}\n") for k in range(20))
    ok = rc == 0 and m and int(m.group(1)) == want
    return ok, want if ok else 0, want, f"demo echo rc {rc}: {out} {err[-300:]}"


def proc_len32(i, srv, rng, deadline):
    rc, out, err = demo_client("len32", srv.port, "--count", "25", "--max-size", "16k", "--seed", str(i), "-q",
                               timeout=max(1, deadline - time.monotonic()))
    m = re.search(r"messages sent (\d+), received (\d+), verified (\d+); bytes sent (\d+), received (\d+)", out)
    c = tuple(int(x) for x in m.groups()) if m else (0,) * 5
    ok = rc == 0 and c[:3] == (25, 25, 25) and c[3] == c[4] and c[3] > 0
    return ok, c[4] if ok else 0, c[3] or 1, f"demo len32 rc {rc}: {out} {err[-300:]}"


def proc_file(i, srv, rng, deadline, store, names, srcdir):
    data = rng.randbytes(rng.randrange(4 << 10, 768 << 10))
    src = os.path.join(srcdir, f"proc-{i:03d}.bin")
    with open(src, "wb") as f:
        f.write(data)
    name = f"procs/proc-{i:03d}.bin"
    md5 = hashlib.md5(data).hexdigest()
    rc, out, err = demo_client("file", srv.port, "--file", src, "--name", name, "-q",
                               timeout=max(1, deadline - time.monotonic()))
    path = os.path.join(store, name)
    stored = hashlib.md5(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None
    ok = rc == 0 and "verified: the server stored it with the same md5" in out and md5 in out and stored == md5
    with lock:
        names.add(name)
    return ok, len(data) if ok else 0, len(data), f"demo file rc {rc}: {out} {err[-300:]} stored {stored}"


# ---------------------------------------------------------------------------
# Abusive clients. Each returns (name, server, local port, what its log line must say, detail or None if
# the client saw what it should).

def file_status(data):
    try:
        return json.loads(data)
    except ValueError:
        return {}


def abuse_len32_oversized(srvs):
    s, lport = connect(srvs["len32"].port)
    s.sendall(b"\xff\xff\xff\xf0")
    data, took, how = recv_until_closed(s, 10)
    s.close()
    return ("len32 declared length 4 GiB", srvs["len32"], lport,
            "declared length 4294967280 exceeds --max-message", None if how != "timeout" else "not closed")


def abuse_file_header_oversized(srvs):
    s, lport = connect(srvs["file"].port)
    s.sendall(struct.pack(">I", 100000) + b"{")
    data, took, how = recv_until_closed(s, 10)
    s.close()
    st = file_status(data)
    return ("file header length 100000", srvs["file"], lport, "declared header length 100000 is above --max-message",
            None if st.get("status") == "error" else f"answer {data!r} ({how})")


def abuse_file_not_json(srvs):
    s, lport = connect(srvs["file"].port)
    junk = b"GET / HTTP/1.0\r\n\r\n"
    s.sendall(struct.pack(">I", len(junk)) + junk)
    data, took, how = recv_until_closed(s, 10)
    s.close()
    st = file_status(data)
    return ("file header not JSON", srvs["file"], lport, "bad header: not a JSON object",
            None if st.get("status") == "error" else f"answer {data!r} ({how})")


def abuse_file_name(srvs, name, want):
    body = b"pwned\n"
    hdr = json.dumps({"filename": name, "filesize": len(body), "md5": hashlib.md5(body).hexdigest()}).encode()
    s, lport = connect(srvs["file"].port)
    try:
        s.sendall(struct.pack(">I", len(hdr)) + hdr + body)
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    data, took, how = recv_until_closed(s, 10)
    s.close()
    st = file_status(data)
    return (f"file name {name!r}", srvs["file"], lport, want,
            None if st.get("status") == "error" and "refused filename" in st.get("reason", "")
            else f"answer {data!r} ({how})")


def abuse_slowloris_idle(srvs):
    """Half of the header length, then silence: --idle-timeout must close it."""
    s, lport = connect(srvs["file"].port)
    s.sendall(b"\x00\x00")
    data, took, how = recv_until_closed(s, IDLE + 10)
    s.close()
    ok = how != "timeout" and IDLE - 0.3 <= took <= IDLE + 5
    return ("slowloris: half a header length, then silence", srvs["file"], lport,
            f"idle for {IDLE:.1f} s (--idle-timeout)", None if ok else f"{how} after {took:.2f} s")


def abuse_slowloris_trickle(srvs):
    """A header of 500 bytes sent one byte every 0.4 s: never idle, so --conn-timeout must close it."""
    s, lport = connect(srvs["file"].port)
    t0 = time.monotonic()
    s.sendall(struct.pack(">I", 500))
    hdr = b'{"filename": "trickle.bin", "filesize": 1, "md5": "' + b"0" * 400
    closed_after = None
    for k in range(len(hdr)):
        if time.monotonic() - t0 > CONN + 10:
            break
        try:
            s.send(hdr[k:k + 1])
        except OSError:
            closed_after = time.monotonic() - t0
            break
        r, _, _ = select.select([s], [], [], 0.4)
        if r:
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            if not b or b"error" in b:
                closed_after = time.monotonic() - t0
                break
    s.close()
    ok = closed_after is not None and CONN - 0.3 <= closed_after <= CONN + 5
    return ("slowloris: a header trickled a byte every 0.4 s", srvs["file"], lport,
            f"open for {CONN:.1f} s (--conn-timeout)", None if ok else f"closed after {closed_after}")


def rst(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def abuse_rst_len32(srvs):
    srv = srvs["len32"]
    s, lport = connect(srv.port)
    s.sendall(struct.pack(">I", 100000) + os.urandom(5000))
    # The server must have read those bytes before the RST comes (its log says so), or the kernel
    # might discard them; either way the RST must be seen and logged.
    srv.wait_for(lport, "accepted", 5)
    time.sleep(0.2)
    rst(s)
    return ("RST in the middle of a len32 message", srv, lport, "(the client sent an RST)", None)


def abuse_rst_file(srvs):
    srv = srvs["file"]
    body = os.urandom(400000)
    hdr = json.dumps({"filename": "rst.bin", "filesize": len(body), "md5": hashlib.md5(body).hexdigest()}).encode()
    s, lport = connect(srv.port)
    s.sendall(struct.pack(">I", len(hdr)) + hdr + body[:100000])
    srv.wait_for(lport, "file: header of", 5)
    time.sleep(0.2)
    rst(s)
    return ("RST in the middle of a file", srv, lport, "(the client sent an RST)", None)


def flood(srv):
    """FLOOD_CAP connections held open, then FLOOD_EXTRA more: each of those is accepted and closed at once."""
    holders = []
    for _ in range(FLOOD_CAP):
        s, _ = connect(srv.port)
        s.sendall(b"hold")
        s.settimeout(5)
        holders.append((s, s.recv(10)))
    refused = []
    for _ in range(FLOOD_EXTRA):
        s, lport = connect(srv.port)
        data, took, how = recv_until_closed(s, 5)
        s.close()
        refused.append((lport, data, how))
    for s, _ in holders:
        s.close()
    return [h for _, h in holders], refused


# ---------------------------------------------------------------------------

def main():
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "store")
        srcdir = os.path.join(d, "src")
        os.mkdir(store)
        os.mkdir(srcdir)
        absolute = os.path.join(d, "absolute-evil.bin")
        limits = ["--idle-timeout", str(IDLE), "--conn-timeout", str(CONN), "--max-clients", "200"]
        srvs = {
            "echo": Server("echo", *limits),
            "len32": Server("len32", *limits, "--max-message", "1M"),
            "file": Server("file", *limits, "--dir", store, "--max-message", "4096", "--max-file", "8M"),
        }
        flood_srv = Server("echo", "--max-clients", str(FLOOD_CAP), "--idle-timeout", "20")

        kinds = ("echo", "len32", "file")
        names = set()
        barrier = threading.Barrier(N_CLIENTS, timeout=20)
        # The Python clients also wait for each other once connected: that many connections at once.
        connected = threading.Barrier(N_CLIENTS - N_PROCS, timeout=20)
        deadline = T0 + DEADLINE

        def well_behaved(i):
            rng = random.Random(1000 + i)
            kind = kinds[i % 3]
            srv = srvs[kind]
            barrier.wait()
            try:
                if i < N_PROCS:
                    if kind == "echo":
                        r = proc_echo(i, srv, rng, deadline)
                    elif kind == "len32":
                        r = proc_len32(i, srv, rng, deadline)
                    else:
                        r = proc_file(i, srv, rng, deadline, store, names, srcdir)
                elif kind == "echo":
                    r = py_echo(i, srv, rng, deadline, connected)
                elif kind == "len32":
                    r = py_len32(i, srv, rng, deadline, connected)
                else:
                    r = py_file(i, srv, rng, deadline, store, names, connected)
            except Exception as e:  # a reset, a timeout: that client failed
                r = (False, 0, 1, f"{kind} client {i}: {type(e).__name__}: {e}")
            return (i, kind) + r

        abusers = [
            abuse_len32_oversized, abuse_file_header_oversized, abuse_file_not_json,
            lambda s: abuse_file_name(s, "../x", 'refused filename "../x": a ".." component'),
            lambda s: abuse_file_name(s, "sub/../../y", 'refused filename "sub/../../y": a ".." component'),
            lambda s: abuse_file_name(s, absolute, "absolute paths are not allowed"),
            abuse_slowloris_idle, abuse_slowloris_trickle, abuse_rst_len32, abuse_rst_file,
        ]
        with concurrent.futures.ThreadPoolExecutor(N_CLIENTS + len(abusers) + 1) as ex:
            good_f = [ex.submit(well_behaved, i) for i in range(N_CLIENTS)]
            bad_f = [ex.submit(a, srvs) for a in abusers]
            flood_f = ex.submit(flood, flood_srv)
            good = [f.result() for f in good_f]
            bad = [f.result() for f in bad_f]
            holders, refused = flood_f.result()
        # The RST and slowloris lines may come a moment after the client is gone.
        for name, srv, lport, want, detail in bad:
            srv.wait_for(lport, want, 5)
        n_kind = {k: sum(1 for g in good if g[1] == k) for k in kinds}
        n_bad = {k: sum(1 for b in bad if b[1] is srvs[k]) for k in kinds}
        for k in kinds:
            srvs[k].wait_closed(n_kind[k] + n_bad[k], 10)
        flood_srv.wait_closed(FLOOD_CAP, 10)
        logs = {}
        rcs = {}
        for k, srv in list(srvs.items()) + [("flood", flood_srv)]:
            rcs[k] = srv.stop()
            logs[k] = srv.log

        # The well-behaved clients: all complete, every byte verified.
        verified = sum(g[3] for g in good)
        expected = sum(g[4] for g in good)
        bad_good = [g for g in good if not g[2]]
        check("all 200 well-behaved clients complete with their bytes verified", not bad_good,
              "; ".join(f"#{g[0]} {g[5]}" for g in bad_good[:5]) + f" ({len(bad_good)} failed)")
        check("every kind of well-behaved client ran", {g[1] for g in good} == set(kinds) and len(good) == N_CLIENTS,
              str(len(good)))
        lost = expected - verified
        check("0 bytes lost", lost == 0, f"{lost} of {expected}")
        check("bytes verified", verified > 10 << 20, verified)

        # The abusive clients: each saw the refusal, and the server logged it against that client's address.
        rejected = 0
        for name, srv, lport, want, detail in bad:
            lines = srv.lines_for(lport)
            logged = any(want in l for l in lines)
            closed_failed = any("closed (failed)" in l for l in lines)
            check(f"abusive: {name}: the client saw the refusal", detail is None, detail)
            check(f"abusive: {name}: logged on the server's standard error", logged and closed_failed,
                  f"want {want!r} for port {lport}: {lines}")
            rejected += detail is None and logged and closed_failed

        # The flood: the held connections are served, each one beyond --max-clients refused and logged.
        check("flood: the first --max-clients connections are served", holders == [b"hold"] * FLOOD_CAP,
              str(holders))
        refused_ok = 0
        for lport, data, how in refused:
            lines = flood_srv.lines_for(lport)
            if data == b"" and how != "timeout" and any(
                    f"rejected: already serving {FLOOD_CAP} clients (--max-clients {FLOOD_CAP})" in l for l in lines):
                refused_ok += 1
        check(f"flood: all {FLOOD_EXTRA} connections beyond --max-clients {FLOOD_CAP} rejected and logged",
              refused_ok == FLOOD_EXTRA, f"{refused_ok}; {logs['flood'][-600:]}")
        check("flood: server counts", served(logs["flood"]) == (FLOOD_CAP, 0, FLOOD_EXTRA),
              str(served(logs["flood"])))

        # The servers: they survived, stopped cleanly and count exactly the failures caused.
        for k in kinds:
            check(f"{k} server stops cleanly on SIGTERM", rcs[k] == 0, f"rc {rcs[k]}")
            check(f"{k} server counts", served(logs[k]) == (n_kind[k] + n_bad[k], n_bad[k], 0),
                  f"{served(logs[k])} vs {n_kind[k] + n_bad[k]} served, {n_bad[k]} failed")
            check(f"{k} server: no 'stopping' closes (every connection ended before SIGTERM)",
                  "the server is stopping" not in logs[k], logs[k][-400:])
        most = max((int(m) for m in re.findall(r"; (\d+) connected\)", "".join(logs[k] for k in kinds))), default=0)
        check("the servers held many connections at once", most >= (N_CLIENTS - N_PROCS) // 3, most)

        # The file server's directory: exactly the files sent, no temporary file, nothing outside.
        stored = set()
        for root, dirs, files in os.walk(store):
            for f in files:
                stored.add(os.path.relpath(os.path.join(root, f), store))
        check("file store holds exactly the files sent", stored == names,
              f"extra {sorted(stored - names)[:5]} missing {sorted(names - stored)[:5]}")
        check("nothing written outside the server's directory",
              sorted(os.listdir(d)) == ["src", "store"] and not os.path.exists(absolute) and
              not os.path.exists(os.path.join(d, "x")) and
              not os.path.exists(os.path.join(d, "y")),
              str(sorted(os.listdir(d))))

    took = time.monotonic() - T0
    check("the whole run within the bound", took < DEADLINE, f"{took:.1f} s")
    print(f"{N_CLIENTS} clients ({N_PROCS} segscope-demo client processes), {verified} bytes verified, "
          f"{lost} lost; {rejected} abusive clients rejected, {refused_ok} flood connections refused at "
          f"--max-clients {FLOOD_CAP}; {most} connections at once on one server; {took:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback
        check("test ran", False, traceback.format_exc()[-2000:])
    tally.finish()
