#!/usr/bin/env bats
# Rolling upgrades: the previous release (64aed0b, built from git beside
# this build) and this one in one cluster, and a peer that speaks a newer
# protocol than ours.  A sampler reads every node's role every 15 ms and
# fails the test if two masters ever coexist.
#
# Both tests run in the ASan pass of scripts/test.sh only: one pass is
# enough for a mixed cluster, and the sanitizers watch the new code.

load helpers
load ../lib/lab
load ../lib/upgrade

TOOL="$REPO_ROOT/test/lib/packet-tool.py"
GROUP=230.0.0.1
PORT=2710

setup_file() {
	# the namespaces once for the file, in the pass that runs it
	[[ "$BUILD_DIR" == *asan* ]] || return 0
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "runs in the ASan pass (BUILD_DIR=.../build-asan)"
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup 3
}

teardown() {
	lab_teardown
}

# one master (prints it), brokers on it alone, and every node's view agrees
one_master() {
	local m i
	m=$(lab_wait_one_master "1 2 3" 20) || { lab_logs >&2; return 1; }
	upgrade_wait_brokers "$m" 20 || { lab_logs >&2; return 1; }
	for i in 1 2 3; do
		[ "$i" = "$m" ] || [ "$(lab_field "$i" master)" = "n$m" ] || { lab_logs >&2; return 1; }
	done
	echo "$m"
}

# cache_holds I KEY VALUE: node I's cache holds KEY = VALUE
cache_holds() { [ "$(upgrade_ctl "$1" cache get "$2" 2>/dev/null)" = "$3" ]; }

# wait_cache I KEY VALUE: until node I's cache holds KEY = VALUE (10 s)
wait_cache() { wait_until 10 cache_holds "$@"; }

@test "rolling upgrade from 64aed0b: slaves first, switchover, then the old master; one master throughout" {
	local rc=0 m m2 s i term0 restored
	upgrade_old_build || rc=$?
	[ "$rc" -ne 2 ] || skip "git has no commit $UPGRADE_OLD_REV here (a shallow clone?)"
	[ "$rc" -eq 0 ]
	lab_sampler_start 300
	for i in 1 2 3; do upgrade_start_old "$i"; done
	m=$(one_master)
	echo "# all on 64aed0b: n$m is master" >&3
	# the old release writes no protocol= line: it is the one running
	[ -z "$(lab_field "$m" protocol)" ]
	term0=$(lab_field "$m" term)
	# state the new release must read: a cache entry in every node's cache.db
	upgrade_ctl "$m" cache put upgrade "written by 64aed0b"
	for i in 1 2 3; do wait_cache "$i" upgrade "written by 64aed0b"; done
	sleep 0.5 # saved 50 ms after a change

	# 1. the slaves, one at a time, same configuration and state_dir
	for s in 1 2 3; do
		[ "$s" = "$m" ] && continue
		lab_stop_node "$s" TERM
		[ "$(lab_role "$s")" = stopped ]
		upgrade_start_new "$s"
		lab_wait_role "$s" slave 20 || { lab_logs; false; }
		[ "$(one_master)" = "$m" ]
		[ "$(lab_field "$s" protocol)" = 1 ]
		# it read the old release's cache file
		grep -q "cache restored from .*: 1 entries" "$LAB_DIR/n$s/log"
		echo "# n$s upgraded; n$m still master" >&3
	done

	# the old master hears the new nodes: nothing dropped for its version
	[ "$(upgrade_metric "$m" 'failover_packets_dropped_total{reason="version"}')" = 0 ]
	[ "$(lab_field "$m" peers)" = 2 ]

	# 2. switchover, asked of the old master: it hands over to a new node
	upgrade_ctl "$m" switchover
	m2=$(one_master)
	[ "$m2" != "$m" ]
	[ "$(lab_field "$m2" term)" -gt "$term0" ]
	[ "$(lab_field "$m2" protocol)" = 1 ]
	echo "# switchover: n$m2 (new) is master" >&3

	# 3. the last node
	lab_stop_node "$m" TERM
	upgrade_start_new "$m"
	lab_wait_role "$m" slave 20 || { lab_logs; false; }
	[ "$(one_master)" = "$m2" ]
	sleep 1
	[ "$(one_master)" = "$m2" ]
	for i in 1 2 3; do
		[ "$(lab_field "$i" protocol)" = 1 ]
		[ "$(lab_field "$i" newer_peers)" = 0 ]
		# old and new spoke one protocol: nothing was dropped for its version
		[ "$(upgrade_metric "$i" 'failover_packets_dropped_total{reason="version"}')" = 0 ]
		[ "$(upgrade_ctl "$i" cache get upgrade)" = "written by 64aed0b" ]
	done
	grep -q "cache restored from .*: 1 entries" "$LAB_DIR/n$m/log"

	# 4. a downgrade of a slave: 64aed0b reads what this release wrote
	s=$(echo 1 2 3 | tr -d "$m2" | awk '{print $1}')
	restored=$(grep -c "cache restored from .*: 1 entries" "$LAB_DIR/n$s/log")
	lab_stop_node "$s" TERM
	upgrade_start_old "$s"
	lab_wait_role "$s" slave 20 || { lab_logs; false; }
	[ "$(one_master)" = "$m2" ]
	[ "$(grep -c "cache restored from .*: 1 entries" "$LAB_DIR/n$s/log")" = $((restored + 1)) ]
	[ "$(upgrade_ctl "$s" cache get upgrade)" = "written by 64aed0b" ]
	echo "# n$s downgraded to 64aed0b; n$m2 still master" >&3
	lab_sampler_check
	# the fake brokers never ran on two nodes at once
	grep -q 'two_brokers_longest_ms=0\b' "$LAB_DIR/sampler.summary" || { cat "$LAB_DIR/sampler.summary"; false; }
}

@test "a peer speaking a newer protocol is heard, reported, and keeps a node from claiming" {
	local sender i
	lab_sampler_start 300
	# n3's namespace, with no launcher there, sends as node "n9" of protocol 2
	ip netns exec "$LAB-n3" python3 "$TOOL" newer "$(lab_addr 3)" "$GROUP" "$PORT" lab n9 "$LAB_DIR/cluster.key" 60 \
		>"$LAB_DIR/newer.out" 2>&1 3>&- &
	sender=$!
	echo "$sender" >>"$LAB_DIR/pids"
	wait_until 10 grep -q sending "$LAB_DIR/newer.out"
	lab_start 1
	# n1 would claim after listening one timeout (1 s); it waits instead
	sleep 4
	[ "$(lab_role 1)" = slave ] || { lab_logs; false; }
	[ "$(lab_masters)" = "" ]
	[ "$(lab_field 1 newer_peers)" = 1 ]
	[ "$(lab_field 1 master)" = "" ]
	run lab_ctl 1 status
	[ "$status" -eq 0 ]
	[[ "$output" == *"protocol:  1; 1 live peers speak a newer one: not claiming"* ]]
	[[ "$output" == *"n9"*"protocol 2 (newer)"* ]]
	run lab_ctl 1 status --json
	[[ "$output" == *'"protocol":{"version":1,"newer_peers":1}'* ]]
	[ "$(upgrade_metric 1 failover_peers_newer_protocol)" = 1 ]
	[ "$(upgrade_metric 1 failover_packets_newer_protocol_total)" -ge 20 ]
	[ "$(upgrade_metric 1 failover_packets_newer_unknown_type_total)" -ge 4 ]
	# authenticated and heard: neither a version drop nor a bad tag
	[ "$(upgrade_metric 1 'failover_packets_dropped_total{reason="version"}')" = 0 ]
	[ "$(upgrade_metric 1 'failover_packets_dropped_total{reason="bad-tag"}')" = 0 ]
	# logged once for the peer, not once per packet
	[ "$(grep -c 'n9 speaks protocol version 2, newer than ours' "$LAB_DIR/n1/log")" = 1 ]
	# when the newer peer is gone, n1 claims as it would have
	kill "$sender"
	wait "$sender" || true
	lab_wait_role 1 master 10 || { lab_logs; false; }
	[ "$(lab_field 1 newer_peers)" = 0 ]
	lab_sampler_check
}

@test "a downgrade: a cache file of a newer format is kept aside, not called corrupt; the node starts" {
	printf 'FLCACHE2\0\0\0\0\0\0\0\0later' >"$LAB_DIR/n1/state/cache.db"
	lab_start 1
	lab_wait_role 1 master 20 || { lab_logs; false; }
	grep -q "cache file .*cache.db has format 2, newer than ours (1): kept as .*cache.db.newer" "$LAB_DIR/n1/log"
	[ "$(head -c 8 "$LAB_DIR/n1/state/cache.db.newer")" = FLCACHE2 ]
	[ ! -e "$LAB_DIR/n1/state/cache.db.corrupt" ]
}

@test "an old master (64aed0b) skips a new node whose precheck fails: not named by its resignation, not after a crash" {
	local rc=0 i
	upgrade_old_build || rc=$?
	[ "$rc" -ne 2 ] || skip "git has no commit $UPGRADE_OLD_REV here (a shallow clone?)"
	[ "$rc" -eq 0 ]
	# n1 old, master; n2 new, ranks next but may not lead (its store is
	# missing); n3 new.  The old release knows no [health]: only n2 has it.
	lab_ini 1 "position = 1"
	LAB_BROKER_INI=("[health]" "precheck = test -d $LAB_DIR/n2/store" "precheck_interval = 200")
	lab_ini 2 "position = 2"
	LAB_BROKER_INI=()
	lab_ini 3 "position = 3"
	lab_sampler_start 120
	upgrade_start_old 1
	lab_wait_role 1 master 20
	upgrade_start_new 2
	upgrade_start_new 3
	lab_wait_role 2 slave 20
	lab_wait_role 3 slave 20
	wait_until 5 lab_field_is 2 eligible no
	sleep 0.5 # n1 has heard n2's heartbeats since
	upgrade_ctl 1 resign
	lab_wait_role 3 master 10 || { lab_logs; false; }
	echo "# old n1 resigned: new n3 is master, n2 (not eligible) skipped" >&3
	# n3 dies: the old n1 (out of its holddown by then) takes over, not n2
	sleep 1.5
	lab_groups "1 2"
	kill -9 "$(lab_pid 3)"
	lab_wait_role 1 master 10 || { lab_logs; false; }
	sleep 0.5
	[ "$(lab_field 2 promotions)" = 0 ]
	[ "$(lab_role 2)" = slave ]
	lab_sampler_check
}
