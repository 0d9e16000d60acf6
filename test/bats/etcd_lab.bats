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
	lab_setup 1
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
