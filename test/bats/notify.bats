#!/usr/bin/env bats
# The systemd notification protocol, asserted datagram by datagram with our
# own NOTIFY_SOCKET listener (test/lib/notify-listen.py), outside systemd.

load helpers
load ../lib/lab

# the namespaces are built once for the file; every test gets fresh
# launchers, node directories and links (lab_setup)
setup_file() {
	lab_setup_file 2
}

teardown_file() {
	lab_teardown_file
}

setup() {
	lab_setup 2
	SOCK="$BATS_TEST_TMPDIR/notify.sock"
	OUT="$BATS_TEST_TMPDIR/notify.log"
	python3 "$REPO_ROOT/test/lib/notify-listen.py" "$SOCK" "$OUT" 120 >/dev/null 2>&1 3>&- &
	LISTENER=$!
	echo "$LISTENER" >>"$LAB_DIR/pids"
	wait_until 2 test -S "$SOCK"
}

teardown() {
	touch "$OUT.stop"
	lab_teardown
}

# The datagrams' texts, in order, without timestamps.
datagrams() { cut -d' ' -f2- "$OUT"; }

has_datagram() { datagrams | grep -qE "$1"; }

wait_datagram() { # wait_datagram REGEX SECONDS
	WAIT_POLL=0.02 wait_until "$2" has_datagram "$1" 2>/dev/null && return 0
	echo "no datagram matching '$1'; got:" >&2
	datagrams >&2
	return 1
}

@test "READY=1 only once the role is known; STATUS through a promotion and a demotion" {
	lab_ini 1
	NOTIFY_SOCKET="$SOCK" lab_start 1
	wait_datagram '^READY=1\|STATUS=master; broker pid [0-9]+ serving$' 10
	# before READY: only the listening status, never READY
	first=$(datagrams | head -n 1)
	[ "$first" = "STATUS=listening; joining cluster lab" ]
	[ "$(datagrams | grep -c 'READY=1')" -eq 1 ]
	# a better node with preempt takes over: n1 is demoted
	lab_ini 2 "preempt = yes" "position = 1"
	lab_start 2
	wait_datagram '^STATUS=slave; master is n2 \(term 2\)$' 10
	datagrams | grep -qE '^STATUS=master; handing over, broker pid [0-9]+ stopping$'
	# READY was sent once, and nothing after it repeated it
	[ "$(datagrams | grep -c 'READY=1')" -eq 1 ]
}

@test "WATCHDOG=1 at half of WATCHDOG_USEC from the event loop" {
	lab_ini 1
	NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=400000 lab_start 1
	wait_datagram '^READY=1' 10
	sleep 2
	# the pings' spacing, from the listener's timestamps (not their count
	# over a wall-clock span, which a busy machine stretches)
	gaps=$(awk '$2 == "WATCHDOG=1" { if (t) print $1 - t; t = $1 }' "$OUT" | sort -n)
	n=$(echo "$gaps" | grep -c .)
	median=$(echo "$gaps" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo "# $n watchdog pings at 200 ms: median gap $median ms" >&3
	[ "$n" -ge 5 ]
	[ "$median" -ge 100 ] && [ "$median" -le 400 ]
	# a frozen loop sends none (what it sent before the freeze is read first)
	kill -STOP "$(lab_pid 1)"
	sleep 0.5
	before=$(datagrams | grep -c '^WATCHDOG=1$')
	sleep 1
	[ "$(datagrams | grep -c '^WATCHDOG=1$')" -eq "$before" ]
	kill -CONT "$(lab_pid 1)"
}

@test "SIGHUP: RELOADING=1 then READY=1; a good change applies, a bad configuration is refused and the old stays" {
	lab_ini 1
	NOTIFY_SOCKET="$SOCK" lab_start 1
	wait_datagram '^READY=1' 10
	ini="$LAB_DIR/n1/launcher.ini"
	cp "$ini" "$ini.good"
	# a change that applies at once, and one that needs a restart
	sed -i -e 's/^delay = 200$/delay = 300/' -e 's/^name = lab$/name = other/' "$ini"
	kill -HUP "$(lab_pid 1)"
	wait_datagram '^RELOADING=1$' 5
	wait_datagram '^READY=1\|STATUS=master' 5
	grep -q "cluster.name changed: it takes effect after a restart" "$LAB_DIR/n1/log"
	grep -q "reloaded" "$LAB_DIR/n1/log"
	# a bad one
	: >"$OUT"
	sed -i 's/^delay = 300$/delay = fast/' "$ini"
	kill -HUP "$(lab_pid 1)"
	wait_datagram '^READY=1' 5
	[ "$(datagrams | head -n 1)" = "RELOADING=1" ]
	grep -q "cluster.delay: 'fast' is not a number" "$LAB_DIR/n1/log"
	grep -q "reload refused: the configuration is not valid; keeping the running one" "$LAB_DIR/n1/log"
	[ "$(lab_role 1)" = master ]
	# still serving, and still the old cluster name on the wire: a node of
	# cluster "lab" joins it as slave
	lab_ini 2
	lab_start 2
	lab_wait_role 2 slave 10
	[ "$(lab_field 2 master)" = n1 ]
}

@test "shutdown with a slow broker: STOPPING=1, then EXTEND_TIMEOUT_USEC while it stops" {
	LAB_BROKER_INI=("env = FAKE_STOP_MS=2500" "stop_timeout = 10000")
	lab_ini 1
	NOTIFY_SOCKET="$SOCK" lab_start 1
	wait_datagram '^READY=1' 10
	# the fake broker handles SIGTERM once it is up
	wait_until 5 grep -q ' ready$' "$LAB_DIR/n1/broker/events"
	: >"$OUT"
	kill -TERM "$(lab_pid 1)"
	rc=0
	wait "$(lab_pid 1)" || rc=$?
	[ "$rc" -eq 0 ]
	sleep 0.3 # the listener drains what the launcher sent before it exited
	datagrams | head -n 1 | grep -qx 'STOPPING=1' || { datagrams; false; }
	n=$(datagrams | grep -c '^EXTEND_TIMEOUT_USEC=3000000$' || true)
	echo "# $n EXTEND_TIMEOUT_USEC while a 2.5 s broker stopped" >&3
	[ "$n" -ge 2 ]
	datagrams | grep -qE '^STATUS=stopping; broker pid [0-9]+ stopping$'
	grep -q "stopped (exit status 143)" "$LAB_DIR/n1/log"
}
