#!/usr/bin/env python3
"""An unauthenticated client of a launcher's cache replication port (tests only).

  hijack HOST PORT CLUSTER NODE SECONDS
      sends a HELLO naming NODE of CLUSTER (no key: it can never send a valid
      AUTH) and holds the connection; prints "closed after MS" when the
      launcher closes it, or "held SECONDS" if it never does.
  big HOST PORT N SRC...
      N connections (from the source addresses in turn), each announcing a
      16 MiB frame and sending 64 KiB of it; prints "closed C of N, slowest MS",
      waiting at most 5 s.
  silent HOST PORT N SRC
      N connections from SRC that send nothing; prints "early E deadline D of N":
      closed within 0.5 s (refused), and later within 4 s.
  hellos HOST PORT CLUSTER NODE N
      N connections one after another, each sending a HELLO naming NODE, then
      closing it after the launcher's answer (or 0.2 s); prints "sent N".
  hold HOST PORT N SECONDS SRC...
      keeps N silent connections open (from the source addresses in turn),
      opening another as soon as one is closed, for SECONDS; prints
      "opened C".
Every connection goes to HOST only, and every loop is bounded.
"""
import os
import select
import socket
import struct
import sys
import time


def digest(name):
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def hello(cluster, node):
    p = struct.pack(">QB", digest(cluster), len(node)) + node.encode() + os.urandom(16)
    return struct.pack(">IB", 1 + len(p), 1) + p


def closed(s):
    try:
        return s.recv(65536) == b""
    except ConnectionResetError:
        return True
    except BlockingIOError:
        return False


def hijack(host, port, cluster, node, seconds):
    s = socket.create_connection((host, port), timeout=2)
    t0 = time.monotonic()
    s.sendall(hello(cluster, node))
    s.setblocking(False)
    while time.monotonic() - t0 < seconds:
        select.select([s], [], [], 0.05)
        if closed(s):
            print("closed after %d" % ((time.monotonic() - t0) * 1000))
            return
    print("held %d" % seconds)


def big(host, port, n, sources):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((sources[i % len(sources)], 0))
        s.settimeout(2)
        s.connect((host, port))
        socks.append(s)
    t0 = time.monotonic()
    for s in socks:
        try:
            s.sendall(struct.pack(">IB", 16 << 20, 5) + b"\0" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.setblocking(False)
    done, slowest = set(), 0
    while len(done) < n and time.monotonic() - t0 < 5:
        select.select([s for s in socks if s not in done], [], [], 0.05)
        for s in socks:
            if s not in done and closed(s):
                done.add(s)
                slowest = (time.monotonic() - t0) * 1000
    print("closed %d of %d, slowest %d" % (len(done), n, slowest))


def hellos(host, port, cluster, node, n):
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(hello(cluster, node))
        select.select([s], [], [], 0.2)
        s.close()
    print("sent %d" % n)


def silent(host, port, n, src):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.settimeout(2)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    t0 = time.monotonic()
    early, late = set(), set()
    while len(early) + len(late) < n and time.monotonic() - t0 < 4:
        select.select([s for s in socks if s not in early and s not in late], [], [], 0.05)
        for s in socks:
            if s not in early and s not in late and closed(s):
                (early if time.monotonic() - t0 < 0.5 else late).add(s)
    print("early %d deadline %d of %d" % (len(early), len(late), n))


def hold(host, port, n, seconds, sources):
    def opened(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((sources[i % len(sources)], 0))
        s.settimeout(2)
        try:
            s.connect((host, port))
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        return s
    socks, count, t0 = [None] * n, 0, time.monotonic()
    # bounded: at most one new connection per slot per 10 ms
    while time.monotonic() - t0 < seconds and count < n * 100 * int(seconds + 1):
        for i in range(n):
            if socks[i] is not None and closed(socks[i]):
                socks[i].close()
                socks[i] = None
            if socks[i] is None:
                socks[i] = opened(i)
                count += 1
        select.select([s for s in socks if s is not None], [], [], 0.01)
    print("opened %d" % count)


if __name__ == "__main__":
    if sys.argv[1] == "hijack":
        hijack(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]))
    elif sys.argv[1] == "hellos":
        hellos(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif sys.argv[1] == "silent":
        silent(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6:])
    elif sys.argv[1] == "big":
        big(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    else:
        sys.exit("usage: repl-attacker.py hijack|big ...")
