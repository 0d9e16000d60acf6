#!/usr/bin/env python3
"""Helpers of test/bench/compare (and test/bench/scale), one subcommand each.

  reaper CMD ARGS...   run CMD as a child subreaper: orphans it leaves (fake
                       brokers started by keepalived's and ucarp's scripts,
                       whose parent script has exited) are reaped here
                       instead of turning into zombies under a PID 1 that
                       does not reap; exits with CMD's status
  trial JSON           one kill -9 / SIGTERM trial (see trial())
  idle JSON            RSS and CPU of each node's daemon over a window
  orphans DIR...       SIGKILL every fake broker still alive that was
                       started with FAKE_DIR=DIR/broker; prints the count
  stats                min median p99 max of the numbers on stdin
  calib FAKE_BROKER DIR  exec -> "start" event of the fake broker, ms

Brokers are known from their events files ("<ms> <pid> start ..."), checked
against /proc (state not Z, same start time, a fake-broker command line).
"""
import json
import math
import os
import signal
import subprocess
import sys
import time


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, pgrp, utime+stime ticks, starttime) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3]
    return rest[0], int(rest[2]), int(rest[11]) + int(rest[12]), int(rest[19])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def is_fake_broker(pid, fake_dir=None):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"fake-broker" not in f.read():
                return False
        if fake_dir is None:
            return True
        with open(f"/proc/{pid}/environ", "rb") as f:
            return ("FAKE_DIR=" + fake_dir).encode() in f.read().split(b"\0")
    except OSError:
        return False


def exec_ms(pid):
    """Precise on-CPU time of every thread of PID, ms (sched's sum_exec_runtime)."""
    total = 0.0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/sched") as f:
                for line in f:
                    if line.startswith("se.sum_exec_runtime"):
                        total += float(line.split(":")[1])
                        break
        except OSError:
            pass
    return total


def mem_kb(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def group_members(pgids):
    """{pgid: [pid, ...]} of every live process in those process groups."""
    out = {g: [] for g in pgids}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if st and st[1] in out and st[0] not in ("Z", "X"):
            out[st[1]].append(int(d))
    return out


# ---------------------------------------------------------------- a node

class Node:
    """One lab node: its daemon (pid = pgid), role file, fake broker events."""

    def __init__(self, d):
        self.name = d["name"]
        self.pid = int(d["pid"])
        self.rolefile = d["rolefile"]
        self.fake_dir = d["brokerdir"]
        self.events = os.path.join(self.fake_dir, "events")
        self.off = 0
        self.buf = ""
        self.starts = []  # (ms, pid) in file order
        self.exited = set()
        self.stime = {}  # pid -> /proc start time seen first
        self.read_events()

    def read_events(self):
        try:
            with open(self.events) as f:
                f.seek(self.off)
                data = f.read()
                self.off = f.tell()
        except OSError:
            return
        self.buf += data
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            p = line.split()
            if len(p) < 3:
                continue
            if p[2] == "start":
                self.starts.append((int(p[0]), int(p[1])))
            elif p[2] == "exit":
                self.exited.add(int(p[1]))

    def brokers(self):
        """Pids of this node's fake brokers that run now."""
        out = []
        for _, pid in self.starts:
            if pid in self.exited:
                continue
            st = proc_stat(pid)
            if st is None or st[0] in ("Z", "X"):
                self.exited.add(pid)
                continue
            if pid not in self.stime:
                # first sight: is it really this node's fake broker (not a
                # reused pid)?
                if not is_fake_broker(pid, self.fake_dir):
                    self.exited.add(pid)
                    continue
                self.stime[pid] = st[3]
            elif self.stime[pid] != st[3]:
                self.exited.add(pid)  # pid reused
                continue
            out.append(pid)
        return out

    def role(self):
        try:
            with open(self.rolefile) as f:
                for line in f:
                    if line.startswith("role="):
                        return line[5:].strip()
        except OSError:
            pass
        return "none"

    def daemon_alive(self):
        return alive(self.pid)


BACKUP_ROLES = ("slave", "backup")


def snapshot(nodes):
    """(live masters, alive brokers by node, roles)."""
    for n in nodes:
        n.read_events()
    roles = {n.name: (n.role() if n.daemon_alive() else "dead") for n in nodes}
    masters = [n.name for n in nodes if roles[n.name] == "master"]
    brokers = {n.name: n.brokers() for n in nodes}
    return masters, brokers, roles


def stable(nodes):
    masters, brokers, roles = snapshot(nodes)
    if len(masters) != 1 or sum(len(b) for b in brokers.values()) != 1 or len(brokers[masters[0]]) != 1:
        return None
    if any(roles[n.name] not in BACKUP_ROLES for n in nodes if n.name != masters[0]):
        return None
    return masters[0]


def trial(cfg):
    """Waits for one master serving and the others backups, lets the lab
    settle (sampling for two masters), kills (SIGKILL to the master daemon's
    process group) or stops (SIGTERM to its main pid) the master, and polls
    every ~1 ms until a survivor's fake broker writes a new "start" event,
    then observes for observe_ms more.  Prints one line of key=value."""
    nodes = [Node(d) for d in cfg["nodes"]]
    kind = cfg["kind"]
    res = {"result": "ok"}
    deadline = time.monotonic() + cfg["stable_timeout_ms"] / 1000
    m = None
    while time.monotonic() < deadline:
        m = stable(nodes)
        if m:
            break
        time.sleep(0.005)
    if not m:
        _, brokers, roles = snapshot(nodes)
        res["result"] = "unstable"
        res["roles"] = ",".join(f"{k}:{v}:{len(brokers[k])}" for k, v in roles.items())
        return res
    if kind == "wait":
        res["master"] = m
        return res
    # settle, sampling every 5 ms
    pre_dual = 0
    end = time.monotonic() + (cfg["settle_ms"] + cfg["phase_ms"]) / 1000
    while time.monotonic() < end:
        masters, brokers, _ = snapshot(nodes)
        if len(masters) > 1 or sum(len(b) for b in brokers.values()) > 1:
            pre_dual += 1
        time.sleep(0.005)
    m = stable(nodes)
    res["pre_dual_samples"] = pre_dual
    if not m:
        res["result"] = "unsettled"
        return res
    victim = next(n for n in nodes if n.name == m)
    old_brokers = set(victim.brokers())
    mark = {n.name: len(n.starts) for n in nodes}
    res["master"] = m
    t0 = time.time()
    if kind == "kill":
        os.killpg(victim.pid, signal.SIGKILL)
    else:
        os.kill(victim.pid, signal.SIGTERM)
    t0m = time.monotonic()
    t0_ms = t0 * 1000
    first = None  # (node, event ms rel, seen ms rel)
    dual_m = dual_b = 0
    since = None
    longest_b = 0.0
    orphan = 0
    old_gone_ms = None
    end = t0m + cfg["timeout_ms"] / 1000
    samples = 0
    while True:
        now = time.monotonic()
        masters, brokers, roles = snapshot(nodes)
        samples += 1
        if first is None:
            for n in nodes:
                if n is victim:
                    continue
                new = n.starts[mark[n.name]:]
                if new:
                    first = (n.name, new[0][0] + 0.5 - t0_ms, (now - t0m) * 1000)
                    end = min(end, now + cfg["observe_ms"] / 1000)
                    if set(brokers[victim.name]) & old_brokers:
                        orphan = 1
                    break
        if len(masters) > 1:
            dual_m += 1
        nb = sum(len(b) for b in brokers.values())
        if nb > 1:
            dual_b += 1
            since = now if since is None else since
            longest_b = max(longest_b, (now - since) * 1000)
        else:
            since = None
        if old_gone_ms is None and not (set(brokers[victim.name]) & old_brokers):
            old_gone_ms = (now - t0m) * 1000
        if now >= end:
            break
        time.sleep(0.001)
    if first is None:
        res["result"] = "notakeover"
    else:
        res["new"], res["start_ms"], res["seen_ms"] = first[0], f"{first[1]:.1f}", f"{first[2]:.1f}"
    # the old broker's own exit event, when it wrote one (SIGTERM)
    victim.read_events()
    old_exit = None
    try:
        with open(victim.events) as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and p[2] == "exit" and int(p[1]) in old_brokers:
                    old_exit = int(p[0]) + 0.5 - t0_ms
    except OSError:
        pass
    res["old_exit_ms"] = "-" if old_exit is None else f"{old_exit:.1f}"
    res["old_gone_ms"] = "-" if old_gone_ms is None else f"{old_gone_ms:.1f}"
    res["orphan"] = orphan
    res["old_alive_at_end"] = int(bool(set(victim.brokers()) & old_brokers))
    res["dual_master_samples"] = dual_m
    res["dual_broker_samples"] = dual_b
    res["dual_broker_ms"] = f"{longest_b:.1f}"
    res["samples"] = samples
    res["kill_wall"] = f"{t0:.6f}"
    return res


def idle(cfg):
    """RSS/PSS at the end and CPU over the window of every process in each
    node's daemon process group; roles sampled every 20 ms on the way."""
    nodes = [Node(d) for d in cfg["nodes"]]
    window = cfg["seconds"]
    pg = [n.pid for n in nodes]
    m0 = group_members(pg)
    t_start = time.monotonic()
    c0 = {p: (proc_stat(p), exec_ms(p)) for g in m0.values() for p in g}
    changes = dual = samples = 0
    last = None
    seen = []
    while time.monotonic() - t_start < window:
        masters, brokers, roles = snapshot(nodes)
        samples += 1
        if len(masters) > 1 or sum(len(b) for b in brokers.values()) > 1:
            dual += 1
        if last is not None and roles != last:
            changes += 1
            if len(seen) < 5:
                seen.append(f"{time.monotonic() - t_start:.2f}s:" + ",".join(f"{k}:{v}" for k, v in roles.items()))
        last = roles
        time.sleep(0.02)
    m1 = group_members(pg)
    elapsed = time.monotonic() - t_start
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    out = []
    for n in nodes:
        procs = m1[n.pid]
        rss = pss = 0
        ticks = 0
        ex = 0.0
        for p in procs:
            r, s = mem_kb(p)
            rss += r
            pss += s
            st, e = proc_stat(p), exec_ms(p)
            if p in c0 and st and c0[p][0]:
                ticks += st[2] - c0[p][0][2]
                ex += (e or 0) - (c0[p][1] or 0)
            elif st:  # appeared during the window: all of its time counts
                ticks += st[2]
                ex += e or 0
        out.append(f"node={n.name} role={last[n.name] if last else '?'} procs={len(procs)} "
                   f"procs_start={len(m0[n.pid])} rss_kb={rss} pss_kb={pss} cpu_tick_ms={ticks * tick_ms:.0f} "
                   f"cpu_exec_ms={ex:.1f} window_s={elapsed:.2f}")
    out.append(f"summary role_changes={changes} dual_samples={dual} samples={samples} changes={';'.join(seen) or '-'}")
    return out


def orphans(dirs):
    n = 0
    for d in dirs:
        node = Node({"name": "x", "pid": 0, "rolefile": "", "brokerdir": os.path.join(d, "broker")})
        for pid in node.brokers():
            if is_fake_broker(pid, node.fake_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                    n += 1
                except OSError:
                    pass
    return n


def stats(values):
    v = sorted(values)
    if not v:
        return "- - - -"
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    p99 = v[max(0, math.ceil(0.99 * n) - 1)]
    fmt = lambda x: f"{x:.0f}" if x >= 10 else f"{x:.1f}"
    return f"{fmt(v[0])} {fmt(med)} {fmt(p99)} {fmt(v[-1])}"


def calib(fake, d):
    """exec of the fake broker -> its "start" event (ms), 7 runs: median."""
    out = []
    for i in range(7):
        fd = os.path.join(d, f"calib{i}")
        os.makedirs(fd, exist_ok=True)
        env = dict(os.environ, FAKE_DIR=fd)
        t0 = time.time() * 1000
        p = subprocess.Popen([fake], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ev = os.path.join(fd, "events")
        limit = time.monotonic() + 10
        while time.monotonic() < limit and not os.path.exists(ev):
            time.sleep(0.001)
        p.kill()
        p.wait()
        try:
            with open(ev) as f:
                out.append(int(f.readline().split()[0]) + 0.5 - t0)
        except (OSError, ValueError, IndexError):
            pass
    return stats(out)


def parse(path):
    try:
        with open(path) as f:
            return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv) for line in f if line.strip()]
    except OSError:
        return []


def num(r, k):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return None


def table(cfg):
    """The markdown tables from WORK/cells/DAEMON-INTERVAL/{kill,term,idle}."""
    out = ["### Failover: master stopped -> fake broker started on a backup (ms)", "",
           "| daemon | interval | kill -9: ok/trials | min | median | p99 | max "
           "| SIGTERM: ok/trials | min | median | p99 | max "
           "| 2 masters (kill / term) | 2 brokers (kill / term) | orphan broker after kill -9 |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    idle_rows = []
    for d in cfg["daemons"]:
        name = d
        if d == "launcher":
            name = "failover-launcher (health on)" if cfg.get("health") else "failover-launcher"
        for iv in cfg["intervals"]:
            if d == "ucarp" and iv % 1000:
                out.append(f"| {name} | {iv} ms | n/a: --advbase is whole seconds | | | | | n/a | | | | | n/a | n/a | n/a |")
                idle_rows.append(f"| {name} | {iv} ms | n/a | | | | | | |")
                continue
            cell = os.path.join(cfg["work"], "cells", f"{d}-{iv}")
            row = [name, f"{iv} ms"]
            dual_m, dual_b, longest = [], [], []
            kill = parse(os.path.join(cell, "kill"))
            for kind in ("kill", "term"):
                rs = parse(os.path.join(cell, kind))
                ok = [r for r in rs if r.get("result") == "ok"]
                row.append(f"{len(ok)}/{len(rs)}")
                row += stats([num(r, "start_ms") for r in ok if num(r, "start_ms") is not None]).split()
                dual_m.append(sum(1 for r in rs if (num(r, "dual_master_samples") or 0) + (num(r, "pre_dual_samples") or 0) > 0))
                dual_b.append(sum(1 for r in rs if (num(r, "dual_broker_samples") or 0) > 0))
                longest.append(max([num(r, "dual_broker_ms") or 0 for r in rs] or [0]))
            row.append(f"{dual_m[0]} / {dual_m[1]}")
            b = f"{dual_b[0]} / {dual_b[1]}"
            if any(longest):
                b += f" (longest {longest[0]:.0f} / {longest[1]:.0f} ms)"
            row.append(b)
            row.append(f"{sum(1 for r in kill if num(r, 'orphan'))}/{len(kill)}")
            out.append("| " + " | ".join(row) + " |")
            # idle
            lines = parse(os.path.join(cell, "idle"))
            nodes = [r for r in lines if "node" in r]
            summ = [r for r in lines if "role_changes" in r]
            m = [r for r in nodes if r.get("role") == "master"]
            bk = [r for r in nodes if r.get("role") != "master"]
            if not nodes:
                idle_rows.append(f"| {name} | {iv} ms | - | | | | | | |")
                continue
            if len(m) != 1:
                idle_rows.append(f"| {name} | {iv} ms | roles at the end: {' '.join(r['role'] for r in nodes)} | | | | | | |")
                continue
            m = m[0]
            per = lambda r, k: num(r, k) * 60 / num(r, "window_s")
            avg = lambda rs, f: sum(f(r) for r in rs) / len(rs) if rs else float("nan")
            idle_rows.append(
                f"| {name} | {iv} ms | {m['procs']} | {int(m['rss_kb'])} | {avg(bk, lambda r: int(r['rss_kb'])):.0f} "
                f"| {int(m['pss_kb'])} / {avg(bk, lambda r: int(r['pss_kb'])):.0f} "
                f"| {per(m, 'cpu_tick_ms'):.0f} / {per(m, 'cpu_exec_ms'):.1f} "
                f"| {avg(bk, lambda r: per(r, 'cpu_tick_ms')):.0f} / {avg(bk, lambda r: per(r, 'cpu_exec_ms')):.1f} "
                f"| {summ[0]['role_changes'] if summ else '?'} |")
    out += ["", f"### Idle footprint: 3 nodes, one master serving its fake broker, {cfg['idle_s']} s", "",
            "| daemon | interval | processes | RSS master KiB | RSS backup KiB | PSS master / backup KiB "
            "| CPU master ms/min (ticks / exact) | CPU backup ms/min (ticks / exact) | role changes in the window |",
            "|---|---|---|---|---|---|---|---|---|"]
    out += idle_rows
    return out


def reaper(argv):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    child = os.fork()
    if child == 0:
        os.execvp(argv[0], argv)
    # the shell handles ^C itself (same process group); TERM/HUP are passed on
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda signum, frame: os.kill(child, signum))
    rc = 1
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == child:
            rc = os.waitstatus_to_exitcode(status)
            rc = 128 - rc if rc < 0 else rc
            break
    # leftovers were killed by the script's cleanup: reap what is already dead
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
    sys.exit(rc)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "reaper":
        reaper(args)
    elif cmd == "trial":
        r = trial(json.loads(args[0]))
        print(" ".join(f"{k}={v}" for k, v in r.items()), flush=True)
    elif cmd == "idle":
        print("\n".join(idle(json.loads(args[0]))), flush=True)
    elif cmd == "orphans":
        print(orphans(args))
    elif cmd == "stats":
        print(stats([float(x) for x in sys.stdin.read().split()]))
    elif cmd == "table":
        print("\n".join(table(json.loads(args[0]))))
    elif cmd == "calib":
        print(calib(args[0], args[1]))
    else:
        sys.exit(f"helper.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
