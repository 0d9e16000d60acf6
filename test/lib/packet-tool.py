#!/usr/bin/env python3
"""Cluster packets for fault and security tests, sent only inside the lab.

  packet-tool.py capture IFADDR GROUP PORT SECONDS OUT   record datagrams
  packet-tool.py replay  IFADDR GROUP PORT IN [DELAY_MS] send them again
  packet-tool.py forge   IFADDR GROUP PORT CLUSTER NODE TERM [KEYFILE]
        a master heartbeat with a high term, tagged with KEYFILE's key 1
        (a wrong key), or with key id 0 and no tag; with FORGE_PAUSE set
        (VERSION:PAUSED:BY) its payload carries that pause record
  packet-tool.py flood   IFADDR GROUP PORT RATE SECONDS  random garbage
  packet-tool.py newer   IFADDR GROUP PORT CLUSTER NODE KEYFILE SECONDS [VERSION]
        slave heartbeats of a newer protocol VERSION (default 2: the
        version-1 layout, then an 8-byte extension before the trailer, as
        launcher/cluster/wire.h allows), every 100 ms for SECONDS, tagged with
        KEYFILE's key 1; every fifth packet has a type version 1 lacks

IFADDR is the sender's address on the lab interface: multicast goes out
there and nowhere else.  Every loop is bounded in count and time.
"""
import hashlib
import hmac
import os
import random
import socket
import struct
import sys
import time

MAX_PACKETS = 2_000_000


def sock(ifaddr, group=None, port=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    if group:
        s.bind((group, port))
        mreq = socket.inet_aton(group) + socket.inet_aton(ifaddr)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    return s


def fnv(name):
    h = 0xcbf29ce484222325
    for c in name.encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def forge(cluster, node, term, key=None):
    body = struct.pack(">IBBH", 0x464C4F56, 1, 1, 0)
    body += struct.pack(">Q", fnv(cluster))
    body += node.encode().ljust(32, b"\0")
    boot = (int(time.time() * 1000) + 10_000_000) << 16   # a "newer" boot
    body += struct.pack(">QQQBBHQ", boot, 1, term, 3, 1, 0, 0)
    body += node.encode().ljust(32, b"\0")
    body += struct.pack(">I", 0xFFFFFFFF)
    body += struct.pack(">H", 0)
    pause = os.environ.get("FORGE_PAUSE")   # VERSION:PAUSED:BY, the pause record (pause.h)
    if pause:
        version, paused, by = pause.split(":")
        payload = struct.pack(">H", 2710) + b"\0" * 28
        payload += struct.pack(">QB", int(version), int(paused)) + by.encode().ljust(32, b"\0")
    else:
        payload = struct.pack(">H", 2710)
    body += struct.pack(">H", len(payload)) + payload
    body += bytes([1 if key else 0, 0])
    total = len(body) + 32
    body = body[:6] + struct.pack(">H", total) + body[8:]
    tag = hmac.new(key, body, hashlib.sha256).digest() if key else b"\0" * 32
    return body + tag


def newer(cluster, node, key, version, boot, seq, ptype=1):
    """A packet of a newer protocol version: slave NODE, no master seen."""
    body = struct.pack(">IBBH", 0x464C4F56, version, ptype, 0)
    body += struct.pack(">Q", fnv(cluster))
    body += node.encode().ljust(32, b"\0")
    body += struct.pack(">QQQBBHQ", boot, seq, 0, 1, 0, 200, 0)  # term 0, slave, position 200
    body += b"\0" * 32                                           # no master heard
    body += struct.pack(">I", 0xFFFFFFFF)
    body += struct.pack(">H", 0) + struct.pack(">H", 0)           # no url, no payload
    body += bytes(range(0xe0, 0xe8))                              # the extension
    body += bytes([1, 0])                                         # key id 1, reserved
    total = len(body) + 32
    body = body[:6] + struct.pack(">H", total) + body[8:]
    return body + hmac.new(key, body, hashlib.sha256).digest()


def main():
    cmd = sys.argv[1]
    if cmd == "capture":
        ifaddr, group, port, secs, out = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
        s = sock(ifaddr, group, port)
        s.settimeout(0.1)
        end = time.monotonic() + secs
        with open(out, "wb") as f:
            n = 0
            while time.monotonic() < end and n < MAX_PACKETS:
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    continue
                f.write(struct.pack(">I", len(data)) + data)
                n += 1
        print(n)
    elif cmd == "replay":
        ifaddr, group, port, path = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        delay = float(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.001
        s = sock(ifaddr)
        data = open(path, "rb").read()
        off = n = 0
        while off + 4 <= len(data) and n < MAX_PACKETS:
            (ln,) = struct.unpack(">I", data[off:off + 4])
            s.sendto(data[off + 4:off + 4 + ln], (group, port))
            off += 4 + ln
            n += 1
            time.sleep(delay)
        print(n)
    elif cmd == "forge":
        ifaddr, group, port, cluster, node, term = sys.argv[2:8]
        key = None
        if len(sys.argv) > 8:
            for line in open(sys.argv[8]):
                if line.startswith("1:"):
                    key = bytes.fromhex(line[2:].strip())
        s = sock(ifaddr)
        for _ in range(20):
            s.sendto(forge(cluster, node, int(term), key), (group, int(port)))
            time.sleep(0.05)
        print(20)
    elif cmd == "newer":
        ifaddr, group, port, cluster, node, keyfile, secs = sys.argv[2:9]
        version = int(sys.argv[9]) if len(sys.argv) > 9 else 2
        key = None
        for line in open(keyfile):
            if line.startswith("1:"):
                key = bytes.fromhex(line[2:].strip())
        s = sock(ifaddr)
        boot = int(time.time() * 1000) << 16
        end = time.monotonic() + float(secs)
        n = 0
        while time.monotonic() < end and n < 10_000:
            n += 1
            ptype = 9 if n % 5 == 0 else 1
            s.sendto(newer(cluster, node, key, version, boot, n, ptype), (group, int(port)))
            if n == 1:
                print("sending", flush=True)   # the test waits for this line
            time.sleep(0.1)
        print(n)
    elif cmd == "flood":
        ifaddr, group, port, rate, secs = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        s = sock(ifaddr)
        end = time.monotonic() + secs
        n = 0
        start = time.monotonic()
        while time.monotonic() < end and n < MAX_PACKETS:
            payload = os.urandom(random.randint(1, 400))
            if n % 3 == 0:   # looks like ours, to reach deeper checks
                payload = struct.pack(">IBB", 0x464C4F56, 1, random.randint(1, 5)) + payload
            s.sendto(payload, (group, port))
            n += 1
            ahead = n / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        print(n)


if __name__ == "__main__":
    main()
