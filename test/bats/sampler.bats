#!/usr/bin/env bats
# The role sampler itself (test/lib/sampler.py, lab_sampler_start/check):
# every fault test trusts it, so it is tested both ways.  A status file
# whose launcher is dead (killed with SIGKILL: the file still says master
# until the restarted process writes its own) is no master; two live
# masters in one connected set are a violation, reported with the pid and
# term of each, and the lab's logs are kept.

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
	# kept logs of the violations made on purpose stay in this test's tmp
	LAB_KEEP_DIR="$BATS_TEST_TMPDIR/kept"
}

teardown() {
	lab_teardown
}

# fake_launcher: starts a process whose command name is the launcher's
# (a copy of sleep), records it for lab_destroy; sets fake.
fake_launcher() {
	[ -x "$BATS_TEST_TMPDIR/failover-launcher" ] || cp "$(command -v sleep)" "$BATS_TEST_TMPDIR/failover-launcher"
	"$BATS_TEST_TMPDIR/failover-launcher" 120 3>&- &
	fake=$!
	echo "$fake" >>"$LAB_DIR/pids"
}

# status I ROLE PID TERM: writes node I's status file as the launcher would.
status() {
	printf 'node=n%s\nrole=%s\nterm=%s\nmaster=\npeers=2\nquorum=yes\npid=%s\nbroker=idle\nbroker_pid=0\n' \
		"$1" "$2" "$4" "$3" >"$LAB_DIR/n$1/state/status.new"
	mv "$LAB_DIR/n$1/state/status.new" "$LAB_DIR/n$1/state/status"
}

summary_field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$LAB_DIR/sampler.summary" 2>/dev/null; }

samples_now() {
	local n
	n=$(summary_field samples)
	echo "${n:-0}"
}
samples_at_least() { [ "$(samples_now)" -ge "$1" ]; }

# sample_briefly: waits until the sampler has taken at least 20 more
# samples (it writes its summary every 10)
sample_briefly() { wait_until 20 samples_at_least $(($(samples_now) + 30)); }

@test "status files by hand: a dead, a zombie or a reused pid says master in vain; two live launchers are a violation" {
	local dead zombie live other
	fake_launcher
	dead=$fake
	kill -9 "$dead"
	wait "$dead" || true
	# a zombie: its parent (sleep, exec'd by the shell that started it)
	# never reaps it
	bash -c '"$1" 120 3>&- & echo $! >"$2"; exec sleep 120' zombie-parent \
		"$BATS_TEST_TMPDIR/failover-launcher" "$BATS_TEST_TMPDIR/zombie" 3>&- &
	echo $! >>"$LAB_DIR/pids"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/zombie"
	zombie=$(cat "$BATS_TEST_TMPDIR/zombie")
	echo "$zombie" >>"$LAB_DIR/pids"
	kill -9 "$zombie"
	wait_until 5 ! lab_alive "$zombie"
	[ -e "/proc/$zombie" ]
	sleep 120 3>&- &
	other=$! # a live process that is no launcher: a reused pid
	echo "$other" >>"$LAB_DIR/pids"
	fake_launcher
	live=$fake
	status 1 master "$dead" 3
	status 2 master "$live" 4
	status 3 master "$other" 2
	lab_sampler_start
	sample_briefly
	status 3 master "$zombie" 2
	sample_briefly
	lab_sampler_check
	[ "$(summary_field violations)" = 0 ]
	[ "$(summary_field stale_ignored)" -gt 10 ]
	[ "$(summary_field masters_seen)" = 1 ]
	grep -q "n2 pid $live term 4: master$" "$LAB_DIR/sampler.masters"
	run ! grep -q "^[0-9.]*s n[13] " "$LAB_DIR/sampler.masters"

	# node 1's file now names a live launcher too: two masters
	fake_launcher
	status 1 master "$fake" 3
	lab_sampler_start
	sample_briefly
	run lab_sampler_check
	assert_failure
	assert_output --partial "two masters seen in one connected set:"
	assert_output --partial "n1 (pid $fake, term 3), n2 (pid $live, term 4)"
	assert_output --regexp "n1 pid $fake term 3: master"
	[ "$(summary_field violations)" -gt 10 ]
	# a connected set of its own: no violation
	lab_groups "1" "2 3"
	lab_sampler_start
	sample_briefly
	lab_sampler_check
}

@test "kill -9 of a real master left in the connected set: its stale status is ignored, the new master recorded" {
	local m2 others dead term
	start_three
	others=$(echo 1 2 3 | tr -d "$m")
	dead=$(lab_pid "$m")
	term=$(lab_field "$m" term)
	kill -9 "$dead"
	# the sampler is not told: it must see through the stale file itself
	m2=$(lab_wait_one_master "$others" 10)
	[ "$(lab_role "$m")" = master ]
	[ "$(lab_field "$m" pid)" = "$dead" ]
	run ! lab_alive "$dead"
	sample_briefly
	# the restarted launcher replaces the file
	lab_start "$m"
	lab_wait_role "$m" slave 10
	lab_sampler_check
	[ "$(summary_field violations)" = 0 ]
	[ "$(summary_field stale_ignored)" -gt 10 ]
	grep -q "n$m pid $dead term $term: master$" "$LAB_DIR/sampler.masters"
	grep -q "n$m pid $dead term $term: master ended (pid $dead is gone)$" "$LAB_DIR/sampler.masters"
	grep -q "n$m2 pid $(lab_pid "$m2") term $(lab_field "$m2" term): master$" "$LAB_DIR/sampler.masters"
}

@test "a real dual master made on purpose: reported with pid and term of each, and the lab's logs kept" {
	local m2 others kept term
	start_three
	term=$(lab_field "$m" term)
	others=$(echo 1 2 3 | tr -d "$m")
	# the master is cut off without a quorum, but the sampler is told that
	# all three are still one connected set: two masters in it
	lab_partition "$m"
	m2=$(lab_wait_one_master "$others" 10)
	[ "$(lab_role "$m")" = master ]
	sample_briefly
	run lab_sampler_check
	lab_heal "$m"
	assert_failure
	assert_output --partial "two masters seen in one connected set:"
	assert_output --partial "n$m (pid $(lab_pid "$m"), term $term)"
	assert_output --partial "n$m2 (pid $(lab_pid "$m2"), term $(lab_field "$m2" term))"
	assert_output --partial "lab: the lab's logs, status files and the sampler's record are kept in $LAB_KEEP_DIR/"
	kept=$(echo "$output" | sed -n 's/.* are kept in //p')
	[ -d "$kept" ]
	grep -q "Promoted to Master node" "$kept/n$m/log"
	grep -q "Promoted to Master node" "$kept/n$m2/log"
	grep -q "^role=master$" "$kept/sampler.first-violation/n$m.status"
	grep -q "^role=master$" "$kept/sampler.first-violation/n$m2.status"
	grep -q "two masters in one connected set" "$kept/sampler.violations"
	grep -q "n$m2 pid $(lab_pid "$m2") term" "$kept/sampler.masters"
	[ -s "$kept/n$m/launcher.ini" ]
	[ -s "$kept/groups" ]
}
