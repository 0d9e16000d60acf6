#!/usr/bin/env python3
"""Helpers of test/bench/amq-pair and hung-broker, one subcommand each.

  stamp FILE        prefix each line of stdin with the wall clock in ms,
                    append to FILE (the producer's acks)
  watch JSON        one kill -9 (or SIGSTOP, or host loss) trial (see watch())
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
import subprocess
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


# The broker JVM's main class: the launcher's probe JVM is another java.
BROKER_MAIN = b"org.apache.activemq.console.Main"
# programs (their comm) that may still exec a broker (a fork of the
# launcher, ip netns exec, setsid): never remembered as "no broker"
MAY_EXEC = (b"failover-launch", b"ip", b"setsid")
# a launcher's warm standby (broker.warm_standby) is named so while it
# waits: no broker, but one once told to go (then named java again)
WARM = b"warm-standby"
STARTED = b") started"
RELAYED = re.compile(rb"^broker\[(\d+)\]: ")


def ns_id(path):
    """A network namespace's id as /proc/PID/ns/net names it."""
    return f"net:[{os.stat(path).st_ino}]"


class Tail:
    """The complete lines appended to a file since the last look."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.part = b""

    def lines(self):
        data = self.part + self.f.read()
        out = data.split(b"\n")
        self.part = out.pop()
        return out


class BrokerSampler:
    """The broker JVMs (BROKER_MAIN on their command line) in the lab's node
    namespaces, and which of them serve: alive (not a zombie) and printed
    ActiveMQ's "Apache ActiveMQ ... started" line since their start.  A
    JVM whose stdout is a file of its own (a pair's) printed it there; one
    run by a launcher, in the node's log as "broker[PID]: ... started".
    A broker is a java leading its process group.  A process is classified
    once (a fork of a launcher, or ip/setsid, again until it has exec'd);
    a broker is then watched by pid and start time, also once its launcher
    is gone."""

    def __init__(self, nodes):
        self.nodes = {}  # ns id -> (node number, its log)
        self.logs = {}  # node log -> Tail
        for n, (nsp, log) in enumerate(nodes, 1):
            self.nodes[ns_id(nsp)] = (n, log)
            try:
                self.logs[log] = Tail(log)
            except OSError:
                pass
        self.relayed_started = set()  # pids with a relayed started line
        self.brokers = {}  # pid -> {"node", "start", "own": Tail or None, "started"}
        self.other = set()  # pids that are no broker of ours
        self.episodes = 0
        self.longest = 0.0
        self.first = None  # the first episode: "nN:PID,nM:PID@+MS"
        self.since = None  # the current episode's first sample (monotonic)
        self.samples = 0
        self.last = None
        self.max_gap = 0.0
        self.serving = 0  # serving brokers at the last sample
        # every process there now classified: the samples that count are quick
        self.sample(time.monotonic(), 0)
        self.samples, self.last = 0, None

    @staticmethod
    def starttime(pid):
        """(state, start time) of a java, or None (gone, or it exec'd
        something else)."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                s = f.read()
            comm, rest = s[s.index(b"(") + 1:s.rindex(b")")], s[s.rindex(b")") + 2:].split()
            return (rest[0].decode(), rest[19]) if comm == b"java" else None
        except (OSError, IndexError, ValueError):
            return None

    def classify(self, pid):
        """True (a broker of ours, recorded), False (never one), None
        (ask again: it may still exec).  The command line is read only of
        a java: reading it waits for the process's memory map lock, which
        a JVM starting up holds for long (samples came tens of ms apart)."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                s = f.read()
            comm = s[s.index(b"(") + 1:s.rindex(b")")]
            rest = s[s.rindex(b")") + 2:].split()
        except (OSError, ValueError):
            return False
        if rest[0] in (b"Z", b"X") or rest[1] == b"2" or pid == 2:
            return False  # a zombie, a kernel thread: for good
        if comm != b"java":
            # a fork of a launcher (comm cut to 15 bytes), ip netns exec
            # or setsid may still exec a broker; a warm standby may
            # become one
            return None if comm in MAY_EXEC or comm == WARM else False
        if int(rest[2]) != pid:
            # a broker leads its process group (the launcher's setsid, or
            # the pair's); a JVM's own fork (before it execs) does not
            return False
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            return False
        if not cmd:
            # in the middle of its exec: the kernel names it before it
            # points its command line at the new arguments
            return None
        if BROKER_MAIN not in cmd:
            return False
        try:
            ns = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            return False
        if ns not in self.nodes:
            return False  # another lab's, or the host's
        st = self.starttime(pid)
        if st is None:
            return False
        node, log = self.nodes[ns]
        own = None
        try:
            out = os.readlink(f"/proc/{pid}/fd/1")
            if out.startswith("/") and out != log and os.path.isfile(out):
                own = Tail(out)
        except OSError:
            pass
        self.brokers[pid] = {"node": node, "start": st[1], "own": own, "started": False}
        return True

    def sample(self, now, t0):
        """One look; now and t0 monotonic seconds (t0: the fault)."""
        self.samples += 1
        if self.last is not None:
            self.max_gap = max(self.max_gap, (now - self.last) * 1000)
        self.last = now
        pids = {int(d) for d in os.listdir("/proc") if d.isdigit()}
        self.other &= pids
        for pid in pids:
            if pid not in self.other and pid not in self.brokers:
                if self.classify(pid) is False:
                    self.other.add(pid)
        for t in self.logs.values():
            for line in t.lines():
                if STARTED in line:
                    m = RELAYED.match(line)
                    if m:
                        self.relayed_started.add(int(m.group(1)))
        serving = []
        for pid, b in list(self.brokers.items()):
            st = self.starttime(pid)
            if st is None or st[0] in ("Z", "X") or st[1] != b["start"]:
                del self.brokers[pid]  # gone: it cannot come back
                continue
            if not b["started"]:
                if b["own"] is not None:
                    b["started"] = any(STARTED in line for line in b["own"].lines())
                else:
                    b["started"] = pid in self.relayed_started
            if b["started"]:
                serving.append(f"n{b['node']}:{pid}")
        self.serving = len(serving)
        if len(serving) >= 2:
            if self.since is None:
                self.since = now
                self.episodes += 1
                if self.first is None:
                    self.first = ",".join(sorted(serving)) + f"@{(now - t0) * 1000:+.0f}"
        elif self.since is not None:
            self.end(now)

    def end(self, now):
        """Closes an episode: from its first sample to the first that saw
        fewer than two (an upper bound of its length)."""
        if self.since is not None:
            self.longest = max(self.longest, (now - self.since) * 1000)
            self.since = None


def ns_kill_all(ns, fds, tick, limit_s=2.0):
    """SIGKILL every process of network namespace ns (an id): first the
    pidfds opened before, then whatever else is (still) there, until none
    lives; tick() between the looks.  Returns (processes signalled, ms
    until none lived or -1)."""
    t0 = time.monotonic()
    n = 0
    for fd in fds:
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            n += 1
        except OSError:
            pass
    while time.monotonic() - t0 < limit_s:
        left = [p for p in ns_pids(ns) if alive(p)]
        if not left:
            return n, (time.monotonic() - t0) * 1000
        for p in left:
            try:
                fd = os.pidfd_open(p)
            except OSError:
                continue
            try:
                if os.readlink(f"/proc/{p}/ns/net") == ns:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    n += 1
            except OSError:
                pass
            finally:
                os.close(fd)
        tick()
        time.sleep(0.001)
    return n, -1


def ns_pids(ns):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/ns/net") == ns:
                    out.append(int(d))
            except OSError:
                pass
    return out


def ns_pidfds(ns):
    """pidfds of the processes now in namespace ns (each checked after its
    pidfd is open: it names that process and no later one)."""
    fds = []
    for p in ns_pids(ns):
        try:
            fd = os.pidfd_open(p)
        except OSError:
            continue
        try:
            ok = os.readlink(f"/proc/{p}/ns/net") == ns
        except OSError:
            ok = False
        if ok:
            fds.append(fd)
        else:
            os.close(fd)
    return fds


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
    JVM continued by the launcher to be stopped answers once more),
    host ({"sw": switch namespace, "port": the node's port there, "ns":
    the node's namespace path}: instead of a signal to kill_pid, the
    node's link is cut (its switch port down) and only then every process
    of its namespace is SIGKILLed; the wall clock is taken right before
    the cut), brokers ({"nodes": [[namespace path, node log], ...],
    "period_ms": 3, "after_ms": 1000}: the two-broker check, see
    BrokerSampler, sampled from 20 ms before the fault until after_ms
    after the producer is acknowledged again).

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
    host = a.get("host")
    br = a.get("brokers")
    sampler = period = None
    rt = 0
    if br:
        # the JVMs starting meanwhile take both CPUs: without a real-time
        # priority (FIFO 1; it sleeps ~1 ms in every loop) samples can be
        # tens of ms apart
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(1))
            rt = 1
        except (OSError, AttributeError):
            pass
        sampler = BrokerSampler(br["nodes"])
        period = float(br.get("period_ms", 3)) / 1000
        pre = time.monotonic()
        while True:  # serving brokers before the fault
            now = time.monotonic()
            sampler.sample(now, now)
            if now - pre >= 0.02:
                break
            time.sleep(period)
        before = sampler.serving
    if host:
        ns = ns_id(host["ns"])
        fds = ns_pidfds(ns)
        cut = ["ip", "-n", host["sw"], "link", "set", host["port"], "down"]
    t_wall = time.time()
    t0 = time.monotonic()
    next_sample = t0

    def tick():
        nonlocal next_sample
        now = time.monotonic()
        if sampler is not None and now >= next_sample:
            sampler.sample(now, t0)
            next_sample = max(next_sample + period, now)

    if host:
        ip = subprocess.Popen(cut, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        while ip.poll() is None:
            tick()
            time.sleep(0.0005)
        cut_ms = (time.monotonic() - t0) * 1000
        if ip.returncode != 0:
            sys.exit(f"watch: {' '.join(cut)} failed (exit {ip.returncode}): nothing killed")
        killed, clear_ms = ns_kill_all(ns, fds, tick)
        for fd in fds:
            os.close(fd)
    else:
        os.kill(int(a["kill_pid"]), signal.SIGSTOP if a.get("signal") == "STOP" else signal.SIGKILL)
    kill_ms = t_wall * 1000
    jvm_dead = resume = None
    late = acks_after = thaw = 0
    after_jvm = bool(a.get("after_jvm"))
    end = t0 + float(a["timeout_ms"]) / 1000
    while True:
        tick()
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
    if sampler is not None:
        # until after_ms past the ack (or the timeout): the old broker
        # might still come back, or the new one be joined by another
        stop = (t0 + resume / 1000 if resume is not None else now) + float(br.get("after_ms", 1000)) / 1000
        while True:
            now = time.monotonic()
            sampler.sample(now, t0)
            if now >= stop:
                break
            time.sleep(max(0.0, min(period, stop - now)))
        sampler.end(now)
    else:
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
    if host:
        out += [f"cut_ms={cut_ms:.1f}", f"ns_killed={killed}", f"ns_clear_ms={fmt(clear_ms if clear_ms >= 0 else None)}"]
    if sampler is not None:
        out += [f"two_brokers={sampler.episodes}", f"two_brokers_ms={sampler.longest:.1f}",
                f"two_brokers_first={sampler.first or '-'}", f"samples={sampler.samples}",
                f"sample_gap_ms={sampler.max_gap:.1f}", f"rt={rt}",
                f"serving_before={before}", f"serving_after={sampler.serving}",
                "brokers_after=" + (",".join(f"n{b['node']}:{p}{'+' if b['started'] else '-'}"
                                             for p, b in sorted(sampler.brokers.items())) or "-")]
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
