#!/usr/bin/env bats
# test/lib/etcd.bash itself: real etcd members start in the lab, answer
# etcdctl, elect a new leader when theirs dies, and leave neither process
# nor namespace behind.  In the ASan pass only, with the other tests of
# real components.

load helpers
load ../lib/lab
load ../lib/etcd

setup() {
	[[ "${BUILD_DIR:-}" == *asan* ]] || skip "ASan pass only"
	command -v etcd >/dev/null || skip "Debian's etcd-server is not installed"
	lab_setup 3
}

teardown() {
	lab_teardown
}

@test "one member: starts, answers a put and a get, leads" {
	etcd_lab_start 1
	[ "$ETCD_ENDPOINTS" = "http://$(etcd_addr 1):2379" ]
	run etcdctl_lab put /lab/k hello
	assert_success
	run etcdctl_lab get --print-value-only /lab/k
	assert_success
	assert_output hello
	run etcd_leader
	assert_output 1
	# its lab address only
	run bash -c "ip netns exec '$LAB-e1' ss -Hltn | awk '{ print \$4 }' | sort"
	assert_output "$(printf '%s:2379\n%s:2380' "$(etcd_addr 1)" "$(etcd_addr 1)")"
}

@test "lab_destroy stops the members and removes their namespaces" {
	local pid
	etcd_lab_start 1
	pid=$(etcd_pid 1)
	lab_alive "$pid"
	lab_destroy
	run ! lab_alive "$pid"
	run ip netns list
	refute_output --partial "$LAB-e1"
	refute_output --partial "$LAB-sw"
}

@test "three members: a killed or cut-off leader is replaced; it rejoins" {
	local l l2 l3
	etcd_lab_start 3
	etcdctl_lab put /lab/k 1
	l=$(wait_until 5 etcd_leader && echo "$WAIT_OUT")
	etcd_kill "$l"
	WAIT_POLL=0.1 wait_until 10 etcd_leader
	l2=$WAIT_OUT
	[ "$l2" != "$l" ]
	etcd_restart "$l"
	WAIT_POLL=0.2 wait_until 20 etcdctl_lab --command-timeout=2s endpoint health
	etcd_cut "$l2"
	# the cut leader cannot be asked: whoever answers leads the other two
	WAIT_POLL=0.1 wait_until 10 etcd_leader
	l3=$WAIT_OUT
	[ "$l3" != "$l2" ]
	run etcdctl_lab --endpoints="http://$(etcd_addr "$l3"):2379" get --print-value-only /lab/k
	assert_output 1
	etcd_heal "$l2"
	WAIT_POLL=0.2 wait_until 20 etcdctl_lab --command-timeout=2s endpoint health
}

@test "ETCD_TLS=1: https with client certificates; none refused" {
	local a
	export ETCD_TLS=1
	etcd_lab_start 1
	a=$(etcd_addr 1)
	[ "$ETCD_ENDPOINTS" = "https://$a:2379" ]
	run etcdctl_lab put /lab/k tls
	assert_success
	run ip netns exec "$LAB-sw" curl -sS -m 5 --cacert "$ETCD_CACERT" --cert "$ETCD_CERT" --key "$ETCD_KEY" \
		-X POST "https://$a:2379/v3/kv/range" -d "{\"key\":\"$(printf /lab/k | base64)\"}"
	assert_success
	assert_output --partial "\"value\":\"$(printf tls | base64)\""
	# a client without a certificate is refused in the TLS handshake
	run ip netns exec "$LAB-sw" curl -sS -m 5 --cacert "$ETCD_CACERT" \
		-X POST "https://$a:2379/v3/kv/range" -d '{"key":"eA=="}'
	assert_failure
	run ip netns exec "$LAB-sw" curl -sS -m 5 -X POST "http://$a:2379/v3/kv/range" -d '{"key":"eA=="}'
	refute_output --partial '"header"'
	run etcd_leader
	assert_output 1
}

# etcd_drive (test/lib/etcd_drive.c): the launcher's etcd client and codec
# against the member, in the switch namespace.
drive() { # drive PREFIX ENDPOINT...
	ip netns exec "$LAB-sw" "$BUILD_DIR/etcd_drive" "$@"
}

@test "the launcher's etcd client: a lease, the leader key once, a watch, a dead first endpoint" {
	etcd_lab_start 1
	# .209 has no member: the first call cannot connect, the next goes on
	run drive /fl/c1 "http://10.$LAB_NET.0.209:2379" "$ETCD_ENDPOINTS"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	assert_line --partial "now at $ETCD_ENDPOINTS"
	assert_line --regexp "^create again: lost to n1 \(create_revision [0-9]+, lease n1's\)$"
	assert_line "keepalive after revoke: ttl 0"
	assert_line "all steps as expected"
	# the watch ran on the prefix: nothing was left under it but the record
	run etcdctl_lab get --prefix --keys-only /fl/c1
	assert_output "/fl/c1/nodes/n1"
}

@test "the launcher's etcd client over TLS with a client certificate" {
	export ETCD_TLS=1
	etcd_lab_start 1
	ETCD_CA=$ETCD_CACERT ETCD_CERT=$ETCD_CERT ETCD_KEY=$ETCD_KEY run drive /fl/tls "$ETCD_ENDPOINTS"
	assert_success
	assert_line "all steps as expected"
	# without its certificate: refused in the handshake, said so
	ETCD_CA=$ETCD_CACERT run drive /fl/tls "$ETCD_ENDPOINTS"
	assert_failure
	assert_line --regexp '^grant: result 1 HTTP 0 .+'
}

@test "the launcher's etcd client signs in with user and password" {
	etcd_lab_start 1
	etcdctl_lab user add root:rootpw >/dev/null
	etcdctl_lab user add fl:flpw >/dev/null
	etcdctl_lab role add flrole >/dev/null
	etcdctl_lab role grant-permission flrole --prefix=true readwrite /fl/ >/dev/null
	etcdctl_lab user grant-role fl flrole >/dev/null
	etcdctl_lab auth enable >/dev/null
	ETCD_USER=fl ETCD_PASSWORD=flpw run drive /fl/auth "$ETCD_ENDPOINTS"
	assert_success
	assert_line "all steps as expected"
	# a wrong password: the call ends with etcd's refusal
	ETCD_USER=fl ETCD_PASSWORD=wrong run drive /fl/auth "$ETCD_ENDPOINTS"
	assert_failure
	assert_line --partial "authentication failed"
	# outside its role's prefix: permission denied, not a hang
	ETCD_USER=fl ETCD_PASSWORD=flpw run drive /other "$ETCD_ENDPOINTS"
	assert_failure
	assert_line --partial "permission denied"
}

# etcd_elect_drive (test/lib/etcd_elect_drive.c): node I of the etcd
# backend with mastership and a stand-in broker, in the node's namespace;
# its lines go to $LAB_DIR/dI.out.
drive_node() { # drive_node I [TTL_S]
	ip netns exec "$LAB-n$1" "$BUILD_DIR/etcd_elect_drive" "n$1" $((100 + $1)) "${2:-2}" /fl/e \
		"$ETCD_ENDPOINTS" >"$LAB_DIR/d$1.out" 2>"$LAB_DIR/d$1.err" &
	echo $! >"$LAB_DIR/d$1.pid"
	echo $! >>"$LAB_DIR/pids"
}

# nodes whose stand-in broker is up now (the last broker line says "up")
brokers_up() {
	local i n=0
	for i in 1 2 3; do
		[ -f "$LAB_DIR/d$i.out" ] || continue
		grep ' broker ' "$LAB_DIR/d$i.out" | tail -n 1 | grep -q ' broker up' && n=$((n + 1)) && echo "n$i" >&2
	done
	echo "$n"
}
dump_drives() {
	local i
	for i in 1 2 3; do
		sed "s/^/# n$i: /" "$LAB_DIR/d$i.out" >&2
		sed "s/^/# n$i err: /" "$LAB_DIR/d$i.err" >&2
	done
}
one_up() { [ "$(brokers_up 2>/dev/null)" = 1 ]; }
up_on() { grep ' broker ' "$LAB_DIR/d$1.out" | tail -n 1 | grep -q ' broker up'; }
up_on_2_or_3() { up_on 2 || up_on 3; }
term_of() { grep -o 'broker up term [0-9]*' "$LAB_DIR/d$1.out" | tail -n 1 | awk '{ print $4 }'; }

@test "the etcd backend with mastership: one leader, kill -9 -> another after the lease, SIGTERM -> at once" {
	local i first second t0 t1 ms
	etcd_lab_start 1
	for i in 1 2 3; do drive_node "$i"; done
	wait_until 20 one_up
	# n1 ranks first
	up_on 1 || { dump_drives; false; }
	first=$(term_of 1)
	# never two at once while it runs
	kill -9 "$(cat "$LAB_DIR/d1.pid")"
	t0=$(lab_ms)
	wait_until 20 up_on_2_or_3
	t1=$(lab_ms)
	up_on 2 || { dump_drives; false; }
	second=$(term_of 2)
	[ "$second" -gt "$first" ]
	echo "# kill -9 of the leader: n2 up after $((t1 - t0)) ms (lease 2 s), term $first -> $second" >&3
	# SIGTERM: n2 resigns, n3 leads at once (well before a lease)
	t0=$(lab_ms)
	kill -TERM "$(cat "$LAB_DIR/d2.pid")"
	wait_until 20 up_on 3
	ms=$(($(lab_ms) - t0))
	echo "# SIGTERM of the leader: n3 up after $ms ms" >&3
	grep -q ' exit$' "$LAB_DIR/d2.out"
	[ "$ms" -lt 1500 ]
	[ "$(term_of 3)" -gt "$second" ]
}
