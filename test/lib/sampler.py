#!/usr/bin/env python3
"""Role sampler for the namespace lab.

Every PERIOD seconds it reads the lab's groups file (one connected set of
node numbers per line) and each node's status file, and records every moment
at which a connected set holds more than one master.  It stops by itself
after MAX seconds or when the stop file appears.

A status file is believed only while the launcher that wrote it runs: its
pid= line names a live process (not a zombie) whose command is the
launcher.  A launcher killed with SIGKILL leaves a file that says master
until its successor writes one; that is no master, and such a sample is
counted as stale_ignored instead.  The command check matters because pids
are reused quickly here (pid_max can be 32768).  A file without a pid= line
is believed.

Files are read one after another, and a busy machine can pause the sampler
between two reads long enough for a whole handover: n1 read as master, then
n1 resigns and n2 promotes, then n2 read as master.  So two masters are
confirmed by a second read of both: each still master with the same pid and
term (terms only grow, so that node was master all along) proves that both
were master at the moment of the first read of the later one.

Files it writes in LABDIR:
    sampler.masters     one line when a node is first seen master with a
                        given pid and term, and one when that ends
    sampler.violations  one line per sample with two masters in one
                        connected set: node, pid, term of each
    sampler.first-violation/nI.status
                        every status file as read at the first violation
    sampler.summary     samples=N violations=V longest_ms=L
                        two_brokers_longest_ms=B stale_ignored=S masters_seen=M
                        (written after the first sample, so that a test can
                        wait for the sampler to run, rewritten every
                        SUMMARY_EVERY samples, and at the end)

B is the longest time two broker processes were alive at once on any
nodes (read from each status file's broker_pid); it is reported, not
judged: a frozen launcher cannot stop its broker.

Usage: sampler.py LABDIR PERIOD MAX
"""
import os
import sys
import time

# the kernel keeps 15 characters of a command name
LAUNCHER_COMM = "failover-launcher"[:15]
SUMMARY_EVERY = 10


def read_status(labdir, n):
    """The node's status file as (dict, raw text); ({}, "") when absent."""
    try:
        with open(os.path.join(labdir, f"n{n}", "state", "status")) as f:
            raw = f.read()
    except OSError:
        return {}, ""
    st = {}
    for line in raw.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            st[key] = value
    return st, raw


def proc_state(pid):
    """(state letter, command name) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            stat = f.read()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 1:].split()
    if not fields:  # read while the process exited
        return None
    return fields[0], stat[stat.find("(") + 1:stat.rfind(")")]


def writer_runs(st):
    """The launcher that wrote this status still runs."""
    if "pid" not in st:
        return True
    ps = proc_state(st["pid"])
    return ps is not None and ps[0] != "Z" and ps[1] == LAUNCHER_COMM


def broker_alive(st):
    """The node's fake broker (or JVM: broker_pid of its status) runs."""
    pid = st.get("broker_pid", "0")
    if pid == "0":
        return False
    ps = proc_state(pid)
    return ps is not None and ps[0] != "Z"


def still_master(labdir, n, pid_term):
    """A second read: node n is master with the same pid and term."""
    st, _ = read_status(labdir, n)
    return (st.get("role") == "master" and writer_runs(st)
            and (st.get("pid", "?"), st.get("term", "?")) == pid_term)


def write_summary(labdir, text):
    path = os.path.join(labdir, "sampler.summary")
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def main():
    labdir, period, limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    groups_file = os.path.join(labdir, "groups")
    stop_file = os.path.join(labdir, "sampler.stop")
    violations_log = open(os.path.join(labdir, "sampler.violations"), "w", buffering=1)
    masters_log = open(os.path.join(labdir, "sampler.masters"), "w", buffering=1)
    start = time.monotonic()
    samples = violations = stale = 0
    longest = 0.0
    overlap_since = None
    brokers_since = None
    brokers_longest = 0.0
    current = {}      # node -> (pid, term) while it is a believed master
    seen = set()      # every (node, pid, term) ever seen master

    def summary():
        return (f"samples={samples} violations={violations} longest_ms={longest * 1000:.0f} "
                f"two_brokers_longest_ms={brokers_longest * 1000:.0f} stale_ignored={stale} "
                f"masters_seen={len(seen)}\n")

    nodes = sorted({int(d[1:]) for d in os.listdir(labdir) if d.startswith("n") and d[1:].isdigit()})
    while time.monotonic() - start < limit and not os.path.exists(stop_file):
        try:
            with open(groups_file) as f:
                groups = [[int(n) for n in line.split()] for line in f if line.strip()]
        except (OSError, ValueError):
            groups = []
        now = time.monotonic()
        t = f"{now - start:.3f}s"
        status = {n: read_status(labdir, n) for n in nodes}
        masters = {}
        stale_here = False
        for n, (st, _) in status.items():
            if st.get("role") != "master":
                continue
            if writer_runs(st):
                masters[n] = (st.get("pid", "?"), st.get("term", "?"))
            else:
                stale_here = True
        stale += stale_here
        for n, (pid, term) in masters.items():
            if current.get(n) != (pid, term):
                if n in current:
                    masters_log.write(f"{t} n{n} pid {current[n][0]} term {current[n][1]}: master ended\n")
                masters_log.write(f"{t} n{n} pid {pid} term {term}: master\n")
                seen.add((n, pid, term))
                current[n] = (pid, term)
        for n in [n for n in current if n not in masters]:
            st = status[n][0]
            why = f"role {st.get('role', 'none')}" if writer_runs(st) else f"pid {st.get('pid')} is gone"
            masters_log.write(f"{t} n{n} pid {current[n][0]} term {current[n][1]}: master ended ({why})\n")
            del current[n]
        bad = []
        for g in groups:
            both = [n for n in g if n in masters]
            if len(both) > 1:
                both = [n for n in both if still_master(labdir, n, masters[n])]
            if len(both) > 1:
                bad.append(", ".join(f"n{n} (pid {masters[n][0]}, term {masters[n][1]})" for n in both))
        samples += 1
        if bad:
            if violations == 0:
                snap = os.path.join(labdir, "sampler.first-violation")
                os.makedirs(snap, exist_ok=True)
                for n, (_, raw) in status.items():
                    with open(os.path.join(snap, f"n{n}.status"), "w") as f:
                        f.write(raw)
            violations += 1
            if overlap_since is None:
                overlap_since = now
            longest = max(longest, now - overlap_since)
            violations_log.write(f"{t} two masters in one connected set: {'; '.join(bad)}\n")
        else:
            overlap_since = None
        # two broker processes alive anywhere (a frozen master's JVM runs on)
        if sum(broker_alive(st) for st, _ in status.values()) > 1:
            if brokers_since is None:
                brokers_since = now
            brokers_longest = max(brokers_longest, now - brokers_since)
        else:
            brokers_since = None
        if samples == 1 or samples % SUMMARY_EVERY == 0:
            write_summary(labdir, summary())
        time.sleep(period)
    write_summary(labdir, summary())


if __name__ == "__main__":
    main()
