#!/usr/bin/env bats
# Broker health checks and the precheck, with the fake broker
# (test/lib/fake-broker) in the namespace lab: a sick broker is replaced
# or restarted, a node that may not lead never takes over, and with nobody
# to take over the master restarts its broker, degraded.  The real broker
# (ActiveMQ, its deep probe) is in health_brokers.bats, in the sanitizer
# pass, where the same C code runs under ASan; this file runs in the plain
# pass only (about 30 s).

load helpers
load ../lib/lab

setup_file() {
	[[ "$BUILD_DIR" == *asan* ]] && return 0
	lab_setup_file 3
}

teardown_file() {
	lab_teardown_file
}

setup() {
	[[ "$BUILD_DIR" != *asan* ]] || skip "fake brokers: the plain pass; health_brokers.bats runs the checks under ASan"
	lab_setup 3
}

teardown() {
	lab_teardown
}

# health_ini I [health lines]: node I with a command check that fails while
# $LAB_DIR/nI/sick exists; fast checks.  Position I: n1 ranks first.
health_ini() {
	local i=$1
	shift
	LAB_BROKER_INI=("[health]" "command = test ! -e $LAB_DIR/n$i/sick" "interval = 200" "timeout = 1000"
		"fall = 2" "rise = 1" "precheck_interval = 200" "$@")
	lab_ini "$i" "position = $i"
	LAB_BROKER_INI=()
}

wait_log() { # wait_log I TEXT SECONDS
	wait_until "$3" grep -qF "$2" "$LAB_DIR/n$1/log" || { echo "n$1 log lacks: $2" >&2; return 1; }
}

broker_starts() { # broker_starts I: how many brokers node I's launcher started
	local n
	n=$(grep -c 'broker started: pid' "$LAB_DIR/n$1/log" 2>/dev/null) || true
	echo "${n:-0}"
}

starts_at_least() { [ "$(broker_starts "$1")" -ge "$2" ]; } # starts_at_least I N

@test "action = resign: a sick broker's node resigns, the next node serves; the log says each change once" {
	local i bp
	for i in 1 2 3; do health_ini "$i" "action = resign"; done
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_until 5 lab_has_broker 1
	wait_log 1 "health: unknown -> healthy" 5
	bp=$(lab_broker_pid 1)
	touch "$LAB_DIR/n1/sick"
	lab_wait_role 2 master 10
	wait_until 10 lab_has_broker 2 || { lab_logs >&2; false; }
	! lab_alive "$bp"
	[ "$(lab_brokers_alive)" = 2 ]
	grep -q "health: healthy -> failing 1 of 2 (command exit status 1)" "$LAB_DIR/n1/log"
	grep -q "health: failing 1 of 2 (command exit status 1) -> unhealthy (command exit status 1)" "$LAB_DIR/n1/log"
	grep -q "resigning mastership: health check failed: command exit status 1" "$LAB_DIR/n1/log"
	[ "$(grep -c 'health: .* -> unhealthy' "$LAB_DIR/n1/log")" -eq 1 ]
	# the history has the verdicts and the handover, in order
	lab_ctl 1 history | sed 's/^/# n1: /' >&3
	[ "$(lab_ctl 1 history | awk '{print $5}' | grep -v role | head -n 3 | tr '\n' ' ')" = "health health handover " ]
	lab_ctl 1 history | grep -q "  n1  health    healthy -> failing: command exit status 1$"
	lab_ctl 1 history | grep -q "  n1  health    failing -> unhealthy: command exit status 1$"
	# the new master's broker is checked too; the metrics count what failed
	wait_log 2 "health: unknown -> healthy" 5
	lab_ctl 1 metrics | grep -qx 'failover_health_level_failures_total{level="command"} 2'
	lab_sampler_check
}

@test "action = restart: restarted here max_restarts times in a row, then the node resigns; a broker that recovers stays" {
	local i
	for i in 1 2 3; do
		# checks far enough apart for the test to cure the broker between them
		health_ini "$i" "action = restart" "interval = 600"
		# two restarts before giving up
		sed -i 's/^\[broker\]$/[broker]\nmax_restarts = 2/' "$LAB_DIR/n$i/launcher.ini"
	done
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_log 1 "health: unknown -> healthy" 5
	# sick once: one restart, then healthy again; still master
	touch "$LAB_DIR/n1/sick"
	WAIT_POLL=0.02 wait_log 1 "restarting the broker (1 of 2)" 5
	rm -f "$LAB_DIR/n1/sick"
	wait_until 5 starts_at_least 1 2
	wait_log 1 "stopped (exit status 143) for a restart" 5
	sleep 1
	lab_role_is 1 master
	[ "$(lab_brokers_alive)" = 1 ]
	# sick for good: two restarts in a row, then the lead goes to n2
	touch "$LAB_DIR/n1/sick"
	lab_wait_role 2 master 15
	wait_until 10 lab_has_broker 2 || { lab_logs >&2; false; }
	grep -q "unhealthy after 2 restarts in a row" "$LAB_DIR/n1/log"
	[ "$(broker_starts 1)" -ge 3 ]
	! lab_has_broker 1
	lab_sampler_check
}

@test "a check is killed at its timeout and counts as failed; the tcp level fails when the port is dropped" {
	local i pids
	for i in 1 2 3; do
		# ready once it listens: the checks start then
		LAB_BROKER_INI=("env = FAKE_LISTEN=$(lab_addr "$i"):61616" "ready_pattern = ready" "[health]"
			"tcp = $(lab_addr "$i"):61616"
			"command = if [ -e $LAB_DIR/n$i/hang ]; then sleep 30; fi" "interval = 200" "timeout = 400"
			"fall = 2" "action = resign")
		lab_ini "$i" "position = $i"
	done
	LAB_BROKER_INI=()
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_log 1 "health: unknown -> healthy" 5
	touch "$LAB_DIR/n1/hang"
	lab_wait_role 2 master 10 || { grep -v "broker\[" "$LAB_DIR/n1/log" | tail -20 >&3; false; }
	grep -q "command: no result within 400 ms (killed)" "$LAB_DIR/n1/log"
	# nothing of the hung command is left
	pids=$(ip netns pids "$LAB-n1" | xargs -r ps -o pid=,args= -p | grep -F 'sleep 30' || true)
	[ -z "$pids" ]
	# n2's port dropped in its namespace: the tcp level
	wait_log 2 "health: unknown -> healthy" 5
	ip netns exec "$LAB-n2" nft -f - <<-'EOF'
		table inet fltest { chain in { type filter hook input priority 0; tcp dport 61616 drop; }; }
	EOF
	lab_wait_role 3 master 10
	grep -q "tcp $(lab_addr 2):61616: no connection within 400 ms" "$LAB_DIR/n2/log"
	lab_sampler_check
}

@test "probe: a helper slow to start fails nothing; one that stops answering is killed, the check fails" {
	local i
	for i in 1 2 3; do
		cat >"$LAB_DIR/n$i/probe" <<-EOF
			#!/bin/sh
			# starts slowly (a JVM on a busy host), then answers while not hung
			sleep 1.5
			while read -r word n; do
				[ -e "$LAB_DIR/n$i/hang" ] && exec sleep 600
				echo "ok \$n rtt_us=42"
			done
		EOF
		chmod +x "$LAB_DIR/n$i/probe"
		LAB_BROKER_INI=("[health]" "probe = $LAB_DIR/n$i/probe" "interval = 200" "timeout = 500" "fall = 2"
			"action = resign")
		lab_ini "$i" "position = $i"
	done
	LAB_BROKER_INI=()
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_log 1 "health: unknown -> healthy" 10
	! grep -q "health: .* -> failing" "$LAB_DIR/n1/log"
	lab_ctl 1 metrics | grep -qx 'failover_health_probe_rtt_seconds 0.000042'
	touch "$LAB_DIR/n1/hang"
	lab_wait_role 2 master 10 || { grep -v "broker\[" "$LAB_DIR/n1/log" | tail -20 >&3; false; }
	grep -q "probe: no answer within 500 ms (helper killed)" "$LAB_DIR/n1/log"
	# the hung helper is gone with the broker's checks
	wait_until 5 sh -c "! ip netns pids $LAB-n1 | xargs -r ps -o args= -p | grep -q 'sleep 600'"
	lab_sampler_check
}

@test "precheck: a node that fails it is skipped by a resign and by a crash, says why, and still votes" {
	local i
	for i in 1 2 3; do health_ini "$i" "precheck = test -e $LAB_DIR/n$i/store"; done
	touch "$LAB_DIR/n1/store" "$LAB_DIR/n3/store"
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_until 5 lab_has_broker 1
	wait_log 2 "precheck failed: this node may not become master" 5
	lab_ctl 2 status | grep -q "^eligible:  no: precheck exit status 1"
	lab_field_is 2 eligible no
	lab_ctl 2 status | grep -q "^status:    slave; master is n1 (term [0-9]*); not eligible: precheck exit status 1"
	lab_ctl 1 peers --json | grep -q '"node":"n2",[^}]*"eligible":false'
	# a resignation names n3, not n2 (which ranks before it)
	lab_ctl 1 resign
	lab_wait_role 3 master 10
	sleep 0.5
	lab_role_is 2 slave
	# a crash of n3: n1 (out of its holddown by then) takes over, never n2
	sleep 1
	kill -9 "$(lab_pid 3)"
	lab_groups "1 2"
	lab_wait_role 1 master 10
	lab_role_is 2 slave
	! grep -q "Promoted to Master node" "$LAB_DIR/n2/log"
	[ ! -e "$LAB_DIR/n2/broker/events" ]
	# eligible again: it may lead (it is named by the next resignation)
	touch "$LAB_DIR/n2/store"
	wait_log 2 "precheck passed" 5
	lab_ctl 1 resign
	lab_wait_role 2 master 10
	lab_sampler_check
}

@test "no eligible healthy standby: the master restarts its broker, degraded; a standby that comes takes over" {
	local i
	for i in 1 2 3; do health_ini "$i" "action = resign" "precheck = test -e $LAB_DIR/n$i/store"; done
	touch "$LAB_DIR/n1/store"
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	lab_wait_role 1 master 10
	wait_log 1 "health: unknown -> healthy" 5
	wait_until 5 lab_field_is 2 eligible no
	touch "$LAB_DIR/n1/sick"
	wait_log 1 "degraded: no eligible healthy standby" 5
	wait_until 5 starts_at_least 1 2
	lab_role_is 1 master
	lab_ctl 1 status | grep -q "^degraded:  degraded: no eligible healthy standby"
	lab_ctl 1 status --json | grep -q '"degraded":true'
	lab_ctl 1 metrics | grep -qx 'failover_degraded 1'
	lab_field_is 1 degraded yes
	# n3 may lead now: it takes over from the sick broker
	touch "$LAB_DIR/n3/store"
	lab_wait_role 3 master 10
	wait_until 5 lab_has_broker 3
	! lab_has_broker 1
	lab_sampler_check
}

@test "no node may lead: no master, each says why, and no broker is ever started" {
	local i
	for i in 1 2 3; do health_ini "$i" "precheck = test -e $LAB_DIR/n$i/store"; done
	lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	for i in 1 2 3; do wait_log "$i" "precheck failed" 5; done
	sleep 3
	[ -z "$(lab_masters)" ]
	[ -z "$(lab_brokers_alive)" ]
	for i in 1 2 3; do [ ! -e "$LAB_DIR/n$i/broker/events" ]; done
	lab_ctl 1 status | grep -q "^cluster:   no node may become master: every live node fails its precheck"
	lab_ctl 1 status | grep -q "^status:    slave; no master; not eligible: precheck exit status 1"
	lab_field_is 1 eligible no
	# one store back: that node leads
	touch "$LAB_DIR/n2/store"
	lab_wait_role 2 master 10
	lab_sampler_check
}

@test "history: a check that flaps between failing and healthy is kept six times, then counted, not recorded each time" {
	# fails every other run; always once $LAB_DIR/n1/sick exists
	printf '#!/bin/sh\n[ -e "%s/sick" ] && exit 1\nn=$(cat "%s/count" 2>/dev/null || echo 0)\necho $((n + 1)) >"%s/count"\nexit $((n %% 2))\n' \
		"$LAB_DIR/n1" "$LAB_DIR/n1" "$LAB_DIR/n1" >"$LAB_DIR/flap.sh"
	chmod 755 "$LAB_DIR/flap.sh"
	health_ini 1 "action = restart" "fall = 3"
	sed -i "s|^command = .*|command = $LAB_DIR/flap.sh|" "$LAB_DIR/n1/launcher.ini"
	lab_start 1
	lab_wait_role 1 master 10
	# twenty flaps or more (a check every 200 ms, one flap per two)
	wait_until 30 sh -c "[ \$(cat '$LAB_DIR/n1/count' 2>/dev/null || echo 0) -ge 44 ]"
	touch "$LAB_DIR/n1/sick"
	wait_until 10 sh -c "'$FAILOVERCTL' -s '$LAB_DIR/n1/ctl.sock' history | grep -q 'failing -> unhealthy'"
	lab_ctl 1 history | sed 's/^/# n1: /' >&3
	flaps=$(lab_ctl 1 history | grep -cE "health +(healthy -> failing|failing -> healthy)") || true
	[ "$flaps" -le 6 ] || fail "$flaps flaps recorded"
	lab_ctl 1 history | grep -qE "failing -> unhealthy: .* \([0-9]+ failing/healthy changes before this not recorded\)$"
}
