#!/usr/bin/env python3
"""An sd_notify listener for tests: binds a Unix datagram socket at PATH
and appends every datagram to OUT as one line, "<ms> <text>", with the
datagram's newlines written as '|'.  It stops after MAX seconds or when
OUT.stop exists.

Usage: notify-listen.py PATH OUT MAX
"""
import os
import socket
import sys
import time

path, out, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.05)
start = time.monotonic()
with open(out, "a", buffering=1) as f:
    while time.monotonic() - start < limit and not os.path.exists(out + ".stop"):
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        text = data.decode(errors="replace").replace("\n", "|")
        f.write(f"{int(time.time() * 1000)} {text}\n")
