#!/usr/bin/env python3
"""Helpers of test/bench/amq-pair and hung-broker, one subcommand each.

  stamp FILE        prefix each line of stdin with the wall clock in ms,
                    append to FILE (the producer's acks)
  watch JSON        one kill -9 (or SIGSTOP) trial (see watch())
  rss PGID...       VmRSS (kB) summed over the processes of each process
                    group, one number per group ("-" when the group is empty)
  cpu PGID          utime+stime (ms, all threads) summed over the live
                    processes of the group ("-" when it is empty)
  child PPID TEXT   "PID PGID" of PPID's descendant (up to 4 levels: the
                    launcher runs a probe through sh -c) whose command line
                    contains TEXT (nothing when there is none)
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


def group_pids(pgid):
    """The live processes of a process group."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None and st[1] == pgid and st[0] not in ("Z", "X"):
                out.append(int(d))
    return out


def cmd_cpu(pgid):
    tick = os.sysconf("SC_CLK_TCK")
    total, seen = 0, False
    for p in group_pids(int(pgid)):
        try:
            with open(f"/proc/{p}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields 14 and 15 (utime, stime) are rest[11], rest[12]
        total += int(rest[11]) + int(rest[12])
        seen = True
    print(f"{total * 1000 / tick:.0f}" if seen else "-")


def cmd_child(ppid, text):
    """A descendant (a child, or the child of a "sh -c" child, ...) of ppid."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if rest[0] not in ("Z", "X"):
            procs[int(d)] = (int(rest[1]), rest[2], cmd)
    for pid, (parent, pg, cmd) in procs.items():
        if text not in cmd:
            continue
        for _ in range(4):
            if parent == int(ppid):
                print(pid, pg)
                return
            if parent not in procs:
                break
            parent = procs[parent][0]


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
    timestamped line written after the kill, as "first_line").  Optional:
    signal ("KILL", the default, or "STOP": freeze kill_pid instead), logs
    ([[path, offset], ...] instead of log and offset: a mark is its
    earliest line in any of them; first_line reads the first only),
    after_jvm (acked again is the first ack after the old JVM is gone:
    acks before are the old broker's, counted as thaw_acks, e.g. a frozen
    JVM continued by the launcher to be stopped answers once more).

    Takes the wall clock, kill -9s (or stops) kill_pid at once, then polls every ~1 ms
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
    os.kill(int(a["kill_pid"]), signal.SIGSTOP if a.get("signal") == "STOP" else signal.SIGKILL)
    kill_ms = t_wall * 1000
    jvm_dead = resume = None
    late = acks_after = thaw = 0
    after_jvm = bool(a.get("after_jvm"))
    end = t0 + float(a["timeout_ms"]) / 1000
    while True:
        now = time.monotonic()
        if jvm_dead is None and not alive(jvm):
            jvm_dead = (now - t0) * 1000
        for ts in read_acks():
            if ts > kill_ms:
                acks_after += 1
                if after_jvm and jvm_dead is None:
                    thaw += 1  # the old broker's, continued to be stopped
                elif after_jvm and resume is None:
                    resume = ts - kill_ms
                elif resume is None:
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
    for n, (path, offset) in enumerate(a.get("logs") or [[a["log"], a["offset"]]]):
        try:
            with open(path, "rb") as f:
                f.seek(int(offset))
                text = f.read().decode(errors="replace")
        except OSError:
            text = ""
        here = {}
        for line in text.splitlines():
            ts = stamp_s(line)
            if ts is None:
                continue
            v = (ts + 0.0005 - t_wall) * 1000
            if first is None and n == 0 and a.get("first_line"):
                first = v
            for k, pat in a["marks"].items():
                if k not in here and pat in line:
                    here[k] = v
        for k, v in here.items():
            if found[k] is None or v < found[k]:
                found[k] = v
    fmt = lambda v: "-" if v is None else f"{v:.1f}"
    out = [f"kill_wall={t_wall:.3f}", f"jvm_gone_ms={fmt(jvm_dead)}"]
    if a.get("first_line"):
        out.append(f"first_line_ms={fmt(first)}")
    out += [f"{k}_ms={fmt(v)}" for k, v in found.items()]
    out += [f"acked_ms={fmt(resume)}", f"late_acks={late}", f"acks_after={acks_after}"]
    if after_jvm:
        out.append(f"thaw_acks={thaw}")
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
    elif cmd == "cpu" and len(args) == 1:
        cmd_cpu(args[0])
    elif cmd == "child" and len(args) == 2:
        cmd_child(*args)
    elif cmd == "stats" and not args:
        cmd_stats()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
