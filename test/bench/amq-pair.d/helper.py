#!/usr/bin/env python3
"""Helpers of test/bench/amq-pair, one subcommand each.

  stamp FILE        prefix each line of stdin with the wall clock in ms,
                    append to FILE (the producer's acks)
  watch JSON        one kill -9 trial (see watch())
  rss PGID...       VmRSS (kB) summed over the processes of each process
                    group, one number per group ("-" when the group is empty)
  stats             min median p99 max n of the numbers on stdin
"""
import json
import math
import os
import re
import signal
import sys
import time


def proc_stat(pid):
    """(state, pgrp) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[2])


def alive(pid):
    if pid <= 0:
        return False
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def cmd_stamp(path):
    out = open(path, "a", buffering=1)
    for line in iter(sys.stdin.buffer.readline, b""):
        out.write(f"{time.time() * 1000:.1f} {line.decode(errors='replace').strip()}\n")


def cmd_rss(groups):
    want = {int(g): 0 for g in groups}
    seen = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st is None or st[1] not in want or st[0] in ("Z", "X"):
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        want[st[1]] += int(line.split()[1])
                        seen.add(st[1])
                        break
        except OSError:
            pass
    print(" ".join(str(want[int(g)]) if int(g) in seen else "-" for g in groups))


def cmd_stats():
    v = sorted(float(x) for x in sys.stdin.read().split())
    if not v:
        print("- - - - 0")
        return
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p99 = v[max(0, math.ceil(0.99 * n) - 1)]
    print(f"{v[0]:.0f} {med:.0f} {p99:.0f} {v[-1]:.0f} {n}")


# "2024-01-02 03:04:05.678 failover-launcher[12] INFO: ..." (ours), or
# ActiveMQ's log4j line, bare (pair) or as the launcher relays it:
# "broker[34]: 2024-01-02 03:04:05,678 | INFO  | ..."
STAMP = re.compile(r"^(?:broker\[\d+\]: )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[.,](\d{3}) ")


def stamp_s(line):
    m = STAMP.search(line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000


def watch(a):
    """One trial.  a: kill_pid, jvm (the master's broker JVM), timeout_ms,
    gap_ms, acks (timestamped ack file), log (the survivor's log), offset
    (its size before the kill: only what it wrote after is read), marks
    ({name: text}: the first line after the kill containing text, ms since
    the kill from its own timestamp), first_line (also report the first
    timestamped line written after the kill, as "first_line").

    Takes the wall clock, kill -9s kill_pid at once, then polls every ~1 ms
    until the old JVM is gone and an ack ends a gap of >= gap_ms in the ack
    stream (an ack within gap_ms of the one before is the dying broker's:
    a "late ack"), or timeout_ms.  Prints one line of key=value, ms since
    the kill, "-" when not seen."""
    acks_f = open(a["acks"], "rb")
    buf = b""

    def read_acks():
        nonlocal buf
        buf += acks_f.read()
        lines = buf.split(b"\n")
        buf = lines.pop()
        out = []
        for line in lines:
            try:
                out.append(float(line.split()[0]))
            except (ValueError, IndexError):
                pass
        return out

    prev = None
    for ts in read_acks():
        prev = ts
    jvm = int(a["jvm"])
    t_wall = time.time()
    t0 = time.monotonic()
    os.kill(int(a["kill_pid"]), signal.SIGKILL)
    kill_ms = t_wall * 1000
    jvm_dead = resume = None
    late = acks_after = 0
    end = t0 + float(a["timeout_ms"]) / 1000
    while True:
        now = time.monotonic()
        if jvm_dead is None and not alive(jvm):
            jvm_dead = (now - t0) * 1000
        for ts in read_acks():
            if ts > kill_ms:
                acks_after += 1
                if resume is None:
                    if prev is not None and ts - prev < float(a["gap_ms"]):
                        late += 1
                    else:
                        resume = ts - kill_ms
            prev = ts
        if jvm_dead is not None and resume is not None:
            break
        if now >= end:
            break
        time.sleep(0.001)
    # let the survivor's log catch up with the ack it produced
    time.sleep(0.2)
    found = {k: None for k in a["marks"]}
    first = None
    try:
        with open(a["log"], "rb") as f:
            f.seek(int(a["offset"]))
            text = f.read().decode(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        ts = stamp_s(line)
        if ts is None:
            continue
        v = (ts + 0.0005 - t_wall) * 1000
        if first is None and a.get("first_line"):
            first = v
        for k, pat in a["marks"].items():
            if found[k] is None and pat in line:
                found[k] = v
    fmt = lambda v: "-" if v is None else f"{v:.1f}"
    out = [f"kill_wall={t_wall:.3f}", f"jvm_gone_ms={fmt(jvm_dead)}"]
    if a.get("first_line"):
        out.append(f"first_line_ms={fmt(first)}")
    out += [f"{k}_ms={fmt(v)}" for k, v in found.items()]
    out += [f"acked_ms={fmt(resume)}", f"late_acks={late}", f"acks_after={acks_after}"]
    print(" ".join(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stamp" and len(args) == 1:
        cmd_stamp(args[0])
    elif cmd == "watch" and len(args) == 1:
        watch(json.loads(args[0]))
    elif cmd == "rss" and args:
        cmd_rss(args)
    elif cmd == "stats" and not args:
        cmd_stats()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
