#!/usr/bin/env python3
"""Live capture on loopback: -i lo with -c, -w and a filter; -Z USER; Ctrl-C stops cleanly; the permission hint.

As root it captures real loopback traffic; as another user it checks the
hint and exit status 2, and reports the capture part as skipped (77) unless
SEGSCOPE_REQUIRE_LIVE=1.
"""
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from checks import Tally

BIN = sys.argv[1]
PKT_LINE = re.compile(r"^\s*\d+\s+-?\d+\.\d{6}\s")


def pkt_lines(text):
    """The packet lines of a timeline (state changes and explanations are indented lines)."""
    return [l for l in text.splitlines() if PKT_LINE.match(l)]


tally = Tally()
check = tally.check


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, rounds):
    """A tiny echo exchange on loopback: each round is a full TCP connection (handshake .. close)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)

    def serve():
        for _ in range(rounds):
            c, _ = srv.accept()
            with c:
                data = c.recv(100)
                c.sendall(data)
                c.recv(100)

    t = threading.Thread(target=serve)
    t.start()
    for i in range(rounds):
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"ping %d" % i)
            c.recv(100)
    t.join()
    srv.close()


def exchange_until_exit(proc, port):
    """Connections of 7 to 10 packets each (how many depends on ACK timing), one after
    another until the capture `proc` has its -c packets and exits, within a bound; its output."""
    for _ in range(20):
        if proc.poll() is not None:
            break
        exchange(port, 1)
        time.sleep(0.2)
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def wait_ready(proc, path=None):
    """Waits for segscope's "listening on" line (the capture is open); up to 20 s."""
    import select
    deadline = time.time() + 20
    buf = b""
    while time.time() < deadline and b"listening on" not in buf:
        r, _, _ = select.select([proc.stderr], [], [], 0.5)
        if r:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return b"listening on" in buf


def unprivileged_cmd(args):
    if os.geteuid() != 0:
        return args
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", *args]
    return None


# Without privileges: the hint and exit 2.
cmd = unprivileged_cmd([BIN, "-i", "lo", "-c", "1"])
if cmd:
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    err = p.stderr.decode()
    check("unprivileged exit 2", p.returncode == 2, f"rc={p.returncode} {err}")
    check("unprivileged hint", "setcap cap_net_raw,cap_net_admin" in err and "root" in err, err)

if os.geteuid() != 0:
    tally.finish(skipped="live capture needs root: skipped")

with tempfile.TemporaryDirectory() as td:
    # -c 20 with a filter: exactly 20 decoded lines, exit 0, and -w saved them.
    port = free_port()
    w = os.path.join(td, "live.pcap")
    proc = subprocess.Popen([BIN, "-i", "lo", "-c", "20", "-w", w, "tcp", "port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check("listening line", wait_ready(proc), "no 'listening on' line")
    out, err = exchange_until_exit(proc, port)
    lines = pkt_lines(out.decode())
    check("live exit 0", proc.returncode == 0, f"rc={proc.returncode} {err.decode()}")
    check("live 20 lines", len(lines) == 20, f"{len(lines)} lines")
    check("live decoded", all(f":{port}" in l and "TCP [" in l for l in lines), "\n".join(lines[:3]))
    check("live handshake first", lines and "[S]" in lines[0], lines[0] if lines else "")
    check("live summary at the end", "Conversations (" in out.decode(), out.decode()[-300:])
    r = subprocess.run([BIN, "-r", w], capture_output=True)
    check("-w file readable", r.returncode == 0 and len(pkt_lines(r.stdout.decode())) == 20,
          f"rc={r.returncode} {len(pkt_lines(r.stdout.decode()))}")

    # -Z nobody: the capture and the output files are opened as root, then segscope runs as nobody
    # (user, group and supplementary groups) while it waits for packets; the files are still written.
    try:
        import pwd
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        nobody = None
        print("SKIP -Z: no user 'nobody' on this machine")
    if nobody:
        port = free_port()
        wz = os.path.join(td, "dropped.pcap")
        cz = os.path.join(td, "dropped.csv")
        proc = subprocess.Popen([BIN, "-i", "lo", "-Z", "nobody", "-c", "12", "-w", wz, "--csv", cz,
                                 "tcp", "port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check("-Z listening line", wait_ready(proc), "no 'listening on' line")
        status = {}
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                status = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
        except OSError as e:
            check("-Z /proc status readable", False, str(e))
        uid, gid = nobody.pw_uid, nobody.pw_gid
        want_groups = sorted(set(os.getgrouplist("nobody", gid)))
        check("-Z uid is nobody's (real, effective, saved, fs)",
              status.get("Uid", "").split() == [str(uid)] * 4, status.get("Uid"))
        check("-Z gid is nobody's (real, effective, saved, fs)",
              status.get("Gid", "").split() == [str(gid)] * 4, status.get("Gid"))
        check("-Z supplementary groups are nobody's",
              sorted(int(g) for g in status.get("Groups", "").split()) == want_groups,
              f"{status.get('Groups')} vs {want_groups}")
        check("-Z no capabilities left", status.get("CapEff", "").strip("0") == "" and
              status.get("CapPrm", "").strip("0") == "", f"{status.get('CapEff')} {status.get('CapPrm')}")
        out, err = exchange_until_exit(proc, port)
        lines = pkt_lines(out.decode())
        check("-Z capture exit 0", proc.returncode == 0, f"rc={proc.returncode} {err.decode()}")
        check("-Z captures 12 packets", len(lines) == 12 and all(f":{port}" in l for l in lines),
              f"{len(lines)} lines")
        r = subprocess.run([BIN, "-r", wz], capture_output=True)
        check("-Z: -w file written", r.returncode == 0 and len(pkt_lines(r.stdout.decode())) == 12,
              f"rc={r.returncode} {len(pkt_lines(r.stdout.decode()))} {r.stderr.decode()}")
        check("-Z: --csv file written", os.path.exists(cz) and f"127.0.0.1:{port}," in open(cz).read(),
              open(cz).read()[:300] if os.path.exists(cz) else "missing")

        # Not root: -Z is ignored with a warning, as tcpdump ignores it (read the file from standard input).
        cmd = unprivileged_cmd([BIN, "-r", "-", "-Z", "nobody"])
        if cmd:
            with open(wz, "rb") as f:
                p = subprocess.run(cmd, stdin=f, capture_output=True, timeout=30)
            check("-Z when not root: ignored, with a warning", p.returncode == 0 and
                  "-Z nobody ignored" in p.stderr.decode() and len(pkt_lines(p.stdout.decode())) == 12,
                  f"rc={p.returncode} {p.stderr.decode()}")

    # -Z with a user that does not exist: exit 2 with a message, before anything is opened or created.
    wm = os.path.join(td, "never.pcap")
    p = subprocess.run([BIN, "-i", "lo", "-Z", "no-such-user-ss", "-c", "1", "-w", wm], capture_output=True,
                       timeout=30)
    check("-Z missing user: exit 2 and a message", p.returncode == 2 and
          "-Z no-such-user-ss: no such user" in p.stderr.decode(), f"rc={p.returncode} {p.stderr.decode()}")
    check("-Z missing user: no file created", not os.path.exists(wm), "the -w file was created")

    # SIGINT (Ctrl-C): stops cleanly, output and file flushed.
    port = free_port()
    w2 = os.path.join(td, "int.pcap")
    proc = subprocess.Popen([BIN, "-i", "lo", "--json", "-w", w2, "tcp", "port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_ready(proc)
    exchange(port, 1)
    # Wait until the packets have been shown (live output is flushed per line), then Ctrl-C.
    import select
    shown = b""
    deadline = time.time() + 20
    while time.time() < deadline and shown.count(b'"type":"packet"') < 8:
        r, _, _ = select.select([proc.stdout], [], [], 0.5)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            shown += chunk
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
        out = shown + out
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        out = shown + out
        check("SIGINT stops", False, "did not stop within 10 s")
    recs = [json.loads(l) for l in out.decode().splitlines()]
    pk = [x for x in recs if x["type"] == "packet"]
    check("SIGINT exit 0", proc.returncode == 0, f"rc={proc.returncode} {err.decode()}")
    check("SIGINT packets", len(pk) >= 8, str(len(pk)))
    check("SIGINT end record", recs and recs[-1]["type"] == "end" and "pcap_dropped" in recs[-1],
          str(recs[-1:]))
    r = subprocess.run([BIN, "-r", w2, "--json"], capture_output=True)
    saved = [x for x in map(json.loads, r.stdout.decode().splitlines()) if x["type"] == "packet"]
    check("SIGINT file flushed", len(saved) == len(pk), f"{len(saved)} saved, {len(pk)} shown")

    # SIGTERM as well.
    proc = subprocess.Popen([BIN, "-i", "lo", "tcp", "port", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_ready(proc)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=10)
        check("SIGTERM exit 0", proc.returncode == 0, f"rc={proc.returncode}")
    except subprocess.TimeoutExpired:
        proc.kill()
        check("SIGTERM stops", False, "did not stop")

    # A missing interface: a clear message, exit 2.
    p = subprocess.run([BIN, "-i", "nosuchif0", "-c", "1"], capture_output=True, timeout=30)
    check("missing interface", p.returncode == 2 and "nosuchif0" in p.stderr.decode(), p.stderr.decode())

tally.finish()
