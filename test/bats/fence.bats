#!/usr/bin/env bats
# The fence (launcher/broker/fence.c) in the namespace lab, without
# systemd: a master launcher that cannot act (SIGSTOP of its pid, of its
# whole process group, stuck in a kernel call on its state_dir) still has
# its broker stopped before another node's broker starts.  Each test
# reports the longest time two brokers were alive (the sampler's
# two_brokers_longest_ms) and requires 0.  In the ASan pass only, as the
# other real-launcher fault tests of this kind.

load helpers
load ../lib/lab

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "ASan pass only"
	LAB_BROKER_INI=()
	# timeout 1000 ms (fence deadline 900 ms after the last heartbeat);
	# stop_timeout 2000 ms (lab.bash) is longer: the fence sends SIGKILL
	LAB_DELAY=200
	LAB_RETRIES=5
	STALL_PID=""
	MNT=""
}

teardown() {
	[ -n "${LAB_DIR:-}" ] && rm -f "$LAB_DIR/stall"
	[ -n "$MNT" ] && umount -l "$MNT" 2>/dev/null
	[ -n "$STALL_PID" ] && { kill "$STALL_PID" 2>/dev/null; wait "$STALL_PID" 2>/dev/null; }
	lab_destroy
}

# fence_start I: node I's launcher in a process group (and session) of its
# own, as a shell with job control or a service manager starts it: what
# a SIGSTOP of "its group" means.  The pid stays the launcher's (setsid
# forks only when called by a group leader, which a background job of
# this shell is not).
fence_start() {
	local i=$1 pid
	[ -f "$LAB_DIR/n$i/launcher.ini" ] || lab_ini "$i"
	ip netns exec "$LAB-n$i" setsid "$LAUNCHER" -c "$LAB_DIR/n$i/launcher.ini" \
		>>"$LAB_DIR/n$i/log" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/n$i/pid"
	echo "$pid" >>"$LAB_DIR/pids"
}

# The fake broker's pid on node I once it runs.
broker_of() {
	wait_until 10 lab_has_broker "$1" || { lab_logs >&2; return 1; }
	lab_broker_pid "$1"
}

# frozen_failover M BP OTHERS WHAT: with master M frozen (its broker BP),
# waits for a new master among OTHERS and its broker, then for BP to be
# gone; reports the sampler's two-broker time and requires it to be 0.
frozen_failover() {
	local m=$1 bp=$2 others=$3 what=$4 m2
	m2=$(lab_wait_one_master "$others" 15)
	wait_until 10 lab_has_broker "$m2" || { lab_logs >&2; return 1; }
	WAIT_POLL=0.01 wait_until 10 ! lab_alive "$bp" || true
	# hold the freeze a while: a broker the fence missed would show
	sleep 0.5
	touch "$LAB_DIR/sampler.stop"
	wait_until 10 ! lab_alive "$(cat "$LAB_DIR/sampler.pid")"
	echo "# $what (timeout $((LAB_DELAY * LAB_RETRIES)) ms): $(cat "$LAB_DIR/sampler.summary")" >&3
	run ! lab_alive "$bp"
	grep -q 'two_brokers_longest_ms=0\b' "$LAB_DIR/sampler.summary"
	FENCE_M2=$m2
}

# thaw_and_check M: once the frozen master M runs again, it has stepped
# down and logged what the fence did; one master, one broker.
thaw_and_check() {
	local m=$1
	wait_until 10 grep -q "the fence stopped the broker: the launcher did not renew its deadline for" \
		"$LAB_DIR/n$m/log" || { lab_logs >&2; return 1; }
	grep "the fence stopped the broker" "$LAB_DIR/n$m/log" | tail -n 1 | sed 's/^/# n'"$m"': /' >&3
	# and so does its history
	lab_ctl "$m" history | grep -q "  n$m  fence     the fence stopped the broker: its deadline was not renewed for"
	lab_wait_role "$m" slave 10 || lab_wait_role "$m" listening 5
	[ "$(lab_wait_one_master "1 2 3" 10)" = "$FENCE_M2" ]
	[ "$(lab_brokers_alive)" = "$FENCE_M2" ]
}

@test "SIGSTOP of the master launcher's pid: the fence kills its broker before another starts" {
	local m bp others
	lab_create 3
	start_three
	bp=$(broker_of "$m")
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP "$(lab_pid "$m")"
	frozen_failover "$m" "$bp" "$others" "SIGSTOP of the launcher's pid"
	kill -CONT "$(lab_pid "$m")"
	lab_groups "1 2 3"
	thaw_and_check "$m"
}

@test "SIGSTOP of the master launcher's whole process group: the fence is not in it" {
	local m bp others pid pg
	lab_create 3
	lab_sampler_start
	for i in 1 2 3; do fence_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 10)
	bp=$(broker_of "$m")
	pid=$(lab_pid "$m")
	pg=$(ps -o pgid= -p "$pid" | tr -d ' ')
	[ "$pg" = "$pid" ] # the launcher leads its group
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP -- "-$pg"
	frozen_failover "$m" "$bp" "$others" "SIGSTOP of the launcher's process group"
	kill -CONT -- "-$pg"
	lab_groups "1 2 3"
	thaw_and_check "$m"
}

@test "the master launcher stuck in a write on state_dir (a stalled FUSE mount): the fence kills its broker" {
	local m bp pid i sys
	/usr/bin/python3 -c "import fusepy" 2>/dev/null || skip "python3-fusepy is not installed"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	lab_create 3
	# n1's state_dir is a FUSE mount of a plain directory that stalls the
	# launcher's writes on demand (test/lib/stall-fs.py)
	MNT="$LAB_DIR/n1/state"
	mkdir -p "$LAB_DIR/n1/backing"
	/usr/bin/python3 -I "$REPO_ROOT/test/lib/stall-fs.py" "$LAB_DIR/n1/backing" "$MNT" "$LAB_DIR/stall" \
		>"$LAB_DIR/stall-fs.log" 2>&1 3>&- &
	STALL_PID=$!
	wait_until 10 grep -q " $MNT fuse" /proc/mounts || { cat "$LAB_DIR/stall-fs.log" >&2; false; }
	lab_sampler_start
	# n1 first, alone: it is the master, the others join as slaves
	lab_start 1
	lab_wait_role 1 master 10
	bp=$(broker_of 1)
	lab_start 2
	lab_wait_role 2 slave 10
	pid=$(lab_pid 1)
	lab_groups "2 3"
	echo "$pid" >"$LAB_DIR/stall"
	# a status write: n3 joins, and n1 writes its new peer count (within
	# a second)
	lab_start 3
	# the launcher is in write(2) (syscall 1), waiting for the mount
	sys=""
	for i in $(seq 1 250); do
		sys=$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null) || sys=""
		[ "$sys" = 1 ] && break
		sleep 0.02
	done
	[ "$sys" = 1 ] || { echo "n1 not stuck in write(2): syscall '$sys'" >&2; false; }
	frozen_failover 1 "$bp" "2 3" "the launcher stuck in write(2) on its state_dir"
	# still stuck there all along
	[ "$(cut -d' ' -f1 "/proc/$pid/syscall")" = 1 ]
	rm -f "$LAB_DIR/stall"
	lab_groups "1 2 3"
	thaw_and_check 1
}

@test "at the defaults (timeout 5 s, stop_timeout 10 s): SIGSTOP of the master's pid, two brokers never" {
	local m bp others
	LAB_DELAY=1000
	LAB_RETRIES=5
	LAB_BROKER_INI=("stop_timeout = 10000")
	lab_create 3
	for i in 1 2 3; do lab_ini "$i"; done
	start_three
	bp=$(broker_of "$m")
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP "$(lab_pid "$m")"
	frozen_failover "$m" "$bp" "$others" "defaults, SIGSTOP of the launcher's pid"
	kill -CONT "$(lab_pid "$m")"
	lab_groups "1 2 3"
	thaw_and_check "$m"
	# SIGKILL: the deadline leaves no 10 s for a SIGTERM
	grep -q "the fence stopped the broker: .*(SIGKILL" "$LAB_DIR/n$m/log"
}

@test "a deadline that leaves stop_timeout: SIGTERM first, then SIGKILL at the deadline" {
	local m bp others
	# 100 ms x 10: the deadline is 950 ms after a heartbeat; with
	# stop_timeout 500 the SIGTERM goes out 450 ms after it (more than one
	# interval).  The broker ignores it, so SIGKILL follows at the deadline.
	LAB_DELAY=100
	LAB_RETRIES=10
	LAB_BROKER_INI=("stop_timeout = 500" "env = FAKE_IGNORE_TERM=1")
	lab_create 3
	for i in 1 2 3; do lab_ini "$i"; done
	start_three
	bp=$(broker_of "$m")
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP "$(lab_pid "$m")"
	frozen_failover "$m" "$bp" "$others" "SIGSTOP, SIGTERM then SIGKILL"
	grep -q " $bp signal 15" "$LAB_DIR/n$m/broker/events"
	kill -CONT "$(lab_pid "$m")"
	lab_groups "1 2 3"
	thaw_and_check "$m"
	grep -q "the fence stopped the broker: .*(SIGTERM, then SIGKILL" "$LAB_DIR/n$m/log"
}

# node I's fence process (a child of its launcher named failover-fence)
fence_pid() { pgrep -P "$(lab_pid "$1")" -x failover-fence; }
broker_changed() { local p; p=$(lab_broker_pid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }
fence_changed() { local p; p=$(fence_pid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }

@test "a broker restarted for its health is held by the fence, also by a fence forked again" {
	local m bp bp2 fp others
	lab_create 3
	LAB_BROKER_INI=("[health]" "command = test ! -e $LAB_DIR/sick" "interval = 300" "fall = 1" "action = restart")
	start_three
	LAB_BROKER_INI=()
	bp=$(broker_of "$m")
	touch "$LAB_DIR/sick"
	WAIT_POLL=0.02 wait_until 10 grep -qF "restarting the broker (1 of" "$LAB_DIR/n$m/log"
	rm -f "$LAB_DIR/sick"
	wait_until 10 broker_changed "$m" "$bp"
	bp2=$(lab_broker_pid "$m")
	# the fence dies; the launcher forks another, which must hold bp2
	fp=$(fence_pid "$m")
	[ -n "$fp" ]
	kill -9 "$fp"
	wait_until 5 fence_changed "$m" "$fp"
	sleep 0.3
	others=$(echo 1 2 3 | tr -d "$m")
	lab_groups "$others"
	kill -STOP "$(lab_pid "$m")"
	frozen_failover "$m" "$bp2" "$others" "SIGSTOP after a health restart and a new fence"
	kill -CONT "$(lab_pid "$m")"
	lab_groups "1 2 3"
	thaw_and_check "$m"
}

# The death notice (fence.h): a master launcher killed while its host
# lives.  2 s timeout (500 x 4), fence deadline 1.75 s after a heartbeat.

# crash_lab: the 3 nodes of these tests, at that timeout
crash_lab() {
	LAB_DELAY=500
	LAB_RETRIES=4
	lab_create 3
	for i in 1 2 3; do lab_ini "$i"; done
}

# crash_takeover M OTHERS: master M's launcher killed (kill -9); prints
# "NEW MS": the new master among OTHERS and the ms from the kill to its
# promotion (its log's own timestamp).
crash_takeover() {
	local m=$1 others=$2 t0 m2 tp
	t0=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 15) || return 1
	tp=$(lab_log_ms "$m2" "Promoted to Master node") || return 1
	echo "$m2 $((tp - t0))"
}

@test "kill -9 of the master's launcher, host alive: its fence's notice hands over at once, twice in a row" {
	local m m2 ms round others
	crash_lab
	start_three --broker
	for round in 1 2; do
		wait_until 10 lab_has_broker "$m" || { lab_logs >&2; return 1; }
		# every slave heard the master's latest packets (the notice names
		# one), and the one restarted last round is past its first timeout
		# (2 s: until then a resignation to it goes through a claim)
		sleep 2.5
		others=$(echo 1 2 3 | tr -d "$m")
		read -r m2 ms < <(crash_takeover "$m" "$others")
		echo "# round $round: n$m killed -> n$m2 promoted after ${ms} ms (timeout 2000 ms)" >&3
		# named by the notice: promoted once its term was written, no claim window
		grep -q "role slave -> candidate (master n$m resigned in favour of us; term [0-9]* to be written first)" \
			"$LAB_DIR/n$m2/log" || { grep -h "role\|resign\|claim\|fence" "$LAB_DIR"/n*/log >&2; false; }
		grep -q "role candidate -> master (master n$m resigned in favour of us" "$LAB_DIR/n$m2/log" ||
			{ grep -h "role\|resign\|claim\|fence" "$LAB_DIR"/n*/log >&2; false; }
		# well before anyone could have timed the master out
		[ "$ms" -lt 1500 ]
		wait_until 10 lab_has_broker "$m2" || { lab_logs >&2; return 1; }
		# its broker died with it; the fence is gone too
		wait_until 5 test -z "$(lab_broker_pid "$m")"
		lab_start "$m"
		lab_wait_role "$m" slave 10
		m=$m2
	done
	lab_sampler_check
	[ "$(lab_brokers_alive)" = "$m" ]
}

@test "kill -9 of a master frozen past its fence deadline: no notice; taken over at the timeout" {
	local m bp others m2
	crash_lab
	start_three
	bp=$(broker_of "$m")
	others=$(echo 1 2 3 | tr -d "$m")
	sleep 1
	kill -STOP "$(lab_pid "$m")"
	# the fence stops the broker at the deadline (1.75 s), before the others
	# time the master out (2 s); the kill comes after that deadline
	WAIT_POLL=0.01 wait_until 10 ! lab_alive "$bp"
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 15)
	wait_until 10 lab_has_broker "$m2"
	grep -q "master n$m lost: nothing heard for" "$LAB_DIR/n$m2/log"
	run grep -q "master n$m resigned" "$LAB_DIR/n$m2/log"
	[ "$status" = 1 ]
	lab_sampler_check
}

@test "kill -9 of a slave's launcher, or of the master's broker: no notice, the master stays" {
	local m s t term
	crash_lab
	start_three --broker
	term=$(lab_field "$m" term)
	read -r s t < <(echo 1 2 3 | tr -d "$m")
	sleep 1
	kill -9 "$(lab_pid "$s")"
	kill -9 "$(lab_broker_pid "$m")"
	# the broker is restarted where it was (restart_min); nobody resigned
	sleep 3
	[ "$(lab_role "$m")" = master ]
	[ "$(lab_field "$m" term)" = "$term" ]
	wait_until 10 lab_has_broker "$m"
	run grep -q "resigned" "$LAB_DIR/n$t/log"
	[ "$status" = 1 ]
	lab_sampler_check
}
