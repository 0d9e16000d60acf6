#!/usr/bin/env bats
# Membership and election in a lab of network namespaces (test/lib/lab.bash).
# A sampler reads every node's role every 15 ms and fails the test if two
# masters ever coexist in one connected set of nodes.

load helpers
load ../lib/lab

DELAY=250
RETRIES=3
# the issue's bound for a takeover: (retries + 2) x delay
BOUND_MS=$(((RETRIES + 2) * DELAY))

LAB_DELAY=$DELAY
LAB_RETRIES=$RETRIES

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

# at most one master in the lab
at_most_one_master() { [ "$(lab_masters | wc -w)" -le 1 ]; }

@test "3 nodes started together: one master within (retries+2) x delay, two slaves" {
	local t0 m elapsed
	lab_sampler_start
	t0=$(lab_ms)
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 10)
	# measured by the launcher's own log, from its first line: a loaded
	# test shell polls late, and a loaded machine starts a process late
	# (under ASan and load, 0.5 s from t0 to n1's first line was seen)
	local first line
	line=$(head -n 1 "$LAB_DIR/n$m/log")
	first=$(($(date -d "${line:0:19}" +%s) * 1000 + 10#${line:20:3}))
	elapsed=$(($(lab_log_ms "$m" "Promoted to Master node") - first))
	echo "# first master n$m after $elapsed ms from its start, $(($(lab_log_ms "$m" "Promoted to Master node") - t0)) ms from the test's (bound $BOUND_MS ms)" >&3
	[ "$elapsed" -le "$BOUND_MS" ] || { lab_logs; false; }
	# the seed's log lines, for operators' alerts
	for line in "Creating listener..." "Creating broadcaster..." "Started listener" "Started broadcaster" \
		"Failover Manager has started"; do
		grep -qF "$line" "$LAB_DIR/n1/log"
	done
	grep -q "Promoted to Master node" "$LAB_DIR/n$m/log"
	grep -q "Failover Manager has been promoted" "$LAB_DIR/n$m/log"
	sleep 1
	[ "$(lab_masters)" = "$m" ]
	lab_sampler_check
}

@test "kill -9 of the master: exactly one new master within (retries+2) x delay" {
	local m t0 m2 elapsed
	start_three
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	t0=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	others=$(echo 1 2 3 | tr -d "$m")
	m2=$(lab_wait_one_master "$others" 10)
	elapsed=$(($(lab_log_ms "$m2" "Promoted to Master node") - t0))
	echo "# n$m killed, n$m2 master after $elapsed ms (bound $BOUND_MS ms)" >&3
	[ "$m2" != "$m" ]
	[ "$elapsed" -le "$BOUND_MS" ] || { lab_logs; false; }
	[ "$(lab_field "$m2" term)" -gt 1 ]
	lab_sampler_check
}

# SIGTERM to the master m; sets m2, the node that took over, and checks that
# it did within two intervals of the signal and that m named it.  The master
# names a node it has heard as a slave: two intervals first, so that every
# slave's heartbeat has reached it since the election.
sigterm_handover() {
	local others elapsed
	others=$(echo 1 2 3 | tr -d "$m")
	sleep $((2 * DELAY))e-3
	lab_groups "$others"
	kill -TERM "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 10)
	elapsed=$(($(lab_log_ms "$m2" "Promoted to Master node") - $(lab_log_ms "$m" "signal 15: stopping")))
	echo "# $1n$m stopped, n$m2 master after $elapsed ms (bound $((2 * DELAY)) ms)" >&3
	[ "$elapsed" -le $((2 * DELAY)) ] || { lab_logs; false; }
	grep -q "resigning in favour of n$m2" "$LAB_DIR/n$m/log"
	wait "$(lab_pid "$m")"
	[ "$(lab_role "$m")" = stopped ]
}

@test "SIGTERM of the master: it resigns in favour of the best slave, which promotes at once" {
	local m m2
	start_three
	sigterm_handover
	grep -q "master n$m resigned in favour of us" "$LAB_DIR/n$m2/log"
	lab_sampler_check
}

@test "with a quorum, SIGTERM of the master: the named slave promotes on the majority's votes" {
	local i m m2
	for i in 1 2 3; do lab_ini "$i" "expected_nodes = 3"; done
	start_three
	sigterm_handover "quorum: "
	grep -q "named by the resigning master, and a majority voted" "$LAB_DIR/n$m2/log"
	sleep 1
	[ "$(lab_masters)" = "$m2" ]
	lab_sampler_check
}

@test "SIGSTOP of the master beyond the timeout, then SIGCONT: it steps down, one master remains" {
	local m m2 others
	start_three
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 10)
	sleep 0.5
	kill -CONT "$(lab_pid "$m")"
	# it must notice its own stall and step down at once
	lab_wait_role "$m" listening 2 || lab_wait_role "$m" slave 2
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 10)" = "$m2" ]
	grep -q "stalled for" "$LAB_DIR/n$m/log"
	sleep $((2 * DELAY))e-3
	[ "$(lab_masters)" = "$m2" ]
	lab_sampler_check
}

@test "partition with quorum: the minority never promotes; the isolated master steps down; heal converges" {
	local i m m2 others s
	for i in 1 2 3; do lab_ini "$i" "expected_nodes = 3"; done
	start_three
	# cut a slave off: alone it is a minority and must stay slave
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	lab_groups "$(echo 1 2 3 | tr -d "$s")" "$s"
	lab_partition "$s"
	sleep 3
	[ "$(lab_role "$s")" != master ]
	run ! grep -q "Promoted to Master" "$LAB_DIR/n$s/log"
	[ "$(lab_field "$s" quorum)" = no ]
	lab_heal "$s"
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 10)" = "$m" ]
	# now isolate the master: its lease ends (nobody heard it) and it
	# steps down, before the other two may elect
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others" "$m"
	lab_partition "$m"
	m2=$(lab_wait_one_master "$others" 10)
	lab_wait_role "$m" slave 5
	grep -q "not heard by a majority" "$LAB_DIR/n$m/log"
	lab_heal "$m"
	sleep $((2 * DELAY))e-3
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 10)" = "$m2" ]
	lab_sampler_check
}

@test "partition without quorum: one master per side; exactly one within two intervals of the heal" {
	local m m2 others t0 left
	start_three
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others" "$m"
	lab_partition "$m"
	m2=$(lab_wait_one_master "$others" 10)
	[ "$(lab_role "$m")" = master ]
	lab_heal "$m"
	t0=$(lab_ms)
	# the two masters meet: the lower (term, rank) demotes at once
	WAIT_POLL=0.01 wait_until 5 at_most_one_master
	left=$(($(lab_ms) - t0))
	echo "# after the heal: one master in $left ms (bound $((2 * DELAY)) ms)" >&3
	[ "$left" -le $((2 * DELAY)) ]
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 5)" = "$m2" ]
	grep -q "outranks us" "$LAB_DIR/n$m/log"
	lab_sampler_check
}

@test "the old master restarted joins as slave; with preempt and the best position it takes over" {
	local m m2 others
	start_three
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	lab_stop_node "$m" KILL
	m2=$(lab_wait_one_master "$others" 10)
	lab_start "$m"
	lab_wait_role "$m" slave 5
	lab_groups "1 2 3"
	sleep 1.5
	[ "$(lab_masters)" = "$m2" ]
	grep -q "joined: master is n$m2" "$LAB_DIR/n$m/log"
	# again, now with preempt and the best position
	lab_stop_node "$m" TERM
	lab_groups "$others"
	lab_ini "$m" "preempt = yes" "position = 1"
	lab_start "$m"
	lab_wait_role "$m" master 10
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 5)" = "$m" ]
	grep -q "resigning in favour of n$m" "$LAB_DIR/n$m2/log"
	lab_sampler_check
}

@test "two clusters with different names on one group and port do not disturb each other" {
	local a b
	lab_destroy
	lab_create 4
	LAB_CLUSTER=alpha lab_ini 1
	LAB_CLUSTER=alpha lab_ini 2
	LAB_CLUSTER=beta lab_ini 3
	LAB_CLUSTER=beta lab_ini 4
	lab_groups "1 2" "3 4"
	lab_sampler_start
	for i in 1 2 3 4; do lab_start "$i"; done
	a=$(lab_wait_one_master "1 2" 10)
	b=$(lab_wait_one_master "3 4" 10)
	sleep 1.5
	[ "$(lab_masters "1 2")" = "$a" ]
	[ "$(lab_masters "3 4")" = "$b" ]
	[ "$(lab_field 1 peers)" = 1 ]
	lab_sampler_check
}

@test "unicast peer list: kill -9 of the master, one new master within (retries+2) x delay" {
	local i m m2 others t0 elapsed
	for i in 1 2 3; do
		lab_ini "$i" "peer = $(lab_addr 1):2710" "peer = $(lab_addr 2):2710" "peer = $(lab_addr 3):2710"
	done
	start_three
	grep -q "unicast, 3 peers" "$LAB_DIR/n1/log"
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	t0=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 10)
	elapsed=$(($(lab_log_ms "$m2" "Promoted to Master node") - t0))
	echo "# unicast: n$m2 master after $elapsed ms (bound $BOUND_MS ms)" >&3
	[ "$elapsed" -le "$BOUND_MS" ]
	lab_sampler_check
}

@test "a failure timeout under 100 ms is warned about at start, a longer one is not" {
	local i
	lab_start 1 -o cluster.delay=20 -o cluster.retries=3
	lab_start 2
	wait_until 5 grep -q "Failover Manager has started" "$LAB_DIR/n1/log"
	wait_until 5 grep -q "Failover Manager has started" "$LAB_DIR/n2/log"
	grep -q "failure timeout 60 ms (cluster.delay x cluster.retries)" "$LAB_DIR/n1/log"
	grep -q "Failover Manager has started" "$LAB_DIR/n2/log"
	run ! grep -q "failure timeout" "$LAB_DIR/n2/log"
}

@test "a node whose cluster settings differ from the master's says so, and neither claims nor votes" {
	local m m2 other
	lab_sampler_start
	lab_start 1
	lab_start 2
	m=$(lab_wait_one_master "1 2" 10)
	lab_start 3 -o cluster.retries=$((RETRIES + 2))
	wait_until 5 grep -q "differ from master n$m" "$LAB_DIR/n3/log"
	lab_ctl 3 status | grep -q "^hold: *not claiming or voting: our cluster settings"
	lab_ctl 3 status --json | grep -q '"settings_differ":true'
	[ "$(lab_ctl 3 metrics | awk '$1 == "failover_claim_hold{reason=\"settings-differ\"}" {print $2}')" = 1 ]
	[ "$(lab_ctl 1 metrics | awk '$1 == "failover_claim_hold{reason=\"settings-differ\"}" {print $2}')" = 0 ]
	# the master goes: the other node with the master's settings takes over
	other=$(echo 1 2 | tr -d "$m ")
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$other 3" 10)
	[ "$m2" = "$other" ]
	sleep 1
	[ "$(lab_role 3)" = slave ]
	[ "$(grep -c "claiming term" "$LAB_DIR/n3/log")" = 0 ]
	lab_sampler_check
}
