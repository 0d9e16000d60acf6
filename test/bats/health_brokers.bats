#!/usr/bin/env bats
# Broker health checks against the real brokers: Debian's ActiveMQ
# (conf/activemq.ini, its deep probe probes/activemq) in the namespace lab
# with JMS clients on the failover: transport, and the Interlok stand-in with
# the [health] lines of conf/interlok.ini.  The logic itself is tested with
# the fake broker in health.bats; here each sickness is a real one.
#
# 1. A SIGSTOPped master JVM (its launcher alive), action = resign, the deep
#    probe: measures the time from the SIGSTOP to another node serving
#    (bound: fall x interval + timeout + stop_timeout + a JVM start, with a
#    generous margin); no acknowledged message is lost; the frozen JVM is
#    gone.  A slave failing its precheck (its shared store directory
#    missing) that ranks first is skipped by that resignation and by the
#    crash (kill -9) of the next master's launcher: it never leads.
# 2. The broker's port dropped by nftables in its namespace, the tcp level,
#    action = restart with max_restarts = 1: measures the time from the drop
#    to the local restart and to another node serving after the resignation.
# 3. A node's own store on a small tmpfs filled up: the deep probe's reason
#    (ActiveMQ stops its broker on the journal's ENOSPC, so the probe sees a
#    dropped connection; the broker's own line is printed too), the time
#    from the fill to the other node (its own store) serving, and no
#    flapping: the sick node (preempt = yes, ranking first) is not master
#    again within its holddown (promotions= counted).
# 4. The Interlok stand-in with conf/interlok.ini's commented [health] lines
#    (tcp, the curl command on /workflow-health-check, action = restart) as
#    shipped: healthy while it serves, unhealthy when SIGSTOPped, restarted
#    and healthy again; measures detection and recovery.
# Every test runs the role sampler: never two masters.  Real components run
# in the ASan pass only, as in real_brokers.bats.

load helpers
load ../lib/lab
load ../lib/amq

asan_pass() { [[ "$BUILD_DIR" == *asan* ]]; }

setup_file() {
	# no skip here: bats fails the whole file for that in the plain pass
	asan_pass || return 0
	[ -d /usr/share/activemq/lib ] || return 0
	export CLIENTS="$BATS_FILE_TMPDIR/clients"
	command -v javac >/dev/null && "$REPO_ROOT/test/java/activemq-client/build.sh" "$CLIENTS" >/dev/null
	# one lab for the file: each test starts from fresh node directories
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	asan_pass || skip "real brokers run in the ASan pass only"
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed (scripts/test.sh installs it)"
	[ -x "$BUILD_DIR/probes/activemq/activemq-probe" ] || skip "the ActiveMQ probe is not built (no JDK or libactivemq-java)"
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup 3
	amq_client_net
	MOUNTED=""
}

teardown() {
	local i
	# a failed test's logs and status files are kept (lab_keep says where)
	[ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${LAB_DIR:-}" ] || lab_keep >&2 || true
	lab_teardown
	# what a test left in the file's namespaces: its nftables table
	for i in 1 2 3; do ip netns exec "$LAB-n$i" nft delete table inet hbtest 2>/dev/null || true; done
	ip -n "$LAB-sw" addr flush dev br0 2>/dev/null || true
	# the processes are gone (lab_teardown): the tmpfs is free
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" || true
	fi
}

wait_log() { # wait_log I TEXT SECONDS
	wait_until "$3" grep -qF -e "$2" "$LAB_DIR/n$1/log" || { echo "n$1 log lacks: $2" >&2; return 1; }
}

# No launcher of the lab reported a sanitizer error (this is the ASan pass).
no_sanitizer_reports() {
	! grep -l 'Sanitizer' "$LAB_DIR"/n*/log 2>/dev/null
}

past_ms() { [ "$(lab_ms)" -ge "$1" ]; } # past_ms T: the clock (lab_ms) is past T

sent_at_least() { [ "$(wc -l <"$LAB_DIR/sent")" -ge "$1" ]; }

# The reason of node I's last change to unhealthy, as its log says it.
unhealthy_why() {
	grep -o 'health: .* -> unhealthy (.*)' "$LAB_DIR/n$1/log" | tail -n 1 | sed 's/.* -> unhealthy (\(.*\))$/\1/'
}

# ms between two log lines of nodes (lab_log_ms), or "?".
log_gap() { # log_gap I TEXT J TEXT
	local a b
	a=$(lab_log_ms "$1" "$2") && b=$(lab_log_ms "$3" "$4") && echo $((b - a)) || echo "?"
}

@test "SIGSTOPped master JVM, deep probe, action = resign: another node serves, no acknowledged message lost; a failing precheck is skipped by the resign and by a crash" {
	local i bp t0 ms url count=150 prod prod_rc cons_rc extra json
	# holddown 4 s: n1 is out of it by the crash of step 2
	for i in 1 2 3; do
		extra=$'holddown = 4000\nstop_timeout = 5000\n[health]\naction = resign\ninterval = 500\ntimeout = 1500'
		extra+=$'\nfall = 2\nrise = 1\nprecheck_interval = 300\n'
		# n1 and n3 see the shared store; n2's "mount" is missing
		if [ "$i" = 2 ]; then extra+="precheck = test -d $LAB_DIR/n2/shared-store-mount"
		else extra+="precheck = test -d $LAB_DIR/amq-shared"; fi
		amq_ini "$i" "$extra"
	done
	# n2 ranks first (100, before n1's 101 and n3's 103)
	sed -i 's/^position = .*/position = 100/' "$LAB_DIR/n2/launcher.ini"
	lab_sampler_start 300
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 20
	amq_wait_serving 1 60
	wait_log 1 "health: unknown -> healthy" 30
	wait_until 10 lab_field_is 2 eligible no
	lab_ctl 2 status | grep -q "^eligible:  no: precheck exit status 1"
	bp=$(lab_field 1 broker_pid)
	[ "$(cat "/proc/$bp/comm")" = java ]
	echo "$bp" >>"$LAB_DIR/pids" # a stopped JVM left behind is continued and killed with the lab
	url=$(amq_url)
	amq_client "$CLIENTS" producer "$url" hb.q "$count" 20 120 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" &
	prod=$!
	wait_until 60 sent_at_least 40
	t0=$(lab_ms)
	kill -STOP "$bp"
	lab_wait_role 3 master 60
	amq_wait_serving 3 60
	ms=$(($(lab_ms) - t0))
	echo "# SIGSTOP of n1's JVM to n3 serving: $ms ms (unhealthy after $(log_gap 1 'healthy -> failing 1 of 2' 1 ' unhealthy (') ms of failing; n1's broker stopped $(log_gap 1 ' unhealthy (' 1 'broker pid') ms after; n3 promoted to ready $(log_gap 3 'Promoted to Master node' 3 'broker ready') ms)" >&3
	echo "# n1: $(grep -o 'health: .* -> unhealthy .*' "$LAB_DIR/n1/log" | tail -n 1)" >&3
	# fall x interval + timeout + stop_timeout + a JVM start: 2x0.5+1.5+5+~5 s; generous
	[ "$ms" -le 45000 ]
	grep -q "resigning mastership: health check failed: probe: " "$LAB_DIR/n1/log"
	# the frozen JVM is gone, n2 never led
	wait_until 10 ! lab_alive "$bp"
	lab_role_is 2 slave
	# no acknowledged message lost
	prod_rc=0
	wait "$prod" || prod_rc=$?
	[ "$prod_rc" -eq 0 ] || { tail -n 20 "$LAB_DIR/producer.err"; lab_logs 30; false; }
	[ "$(sort -un "$LAB_DIR/sent" | wc -l)" -eq "$count" ]
	cons_rc=0
	amq_client "$CLIENTS" consumer "$url" hb.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err" || cons_rc=$?
	[ "$cons_rc" -eq 0 ] || { tail -n 20 "$LAB_DIR/consumer.err"; false; }
	[ -z "$(comm -23 <(sort -u "$LAB_DIR/sent") <(sort -u "$LAB_DIR/received"))" ]
	echo "# producer: $(grep -c . "$LAB_DIR/sent") acknowledged, $(sort -un "$LAB_DIR/received" | wc -l) distinct received" >&3
	# n3's broker is checked in turn, as failoverctl's JSON says
	wait_until 10 lab_field_is 3 health healthy
	json=$(lab_ctl 3 status --json)
	[[ "$json" == *'"health":{"configured":true,"checking":true,"state":"healthy"'* ]]
	echo "# n3's probe: $(grep -o '"probe_rtt_us":[0-9]*' <<<"$json")" >&3
	# step 2: a crash of n3's launcher once n1 is out of its holddown: n1
	# takes over, never n2
	wait_until 10 past_ms $(($(lab_log_ms 1 "role master -> slave") + 4500))
	kill -9 "$(lab_pid 3)"
	lab_groups "1 2"
	t0=$(lab_ms)
	lab_wait_role 1 master 20
	amq_wait_serving 1 60
	echo "# kill -9 of n3's launcher to n1 serving: $(($(lab_ms) - t0)) ms" >&3
	lab_role_is 2 slave
	run ! grep -q "Promoted to Master node" "$LAB_DIR/n2/log"
	lab_field_is 2 promotions 0
	lab_field_is 2 eligible no
	lab_ctl 2 status | grep -q "^eligible:  no: precheck exit status 1"
	lab_ctl 2 status --json | grep -qF '"eligibility":{"eligible":false,"precheck":true,"reason":"precheck exit status 1"'
	lab_sampler_check
	no_sanitizer_reports
}

@test "tcp level, action = restart: the broker's port dropped by nftables; one restart here, then the node resigns and another serves" {
	local i t0 extra ms_restart ms_serve
	for i in 1 2; do
		extra=$'max_restarts = 1\nholddown = 30000\nstop_timeout = 5000\n[health]\naction = restart'
		extra+=$'\ninterval = 500\ntimeout = 1000\nfall = 2\nrise = 1\n'
		extra+="tcp = $(lab_addr "$i"):$AMQ_PORT"
		# the tcp level alone: no probe
		AMQ_HEALTH=0 amq_ini "$i" "$extra"
	done
	lab_groups "1 2" "3"
	lab_sampler_start 300
	for i in 1 2; do lab_start "$i"; done
	lab_wait_role 1 master 20
	amq_wait_serving 1 60
	wait_log 1 "health: unknown -> healthy" 30
	t0=$(lab_ms)
	ip netns exec "$LAB-n1" nft -f - <<-EOF
		table inet hbtest { chain in { type filter hook input priority 0; tcp dport $AMQ_PORT drop; }; }
	EOF
	wait_log 1 "restarting the broker (1 of 1)" 30
	ms_restart=$(($(lab_ms) - t0))
	lab_wait_role 2 master 60
	amq_wait_serving 2 60
	ms_serve=$(($(lab_ms) - t0))
	echo "# port dropped: n1 restarting its broker after $ms_restart ms, n2 serving after $ms_serve ms" >&3
	echo "# n1: $(grep -o 'resigning mastership: .*' "$LAB_DIR/n1/log" | tail -n 1)" >&3
	grep -q "tcp $(lab_addr 1):$AMQ_PORT: no connection within 1000 ms" "$LAB_DIR/n1/log"
	grep -q "broker pid [0-9]* stopped (exit status 143) for a restart" "$LAB_DIR/n1/log"
	grep -q "resigning mastership: unhealthy after 1 restart in a row: tcp $(lab_addr 1):$AMQ_PORT: no connection" "$LAB_DIR/n1/log"
	# two starts on n1 (the first, the restart), both ready though the port is dropped
	[ "$(grep -c 'broker started: pid' "$LAB_DIR/n1/log")" -eq 2 ]
	[ "$(grep -c 'Apache ActiveMQ .* (n1, .*) started' "$LAB_DIR/n1/log")" -eq 2 ]
	lab_field_is 1 role slave
	wait_until 15 lab_field_is 1 broker idle
	lab_sampler_check
	no_sanitizer_reports
}

@test "a node's own store on a full tmpfs: the deep probe says why, the node resigns, the other serves, and no flapping within the holddown" {
	local i t0 ms extra why mnt watch
	mnt="$LAB_DIR/n1/store"
	mkdir -p "$mnt" "$LAB_DIR/n2/store"
	mount -t tmpfs -o size=96m hbstore "$mnt"
	MOUNTED=$mnt
	for i in 1 2; do
		# fall = 1, checks 200 ms apart: on the journal's "No space left on
		# device" ActiveMQ stops its broker and restarts it in the same
		# JVM, which fails within about 0.4 s and exits; the first failed
		# check must act, else the JVM's exits do (the supervisor's
		# restarts, then "broker failed 4 times": ~18 s instead of ~6)
		extra=$'holddown = 20000\nstop_timeout = 5000\n[health]\naction = resign'
		extra+=$'\ninterval = 200\ntimeout = 3000\nfall = 1\nrise = 1'
		amq_ini "$i" "$extra"
		# each node its own store (n1's on the tmpfs); n1 ranks first and
		# would take the lead back at once but for its holddown
		sed -i -e "s|^property = activemq.data=.*|property = activemq.data=$LAB_DIR/n$i/store|" \
			-e 's/^preempt = .*/preempt = yes/' "$LAB_DIR/n$i/launcher.ini"
	done
	lab_groups "1 2" "3"
	lab_sampler_start 300
	for i in 1 2; do lab_start "$i"; done
	lab_wait_role 1 master 20
	amq_wait_serving 1 60
	wait_log 1 "health: unknown -> healthy" 30
	lab_field_is 2 role slave
	# fill the store's file system (bounded by its size)
	t0=$(lab_ms)
	dd if=/dev/zero of="$mnt/fill" bs=1M count=200 2>/dev/null || true
	echo "# n1's store: $(df -h --output=used,avail "$mnt" | tail -n 1 | tr -s ' ')" >&3
	lab_wait_role 2 master 60
	amq_wait_serving 2 60
	ms=$(($(lab_ms) - t0))
	why=$(unhealthy_why 1)
	echo "# store full: n2 serving after $ms ms; n1 unhealthy: $why" >&3
	echo "# n1: $(grep -o 'resigning mastership: .*' "$LAB_DIR/n1/log" | tail -n 1)" >&3
	[[ "$why" == probe:* ]]
	# what the broker met: its journal's write failed for want of space
	echo "# n1's broker: $(grep -m 1 -o 'IOException: No space left on device' "$LAB_DIR/n1/log")" >&3
	grep -q "IOException: No space left on device" "$LAB_DIR/n1/log"
	grep -q "resigning mastership: health check failed: probe: " "$LAB_DIR/n1/log"
	# no flapping: n1 (preempt = yes, ranks first) stays slave in its
	# holddown; watched up to 6 s, ending 1.5 s before the holddown does
	t0=$(lab_ms)
	watch=$(($(lab_log_ms 1 "role master -> slave") + 20000 - 1500 - t0))
	[ "$watch" -le 6000 ] || watch=6000
	[ "$watch" -ge 1000 ] || { echo "n2 served only $((20000 - 1500 - watch)) ms after n1 resigned: no time left to watch" >&2; false; }
	run ! wait_until "$((watch / 1000)).$(printf '%03d' $((watch % 1000)))" lab_role_is 1 master 2>/dev/null
	echo "# watched $(($(lab_ms) - t0)) ms of n1's 20 s holddown: n1 promotions=$(lab_field 1 promotions), n2 promotions=$(lab_field 2 promotions)" >&3
	lab_field_is 1 promotions 1
	lab_field_is 2 promotions 1
	lab_role_is 2 master
	lab_field_is 2 broker serving
	lab_sampler_check
	no_sanitizer_reports
}

@test "Interlok stand-in with conf/interlok.ini's [health] lines: healthy while serving, unhealthy when SIGSTOPped, restarted and healthy again" {
	local tree="$BATS_TEST_TMPDIR/interlok" lines bp t0 ms_bad ms_ok
	[ -f /usr/share/java/aspectjweaver.jar ] || skip "libaspectj-java is not installed"
	command -v curl >/dev/null || skip "curl is not installed (scripts/test.sh installs it)"
	"$REPO_ROOT/test/java/build-interlok-tree.sh" "$tree" >/dev/null
	# the example's commented lines as an operator uncomments them, unchanged:
	# 127.0.0.1:8080 is the node's own loopback in its namespace
	mapfile -t lines < <(sed -n -e 's/^;\(tcp = .*\)$/\1/p' -e 's/^;\(command = curl .*\)$/\1/p' \
		-e 's/^;\(action = .*\)$/\1/p' "$REPO_ROOT/conf/interlok.ini")
	[ "${#lines[@]}" -eq 3 ]
	printf '# %s\n' "${lines[@]}" >&3
	LAB_BROKER_INI=("java =" "home = $tree" "bootstrap = config/bootstrap.properties" "config_dir = config"
		"lib_dir = lib" "profiler = yes" "jvm_option = -Xmx64m" "property = standin.sleep.ms=600000"
		"property = standin.http.port=8080" "ready_pattern = SimpleBootstrap health on"
		"main_class = com.adaptris.core.management.SimpleBootstrap"
		"[health]" "${lines[@]}" "interval = 500" "timeout = 3000" "fall = 2" "rise = 1")
	lab_ini 1
	lab_groups "1" "2" "3"
	lab_sampler_start 300
	lab_start 1
	lab_wait_role 1 master 10
	wait_until 30 lab_field_is 1 broker serving
	wait_log 1 "health: unknown -> healthy" 20
	wait_until 5 lab_field_is 1 health healthy
	bp=$(lab_field 1 broker_pid)
	echo "$bp" >>"$LAB_DIR/pids"
	t0=$(lab_ms)
	kill -STOP "$bp"
	wait_log 1 "-> unhealthy" 30
	ms_bad=$(($(lab_ms) - t0))
	wait_log 1 "restarting the broker (1 of 3)" 10
	wait_until 30 ! lab_alive "$bp"
	wait_until 30 lab_field_is 1 broker serving
	wait_until 30 lab_field_is 1 health healthy
	ms_ok=$(($(lab_ms) - t0))
	echo "# SIGSTOP: unhealthy after $ms_bad ms ($(unhealthy_why 1)); healthy again after $ms_ok ms" >&3
	[ "$(grep -c 'broker started: pid' "$LAB_DIR/n1/log")" -eq 2 ]
	[ "$(grep -c 'health: .* -> healthy' "$LAB_DIR/n1/log")" -ge 2 ]
	[ "$(lab_field 1 broker_pid)" != "$bp" ]
	lab_role_is 1 master
	lab_sampler_check
	no_sanitizer_reports
}
