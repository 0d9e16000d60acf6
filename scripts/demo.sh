#!/usr/bin/env bash
# The main job, shown end to end on one machine.  As root on Debian 12:
#
#   scripts/demo.sh
#
# installs what is missing, builds the launcher, and starts a 3-node cluster
# in network namespaces (nothing leaves this machine), each node running
# failover-launcher with Debian's ActiveMQ (conf/activemq.ini) on one shared
# KahaDB store.  It shows the roles (only the master runs a JVM), sends
# persistent messages with a JMS producer on the failover: transport, kills
# the master's launcher with SIGKILL mid-stream, shows the takeover, and
# checks with a consumer that every message arrived.  Then it cleans up.
#
#   scripts/demo.sh --etcd
#
# runs the same demo with the leader key in etcd (cluster.backend = etcd)
# instead of multicast heartbeats: one etcd member (Debian's etcd-server) in
# a namespace of its own on the same private bridge (test/lib/etcd.bash),
# lease 4 s; the takeover then waits for the killed master's lease to end.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
. scripts/lib.sh

ETCD=0
for a in "$@"; do
	case $a in
	--etcd) ETCD=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown argument $a (only --etcd)" >&2; exit 64 ;;
	esac
done

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

install_missing "${BUILD_PACKAGES[@]}" "${RUNTIME_TEST_PACKAGES[@]}"
say "building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
LAUNCHER="$REPO_ROOT/build/failover-launcher"

# the lab library is shared with the tests
BATS_TEST_TMPDIR=$(mktemp -d /tmp/failover-demo.XXXXXX)
BATS_TEST_NUMBER=demo
. test/lib/lab.bash
. test/lib/amq.bash
. test/lib/etcd.bash
cleanup() {
	lab_destroy
	rm -rf "$BATS_TEST_TMPDIR"
}
trap cleanup EXIT

say "building the JMS producer and consumer"
CLIENTS="$BATS_TEST_TMPDIR/clients"
amq_build_clients "$CLIENTS"

LAB_DELAY=500
LAB_RETRIES=4
lab_create 3
amq_client_net
if [ "$ETCD" = 1 ]; then
	etcd_lab_start 1
	# the master stops its broker (SIGKILL after stop_timeout) before a lease
	# it cannot renew ends: 4 s leaves room for 3 s and the 0.5 s margin
	ETCD_TTL=4
	say "3 nodes in network namespaces $LAB-n1..3 and one etcd member in $LAB-e1 on a private bridge; the leader key's lease ${ETCD_TTL} s"
else
	say "3 nodes in network namespaces $LAB-n1..3 on a private bridge; heartbeat ${LAB_DELAY} ms, master lost after ${LAB_RETRIES} missed"
fi
# conf/activemq.ini's [health] deep probe checks the master's broker (a
# helper JVM next to it); AMQ_HEALTH=0 shows the same without it
if [ "${AMQ_HEALTH:-1}" = 1 ]; then
	echo "   [health]: the master's broker is checked by the deep probe ${BUILD_DIR:-$REPO_ROOT/build}/probes/activemq/activemq-probe (AMQ_HEALTH=0: without)"
else
	echo "   [health]: no probe (AMQ_HEALTH=0): a hung broker would go unnoticed; the kill -9 below is seen either way"
fi
for i in 1 2 3; do
	if [ "$ETCD" = 1 ]; then
		amq_ini "$i" "stop_timeout = 3000"
		# a section may appear twice: these [cluster] keys join the others
		printf '[cluster]\nbackend = etcd\netcd_endpoint = %s\nlease_ttl = %s\n' "$ETCD_ENDPOINTS" "$ETCD_TTL" \
			>>"$LAB_DIR/n$i/launcher.ini"
	else
		amq_ini "$i"
	fi
	lab_start "$i"
done

show_roles() {
	local i
	for i in 1 2 3; do
		if ! lab_alive "$(lab_pid "$i")"; then
			printf '   n%s  (launcher killed, and its JVM with it)\n' "$i"
			continue
		fi
		printf '   n%s  %-8s term %-3s broker %-9s pid %s\n' "$i" "$(lab_role "$i")" "$(lab_field "$i" term)" \
			"$(lab_field "$i" broker)" "$(lab_field "$i" broker_pid)"
	done
}

m=$(lab_wait_one_master "1 2 3" 30)
amq_wait_serving "$m" 90
say "n$m is master and its ActiveMQ is serving; the slaves run no JVM"
show_roles
grep -h "Promoted to Master node\|Apache ActiveMQ .* started" "$LAB_DIR/n$m/log" | sed 's/^/   /'
if [ "$ETCD" = 1 ]; then
	say "the cluster's keys in etcd (etcdctl get --prefix /failover-launcher --keys-only)"
	etcdctl_lab get --prefix /failover-launcher --keys-only | grep . | sed 's/^/   /'
fi

url=$(amq_url)
count=200
say "producing $count persistent messages, one every 25 ms, to $url"
ip netns exec "$LAB-sw" "$CLIENTS/producer" "$url" demo.q "$count" 25 180 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" &
producer=$!
while [ "$(wc -l <"$LAB_DIR/sent")" -lt 80 ]; do sleep 0.1; done

say "kill -9 of n$m's launcher after $(wc -l <"$LAB_DIR/sent") messages (its JVM dies with it: PR_SET_PDEATHSIG)"
t0=$(lab_ms)
{ kill -9 "$(lab_pid "$m")" && wait "$(lab_pid "$m")"; } 2>/dev/null || true
others=$(echo 1 2 3 | tr -d "$m")
m2=$(lab_wait_one_master "$others" 30)
t_master=$(($(lab_ms) - t0))
amq_wait_serving "$m2" 90
t_serving=$(($(lab_ms) - t0))
say "n$m2 took over: master after $t_master ms, its ActiveMQ serving after $t_serving ms"
show_roles
grep -h "no master\|-> candidate\|-> master\|Promoted to Master node\|Apache ActiveMQ .* started" "$LAB_DIR/n$m2/log" | sed 's/^/   /'

wait "$producer"
say "the producer finished: $(sort -un "$LAB_DIR/sent" | wc -l) of $count messages acknowledged"
say "consuming from the new master"
if ip netns exec "$LAB-sw" "$CLIENTS/consumer" "$url" demo.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err"; then
	grep 'consumer: received' "$LAB_DIR/consumer.err" | sed 's/^/   /'
	say "every message arrived"
else
	cat "$LAB_DIR/consumer.err"
	say "messages are missing"
	exit 1
fi
