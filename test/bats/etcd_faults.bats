#!/usr/bin/env bats
# cluster.backend = etcd under faults of etcd and of the network, with a
# real etcd (test/lib/etcd.bash) and launchers with fake brokers in the
# lab: etcd's own leader killed, the master left with a minority member,
# every member down, TLS with client certificates and a password, a frozen
# master, two launcher nodes cut apart.  The role sampler runs throughout
# every test and must see neither two masters nor two broker processes at
# once.  Each test prints what it measured.  In the ASan pass only, with
# the other tests of real components (test/bats/etcd.bats).
#
# Lease 3 s everywhere: at least 3 x etcd's election timeout (500 ms in
# etcd.bash), and the master's fence deadline is its last answered renewal
# plus 3 s minus a margin of 500 ms.

load helpers
load ../lib/lab
load ../lib/etcd

setup() {
	[[ "${BUILD_DIR:-}" == *asan* ]] || skip "ASan pass only"
	LAB_DELAY=200
	LAB_RETRIES=3
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${LAB_DIR:-}" ] || lab_keep >&2 || true
	lab_teardown
}

TTL=3

# node I on the lab's etcd, lease TTL seconds, EXTRA lines for [cluster]
etcd_ini() {
	local i=$1
	shift
	lab_ini "$i" "backend = etcd" "etcd_endpoint = ${ETCD_ENDPOINTS//,/$'\n'etcd_endpoint = }" \
		"lease_ttl = $TTL" "position = $((100 + i))" "$@"
}

master_is() { lab_role_is "$1" master && lab_has_broker "$1"; }

# the nodes' launchers on etcd, the sampler from before the first start;
# n1 serves, every other node is slave
start_nodes() {
	local i
	for i in $(seq 1 "$LAB_N"); do [ -f "$LAB_DIR/n$i/launcher.ini" ] || etcd_ini "$i"; done
	lab_sampler_start 300
	# n1 first: nodes that start together race for the key
	lab_start 1
	wait_until 20 master_is 1 || { lab_logs >&2; return 1; }
	for i in $(seq 2 "$LAB_N"); do lab_start "$i"; done
	for i in $(seq 2 "$LAB_N"); do wait_until 10 lab_role_is "$i" slave; done
}

# the sampler's verdict: no two masters in a connected set, and never two
# broker processes alive at once, anywhere
sampler_verdict() {
	lab_sampler_check
	grep -q 'two_brokers_longest_ms=0 ' "$LAB_DIR/sampler.summary" ||
		{ echo "two brokers were alive at once: $(cat "$LAB_DIR/sampler.summary")" >&2; return 1; }
}

no_sanitizer_report() { ! grep -l 'Sanitizer' "$LAB_DIR"/n*/log; }

# down_ms I BP: when node I's launcher saw its broker BP end (its log's
# clock: the test's polling lags on a busy machine), "stopped" by it or
# "died" by the fence's hand
down_ms() {
	wait_until 5 lab_log_ms "$1" "broker pid $2 " >/dev/null || return 1
	lab_log_ms "$1" "broker pid $2 "
}

# drop NS ADDR...: in namespace NS every packet to or from the ADDRs is
# dropped (no reject: a cut link, not a closed port); the namespace's
# removal removes the rules
drop() {
	local ns=$1 set
	shift
	set=$(IFS=,; echo "$*")
	ip netns exec "$ns" nft -f - <<-EOF
		table inet faults {
			chain out { type filter hook output priority 0; policy accept; ip daddr { $set } drop; }
			chain in { type filter hook input priority 0; policy accept; ip saddr { $set } drop; }
		}
	EOF
}
undrop() { ip netns exec "$1" nft delete table inet faults; }

@test "etcd faults: etcd's own leader killed: no failover, same master, term and broker" {
	local l l2 term bp t0 elected
	lab_setup 2
	etcd_lab_start 3
	start_nodes
	term=$(lab_field 1 term)
	bp=$(lab_broker_pid 1)
	WAIT_POLL=0.1 wait_until 5 etcd_leader
	l=$WAIT_OUT
	t0=$(lab_ms)
	etcd_kill "$l"
	WAIT_POLL=0.05 wait_until 10 etcd_leader
	l2=$WAIT_OUT
	elected=$(($(lab_ms) - t0))
	[ "$l2" != "$l" ]
	# longer than a lease from the kill: a renewal lost in the election
	# would have ended it by now
	while [ $(($(lab_ms) - t0)) -lt $((TTL * 1000 + 1000)) ]; do
		master_is 1
		[ "$(lab_broker_pid 1)" = "$bp" ]
		[ "$(lab_brokers_alive)" = 1 ]
		sleep 0.1
	done
	lab_role_is 2 slave
	[ "$(lab_field 1 term)" = "$term" ]
	[ "$(lab_field 2 master)" = n1 ]
	run ! grep -q "lead not renewed by its deadline" "$LAB_DIR/n1/log"
	echo "# etcd leader e$l killed: e$l2 leads after $elected ms; n1 master throughout $((TTL + 1)) s, term $term, broker pid $bp unchanged" >&3
	echo "# etcd warnings in n1's log: $(grep -c 'etcd: ' "$LAB_DIR/n1/log")" >&3
	sampler_verdict
	no_sanitizer_report
}

@test "etcd faults: the master left with a minority member only: its broker stops before its lease ends, another serves" {
	local t0 down up m2 i bp
	lab_setup 3
	etcd_lab_start 3
	start_nodes
	bp=$(lab_broker_pid 1)
	echo "# etcd leader before the cut: e$(etcd_leader)" >&3
	# e1 is cut from its peers (a minority of one), n1 reaches e1 only;
	# n2 and n3 reach every member
	t0=$(lab_ms)
	drop "$LAB-e1" "$(etcd_addr 2)" "$(etcd_addr 3)"
	drop "$LAB-n1" "$(etcd_addr 2)" "$(etcd_addr 3)"
	WAIT_POLL=0.02 wait_until 10 ! lab_has_broker 1
	down=$(($(down_ms 1 "$bp") - t0))
	echo "# n1 with e1 (cut from e2, e3) only: its broker down after $down ms" >&3
	m2=$(lab_wait_one_master "2 3" 20) || { lab_logs >&2; false; }
	wait_until 10 lab_has_broker "$m2"
	up=$(($(lab_log_ms "$m2" "broker started") - t0))
	echo "# n$m2's broker started after $up ms (lease $TTL s)" >&3
	# e1, if it led, renews n1's lease until it sees it has lost its
	# quorum (etcd 3.4.23 answers a keep-alive on a leader without asking
	# its peers): the deadline may then fall past a lease from the cut;
	# it must fall before the lease ends on the majority, which the
	# other node's start tells
	[ "$down" -lt "$up" ]
	grep -q "lead not renewed by its deadline" "$LAB_DIR/n1/log"
	[ "$(lab_brokers_alive)" = "$m2" ]
	for i in 2 3; do [ "$(lab_field "$i" master)" = "n$m2" ]; done
	# n1 stays off: it cannot lead through its minority member
	run ! lab_has_broker 1
	sampler_verdict
	no_sanitizer_report
}

@test "etcd faults: every member down: the master stops by its deadline, nobody serves, status says why; back: one master" {
	local t0 down t1 up i m bp
	lab_setup 2
	etcd_lab_start 3
	start_nodes
	bp=$(lab_broker_pid 1)
	# all at once: killed one after another, the first two would leave a
	# quorum that renews the lease on
	t0=$(lab_ms)
	kill -KILL "$(etcd_pid 1)" "$(etcd_pid 2)" "$(etcd_pid 3)"
	for i in 1 2 3; do etcd_kill "$i"; done
	WAIT_POLL=0.02 wait_until 10 ! lab_has_broker 1
	down=$(($(down_ms 1 "$bp") - t0))
	[ "$down" -lt $((TTL * 1000)) ]
	# nobody serves while etcd is down: past the lease, and one more second
	while [ $(($(lab_ms) - t0)) -lt $((TTL * 1000 + 1000)) ]; do
		[ -z "$(lab_brokers_alive)" ]
		sleep 0.1
	done
	for i in 1 2; do
		run lab_ctl "$i" status
		assert_success
		echo "# n$i $(grep '^status:' <<<"$output")" >&3
		refute_output --regexp 'role: *master'
		# what the node waits for, and the error etcd's endpoints gave
		assert_output --regexp 'status: +listening; etcd has not answered for [0-9]+ ms: http://10[.0-9]+:2379: '
	done
	# the log: the master's reason to stop, the follower's to stop
	# following, and on every node the failed requests
	grep -q "lead not renewed by its deadline" "$LAB_DIR/n1/log"
	grep -q "role slave -> listening (etcd has not answered for [0-9]* ms: http" "$LAB_DIR/n2/log"
	for i in 1 2; do grep -q "WARNING: etcd: http://[0-9.]*:2379: Failed to connect" "$LAB_DIR/n$i/log"; done
	grep "WARNING: etcd: " "$LAB_DIR/n2/log" | tail -n 1 | sed "s/^/# n2: /" >&3
	echo "# every etcd member killed: n1's broker down after $down ms, nobody served for $((TTL + 1)) s" >&3
	t1=$(lab_ms)
	for i in 1 2 3; do etcd_restart "$i"; done
	wait_until 30 lab_one_master "1 2" || { lab_logs >&2; false; }
	m=$WAIT_OUT
	wait_until 10 master_is "$m"
	up=$(($(lab_log_ms "$m" "broker started") - t1))
	[ "$(lab_brokers_alive)" = "$m" ]
	echo "# members restarted: n$m's broker started after $up ms, term $(lab_field "$m" term)" >&3
	sampler_verdict
	no_sanitizer_report
}

# a client certificate of the lab's CA without a CommonName: NOCN_CERT,
# NOCN_KEY
client_cert_without_cn() {
	local d="$LAB_DIR/etcd/pki"
	openssl req -newkey rsa:2048 -nodes -subj "/O=failover-launcher lab" \
		-keyout "$d/nocn.key" -out "$d/nocn.csr" >>"$d/openssl.log" 2>&1
	openssl x509 -req -in "$d/nocn.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/client.ext" -out "$d/nocn.crt" >>"$d/openssl.log" 2>&1
	NOCN_CERT="$d/nocn.crt"
	NOCN_KEY="$d/nocn.key"
}

@test "etcd faults: TLS with client certificates and a password: election, kill -9 takeover; the password never shown" {
	local pw="pw-$RANDOM-Zq9-notshown" rootpw="root-$RANDOM" i t0 ms term1 term2
	export ETCD_TLS=1
	lab_setup 2
	etcd_lab_start 1
	etcdctl_lab user add root --new-user-password="$rootpw" --interactive=false >/dev/null
	etcdctl_lab role add root >/dev/null
	etcdctl_lab user grant-role root root >/dev/null
	etcdctl_lab role add fl >/dev/null
	etcdctl_lab role grant-permission fl --prefix=true readwrite /failover-launcher/ >/dev/null
	etcdctl_lab user add fl --new-user-password="$pw" --interactive=false >/dev/null
	etcdctl_lab user grant-role fl fl >/dev/null
	etcdctl_lab auth enable >/dev/null
	# auth is on: the client certificate alone (CN "client", no such user)
	# reads nothing
	run etcdctl_lab get --prefix /failover-launcher/
	assert_failure
	# the launcher's client certificate has no CommonName: with auth on,
	# etcd's JSON gateway refuses one that has (HTTP 400, "CommonName of
	# client sending a request against gateway will be ignored")
	client_cert_without_cn
	printf '%s\n' "$pw" >"$LAB_DIR/etcd.pw"
	chmod 0600 "$LAB_DIR/etcd.pw"
	for i in 1 2; do
		etcd_ini "$i" "etcd_ca = $ETCD_CACERT" "etcd_cert = $NOCN_CERT" "etcd_key = $NOCN_KEY" \
			"etcd_user = fl" "etcd_password_file = $LAB_DIR/etcd.pw"
	done
	run "$LAUNCHER" -c "$LAB_DIR/n1/launcher.ini" -n
	assert_success
	assert_output --partial "etcd_password_file"
	refute_output --partial "$pw"
	start_nodes
	term1=$(lab_field 1 term)
	run etcdctl_lab --user="root:$rootpw" get --prefix --keys-only /failover-launcher/
	assert_success
	assert_output --partial "/failover-launcher/lab/leader"
	t0=$(lab_ms)
	kill -9 "$(lab_pid 1)"
	wait_until 20 master_is 2
	ms=$(($(lab_ms) - t0))
	term2=$(lab_field 2 term)
	[ "$term2" -gt "$term1" ]
	echo "# TLS + password: kill -9 of the master, n2 serving after $ms ms (lease $TTL s), term $term1 -> $term2" >&3
	run ! grep -lF -- "$pw" "$LAB_DIR"/n*/log "$LAB_DIR"/n*/state/status
	sampler_verdict
	no_sanitizer_report
}

@test "etcd faults: the master launcher frozen past its lease: the fence stops its broker before another starts; thawed, it is slave" {
	local pid bp t0 down up
	lab_setup 2
	etcd_lab_start 1
	start_nodes
	bp=$(lab_broker_pid 1)
	pid=$(lab_pid 1)
	# a frozen launcher's status file says master on: the sampler judges
	# n2 alone meanwhile, and two broker processes anywhere
	lab_groups "2"
	t0=$(lab_ms)
	kill -STOP "$pid"
	WAIT_POLL=0.02 wait_until 10 ! lab_alive "$bp"
	down=$(($(lab_ms) - t0))
	[ "$down" -lt $((TTL * 1000)) ]
	wait_until 20 master_is 2 || { lab_logs >&2; false; }
	up=$(($(lab_log_ms 2 "broker started") - t0))
	# frozen longer than its lease
	while [ $(($(lab_ms) - t0)) -lt $((TTL * 1000 + 1000)) ]; do sleep 0.1; done
	kill -CONT "$pid"
	lab_groups "1 2"
	wait_until 10 lab_role_is 1 slave || { lab_logs >&2; false; }
	grep -q "the fence stopped the broker: the launcher did not renew its deadline for" "$LAB_DIR/n1/log"
	grep "the fence stopped the broker" "$LAB_DIR/n1/log" | tail -n 1 | sed 's/^/# n1: /' >&3
	echo "# n1's launcher SIGSTOPped for $(($(lab_ms) - t0)) ms: its broker killed by the fence after $down ms, n2's broker started after $up ms" >&3
	[ "$(lab_field 1 master)" = n2 ]
	master_is 2
	[ "$(lab_brokers_alive)" = 2 ]
	# thawed, it started no broker again
	[ "$(lab_field 1 broker_starts)" = 1 ]
	sampler_verdict
	no_sanitizer_report
}

@test "etcd faults: two launcher nodes cut apart, both reaching etcd: exactly one serves" {
	local bp t0
	lab_setup 2
	etcd_lab_start 1
	start_nodes
	bp=$(lab_broker_pid 1)
	t0=$(lab_ms)
	drop "$LAB-n1" "$(lab_addr 2)"
	drop "$LAB-n2" "$(lab_addr 1)"
	run ip netns exec "$LAB-n1" ping -c 1 -W 1 "$(lab_addr 2)"
	assert_failure
	# past a lease: neither node can tell anything from the other's silence
	while [ $(($(lab_ms) - t0)) -lt $((TTL * 1000 + 1000)) ]; do
		[ "$(lab_brokers_alive)" = 1 ]
		sleep 0.1
	done
	master_is 1
	[ "$(lab_broker_pid 1)" = "$bp" ]
	lab_role_is 2 slave
	[ "$(lab_field 2 master)" = n1 ]
	echo "# n1 and n2 cut apart for $(($(lab_ms) - t0)) ms: n1 served throughout (broker pid $bp), n2 slave" >&3
	sampler_verdict
	no_sanitizer_report
}
