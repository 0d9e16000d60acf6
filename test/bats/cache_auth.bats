#!/usr/bin/env bats
# The cache's replication port before authentication, in the namespace lab:
# a HELLO alone takes nothing over, unauthenticated connections cost little
# and end soon, and a key rotation never fails a synchronous write; TCP
# resets, deadline disconnects and relinks never make a takeover (the
# death notice, fence.h, is the only crash evidence acted on).  The
# unauthenticated client (test/lib/repl-attacker.py) runs in the switch
# namespace, on addresses of the lab's bridge.

load helpers
load ../lib/lab

PY=/usr/bin/python3
TOOL="$REPO_ROOT/test/lib/repl-attacker.py"
RPORT=2710

setup_file() {
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "ASan pass only"
	"$PY" -c "import pymemcache" 2>/dev/null || skip "pymemcache is not installed"
	lab_setup 3
}

teardown() {
	lab_teardown
}

on() { # on I CMD...: runs CMD in node I's namespace
	local i=$1
	shift
	ip netns exec "$LAB-n$i" "$@"
}

metric() { # metric I NAME{LABELS}: a value from node I's metrics
	lab_ctl "$1" metrics | awk -v k="$2" '$1 == k {print $2}'
}

# attacker SRC-HOSTS... -- ARGS...: the tool in the switch namespace, with
# the addresses .240 and up on its bridge
attacker() {
	local a
	for a in $(seq 240 249); do
		ip -n "$LAB-sw" addr add "10.$LAB_NET.0.$a/24" dev br0 2>/dev/null || true
	done
	ip netns exec "$LAB-sw" "$PY" "$TOOL" "$@"
}

src() { echo "10.$LAB_NET.0.$((240 + $1))"; }

# writes I N: N synchronous writes on node I, 0.2 s apart; prints each outcome
writes() {
	on "$1" "$PY" -c "
import time
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError
c = Client(('127.0.0.1', 11311), timeout=5)
for i in range($2):
    try:
        c.set('k%d' % i, b'v', noreply=False)
        print('STORED')
    except MemcacheServerError as e:
        print('ERROR', e)
    time.sleep(0.2)
"
}

all_stored() { # all_stored I N
	local out
	out=$(writes "$1" "$2")
	echo "$out" | grep -v '^STORED$' >&2 && return 1
	[ "$(echo "$out" | grep -c '^STORED$')" = "$2" ]
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

@test "a HELLO naming a real node takes nothing over; the connection is closed by the authentication deadline" {
	start_three --no-sampler --replicating
	# n1 connects to n3 (the lower id connects): at n1, an attacker claiming
	# to be n3 once took that link over, and n1 never reconnected
	attacker hijack "$(lab_addr 1)" "$RPORT" lab n3 4 >"$BATS_TEST_TMPDIR/hijack" &
	apid=$!
	sleep 0.3
	all_stored 1 8
	wait "$apid"
	echo "# hijack: $(cat "$BATS_TEST_TMPDIR/hijack")" >&3
	ms=$(sed -n 's/^closed after //p' "$BATS_TEST_TMPDIR/hijack")
	[ -n "$ms" ] && [ "$ms" -ge 1900 ] && [ "$ms" -le 3200 ]
	[ "$(metric 1 'failover_cache_replication_refused_total{reason="deadline"}')" -ge 1 ]
	lab_replicating 2
	# a few at a time per source address: the rest are refused at once
	run attacker silent "$(lab_addr 1)" "$RPORT" 6 "$(src 0)"
	echo "# silent: $output" >&3
	[ "$output" = "early 2 deadline 4 of 6" ]
	[ "$(metric 1 'failover_cache_replication_refused_total{reason="limit"}')" -ge 2 ]
	grep -q "refused a replication connection from $(src 0)" "$LAB_DIR/n1/log"
	all_stored 1 2
	# the claim over and over: nothing leaks (LeakSanitizer reports at exit)
	run attacker hellos "$(lab_addr 1)" "$RPORT" lab n3 200
	[ "$output" = "sent 200" ]
	lab_replicating 2
	all_stored 1 1
	lab_stop_node 1 TERM
	run grep -E "Sanitizer|runtime error" "$LAB_DIR/n1/log"
	[ "$status" = 1 ]
}

@test "twenty connections announcing 16 MiB frames are closed at once and cost no memory" {
	start_three --no-sampler --replicating
	pid=$(lab_pid 2)
	before=$(rss_kb "$pid")
	run attacker big "$(lab_addr 2)" "$RPORT" 20 "$(src 0)" "$(src 1)" "$(src 2)" "$(src 3)" "$(src 4)"
	after=$(rss_kb "$pid")
	echo "# big: $output; RSS $before kB -> $after kB" >&3
	[[ "$output" =~ ^closed\ 20\ of\ 20,\ slowest\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -lt 1000 ]
	[ $((after - before)) -lt 4096 ]
	[ "$(metric 2 'failover_cache_replication_refused_total{reason="frame"}')" -eq 20 ]
	lab_replicating 2
	all_stored 2 2
}

# rekey I: node I re-reads its configuration
rekey() {
	local n
	n=$(grep -c "INFO: reloaded" "$LAB_DIR/n$1/log" || true)
	kill -HUP "$(lab_pid "$1")"
	wait_until 10 log_has "$1" "INFO: reloaded" $((n + 1)) || { tail -5 "$LAB_DIR/n$1/log" >&2; return 1; }
}

log_has() { [ "$(grep -cF -- "$2" "$LAB_DIR/n$1/log")" -ge "$3" ]; }

# relink I: node I's replication links end and are made anew (with the keys
# of now): a short partition, longer than the peer timeout
relink() {
	lab_partition "$1"
	sleep 1.5
	lab_heal "$1"
	wait_until 10 lab_replicating 2
}

@test "authenticating slots filled from eight addresses keep no node's own link out" {
	start_three --no-sampler --replicating
	# n1 connects to n3: the attacker holds every place for connections
	# authenticating at n3 (4 per address, 32 in all), and n1's link ends
	attacker hold "$(lab_addr 3)" "$RPORT" 32 12 $(for i in $(seq 0 7); do src "$i"; done) \
		>"$BATS_TEST_TMPDIR/hold" &
	apid=$!
	sleep 0.5
	lab_partition 1
	sleep 1.5
	lab_heal 1
	# n1's new connection is a live node's: it gets a place all the same
	wait_until 6 lab_replicating 2
	all_stored 1 3
	wait "$apid"
	echo "# hold: $(cat "$BATS_TEST_TMPDIR/hold")" >&3
	# the attacker did hold every place (each ended by the deadline)
	[ "$(metric 3 'failover_cache_replication_refused_total{reason="deadline"}')" -ge 32 ]
}

# rotation_keys: sets keys (a key file with the lab's key as id 1, every
# node's configuration signing with it) and new (a new key, not yet used)
rotation_keys() {
	keys="$BATS_TEST_TMPDIR/cluster.key"
	new="$BATS_TEST_TMPDIR/new.key"
	grep '^1:' "$LAB_DIR/cluster.key" >"$keys"
	chmod 600 "$keys"
	"$LAUNCHER" --new-key "$new" >/dev/null
	for i in 1 2 3; do lab_ini "$i" "key_file = $keys" "key_id = 1"; done
}

@test "key rotation as the README says it: every synchronous write succeeds at every step" {
	rotation_keys
	start_three --no-sampler --replicating
	all_stored 1 1
	# 1. the new key everywhere
	sed -n 's/^1:/2:/p' "$new" >>"$keys"
	for i in 1 2 3; do rekey "$i"; done
	all_stored 1 1
	# 2. one node signs with it (its links made anew), then the others
	lab_ini 1 "key_file = $keys" "key_id = 2"
	rekey 1
	relink 1
	all_stored 1 1
	all_stored 3 1
	for i in 2 3; do
		lab_ini "$i" "key_file = $keys" "key_id = 2"
		rekey "$i"
	done
	relink 2
	all_stored 2 1
	all_stored 1 1
	# 3. the old key removed
	sed -i '/^1:/d' "$keys"
	for i in 1 2 3; do rekey "$i"; done
	relink 3
	all_stored 3 1
	all_stored 1 1
	[ "$(metric 1 failover_cache_auth_failures_total)" = 0 ]
}

# resets M ON|OFF: every TCP segment of master M's replication links that
# reaches another node is answered with a TCP reset, in M's direction
# (nftables in the others' namespaces): M's connections, in and out, are
# reset from the network, while M and its host live
resets() {
	local i
	for i in 1 2 3; do
		[ "$i" = "$1" ] && continue
		if [ "$2" = on ]; then
			on "$i" nft -f - <<-NFT
				table inet resets {
					chain in { type filter hook input priority 0; ip saddr $(lab_addr "$1") tcp dport $RPORT reject with tcp reset; ip saddr $(lab_addr "$1") tcp sport $RPORT reject with tcp reset; }
				}
			NFT
		else
			on "$i" nft delete table inet resets
		fi
	done
}

# same_master M TERM: M is still the only master, of term TERM, and no node
# promoted or saw a resignation since the start
same_master() {
	local i
	[ "$(lab_masters)" = "$1" ] || { echo "masters: $(lab_masters), not $1" >&2; return 1; }
	[ "$(lab_field "$1" term)" = "$2" ] || { echo "term $(lab_field "$1" term), not $2" >&2; return 1; }
	for i in 1 2 3; do
		[ "$i" = "$1" ] && continue
		! grep -E "Promoted to Master node|resigned" "$LAB_DIR/n$i/log" >&2 || return 1
	done
}

@test "the replication port reset by nftables, closed by the authentication deadline, relinked after a key rotation: never a takeover" {
	local term keys new n
	rotation_keys
	start_three --replicating
	term=$(lab_field "$m" term)
	# 1. TCP resets on the live master's replication port, in and out, for
	#    three failure timeouts: its links end, nothing else does
	n=$(grep -c "replication with n.* closed" "$LAB_DIR/n$m/log" || true)
	resets "$m" on
	writes "$m" 15 >/dev/null
	same_master "$m" "$term"
	[ "$(grep -c "replication with n.* closed" "$LAB_DIR/n$m/log")" -ge $((n + 2)) ]
	resets "$m" off
	wait_until 10 lab_replicating 2
	same_master "$m" "$term"
	# 2. unauthenticated connections to it, ended by the deadline
	run attacker silent "$(lab_addr "$m")" "$RPORT" 4 "$(src 0)"
	echo "# silent: $output" >&3
	same_master "$m" "$term"
	# 3. a key rotation (reloads), the links made anew under the new key by
	#    resets again
	sed -n 's/^1:/2:/p' "$new" >>"$keys"
	for i in 1 2 3; do rekey "$i"; done
	for i in 1 2 3; do
		lab_ini "$i" "key_file = $keys" "key_id = 2"
		rekey "$i"
	done
	n=$(grep -c "replication with n.* closed" "$LAB_DIR/n$m/log" || true)
	resets "$m" on
	writes "$m" 5 >/dev/null
	resets "$m" off
	[ "$(grep -c "replication with n.* closed" "$LAB_DIR/n$m/log")" -ge $((n + 2)) ]
	wait_until 10 lab_replicating 2
	all_stored "$m" 2
	same_master "$m" "$term"
	lab_sampler_check
}
