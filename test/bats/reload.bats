#!/usr/bin/env bats
# A reload (SIGHUP) followed by every kind of work the daemon does: cache
# requests, control requests, a broker restart, a promotion.  Modules hold
# their settings by value, so nothing may read the configuration a reload
# freed; this runs in the ASan pass, where such a read aborts the launcher.
# For each class of key (config.def's reload column) it checks that the new
# value took effect, or was kept with a clear line.

load helpers
load ../lib/lab

PY=/usr/bin/python3
MC=127.0.0.1:11311

setup_file() {
	# the namespaces once for the file, in the pass that runs it
	[[ "$BUILD_DIR" == *asan* ]] || return 0
	lab_setup_file 2
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "runs in the ASan pass (a read of freed settings aborts there)"
	command -v memccp >/dev/null || skip "libmemcached-tools is not installed"
	LAB_DELAY=200
	LAB_RETRIES=4
	lab_setup 2
	LAB_BROKER_INI=("env = FAKE_MARK=before")
}

teardown() {
	lab_teardown
}

on() { # on I CMD...
	local i=$1
	shift
	ip netns exec "$LAB-n$i" "$@"
}

put() { # put I KEY VALUE
	mkdir -p "$BATS_TEST_TMPDIR/put"
	printf '%s' "$3" >"$BATS_TEST_TMPDIR/put/$2"
	on "$1" memccp --servers="$MC" "$BATS_TEST_TMPDIR/put/$2"
}

get() { on "$1" memccat --servers="$MC" "$2"; }

cache_holds() { [ "$(get "$1" "$2" 2>/dev/null)" = "$3" ]; } # cache_holds I KEY VALUE

# The environment file of node I's running fake broker.
broker_env() { echo "$LAB_DIR/n$1/broker/env-$(lab_broker_pid "$1")"; }

# broker_runs I [NOT-PID]: node I's fake broker runs, and is not NOT-PID
broker_runs() {
	local p
	p=$(lab_broker_pid "$1")
	[ -n "$p" ] && [ "$p" != "${2:-}" ] && [ -s "$LAB_DIR/n$1/broker/env-$p" ]
}

wait_broker() { wait_until 10 broker_runs "$@"; } # wait_broker I [NOT-PID]

log_has() { [ "$(grep -cF -- "$2" "$LAB_DIR/n$1/log")" -ge "$3" ]; }
wait_log() { wait_until 10 log_has "$@"; } # wait_log I TEXT COUNT

# Rewrites node I's configuration: new values for keys of every class.
edit_ini() {
	local f="$LAB_DIR/n$1/launcher.ini"
	# RESTART keys: identity, the cache's address
	sed -i "s/^node = n$1\$/node = renamed$1/" "$f"
	printf '[cache]\nlisten = 127.0.0.1:11399\nmode = async\n' >>"$f"
	# LIVE keys: election order, retries, the broker's environment and
	# restart delay, the log level
	sed -i "s/^retries = .*/retries = 5/" "$f"
	printf '[cluster]\nposition = %s\n' "$((40 + $1))" >>"$f"
	sed -i "s/^env = FAKE_MARK=before\$/env = FAKE_MARK=after/; s/^restart_min = .*/restart_min = 300/" "$f"
	printf '[log]\nlevel = debug\n' >>"$f"
}

@test "after a reload: cache, control, broker restart and promotion work; each key applied or kept with a clear line" {
	lab_sampler_start 120
	lab_start 1
	lab_wait_role 1 master 10
	lab_start 2
	lab_wait_role 2 slave 10
	wait_broker 1
	grep -qx "FAKE_MARK=before" "$(broker_env 1)"
	put 1 early "written before the reload"

	for i in 1 2; do
		edit_ini "$i"
		kill -HUP "$(lab_pid "$i")"
		wait_log "$i" "INFO: reloaded" 1
	done

	# kept until a restart, each with its own line
	for i in 1 2; do
		grep -q "reload: cluster.node changed: it takes effect after a restart; the running value is kept" \
			"$LAB_DIR/n$i/log"
		grep -q "reload: cache.listen changed: it takes effect after a restart" "$LAB_DIR/n$i/log"
		[ "$(lab_field "$i" node)" = "n$i" ]
		# applied, each with its own line
		grep -q "reload: cluster.position changed: applied$" "$LAB_DIR/n$i/log"
		grep -q "reload: broker.env changed: applied from the broker's next start" "$LAB_DIR/n$i/log"
		grep -q "reload: cache.mode changed: applied$" "$LAB_DIR/n$i/log"
	done
	run lab_ctl 1 status
	assert_success
	assert_output --partial "node:      n1 (cluster lab, position 41)"
	run lab_ctl 2 status --json
	assert_success
	assert_output --partial '"node":"n2"'
	# the failure timeout: delay x the new retries (was x 4)
	assert_output --partial '"delay_ms":200,"timeout_ms":1000,'

	# the cache, on its old address, in its new mode
	[ "$(get 1 early)" = "written before the reload" ]
	[ "$(get 2 early)" = "written before the reload" ]
	put 2 late "written after the reload"
	wait_until 5 cache_holds 1 late "written after the reload"
	run lab_ctl 1 metrics
	assert_output --partial "failover_cache_synchronous 0"
	run lab_ctl 1 cache get early
	assert_success

	# a broker restart runs the new command
	old=$(lab_broker_pid 1)
	kill -9 "$old"
	wait_log 1 "restarting the broker in 300 ms" 1
	wait_broker 1 "$old"
	grep -qx "FAKE_MARK=after" "$(broker_env 1)"
	# the log level: the supervisor's transitions are debug lines
	wait_log 1 "DEBUG: broker supervisor" 1

	# a promotion: the master resigns, the reloaded slave takes over with the
	# new settings
	lab_stop_node 1 TERM
	lab_groups "2"
	lab_wait_role 2 master 10
	wait_broker 2
	grep -qx "FAKE_MARK=after" "$(broker_env 2)"
	[ "$(get 2 late)" = "written after the reload" ]

	# nothing read freed memory: both launchers ran until told to stop
	lab_alive "$(lab_pid 2)"
	run grep -l "ERROR: AddressSanitizer\|runtime error:" "$LAB_DIR/n1/log" "$LAB_DIR/n2/log"
	assert_failure
	lab_sampler_check
}

@test "an invalid configuration is refused whole: nothing of it applies, the node keeps working" {
	lab_start 1
	lab_wait_role 1 master 10
	wait_broker 1
	f="$LAB_DIR/n1/launcher.ini"
	sed -i "s/^env = FAKE_MARK=before\$/env = FAKE_MARK=after/" "$f"
	printf '[cluster]\nposition = 7\ndelay = 5\n' >>"$f"
	kill -HUP "$(lab_pid 1)"
	wait_log 1 "reload refused: the configuration is not valid; keeping the running one" 1
	run lab_ctl 1 status
	assert_success
	assert_output --partial "position 100)"
	put 1 k "still here"
	[ "$(get 1 k)" = "still here" ]
	old=$(lab_broker_pid 1)
	kill -9 "$old"
	wait_broker 1 "$old"
	grep -qx "FAKE_MARK=before" "$(broker_env 1)"
	run grep -c "reload: .* changed" "$LAB_DIR/n1/log"
	assert_output 0
}

broker_state_is() { lab_ctl 1 status --json | grep -q "\"broker\":{\"state\":\"$1\""; }

@test "a reload while the broker starts: that start keeps its readiness test, the next one takes the new" {
	LAB_BROKER_INI=("env = FAKE_READY_MS=2500" "env = FAKE_LISTEN=127.0.0.1:61999"
		"ready_tcp = 127.0.0.1:61999" "ready_timeout = 20000")
	lab_ini 1
	lab_start 1
	wait_until 10 broker_state_is starting
	# the readiness test goes away while this start still waits for it
	sed -i '/^ready_tcp = /d' "$LAB_DIR/n1/launcher.ini"
	kill -HUP "$(lab_pid 1)"
	wait_log 1 "INFO: reloaded" 1
	grep -q "reload: broker.ready_tcp changed: applied from the broker's next start" "$LAB_DIR/n1/log"
	broker_state_is starting
	wait_log 1 "broker ready: 127.0.0.1:61999 accepts connections" 1
	broker_state_is serving
	lab_alive "$(lab_pid 1)"
	# the next start has no readiness test: serving at once
	old=$(lab_broker_pid 1)
	kill -9 "$old"
	wait_broker 1 "$old"
	wait_until 10 broker_state_is serving
	[ "$(grep -c "broker ready: 127.0.0.1:61999" "$LAB_DIR/n1/log")" = 1 ]
}
