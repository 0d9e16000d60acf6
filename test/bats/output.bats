#!/usr/bin/env bats
# A master whose stdout and stderr go to a pipe nobody reads (a stuck log
# shipper, "start-failover.sh | logger" that stalls) keeps its loop, its
# heartbeats and its role: the broker's lines are drained and dropped with
# a counter and a note, the launcher's own lines wait and come out once
# the pipe is read again.

load helpers
load ../lib/lab

# how long the pipe stays unread (longer by hand: OUTPUT_SECONDS=60)
OUTPUT_SECONDS=${OUTPUT_SECONDS:-8}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "ASan pass only"
	LAB_DELAY=200
	LAB_RETRIES=3
	lab_setup 2
}

teardown() {
	lab_teardown
}

metric() { # metric I NAME{LABELS}: a value from node I's metrics
	lab_ctl "$1" metrics | awk -v k="$2" '$1 == k {print $2}'
}

flooded() { # the fake broker's last count of lines printed on node 1
	sed -n 's/.* flooded \([0-9]*\)$/\1/p' "$LAB_DIR/n1/broker/events" 2>/dev/null | tail -n 1
}

flooding() { [ -n "$(flooded)" ]; }

reading() { [ "$(readlink "/proc/$1/fd/0")" = "$LAB_DIR/n1/out.fifo" ]; }

@test "a master writing to a pipe nobody reads stays master, drains its broker, and loses none of its own lines" {
	local fifo="$LAB_DIR/n1/out.fifo" out="$LAB_DIR/n1/out" pid holder reader t0 n0 n1 dropped
	# 1200 lines a second, 90 bytes each, half on stdout, half on stderr:
	# a pipe's 64 KiB fill in less than a tenth of a second
	LAB_BROKER_INI=("env = FAKE_FLOOD=60")
	lab_ini 1
	LAB_BROKER_INI=()
	lab_ini 2
	mkfifo "$fifo"
	# the reader that never reads: it holds the pipe open, so writes fill
	# it instead of failing
	sleep $((OUTPUT_SECONDS + 60)) <"$fifo" 3>&- &
	holder=$!
	echo "$holder" >>"$LAB_DIR/pids"
	ip netns exec "$LAB-n1" "$LAUNCHER" -c "$LAB_DIR/n1/launcher.ini" >"$fifo" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/n1/pid"
	echo "$pid" >>"$LAB_DIR/pids"
	lab_wait_role 1 master 10
	wait_until 5 flooding
	lab_start 2
	lab_wait_role 2 slave 10
	lab_sampler_start $((OUTPUT_SECONDS + 30))
	# timeout 600 ms: 8 s are more than 13 timeouts
	t0=$(lab_ms)
	n0=$(flooded)
	kill -USR1 "$pid" # lines of the launcher's own behind the full pipe
	while [ $(($(lab_ms) - t0)) -lt $((OUTPUT_SECONDS * 1000)) ]; do
		[ "$(lab_role 2)" = slave ] || { echo "n2 is $(lab_role 2) after $(($(lab_ms) - t0)) ms" >&2; false; }
		lab_alive "$pid"
		sleep 0.2
	done
	# the loop answers, and the broker was never blocked on its pipes
	lab_ctl 1 status | grep -q "^role: *master"
	n1=$(flooded)
	[ "$n1" -gt $((n0 + OUTPUT_SECONDS * 250)) ]
	dropped=$(metric 1 'failover_log_lines_dropped_total{source="broker"}')
	[ "$dropped" -gt 1000 ]
	[ "$(metric 1 'failover_log_lines_dropped_total{source="launcher"}')" = 0 ]
	[ "$(lab_field 2 promotions)" = 0 ]
	lab_sampler_check
	echo "# $OUTPUT_SECONDS s with the pipe unread: n1 master, n2 slave; the broker printed $((n1 - n0)) lines in them," \
		"$dropped dropped since it began; n1 $(grep VmRSS "/proc/$pid/status" | tr -s ' \t' ' ')" >&3
	# someone reads again: what the launcher said is all there, in order
	cat <"$fifo" >"$out" 3>&- &
	reader=$!
	echo "$reader" >>"$LAB_DIR/pids"
	# a moment without a reader would be a broken pipe: its lines lost
	wait_until 5 reading "$reader"
	kill "$holder"
	wait_until 10 grep -q "SIGUSR1: state follows" "$out" || { grep -v "fake broker" "$out" | tail -n 30 >&2; false; }
	grep -q "Failover Manager has started" "$out"
	grep -q "Promoted to Master node" "$out"
	grep -Eq "[0-9]+ broker lines dropped: (stdout|stderr|stdout/stderr) is not being read" "$out"
	# and the last lines at exit
	kill -TERM "$pid"
	wait "$pid"
	wait_until 5 grep -q "stopped$" "$out"
	# every line whole: the launcher's, or one of the broker's
	run ! grep -Ev '^(broker\[[0-9]+\]: fake broker [0-9]+ (line [0-9]+ x{60}|ready|says hello on stderr)|[0-9-]+ [0-9:.]+ failover-launcher\[[0-9]+\] (INFO|WARNING|ERROR|DEBUG): .*)$' "$out"
	echo "# $(grep -c '^broker' "$out") broker lines came through" >&3
}

@test "a launcher whose output nobody reads stops at SIGTERM: the wait for its reader is bounded" {
	local fifo="$LAB_DIR/n1/out.fifo" pid holder t0 took
	LAB_BROKER_INI=("env = FAKE_FLOOD=60")
	lab_ini 1
	mkfifo "$fifo"
	sleep $((OUTPUT_SECONDS + 60)) <"$fifo" 3>&- &
	holder=$!
	echo "$holder" >>"$LAB_DIR/pids"
	ip netns exec "$LAB-n1" "$LAUNCHER" -c "$LAB_DIR/n1/launcher.ini" >"$fifo" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/n1/pid"
	echo "$pid" >>"$LAB_DIR/pids"
	lab_wait_role 1 master 10
	wait_until 5 flooding
	sleep 1
	t0=$(lab_ms)
	kill -TERM "$pid"
	# the broker stops at once; then 1.5 s for what is queued, at most
	wait_until 10 ! lab_alive "$pid"
	took=$(($(lab_ms) - t0))
	echo "# SIGTERM with the pipe unread: gone after $took ms" >&3
	[ "$took" -lt 4000 ]
	wait "$pid"
	[ -z "$(lab_broker_pid 1)" ]
}
