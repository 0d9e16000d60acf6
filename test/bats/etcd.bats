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
		"lease_ttl = ${2:-3}" "position = $((100 + $1))" "${@:3}"
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

@test "etcd: what operators see: hook term and master, role lines, counts, switchover's target, a follower cut off shows nothing live" {
	local i
	etcd_lab_start 1
	printf '#!/bin/sh\necho "$FAILOVER_TERM $FAILOVER_MASTER" >>%s/hook.$FAILOVER_NODE\n' "$LAB_DIR" >"$LAB_DIR/hook.sh"
	chmod +x "$LAB_DIR/hook.sh"
	LAB_BROKER_INI=("on_promote = $LAB_DIR/hook.sh")
	for i in 1 2 3; do
		LAB_BROKER_INI=("on_promote = $LAB_DIR/hook.sh" "url = tcp://$(lab_addr "$i"):61616")
		etcd_ini "$i"
	done
	for i in 1 2 3; do lab_start "$i"; done
	wait_until 20 master_is 1
	wait_until 10 lab_role_is 3 slave
	# peers and locate read the records: the same answers as with heartbeats
	wait_until 10 eval 'lab_ctl 2 peers | grep -qE "^n1 +master "'
	run lab_ctl 2 locate
	assert_success
	assert_output "tcp://$(lab_addr 1):61616"
	run lab_ctl 2 locate --uri failover
	assert_output "failover:(tcp://$(lab_addr 1):61616,tcp://$(lab_addr 2):61616,tcp://$(lab_addr 3):61616)?randomize=false"
	# the promote hook names the term the broker got, and its master
	wait_until 5 test -s "$LAB_DIR/hook.n1"
	[ "$(cat "$LAB_DIR/hook.n1")" = "$(lab_field 1 term) n1" ]
	grep -qE "role (listening|candidate) -> master" "$LAB_DIR/n1/log"
	grep -qE "role listening -> slave .*master is n1" "$LAB_DIR/n2/log"
	# the history has them too, the master's with its term
	lab_ctl 1 history | grep -qE "  term $(lab_field 1 term)  n1  role +(listening|candidate) -> master: "
	lab_ctl 2 history | grep -qE "  n2  role +listening -> slave: .*; master is n1$"
	lab_ctl 1 metrics | grep -q '^failover_promotions_total 1$'
	# etcd's figures in place of the heartbeats'
	run lab_ctl 1 metrics
	assert_line --regexp '^failover_etcd_requests_total [1-9][0-9]*$'
	assert_line --regexp '^failover_etcd_lease_ttl_seconds [3-9]$'
	assert_line "failover_etcd_endpoint{endpoint=\"$ETCD_ENDPOINTS\"} 1"
	refute_line --partial failover_heartbeats_total
	run lab_ctl 1 status
	assert_line --regexp "^etcd: +$ETCD_ENDPOINTS; last answer [0-9]+ ms ago, lease TTL [3-9] s; [1-9][0-9]* requests, [0-9]+ failed$"
	refute_line --partial "protocol:"
	# a switchover says whom it hands over to
	run lab_ctl 1 switchover n3
	assert_success
	assert_output --partial "hands over to n3"
	wait_until 20 master_is 3
	[ "$(tail -n 1 "$LAB_DIR/hook.n3")" = "$(lab_field 3 term) n3" ]
	lab_ctl 1 metrics | grep -q '^failover_demotions_total 1$'
	# a follower cut off from etcd past a lease: no master, no live peer
	lab_partition 2
	wait_until 15 lab_role_is 2 listening
	run lab_ctl 2 status --json
	assert_success
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert not [p for p in s["peers"] if p["live"]], s["peers"]' "$output"
	grep -q "role slave -> listening (etcd has not answered for" "$LAB_DIR/n2/log"
	# the requests that failed meanwhile, and why
	run lab_ctl 2 metrics
	assert_line --regexp '^failover_etcd_request_failures_total [1-9][0-9]*$'
	assert_line 'failover_etcd_error 1'
	lab_ctl 2 status | grep -q '^etcd error: '
	lab_heal 2
	wait_until 20 lab_role_is 2 slave
	[ "$(lab_field 2 master)" = n3 ]
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}

# one etcd member; n1 and n2 with etcd_failsafe, lease 3 s, the sampler
# running; n1 master, n2 slave (a node in failsafe mode listens for a
# lease before its first campaign)
failsafe_pair_up() {
	etcd_lab_start 1
	etcd_ini 1 3 "etcd_failsafe = yes"
	etcd_ini 2 3 "etcd_failsafe = yes"
	lab_sampler_start 300
	lab_start 1
	lab_start 2
	wait_until 30 master_is 1
	wait_until 10 lab_role_is 2 slave
}

@test "etcd_failsafe: every member down, the master serves on while the other node hears it; cut apart, it stops; etcd back, one master" {
	local t0 ms pid1
	failsafe_pair_up
	# the members the lead must hear, kept in etcd without a lease
	wait_until 10 eval 'etcdctl_lab get /failover-launcher/lab/failsafe --print-value-only | grep -q "\"members\":\[\"n1\",\"n2\"\]"'
	pid1=$(lab_broker_pid 1)
	# every member down: past a lease and a half, n1 still serves (n2
	# hears it directly and says so), n2 does not campaign
	etcd_kill 1
	t0=$(lab_ms)
	sleep 4.5
	[ "$(lab_broker_pid 1)" = "$pid1" ] || { lab_ctl 1 status >&2; false; }
	! lab_has_broker 2
	grep -q "failsafe: etcd does not answer; serving on while every member hears us" "$LAB_DIR/n1/log"
	lab_ctl 1 status | grep -q "failsafe"
	# cut apart: n1 no longer hears n2's word and stops before its end;
	# n2, without etcd, cannot lead
	t0=$(lab_ms)
	lab_partition 2
	wait_until 10 ! lab_has_broker 1
	ms=$(($(lab_ms) - t0))
	echo "# failsafe: every etcd member down 4.5 s, n1 served on; n2 cut off -> n1's broker down after $ms ms (lease 3 s)" >&3
	wait_until 5 grep -q "failsafe: the lead ends: n2 no longer says it hears us" "$LAB_DIR/n1/log"
	sleep 1
	! lab_has_broker 2
	# etcd and the link back: one master again
	lab_heal 2
	etcd_restart 1
	wait_until 40 eval 'master_is 1 || master_is 2'
	lab_sampler_check
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}

# node I's traffic to etcd member 1 dropped (nftables in its namespace);
# its cluster traffic flows
etcd_block() {
	ip netns exec "$LAB-n$1" nft -f - <<-NFT
		table inet etcdblock {
			chain out { type filter hook output priority 0; ip daddr $(etcd_addr 1) drop; }
		}
	NFT
}
etcd_unblock() { ip netns exec "$LAB-n$1" nft delete table inet etcdblock; }

@test "etcd_failsafe: the master cut from etcd alone serves on and takes its key again; kill -9 and SIGTERM still hand over" {
	local t0 ms pid1 term1
	failsafe_pair_up
	# n1 cannot reach etcd, n2 can, and they hear each other: n1 serves
	# on, n2 sees n1's key expire and does not campaign
	pid1=$(lab_broker_pid 1)
	term1=$(lab_field 1 term)
	wait_until 10 eval 'etcdctl_lab get /failover-launcher/lab/failsafe --print-value-only | grep -q n2'
	etcd_block 1
	wait_until 15 eval '! etcdctl_lab get /failover-launcher/lab/leader --print-value-only | grep -q n1'
	sleep 2
	[ "$(lab_broker_pid 1)" = "$pid1" ] || { lab_ctl 1 status >&2; false; }
	! lab_has_broker 2
	grep -q "failsafe: the leader key is free, but n1 is heard directly as master" "$LAB_DIR/n2/log"
	# etcd reachable again: n1 takes its key again in a new term, the
	# broker kept
	etcd_unblock 1
	wait_until 15 eval 'etcdctl_lab get /failover-launcher/lab/leader --print-value-only | grep -q n1'
	wait_until 10 eval '[ "$(lab_field 1 term)" -gt "$term1" ]'
	[ "$(lab_broker_pid 1)" = "$pid1" ]
	grep -q "failsafe: etcd answers again; the lead goes on" "$LAB_DIR/n1/log"
	t0=$(lab_ms)
	kill -TERM "$(lab_pid 1)"
	wait_until 20 master_is 2
	ms=$(($(lab_ms) - t0))
	echo "# failsafe on: SIGTERM of the master -> n2 master after $ms ms" >&3
	lab_start 1
	wait_until 30 lab_role_is 1 slave
	t0=$(lab_ms)
	kill -9 "$(lab_pid 2)"
	wait_until 30 master_is 1
	ms=$(($(lab_ms) - t0))
	echo "# failsafe on: kill -9 of the master -> n1 master after $ms ms (lease 3 s)" >&3
	lab_sampler_check
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}

# node I's cache: replicating with N peers
cache_peers_are() { lab_ctl "$1" metrics | grep -q "^failover_cache_replicating_peers $2\$"; }
mc_put() { # mc_put I KEY VALUE: through node I's memcached port
	mkdir -p "$BATS_TEST_TMPDIR/put"
	printf '%s' "$3" >"$BATS_TEST_TMPDIR/put/$2"
	ip netns exec "$LAB-n$1" memccp --servers=127.0.0.1:11311 "$BATS_TEST_TMPDIR/put/$2"
}
mc_get_is() { [ "$(ip netns exec "$LAB-n$1" memccat --servers=127.0.0.1:11311 "$2" 2>/dev/null)" = "$3" ]; }

@test "etcd: the cache finds its peers in the records: a value set on one node is read on the others, and on one restarted" {
	local i t0
	command -v memccp >/dev/null || skip "libmemcached-tools is not installed"
	etcd_lab_start 1
	for i in 1 2 3; do etcd_ini "$i"; done
	# n2 replicates on every address: its record gives its address toward etcd
	sed -i '/^interface = eth0$/d' "$LAB_DIR/n2/launcher.ini"
	t0=$(lab_ms)
	# whoever leads: the cache replicates between all of them
	for i in 1 2 3; do lab_start "$i"; done
	for i in 1 2 3; do wait_until 20 cache_peers_are "$i" 2; done
	echo "# every cache replicating with both peers $(($(lab_ms) - t0)) ms after the starts" >&3
	run lab_ctl 2 status --json
	python3 -c 'import json,sys; e=json.loads(sys.argv[1])["etcd"]; assert e["cache_addr"] == sys.argv[2] + ":2710", e' \
		"$output" "$(lab_addr 2)"
	mc_put 2 greeting "hello through etcd"
	wait_until 5 mc_get_is 3 greeting "hello through etcd"
	wait_until 5 mc_get_is 1 greeting "hello through etcd"
	# a node that was away gets what it missed when it connects again
	kill -9 "$(lab_pid 3)"
	# stored here; unacknowledged by n3 until the cache gives it up
	run mc_put 1 later "written while n3 was down"
	mc_get_is 1 later "written while n3 was down"
	lab_start 3
	wait_until 20 mc_get_is 3 later "written while n3 was down"
	mc_get_is 3 greeting "hello through etcd"
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log
}
