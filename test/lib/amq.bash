# Real ActiveMQ in the namespace lab (needs test/lib/lab.bash loaded).
#
# Every node runs conf/activemq.ini with the repo's conf/activemq/ files,
# its broker bound to the node's lab address, and all nodes share one
# KahaDB directory (a shared-store group: the KahaDB lock lets one serve).
# The JMS clients run in the switch namespace, which gets 10.N.0.254.

AMQ_PORT=61616

# amq_ini I ["[broker] lines"]: node I's configuration from conf/activemq.ini.
# Its [health] probe is the build's (BUILD_DIR, default build/); with
# AMQ_HEALTH=0 the node runs without it (a measure with and without).
amq_ini() {
	local i=$1 addr shared probe
	shift
	probe="${BUILD_DIR:-$REPO_ROOT/build}/probes/activemq/activemq-probe"
	[ "${AMQ_HEALTH:-1}" = 1 ] || probe=""
	addr=$(lab_addr "$i")
	shared="$LAB_DIR/amq-shared"
	mkdir -p "$shared" "$LAB_DIR/n$i/amq/tmp"
	{
	sed -e "s|/etc/failover-launcher/activemq|$REPO_ROOT/conf/activemq|g" \
		-e "s|^property = activemq.data=.*|property = activemq.data=$shared|" \
		-e "s|^property = activemq.base=.*|property = activemq.base=$LAB_DIR/n$i/amq|" \
		-e "s|^property = java.io.tmpdir=.*|property = java.io.tmpdir=$LAB_DIR/n$i/amq/tmp|" \
		-e "s|^property = activemq.host=.*|property = activemq.host=$addr|" \
		-e "s|^property = activemq.brokername=.*|property = activemq.brokername=n$i|" \
		-e "s|^working_dir = .*|working_dir = $LAB_DIR/n$i/amq|" \
		-e "s|^url = .*|url = tcp://$addr:$AMQ_PORT|" \
		-e "s|^node =.*|node = n$i|" \
		-e "s|^interface =.*|interface = eth0|" \
		-e "s|^delay = .*|delay = ${LAB_DELAY:-250}|" \
		-e "s|^retries = .*|retries = ${LAB_RETRIES:-4}|" \
		-e "s|^position = .*|position = $((100 + i))|" \
		-e "s|^state_dir = .*|state_dir = $LAB_DIR/n$i/state|" \
		-e "s|^socket = .*|socket = $LAB_DIR/n$i/ctl.sock|" \
		-e "s|^key_file = .*|key_file = $LAB_DIR/cluster.key|" \
		-e "s|^probe = .*|probe = $probe|" \
		"$REPO_ROOT/conf/activemq.ini"
	# readiness: the broker's own "started" line; the caller's lines
	# replace the example's values (lab_last_wins: a key once per file)
	printf '\n[broker]\nready_pattern = ) started\nready_timeout = 60000\n%s\n' "$*"
	} | lab_last_wins >"$LAB_DIR/n$i/launcher.ini"
}

# The client URL listing every node, as an ActiveMQ client would use it.
amq_url() {
	local i list=""
	for i in $(seq 1 "$LAB_N"); do list="$list,tcp://$(lab_addr "$i"):$AMQ_PORT"; done
	echo "failover:(${list#,})?randomize=false&maxReconnectDelay=200&initialReconnectDelay=50"
}

# Builds the JMS clients once into $1 (OUTDIR).
amq_build_clients() {
	[ -x "$1/producer" ] || "$REPO_ROOT/test/java/activemq-client/build.sh" "$1" >/dev/null
}

# Gives the switch namespace an address so clients can run there.
amq_client_net() {
	ip -n "$LAB-sw" addr add "10.$LAB_NET.0.254/24" dev br0
}

# amq_client DIR CMD ARGS...: runs a client in the switch namespace.
amq_client() {
	local dir=$1 prog=$2
	shift 2
	ip netns exec "$LAB-sw" "$dir/$prog" "$@"
}

# Waits until node I's broker serves (its status says so).
amq_wait_serving() {
	local i=$1 limit=${2:-60}
	wait_until "$limit" lab_field_is "$i" broker serving 2>/dev/null && return 0
	echo "n$i's broker is $(lab_field "$i" broker) after ${limit}s; its launcher said:" >&2
	# what the role and the broker did (a lab kept in CI is gone with its clone)
	grep -E 'failover-launcher\[[0-9]+\] .*(role |mastership |broker|resign|giving up|health: )' \
		"$LAB_DIR/n$i/log" 2>/dev/null | tail -n 15 | sed 's/^/#   /' >&2
	return 1
}
