#!/usr/bin/env python3
"""Observer of test/bench/scale: talks to every launcher's control socket
(one request line, "metrics\\n", the reply until EOF) and reads /proc.

  wait JSON    until exactly one node is master and all others slave, by
               their status files; prints the master or fails (exit 1)
  window JSON  observes for "seconds": status files every 100 ms (roles),
               each node's metrics every "every" s (heartbeat jitter "last"
               samples), and counters and CPU at both ends; prints one
               line per node and a summary line

JSON: {"nodes": [{"name", "pid", "sock", "status"}], "seconds", "every",
       "timeout"}
"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compare.d"))
import helper  # noqa: E402  (proc_stat, exec_ms, mem_kb, stats)


def metrics(path, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    out = {}
    try:
        s.connect(path)
        s.sendall(b"metrics\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError:
        return None
    finally:
        s.close()
    lines = data.decode(errors="replace").splitlines()
    if not lines or lines[0] != "ok":
        return None
    for line in lines[1:]:
        if not line or line.startswith("#"):
            continue
        k, _, v = line.rpartition(" ")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out


def role(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("role="):
                    return line[5:].strip()
    except OSError:
        pass
    return "none"


def wait(cfg):
    nodes = cfg["nodes"]
    end = time.monotonic() + cfg["timeout"]
    while time.monotonic() < end:
        roles = [role(n["status"]) for n in nodes]
        if roles.count("master") == 1 and roles.count("slave") == len(nodes) - 1:
            print(nodes[roles.index("master")]["name"])
            return 0
        time.sleep(0.1)
    roles = [role(n["status"]) for n in nodes]
    print("no single master: " + " ".join(f"{r}:{roles.count(r)}" for r in sorted(set(roles))), file=sys.stderr)
    return 1


JIT_LAST = 'failover_heartbeat_jitter_ms{stat="last"}'
JIT_MAX = 'failover_heartbeat_jitter_ms{stat="max"}'
PROM = "failover_promotions_total"
DEM = "failover_demotions_total"
RX = "failover_packets_received_total"
TX = "failover_packets_sent_total"
HB = "failover_heartbeats_total"


def pressure():
    """{(resource, some|full): total stall microseconds} from /proc/pressure."""
    out = {}
    for res in ("cpu", "io"):
        try:
            with open(f"/proc/pressure/{res}") as f:
                for line in f:
                    kind, *kv = line.split()
                    out[(res, kind)] = int(dict(x.split("=") for x in kv)["total"])
        except (OSError, KeyError, ValueError):
            pass
    return out


def window(cfg):
    nodes = cfg["nodes"]
    seconds, every = cfg["seconds"], cfg["every"]
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    m0 = {n["name"]: metrics(n["sock"]) for n in nodes}
    c0 = {n["name"]: (helper.proc_stat(n["pid"]), helper.exec_ms(n["pid"])) for n in nodes}
    p0 = pressure()
    t0 = time.monotonic()
    last_roles = {n["name"]: role(n["status"]) for n in nodes}
    masters0 = sorted(k for k, v in last_roles.items() if v == "master")
    jit = {n["name"]: [] for n in nodes}
    changes = []
    multi = none = samples = 0
    failed = [0]
    stop = threading.Event()

    def poll_metrics():
        # apart from the role sampling: a launcher slow to answer must not
        # stop the status-file samples
        nxt = time.monotonic() + every
        while not stop.wait(max(0.0, nxt - time.monotonic())):
            nxt += every
            for n in nodes:
                m = metrics(n["sock"], 0.5)
                if m is None:
                    failed[0] += 1
                elif JIT_LAST in m:
                    jit[n["name"]].append(m[JIT_LAST])

    th = threading.Thread(target=poll_metrics, daemon=True)
    th.start()
    wall0 = time.time()
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        roles = {n["name"]: role(n["status"]) for n in nodes}
        samples += 1
        nm = sum(1 for v in roles.values() if v == "master")
        multi += nm > 1
        none += nm == 0
        for k, v in roles.items():
            if v != last_roles[k]:
                changes.append(f"{now - t0:.1f}s:{k}:{last_roles[k]}->{v}")
        last_roles = roles
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    wall1 = time.time()
    stop.set()
    th.join()
    failed_queries = failed[0]
    p1 = pressure()
    psi = " ".join(f"psi_{r}_{k}={(p1[(r, k)] - p0[(r, k)]) / 1e4 / elapsed:.1f}" for (r, k) in sorted(p1) if (r, k) in p0)
    m1 = {n["name"]: metrics(n["sock"]) for n in nodes}
    c1 = {n["name"]: (helper.proc_stat(n["pid"]), helper.exec_ms(n["pid"])) for n in nodes}
    out = []
    prom = dem = 0
    for n in nodes:
        k = n["name"]
        a, b = m0[k] or {}, m1[k] or {}
        d = lambda key: (b.get(key, 0) - a.get(key, 0)) if key in a and key in b else float("nan")
        s0, s1 = c0[k], c1[k]
        ticks = (s1[0][2] - s0[0][2]) * tick_ms if s0[0] and s1[0] else float("nan")
        ex = (s1[1] - s0[1]) if s0[1] is not None and s1[1] is not None else float("nan")
        rss, pss = helper.mem_kb(n["pid"])
        prom += d(PROM) if d(PROM) == d(PROM) else 0
        dem += d(DEM) if d(DEM) == d(DEM) else 0
        js = sorted(jit[k])
        out.append(
            f"node={k} role={last_roles[k]} alive={int(helper.alive(n['pid']))} promotions={d(PROM):.0f} "
            f"demotions={d(DEM):.0f} rx_pps={d(RX) / elapsed:.1f} tx_pps={d(TX) / elapsed:.1f} "
            f"hb_per_s={d(HB) / elapsed:.2f} cpu_tick_ms={ticks:.0f} cpu_exec_ms={ex:.1f} "
            f"jit_max_start={a.get(JIT_MAX, float('nan')):.3f} jit_max_end={b.get(JIT_MAX, float('nan')):.3f} "
            f"jit_samples={len(js)} jit_p50={js[len(js) // 2] if js else float('nan'):.3f} "
            f"jit_p99={js[max(0, -(-99 * len(js) // 100) - 1)] if js else float('nan'):.3f} "
            f"jit_sample_max={js[-1] if js else float('nan'):.3f} rss_kb={rss} pss_kb={pss}")
    out.append(f"summary window_s={elapsed:.1f} wall_start={wall0:.3f} wall_end={wall1:.3f} masters_at_start={','.join(masters0) or '-'} "
               f"masters_at_end={','.join(sorted(k for k, v in last_roles.items() if v == 'master')) or '-'} "
               f"promotions={prom:.0f} demotions={dem:.0f} role_changes={len(changes)} "
               f"samples={samples} multi_master_samples={multi} no_master_samples={none} "
               f"failed_queries={failed_queries} {psi} changes={';'.join(changes[:20]) or '-'}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    cmd, arg = sys.argv[1], json.loads(sys.argv[2])
    sys.exit({"wait": wait, "window": window}[cmd](arg))
