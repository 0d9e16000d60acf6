#!/usr/bin/env bats
# Who a node is, as the others hear it: two launchers with one node id (a
# copied configuration), and a node restarted with its wall clock an hour
# behind or ahead of its previous run.  Real launchers in the namespace lab
# (test/lib/lab.bash); the role sampler fails a test if two masters ever
# coexist in one connected set.  In the ASan pass only (under 60 s).

load helpers
load ../lib/lab

DELAY=200
RETRIES=5
TIMEOUT_MS=$((DELAY * RETRIES))
LAB_DELAY=$DELAY
LAB_RETRIES=$RETRIES

setup_file() {
	[[ "$BUILD_DIR" == *asan* ]] || return 0
	lab_setup_file 4
	# the clock shim: CLOCK_REALTIME, gettimeofday and time shifted by
	# FAKE_CLOCK_OFFSET_S seconds (a time namespace shifts only the
	# monotonic and boot clocks)
	cat >"$BATS_FILE_TMPDIR/fakeclock.c" <<'EOF'
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long offset(void)
{
	const char *s = getenv("FAKE_CLOCK_OFFSET_S");
	return s != NULL ? atol(s) : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset();
	return (int)r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	if (tv != NULL) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = ts.tv_nsec / 1000;
	}
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
EOF
	cc -shared -fPIC -O2 -o "$BATS_FILE_TMPDIR/fakeclock.so" "$BATS_FILE_TMPDIR/fakeclock.c"
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "ASan pass only"
	lab_setup 4
	lab_groups "1 2 3"
}

teardown() {
	lab_teardown
}

metric() { # metric I NAME{LABELS}: a value from node I's metrics
	lab_ctl "$1" metrics | awk -v k="$2" '$1 == k {print $2}'
}

drops() { # drops I REASON (0 when the reason is not counted)
	local v
	v=$(metric "$1" "failover_packets_dropped_total{reason=\"$2\"}")
	echo "${v:-0}"
}

# peer_age I J: how long ago node I last heard node J (ms), from its peers.
peer_age() {
	lab_ctl "$1" peers --json | python3 -I -S -c "
import json, sys
for p in json.load(sys.stdin):
    if p['node'] == 'n$2':
        print(p['age_ms'])
        sys.exit(0)
sys.exit(1)"
}

# heard I J MS: node I heard node J less than MS ms ago.
heard() {
	local age
	age=$(peer_age "$1" "$2") || return 1
	[ "$age" -lt "$3" ]
}

heard_by_all() { # heard_by_all I MS: every one of $OTHERS heard node I less than MS ms ago
	local j
	for j in $OTHERS; do heard "$j" "$1" "$2" || return 1; done
}

conflict_json() { # node I's status --json says it holds for a node id conflict
	lab_ctl "$1" status --json | grep -q '"conflict":{"node_id":true'
}

three_peers_all() { # n1, n2 and n3 each count two peers
	local i
	for i in 1 2 3; do lab_ctl "$i" status | grep -qx "peers: *2" || return 1; done
}

promotions() { # the "Promoted to Master node" lines in the logs of NODES
	local i n=0
	for i in $1; do n=$((n + $(cat "$LAB_DIR/n$i/log" 2>/dev/null | grep -c "Promoted to Master node"))); done
	echo "$n"
}

@test "no example configuration sets a node id" {
	run grep -nE '^[[:space:]]*node[[:space:]]*=[[:space:]]*[^[:space:]]' "$REPO_ROOT"/conf/*.ini
	[ "$status" = 1 ] || fail "an example sets cluster.node: $output"
	run grep -nE '^node = ' "$REPO_ROOT/man/tools/ini5.in"
	[ "$status" = 1 ] || fail "the man page's example sets cluster.node: $output"
}

@test "a fourth launcher with n2's id: it exits 1 naming n2's address, n2 holds (conflict), one promotion after kill -9 of the master, n2 heard throughout" {
	local pid4 rc t0 texit p0 age max=0 other0 other1
	lab_sampler_start
	lab_start 1
	lab_wait_role 1 master 10
	lab_start 2
	lab_start 3
	wait_until 10 three_peers_all
	lab_wait_role 2 slave 5
	lab_wait_role 3 slave 5
	# node n2's configuration copied to a fourth host, with its own state_dir,
	# started once n2 is past its first timeout (two copies started within
	# one timeout of each other may both go: replay.h)
	sleep $((TIMEOUT_MS / 1000)).$((TIMEOUT_MS % 1000 / 100 + 1))
	lab_ini 4
	sed -i 's/^node = n4$/node = n2/' "$LAB_DIR/n4/launcher.ini"
	other0=$(drops 3 other-boot)
	p0=$(promotions "1 2 3 4")
	lab_start 4
	pid4=$(lab_pid 4)
	t0=$(lab_ms)
	# the older one (n2, past listening) holds and says so while it hears
	# the other (for a timeout after its last packet)
	if WAIT_POLL=0.01 wait_until 5 lab_field_is 2 conflict node-id; then
		json2=$(lab_ctl 2 status --json)
		text2=$(lab_ctl 2 status)
		metric2=$(metric 2 failover_node_id_conflict)
		metric3=$(metric 3 failover_node_id_conflict)
	fi
	# now the master dies, while n2 holds: exactly one promotion, never two masters
	kill -9 "$(lab_pid 1)"
	lab_groups "2 3"
	m2=$(lab_wait_one_master "2 3" 10)
	sleep $((TIMEOUT_MS / 1000)).5
	[ "$(lab_one_master "2 3")" = "$m2" ]
	[ "$(promotions "1 2 3 4")" = $((p0 + 1)) ] || fail "$(($(promotions "1 2 3 4") - p0)) promotions"
	lab_sampler_check
	# the newer one exited with status 1, naming the other's address
	wait_until 5 ! lab_alive "$pid4"
	rc=0
	wait "$pid4" || rc=$?
	[ "$rc" = 1 ] || fail "the duplicate exited with $rc"
	grep -q "node id n2 is also used by the launcher at $(lab_addr 2): give every node its own cluster.node; exiting" \
		"$LAB_DIR/n4/log"
	texit=$(lab_log_ms 4 "give every node its own cluster.node; exiting")
	grep -q "node id n2 is also used by the launcher at $(lab_addr 4)" "$LAB_DIR/n2/log"
	[[ "$json2" == *'"conflict":{"node_id":true,"with":"'$(lab_addr 4)'"'* ]] || fail "n2's status --json: $json2"
	echo "$text2" | grep -q "^conflict:  node id n2 is also used by the launcher at $(lab_addr 4)" ||
		fail "no conflict line in n2's status: $text2"
	[ "$metric2" = 1 ]
	[ "$metric3" = 0 ]
	# n3 went on hearing the real n2
	for _ in 1 2 3 4; do
		age=$(peer_age 3 2)
		[ "$age" -gt "$max" ] && max=$age
		sleep 0.1
	done
	[ "$max" -lt "$TIMEOUT_MS" ]
	other1=$(drops 3 other-boot)
	grep -q "conflict over" "$LAB_DIR/n2/log"
	[ "$(metric 2 failover_node_id_conflict)" = 0 ]
	echo "# duplicate exited $((texit - t0)) ms after its start (status $rc); n3 heard n2 at most $max ms ago after that;" \
		"n3 dropped $((other1 - other0)) of the duplicate's packets (other-boot), $(metric 3 failover_packets_two_boots_total) as a second live boot;" \
		"n$m2 promoted" >&3
}

# restart_with_offset I SECONDS: restarts node I's launcher with its wall
# clock shifted; checks the others hear the new process and counts what
# they dropped of it meanwhile.
restart_with_offset() {
	local i=$1 off=$2 j t0 r0 r1 o0 o1 b0 b1 h heard_ms
	b0=$(cat "$LAB_DIR/n$i/state/boot" 2>/dev/null || echo 0)
	r0=0 o0=0
	for j in $OTHERS; do
		r0=$((r0 + $(drops "$j" replay)))
		o0=$((o0 + $(drops "$j" other-boot)))
	done
	lab_stop_node "$i" KILL
	t0=$(lab_ms)
	LD_PRELOAD="$BATS_FILE_TMPDIR/fakeclock.so" FAKE_CLOCK_OFFSET_S=$off \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" lab_start "$i"
	# heard: last heard less than 2 intervals ago, so by the new process
	WAIT_POLL=0.02 wait_until 10 heard_by_all "$i" $((2 * DELAY)) || { lab_logs >&2; return 1; }
	lab_wait_role "$i" slave 10
	b1=$(cat "$LAB_DIR/n$i/state/boot" 2>/dev/null || echo 0)
	r1=0 o1=0
	for j in $OTHERS; do
		r1=$((r1 + $(drops "$j" replay)))
		o1=$((o1 + $(drops "$j" other-boot)))
	done
	heard_ms=0
	for j in $OTHERS; do
		h=$(lab_log_ms "$j" "node n$i restarted")
		[ $((h - t0)) -gt "$heard_ms" ] && heard_ms=$((h - t0))
	done
	echo "# clock ${off}s: n$i heard by n${OTHERS// /, n} $heard_ms ms after its kill (their logs);" \
		"replay drops $((r1 - r0)), other-boot drops $((o1 - o0)) (heartbeats every $DELAY ms, 2 receivers);" \
		"boot $b0 -> $b1" >&3
	[ "$b1" -gt "$b0" ]
	[ $((r1 - r0)) -le 3 ]
	# heard a timeout after its last packet (a loaded machine may add a bit)
	[ "$heard_ms" -lt $((TIMEOUT_MS + 1000)) ]
}

@test "a node restarted with its clock 1 h behind, then 1 h ahead, then right: heard each time; one promotion when the master dies" {
	local m s p0
	start_three
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	OTHERS=$(echo 1 2 3 | tr -d "$s" | xargs)
	lab_wait_role "$s" slave 5
	restart_with_offset "$s" -3600
	# its log's clock is the shifted one: the shim took
	[ $(($(date +%s) - $(date -d "$(tail -n 1 "$LAB_DIR/n$s/log" | cut -c1-19)" +%s))) -gt 3000 ]
	restart_with_offset "$s" 3600
	restart_with_offset "$s" 0
	# the master dies: exactly one of the other two promotes
	p0=$(promotions "1 2 3")
	kill -9 "$(lab_pid "$m")"
	lab_groups "$(echo 1 2 3 | tr -d "$m" | xargs)"
	m2=$(lab_wait_one_master "$(echo 1 2 3 | tr -d "$m" | xargs)" 10)
	sleep $((TIMEOUT_MS / 1000)).5
	[ "$(promotions "1 2 3")" = $((p0 + 1)) ] || fail "$(($(promotions "1 2 3") - p0)) promotions"
	echo "# master n$m killed: n$m2 promoted, alone" >&3
	lab_sampler_check
}

@test "a node restarted while another's launcher is paused: heard at once on its wake, not a timeout later" {
	local m s p t0 tw h left
	start_three
	m=$(lab_wait_one_master "1 2 3" 10)
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	p=$(echo 1 2 3 | tr -d "$m$s" | xargs)
	lab_wait_role "$s" slave 5
	lab_wait_role "$p" slave 5
	# p's launcher paused through s's last heartbeats, its kill and its
	# restart on a clock an hour behind; woken longer than a timeout after
	kill -STOP "$(lab_pid "$p")"
	sleep 0.3
	lab_stop_node "$s" KILL
	t0=$(lab_ms)
	LD_PRELOAD="$BATS_FILE_TMPDIR/fakeclock.so" FAKE_CLOCK_OFFSET_S=-3600 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" lab_start "$s"
	left=$((t0 + TIMEOUT_MS + 500 - $(lab_ms)))
	[ "$left" -le 0 ] || sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"
	tw=$(lab_ms)
	kill -CONT "$(lab_pid "$p")"
	WAIT_POLL=0.02 wait_until 10 heard "$p" "$s" $((2 * DELAY)) || { lab_logs >&2; fail "n$p never heard n$s's new run"; }
	h=$(lab_log_ms "$p" "node n$s restarted")
	echo "# n$p woke $((tw - t0)) ms after n$s's kill and heard its new run $((h - tw)) ms after its wake" \
		"(the old run's last packets are judged by when they arrived)" >&3
	# a timeout after the old run's last packet, which came before the
	# pause ended: at once, where a timeout after the wake was the defect
	[ $((h - tw)) -lt $((TIMEOUT_MS / 2)) ]
	lab_wait_role "$p" slave 5
	lab_sampler_check
}
