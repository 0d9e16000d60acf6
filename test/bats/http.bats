#!/usr/bin/env bats
# The HTTP endpoint ([http] listen) against a live 3-node lab with fake
# brokers: every route's status on the master and the slaves, bodies a
# JSON parser and Prometheus accept, 404/405, an oversized request refused,
# and silent clients that hold connections open without delaying a
# heartbeat.  curl runs inside the node namespaces, to the lab's addresses.

load helpers
load ../lib/lab

PORT=8008

setup_file() {
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	lab_setup 3
}

teardown() {
	# a sanitizer's report in a launcher's log fails the test that saw it
	local bad
	bad=$(grep -l 'AddressSanitizer\|runtime error:' "$LAB_DIR"/n*/log 2>/dev/null) || true
	lab_teardown
	[ -z "$bad" ] || fail "sanitizer report in $bad"
}

# every node advertises its broker URL and serves HTTP on its own address
start_http() {
	local i
	for i in 1 2 3; do
		LAB_BROKER_INI=("url = tcp://$(lab_addr "$i"):61616")
		lab_ini "$i"
		printf '[http]\nlisten = %s:%s\n' "$(lab_addr "$i")" "$PORT" >>"$LAB_DIR/n$i/launcher.ini"
	done
	LAB_BROKER_INI=()
	start_three --heard --broker
}

# get FROM TO PATH [curl options]: from node FROM's namespace, the status
# code of PATH on node TO; the body is left in $LAB_DIR/body
get() {
	local from=$1 to=$2 path=$3
	shift 3
	ip netns exec "$LAB-n$from" curl -s -o "$LAB_DIR/body" -w '%{http_code}' --max-time 3 "$@" \
		"http://$(lab_addr "$to"):$PORT$path"
}

is_json() { python3 -I -S -c 'import json,sys; json.load(open(sys.argv[1]))' "$LAB_DIR/body"; }

primary_ok() { [ "$(get "$1" "$1" /primary)" = 200 ]; }
answers() { [ "$(get "$1" "$1" "$2")" = "$3" ]; } # answers I PATH CODE

ROUTES="primary replica health liveness readiness status peers metrics history"

# fetch I: every route of node I in one curl, from its own namespace; the
# bodies in $LAB_DIR/n$I.ROUTE, "ROUTE CODE" lines out
fetch() {
	local i=$1 r args=()
	for r in $ROUTES; do args+=(-o "$LAB_DIR/n$i.$r" "http://$(lab_addr "$i"):$PORT/$r"); done
	ip netns exec "$LAB-n$i" curl -s --max-time 5 -w '%{url_effective} %{http_code}\n' "${args[@]}" |
		sed 's|^http://[^/]*/||'
}

@test "http: routes answer by role on the master and the slaves, with the status JSON and the metrics" {
	start_http
	wait_until 5 primary_ok "$m"
	for i in 1 2 3; do fetch "$i" >"$LAB_DIR/n$i.codes"; done
	# one python for all: codes by role, bodies that parse, the right node
	python3 -I -S - "$LAB_DIR" "$m" <<'PY' || fail "routes: $(cat "$LAB_DIR"/n*.codes)"
import json, sys
d, m = sys.argv[1], sys.argv[2]
for i in "123":
    codes = dict(l.split() for l in open(f"{d}/n{i}.codes"))
    want = {"primary": "200" if i == m else "503", "replica": "503" if i == m else "200"}
    for r in "primary replica health liveness readiness status peers metrics history".split():
        assert codes[r] == want.get(r, "200"), (i, r, codes[r])
        body = open(f"{d}/n{i}.{r}").read()
        if r == "metrics":
            assert 'failover_role{role="%s"} 1' % ("master" if i == m else "slave") in body, (i, body[:200])
            continue
        j = json.loads(body)
        if r == "history":
            # the same as failoverctl history --json: this node's own role change
            assert any(e["kind"] == "role" and e["node"] == "n" + i for e in j), (i, j)
            continue
        if r == "peers":
            assert len(j) == 2, (i, j)
        else:
            assert j["node"] == "n" + i, (i, r)
            assert j["role"] == ("master" if i == m else "slave"), (i, r, j["role"])
    if i == m:
        assert json.load(open(f"{d}/n{i}.status"))["broker"]["state"] == "serving"
PY
	# served on the loop: libmicrohttpd started no thread of its own
	! grep -q MHD /proc/"$(lab_pid "$m")"/task/*/comm
	# from another node, as a balancer would ask; HEAD as well as GET
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	[ "$(get "$s" "$m" /primary)" = 200 ]
	[ "$(get "$s" "$m" /primary -I)" = 200 ]
	[ "$(get "$m" "$s" /primary -I)" = 503 ]
	# Prometheus's content type; the same families as failoverctl metrics
	ip netns exec "$LAB-n$m" curl -s -D "$LAB_DIR/headers" -o "$LAB_DIR/body" --max-time 3 \
		"http://$(lab_addr "$m"):$PORT/metrics"
	grep -qi '^content-type: text/plain; version=0.0.4' "$LAB_DIR/headers"
	grep -q '^failover_http_requests_total [1-9]' "$LAB_DIR/body"
	diff <(sed -n 's/^\(# [A-Z]* [a-z_]*\).*/\1/p' "$LAB_DIR/body") \
		<(lab_ctl "$m" metrics | sed -n 's/^\(# [A-Z]* [a-z_]*\).*/\1/p')
	lab_sampler_check
}

@test "http: read-only and bounded: 404, 405, an oversized request refused, resets; a reload keeps the listener" {
	start_http
	[ "$(get "$m" "$m" /)" = 404 ]
	[ "$(get "$m" "$m" /nope)" = 404 ]
	[ "$(get "$m" "$m" /primary -X POST -d x=1)" = 405 ]
	[ "$(get "$m" "$m" /status -X DELETE)" = 405 ]
	[ "$(get "$m" "$m" /metrics -X PUT -d '')" = 405 ]
	grep -q 'read-only' "$LAB_DIR/body"
	# a request larger than a connection's memory (8 KiB): refused, not served
	big=$(head -c 12000 /dev/zero | tr '\0' a)
	code=$(get "$m" "$m" /status -H "X-Big: $big")
	case $code in 413 | 414 | 431) ;; *) fail "an oversized header got $code" ;; esac
	code=$(get "$m" "$m" "/status?$big")
	case $code in 413 | 414 | 431) ;; *) fail "an oversized URL got $code" ;; esac
	# clients that reset the connection before the answer is read: the
	# launcher lives on and still answers
	ip netns exec "$LAB-n$m" python3 -I -S -c '
import socket, struct, sys
for _ in range(50):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
' "$(lab_addr "$m")" "$PORT"
	lab_alive "$(lab_pid "$m")"
	# and the endpoint still answers
	[ "$(get "$m" "$m" /primary)" = 200 ]
	# a reload keeps the listener, and says a changed address needs a restart
	sed -i "s/^listen = .*:$PORT\$/listen = 127.0.0.1:9009/" "$LAB_DIR/n$m/launcher.ini"
	kill -HUP "$(lab_pid "$m")"
	wait_until 5 grep -q 'reload: http.listen changed: it takes effect after a restart' "$LAB_DIR/n$m/log"
	[ "$(get "$m" "$m" /primary)" = 200 ]
	lab_sampler_check
}

@test "http: clients that connect and send nothing delay no heartbeat; they are closed after 5 s" {
	start_http
	wait_until 5 primary_ok "$m"
	term=$(lab_ctl "$m" status --json | python3 -I -S -c 'import json,sys; print(json.load(sys.stdin)["term"])')
	# 24 silent connections to the master's endpoint, more than its 16 slots,
	# held 6 s from another node
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	ip netns exec "$LAB-n$s" python3 -I -S -c '
import socket, sys, time
held = []
for _ in range(24):
    c = socket.socket()
    c.settimeout(1)
    try:
        c.connect((sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
    held.append(c)
t = time.monotonic()
closed = 0
for c in held:
    c.settimeout(max(0.1, 6.5 - (time.monotonic() - t)))
    try:
        if c.recv(1) == b"":
            closed += 1
    except OSError:
        pass
print(closed)
' "$(lab_addr "$m")" "$PORT" >"$LAB_DIR/closed" &
	holder=$!
	echo "$holder" >>"$LAB_DIR/pids"
	# meanwhile, while they are held: the same master everywhere
	while lab_alive "$holder"; do
		[ "$(lab_masters)" = "$m" ] || fail "the master changed while HTTP clients were silent: $(lab_masters)"
		sleep 0.2
	done
	wait "$holder"
	# MHD's 5 s timeout closed the ones it accepted
	[ "$(cat "$LAB_DIR/closed")" -ge 16 ] || fail "only $(cat "$LAB_DIR/closed") silent connections closed"
	wait_until 5 primary_ok "$m"
	# no peer was lost on any node
	lab_peers_all 2
	[ "$(lab_masters)" = "$m" ]
	[ "$(lab_ctl "$m" status --json | python3 -I -S -c 'import json,sys; print(json.load(sys.stdin)["term"])')" = "$term" ]
	lab_sampler_check
}

@test "http: /readiness is 503 while a node still learns the cluster, 200 once it knows its role" {
	# one node, slow heartbeats: it listens for a failure timeout (2 s)
	LAB_DELAY=500 LAB_RETRIES=4 lab_ini 1
	printf '[http]\nlisten = %s:%s\n' "$(lab_addr 1)" "$PORT" >>"$LAB_DIR/n1/launcher.ini"
	lab_start 1
	wait_until 5 answers 1 /liveness 200
	[ "$(lab_role 1)" = listening ] || skip "n1 left listening before the first request"
	[ "$(get 1 1 /readiness)" = 503 ]
	is_json
	# 503 unless it became master meanwhile (its window is 2 s)
	c=$(get 1 1 /primary)
	[ "$c" = 503 ] || [ "$(lab_role 1)" = master ] || fail "/primary: $c while $(lab_role 1)"
	[ "$(get 1 1 /replica)" = 503 ]
	lab_wait_role 1 master 10
	wait_until 5 answers 1 /readiness 200
	wait_until 5 primary_ok 1
}

# mapped I LIB: node I's launcher has the library LIB (libcurl, ...) mapped
mapped() { grep -q "/$2\.so" "/proc/$(lab_pid "$1")/maps"; }

@test "http: libmicrohttpd is loaded only with http.listen; a slave without it or etcd maps no libcurl, GnuTLS or OpenSSL" {
	lab_ini 1
	printf '[http]\nlisten = %s:%s\n' "$(lab_addr 1)" "$PORT" >>"$LAB_DIR/n1/launcher.ini"
	lab_ini 2
	lab_start 1
	lab_wait_role 1 master 10
	lab_start 2
	lab_wait_role 2 slave 10
	wait_until 5 answers 1 /health 200
	mapped 1 libmicrohttpd || fail "n1 serves HTTP without libmicrohttpd mapped?"
	! mapped 1 libcurl || fail "n1 maps libcurl without the etcd backend"
	for lib in libmicrohttpd libcurl libgnutls libcrypto libssl; do
		! mapped 2 "$lib" || fail "the slave n2 maps $lib: $(grep -o "/${lib}[^ ]*" "/proc/$(lab_pid 2)/maps" | sort -u)"
	done
}

@test "http: clients that trickle a byte every 2 s hold no slot past the request time" {
	start_http
	wait_until 5 primary_ok "$m"
	# 16 connections (every slot) from another node, each sending its
	# request line one byte every 2 s for 26 s: never idle for MHD's 5 s
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	ip netns exec "$LAB-n$s" python3 -I -S -c '
import socket, sys, time
held = []
for _ in range(16):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    c.sendall(b"GET /status HTTP/1.1\r\nX-Slow: ")
    held.append(c)
end = time.monotonic() + 26
while held and time.monotonic() < end:
    time.sleep(2)
    for c in list(held):
        try:
            c.sendall(b"a")
        except OSError:
            held.remove(c)
print(len(held))
' "$(lab_addr "$m")" "$PORT" >"$LAB_DIR/trickled" &
	holder=$!
	echo "$holder" >>"$LAB_DIR/pids"
	sleep 3
	# the balancer's check gets its answer while the trickle goes on
	wait_until 16 primary_ok "$m"
	lab_alive "$holder" || fail "/primary answered only once the trickling clients gave up"
	wait "$holder"
	[ "$(cat "$LAB_DIR/trickled")" = 0 ] || fail "$(cat "$LAB_DIR/trickled") trickling connections still open after 26 s"
}

@test "http: once every slot was taken and the clients went away, the endpoint accepts again" {
	start_http
	wait_until 5 primary_ok "$m"
	# 16 clients (every slot) connect, then close on their own before
	# MHD's timeout, all seen by one run of MHD (the launcher stopped for
	# 0.2 s meanwhile, well within a failure timeout): only the start of
	# another run puts MHD's listener back in its epoll set
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	ip netns exec "$LAB-n$s" python3 -I -S -c '
import os, signal, socket, sys, time
held = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) for _ in range(16)]
time.sleep(1)
pid = int(sys.argv[3])
os.kill(pid, signal.SIGSTOP)
try:
    for c in held:
        c.close()
    time.sleep(0.2)
finally:
    os.kill(pid, signal.SIGCONT)
' "$(lab_addr "$m")" "$PORT" "$(lab_pid "$m")"
	wait_until 4 primary_ok "$m"
	# and stays so
	primary_ok "$m"
}

@test "http: a launcher stopped with HTTP requests half sent exits cleanly" {
	start_http
	wait_until 5 primary_ok "$m"
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	# every slot held by a half-sent request while the master stops
	ip netns exec "$LAB-n$s" python3 -I -S -c '
import socket, sys, time
held = [socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) for _ in range(16)]
for c in held:
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
time.sleep(8)
' "$(lab_addr "$m")" "$PORT" &
	holder=$!
	echo "$holder" >>"$LAB_DIR/pids"
	sleep 1
	pid=$(lab_pid "$m")
	kill -TERM "$pid"
	wait_until 6 ! lab_alive "$pid"
	grep -q 'stopped' "$LAB_DIR/n$m/log"
	wait "$holder" || true
}
