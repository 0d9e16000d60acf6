#!/usr/bin/env bats
# Real brokers end to end: Debian's ActiveMQ through conf/activemq.ini in the
# namespace lab with JMS clients on the failover: transport, and the
# Interlok stand-in with the real AspectJ weaver spawned by promotion.

load helpers
load ../lib/lab
load ../lib/amq

# Real components run in one pass of the suite: the ASan one, where the
# launcher's C code is checked as well.
asan_pass() { [[ "$BUILD_DIR" == *asan* ]]; }

setup_file() {
	export CLIENTS="$BATS_FILE_TMPDIR/clients"
	if asan_pass && [ -d /usr/share/activemq/lib ] && command -v javac >/dev/null; then
		"$REPO_ROOT/test/java/activemq-client/build.sh" "$CLIENTS" >/dev/null
	fi
}

setup() {
	asan_pass || skip "real brokers run in the ASan pass only"
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed (scripts/test.sh installs it)"
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup 3
	amq_client_net
}

teardown() {
	lab_teardown
}

# sent_at_least N: the producer has recorded N messages sent
sent_at_least() { [ "$(wc -l <"$LAB_DIR/sent")" -ge "$1" ]; }

@test "ActiveMQ: only the master runs a JVM; kill -9 of its launcher mid-stream loses no persistent message" {
	local i m m2 url count=300 t_kill prod_rc cons_rc
	for i in 1 2 3; do amq_ini "$i"; done
	lab_sampler_start 600
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 20)
	amq_wait_serving "$m" 60
	grep -q "Apache ActiveMQ 5.17.[0-9]* (n$m, .*) started" "$LAB_DIR/n$m/log"
	# no JVM on the slaves
	for i in 1 2 3; do
		[ "$i" = "$m" ] && continue
		[ "$(lab_field "$i" broker)" = idle ]
		[ "$(lab_field "$i" broker_pid)" = 0 ]
	done
	# the client URL as an operator gets it: failoverctl locate --uri failover
	url="$(lab_ctl "$m" locate --uri failover)&maxReconnectDelay=200"
	[[ "$url" == "failover:(tcp://$(lab_addr "$m"):61616,"* ]]
	# a producer sends a persistent message every 20 ms; the master dies mid-stream
	amq_client "$CLIENTS" producer "$url" lab.q "$count" 20 120 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" &
	prod=$!
	wait_until 30 sent_at_least 100
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	t_kill=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$(echo 1 2 3 | tr -d "$m")" 20)
	amq_wait_serving "$m2" 60
	echo "# n$m killed at message $(wc -l <"$LAB_DIR/sent" | tr -d ' '); n$m2 serving after $(($(lab_ms) - t_kill)) ms" >&3
	prod_rc=0
	wait "$prod" || prod_rc=$?
	[ "$prod_rc" -eq 0 ] || { cat "$LAB_DIR/producer.err"; lab_logs 30; false; }
	[ "$(sort -un "$LAB_DIR/sent" | wc -l)" -eq "$count" ]
	cons_rc=0
	amq_client "$CLIENTS" consumer "$url" lab.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err" || cons_rc=$?
	tail -n 3 "$LAB_DIR/consumer.err" | sed 's/^/# /' >&3
	[ "$cons_rc" -eq 0 ] || { cat "$LAB_DIR/consumer.err"; false; }
	[ "$(sort -un "$LAB_DIR/received" | wc -l)" -eq "$count" ]
	# exactly one JVM alive now, on the new master
	[ "$(lab_field "$m2" broker)" = serving ]
	lab_sampler_check
}

@test "Interlok stand-in: promotion spawns SimpleBootstrap with the real AspectJ agent and the AOP configuration" {
	local tree="$BATS_TEST_TMPDIR/interlok"
	[ -f /usr/share/java/aspectjweaver.jar ] || skip "libaspectj-java is not installed"
	"$REPO_ROOT/test/java/build-interlok-tree.sh" "$tree" >/dev/null
	LAB_BROKER_INI=("java =" "home = $tree" "bootstrap = config/bootstrap.properties" "config_dir = config"
		"lib_dir = lib" "profiler = yes" "jvm_option = -Xmx64m" "property = standin.sleep.ms=600000"
		"ready_pattern = SimpleBootstrap booting" "main_class = com.adaptris.core.management.SimpleBootstrap")
	lab_ini 1
	lab_start 1
	lab_wait_role 1 master 10
	wait_until 30 lab_field_is 1 broker serving
	grep -q "PROFILER-ASPECT: woven before boot" "$LAB_DIR/n1/log"
	grep -q "SimpleBootstrap booting $tree/config/bootstrap.properties" "$LAB_DIR/n1/log"
	# SIGTERM: the JVM exits 143 and the launcher exits 0
	kill -TERM "$(lab_pid 1)"
	rc=0
	wait "$(lab_pid 1)" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "stopped (exit status 143)" "$LAB_DIR/n1/log"
}

# acked_at_least I N: node I's stand-in has N values acknowledged by the cache
acked_at_least() { [ "$(wc -l <"$LAB_DIR/n$1/acked" 2>/dev/null || echo 0)" -ge "$2" ]; }
# jvm_gone PID: the process is gone (or a zombie nobody reaped yet)
jvm_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

@test "Interlok stand-in: state set through spymemcached in sync mode is read back by the new master's JVM after kill -9" {
	local tree="$BATS_TEST_TMPDIR/interlok" i m m2 jvm acked got t_kill
	[ -f /usr/share/java/aspectjweaver.jar ] || skip "libaspectj-java is not installed"
	[ -f /usr/share/java/spymemcached.jar ] || skip "libspymemcached-java is not installed"
	"$REPO_ROOT/test/java/build-interlok-tree.sh" "$tree" >/dev/null
	# every stand-in reads standin-state at start, then sets it to 1, 2, 3...
	# (each set() waited on) and appends each acknowledged value to its file
	for i in 1 2 3; do
		LAB_BROKER_INI=("java =" "home = $tree" "bootstrap = config/bootstrap.properties" "config_dir = config"
			"lib_dir = lib" "profiler = yes" "jvm_option = -Xmx64m" "jvm_option = -XX:TieredStopAtLevel=1"
			"property = standin.sleep.ms=600000" "property = standin.cache.writes=500"
			"property = standin.cache.acked=$LAB_DIR/n$i/acked"
			"ready_pattern = SimpleBootstrap booting" "main_class = com.adaptris.core.management.SimpleBootstrap")
		lab_ini "$i" "[cache]" "mode = sync"
	done
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 20)
	wait_until 10 lab_replicating 2
	wait_until 30 grep -q "SimpleBootstrap cache read standin-state=none" "$LAB_DIR/n$m/log" || { lab_logs 30; false; }
	# writes acknowledged once both slaves replicate: kill the master mid-stream
	wait_until 20 acked_at_least "$m" "$(($(wc -l <"$LAB_DIR/n$m/acked") + 30))"
	lab_ctl "$m" metrics | grep -qx "failover_cache_synchronous 1"
	jvm=$(lab_field "$m" broker_pid)
	[ "$jvm" -gt 0 ]
	t_kill=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	# the JVM dies with its launcher (PR_SET_PDEATHSIG): then its file is final
	wait_until 5 jvm_gone "$jvm"
	acked=$(tail -n 1 "$LAB_DIR/n$m/acked")
	m2=$(lab_wait_one_master "$(echo 1 2 3 | tr -d "$m")" 20)
	wait_until 30 grep -q "SimpleBootstrap cache read standin-state=" "$LAB_DIR/n$m2/log" || { lab_logs 30; false; }
	got=$(sed -n 's/.*SimpleBootstrap cache read standin-state=//p' "$LAB_DIR/n$m2/log")
	echo "# n$m acknowledged up to $acked; n$m2's JVM read $got, $(($(lab_ms) - t_kill)) ms after the kill" >&3
	# nothing acknowledged is missing; at most the one set() in flight at the
	# kill (stored, its STORED not read by the dead JVM) is there too
	[[ "$got" =~ ^[0-9]+$ ]]
	[ "$got" -ge "$acked" ] && [ "$got" -le $((acked + 1)) ]
	# and the new master's stand-in carries on from there
	wait_until 10 acked_at_least "$m2" 1
	[ "$(head -n 1 "$LAB_DIR/n$m2/acked")" -eq $((got + 1)) ]
}

# warm_ready I [NOT-PID]: node I has a warm standby (not NOT-PID) that said it is ready
warm_ready() {
	local w
	w=$(lab_field "$1" warm_pid)
	[ -n "$w" ] && [ "$w" != 0 ] && [ "$w" != "${2:-}" ] && lab_alive "$w" &&
		grep -q "warm standby\[$w\]: failover-warm: ready" "$LAB_DIR/n$1/log"
}

@test "ActiveMQ with cds and warm_standby = init: a cold broker's clean stop writes the archive and class list; the standby holds no port and no store file; promoted, it serves what was sent" {
	local i w n url count=50 rc
	[ -f "$BUILD_DIR/warm/failover-warm.jar" ] || skip "no failover-warm.jar in $BUILD_DIR (built where javac is)"
	for i in 1 2; do
		amq_ini "$i" $'cds = yes\nwarm_standby = init\nwarm_jar = '"$BUILD_DIR/warm/failover-warm.jar"
	done
	lab_sampler_start 600
	lab_start 1
	lab_wait_role 1 master 20
	amq_wait_serving 1 90
	lab_start 2
	wait_until 60 warm_ready 2
	# n1's first broker started cold, told to write the archive at exit
	grep -q "warm standby pid [0-9]* not used: no class-data archive yet" "$LAB_DIR/n1/log"
	grep -q "JVM args: .*-XX:ArchiveClassesAtExit=$LAB_DIR/n1/state/broker-" "$LAB_DIR/n1/log"
	# a clean stop: n1's broker writes its archive and class list; n2
	# (no archive yet either) starts cold
	lab_stop_node 1 TERM
	grep -q "warm standby: class list $LAB_DIR/n1/state/broker-[0-9a-f]*.classes written" "$LAB_DIR/n1/log"
	[ -s "$(ls "$LAB_DIR"/n1/state/broker-*.jsa)" ]
	run "$LAUNCHER" --print-command -c "$LAB_DIR/n1/launcher.ini"
	assert_output --partial "-XX:SharedArchiveFile=$LAB_DIR/n1/state/broker-"
	lab_wait_role 2 master 20
	amq_wait_serving 2 90
	grep -q "warm standby pid [0-9]* not used: no class-data archive yet" "$LAB_DIR/n2/log"

	# n1 again, a standby with the list and the archive: the broker's classes initialized
	lab_start 1
	wait_until 90 warm_ready 1
	w=$(lab_field 1 warm_pid)
	tr '\0' '\n' </proc/"$w"/cmdline | grep -q -- "^-XX:SharedArchiveFile=$LAB_DIR/n1/state/broker-"
	n=$(sed -n "s/.*warm standby\[$w\]: failover-warm: ready: \([0-9]*\) classes initialized.*/\1/p" "$LAB_DIR/n1/log")
	echo "# n1's standby pid $w: $n classes initialized, VmRSS $(awk '/VmRSS/ {print $2, $3}' /proc/"$w"/status)" >&3
	[ "$n" -gt 1000 ]
	# marked, and nothing of a broker: no listening socket, no file of the store
	[ "$(cat /proc/"$w"/comm)" = warm-standby ]
	tr '\0' '\n' </proc/"$w"/cmdline | grep -qx -- -Dfailover.warm=standby
	run ip netns exec "$LAB-n1" ss -Hltnp
	refute_output --partial "pid=$w,"
	refute_output --partial ":$AMQ_PORT "
	run ls -l /proc/"$w"/fd/
	refute_output --partial "$LAB_DIR/amq-shared"
	[ "$(lab_field 1 broker_pid)" = 0 ]

	# messages to n2's broker; n2 dies; n1's standby serves them
	url=$(amq_url)
	amq_client "$CLIENTS" producer "$url" warm.q "$count" 10 60 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" ||
		{ cat "$LAB_DIR/producer.err"; false; }
	[ "$(sort -un "$LAB_DIR/sent" | wc -l)" -eq "$count" ]
	kill -9 "$(lab_pid 2)"
	lab_wait_role 1 master 20
	amq_wait_serving 1 90
	[ "$(lab_field 1 broker_pid)" = "$w" ]
	[ "$(cat /proc/"$w"/comm)" = java ]
	grep -q "broker started: pid $w, term [0-9]*, from the warm standby" "$LAB_DIR/n1/log"
	rc=0
	amq_client "$CLIENTS" consumer "$url" warm.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$LAB_DIR/consumer.err"; false; }
	[ "$(sort -un "$LAB_DIR/received" | wc -l)" -eq "$count" ]
	lab_sampler_check
}

@test "ActiveMQ: failoverctl switchover while a client sends; every message arrives, the term grows" {
	local i m t url count=200
	for i in 1 2 3; do amq_ini "$i"; done
	lab_sampler_start 300
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 20)
	amq_wait_serving "$m" 60
	sleep 1
	url="$(lab_ctl "$m" locate --uri failover)&maxReconnectDelay=200"
	amq_client "$CLIENTS" producer "$url" switch.q "$count" 20 120 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" &
	prod=$!
	wait_until 30 sent_at_least 60
	t=$(echo 1 2 3 | tr -d "$m" | awk '{print $1}')
	run lab_ctl "$t" switchover "n$t"
	assert_success
	assert_line --regexp "^switchover done: n$t is master \(term 2\)$"
	amq_wait_serving "$t" 60
	rc=0
	wait "$prod" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$LAB_DIR/producer.err"; false; }
	amq_client "$CLIENTS" consumer "$url" switch.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err"
	[ "$(sort -un "$LAB_DIR/received" | wc -l)" -eq "$count" ]
	grep -q "broker pid [0-9]* stopped (exit status 143)" "$LAB_DIR/n$m/log"
	lab_sampler_check
}
