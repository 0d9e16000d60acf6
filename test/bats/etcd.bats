#!/usr/bin/env bats
# cluster.backend = etcd: launchers with fake brokers in the lab, a real
# etcd (Debian's etcd-server, test/lib/etcd.bash) in namespaces of its
# own.  The role sampler runs throughout.  In the ASan pass only, with the
# other tests of real components.

load helpers
load ../lib/lab
load ../lib/etcd

setup() {
	[[ "${BUILD_DIR:-}" == *asan* ]] || skip "ASan pass only"
	lab_setup 3
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${LAB_DIR:-}" ] || lab_keep >&2 || true
	lab_teardown
}

# node I on the lab's etcd, lease TTL S seconds (default 3)
etcd_ini() {
	lab_ini "$1" "backend = etcd" "etcd_endpoint = ${ETCD_ENDPOINTS//,/$'\n'etcd_endpoint = }" \
		"lease_ttl = ${2:-3}" "position = $((100 + $1))"
}

master_is() { lab_role_is "$1" master && lab_has_broker "$1"; }

@test "etcd: one master, kill -9 of it -> the next in rank after the lease, SIGTERM -> at once; terms grow" {
	local i t0 ms term1 term2 term3
	etcd_lab_start 1
	for i in 1 2 3; do etcd_ini "$i"; done
	lab_sampler_start 300
	for i in 1 2 3; do lab_start "$i"; done
	wait_until 20 master_is 1
	lab_role_is 2 slave
	lab_role_is 3 slave
	term1=$(lab_field 1 term)
	lab_ctl 2 status | grep -q "n1"
	# kill -9: n2 leads once n1's lease has ended (3 s)
	t0=$(lab_ms)
	kill -9 "$(lab_pid 1)"
	wait_until 30 master_is 2
	ms=$(($(lab_ms) - t0))
	term2=$(lab_field 2 term)
	[ "$term2" -gt "$term1" ]
	echo "# kill -9 of the master: n2 master after $ms ms (lease 3 s), term $term1 -> $term2" >&3
	# SIGTERM: n2 hands over without waiting for its lease
	t0=$(lab_ms)
	kill -TERM "$(lab_pid 2)"
	wait_until 30 master_is 3
	ms=$(($(lab_ms) - t0))
	term3=$(lab_field 3 term)
	[ "$term3" -gt "$term2" ]
	echo "# SIGTERM of the master: n3 master after $ms ms, term $term3" >&3
	[ "$ms" -lt 3000 ]
	lab_sampler_check
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}

# brokers alive now; and a record of every moment two were
two_brokers_watch() { # runs until $LAB_DIR/watch.stop; writes $LAB_DIR/two
	: >"$LAB_DIR/two"
	while [ ! -e "$LAB_DIR/watch.stop" ]; do
		set -- $(lab_brokers_alive)
		[ $# -le 1 ] || echo "$(lab_ms) $*" >>"$LAB_DIR/two"
		sleep 0.02
	done
}

@test "etcd: the master cut off from etcd stops its broker before its lease ends; another serves; it rejoins as slave" {
	local i t0 down up
	etcd_lab_start 1
	for i in 1 2 3; do etcd_ini "$i"; done
	for i in 1 2 3; do lab_start "$i"; done
	wait_until 20 master_is 1
	wait_until 10 lab_role_is 2 slave
	two_brokers_watch 3>&- &
	echo $! >>"$LAB_DIR/pids"
	t0=$(lab_ms)
	lab_partition 1
	wait_until 10 ! lab_has_broker 1
	down=$(($(lab_ms) - t0))
	wait_until 30 master_is 2
	up=$(($(lab_ms) - t0))
	touch "$LAB_DIR/watch.stop"
	echo "# n1 cut off: its broker down after $down ms, n2 serving after $up ms (lease 3 s)" >&3
	grep -q "lead not renewed by its deadline" "$LAB_DIR/n1/log"
	[ ! -s "$LAB_DIR/two" ] || { cat "$LAB_DIR/two" >&2; false; }
	# back: n1 follows n2
	lab_heal 1
	wait_until 30 lab_role_is 1 slave
	[ "$(lab_field 1 master)" = n2 ] || lab_ctl 1 status >&2
	master_is 2
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}
