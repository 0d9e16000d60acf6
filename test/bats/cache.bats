#!/usr/bin/env bats
# The replicated cache, through memcached clients nobody here wrote
# (libmemcached-tools, pymemcache) and failoverctl, in the namespace lab.

load helpers
load ../lib/lab

# Debian's python3 has pymemcache; a python3 earlier in PATH may not
PY=/usr/bin/python3
MC=127.0.0.1:11311

# the namespaces are built once for the file; every test gets fresh
# launchers, node directories and links (lab_setup)
setup_file() {
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	command -v memccp >/dev/null || skip "libmemcached-tools is not installed"
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

put() { # put I KEY VALUE: memccp from a file named KEY
	mkdir -p "$BATS_TEST_TMPDIR/put"
	printf '%s' "$3" >"$BATS_TEST_TMPDIR/put/$2"
	on "$1" memccp --servers="$MC" "$BATS_TEST_TMPDIR/put/$2"
}

get() { on "$1" memccat --servers="$MC" "$2"; }

# get_is I KEY VALUE: node I's cache holds VALUE under KEY.
get_is() { [ "$(get "$1" "$2" 2>/dev/null)" = "$3" ]; }

# every node holds the same 'shared' and both one-sided keys
converged() {
	local v1 v2 v3
	v1=$(get 1 shared) v2=$(get 2 shared) v3=$(get 3 shared)
	[ "$v1" = "$v2" ] && [ "$v2" = "$v3" ] && get 1 only-right >/dev/null && get 3 only-left >/dev/null
}

@test "a put through the master is readable on every slave; after kill -9 of the master, on the new master" {
	start_three --no-sampler --replicating
	put "$m" greeting "hello from the master"
	for i in 1 2 3; do [ "$(get "$i" greeting)" = "hello from the master" ]; done
	others=$(echo 1 2 3 | tr -d "$m")
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$others" 10)
	[ "$(get "$m2" greeting)" = "hello from the master" ]
	# the broker learns where the cache is
	wait_until 5 test -s "$LAB_DIR/n$m2/broker/pid"
	grep -q "^FAILOVER_CACHE=127.0.0.1:11311$" "$LAB_DIR/n$m2/broker/env-$(cat "$LAB_DIR/n$m2/broker/pid")"
}

@test "a node that joins later receives everything; all nodes restarted keep every entry" {
	lab_start 1
	lab_start 2
	lab_wait_one_master "1 2" 10 >/dev/null
	for k in $(seq 1 50); do put 1 "key$k" "value $k"; done
	on 1 memcrm --servers="$MC" key7
	lab_start 3
	lab_wait_role 3 slave 10
	wait_until 10 get_is 3 key50 "value 50"
	for k in 1 25 50; do [ "$(get 3 "key$k")" = "value $k" ]; done
	run ! get 3 key7
	for i in 1 2 3; do lab_stop_node "$i" TERM; done
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_one_master "1 2 3" 10 >/dev/null
	for i in 1 2 3; do
		[ "$(get "$i" key33)" = "value 33" ]
		run ! get "$i" key7
	done
	grep -q "cache restored from .*: 49 entries" "$LAB_DIR/n3/log"
}

@test "writes on both sides of a partition converge to the same value everywhere after the heal" {
	start_three --no-sampler --replicating
	put 1 shared "before"
	lab_partition 3
	sleep 1.5
	put 1 shared "left side"
	put 3 shared "right side"
	put 3 only-right "r"
	put 1 only-left "l"
	lab_heal 3
	local v1 v2 v3
	WAIT_POLL=0.2 wait_until 15 converged || true
	v1=$(get 1 shared) v2=$(get 2 shared) v3=$(get 3 shared)
	echo "# after the heal every node holds '$v1'" >&3
	[ "$v1" = "$v2" ] && [ "$v2" = "$v3" ]
	for i in 1 2 3; do
		[ "$(get "$i" only-right)" = r ]
		[ "$(get "$i" only-left)" = l ]
	done
	digests=$(for i in 1 2 3; do on "$i" memcstat --servers="$MC" | sed -n 's/.*digest: //p'; done | sort -u | wc -l)
	[ "$digests" -eq 1 ]
}

@test "a synchronous write with a peer frozen reports the missing acknowledgement instead of lying" {
	start_three --no-sampler --replicating
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	kill -STOP "$(lab_pid "$s")"
	run on "$m" "$PY" -c "
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheServerError
c = Client(('127.0.0.1', 11311), timeout=5)
try:
    c.set('k', b'v', noreply=False)
    print('STORED')
except MemcacheServerError as e:
    print('ERROR', e)
"
	kill -CONT "$(lab_pid "$s")"
	echo "# $output" >&3
	assert_output --regexp "^ERROR .*stored here but not acknowledged by n$s within 1000 ms"
	# with every peer live and answering, the same write succeeds
	sleep 1
	run on "$m" "$PY" -c "
from pymemcache.client.base import Client
print(Client(('127.0.0.1', 11311), timeout=5).set('k', b'v2', noreply=False))"
	assert_output True
}

@test "pymemcache: gets/cas/add/replace/delete semantics; oversized keys and values are refused" {
	lab_start 1
	lab_wait_role 1 master 10
	run on 1 "$PY" - <<-'PY'
	from pymemcache.client.base import Client
	from pymemcache.exceptions import MemcacheServerError, MemcacheClientError
	c = Client(('127.0.0.1', 11311), timeout=5)
	assert c.add('a', b'1', noreply=False) is True
	assert c.add('a', b'2', noreply=False) is False
	assert c.replace('nope', b'x', noreply=False) is False
	assert c.replace('a', b'3', noreply=False) is True
	v, cas = c.gets('a')
	assert v == b'3', v
	assert c.cas('a', b'4', cas, noreply=False) is True
	assert c.cas('a', b'5', cas, noreply=False) is False       # EXISTS: cas changed
	assert c.cas('missing', b'5', b'1', noreply=False) is None  # NOT_FOUND
	assert c.get('a') == b'4'
	assert c.get_many(['a', 'zz']) == {'a': b'4'}
	assert c.delete('a', noreply=False) is True
	assert c.delete('a', noreply=False) is False
	c.set('ttl', b'x', expire=1, noreply=False)
	import time; time.sleep(2.2)
	assert c.get('ttl') is None
	try:
	    c.set('big', b'x' * 70000, noreply=False); print('big stored?!')
	except MemcacheServerError as e:
	    assert 'too large' in str(e), e
	try:
	    c.set('k' * 251, b'x', noreply=False); print('long key stored?!')
	except MemcacheClientError:
	    pass
	assert int(c.stats()[b'curr_items']) == 0
	print('ok')
	PY
	assert_success
	assert_output ok
}

@test "malformed protocol input: an error or a closed connection; the daemon and other clients are unaffected" {
	lab_start 1
	lab_wait_role 1 master 10
	put 1 keep "still here"
	run on 1 "$PY" - <<-'PY'
	import os, socket
	def talk(data, read=True):
	    s = socket.create_connection(('127.0.0.1', 11311), timeout=3)
	    s.sendall(data)
	    out = b''
	    try:
	        while read:
	            b = s.recv(4096)
	            if not b: break
	            out += b
	            if out.endswith(b'\r\n'): break
	    except socket.timeout:
	        pass
	    s.close()
	    return out
	assert talk(b'bogus\r\n') == b'ERROR\r\n'
	assert talk(b'set k 0 0 notanumber\r\nxx\r\n').startswith(b'CLIENT_ERROR')
	assert talk(b'set k 0 0 2\r\nxxxx\r\n').startswith(b'CLIENT_ERROR bad data chunk')
	assert talk(b'get ' + b'x' * 300 + b'\r\n').startswith(b'CLIENT_ERROR')
	assert talk(b'x' * 5000).startswith(b'CLIENT_ERROR line too long')
	assert talk(b'set k 0 0 100000\r\n' + b'y' * 100002) .startswith(b'SERVER_ERROR object too large')
	for _ in range(300):
	    talk(os.urandom(200), read=False)
	print('ok')
	PY
	assert_success
	assert_output ok
	[ "$(get 1 keep)" = "still here" ]
	[ "$(lab_role 1)" = master ]
	lab_ctl 1 ping
}

@test "memcached port: binary protocol closed at once, a full cache named, a far exptime kept, control characters refused; list bounded" {
	# on every address of the node's namespace: said at start
	lab_ini 1 "[cache]" "max_entries = 1000" "listen = 0.0.0.0:11311"
	lab_start 1
	lab_wait_role 1 master 10
	grep -q "cache.listen = 0.0.0.0:11311: the memcached port answers on every address of this host and has no authentication" "$LAB_DIR/n1/log"
	run on 1 "$PY" - <<-'PY'
	import socket, time
	def talk(data):
	    s = socket.create_connection(('127.0.0.1', 11311), timeout=3)
	    s.sendall(data)
	    out = b''
	    while not out.endswith(b'\r\n'):
	        b = s.recv(4096)
	        if not b: break
	        out += b
	    return s, out
	# a binary get (magic 0x80): an error line, then the connection closes
	t = time.monotonic()
	s, out = talk(b'\x80\x00\x00\x01' + b'\x00' * 7 + b'\x01' + b'\x00' * 12 + b'k')
	assert out.startswith(b'CLIENT_ERROR the binary protocol is not served here'), out
	assert s.recv(10) == b'', 'still open'
	assert time.monotonic() - t < 2
	# control characters in a key
	assert talk(b'set a\tb 0 0 1\r\nz\r\n')[1].startswith(b'CLIENT_ERROR'), 'tab in a key'
	assert talk(b'get a\x1b\r\n')[1].startswith(b'CLIENT_ERROR'), 'escape in a key'
	# an exptime past what milliseconds hold: stored and still there
	assert talk(b'set far 0 18446744073709552 1\r\nx\r\n')[1] == b'STORED\r\n'
	assert talk(b'get far\r\n')[1].startswith(b'VALUE far 0 1'), 'gone at once'
	# full at max_entries: said so, with the limit (one entry is "far")
	for i in range(999):
	    k = b'k%03d' % i + b'x' * 240
	    assert talk(b'set ' + k + b' 0 0 1\r\nv\r\n')[1] == b'STORED\r\n', i
	out = talk(b'set one-more 0 0 1\r\nv\r\n')[1]
	assert out == b'SERVER_ERROR cache full: 1000 entries, the limit cache.max_entries\r\n', out
	print('ok')
	PY
	assert_success
	assert_output ok
	# 1000 keys of 244 bytes do not fit a reply: the list says what it left out
	run lab_ctl 1 cache list
	assert_success
	assert_output --regexp "\.\.\. and [0-9]+ more entries, left out: a reply holds 256 KiB"
	[ "${#lines[@]}" -gt 500 ]
	lab_ctl 1 ping
}

@test "failoverctl cache get, put, del and list" {
	start_three --no-sampler --replicating
	run lab_ctl "$m" cache put color "deep blue"
	assert_success
	s=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	run lab_ctl "$s" cache get color
	assert_success
	assert_output "deep blue"
	printf 'line one\nline two\n' | lab_ctl "$s" cache put poem -
	[ "$(lab_ctl "$m" cache get poem)" = "$(printf 'line one\nline two')" ]
	run lab_ctl "$m" cache list
	assert_success
	assert_line --regexp "^color 9 bytes, flags 0, term 1, written by n$m$"
	assert_line --regexp "^poem 18 bytes, flags 0, term 1, written by n$s$"
	run lab_ctl "$s" cache del color
	assert_success
	run lab_ctl "$m" cache get color
	assert_failure 1
	assert_output --partial "color: not in the cache"
	[ "$(lab_ctl "$m" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cache"]["entries"])')" = 1 ]
}

@test "a corrupted cache file is reported and the node recovers from its peers" {
	start_three --no-sampler --replicating
	put 1 k1 v1
	lab_stop_node 3 TERM
	printf 'FLCACHE1garbagegarbage' >"$LAB_DIR/n3/state/cache.db"
	lab_start 3
	lab_wait_role 3 slave 10
	grep -q "is corrupted (checksum mismatch): kept as .*cache.db.corrupt" "$LAB_DIR/n3/log"
	wait_until 10 get_is 3 k1 v1
	[ "$(get 3 k1)" = v1 ]
}
