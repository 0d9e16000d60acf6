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
