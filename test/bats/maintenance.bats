#!/usr/bin/env bats
# Maintenance mode (failoverctl pause / resume) in the namespace lab with
# the fake broker: nothing fails over while paused, a restarted node stays
# paused, a stale record loses, resume serves again without a failover.

load helpers
load ../lib/lab
load ../lib/etcd
load ../lib/upgrade

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
	[ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${LAB_DIR:-}" ] || lab_keep >&2 || true
	lab_teardown
}

# every running node (default all) says paused=VALUE in its status file
all_paused_are() {
	local i
	for i in ${2:-1 2 3}; do
		lab_field_is "$i" paused "$1" || return 1
	done
}

other_than() { echo 1 2 3 | tr -d "$1" | awk '{print $1}'; }

# primary I: the HTTP status of node I's /primary (http.listen on 8088)
primary() {
	ip netns exec "$LAB-n$1" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$(lab_addr "$1"):8088/primary"
}

@test "pause on a slave: no failover when the master's broker is killed; resume: the same master serves again" {
	local s bp t0 n i
	for i in 1 2 3; do
		lab_ini "$i"
		printf '[http]\nlisten = %s:8088\n' "$(lab_addr "$i")" >>"$LAB_DIR/n$i/launcher.ini"
	done
	start_three --broker --heard
	s=$(other_than "$m")
	wait_until 5 lab_field_is "$m" broker serving
	run lab_ctl "$s" pause
	assert_success
	assert_output --partial "paused (version 1)"
	wait_until 3 all_paused_are yes
	# the load balancer keeps its traffic: /primary answers 200 where the
	# broker serves
	[ "$(primary "$m")" = 200 ]
	[ "$(primary "$s")" = 503 ]
	for i in 1 2 3; do
		lab_field_is "$i" pause_version 1
		lab_field_is "$i" pause_by "n$s"
		grep -q "maintenance: paused by n$s (version 1" "$LAB_DIR/n$i/log"
	done
	# a second pause changes nothing
	run lab_ctl "$m" pause
	assert_success
	assert_output --partial "already paused by n$s"
	# no resign, no switchover while paused
	run lab_ctl "$m" resign
	assert_failure
	assert_output --partial "paused"
	run lab_ctl "$s" switchover
	assert_failure
	assert_output --partial "paused"
	# the master's broker killed by hand: it stays down, nobody takes over
	bp=$(lab_broker_pid "$m")
	kill -9 "$bp"
	wait_until 3 ! lab_has_broker "$m"
	sleep 2 # three failure timeouts (3 x 200 ms)
	[ "$(lab_masters)" = "$m" ]
	[ -z "$(lab_brokers_alive)" ]
	run lab_ctl "$m" status
	assert_output --partial "stays down until resume"
	assert_output --partial "paused by n$s"
	run lab_ctl "$m" status --json
	assert_output --partial '"paused":true'
	assert_output --partial '"broker_held_down":true'
	run lab_ctl "$s" metrics
	assert_line "failover_paused 1"
	assert_line "failover_pause_version 1"
	grep -q "stays down until resume" "$LAB_DIR/n$m/log"
	# resume from another node: the master stays, its broker serves again
	run lab_ctl "$s" resume
	assert_success
	assert_output --partial "resumed (version 2)"
	wait_until 3 all_paused_are no
	wait_until 5 lab_has_broker "$m"
	[ "$(lab_masters)" = "$m" ]
	wait_until 5 lab_field_is "$m" broker serving
	[ "$(primary "$m")" = 200 ]
	n=$(lab_field "$m" promotions)
	[ "$n" = 1 ]
	run lab_ctl "$m" metrics
	assert_line "failover_paused 0"
	run lab_ctl "$m" history
	assert_output --partial "pause"
	# back to normal: a broker that exits is restarted again
	bp=$(lab_broker_pid "$m")
	kill -9 "$bp"
	wait_until 5 bash -c "p=\$(cat '$LAB_DIR/n$m/broker/pid'); [ \"\$p\" != $bp ] && [ -e /proc/\$p ]"
	lab_sampler_check
}

@test "a paused node restarted comes back paused; one stopped before a resume comes back resumed" {
	local s t
	start_three --heard
	s=$(other_than "$m")
	t=$(echo 1 2 3 | tr -d "$m$s" | tr -d ' ')
	run lab_ctl "$m" pause
	assert_success
	wait_until 3 all_paused_are yes
	grep -qx "version=1 paused=1 by=n$m" "$LAB_DIR/n$s/state/pause"
	# a slave restarted during maintenance comes up paused, from its file
	lab_groups "$m $t"
	lab_stop_node "$s" TERM
	lab_start "$s"
	wait_until 5 lab_role_is "$s" slave
	lab_field_is "$s" paused yes
	grep -q "this node starts paused" "$LAB_DIR/n$s/log"
	lab_groups "1 2 3"
	# a node stopped while paused and started after the resume: its record
	# (version 1, paused) loses to the cluster's (version 2)
	lab_groups "$m $s"
	lab_stop_node "$t" TERM
	run lab_ctl "$s" resume
	assert_success
	wait_until 3 all_paused_are no "$m $s"
	lab_start "$t"
	wait_until 5 lab_field_is "$t" paused no
	lab_field_is "$t" pause_version 2
	grep -q "maintenance: resumed by n$s (version 2, heard from" "$LAB_DIR/n$t/log"
	lab_groups "1 2 3"
	sleep 0.5
	[ "$(lab_masters)" = "$m" ]
	lab_sampler_check
}

@test "a forged pause (no key, a wrong key) changes nothing; a pause record that does not read: paused until resume" {
	local s i
	start_three --heard
	# a heartbeat that carries a pause record, without the key or with a
	# wrong one: dropped before anything reads its payload
	ip -n "$LAB-sw" addr add "10.$LAB_NET.0.250/24" dev br0 2>/dev/null || true
	"$LAUNCHER" --new-key "$BATS_TEST_TMPDIR/wrong.key" >/dev/null
	ip netns exec "$LAB-sw" env FORGE_PAUSE=99:1:evil python3 "$REPO_ROOT/test/lib/packet-tool.py" forge \
		"10.$LAB_NET.0.250" 230.0.0.1 2710 lab evil 1 >/dev/null
	ip netns exec "$LAB-sw" env FORGE_PAUSE=99:1:evil python3 "$REPO_ROOT/test/lib/packet-tool.py" forge \
		"10.$LAB_NET.0.250" 230.0.0.1 2710 lab evil 1 "$BATS_TEST_TMPDIR/wrong.key" >/dev/null
	sleep 0.3
	for i in 1 2 3; do
		lab_field_is "$i" paused no
		lab_field_is "$i" pause_version 0
		run ! grep -q "evil" "$LAB_DIR/n$i/log"
	done
	s=$(other_than "$m")
	lab_groups "$(echo 1 2 3 | tr -d "$s")"
	lab_stop_node "$s" TERM
	echo "version=18446744073709551615 paused=1 by=nX" >"$LAB_DIR/n$s/state/pause"
	lab_start "$s"
	wait_until 5 lab_role_is "$s" slave
	lab_field_is "$s" paused yes
	grep -q "does not hold a valid pause record" "$LAB_DIR/n$s/log"
	# its guess is not spread: the others are not paused
	sleep 0.5
	all_paused_are no "$(echo 1 2 3 | tr -d "$s")"
	run lab_ctl "$s" status
	assert_output --partial "did not read"
	run lab_ctl "$s" resume
	assert_success
	wait_until 3 lab_field_is "$s" paused no
	wait_until 3 all_paused_are no
	lab_field_is "$m" pause_version 1
	lab_groups "1 2 3"
	lab_sampler_check
}

@test "pause is refused while a live peer runs a release without maintenance mode (64aed0b)" {
	local i rc=0
	upgrade_old_build || rc=$?
	[ "$rc" != 2 ] || skip "git has no $UPGRADE_OLD_REV (a shallow clone)"
	[ "$rc" = 0 ]
	for i in 1 2 3; do lab_ini "$i"; done
	lab_start 1
	lab_start 2
	upgrade_start_old 3
	lab_wait_one_master "1 2 3" 10 >/dev/null
	# its heartbeats have no pause field: status names it
	wait_until 5 bash -c "'$FAILOVERCTL' -s '$LAB_DIR/n1/ctl.sock' status | grep -q 'without maintenance mode (n3)'" || true
	run lab_ctl 1 pause
	assert_failure
	assert_output --partial "pause refused: 1 live peer runs a release without maintenance mode"
	assert_output --partial "n3"
	run lab_ctl 1 status
	assert_output --partial "without maintenance mode (n3)"
	sleep 0.3
	all_paused_are no "1 2"
}

@test "etcd: pause is etcd's key; the master's broker killed -> no failover; resume -> the same master serves" {
	local i bp s
	command -v etcd >/dev/null || skip "no etcd (Debian's etcd-server)"

	etcd_lab_start 1
	for i in 1 2 3; do
		lab_ini "$i" "backend = etcd" "etcd_endpoint = $ETCD_ENDPOINTS" "lease_ttl = 3" "position = $((100 + i))"
	done
	lab_sampler_start 300
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 20)
	wait_until 10 lab_has_broker "$m"
	s=$(other_than "$m")
	run lab_ctl "$s" pause
	assert_success
	assert_output --partial "written to etcd"
	wait_until 5 all_paused_are yes
	run etcdctl_lab get --print-value-only /failover-launcher/lab/pause
	assert_output "version=1 paused=1 by=n$s"
	bp=$(lab_broker_pid "$m")
	kill -9 "$bp"
	wait_until 3 ! lab_has_broker "$m"
	sleep 4 # past the lease's TTL (3 s)
	[ "$(lab_masters)" = "$m" ]
	[ -z "$(lab_brokers_alive)" ]
	run lab_ctl "$m" status
	assert_output --partial "stays down until resume"
	# a paused node restarted reads etcd's key (and its own file): paused
	lab_stop_node "$s" TERM
	lab_start "$s"
	wait_until 10 lab_role_is "$s" slave
	lab_field_is "$s" paused yes
	run lab_ctl "$s" resume
	assert_success
	wait_until 5 all_paused_are no
	wait_until 10 lab_has_broker "$m"
	[ "$(lab_masters)" = "$m" ]
	lab_field_is "$m" pause_version 2
	lab_sampler_check
}
