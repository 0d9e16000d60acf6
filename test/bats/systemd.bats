#!/usr/bin/env bats
# The unit files (unit-files/*.service): systemd-analyze verify and security,
# then the real thing under systemd 252 as PID 1 in a systemd-nspawn
# container (test/lib/nspawn.bash): one boot, driven from inside by
# test/lib/nspawn-driver.sh, which writes what it saw to $OUT; the tests
# below assert on that.  The container has a private network namespace with
# only lo, and every launcher in it uses `interface = lo`.

load helpers
load ../lib/nspawn

UNITS=(failover-launcher.service failover-launcher@.service)
MAX_EXPOSURE=2.0

setup_file() {
	export OUT="$BATS_FILE_TMPDIR/out"
	export SKIP_FILE="$BATS_FILE_TMPDIR/skip"
	mkdir -p "$OUT"
	local why
	if ! why=$(nspawn_usable); then
		echo "$why" >"$SKIP_FILE"
		return 0
	fi
	if [ ! -x "$LAUNCHER" ] || [ ! -x "$FAILOVERCTL" ]; then
		echo "no launcher built in $BUILD_DIR" >"$SKIP_FILE"
		return 0
	fi
	if ! ldd "$LAUNCHER" | grep -q libsystemd; then
		echo "$LAUNCHER is built without libsystemd (WITH_SYSTEMD=OFF): it never notifies" >"$SKIP_FILE"
		return 0
	fi
	local t0=$SECONDS rc=0
	nspawn_run "$OUT" 150 || rc=$?
	echo "nspawn exit status $rc after $((SECONDS - t0)) s" >"$OUT/nspawn.status"
	if [ ! -e "$OUT/booted" ]; then
		{
			echo "systemd-nspawn could not boot a container here (exit status $rc):"
			tail -n 5 "$OUT/nspawn.log"
		} >"$SKIP_FILE"
	fi
}

teardown_file() {
	NSPAWN_PID_FILE="$BATS_FILE_TMPDIR/out.nspawn.pid" nspawn_kill
}

# need_container: skips when the container could not run here, fails when it
# ran but the driver did not finish.
need_container() {
	if [ -e "$SKIP_FILE" ]; then
		skip "$(cat "$SKIP_FILE")"
	fi
	if [ ! -e "$OUT/done" ]; then
		echo "the driver in the container did not finish; $(cat "$OUT/nspawn.status" 2>/dev/null)" >&2
		tail -n 30 "$OUT/driver.log" >&2
		tail -n 5 "$OUT/nspawn.log" >&2
		return 1
	fi
}

r() { # r KEY: the driver's result
	sed -n "s/^$1=//p" "$OUT/results" | tail -n 1
}

# expect KEY REGEX: the driver's result matches (whole value)
expect() {
	local v
	v=$(r "$1")
	if ! [[ $v =~ ^$2$ ]]; then
		echo "$1='$v', expected /^$2\$/" >&2
		return 1
	fi
}

# The unit's journal, messages only (systemd logs at debug level there).
ujournal() { cat "$OUT/journal-$1.txt"; }

# line_of FILE REGEX: the number of the first line matching, or 0
line_of() {
	grep -nE "$2" "$1" | head -n 1 | cut -d: -f1 | grep . || echo 0
}

@test "systemd-analyze verify: both units, an instance, nothing on stderr" {
	[ "$(id -u)" -eq 0 ] || skip "needs root (a private mount namespace for the binary's path)"
	[ -x "$LAUNCHER" ] || skip "no launcher built in $BUILD_DIR"
	local d="$BATS_TEST_TMPDIR"
	mkdir -p "$d/sbin" "$d/units"
	cp "$LAUNCHER" "$d/sbin/failover-launcher"
	cp "$REPO_ROOT"/unit-files/*.service "$d/units/"
	cp "$d/units/failover-launcher@.service" "$d/units/failover-launcher@node-a.service"
	# verify checks that ExecStart='s /usr/sbin/failover-launcher exists: lay
	# the build over /usr/sbin in a mount namespace of our own (the host's
	# /usr is not touched)
	# shellcheck disable=SC2016 # expanded by that sh
	run unshare -m sh -c '
		mount --make-rprivate / &&
		mount -t overlay overlay -o "lowerdir=$1/sbin:/usr/sbin" /usr/sbin &&
		cd "$1/units" &&
		systemd-analyze verify failover-launcher.service failover-launcher@.service \
			failover-launcher@node-a.service 2>"$1/verify.err"' sh "$d"
	echo "$output"
	cat "$d/verify.err"
	assert_success
	[ ! -s "$d/verify.err" ]
	# and verify does look: without the binary it complains
	if [ ! -e /usr/sbin/failover-launcher ]; then
		run systemd-analyze verify "$d/units/failover-launcher.service"
		assert_failure
		assert_output --partial "/usr/sbin/failover-launcher is not executable"
	fi
}

@test "systemd-analyze security --offline=yes: exposure at most $MAX_EXPOSURE for both units" {
	local u level
	for u in "${UNITS[@]}"; do
		run systemd-analyze security --offline=yes "$REPO_ROOT/unit-files/$u"
		assert_success
		level=$(echo "$output" | sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
		[ -n "$level" ] || { echo "$output" | tail -n 5; false; }
		echo "# $u: exposure $level (${output##*: })" >&3
		awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'
		# what a JVM needs stays allowed
		echo "$output" | grep -qE '✗ MemoryDenyWriteExecute='
		echo "$output" | grep -qE '✗ PrivateNetwork='
	done
}

@test "nspawn: systemd 252 as PID 1, only lo in the container" {
	need_container
	expect pid1 systemd
	expect virt systemd-nspawn
	expect systemd_version "systemd 2[5-9][0-9] .*"
	expect interfaces lo
	echo "# $(r systemd_version) as PID 1 in systemd-nspawn" >&3
	echo "# $(cat "$OUT/nspawn.status")" >&3
}

@test "Type=notify: activating until READY=1, then active; StatusText shows the role" {
	need_container
	cat "$OUT/start.trace"
	# before READY=1 the launcher was up and notifying, and systemd kept the
	# unit activating
	grep -qE '^[0-9]+ activating start listening; joining cluster fltest$' "$OUT/start.trace"
	# the first time it was active, it was master
	grep -m1 -E '^[0-9]+ active ' "$OUT/start.trace" | grep -qE ' active running master; broker pid [0-9]+ (starting|serving)$'
	if grep -E '^[0-9]+ active ' "$OUT/start.trace" | grep -q listening; then false; fi
	# systemd's own view: READY=1 came, then start -> running
	local j="$OUT/journal-failover-launcher.service.txt" ready running
	ready=$(line_of "$j" 'Got notification message from PID [0-9]+ \(READY=1, STATUS=master; broker pid [0-9]+ (starting|serving)\)')
	running=$(line_of "$j" 'failover-launcher.service: Changed start -> running')
	[ "$ready" -gt 0 ]
	[ "$running" -gt "$ready" ]
	# listening before READY, as a STATUS= of its own
	[ "$(line_of "$j" '\(STATUS=listening; joining cluster fltest\)')" -lt "$ready" ]
	expect start_state active
	expect status_text "master; broker pid $(r broker_pid) serving"
	# the broker is the launcher's child, both run as the dynamic user
	expect broker_ppid "$(r main_pid)"
	[ "$(r launcher_user)" = "$(r broker_user)" ]
	[ "$(r launcher_user)" != root ]
	expect ctl_role master
	expect state_status_role master
	# the key is root's, 0600; the dynamic user read systemd's credential copy
	expect key_mode "600 root"
	grep -qE 'failover-launcher\[[0-9]+\]: key_file = /run/credentials/failover-launcher.service/cluster.key +; command line' "$j"
}

@test "systemctl reload: RELOADING=1 then READY=1; a bad configuration is refused, same process" {
	need_container
	local j="$OUT/journal-failover-launcher.service.txt"
	expect reload_rc 0
	expect reload_logged 0
	expect reload_state "active running"
	expect reload_main_pid_same yes
	# systemd saw RELOADING=1, then READY=1, and went back to running
	local a b c
	a=$(line_of "$j" 'Got notification message from PID [0-9]+ \(RELOADING=1\)')
	b=$(awk -v a="$a" 'NR > a && /Got notification message from PID [0-9]+ \(READY=1, STATUS=master/ { print NR; exit }' "$j")
	c=$(awk -v b="$b" 'NR > b && /Changed reload -> running/ { print NR; exit }' "$j")
	[ "$a" -gt 0 ]
	[ -n "$b" ]
	[ -n "$c" ]
	grep -qE 'failover-launcher\[[0-9]+\]: reloaded$' "$j"
	grep -qE 'Reloaded failover-launcher.service' "$j"
	# the bad one: kill -HUP succeeds, the launcher refuses and keeps running
	expect reload_bad_rc 0
	expect reload_bad_refused 0
	grep -qE "cluster.delay: 'fast' is not a number" "$j"
	grep -qE 'reload refused: the configuration is not valid; keeping the running one' "$j"
	expect reload_bad_state "active running"
	expect reload_bad_main_pid_same yes
	expect reload_bad_status_text "master; broker pid $(r broker_pid) serving"
}

@test "systemctl stop: a broker slower (6 s) than TimeoutStopSec=3s stops cleanly: EXTEND_TIMEOUT_USEC" {
	need_container
	local j="$OUT/journal-failover-launcher.service.txt" n
	expect stop_rc 0
	echo "# stop took $(r stop_ms) ms with TimeoutStopSec=3s and a 6 s broker" >&3
	[ "$(r stop_ms)" -ge 6000 ]
	[ "$(r stop_ms)" -lt 15000 ]
	expect stop_state "inactive dead success"
	expect stop_exec_main "[01] 0"
	grep -qE 'failover-launcher.service: Deactivated successfully' "$j"
	expect stop_broker_alive no
	# STOPPING=1, then EXTEND_TIMEOUT_USEC while the broker stops
	grep -qE 'Got notification message from PID [0-9]+ \(STOPPING=1' "$j"
	n=$(grep -cE 'Got notification message from PID [0-9]+ \(EXTEND_TIMEOUT_USEC=3000000\)' "$j")
	echo "# $n EXTEND_TIMEOUT_USEC=3000000 received by systemd" >&3
	[ "$n" -ge 4 ]
	# the broker's SIGTERM handler ran to its end, nobody was SIGKILLed
	grep -qE ' signal 15$' "$OUT/stop-broker-events.txt"
	grep -qE ' exit 143$' "$OUT/stop-broker-events.txt"
	grep -qE 'broker pid [0-9]+ stopped \(exit status 143\)' "$j"
	if sed -n '1,/Stopped failover-launcher.service/p' "$j" |
		grep -E 'State .stop-sigterm. timed out|Killing process .* with signal SIGKILL'; then
		false
	fi
}

@test "WatchdogSec=2s: a frozen launcher is killed (SIGABRT), its broker and the broker's child by the fence or at once (KillMode=mixed); it restarts" {
	need_container
	local j="$OUT/journal-failover-launcher.service.txt" l b c
	expect wd_start_rc 0
	read -r l b c <<<"$(r wd_pids)"
	echo "# SIGSTOP of the launcher; gone after: launcher $(r wd_launcher_gone_ms) ms, broker $(r wd_broker_gone_ms) ms, broker's child $(r wd_child_gone_ms) ms" >&3
	grep -qE "Watchdog timeout \(limit 2s\)!" "$j"
	grep -qE "Killing process $l \(failover-launch\) with signal SIGABRT" "$j"
	# the broker's child has no PDEATHSIG: the fence's SIGKILL to the
	# broker's group at its deadline (1750 ms after the last heartbeat at
	# 500 ms x 4) ends it with the broker, or, when the watchdog comes
	# first, the unit's SIGKILL.  The broker then dies of that SIGKILL, or
	# of its PDEATHSIG when the launcher went first (then systemd no longer
	# finds it to kill).
	if grep -qE "Killing process $c \(python3\) with signal SIGKILL" "$j"; then
		if grep -qE "Killing process $b \(python3\) with signal SIGKILL" "$j"; then
			echo "# the broker: SIGKILL from systemd (KillMode=mixed)" >&3
		else
			echo "# the broker: PR_SET_PDEATHSIG, its launcher died first" >&3
		fi
	else
		[ "$(r wd_child_gone_ms)" -le "$(r wd_launcher_gone_ms)" ]
		[ "$(r wd_broker_gone_ms)" -le "$(r wd_launcher_gone_ms)" ]
		echo "# the broker and its child: the fence, at its deadline, before the watchdog" >&3
	fi
	grep -qE "Failed with result 'watchdog'" "$j"
	# within the watchdog's bound (2 s after the last ping, which came at
	# most 1 s before the SIGSTOP), generously
	[ "$(r wd_launcher_gone_ms)" -lt 5000 ]
	[ "$(r wd_broker_gone_ms)" -lt 5000 ]
	[ "$(r wd_child_gone_ms)" -lt 5000 ]
	expect wd_broker_alive no
	expect wd_child_alive no
	# Restart=on-failure: back, master again with a new broker
	expect wd_restarts 1
	grep -qE "Scheduled restart job, restart counter is at 1" "$j"
	expect wd_after_state "active running"
	expect wd_after_status_text "master; broker pid [0-9]+ serving"
	[ "$(r wd_after_main_pid)" != "$l" ]
	# and a normal stop of that one leaves nothing behind either
	expect wd_stop_rc 0
	expect wd_stop_child_alive no
}

@test "failover-launcher@n1 and @n2 on lo: one master, one slave; own sockets and state; takeover on stop" {
	need_container
	local m s
	expect tpl_start_rc 0
	m=$(r tpl_master)
	case $m in n1) s=n2 ;; n2) s=n1 ;; *) false ;; esac
	expect "tpl_${m}_state" "active running"
	expect "tpl_${s}_state" "active running"
	expect "tpl_${m}_status_text" "master; broker pid [0-9]+ serving"
	expect "tpl_${s}_status_text" "slave; master is $m \(term [0-9]+\)"
	expect "tpl_${m}_state_file" master
	expect "tpl_${s}_state_file" slave
	for n in n1 n2; do
		expect "tpl_${n}_socket" yes
		expect "tpl_${n}_ctl_node" "$n \(cluster fltest2, position 100\)"
	done
	grep -q 'state_dir = /var/lib/failover-launcher/n1 *; command line' "$OUT/journal-failover-launcher@n1.service.txt"
	# stopping the master: the slave takes over; the runtime directory they
	# share stays, with the survivor's socket
	expect tpl_stop_rc 0
	expect tpl_takeover_status_text "master; broker pid [0-9]+ serving"
	expect tpl_survivor_socket yes
	expect tpl_survivor_ctl yes
}

@test "a configuration error fails the start at once with exit 1 (RestartPreventExitStatus=), not restarted" {
	need_container
	expect bad_start_rc "[1-9][0-9]*"
	expect bad_state "failed failed exit-code"
	expect bad_exec_main "1 1"
	expect bad_restarts 0
	[ "$(r bad_logged)" -ge 1 ]
}

@test "a missing cluster key file (LoadCredential=) fails the start with 243/CREDENTIALS, not restarted" {
	need_container
	expect nokey_start_rc "[1-9][0-9]*"
	expect nokey_state "failed failed exit-code"
	expect nokey_exec_main "1 243"
	expect nokey_restarts 0
	[ "$(r nokey_logged)" -ge 1 ]
}

@test "the JVM runs under the units' sandbox (JIT, dual-stack TCP, netlink, multicast on lo); MemoryDenyWriteExecute=yes would kill it" {
	need_container
	[ "$(r jvm_java)" != none ] || skip "no JVM in /usr/lib/jvm"
	cat "$OUT/jvm.txt"
	expect jvm_rc 0
	grep -qx 'jvm ok' "$OUT/jvm.txt"
	grep -qx 'multicast join ok' "$OUT/jvm.txt"
	# the sandbox really was the units' one
	grep -qx 'SystemCallFilter=@system-service' "$OUT/jvm-properties.txt"
	grep -qx 'DynamicUser=yes' "$OUT/jvm-properties.txt"
	grep -qx 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK' "$OUT/jvm-properties.txt"
	# and the one setting left out on purpose
	cat "$OUT/jvm-mdwe.txt"
	[ "$(r jvm_mdwe_rc)" -ne 0 ]
	grep -q 'Failed to mark memory page as executable' "$OUT/jvm-mdwe.txt"
}
