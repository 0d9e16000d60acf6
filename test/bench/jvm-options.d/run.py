#!/usr/bin/env python3
"""Runs in the lab's node namespace for test/bench/jvm-options.

run.py LAUNCHER WORK CLIENTS ADDR TRIALS ROUNDS MSGS WARM SET...
Set k's configuration is WORK/set<k>.ini; set 0 is the baseline.
Prints a markdown table; exit 1 when a broker does not start.
"""
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time

LAUNCHER, WORK, CLIENTS, ADDR = sys.argv[1:5]
TRIALS, ROUNDS, MSGS, WARM = (int(a) for a in sys.argv[5:9])
SETS = sys.argv[9:]
START_LIMIT = 120.0


def command(k):
    return subprocess.run([LAUNCHER, "--print-command", "-c", f"{WORK}/set{k}.ini"],
                          capture_output=True, text=True, check=True).stdout.strip()


def start(k):
    """Starts set k's broker; returns (process, seconds to "started")."""
    t0 = time.monotonic()
    p = subprocess.Popen(["/bin/sh", "-c", command(k)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    for line in p.stdout:
        if ") started" in line:
            return p, time.monotonic() - t0
        if time.monotonic() - t0 > START_LIMIT:
            break
    stop(p)
    sys.exit(f"jvm-options: set '{SETS[k]}': no broker started")


def stop(p):
    """SIGTERM to the broker's group (a clean stop writes the archive)."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in p.stdout:
        pass
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def cpu_ticks(pgid):
    t = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        if int(f[2]) == pgid:      # field 5, pgrp
            t += int(f[11]) + int(f[12])  # fields 14, 15: utime, stime
    return t


def client(prog, queue, n, *extra):
    """Runs a JMS client; returns the ids it printed."""
    url = f"failover:(tcp://{ADDR}:61616)?randomize=false"
    r = subprocess.run([f"{CLIENTS}/{prog}", url, queue, str(n), *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return sum(1 for line in r.stdout.splitlines() if line.strip().isdigit())


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def name(k):
    return SETS[k] if SETS[k] else "(none)"


def main():
    # each set's class-data archive: one start and clean stop
    for k in range(len(SETS)):
        if "SharedArchiveFile" not in command(k):
            p, _ = start(k)
            stop(p)
        if "SharedArchiveFile" not in command(k):
            sys.exit(f"jvm-options: set '{SETS[k]}': no class-data archive after a clean stop")
    starts = {k: [] for k in range(len(SETS))}
    for i in range(TRIALS):
        order = list(range(len(SETS)))
        random.Random(i).shuffle(order)
        for k in order:
            p, t = start(k)
            stop(p)
            starts[k].append(t * 1000)
    print("\n| extra JVM options | start min / median / p99 ms |")
    print("|---|---|")
    for k in starts:
        v = starts[k]
        print(f"| {name(k)} | {min(v):.0f} / {statistics.median(v):.0f} / {pct(v, 0.99):.0f} |")
    if ROUNDS == 0:
        return
    data = os.path.join(WORK, "lab", "amq-shared")
    res = {k: {"send": [], "recv": [], "cs": [], "cr": []} for k in range(len(SETS))}
    hz = os.sysconf("SC_CLK_TCK")
    for r in range(ROUNDS):
        order = list(range(len(SETS)))
        random.Random(1000 + r).shuffle(order)
        for k in order:
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(data)
            p, _ = start(k)
            try:
                if WARM:
                    client("producer", "warm", WARM, "0", "600")
                    client("consumer", "warm", WARM, "600")
                c0, t0 = cpu_ticks(p.pid), time.monotonic()
                n = client("producer", "bench", MSGS, "0", "600")
                c1, t1 = cpu_ticks(p.pid), time.monotonic()
                m = client("consumer", "bench", MSGS, "600")
                c2, t2 = cpu_ticks(p.pid), time.monotonic()
            finally:
                stop(p)
            if n != MSGS or m != MSGS:
                sys.exit(f"jvm-options: set '{SETS[k]}': sent {n}, received {m} of {MSGS}")
            x = res[k]
            x["send"].append(n / (t1 - t0))
            x["recv"].append(m / (t2 - t1))
            x["cs"].append((c1 - c0) * 1e6 / hz / n)
            x["cr"].append((c2 - c1) * 1e6 / hz / m)
            print(f"# round {r + 1} {name(k)}: send {n / (t1 - t0):.0f}/s, receive {m / (t2 - t1):.0f}/s", flush=True)
    print(f"\n| extra JVM options | persistent sends/s | receives/s | broker CPU µs per send / receive |")
    print("|---|---|---|---|")
    for k in res:
        x = res[k]
        print(f"| {name(k)} | {statistics.median(x['send']):.0f} | {statistics.median(x['recv']):.0f} "
              f"| {statistics.median(x['cs']):.0f} / {statistics.median(x['cr']):.0f} |")


main()
