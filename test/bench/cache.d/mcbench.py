#!/usr/bin/python3
# The memcached-protocol client of test/bench/cache: raw sockets, the text
# protocol only (set/get/stats), so the launcher's cache and a real memcached
# are measured by exactly the same code.
#
# Every socket is opened inside a named network namespace (/run/netns/NAME,
# as `ip netns add` makes them) with setns(2): one process can hold
# connections to 127.0.0.1 of several lab nodes at once and time them all on
# one clock (CLOCK_MONOTONIC, not namespaced).  Nothing connects from the
# root namespace.
#
#   mcbench.py wait       NS:PORT... [--peers N] [--timeout S]
#   mcbench.py stats      NS:PORT
#   mcbench.py visibility --writer NS:PORT --reader NS:PORT... [--trials N] ...
#   mcbench.py throughput --target NS:PORT [--check NS:PORT...] --conns K ...
#   mcbench.py report     RESULT.json...   (the markdown table)
#
# Results are JSON on stdout (one object).  Times are in microseconds.
import argparse
import ctypes
import json
import math
import os
import pickle
import random
import select
import socket
import sys
import tempfile
import time
from array import array

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def ns_path(ns):
    for d in ("/run/netns", "/var/run/netns"):
        p = os.path.join(d, ns)
        if os.path.exists(p):
            return p
    raise SystemExit(f"mcbench: no network namespace {ns}")


def connect(target, timeout=2.0):
    """target = NS:PORT; connects to 127.0.0.1:PORT inside namespace NS."""
    ns, port = target.rsplit(":", 1)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(ns_path(ns), os.O_RDONLY)
    try:
        _setns(there)
        try:
            s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
        finally:
            _setns(home)
    finally:
        os.close(there)
        os.close(home)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(None)
    return s


def now_us():
    return time.perf_counter_ns() / 1000.0


# ---- blocking helpers (setup, checks) ----


def recv_until(s, buf, pred, deadline):
    while True:
        r = pred(buf)
        if r is not None:
            return r
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply")
        s.settimeout(left)
        d = s.recv(65536)
        if not d:
            raise ConnectionError("connection closed")
        buf += d


def parse_line(buf):
    i = buf.find(b"\r\n")
    if i < 0:
        return None
    line = bytes(buf[:i])
    del buf[: i + 2]
    return line


def parse_get(buf):
    """One reply to a single-key get: (True, value) / (False, None), or None
    while incomplete; an unexpected line gives (False, line)."""
    if buf.startswith(b"END\r\n"):
        del buf[:5]
        return (False, None)
    if buf.startswith(b"VALUE "):
        i = buf.find(b"\r\n")
        if i < 0:
            return None
        n = int(buf[:i].split()[3])
        end = i + 2 + n + 2 + 5
        if len(buf) < end:
            return None
        v = bytes(buf[i + 2 : i + 2 + n])
        del buf[:end]
        return (True, v)
    i = buf.find(b"\r\n")
    if i < 0:
        return None
    line = bytes(buf[:i])
    del buf[: i + 2]
    return (False, line)


def stats(target):
    s = connect(target)
    try:
        s.sendall(b"stats\r\n")
        buf = bytearray()
        recv_until(s, buf, lambda b: True if b.endswith(b"END\r\n") else None, time.monotonic() + 3)
        out = {}
        for line in bytes(buf).split(b"\r\n"):
            p = line.split(b" ", 2)
            if len(p) == 3 and p[0] == b"STAT":
                out[p[1].decode()] = p[2].decode(errors="replace")
        return out
    finally:
        s.close()


def get_many(target, keys, deadline):
    s = connect(target)
    out = {}
    buf = bytearray()
    try:
        for k in keys:
            s.sendall(b"get " + k + b"\r\n")
            r = recv_until(s, buf, parse_get, deadline)
            out[k] = r[1] if r[0] else None
    finally:
        s.close()
    return out


# ---- statistics ----


def pct(sorted_v, p):
    if not sorted_v:
        return None
    return sorted_v[max(0, math.ceil(p / 100.0 * len(sorted_v)) - 1)]


def summary(v):
    v = sorted(v)
    if not v:
        return {"n": 0}
    return {"n": len(v), "min": v[0], "p50": pct(v, 50), "p99": pct(v, 99), "max": v[-1], "mean": sum(v) / len(v)}


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        st = st[st.rindex(")") + 2 :].split()
        return int(st[11]) + int(st[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


# ---- wait ----


def cmd_wait(a):
    deadline = time.monotonic() + a.timeout
    last = {}
    while time.monotonic() < deadline:
        ok = True
        for t in a.targets:
            try:
                st = stats(t)
                last[t] = st.get("repl_peers", "-")
                if a.peers and int(st.get("repl_peers", "0")) < a.peers:
                    ok = False
            except (OSError, ValueError, TimeoutError, ConnectionError) as e:
                last[t] = str(e)
                ok = False
        if ok:
            return 0
        time.sleep(0.05)
    print(f"mcbench: not ready after {a.timeout}s: {last}", file=sys.stderr)
    return 1


def cmd_stats(a):
    print(json.dumps(stats(a.target)))
    return 0


# ---- put -> visible ----


def cmd_visibility(a):
    w = connect(a.writer)
    readers = [connect(t) for t in a.reader]
    for s in [w] + readers:
        s.setblocking(False)
    names = a.names.split(",") if a.names else [f"r{i}" for i in range(len(readers))]
    fds = {w.fileno(): -1}
    for i, s in enumerate(readers):
        fds[s.fileno()] = i
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    rnd = random.Random()
    tag = f"{os.getpid()}-{int(time.time())}"
    res = {"set": [], "vis": [[] for _ in readers], "all": [], "poll_rtt": [], "set_replies": {},
           "not_visible": 0, "stale_after_stored": 0, "stale_trials": 0, "set_timeouts": 0, "errors": []}
    wbuf = bytearray()
    rbufs = [bytearray() for _ in readers]
    for trial in range(a.trials):
        key = f"vis:{tag}:{trial}".encode()
        val = rnd.randbytes(a.value_size // 2).hex().encode()[: a.value_size]
        msg = b"set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val)
        t0 = now_us()
        w.send(msg)
        set_at = None
        set_reply = None
        sent_at = [0.0] * len(readers)
        seen = [None] * len(readers)
        polls = [0] * len(readers)
        stale = 0
        for i, s in enumerate(readers):
            sent_at[i] = now_us()
            s.send(b"get " + key + b"\r\n")
        deadline = t0 + a.timeout * 1e6
        while (set_at is None or None in seen) and now_us() < deadline:
            for fd, _ in poller.poll(max(1, int((deadline - now_us()) / 1000))):
                i = fds[fd]
                if i < 0:
                    d = w.recv(65536)
                    if not d:
                        raise SystemExit("mcbench: writer connection closed")
                    wbuf += d
                    line = parse_line(wbuf)
                    if line is not None:
                        set_at = now_us()
                        set_reply = line.decode(errors="replace")
                    continue
                s = readers[i]
                d = s.recv(65536)
                if not d:
                    raise SystemExit(f"mcbench: reader {names[i]} connection closed")
                rbufs[i] += d
                r = parse_get(rbufs[i])
                if r is None:
                    continue
                t = now_us()
                polls[i] += 1
                res["poll_rtt"].append(t - sent_at[i])
                hit, v = r
                if hit and v == val:
                    seen[i] = t
                    continue
                if not hit and v is not None:
                    res["errors"].append(f"{names[i]}: {v!r}")
                # a read that started after the writer got STORED and still missed
                if set_reply == "STORED" and sent_at[i] > set_at:
                    stale += 1
                sent_at[i] = now_us()
                s.send(b"get " + key + b"\r\n")
        # drain whatever is still in flight (a pending get, a late set reply)
        end = now_us() + a.timeout * 1e6
        pending = [i for i in range(len(readers)) if seen[i] is None]
        while (set_at is None or pending) and now_us() < end:
            for fd, _ in poller.poll(50):
                i = fds[fd]
                if i < 0:
                    wbuf += w.recv(65536)
                    line = parse_line(wbuf)
                    if line is not None and set_at is None:
                        set_at = now_us()
                        set_reply = line.decode(errors="replace")
                else:
                    rbufs[i] += readers[i].recv(65536)
                    if parse_get(rbufs[i]) is not None and i in pending:
                        pending.remove(i)
        for b in rbufs:
            b.clear()
        if set_at is None:
            res["set_timeouts"] += 1
            continue
        key_reply = set_reply if not set_reply.startswith("SERVER_ERROR") else set_reply[:60]
        res["set_replies"][key_reply] = res["set_replies"].get(key_reply, 0) + 1
        res["set"].append(set_at - t0)
        if None in seen:
            res["not_visible"] += 1
        else:
            for i in range(len(readers)):
                res["vis"][i].append(seen[i] - t0)
            res["all"].append(max(seen) - t0)
        res["stale_after_stored"] += stale
        res["stale_trials"] += stale > 0
        # a short random pause: trials do not line up with heartbeats
        time.sleep(rnd.uniform(a.gap_min, a.gap_max) / 1000.0)
    out = {
        "kind": "visibility", "label": a.label, "trials": a.trials,
        "set": summary(res["set"]), "all": summary(res["all"]),
        "readers": {names[i]: summary(res["vis"][i]) for i in range(len(readers))},
        "poll_rtt": summary(res["poll_rtt"]), "set_replies": res["set_replies"],
        "not_visible": res["not_visible"], "set_timeouts": res["set_timeouts"],
        "stale_after_stored": res["stale_after_stored"], "stale_trials": res["stale_trials"],
        "errors": res["errors"][:5], "n_errors": len(res["errors"]),
    }
    print(json.dumps(out))
    return 0


# ---- throughput ----


def tp_worker(a, conn_ids, t_start, t_measure, t_end, outpath):
    """Closed loop: each connection has one set in flight at a time."""
    conns = {}
    poller = select.poll()
    for c in conn_ids:
        s = connect(a.target)
        s.setblocking(False)
        conns[s.fileno()] = {"s": s, "id": c, "buf": bytearray(), "seq": 0, "sent": 0.0, "val": None, "key": None}
        poller.register(s, select.POLLIN)
    lat = array("d")
    replies = {}
    last = {}  # key -> last value acknowledged STORED
    errors_after = 0
    pad = b"x" * a.value_size

    def send(st):
        st["seq"] += 1
        k = b"tp:%d:%d" % (st["id"], st["seq"] % a.keys)
        v = (b"%d:%d:" % (st["id"], st["seq"]) + pad)[: a.value_size]
        st["key"], st["val"] = k, v
        st["sent"] = now_us()
        st["s"].send(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))

    while time.perf_counter_ns() / 1000 < t_start:
        time.sleep(0.0005)
    cpu0 = os.times()
    for st in conns.values():
        send(st)
    inflight = len(conns)
    stop_wait = t_end + (a.timeout + 1) * 1e6
    while inflight and now_us() < stop_wait:
        for fd, _ in poller.poll(100):
            st = conns[fd]
            d = st["s"].recv(65536)
            if not d:
                raise SystemExit("mcbench: connection closed by the server")
            st["buf"] += d
            line = parse_line(st["buf"])
            if line is None:
                continue
            t = now_us()
            inflight -= 1
            if line == b"STORED":
                last[st["key"]] = st["val"]
            else:
                # stored here but not acknowledged (or refused): no promise to check
                last.pop(st["key"], None)
                if t >= t_measure:
                    errors_after += 1
            if st["sent"] >= t_measure and t <= t_end:
                lat.append(t - st["sent"])
                r = line.decode(errors="replace")[:60]
                replies[r] = replies.get(r, 0) + 1
            if t < t_end:
                send(st)
                inflight += 1
    cpu1 = os.times()
    for st in conns.values():
        st["s"].close()
    with open(outpath, "wb") as f:
        pickle.dump({"lat": lat.tobytes(), "replies": replies, "last": last, "inflight_left": inflight,
                     "cpu": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)}, f)


def cmd_throughput(a):
    procs = max(1, min(a.conns, a.procs))
    groups = [list(range(p, a.conns, procs)) for p in range(procs)]
    tmp = tempfile.mkdtemp(prefix="mcbench.")
    t_start = now_us() + 500e3  # time for every worker to connect
    t_measure = t_start + a.warmup * 1e6
    t_end = t_measure + a.duration * 1e6
    pids = [int(p) for p in a.pids.split(",")] if a.pids else []
    kids = []
    for i, g in enumerate(groups):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                tp_worker(a, g, t_start, t_measure, t_end, os.path.join(tmp, f"w{i}"))
            except BaseException as e:  # noqa: BLE001 - report and leave the fork
                print(f"mcbench: worker {i}: {e}", file=sys.stderr)
                code = 1
            os._exit(code)
        kids.append(pid)
    while now_us() < t_measure:
        time.sleep(0.001)
    cpu0 = {p: cpu_ticks(p) for p in pids}
    while now_us() < t_end:
        time.sleep(0.01)
    cpu1 = {p: cpu_ticks(p) for p in pids}
    failed = 0
    for pid in kids:
        _, st = os.waitpid(pid, 0)
        failed += st != 0
    lat = array("d")
    replies = {}
    last = {}
    cpu_client = 0.0
    left = 0
    for i in range(len(groups)):
        p = os.path.join(tmp, f"w{i}")
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            r = pickle.load(f)
        os.unlink(p)
        a2 = array("d")
        a2.frombytes(r["lat"])
        lat.extend(a2)
        for k, v in r["replies"].items():
            replies[k] = replies.get(k, 0) + v
        last.update(r["last"])
        cpu_client += r["cpu"]
        left += r["inflight_left"]
    os.rmdir(tmp)
    if failed:
        print(f"mcbench: {failed} worker(s) failed", file=sys.stderr)
        return 2
    hz = os.sysconf("SC_CLK_TCK")
    server_cpu = {}
    for p in pids:
        if cpu0.get(p) is not None and cpu1.get(p) is not None:
            server_cpu[str(p)] = (cpu1[p] - cpu0[p]) / hz / a.duration * 100
    stored = replies.get("STORED", 0)
    out = {
        "kind": "throughput", "label": a.label, "conns": a.conns, "procs": procs, "duration": a.duration,
        "value_size": a.value_size, "ops": len(lat), "ops_per_s": len(lat) / a.duration,
        "stored_per_s": stored / a.duration, "lat": summary(lat), "replies": replies,
        "client_cpu_pct": cpu_client / (a.duration + a.warmup) * 100, "server_cpu_pct": server_cpu,
        "unanswered_at_end": left,
    }
    # every key's last acknowledged value must be what every node serves
    if a.check:
        keys = sorted(last)
        checks = {}
        deadline_total = time.monotonic() + a.check_wait
        for t in a.check:
            name = t.rsplit(":", 1)[0].rsplit("-", 1)[-1]  # the lab node: n1, n2, n3
            bad = None
            while True:
                got = get_many(t, keys, time.monotonic() + 30)
                bad = [k for k in keys if got[k] != last[k]]
                if not bad or time.monotonic() >= deadline_total:
                    break
                time.sleep(0.1)
            checks[name] = {"keys": len(keys), "differ": len(bad),
                            "example": (bad[0].decode() if bad else None)}
        out["check"] = checks
    print(json.dumps(out))
    return 0


# ---- the table ----


def ms(v, digits=2):
    return "-" if v is None else f"{v / 1000:.{digits}f}"


def cmd_report(a):
    rows_v, rows_t = [], []
    for p in a.files:
        try:
            with open(p) as f:
                r = json.load(f)
        except (OSError, ValueError):
            continue
        if r.get("kind") == "visibility":
            rows_v.append(r)
        elif r.get("kind") == "throughput":
            rows_t.append(r)
    print("### put → visible on all nodes (ms; one `set` on the writer, `get` polled on the others)")
    print()
    print("| target | trials | set p50 | set p99 | set min | set max | visible-on-all p50 | p99 | min | max "
          "| not visible | stale reads after STORED | set replies |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows_v:
        s, v = r["set"], r["all"]
        rep = ", ".join(f"{k} ×{n}" for k, n in sorted(r["set_replies"].items(), key=lambda x: -x[1]))
        print(f"| {r['label']} | {r['trials']} | {ms(s.get('p50'), 3)} | {ms(s.get('p99'), 3)} | "
              f"{ms(s.get('min'), 3)} | {ms(s.get('max'), 3)} | {ms(v.get('p50'), 3)} | {ms(v.get('p99'), 3)} | "
              f"{ms(v.get('min'), 3)} | {ms(v.get('max'), 3)} | {r['not_visible'] + r['set_timeouts']} | "
              f"{r['stale_after_stored']} in {r['stale_trials']} trials | {rep} |")
    print()
    print("### write throughput (`set`, closed loop, one request in flight per connection)")
    print()
    print("| target | conns | STORED/s | p50 ms | p99 ms | max ms | non-STORED replies | server CPU % | client CPU % "
          "| replicas differing |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows_t:
        l = r["lat"]
        bad = sum(n for k, n in r["replies"].items() if k != "STORED")
        scpu = "/".join(f"{v:.0f}" for v in r["server_cpu_pct"].values()) or "-"
        chk = "-"
        if r.get("check"):
            chk = ", ".join(f"{n}: {c['differ']}/{c['keys']}" for n, c in r["check"].items())
        print(f"| {r['label']} | {r['conns']} | {r['stored_per_s']:.0f} | {ms(l.get('p50'), 3)} | {ms(l.get('p99'), 3)} | "
              f"{ms(l.get('max'), 3)} | {bad} | {scpu} | {r['client_cpu_pct']:.0f} | {chk} |")
    return 0


def cmd_preload(a):
    """COUNT entries of SIZE bytes (keys pre:0..), one set at a time."""
    s = connect(a.target)
    buf = bytearray()
    bad = {}
    t0 = time.monotonic()
    for i in range(a.count):
        v = (b"%d:" % i + b"p" * a.size)[: a.size]
        s.sendall(b"set pre:%d 0 0 %d\r\n%s\r\n" % (i, len(v), v))
        line = recv_until(s, buf, parse_line, time.monotonic() + a.timeout + 5)
        if line != b"STORED":
            r = line.decode(errors="replace")[:60]
            bad[r] = bad.get(r, 0) + 1
    s.close()
    print(json.dumps({"kind": "preload", "count": a.count, "size": a.size, "seconds": time.monotonic() - t0,
                      "not_stored": bad}))
    return 0


def cmd_notes(a):
    for p in a.files:
        try:
            with open(p) as f:
                r = json.load(f)
        except (OSError, ValueError):
            continue
        rd = "; ".join(f"{n} p50 {ms(v.get('p50'), 3)} p99 {ms(v.get('p99'), 3)}" for n, v in r["readers"].items())
        pr = r["poll_rtt"]
        err = f"; reader errors {r['n_errors']}: {r['errors'][:2]}" if r["n_errors"] else ""
        print(f"  {r['label']}: visible per reader (ms): {rd}; get poll round trip p50 {ms(pr.get('p50'), 3)}"
              f" p99 {ms(pr.get('p99'), 3)} ms{err}")
    return 0


def main():
    ap = argparse.ArgumentParser(prog="mcbench.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait")
    p.add_argument("targets", nargs="+")
    p.add_argument("--peers", type=int, default=0)
    p.add_argument("--timeout", type=float, default=20)
    p = sub.add_parser("stats")
    p.add_argument("target")
    p = sub.add_parser("visibility")
    p.add_argument("--writer", required=True)
    p.add_argument("--reader", action="append", required=True)
    p.add_argument("--names", default="")
    p.add_argument("--trials", type=int, default=500)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--timeout", type=float, default=3.0, help="s a trial waits for the set and the reads")
    p.add_argument("--gap-min", type=float, default=1.0, help="ms between trials, at least")
    p.add_argument("--gap-max", type=float, default=5.0)
    p.add_argument("--label", default="")
    p = sub.add_parser("throughput")
    p.add_argument("--target", required=True)
    p.add_argument("--check", action="append", default=[])
    p.add_argument("--check-wait", type=float, default=3.0)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--keys", type=int, default=64, help="distinct keys per connection")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--pids", default="", help="server PIDs whose CPU is measured")
    p.add_argument("--label", default="")
    p = sub.add_parser("report")
    p.add_argument("files", nargs="*")
    p = sub.add_parser("preload")
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--timeout", type=float, default=3.0)
    p = sub.add_parser("notes")
    p.add_argument("files", nargs="*")
    a = ap.parse_args()
    return {"wait": cmd_wait, "stats": cmd_stats, "visibility": cmd_visibility, "throughput": cmd_throughput,
            "report": cmd_report, "notes": cmd_notes,
            "preload": cmd_preload}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
