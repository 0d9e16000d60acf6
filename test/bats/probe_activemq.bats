#!/usr/bin/env bats
# The deep health probe for ActiveMQ (probes/activemq) against Debian's real
# broker: one node of the namespace lab runs conf/activemq.ini, and the test
# drives the probe on stdin and stdout as the launcher's [health] code does
# (check N / ok N ... / fail N ...), in that node's namespace.  Real
# components run in the ASan pass only, as in real_brokers.bats.

load helpers
load ../lib/lab
load ../lib/amq

PROBE="$BUILD_DIR/probes/activemq/activemq-probe"
# the launcher's check timeout; the probe answers within 4/5 of it
PROBE_TIMEOUT_MS=1500

setup_file() {
	# no skip here: bats fails the whole file for that in the plain pass
	[[ "$BUILD_DIR" == *asan* ]] || return 0
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "real ActiveMQ: sanitizer pass only"
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed (scripts/test.sh installs it)"
	if [ ! -x "$PROBE" ]; then
		# CMake skips the probe only without a JDK or the client jars
		command -v javac >/dev/null && [ -r /usr/share/java/activemq-client.jar ] &&
			fail "$PROBE was not built though javac and activemq-client.jar are there"
		skip "the probe is not built (no JDK or libactivemq-java)"
	fi
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup 1
	PROBE_PID=""
}

teardown() {
	probe_kill
	lab_teardown
}

# Starts node 1's launcher with the real broker and waits until it serves;
# sets BROKER_PID, the broker's JVM.
broker_start() {
	# the launcher's own probe off: this test's probe is the only consumer of its queue
	AMQ_HEALTH=0 amq_ini 1
	lab_start 1
	lab_wait_role 1 master 20
	amq_wait_serving 1 60 || { lab_logs 40; return 1; }
	BROKER_PID=$(lab_field 1 broker_pid)
	[ "$(cat "/proc/$BROKER_PID/comm")" = java ]
	# a stopped broker is continued and killed with the lab
	echo "$BROKER_PID" >>"$LAB_DIR/pids"
}

# probe_start NAME: starts the probe as the launcher does, in n1's
# namespace and a process group of its own; its stdin is fd 7, its stdout
# fd 8, its stderr $LAB_DIR/NAME.err.  Sets PROBE_PID (the JVM: ip, setsid,
# sh and the wrapper all exec).
probe_start() {
	local name=$1
	mkfifo "$LAB_DIR/$name.in" "$LAB_DIR/$name.out"
	FAILOVER_BROKER_URL="tcp://$(lab_addr 1):$AMQ_PORT" FAILOVER_NODE=n1 FAILOVER_CLUSTER=activemq \
		FAILOVER_TERM=1 FAILOVER_CHECK_TIMEOUT_MS=$PROBE_TIMEOUT_MS \
		ip netns exec "$LAB-n1" setsid /bin/sh -c "exec '$PROBE'" \
		<"$LAB_DIR/$name.in" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.err" 3>&- &
	PROBE_PID=$!
	echo "$PROBE_PID" >>"$LAB_DIR/pids"
	# read-write opens never block, even if the probe never opens its
	# ends; fd 7 is still the only writer of its stdin (EOF when closed)
	exec 7<>"$LAB_DIR/$name.in" 8<>"$LAB_DIR/$name.out"
}

# probe_answer SECONDS: the probe's next line, in PROBE_LINE; fails when
# none comes within SECONDS.
probe_answer() {
	PROBE_LINE=""
	IFS= read -r -t "$1" -u 8 PROBE_LINE
}

# probe_ok N [SECONDS]: check N is answered "ok N ..." within SECONDS (3).
probe_ok() {
	echo "check $1" >&7
	probe_answer "${2:-3}" || { echo "check $1: no answer in ${2:-3} s" >&2; return 1; }
	[[ "$PROBE_LINE" =~ ^ok\ $1\ rtt_us=[0-9]+( stale=[0-9]+)?$ ]] ||
		{ echo "check $1: '$PROBE_LINE'" >&2; return 1; }
}

# The launcher's stop: SIGTERM to the process group, SIGKILL after 2 s.
probe_kill() {
	exec 7>&- 8<&-
	[ -n "${PROBE_PID:-}" ] || return 0
	kill -TERM -- "-$PROBE_PID" 2>/dev/null || true
	wait_until 2 ! lab_alive "$PROBE_PID" 2>/dev/null || kill -KILL -- "-$PROBE_PID" 2>/dev/null || true
	wait "$PROBE_PID" 2>/dev/null || true
	PROBE_PID=""
}

# probe_eof: closes the probe's stdin; it must exit 0 within 5 s.
probe_eof() {
	local rc=0
	exec 7>&-
	wait_until 5 ! lab_alive "$PROBE_PID"
	wait "$PROBE_PID" || rc=$?
	exec 8<&-
	PROBE_PID=""
	[ "$rc" -eq 0 ] || { echo "probe exited $rc" >&2; return 1; }
}

# probe_no_ok N SECONDS: sends check N and reads for SECONDS: no "ok" may
# come (a "fail", for N or an earlier check, may), what came goes to the
# TAP output.
probe_no_ok() {
	local n=$1 limit=$2 t0 left
	t0=$(lab_ms)
	echo "check $n" >&7
	while :; do
		left=$((limit * 1000 - ($(lab_ms) - t0)))
		[ "$left" -gt 0 ] || return 0
		probe_answer "$((left / 1000)).$(printf '%03d' $((left % 1000)))" || return 0
		echo "# check $n: '$PROBE_LINE' after $(($(lab_ms) - t0)) ms" >&3
		[[ "$PROBE_LINE" != ok* ]] || { echo "an ok from a stopped broker: $PROBE_LINE" >&2; return 1; }
		[[ "$PROBE_LINE" == fail\ [0-9]*\ ?* ]] || { echo "not an answer: $PROBE_LINE" >&2; return 1; }
	done
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

@test "ActiveMQ probe: ok per check on one connection, about a millisecond of CPU each; EOF exits 0; nothing left behind" {
	local i c0 c1 rss ms
	broker_start
	probe_start p1
	# the JVM starts and connects before its first check is due
	probe_ok 1 10
	[ "$(cat "/proc/$PROBE_PID/comm")" = java ]
	# a line that is no check is not answered
	echo "hello" >&7
	for i in $(seq 2 21); do probe_ok "$i"; done
	c0=$(cpu_ticks "$PROBE_PID")
	for i in $(seq 22 121); do probe_ok "$i"; done
	c1=$(cpu_ticks "$PROBE_PID")
	rss=$(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$PROBE_PID/status")
	ms=$(((c1 - c0) * 1000 / $(getconf CLK_TCK)))
	echo "# 100 checks: $ms ms of CPU (utime+stime), last $PROBE_LINE; RSS $rss" >&3
	# one connection for all of it, said once on stderr
	[ "$(grep -c 'connected to' "$LAB_DIR/p1.err")" -eq 1 ]
	[ "$(wc -l <"$LAB_DIR/p1.err")" -eq 1 ] || { cat "$LAB_DIR/p1.err"; false; }
	# CPU: a few ms a check at most (measured here: about 1 ms)
	[ "$ms" -le 500 ]
	probe_eof
	# a new probe finds the queue empty: no stale message before its own
	probe_start p2
	probe_ok 1 10
	[[ "$PROBE_LINE" != *stale=* ]]
	probe_eof
}

@test "ActiveMQ probe: a stopped broker gets no ok within 2 s; after SIGCONT a new probe answers ok and drains what the killed one left" {
	local i
	broker_start
	probe_start p1
	probe_ok 1 10
	for i in 2 3 4 5; do probe_ok "$i"; done
	kill -STOP "$BROKER_PID"
	# no ok (within its budget, 4/5 of the timeout, the probe says why)
	probe_no_ok 6 2
	# the next check reconnects: the stopped JVM's kernel accepts, nothing
	# answers, and no ok comes either
	probe_no_ok 7 2
	# the launcher kills a probe that does not answer in time
	probe_kill
	kill -CONT "$BROKER_PID"
	probe_start p2
	probe_ok 1 10
	echo "# after SIGCONT: $PROBE_LINE" >&3
	for i in 2 3 4 5; do probe_ok "$i"; done
	probe_eof
	# the queue is empty again
	probe_start p3
	probe_ok 1 10
	[[ "$PROBE_LINE" != *stale=* ]]
	probe_eof
	grep -q 'lost: ' "$LAB_DIR/p1.err"
}
