#!/usr/bin/env python3
"""Role sampler for the namespace lab.

Every PERIOD seconds it reads the lab's groups file (one connected set of
node numbers per line) and each node's status file, and records every moment
at which a connected set holds more than one master.  It stops by itself
after MAX seconds or when the stop file appears, and then writes a summary:

    samples=N violations=V longest_ms=L two_brokers_longest_ms=B

B is the longest time two broker processes were alive at once on any
nodes (read from each status file's broker_pid); it is reported, not
judged: a frozen launcher cannot stop its broker.

Usage: sampler.py LABDIR PERIOD MAX
"""
import os
import sys
import time


def role_of(labdir, n):
    try:
        with open(os.path.join(labdir, f"n{n}", "state", "status")) as f:
            for line in f:
                if line.startswith("role="):
                    return line.strip()[5:]
    except OSError:
        pass
    return "none"


def broker_alive(labdir, n):
    """The node's fake broker (or JVM: broker_pid of its status) runs."""
    try:
        with open(os.path.join(labdir, f"n{n}", "state", "status")) as f:
            pid = [l.strip()[11:] for l in f if l.startswith("broker_pid=")][0]
        if pid == "0":
            return False
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main():
    labdir, period, limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    groups_file = os.path.join(labdir, "groups")
    stop_file = os.path.join(labdir, "sampler.stop")
    log = open(os.path.join(labdir, "sampler.violations"), "w", buffering=1)
    start = time.monotonic()
    samples = violations = 0
    longest = 0.0
    overlap_since = None
    brokers_since = None
    brokers_longest = 0.0
    nodes = sorted({int(d[1:]) for d in os.listdir(labdir) if d.startswith("n") and d[1:].isdigit()})
    while time.monotonic() - start < limit and not os.path.exists(stop_file):
        try:
            with open(groups_file) as f:
                groups = [line.split() for line in f if line.strip()]
        except OSError:
            groups = []
        now = time.monotonic()
        bad = []
        for g in groups:
            masters = [n for n in g if role_of(labdir, n) == "master"]
            if len(masters) > 1:
                bad.append(masters)
        samples += 1
        if bad:
            violations += 1
            if overlap_since is None:
                overlap_since = now
            longest = max(longest, now - overlap_since)
            log.write(f"{now - start:.3f}s two masters in one connected set: {bad}\n")
        else:
            overlap_since = None
        # two broker processes alive anywhere (a frozen master's JVM runs on)
        if sum(broker_alive(labdir, n) for n in nodes) > 1:
            if brokers_since is None:
                brokers_since = now
            brokers_longest = max(brokers_longest, now - brokers_since)
        else:
            brokers_since = None
        time.sleep(period)
    with open(os.path.join(labdir, "sampler.summary"), "w") as f:
        f.write(f"samples={samples} violations={violations} longest_ms={longest * 1000:.0f} "
                f"two_brokers_longest_ms={brokers_longest * 1000:.0f}\n")


if __name__ == "__main__":
    main()
