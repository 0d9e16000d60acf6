#!/usr/bin/env python3
"""Counters of etcd requests for test/bench/etcd, one subcommand each.

  sniff IFACE SECONDS   run in a node's namespace: counts the HTTP requests
                        that leave IFACE for port 2379 during SECONDS (TCP
                        segments whose payload starts with a method: the
                        launcher speaks plain HTTP to etcd's JSON gateway in
                        the bench) and prints "total=N" and one "PATH=N"
                        per request path.  Passive: it only reads.
  metrics URL...        run in the switch namespace: etcd's own counters
                        from each member's /metrics, summed over members:
                        grpc_server_started_total and
                        grpc_server_handled_total (all methods), and the
                        started calls per method, one line per member.
  delta BEFORE AFTER    calls per second between two `metrics` outputs.
"""
import collections
import socket
import struct
import sys
import time
import urllib.request

METHODS = (b"POST ", b"GET ", b"PUT ", b"DELETE ")


def sniff(iface, seconds):
    ETH_P_ALL = 0x0003
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    counts = collections.Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            pkt, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(pkt) < 14 + 20:
            continue
        if struct.unpack("!H", pkt[12:14])[0] != 0x0800:
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6 or len(ip) < ihl + 20:
            continue
        tcp = ip[ihl:]
        dport = struct.unpack("!H", tcp[2:4])[0]
        if dport != 2379:
            continue
        off = (tcp[12] >> 4) * 4
        payload = tcp[off:]
        if payload.startswith(METHODS):
            path = payload.split(b" ", 2)[1].decode(errors="replace")
            counts[path] += 1
    print(f"total={sum(counts.values())}")
    for path, n in sorted(counts.items()):
        print(f"{path}={n}")


def metrics(urls):
    """One line per member: its URL, the time read, the two totals and the
    non-zero started counts per method."""
    for url in urls:
        started = handled = 0
        per = collections.Counter()
        # no proxy: the members are lab addresses
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        for line in text.splitlines():
            if line.startswith("grpc_server_started_total{"):
                v = float(line.rsplit(" ", 1)[1])
                started += v
                m = line.split('grpc_method="', 1)[1].split('"', 1)[0]
                per[m] += v
            elif line.startswith("grpc_server_handled_total{"):
                handled += float(line.rsplit(" ", 1)[1])
        print(f"member={url} time={time.time():.3f} started={started:.0f} handled={handled:.0f} "
              + " ".join(f"{k}={v:.0f}" for k, v in sorted(per.items()) if v))


def delta(before, after):
    """Per second, from two files of `metrics` lines: started (handled)
    calls summed over the members, and the started calls per method."""
    def read(p):
        out = {}
        for line in open(p):
            r = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            out[r["member"]] = r
        return out
    b, a = read(before), read(after)
    st = ha = 0.0
    per = collections.Counter()
    secs = []
    neg = []
    for m in a:
        if m not in b:
            continue
        secs.append(float(a[m]["time"]) - float(b[m]["time"]))
        ds = float(a[m]["started"]) - float(b[m]["started"])
        if ds < 0:
            neg.append(m)
        st += ds
        ha += float(a[m]["handled"]) - float(b[m]["handled"])
        for k, v in a[m].items():
            if k not in ("member", "time", "started", "handled"):
                per[k] += float(v) - float(b[m].get(k, 0))
    t = sum(secs) / len(secs)
    note = f" (counters went back on {','.join(neg)})" if neg else ""
    print(f"{st / t:.2f} ({ha / t:.2f}){note} over {t:.1f} s; by method: "
          + ", ".join(f"{k} {v / t:.2f}" for k, v in sorted(per.items()) if v))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sniff":
        sniff(args[0], float(args[1]))
    elif cmd == "metrics":
        metrics(args)
    elif cmd == "delta":
        delta(args[0], args[1])
    else:
        sys.exit(f"count.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
