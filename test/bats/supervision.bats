#!/usr/bin/env bats
# Broker supervision with the fake broker (test/lib/fake-broker) in the
# namespace lab: where it runs, how it is stopped, restarted and isolated.

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

wait_broker() { # wait_broker I SECONDS: node I's fake broker is running
	wait_until "$2" lab_has_broker "$1" || { lab_logs >&2; return 1; }
}

wait_log() { # wait_log I TEXT SECONDS: node I's log contains TEXT
	wait_until "$3" grep -qF "$2" "$LAB_DIR/n$1/log"
}

at_most_one_master() { [ "$(lab_masters | wc -w)" -le 1 ]; }

wait_gone() { # wait_gone PID SECONDS: the process has exited within SECONDS
	WAIT_POLL=0.01 wait_until "$2" ! lab_alive "$1"
}

@test "the broker runs only on the master, never on a slave; a demoted master's broker is gone within stop_timeout" {
	local i s bp
	start_three --broker
	sleep 1
	[ "$(lab_brokers_alive)" = "$m" ]
	for i in 1 2 3; do
		[ "$i" = "$m" ] && continue
		[ ! -e "$LAB_DIR/n$i/broker/events" ]
	done
	grep -q "broker started: pid" "$LAB_DIR/n$m/log"
	# demotion: a slave with preempt and a better position takes over
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	bp=$(lab_broker_pid "$m")
	lab_stop_node "$s" TERM
	lab_ini "$s" "preempt = yes" "position = 1"
	lab_start "$s"
	lab_wait_role "$s" master 10
	wait_gone "$bp" 2
	wait_broker "$s" 5
	[ "$(lab_brokers_alive)" = "$s" ]
	grep -q "signal 15" "$LAB_DIR/n$m/broker/events"
	grep -q "broker pid $bp stopped (exit status 143" "$LAB_DIR/n$m/log"
	# the old broker had exited before the new one started
	old_exit=$(awk -v p="$bp" '$2 == p && $3 == "exit" {print $1}' "$LAB_DIR/n$m/broker/events")
	new_start=$(awk '$3 == "start" {print $1}' "$LAB_DIR/n$s/broker/events" | tail -n 1)
	echo "# old broker exit $old_exit, new broker start $new_start (gap $((new_start - old_exit)) ms)" >&3
	[ "$old_exit" -le "$new_start" ]
	lab_sampler_check
}

@test "a broker that ignores SIGTERM is killed with SIGKILL after stop_timeout, its children too" {
	local bp child t0 took
	LAB_BROKER_INI=("env = FAKE_IGNORE_TERM=1" "env = FAKE_CHILD=1")
	start_three --broker
	bp=$(lab_broker_pid "$m")
	wait_until 5 test -s "$LAB_DIR/n$m/broker/child"
	child=$(cat "$LAB_DIR/n$m/broker/child")
	lab_alive "$child"
	# a stopping launcher leaves the set the sampler judges (as in election.bats)
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	t0=$(lab_ms)
	kill -TERM "$(lab_pid "$m")"
	wait_gone "$bp" 5
	took=$(($(lab_ms) - t0))
	echo "# ignored SIGTERM: killed after $took ms (stop_timeout 2000)" >&3
	[ "$took" -ge 1900 ]
	wait_gone "$child" 1
	grep -q "still running 2000 ms after SIGTERM: SIGKILL to its process group" "$LAB_DIR/n$m/log"
	grep -q "killed by signal 9" "$LAB_DIR/n$m/log"
	wait "$(lab_pid "$m")"
	lab_sampler_check
}

@test "kill -9 of the launcher: its broker is dead within a second" {
	local bp
	LAB_BROKER_INI=("env = FAKE_IGNORE_TERM=1")
	start_three --broker
	bp=$(lab_broker_pid "$m")
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	kill -9 "$(lab_pid "$m")"
	wait_gone "$bp" 1
	lab_sampler_check
}

@test "crash: restart with back-off, resignation after max_restarts, another node's broker starts" {
	local m2 starts
	# n1 leads (best position) and its broker crashes 300 ms after each start
	LAB_BROKER_INI=("max_restarts = 2" "holddown = 60000" "env = FAKE_CRASH_MS=300")
	lab_ini 1 "position = 1"
	LAB_BROKER_INI=()
	lab_ini 2
	lab_ini 3
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	# 1 start + 2 restarts (200 ms, then 400 ms back-off) = 3 crashes, then it resigns
	lab_wait_role 1 slave 15
	m2=$(lab_wait_one_master "1 2 3" 10)
	[ "$m2" != 1 ]
	wait_broker "$m2" 5
	starts=$(grep -c ' start ' "$LAB_DIR/n1/broker/events")
	[ "$starts" -eq 3 ]
	grep -q "restarting the broker in 200 ms (restart 1 of 2)" "$LAB_DIR/n1/log"
	grep -q "restarting the broker in 400 ms (restart 2 of 2)" "$LAB_DIR/n1/log"
	grep -q "died unexpectedly: exit status 3" "$LAB_DIR/n1/log"
	grep -q "broker failed 3 times within 60000 ms: giving up mastership" "$LAB_DIR/n1/log"
	# held down: it stays slave, and its broker stays down
	sleep 1.5
	[ "$(lab_role 1)" = slave ]
	[ -z "$(lab_broker_pid 1)" ]
	[ "$(lab_brokers_alive)" = "$m2" ]
	lab_sampler_check
}

@test "the broker's process: empty signal mask, no ignored signals, only fds 0-2, no NOTIFY_SOCKET" {
	LAB_BROKER_INI=("java = $REPO_ROOT/test/lib/probe-broker")
	lab_ini 1
	# the launcher itself has a NOTIFY_SOCKET and an extra descriptor open
	NOTIFY_SOCKET=/nonexistent/notify WATCHDOG_USEC=1000000 lab_start 1 7</dev/null
	lab_wait_role 1 master 10
	wait_until 5 test -s "$LAB_DIR/n1/broker/env"
	bp=$(cat "$LAB_DIR/n1/broker/pid")
	sleep 0.2 # let the probe exec sleep
	grep -q '^SigBlk:[[:space:]]*0000000000000000$' "/proc/$bp/status"
	grep -q '^SigIgn:[[:space:]]*0000000000000000$' "/proc/$bp/status"
	[ "$(ls /proc/"$bp"/fd | sort -n | tr '\n' ' ')" = "0 1 2 " ]
	[ "$(readlink /proc/"$bp"/fd/0)" = /dev/null ]
	run ! grep -q '^NOTIFY_SOCKET=' "$LAB_DIR/n1/broker/env"
	run ! grep -q '^WATCHDOG_' "$LAB_DIR/n1/broker/env"
	grep -q '^FAILOVER_TERM=1$' "$LAB_DIR/n1/broker/env"
	grep -q '^FAILOVER_NODE=n1$' "$LAB_DIR/n1/broker/env"
	# its own session and process group
	read -r -a st <"/proc/$bp/stat"
	[ "${st[5]}" = "$bp" ] # session id
	[ "${st[4]}" = "$bp" ] # process group
	# its output reaches the launcher's, line by line with a prefix
	grep -q "broker\[$bp\]: probe broker ready" "$LAB_DIR/n1/log"
}

@test "exec failures are reported like a shell: 127 not found, 126 not executable" {
	printf '#!/nonexistent/interpreter\n' >"$BATS_TEST_TMPDIR/noint"
	printf '#!/\n' >"$BATS_TEST_TMPDIR/dirint"
	chmod +x "$BATS_TEST_TMPDIR/noint" "$BATS_TEST_TMPDIR/dirint"
	LAB_BROKER_INI=("java = $BATS_TEST_TMPDIR/noint" "max_restarts = 0" "holddown = 60000")
	lab_ini 1
	LAB_BROKER_INI=("java = $BATS_TEST_TMPDIR/dirint" "max_restarts = 0" "holddown = 60000")
	lab_ini 2 "position = 200"
	lab_start 1
	lab_start 2
	# each becomes master in turn, fails at once and gives up
	wait_log 1 "giving up mastership" 10
	grep -q "cannot run $BATS_TEST_TMPDIR/noint: No such file or directory (exit 127)" "$LAB_DIR/n1/log"
	grep -q "died unexpectedly: exit status 127" "$LAB_DIR/n1/log"
	wait_log 2 "giving up mastership" 10
	grep -q "cannot run $BATS_TEST_TMPDIR/dirint: Permission denied (exit 126)" "$LAB_DIR/n2/log"
	grep -q "died unexpectedly: exit status 126" "$LAB_DIR/n2/log"
}

@test "hooks: told role, term and node; a hung hook is killed at its timeout and never blocks the heartbeat" {
	local h="$BATS_TEST_TMPDIR/hook"
	LAB_BROKER_INI=("on_promote = env | grep ^FAILOVER_ | sort > $h.promote; sleep 30"
		"on_demote = env | grep ^FAILOVER_ | sort > $h.demote" "hook_timeout = 1000")
	for i in 1 2 3; do lab_ini "$i"; done
	start_three --broker
	# the promote hook sleeps; heartbeats go on, no slave takes over
	sleep 2
	[ "$(lab_masters)" = "$m" ]
	grep -q "hook promote\[[0-9]*\] still running after its timeout: killing it" "$LAB_DIR/n$m/log"
	grep -q "hook promote\[[0-9]*\] killed by signal 9" "$LAB_DIR/n$m/log"
	grep -q "^FAILOVER_EVENT=promote$" "$h.promote"
	grep -q "^FAILOVER_ROLE=master$" "$h.promote"
	grep -q "^FAILOVER_NODE=n$m$" "$h.promote"
	grep -q "^FAILOVER_TERM=1$" "$h.promote"
	# a demotion runs on_demote
	lab_stop_node "$m" TERM
	grep -q "^FAILOVER_EVENT=demote$" "$h.demote"
	grep -q "^FAILOVER_ROLE=slave$" "$h.demote"
	lab_sampler_check
}

@test "hooks after a split heals: the winner runs on_promote again, the loser on_demote once" {
	local h="$BATS_TEST_TMPDIR/hook" i m2 others
	# one line per run, in the file of the node that ran it
	LAB_BROKER_INI=("on_promote = echo \$FAILOVER_EVENT \$FAILOVER_ROLE \$FAILOVER_TERM \$FAILOVER_MASTER >> $h.\$FAILOVER_NODE"
		"on_demote = echo \$FAILOVER_EVENT \$FAILOVER_ROLE \$FAILOVER_TERM \$FAILOVER_MASTER >> $h.\$FAILOVER_NODE")
	for i in 1 2 3; do lab_ini "$i"; done
	start_three --broker
	wait_until 5 test -s "$h.n$m"
	# no quorum: each side of the split has a master
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others" "$m"
	lab_partition "$m"
	m2=$(lab_wait_one_master "$others" 10)
	wait_until 5 test -s "$h.n$m2"
	[ "$(lab_role "$m")" = master ]
	lab_heal "$m"
	# the two masters meet: the lower term demotes, the other stays
	WAIT_POLL=0.01 wait_until 5 at_most_one_master
	lab_groups "1 2 3"
	[ "$(lab_wait_one_master "1 2 3" 5)" = "$m2" ]
	wait_until 5 test "$(grep -c '^promote' "$h.n$m2")" = 2
	wait_log "$m2" "split healed: master n$m met us and stepped down" 5
	wait_until 5 grep -q '^demote' "$h.n$m"
	# once each, also after the loser's step-down flag has run out
	sleep 2
	echo "# n$m2 (winner): $(tr '\n' ';' <"$h.n$m2")  n$m (loser): $(tr '\n' ';' <"$h.n$m")" >&3
	[ "$(grep -c '^promote' "$h.n$m2")" = 2 ]
	[ "$(grep -c '^demote' "$h.n$m2")" = 0 ]
	[ "$(grep -c '^demote' "$h.n$m")" = 1 ]
	[ "$(grep -c '^promote' "$h.n$m")" = 1 ]
	# the second run says what a promotion says: master, its term, itself
	[ "$(sed -n 2p "$h.n$m2")" = "promote master $(lab_field "$m2" term) n$m2" ]
	[ "$(sed -n 1p "$h.n$m2")" = "$(sed -n 2p "$h.n$m2")" ]
	# and the history says why
	run lab_ctl "$m2" history
	assert_line --regexp "  n$m2  role +split healed: master n$m met us and stepped down; on_promote runs again"
	run lab_ctl "$m" history
	assert_line --regexp "  n$m  role +master -> slave: master n$m2 \(term 2, position [0-9]+\) outranks us \(term 1\): demoting$"
	lab_sampler_check
}

@test "readiness: a pattern in the output, a TCP port, and a broker never ready is a failed start" {
	LAB_BROKER_INI=("ready_pattern = ready" "env = FAKE_READY_MS=300")
	lab_ini 1
	lab_start 1
	lab_wait_role 1 master 10
	wait_log 1 "broker ready: its output matched 'ready'" 5
	[ "$(lab_field 1 broker)" = serving ]
	lab_stop_node 1 TERM

	# a name: looked up once at start, the probe then uses the address only
	LAB_BROKER_INI=("ready_tcp = localhost:7777" "env = FAKE_LISTEN=127.0.0.1:7777" "env = FAKE_READY_MS=300")
	lab_ini 2
	lab_start 2
	lab_wait_role 2 master 10
	wait_until 5 lab_field_is 2 broker serving
	grep -q "broker ready: 127.0.0.1:7777 accepts connections" "$LAB_DIR/n2/log"
	grep -q "broker.ready_tcp localhost:7777 is 127.0.0.1:7777 (looked up once)" "$LAB_DIR/n2/log"
	lab_stop_node 2 TERM

	# never ready: a failed start.  Alone (n1 and n2 stopped), nobody can
	# take over: n3 stays master, degraded, and tries again (restart_max);
	# with a standby it resigns
	LAB_BROKER_INI=("ready_pattern = never printed" "ready_timeout = 500" "max_restarts = 0" "holddown = 60000")
	lab_ini 3
	lab_start 3
	lab_wait_role 3 master 10
	wait_log 3 "degraded: no eligible healthy standby" 5
	grep -q "not ready within 500 ms: a failed start" "$LAB_DIR/n3/log"
	# its exit is said to be the kill for the failed start, not a death
	grep -q "killed (killed by signal 9 [^)]*)): not ready within 500 ms, a failed start" "$LAB_DIR/n3/log"
	! grep -q "died unexpectedly: killed by signal 9" "$LAB_DIR/n3/log"
	wait_until 5 lab_field_is 3 degraded yes
	lab_role_is 3 master
	LAB_BROKER_INI=()
	lab_ini 1
	lab_start 1
	lab_wait_role 3 slave 10
	lab_wait_role 1 master 10
	grep -q "resigning mastership: broker failed" "$LAB_DIR/n3/log"
}

@test "broker output to a file, and SIGTERM of the launcher stops the broker and exits 0" {
	lab_ini 1
	lab_start 1 -o log.broker_output="$BATS_TEST_TMPDIR/broker.out"
	lab_wait_role 1 master 10
	wait_until 5 grep -q "ready" "$BATS_TEST_TMPDIR/broker.out"
	grep -q "fake broker [0-9]* ready" "$BATS_TEST_TMPDIR/broker.out"
	grep -q "says hello on stderr" "$BATS_TEST_TMPDIR/broker.out"
	run ! grep -q "fake broker [0-9]* ready" "$LAB_DIR/n1/log"
	kill -TERM "$(lab_pid 1)"
	rc=0
	wait "$(lab_pid 1)" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "stopped (exit status 143 after SIGTERM)" "$LAB_DIR/n1/log" || grep -q "stopped (exit status 143)" "$LAB_DIR/n1/log"
	# the time the stop took, then the lifetime (not the lifetime alone)
	line=$(grep -o "stopped (exit status 143[^)]*) [0-9]* ms after SIGTERM; it ran [0-9]* ms" "$LAB_DIR/n1/log")
	took=$(echo "$line" | sed 's/.*) \([0-9]*\) ms after.*/\1/')
	ran=$(echo "$line" | sed 's/.*it ran \([0-9]*\) ms/\1/')
	[ "$took" -lt 2000 ] && [ "$ran" -gt "$took" ] || fail "stop: $line"
	[ "$(lab_role 1)" = stopped ]
}

# ---- broker.warm_standby (the fake broker plays the waiting JVM: it waits
# for "go TERM" on its stdin when its command carries the marker)

warm_ini() { # warm_ini MODE [more [broker] lines]: nodes 1 and 2
	local i
	LAB_BROKER_INI=("warm_standby = $1" "warm_jar = $BUILD_DIR/warm/failover-warm.jar" "${@:2}")
	for i in 1 2; do lab_ini "$i"; done
}

warm_ready() { # warm_ready I [NOT-PID]: node I has a ready warm standby (not NOT-PID)
	local w
	w=$(lab_field "$1" warm_pid)
	[ -n "$w" ] && [ "$w" != 0 ] && [ "$w" != "${2:-}" ] && lab_alive "$w" &&
		grep -q "warm standby\[$w\]: failover-warm: ready" "$LAB_DIR/n$1/log"
}

@test "warm standby: a slave's JVM is no broker until promoted; then it is the broker of the new term, and a spare follows" {
	[ -f "$BUILD_DIR/warm/failover-warm.jar" ] || skip "no failover-warm.jar in $BUILD_DIR (built where javac is)"
	warm_ini load
	lab_start 1
	lab_wait_role 1 master 15
	lab_start 2
	wait_until 20 warm_ready 2
	w2=$(lab_field 2 warm_pid)
	# no broker: the status, the fake's own events, its command's marker
	[ "$(lab_field 2 broker_pid)" = 0 ]
	grep -q "^[0-9]* $w2 warm role=standby init=False$" "$LAB_DIR/n2/broker/events"
	run grep " $w2 start" "$LAB_DIR/n2/broker/events"
	[ "$status" -ne 0 ]
	tr '\0' '\n' </proc/"$w2"/cmdline | grep -qx -- -Dfailover.warm=standby
	tr '\0' '\n' </proc/"$w2"/cmdline | grep -qx failover.launcher.WarmStandby
	# the master keeps a spare beside its broker
	wait_until 20 warm_ready 1
	w1=$(lab_field 1 warm_pid) b1=$(lab_broker_pid 1)
	[ -n "$b1" ] && [ "$w1" != "$b1" ]

	kill -9 "$(lab_pid 1)"
	lab_wait_role 2 master 15
	wait_until 10 lab_has_broker 2
	t=$(lab_field 2 term)
	[ "$(lab_broker_pid 2)" = "$w2" ]
	grep -q "^[0-9]* $w2 warm go $t$" "$LAB_DIR/n2/broker/events"
	grep -q "^[0-9]* $w2 start term=$t$" "$LAB_DIR/n2/broker/events"
	grep -q "broker started: pid $w2, term $t, from the warm standby" "$LAB_DIR/n2/log"
	[ "$(lab_field 2 warm_starts)" = 1 ]
	# the dead launcher's broker and spare went with it
	wait_gone "$b1" 5
	wait_gone "$w1" 5
	# a new spare on the new master; its environment has no term
	wait_until 20 warm_ready 2 "$w2"
	w=$(lab_field 2 warm_pid)
	tr '\0' '\n' </proc/"$w"/environ | grep -qx FAILOVER_ROLE=standby
	run grep "^FAILOVER_TERM=" <(tr '\0' '\n' </proc/"$w"/environ)
	assert_failure
	# a reload with the same settings keeps it; a changed command replaces it
	kill -HUP "$(lab_pid 2)"
	wait_until 10 grep -q "reload" "$LAB_DIR/n2/log"
	sleep 1
	[ "$(lab_field 2 warm_pid)" = "$w" ] && lab_alive "$w"
	echo "jvm_option = -Dwarm.test=1" >>"$LAB_DIR/n2/launcher.ini"
	kill -HUP "$(lab_pid 2)"
	wait_gone "$w" 5
	grep -q "warm standby pid $w: stopped, the configuration changed" "$LAB_DIR/n2/log"
	wait_until 20 warm_ready 2 "$w"
	tr '\0' '\n' </proc/"$(lab_field 2 warm_pid)"/cmdline | grep -qx -- -Dwarm.test=1
}

@test "warm standby: a crashed broker is replaced by the spare; a failed initializer makes standbys load only; a reload replaces the standby" {
	[ -f "$BUILD_DIR/warm/failover-warm.jar" ] || skip "no failover-warm.jar in $BUILD_DIR (built where javac is)"
	warm_ini init "env = FAKE_WARM_EXIT=3"
	lab_start 1
	lab_wait_role 1 master 15
	wait_until 10 lab_has_broker 1
	wait_until 20 warm_ready 1
	# every standby with initializers exited 3: from then on, load only
	grep -q "a static initializer failed; standbys load the classes without initializing them" "$LAB_DIR/n1/log"
	w=$(lab_field 1 warm_pid)
	grep -q "^[0-9]* $w warm role=standby init=False$" "$LAB_DIR/n1/broker/events"

	b=$(lab_broker_pid 1)
	kill -9 "$b"
	wait_until 10 lab_field_is 1 broker_pid "$w"
	grep -q "broker pid $b died unexpectedly" "$LAB_DIR/n1/log"
	grep -q "broker started: pid $w, term $(lab_field 1 term), from the warm standby" "$LAB_DIR/n1/log"
	wait_until 20 warm_ready 1 "$w"

	# a reload tries the initializers again (the operator may have fixed them)
	w=$(lab_field 1 warm_pid)
	kill -HUP "$(lab_pid 1)"
	wait_gone "$w" 5
	grep -q "warm standby pid $w: stopped, the next one runs the initializers again" "$LAB_DIR/n1/log"
	wait_until 20 warm_ready 1 "$w"
	[ "$(grep -c "a static initializer failed" "$LAB_DIR/n1/log")" -ge 2 ]
	[ "$(lab_role 1)" = master ]
	[ "$(lab_field 1 broker)" = serving ]
}
