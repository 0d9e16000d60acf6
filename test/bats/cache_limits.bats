#!/usr/bin/env bats
# The cache under pressure: no spin at the descriptor limit or behind a
# waiting write, no disconnect of a client that pipelines large writes, no
# leak from connections that hijack a peer's name.  In the ASan pass only
# (LeakSanitizer judges the leak test; the CPU bounds are generous enough for
# the sanitizers' cost).  Every connection loop is bounded in count and
# time, and all traffic stays inside the lab's namespaces.

load helpers
load ../lib/lab

PY=/usr/bin/python3
MC_PORT=11311

setup_file() {
	lab_setup_file 2
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" == *asan* ]] || skip "ASan pass only"
	"$PY" -c 'import pymemcache' 2>/dev/null || skip "pymemcache is not installed"
	lab_setup 2
}

teardown() {
	lab_teardown
}

on() { # on I CMD...: runs CMD in node I's namespace
	local i=$1
	shift
	ip netns exec "$LAB-n$i" "$@"
}

@test "at the descriptor limit the cache backs off instead of spinning, and serves again once connections close" {
	lab_start 1
	lab_wait_role 1 master 10
	pid=$(lab_pid 1)
	# this launcher only: 128 descriptors, far fewer than the flood below
	prlimit --pid "$pid" --nofile=128:128
	run on 1 timeout 30 "$PY" - "$pid" "$MC_PORT" <<-'PY'
	import socket, sys, time
	pid, port = int(sys.argv[1]), int(sys.argv[2])
	def cpu():
	    f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
	    return (int(f[11]) + int(f[12])) * 1000 // 100
	conns = []
	for _ in range(300):  # bounded: 300 connections
	    s = socket.socket()
	    s.setblocking(False)
	    s.connect_ex(('127.0.0.1', port))
	    conns.append(s)
	time.sleep(0.5)
	c0 = cpu()
	time.sleep(2)
	print('cpu_ms', cpu() - c0)
	for s in conns:
	    s.close()
	from pymemcache.client.base import Client
	deadline = time.time() + 10
	while True:  # bounded: 10 s
	    try:
	        c = Client(('127.0.0.1', port), timeout=1, connect_timeout=1)
	        c.set('after', b'flood', noreply=False)
	        print('served', c.get('after').decode())
	        break
	    except Exception as e:
	        if time.time() > deadline:
	            print('not served:', e)
	            break
	        time.sleep(0.2)
	PY
	echo "# $output" >&3
	assert_success
	assert_line "served flood"
	used=$(echo "$output" | sed -n 's/^cpu_ms //p')
	[ "$used" -lt 300 ]
	grep -m1 "cache: accept: " "$LAB_DIR/n1/log" | sed 's/^/# /' >&3
	grep -q "cache: accept: Too many open files" "$LAB_DIR/n1/log"
	lab_ctl 1 metrics | grep -E '^failover_cache_accept_pauses_total [1-9]'
}

@test "a pipelined request behind a synchronous write that waits costs no CPU, and is answered after it" {
	for i in 1 2; do lab_ini "$i" "[cache]" "sync_timeout = 3000"; done
	lab_start 1
	lab_wait_role 1 master 10
	lab_start 2
	lab_wait_role 2 slave 10
	wait_until 10 lab_replicating 1
	pid=$(lab_pid 1)
	# the slave cannot acknowledge: the write waits its full 3 s
	kill -STOP "$(lab_pid 2)"
	run on 1 timeout 20 "$PY" - "$pid" "$MC_PORT" <<-'PY'
	import socket, sys, time
	pid, port = int(sys.argv[1]), int(sys.argv[2])
	def cpu():
	    f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
	    return (int(f[11]) + int(f[12])) * 1000 // 100
	s = socket.create_connection(('127.0.0.1', port), timeout=10)
	# the second request arrives while the first waits, in the socket
	# (one arriving with the first is in the launcher's buffer already)
	s.sendall(b'set k 0 0 1\r\nv\r\n')
	time.sleep(0.2)
	s.sendall(b'get k\r\n')
	time.sleep(0.1)
	c0 = cpu()
	time.sleep(2)
	print('cpu_ms', cpu() - c0)
	out = b''
	while not out.endswith(b'END\r\n'):  # bounded by the socket's timeout
	    b = s.recv(4096)
	    if not b:
	        break
	    out += b
	print(out.decode().replace('\r\n', '|'))
	PY
	kill -CONT "$(lab_pid 2)"
	echo "# $output" >&3
	assert_success
	assert_line --regexp "^SERVER_ERROR stored here but not acknowledged by n2 within 3000 ms\|VALUE k 0 1\|v\|END\|$"
	used=$(echo "$output" | sed -n 's/^cpu_ms //p')
	[ "$used" -lt 300 ]
}

@test "a client that pipelines large writes without waiting for replies is not disconnected" {
	lab_start 1
	lab_wait_role 1 master 10
	# pymemcache sends noreply writes back to back; while the launcher
	# stands still they pile up in the socket, and then one read of the
	# launcher's takes in several requests at once (sizes up to 64 KB,
	# max_value, varied: a small one before a large one grows the buffer)
	run on 1 timeout 60 "$PY" - "$(lab_pid 1)" "$MC_PORT" <<-'PY'
	import os, random, signal, sys, threading, time
	from pymemcache.client.base import Client
	pid = int(sys.argv[1])
	c = Client(('127.0.0.1', int(sys.argv[2])), timeout=10)
	r = random.Random(1)
	sizes = [r.randint(1000, 64000) for _ in range(600)]
	def value(i):
	    return b'%05d' % i + b'x' * sizes[i]
	def writes():
	    for i in range(600):  # bounded: 600 writes, about 20 MB
	        c.set('big%d' % (i % 20), value(i), noreply=True)
	c.version()
	os.kill(pid, signal.SIGSTOP)
	try:
	    t = threading.Thread(target=writes)
	    t.start()
	    time.sleep(1)
	finally:
	    os.kill(pid, signal.SIGCONT)
	t.join(30)
	assert c.get('big19') == value(599), 'the last write lost'
	assert c.get('big0') == value(580), 'a write lost'
	print('ok')
	PY
	echo "# $output" >&3
	assert_success
	assert_output ok
}

@test "400 connections that claim a real node's name in a HELLO, then close, leak nothing (LeakSanitizer)" {
	lab_start 1
	lab_wait_role 1 master 10
	lab_start 2
	lab_wait_role 2 slave 10
	wait_until 10 lab_replicating 1
	# each HELLO naming n2 on n1's port is a pending connection until it
	# closes (it once took n2's link over, and leaked its buffers)
	# the replication port listens on the lab address (cluster.interface)
	run on 1 timeout 40 "$PY" - lab n2 2710 "$(lab_addr 1)" <<-'PY'
	import os, socket, struct, sys, time
	cluster, node, port, host = sys.argv[1].encode(), sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
	h = 0xcbf29ce484222325
	for b in cluster:  # FNV-1a, the cluster's digest
	    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
	payload = struct.pack('>QB', h, len(node)) + node + os.urandom(16)
	hello = struct.pack('>IB', 1 + len(payload), 1) + payload
	deadline = time.time() + 30
	answered = 0
	for i in range(400):  # bounded: 400 connections, 30 s
	    if time.time() > deadline:
	        break
	    s = socket.create_connection((host, port), timeout=0.5)
	    s.sendall(hello)
	    try:
	        answered += len(s.recv(4096)) > 0  # its HELLO: ours was handled
	    except socket.timeout:
	        pass
	    s.close()
	    time.sleep(0.01)
	print('answered', answered)
	PY
	echo "# $output" >&3
	assert_success
	# LeakSanitizer reports at exit, into the log
	lab_stop_node 1 TERM
	grep -A12 "LeakSanitizer" "$LAB_DIR/n1/log" | sed 's/^/# /' >&3 || true
	run ! grep -q "LeakSanitizer" "$LAB_DIR/n1/log"
}

@test "a client that sends gets without reading the replies holds the launcher's memory to about a MiB" {
	lab_start 1
	lab_wait_role 1 master 10
	pid=$(lab_pid 1)
	run on 1 timeout 40 "$PY" - "$pid" "$MC_PORT" <<-'PY'
	import socket, sys, time
	pid, port = int(sys.argv[1]), int(sys.argv[2])
	def rss():
	    for l in open('/proc/%d/status' % pid):
	        if l.startswith('VmRSS:'):
	            return int(l.split()[1])
	s = socket.create_connection(('127.0.0.1', port), timeout=5)
	s.sendall(b'set big 0 0 60000\r\n' + b'x' * 60000 + b'\r\n')
	assert s.recv(100) == b'STORED\r\n'
	before = rss()
	# 20000 gets would be 1.2 GB of replies; the launcher stops reading
	# once about a MiB waits, and then this send blocks (bounded: 20 s)
	# (one stream of gets: a send that takes part of a batch leaves at most
	# an incomplete last get, which sent // 9 does not count, never a
	# request cut in two by the next batch)
	s.settimeout(0.5)
	sent, reqs, deadline = 0, b'get big\r\n' * 20000, time.time() + 20
	for _ in range(20):
	    if time.time() > deadline:
	        break
	    try:
	        sent += s.send(reqs[sent:sent + 9000])
	    except socket.timeout:
	        break
	time.sleep(1)
	grown = rss() - before
	print('sent', sent // 9, 'gets; RSS grew', grown, 'kB')
	assert grown < 16 * 1024, grown
	# reading the replies lets it go on with the rest
	s.settimeout(5)
	got, buf = 0, b''
	while got < sent // 9:
	    try:
	        d = s.recv(1 << 20)
	    except socket.timeout:
	        print('stalled after', got, 'replies; buffered', len(buf))
	        raise
	    assert d
	    buf += d
	    got += buf.count(b'END\r\n')
	    buf = buf[buf.rfind(b'END\r\n') + 5:] if b'END\r\n' in buf else buf
	print('ok', got)
	PY
	echo "# $output" >&3
	assert_success
	assert_line --partial "ok "
}
