#!/usr/bin/env python3
"""Idle keep-alive connections for the memory case of bench/run.sh.

usage: idle.py HOST:PORT N

Opens N connections, spread over the loopback source addresses
127.0.0.2, 127.0.0.3, ... (at most 100 a source, so that a per-address
connection limit does not refuse them), sends one keep-alive GET /healthz
on each and reads its answer, prints "open N" and then holds them, idle,
until it is killed."""
import signal
import socket
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
conns = []
request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((f"127.0.0.{2 + i // 100}", 0))
    s.connect((host, int(port)))
    s.sendall(request)
    conns.append(s)
for s in conns:
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            print(f"closed after {len(conns)}", flush=True)
            sys.exit(1)
        got += chunk
    if not got.startswith(b"HTTP/1.1 200"):
        print("refused: " + got.split(b"\r\n")[0].decode(), flush=True)
        sys.exit(1)
print(f"open {len(conns)}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(3600)
