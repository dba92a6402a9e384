#!/usr/bin/env python3
"""Makes the classic first exercise's traffic on loopback: a client sends
"hello" and "world" in two writes, the server replies to what it read, both close.

Usage: hello-traffic.py [PORT]  (default 9000). Used to make captures/hello.pcap
and by the live-capture test; the bundled demo (segscope-demo) supersedes it.
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
ready = threading.Event()


def server():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        ready.set()
        conn, _ = s.accept()
        with conn:
            time.sleep(0.05)  # read late, so both writes may arrive together
            data = conn.recv(1024)
            conn.sendall(b"got: " + data)
            while conn.recv(1024):
                pass


t = threading.Thread(target=server)
t.start()
ready.wait()
with socket.create_connection(("127.0.0.1", port)) as c:
    c.sendall(b"hello")
    c.sendall(b"world")
    print(c.recv(1024).decode(), flush=True)
    time.sleep(0.01)
t.join()
