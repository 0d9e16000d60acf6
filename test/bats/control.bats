#!/usr/bin/env bats
# The control socket and failoverctl against a live lab.

load helpers
load ../lib/lab

# the namespaces are built once for the file; every test gets fresh
# launchers, node directories and links (lab_setup)
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
	lab_teardown
}

json() { # json I FIELD-EXPRESSION: python over `status --json` of node I
	lab_ctl "$1" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

@test "status: text for people, --json for tools (parsed by a real JSON parser)" {
	start_three --url --heard --broker
	run lab_ctl "$m" status
	assert_success
	assert_line --regexp "^role: +master$"
	assert_line --regexp "^master: +n$m at tcp://10\.[0-9.]+:61616$"
	assert_line --regexp "^broker: +serving, pid [0-9]+"
	assert_line --regexp "^peers: +2$"
	[ "$(json "$m" "d['role']")" = master ]
	[ "$(json "$m" "d['node']")" = "n$m" ]
	[ "$(json "$m" "d['term']")" = 1 ]
	[ "$(json "$m" "d['broker']['state']")" = serving ]
	[ "$(json "$m" "d['broker']['pid'] > 0")" = True ]
	[ "$(json "$m" "len(d['peers'])")" = 2 ]
	[ "$(json "$m" "all(p['age_ms'] < 1000 and p['role'] == 'slave' for p in d['peers'])")" = True ]
	[ "$(json "$m" "d['quorum']['live']")" = 3 ]
	[ "$(json "$m" "d['cache']['entries']")" = 0 ]
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	[ "$(json "$s" "d['role']")" = slave ]
	[ "$(json "$s" "d['master']")" = "n$m" ]
	[ "$(json "$s" "d['broker']['state']")" = idle ]
	run lab_ctl "$s" peers
	assert_success
	assert_line --regexp "^n$m +master +1 "
	[ "$(lab_ctl "$s" peers --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
	lab_sampler_check
}

@test "locate: the master's URL; --uri failover and masterslave list every node, master first" {
	start_three --url --heard --broker
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	run lab_ctl "$s" locate
	assert_success
	assert_output "tcp://$(lab_addr "$m"):61616"
	run lab_ctl "$s" locate --uri failover
	assert_success
	others=""
	for i in 1 2 3; do [ "$i" = "$m" ] || others="$others,tcp://$(lab_addr "$i"):61616"; done
	assert_output "failover:(tcp://$(lab_addr "$m"):61616$others)?randomize=false"
	run lab_ctl "$m" locate --uri masterslave
	assert_output "masterslave:(tcp://$(lab_addr "$m"):61616$others)"
	run lab_ctl "$s" locate --uri bogus
	assert_failure 1
	assert_output --partial "locate takes --uri failover or --uri masterslave"
	lab_sampler_check
}

@test "metrics: Prometheus text format with role, term, peers, broker, packets, jitter" {
	start_three --url --heard --broker
	run lab_ctl "$m" metrics
	assert_success
	assert_line 'failover_role{role="master"} 1'
	assert_line 'failover_role{role="slave"} 0'
	assert_line 'failover_term 1'
	assert_line 'failover_peers 2'
	assert_line 'failover_promotions_total 1'
	assert_line 'failover_broker_up 1'
	assert_line --regexp '^failover_packets_sent_total [1-9][0-9]*$'
	assert_line --regexp '^failover_packets_received_total [1-9][0-9]*$'
	assert_line 'failover_packets_dropped_total{reason="magic"} 0'
	assert_line --regexp '^failover_heartbeat_jitter_ms\{stat="max"\} [0-9.]+$'
	# the log file is read: nothing dropped
	assert_line 'failover_log_lines_dropped_total{source="broker"} 0'
	assert_line 'failover_log_lines_dropped_total{source="launcher"} 0'
	# every sample line is "name{labels} value"; every metric has HELP and TYPE
	echo "$output" | python3 -c '
import re, sys
names = set(); typed = set()
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("# TYPE "): typed.add(line.split()[2]); continue
    if line.startswith("#"): continue
    m = re.fullmatch(r"([a-z_]+)(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? (-?[0-9.]+)", line)
    assert m, line
    names.add(m.group(1))
assert names <= typed, names - typed
'
	lab_sampler_check
}

@test "switchover: the target promotes with a higher term, the old master stops its broker first; refused for a dead target" {
	local t old_bp
	start_three --url --heard --broker
	t=$(echo 1 2 3 | tr -d "$m" | awk '{print $2}')
	old_bp=$(lab_broker_pid "$m")
	run lab_ctl "$t" switchover "n$t"
	assert_success
	assert_line "switchover: n$m hands over to n$t"
	assert_line --regexp "^switchover done: n$t is master \(term 2\)$"
	[ "$(lab_masters)" = "$t" ]
	run ! lab_alive "$old_bp"
	# the new broker writes its pid file a moment after it is spawned
	wait_until 5 lab_has_broker "$t"
	# the old broker was gone before the new one started
	old_exit=$(awk -v p="$old_bp" '$2 == p && $3 == "exit" {print $1}' "$LAB_DIR/n$m/broker/events")
	new_start=$(awk '$3 == "start" {print $1}' "$LAB_DIR/n$t/broker/events" | tail -n 1)
	[ "$old_exit" -le "$new_start" ]
	run lab_ctl "$t" switchover n9
	assert_failure 1
	assert_output --partial "switchover refused: n9 is not a live slave"
	# from the master itself, to the next in order
	run lab_ctl "$t" switchover
	assert_success
	assert_line --regexp "^switchover done: n[0-9] is master \(term 3\)$"
	lab_sampler_check
}

@test "resign: the local master steps down and another takes over; a slave refuses" {
	start_three --url --heard --broker
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	run lab_ctl "$s" resign
	assert_failure 1
	assert_output --partial "not master"
	run lab_ctl "$m" resign
	assert_success
	lab_groups "1 2 3"
	m2=$(lab_wait_one_master "1 2 3" 5)
	[ "$m2" != "$m" ]
	lab_sampler_check
}

@test "errors: no launcher (exit 2), socket not accessible to another user (exit 2), usage (exit 1)" {
	run "$FAILOVERCTL" -s "$BATS_TEST_TMPDIR/none.sock" status
	assert_failure 2
	assert_output --partial "no launcher is running on $BATS_TEST_TMPDIR/none.sock"
	lab_start 1
	lab_wait_role 1 master 10
	[ "$(stat -c %a "$LAB_DIR/n1/ctl.sock")" = 660 ]
	chmod 755 "$LAB_DIR" "$LAB_DIR/n1" "$BATS_TEST_TMPDIR" "$(dirname "$BATS_TEST_TMPDIR")" 2>/dev/null || true
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$FAILOVERCTL" -s "$LAB_DIR/n1/ctl.sock" status
	assert_failure 2
	assert_output --partial "Permission denied"
	run lab_ctl 1 frobnicate
	assert_failure 1
	assert_output --partial "unknown command 'frobnicate'"
	run "$FAILOVERCTL"
	assert_failure 1
}

@test "a stale socket from a crash is replaced; a live one is refused with a clear error" {
	lab_start 1
	lab_wait_role 1 master 10
	kill -9 "$(lab_pid 1)"
	[ -S "$LAB_DIR/n1/ctl.sock" ]
	lab_start 1
	# the status file is the dead launcher's until the new one writes it
	wait_until 10 lab_field_is 1 pid "$(lab_pid 1)"
	lab_wait_role 1 master 10
	run lab_ctl 1 ping
	assert_success
	assert_output pong
	# a second launcher on the same socket
	run ip netns exec "$LAB-n1" "$LAUNCHER" -c "$LAB_DIR/n1/launcher.ini" -o cluster.node=other \
		-o cluster.state_dir="$BATS_TEST_TMPDIR/other"
	assert_failure 1
	assert_output --partial "is in use by a running launcher; give each its own"
}

@test "a flood of junk and stalled clients on the control socket: heartbeats stay on time, others are served" {
	start_three --url --heard --broker
	before=$(lab_field "$m" promotions)
	python3 - "$LAB_DIR/n$m/ctl.sock" <<-'PY' &
	import os, random, socket, sys, time
	path = sys.argv[1]
	held = []
	end = time.monotonic() + 6
	n = 0
	while time.monotonic() < end and n < 5000:
	    s = socket.socket(socket.AF_UNIX)
	    try:
	        s.connect(path)
	    except OSError:
	        time.sleep(0.01); continue
	    kind = n % 3
	    if kind == 0:
	        s.send(os.urandom(random.randint(1, 3000)))      # junk, maybe no newline
	    elif kind == 1:
	        s.send(b"status" * 300 + b"\n")                  # too long
	    else:
	        held.append(s)                                   # says nothing, holds a slot
	        if len(held) > 40:
	            held.pop(0).close()
	        n += 1
	        continue
	    s.close()
	    n += 1
	PY
	flood=$!
	echo "$flood" >>"$LAB_DIR/pids"
	served=0
	for _ in $(seq 1 20); do
		lab_ctl "$m" -t 5 ping >/dev/null 2>&1 && served=$((served + 1))
		sleep 0.25
	done
	wait "$flood" || true
	echo "# $served of 20 pings served during the flood" >&3
	[ "$served" -ge 15 ]
	# no false failover, and the heartbeat timer kept its pace
	[ "$(lab_masters)" = "$m" ]
	[ "$(lab_field "$m" promotions)" = "$before" ]
	jitter=$(lab_ctl "$m" metrics | sed -n 's/^failover_heartbeat_jitter_ms{stat="max"} //p')
	echo "# heartbeat jitter max $jitter ms" >&3
	python3 -c "import sys; sys.exit(0 if float('$jitter') < 100 else 1)"
	lab_sampler_check
}

@test "SIGUSR1 writes the full state to the log" {
	lab_start 1
	lab_wait_role 1 master 10
	kill -USR1 "$(lab_pid 1)"
	sleep 0.3
	grep -q "SIGUSR1: state follows" "$LAB_DIR/n1/log"
	grep -q "state: role: *master" "$LAB_DIR/n1/log"
	grep -q "state: failover_term 1" "$LAB_DIR/n1/log"
}

hist() { # hist I EXPRESSION: python over `history --json` of node I (h: the array)
	lab_ctl "$1" history --json | python3 -c "import json,sys; h=json.load(sys.stdin); print($2)"
}

@test "history: role changes and a handover, newest last, as text and JSON; kept across a restart; bad lines skipped" {
	local t h
	start_three --broker
	t=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	run lab_ctl "$m" history
	assert_success
	assert_line --regexp "^20[0-9-]+T[0-9:.]+Z  term 1  n$m  role +candidate -> master: "
	run lab_ctl "$m" switchover "n$t"
	assert_success
	lab_wait_role "$t" master 10
	wait_until 5 lab_role_is "$m" slave
	[ "$(hist "$m" "[e['kind'] for e in h].count('handover')")" = 1 ]
	[ "$(hist "$m" "h[-1]['kind'] + ' ' + h[-1]['node']")" = "role n$m" ]
	[ "$(hist "$m" "h[-1]['reason'].startswith('master -> slave')")" = True ]
	[ "$(hist "$m" "all(e['time'].endswith('Z') and e['wall_ms'] > 0 for e in h)")" = True ]
	[ "$(hist "$t" "[e['term'] for e in h if e['reason'].split(': ')[0].endswith('-> master')][-1]")" = 2 ]
	lab_ctl "$m" history | sed 's/^/# /' >&3
	run lab_ctl "$m" history --yaml
	assert_failure 1
	assert_output --partial "history takes only --json"
	# kept in state_dir: a restart finds it, skipping a corrupt and a torn
	# line; a hostile reason stays one line in text and comes back whole
	h="$LAB_DIR/n$m/state/history"
	[ "$(wc -l <"$h")" -ge 3 ]
	lab_stop_node "$m" TERM
	printf 'h1 1764925557123 1 health n9 say "hi"\\nforged \\x01 end\nnot a history line\nh1 12 1 ro' >>"$h"
	local before
	before=$(grep -c '^h1 ' "$h")
	lab_start "$m"
	lab_wait_role "$m" slave 10
	grep -q "failover history $h: 2 lines that cannot be read skipped" "$LAB_DIR/n$m/log"
	[ "$(hist "$m" "[e['kind'] for e in h].count('handover')")" = 1 ]
	[ "$(hist "$m" "[e['reason'] for e in h if e['node'] == 'n9'][0]")" = "$(printf 'say "hi"\nforged \001 end')" ]
	run lab_ctl "$m" history
	assert_line --regexp '  n9  health +say "hi"\\nforged \\x01 end$'
	# the next entry rewrote the file clean
	wait_until 5 test "$(grep -c -v '^h1 ' "$h")" = 0
	[ "$(grep -c '^h1 ' "$h")" -ge "$before" ]
	lab_sampler_check
}

@test "control socket: an over-long request and a client past the limit get their error line; failoverctl never dies of SIGPIPE" {
	lab_start 1
	lab_wait_role 1 master 10
	sock="$LAB_DIR/n1/ctl.sock"
	run python3 -I -S - "$sock" <<-'PY'
	import socket, sys
	def talk(data, hold=()):
	    s = socket.socket(socket.AF_UNIX)
	    s.settimeout(3)
	    s.connect(sys.argv[1])
	    try:
	        s.sendall(data)
	    except OSError:
	        pass  # closed early: the answer is still to be read
	    out = b''
	    while True:
	        try:
	            b = s.recv(4096)
	        except ConnectionResetError:
	            return out + b'<reset>'
	        if not b:
	            return out
	        out += b
	# an over-long request, with and without its newline, and far over
	for data in (b'status ' + b'a' * 2000, b'status ' + b'a' * 2000 + b'\n', b'x' * 200000):
	    out = talk(data)
	    assert out == b'error: request longer than 1024 bytes\n', out
	# more clients than the launcher serves at once: the error line, no reset
	held = []
	for _ in range(32):
	    c = socket.socket(socket.AF_UNIX)
	    c.connect(sys.argv[1])
	    held.append(c)
	out = talk(b'status\n')
	assert out == b'error: too many clients; try again\n', out
	for c in held:
	    c.close()
	print('ok')
	PY
	assert_success
	assert_output ok
	# failoverctl checks what it sends: usage errors, launcher or not
	run "$FAILOVERCTL" -s "$sock" status "$(head -c 1100 /dev/zero | tr '\0' a)"
	assert_failure 1
	assert_output --partial "request longer than 1024 bytes"
	run "$FAILOVERCTL" -s "$LAB_DIR/none.sock" bogus
	assert_failure 1
	assert_output --partial "unknown command 'bogus'"
	lab_ctl 1 ping
}

@test "state directory removed while running: made again with the node id, term and election state" {
	lab_start 1
	lab_wait_role 1 master 10
	st="$LAB_DIR/n1/state"
	term=$(cat "$st/term")
	boot=$(cat "$st/boot")
	rm -rf "$st"
	wait_until 15 test -f "$st/term"
	[ "$(cat "$st/term")" = "$term" ]
	[ "$(cat "$st/boot")" = "$boot" ]
	[ ! -e "$st/node-id" ] # configured (node = n1): never kept there
	grep -q "^max_term=$term$" "$st/election"
	wait_until 5 grep -q '^role=master$' "$st/status"
	grep -q "state directory $st was removed while running: made again" "$LAB_DIR/n1/log"
	lab_ctl 1 ping
}
