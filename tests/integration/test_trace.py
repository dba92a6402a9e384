#!/usr/bin/env python3
"""segscope-trace: an unmodified Python client and server, traced, give the application trace.

Usage: test_trace.py LAUNCHER LIBRARY [CC]

The classic sticky-packet demo on loopback: the client makes several small
send() calls (Nagle on), the server sleeps before its first recv(1024), so
one recv returns several sends glued together. The trace must show the
client's send boundaries, the server's recv boundaries, contiguous stream
offsets, matching endpoints, and leave the programs' output and exit
status untouched. Further scenarios cover read/write/readv/writev/sendmsg/
recvmsg/recv_into, UDP peers, descriptor reuse (close, dup2), threads,
fork, IPv6, the launcher's options and errors, and a statically linked
program (when CC can link one; otherwise that check is reported as skipped,
never as passed).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from checks import Tally

LAUNCHER = os.path.abspath(sys.argv[1])
LIBRARY = os.path.realpath(sys.argv[2])
CC = sys.argv[3] if len(sys.argv) > 3 else None
PY = sys.executable
TIMEOUT = 30

FIELDS = ["ts", "pid", "fd", "call", "local", "remote", "offset", "len"]
ENDPOINT = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$")
TS_TEXT = re.compile(r'^\{"ts":\d{10,}\.\d{6,},')

skipped = []


tally = Tally()
check = tally.check


def skip(name, why):
    skipped.append(f"{name}: {why}")


def clean_env(**extra):
    """The environment of the test minus anything that would trace or preload already."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "SEGSCOPE_TRACE_FILE")}
    env.update(extra)
    return env


def read_trace(name, path, t0, t1):
    """Parses a trace file, checking every line's shape; returns the records."""
    with open(path, "rb") as f:
        raw = f.read()
    records = []
    bad = []
    for line in raw.decode().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        ok = (list(rec) == FIELDS and TS_TEXT.match(line)
              and isinstance(rec["ts"], float) and t0 - 1 <= rec["ts"] <= t1 + 1
              and all(isinstance(rec[k], int) and rec[k] >= 0 for k in ("pid", "fd", "offset", "len"))
              and rec["call"] in ("send", "recv")
              and all(rec[k] is None or ENDPOINT.match(rec[k]) for k in ("local", "remote")))
        if not ok:
            bad.append(line)
        records.append(rec)
    check(f"{name}: every line is a whole record with the fields in order", not bad and raw.endswith(b"\n") or not raw,
          f"{len(bad)} bad lines, first {bad[:1]}")
    return records


def streams_contiguous(name, records):
    """Per process, descriptor, direction and TCP connection, offsets run from 0 with no gap or overlap."""
    groups = {}
    for r in records:
        groups.setdefault((r["pid"], r["fd"], r["call"], r["local"], r["remote"]), []).append(r)
    bad = []
    for key, rs in groups.items():
        expect = 0
        for r in rs:
            if r["offset"] != expect:
                bad.append((key, r["offset"], expect))
                break
            expect += r["len"]
    check(f"{name}: offsets contiguous from 0 in each of {len(groups)} streams", not bad, str(bad[:3]))


# --- the sticky-packet demo: separate client and server processes -------------

SERVER = r'''
import socket, sys, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
time.sleep(0.2)                       # let the client's sends pile up in the receive buffer
total = 0
while True:
    data = conn.recv(1024)
    if not data:
        break
    total += len(data)
conn.sendall(b"got %d bytes" % total)
conn.close()
srv.close()
print("server: received", total, "bytes", flush=True)
'''

MESSAGES = [b"hello", b"world", b"a", b"bb", b"ccc", b"dddd", b"eeeee", b"ffffff"]

CLIENT = r'''
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for m in %r:
    c.send(m)                         # Nagle on: tiny sends back to back
c.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = c.recv(100)
    if not d:
        break
    reply += d
c.close()
print("client: reply", reply.decode())
print("client: done", file=sys.stderr)
sys.exit(3)
''' % (MESSAGES,)


def run_demo(tmp, server_prefix, client_prefix):
    """Runs server and client (each under its prefix); returns (server, client) as (pid, rc, out, err)."""
    srv = subprocess.Popen(server_prefix + [PY, os.path.join(tmp, "server.py")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=clean_env(), cwd=tmp)
    port = int(srv.stdout.readline())
    cli = subprocess.run(client_prefix + [PY, os.path.join(tmp, "client.py"), str(port)], capture_output=True,
                         env=clean_env(), cwd=tmp, timeout=TIMEOUT)
    sout, serr = srv.communicate(timeout=TIMEOUT)
    return (srv.pid, srv.returncode, sout, serr, port), (cli.returncode, cli.stdout, cli.stderr)


def demo(tmp):
    with open(os.path.join(tmp, "server.py"), "w") as f:
        f.write(SERVER)
    with open(os.path.join(tmp, "client.py"), "w") as f:
        f.write(CLIENT)
    total = sum(map(len, MESSAGES))
    reply_len = len(b"got %d bytes" % total)

    plain_srv, plain_cli = run_demo(tmp, [], [])
    check("demo untraced: client exits 3, server 0", plain_cli[0] == 3 and plain_srv[1] == 0,
          f"{plain_cli[0]}, {plain_srv[1]}")

    # Each process with its own trace file.
    strace, ctrace = os.path.join(tmp, "server.jsonl"), os.path.join(tmp, "client.jsonl")
    t0 = time.time()
    srv, cli = run_demo(tmp, [LAUNCHER, "-o", strace], [LAUNCHER, "--output", ctrace])
    t1 = time.time()
    spid, src, sout, serr, port = srv
    check("demo traced: client exit status passed through", cli[0] == 3, str(cli[0]))
    check("demo traced: server exit status passed through", src == 0, f"{src} {serr!r}")
    check("demo traced: client stdout and stderr unchanged", cli[1:] == plain_cli[1:], f"{cli[1:]} != {plain_cli[1:]}")
    check("demo traced: server output unchanged (after the port line)",
          sout.split(b"\n", 1)[1] == plain_srv[2].split(b"\n", 1)[1] and serr == plain_srv[3] == b"",
          f"{sout!r} {serr!r}")

    srecs = read_trace("demo server trace", strace, t0, t1)
    crecs = read_trace("demo client trace", ctrace, t0, t1)
    streams_contiguous("demo server", srecs)
    streams_contiguous("demo client", crecs)

    csend = [r for r in crecs if r["call"] == "send"]
    crecv = [r for r in crecs if r["call"] == "recv"]
    srecv = [r for r in srecs if r["call"] == "recv"]
    ssend = [r for r in srecs if r["call"] == "send"]
    check("client: one send record per send() with its length", [r["len"] for r in csend] == list(map(len, MESSAGES)),
          str([r["len"] for r in csend]))
    check("client: send offsets contiguous from 0",
          [r["offset"] for r in csend] == [sum(map(len, MESSAGES[:i])) for i in range(len(MESSAGES))],
          str([r["offset"] for r in csend]))
    check("client: only its socket is traced (not stdout/stderr)", len({r["fd"] for r in crecs}) == 1
          and crecs and crecs[0]["fd"] > 2, str({r["fd"] for r in crecs}))
    check("client: recv records add up to the reply, then a 0-byte EOF record at its end",
          sum(r["len"] for r in crecv) == reply_len and crecv and crecv[-1]["len"] == 0
          and crecv[-1]["offset"] == reply_len, str(crecv))
    check("server: recv lengths sum to everything the client sent", sum(r["len"] for r in srecv) == total,
          f"{[r['len'] for r in srecv]} vs {total}")
    check("server: one recv returned several sends glued together (more than any single send)",
          any(r["len"] > max(map(len, MESSAGES)) for r in srecv), str([r["len"] for r in srecv]))
    check("server: the last recv is the EOF (len 0 at the stream's end)",
          srecv and srecv[-1]["len"] == 0 and srecv[-1]["offset"] == total, str(srecv[-1:]))
    check("server: its reply is one send record", [(r["offset"], r["len"]) for r in ssend] == [(0, reply_len)],
          str(ssend))
    check("server: only the accepted socket is traced (not the listener, not stdout)",
          len({r["fd"] for r in srecs}) == 1 and srecs[0]["fd"] > 2, str({r["fd"] for r in srecs}))
    check("pids: each record carries the traced process's pid",
          {r["pid"] for r in srecs} == {spid} and len({r["pid"] for r in crecs}) == 1 and spid not in
          {r["pid"] for r in crecs}, f"{ {r['pid'] for r in srecs} } {spid}")
    ends_ok = csend and srecv and all(
        r["local"] == srecv[0]["remote"] and r["remote"] == srecv[0]["local"] for r in csend) and all(
        r["local"] == srecv[0]["local"] for r in srecv)
    check("endpoints: client send local/remote are server recv remote/local", ends_ok,
          f"{csend[:1]} {srecv[:1]}")
    # The client's last recvs come after both FINs, when getpeername() no longer knows the peer.
    check("endpoints: the client's recvs, the EOF included, still name the server",
          crecv and all(r["remote"] == srecv[0]["local"] and r["local"] == csend[0]["local"] for r in crecv),
          str(crecv))
    check("endpoints: the server's local port is the one it listened on",
          srecv and srecv[0]["local"] == f"127.0.0.1:{port}", str(srecv[:1]))
    check("timestamps: non-decreasing in each file",
          all(a["ts"] <= b["ts"] for recs in (srecs, crecs) for a, b in zip(recs, recs[1:])))

    # Both processes appending to one file (-a): whole lines from two pids.
    shared = os.path.join(tmp, "shared.jsonl")
    open(shared, "w").close()
    t0 = time.time()
    srv, cli = run_demo(tmp, [LAUNCHER, "-a", "-o", shared], [LAUNCHER, "-a", "-o", shared])
    recs = read_trace("shared trace", shared, t0, time.time())
    check("shared trace: records from both processes", len({r["pid"] for r in recs}) == 2 and cli[0] == 3,
          str({r["pid"] for r in recs}))
    check("shared trace: the server's recvs add up to what the client sent",
          sum(r["len"] for r in recs if r["call"] == "recv" and r["pid"] == srv[0]) == total)
    streams_contiguous("shared trace", recs)


# --- every wrapped call, descriptor reuse, UDP, threads, fork, IPv6 ----------------

APIS = r'''
import errno, json, os, socket, sys, threading, time
os.chdir("/")                           # the launcher must have made the trace path absolute
rep = {}
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(16)
addr = lst.getsockname()

def ep(s, peer=False):
    a = s.getpeername() if peer else s.getsockname()
    return "%s:%d" % (a[0], a[1]) if s.family == socket.AF_INET else "[%s]:%d" % (a[0], a[1])

# 1. write, writev, sendmsg, send; read, readv, recvmsg, recv_into (MSG_PEEK waits, unrecorded)
c = socket.create_connection(addr)
s, _ = lst.accept()
os.write(c.fileno(), b"abc")
c.send(b"")                             # moves nothing: no record
os.writev(c.fileno(), [b"12", b"345"])
c.sendmsg([b"xy", b"z"])
c.sendall(b"0123456789")
while len(s.recv(64, socket.MSG_PEEK)) < 21:
    time.sleep(0.01)
os.read(s.fileno(), 3)
os.readv(s.fileno(), [bytearray(2), bytearray(3)])
s.recvmsg(3)
s.recv_into(bytearray(10), 10)
rep["apis"] = {"c": c.fileno(), "s": s.fileno(), "c_local": ep(c), "s_local": ep(s)}

# 2. a failing call is not recorded and its errno reaches the program
s.setblocking(False)
try:
    s.recv(10)
    rep["eagain"] = None
except BlockingIOError as e:
    rep["eagain"] = e.errno
s.setblocking(True)

# 3. not TCP/UDP: a Unix socket pair and a regular file
a, b = socket.socketpair()
a.send(b"unix")
b.recv(10)
with open(os.devnull, "wb") as f:
    f.write(b"file")
rep["unix_fds"] = [a.fileno(), b.fileno()]
a.close(); b.close()

# 4. close and reuse: the numbers come back with fresh offsets
old = (c.fileno(), s.fileno())
c.close(); s.close()
c2 = socket.create_connection(addr)
s2, _ = lst.accept()
rep["reuse"] = {"old": old, "new": [c2.fileno(), s2.fileno()], "local": ep(c2)}
c2.send(b"again")
s2.recv(100)

# 5. dup2 over a used number: that number starts afresh on its new socket
c3 = socket.create_connection(addr)
s3, _ = lst.accept()
c3.send(b"xyz")
os.dup2(c3.fileno(), c2.fileno())
os.write(c2.fileno(), b"after-dup2")
got = b""
while len(got) < 13:
    got += s3.recv(100)
rep["dup2"] = {"fd": c2.fileno(), "local": ep(c3)}

# 6. UDP: datagram peers from sendto/sendmsg/recvfrom/recv/recvmsg
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u2.bind(("127.0.0.1", 0))
u2.sendto(b"dgram", u1.getsockname())
u2.sendmsg([b"dg", b"2"], [], 0, u1.getsockname())
u1.recvfrom(100)
u1.recv(100)
u1.sendto(b"back", u2.getsockname())
u2.recvmsg(100)
rep["udp"] = {"u1": [u1.fileno(), ep(u1)], "u2": [u2.fileno(), ep(u2)]}

# 7. threads: four connections at once, fifty sends each
pairs = []
for i in range(4):
    cc = socket.create_connection(addr)
    ss, _ = lst.accept()
    pairs.append((cc, ss))
def sender(cc, i):
    for k in range(50):
        cc.sendall(b"t%d-%03d;" % (i, k))
    cc.shutdown(socket.SHUT_WR)
def receiver(ss):
    while ss.recv(4096):
        pass
ts = [threading.Thread(target=sender, args=(p[0], i)) for i, p in enumerate(pairs)]
ts += [threading.Thread(target=receiver, args=(p[1],)) for p in pairs]
for t in ts: t.start()
for t in ts: t.join()
rep["threads"] = [[cc.fileno(), ep(cc), ss.fileno()] for cc, ss in pairs]

# 8. fork: the child appends to the same trace
pid = os.fork()
if pid == 0:
    cf = socket.create_connection(addr)
    cf.send(b"from-child")
    cf.close()
    os._exit(0)
sf, _ = lst.accept()
while sf.recv(100):
    pass
os.waitpid(pid, 0)
rep["child"] = pid

# 9. IPv6, and an IPv4 client on a dual-stack listener (mapped address)
try:
    l6 = socket.socket(socket.AF_INET6)
    l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    l6.bind(("::", 0))
    l6.listen(2)
    c6 = socket.create_connection(("::1", l6.getsockname()[1]))
    s6, _ = l6.accept()
    c6.send(b"six")
    s6.recv(10)
    c4 = socket.create_connection(("127.0.0.1", l6.getsockname()[1]))
    s4, _ = l6.accept()
    c4.send(b"four")
    s4.recv(10)
    rep["v6"] = {"c6": ep(c6), "c6_peer": ep(c6, True), "c4": ep(c4), "c4_peer": ep(c4, True)}
except OSError as e:
    rep["v6"] = str(e)

# 10. the program takes the trace file's descriptor number for a file of its own: records must not go there
trace = os.environ["SEGSCOPE_TRACE_FILE"]
def target(n):
    try:
        return os.readlink("/proc/self/fd/" + n)
    except OSError:                     # the descriptor listdir itself used
        return None
ours = [int(n) for n in os.listdir("/proc/self/fd") if target(n) == trace]
victim = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
for n in ours:
    os.dup2(victim, n)
cv = socket.create_connection(addr)
sv, _ = lst.accept()
cv.send(b"after-takeover")
sv.recv(100)
rep["takeover"] = {"fds": ours, "local": ep(cv)}

print(json.dumps(rep))
'''


def apis(tmp):
    script = os.path.join(tmp, "apis.py")
    with open(script, "w") as f:
        f.write(APIS)
    t0 = time.time()
    # A relative -o: the script chdirs to / before its first socket call.
    victim = os.path.join(tmp, "victim")
    p = subprocess.run([LAUNCHER, "-o", "apis.jsonl", PY, script, victim], capture_output=True, env=clean_env(),
                       cwd=tmp, timeout=TIMEOUT)
    if not check("apis: the script ran", p.returncode == 0, p.stderr.decode()[-2000:]):
        return
    rep = json.loads(p.stdout)
    recs = read_trace("apis trace", os.path.join(tmp, "apis.jsonl"), t0, time.time())
    streams_contiguous("apis", [r for r in recs if r["fd"] not in (rep["udp"]["u1"][0], rep["udp"]["u2"][0])])
    me = {r["pid"] for r in recs} - {rep["child"]}

    def recs_of(fd, call, local=None, remote=None):
        return [(r["offset"], r["len"]) for r in recs
                if r["fd"] == fd and r["call"] == call and (local is None or r["local"] == local)
                and (remote is None or r["remote"] == remote)]

    a = rep["apis"]
    check("write, writev, sendmsg, send: one record each, none for an empty send", recs_of(a["c"], "send", a["c_local"]) ==
          [(0, 3), (3, 5), (8, 3), (11, 10)], str(recs_of(a["c"], "send", a["c_local"])))
    check("read, readv, recvmsg, recv_into: one record each, MSG_PEEK unrecorded, failed recv unrecorded",
          recs_of(a["s"], "recv", a["s_local"], a["c_local"]) == [(0, 3), (3, 5), (8, 3), (11, 10)],
          str(recs_of(a["s"], "recv", a["s_local"], a["c_local"])))
    check("errno of a failed recv reaches the program (EAGAIN)", rep["eagain"] == 11 or rep["eagain"] == 35,
          str(rep["eagain"]))
    # A recorded Unix socket would show a null local endpoint (getsockname gives no IP address).
    check("Unix sockets are not traced", all(r["local"] is not None for r in recs),
          str([r for r in recs if r["local"] is None][:2]))
    ru = rep["reuse"]
    check("close then reuse of the same numbers: fresh offsets",
          ru["old"] == ru["new"] and recs_of(ru["new"][0], "send", ru["local"]) == [(0, 5)],
          f"{ru} {recs_of(ru['new'][0], 'send')}")
    d = rep["dup2"]
    check("dup2 over a used number: its offsets restart on the new socket",
          recs_of(d["fd"], "send", d["local"]) == [(0, 10)], str(recs_of(d["fd"], "send")))
    u1, u2 = rep["udp"]["u1"], rep["udp"]["u2"]
    udp = [(r["fd"], r["call"], r["remote"], r["offset"], r["len"]) for r in recs if r["fd"] in (u1[0], u2[0])]
    check("UDP: sendto/sendmsg/recvfrom/recv/recvmsg with each datagram's peer", udp == [
        (u2[0], "send", u1[1], 0, 5), (u2[0], "send", u1[1], 5, 3), (u1[0], "recv", u2[1], 0, 5),
        (u1[0], "recv", u2[1], 5, 3), (u1[0], "send", u2[1], 0, 4), (u2[0], "recv", u1[1], 0, 4)], str(udp))
    for i, (cfd, clocal, sfd) in enumerate(rep["threads"]):
        sends = recs_of(cfd, "send", clocal)
        recvs = [r for r in recs if r["fd"] == sfd and r["call"] == "recv" and r["remote"] == clocal]
        if not check(f"thread {i}: 50 sends of 7 bytes, received in full",
                     sends == [(7 * k, 7) for k in range(50)] and sum(r["len"] for r in recvs) == 350,
                     f"{len(sends)} sends, {sum(r['len'] for r in recvs)} received"):
            break
    child = [(r["call"], r["offset"], r["len"]) for r in recs if r["pid"] == rep["child"]]
    check("fork: the child's send is in the same file under its own pid", child == [("send", 0, 10)] and
          len(me) == 1, str(child))
    tk = rep["takeover"]
    check("the trace file's descriptor sits high, out of the program's way", tk["fds"] and min(tk["fds"]) >= 64,
          str(tk["fds"]))
    check("the program's dup2 over that descriptor: its file stays clean, the trace reopened",
          os.path.getsize(victim) == 0 and [(r["call"], r["len"]) for r in recs if r["local"] == tk["local"]]
          == [("send", 14)], f"victim {os.path.getsize(victim)} bytes")
    v6 = rep["v6"]
    if isinstance(v6, str):
        skip("IPv6 endpoints", f"no IPv6 loopback here ({v6})")
    else:
        six = [r for r in recs if r["local"] == v6["c6"]]
        four = [r for r in recs if r["remote"] == v6["c4"] and r["call"] == "recv"]
        check("IPv6 endpoints are bracketed", six and six[0]["remote"] == v6["c6_peer"]
              and v6["c6"].startswith("[::1]:"), str(six))
        check("an IPv4 peer of a dual-stack socket is written as IPv4, as on the wire",
              [(r["local"], r["len"]) for r in four] == [(v6["c4_peer"], 4)], str(four))


# --- the launcher -------------------------------------------------------------------

PING = r'''
import os, socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.send(b"ping"); s.recv(10)
print(os.environ.get("LD_PRELOAD"), os.environ.get("SEGSCOPE_TRACE_FILE"))
'''


def launcher(tmp):
    ping = os.path.join(tmp, "ping.py")
    with open(ping, "w") as f:
        f.write(PING)

    def run(args, **kw):
        kw.setdefault("env", clean_env())
        kw.setdefault("cwd", tmp)
        return subprocess.run([LAUNCHER] + args, capture_output=True, timeout=TIMEOUT, **kw)

    p = run(["--help"])
    check("--help: usage on stdout, exit 0", p.returncode == 0 and b"Usage: segscope-trace" in p.stdout
          and not p.stderr, f"{p.returncode}")
    p = run([])
    check("no command: usage on stderr, exit 2", p.returncode == 2 and b"Usage" in p.stderr and not p.stdout)
    p = run(["--bogus", "true"])
    check("unknown option: exit 2", p.returncode == 2, str(p.returncode))
    p = run(["-o"])
    check("-o without a file: exit 2", p.returncode == 2, str(p.returncode))
    p = run(["true", "--bogus"])
    check("options after COMMAND are COMMAND's", p.returncode == 0, f"{p.returncode} {p.stderr!r}")

    keep = os.path.join(tmp, "keep.jsonl")
    with open(keep, "w") as f:
        f.write("old\n")
    p = run(["-o", keep, "no-such-command-segscope"])
    check("command not found: exit 127 with a message, old trace kept",
          p.returncode == 127 and b"not found" in p.stderr and open(keep).read() == "old\n", f"{p.returncode}")
    noexec = os.path.join(tmp, "noexec")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(noexec, 0o644)
    p = run(["-o", keep, noexec])
    check("command not executable: exit 126", p.returncode == 126 and b"cannot run" in p.stderr,
          f"{p.returncode} {p.stderr!r}")

    # Default file name, the environment variable, and LD_PRELOAD appended after the user's.
    p = run([PY, ping])
    default = os.path.join(tmp, "segscope-trace.jsonl")
    check("default trace file in the current directory",
          p.returncode == 0 and os.path.exists(default) and len(open(default).readlines()) == 2, p.stderr.decode())
    envfile = os.path.join(tmp, "from-env.jsonl")
    # The user's LD_PRELOAD is loaded into the launcher too; a sanitized launcher would object to that.
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    p = run([PY, ping], env=clean_env(SEGSCOPE_TRACE_FILE=envfile, LD_PRELOAD="libm.so.6", ASAN_OPTIONS=asan))
    out = p.stdout.decode().split()
    check("$SEGSCOPE_TRACE_FILE names the trace; LD_PRELOAD keeps the user's library first",
          p.returncode == 0 and out == [f"libm.so.6:{LIBRARY}", envfile] and len(open(envfile).readlines()) == 2,
          f"{out} {p.stderr!r}")

    # The launcher alone, away from the library: a clear error.
    lonely = os.path.join(tmp, "lonely")
    os.mkdir(lonely)
    shutil.copy(LAUNCHER, lonely)
    p = subprocess.run([os.path.join(lonely, os.path.basename(LAUNCHER)), "true"], capture_output=True,
                       env=clean_env(), cwd=lonely, timeout=TIMEOUT)
    if p.returncode == 0:
        skip("library not found", "an installed copy of the library was found instead")
    else:
        check("library not found: exit 125 naming the library", p.returncode == 125 and
              b"cannot find the tracing library libsegscope-trace.so" in p.stderr, f"{p.returncode} {p.stderr!r}")

    if not CC:
        skip("C programs (fortified reads, fclose'd sockets, static linking)", "no C compiler given to build them")
        return
    c_program(tmp)

    # A statically linked program: the launcher warns, the program still runs, the trace stays empty.
    src = os.path.join(tmp, "static.c")
    exe = os.path.join(tmp, "static-prog")
    with open(src, "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("static program ran"); return 5; }\n')
    b = subprocess.run([CC, "-static", "-o", exe, src], capture_output=True, timeout=TIMEOUT)
    if b.returncode != 0:
        skip("statically linked program", f"{CC} -static failed (no static libc?): {b.stderr.decode()[-300:]}")
        return
    strace = os.path.join(tmp, "static.jsonl")
    p = run(["-o", strace, exe])
    check("static program: warned, ran, status passed through, no records",
          b"statically linked" in p.stderr and p.stdout == b"static program ran\n" and p.returncode == 5
          and os.path.getsize(strace) == 0, f"{p.returncode} {p.stdout!r} {p.stderr!r}")
    p = run(["-o", strace, PY, "-c", "pass"])
    check("dynamic program: no warning", p.returncode == 0 and not p.stderr, p.stderr.decode())


C_PROGRAM = r'''
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof a;
    char buf[64];
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (argc < 2 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &alen))
        return 1;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a))
        return 1;
    int s = accept(l, NULL, NULL);
    size_t cap = sizeof buf - (size_t)(argc - 2); /* known only at run time: the fortified calls check it */
    ssize_t w1 = write(c, "hello", 5);
    ssize_t n = read(s, buf, cap);             /* __read_chk when fortified */
    ssize_t w2 = send(c, "world!", 6, 0);
    ssize_t m = recv(s, buf, cap, 0);          /* __recv_chk when fortified */
    FILE *f = fdopen(c, "w");                  /* closed inside libc, past the wrappers ... */
    fclose(f);
    int fd = open(argv[1], O_RDONLY);          /* ... and its number reused by a file */
    ssize_t k = read(fd, buf, sizeof buf);
    printf("%zd %zd %zd %zd %d %d %zd\n", w1, n, w2, m, c, fd, k);
    return 0;
}
'''


def c_program(tmp):
    """A C program built with _FORTIFY_SOURCE, and a socket closed by fclose() whose number a file reuses."""
    src = os.path.join(tmp, "cprog.c")
    exe = os.path.join(tmp, "cprog")
    with open(src, "w") as f:
        f.write(C_PROGRAM)
    b = subprocess.run([CC, "-O2", "-D_FORTIFY_SOURCE=2", "-o", exe, src], capture_output=True, timeout=TIMEOUT)
    if not check("C program builds", b.returncode == 0, b.stderr.decode()[-500:]):
        return
    trace = os.path.join(tmp, "cprog.jsonl")
    t0 = time.time()
    p = subprocess.run([LAUNCHER, "-o", trace, exe, src], capture_output=True, env=clean_env(), timeout=TIMEOUT)
    out = p.stdout.split()
    if not check("C program ran", p.returncode == 0 and len(out) == 7, f"{p.returncode} {p.stdout!r} {p.stderr!r}"):
        return
    c, fd = int(out[4]), int(out[5])
    recs = [(r["fd"], r["call"], r["offset"], r["len"]) for r in read_trace("C program trace", trace, t0, time.time())]
    s = recs[1][0] if len(recs) > 1 else -1
    check("C program: write/read/send/recv recorded; the file read on a reused number is not",
          c == fd and recs == [(c, "send", 0, 5), (s, "recv", 0, 5), (c, "send", 5, 6), (s, "recv", 5, 6)],
          f"c={c} file={fd} {recs}")
    with open(exe, "rb") as f:
        image = f.read()
    if b"__read_chk" in image and b"__recv_chk" in image:
        check("C program: the fortified __read_chk/__recv_chk were the calls traced", len(recs) == 4)
    else:
        skip("fortified calls", f"{CC} did not route read/recv through __read_chk/__recv_chk")


def main():
    with tempfile.TemporaryDirectory(prefix="segscope-trace-") as tmp:
        demo(tmp)
        apis(tmp)
        launcher(tmp)
    for s in skipped:
        print(f"SKIPPED (not counted as passed) {s}")
    for f in tally.failures:
        print(f"FAIL {f}")
    print(f"test_trace: {tally.passed} checks passed, {len(tally.failures)} failed, {len(skipped)} skipped")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
