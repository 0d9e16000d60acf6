# Real etcd members in a namespace lab (test/lib/lab.bash), for the etcd
# backend's tests.  Source after lab.bash; call etcd_lab_start after
# lab_setup (or lab_create).
#
#   member namespaces  LAB-e1..LAB-eK: eth0 = 10.X.0.(200+j)/24, lo up,
#                      on the lab's bridge through switch port ej
#   switch namespace   LAB-sw: br0 gets 10.X.0.250, so that etcdctl_lab
#                      (and curl there) reach the members
#
# Every member listens on its lab address only.  Their pids go to
# $LAB_DIR/pids and their namespaces to $LAB_DIR/netns: lab_destroy
# stops and removes both.  Data and logs: $LAB_DIR/etcd/ej, ej.log.
#
# ETCD_TLS=1 before etcd_lab_start: a CA, one server certificate for every
# member (its addresses as SANs) and a client certificate in
# $LAB_DIR/etcd/pki; clients must present a certificate (--client-cert-auth)
# and the client URLs are https.  ETCD_CACERT, ETCD_CERT and ETCD_KEY then
# name the client's files.  Peers speak plain http: the lab's peers are no
# client of the launcher.

# The address br0 gets in the switch namespace: above the nodes (1..N),
# clear of the members (201..20K).
ETCD_SW_HOST=250

etcd_addr() { echo "10.$LAB_NET.0.$((200 + $1))"; }

# The scheme of the client URLs.
etcd_scheme() { if [ "${ETCD_TLS:-0}" = 1 ]; then echo https; else echo http; fi; }

# etcd_lab_start K: K members (1 or 3) in namespaces of their own; waits
# until every one answers `endpoint health`.  Sets ETCD_N, ETCD_ENDPOINTS
# (and with ETCD_TLS=1 ETCD_CACERT, ETCD_CERT, ETCD_KEY).
etcd_lab_start() {
	local k=$1 j ns cluster="" eps=""
	case $k in 1 | 3) ;; *) echo "etcd_lab_start: K is 1 or 3, not '$k'" >&2; return 1 ;; esac
	command -v etcd >/dev/null || { echo "etcd_lab_start: no etcd (Debian's etcd-server)" >&2; return 1; }
	ETCD_N=$k
	mkdir -p "$LAB_DIR/etcd"
	ip -n "$LAB-sw" addr replace "10.$LAB_NET.0.$ETCD_SW_HOST/24" dev br0
	for j in $(seq 1 "$k"); do
		ns="$LAB-e$j"
		# listed before it exists: a set-up that fails half-way is still
		# cleaned up by lab_destroy
		echo "$ns" >>"$LAB_DIR/netns"
		ip netns add "$ns"
		ip -n "$LAB-sw" link add "e$j" type veth peer name "he$j"
		ip -n "$LAB-sw" link set "he$j" netns "$ns"
		ip -n "$ns" link set "he$j" name eth0
		ip -n "$LAB-sw" link set "e$j" master br0 up
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$(etcd_addr "$j")/24" dev eth0
		ip -n "$ns" link set eth0 up
		cluster="$cluster,e$j=http://$(etcd_addr "$j"):2380"
		eps="$eps,$(etcd_scheme)://$(etcd_addr "$j"):2379"
	done
	ETCD_CLUSTER=${cluster#,}
	ETCD_ENDPOINTS=${eps#,}
	if [ "${ETCD_TLS:-0}" = 1 ]; then
		etcd_pki || return 1
	fi
	for j in $(seq 1 "$k"); do etcd_run "$j" || return 1; done
	if ! WAIT_POLL=0.2 wait_until 20 etcdctl_lab --command-timeout=2s endpoint health; then
		echo "etcd_lab_start: the members did not all become healthy; their logs:" >&2
		for j in $(seq 1 "$k"); do
			echo "---- e$j" >&2
			tail -n 20 "$LAB_DIR/etcd/e$j.log" >&2
		done
		return 1
	fi
}

# etcd_run J: starts member J in its namespace.  After a first start the
# data directory holds the membership and etcd ignores the --initial-*
# flags, so a restart runs the same command.
#
# Timing: heartbeat 50 ms, election timeout 500 ms.  Between namespaces on
# one bridge the round trip is well under a millisecond, so etcd's own
# rule (heartbeat about one round trip, election timeout at least ten
# heartbeats) would allow far less; but on this 2-core machine, under ASan
# and other tests, a member can be descheduled for tens of milliseconds,
# and a shorter timeout would start elections nobody caused.  500 ms still
# elects a new leader within about a second of a leader's death, which
# keeps failover tests short (the defaults, 100/1000, double that).
etcd_run() {
	local j=$1 a pid tls=()
	a=$(etcd_addr "$j")
	if [ "${ETCD_TLS:-0}" = 1 ]; then
		tls=(--client-cert-auth --trusted-ca-file="$ETCD_CACERT"
			--cert-file="$LAB_DIR/etcd/pki/server.crt" --key-file="$LAB_DIR/etcd/pki/server.key")
	fi
	# etcd reads ETCD_* variables as flags: not the ones these helpers set
	ip netns exec "$LAB-e$j" env -u ETCD_ENDPOINTS -u ETCD_TLS -u ETCD_N -u ETCD_CLUSTER \
		-u ETCD_CACERT -u ETCD_CERT -u ETCD_KEY -u ETCD_SW_HOST \
		etcd --name "e$j" --data-dir "$LAB_DIR/etcd/e$j" \
		--listen-client-urls "$(etcd_scheme)://$a:2379" \
		--advertise-client-urls "$(etcd_scheme)://$a:2379" \
		--listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "$LAB" \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-outputs stderr "${tls[@]}" \
		>>"$LAB_DIR/etcd/e$j.log" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/etcd/e$j.pid"
	echo "$pid" >>"$LAB_DIR/pids"
}

# etcd_pki: CA, server and client certificates for ETCD_TLS=1 (openssl).
etcd_pki() {
	local d="$LAB_DIR/etcd/pki" j sans="IP:10.$LAB_NET.0.$ETCD_SW_HOST"
	mkdir -p "$d"
	for j in $(seq 1 "$ETCD_N"); do sans="$sans,IP:$(etcd_addr "$j")"; done
	{
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lab etcd CA" \
			-keyout "$d/ca.key" -out "$d/ca.crt" &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=etcd" \
				-keyout "$d/server.key" -out "$d/server.csr" &&
			printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >"$d/server.ext" &&
			openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
				-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=client" \
				-keyout "$d/client.key" -out "$d/client.csr" &&
			printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext" &&
			openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
				-CAcreateserial -days 2 -extfile "$d/client.ext" -out "$d/client.crt"
	} >"$d/openssl.log" 2>&1 || { echo "etcd_pki: openssl failed:" >&2; tail -n 20 "$d/openssl.log" >&2; return 1; }
	ETCD_CACERT="$d/ca.crt"
	ETCD_CERT="$d/client.crt"
	ETCD_KEY="$d/client.key"
}

etcd_pid() { cat "$LAB_DIR/etcd/e$1.pid"; }

# etcd_kill J: kill -9 of member J, and waits until it is gone.
etcd_kill() {
	local pid
	pid=$(etcd_pid "$1")
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	wait_until 5 ! lab_alive "$pid"
}

# etcd_restart J: member J again, on its data directory (a running one is
# stopped first, with SIGTERM); does not wait for it to rejoin.
etcd_restart() {
	local pid
	pid=$(etcd_pid "$1")
	if lab_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		wait_until 10 ! lab_alive "$pid" || return 1
	fi
	etcd_run "$1"
}

# etcd_cut J: member J's switch port down; etcd_heal J: up again.
etcd_cut() { ip -n "$LAB-sw" link set "e$1" down; }
etcd_heal() { ip -n "$LAB-sw" link set "e$1" up; }

# etcdctl_lab ARGS...: etcdctl in the switch namespace, on ETCD_ENDPOINTS
# unless ARGS give --endpoints=... (etcdctl adds up repeated --endpoints
# flags rather than taking the last).
etcdctl_lab() {
	local opts=(--dial-timeout=1s) a
	if [ "${ETCD_TLS:-0}" = 1 ]; then
		opts+=(--cacert="$ETCD_CACERT" --cert="$ETCD_CERT" --key="$ETCD_KEY")
	fi
	opts+=(--endpoints="$ETCD_ENDPOINTS")
	for a in "$@"; do
		case $a in --endpoints=*) unset 'opts[-1]' ;; esac
	done
	ip netns exec "$LAB-sw" env ETCDCTL_API=3 etcdctl "${opts[@]}" "$@"
}

# etcd_leader: the index J of the member that leads, as the members
# themselves say (each one's `endpoint status`: its own id and its
# leader's); fails when no reachable member names itself leader.
etcd_leader() {
	local j out id leader
	for j in $(seq 1 "$ETCD_N"); do
		out=$(etcdctl_lab --endpoints="$(etcd_scheme)://$(etcd_addr "$j"):2379" \
			--command-timeout=1s endpoint status --write-out=json 2>/dev/null) || continue
		id=$(sed -n 's/.*"member_id":\([0-9]*\).*/\1/p' <<<"$out")
		leader=$(sed -n 's/.*"leader":\([0-9]*\).*/\1/p' <<<"$out")
		if [ -n "$id" ] && [ "$id" = "$leader" ]; then
			echo "$j"
			return 0
		fi
	done
	echo "etcd_leader: no member leads" >&2
	return 1
}
