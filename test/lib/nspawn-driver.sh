#!/bin/bash
# Runs inside the systemd-nspawn container of test/bats/systemd.bats, as
# nspawn-fltest.service under a real systemd (PID 1), then the container
# powers off (SuccessAction=/FailureAction= of that unit).
#
# It installs unit-files/* (ExecStart= pointed at the bound build), drives
# them with systemctl and writes what it saw to OUT (bound read-write from
# the host): OUT/results (key=value), OUT/*.trace, OUT/journal.txt.  The bats
# file makes the assertions.
#
# Container layout (bind mounts made by systemd.bats):
#   /opt/fltest/sbin   failover-launcher, failoverctl (the build under test)
#   /opt/fltest/lib    test/lib (fake-broker, this script)
#   /opt/fltest/units  unit-files/
#   /opt/fltest/out    OUT
#
# Safety: the container has a private network namespace with only lo
# (--private-network); this script refuses to start any launcher otherwise,
# and every configuration names `interface = lo`.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
OUT=/opt/fltest/out
SBIN=/opt/fltest/sbin
ETC=/etc/failover-launcher
UNIT=failover-launcher.service
DROPIN=/etc/systemd/system/$UNIT.d

exec >>"$OUT/driver.log" 2>&1

ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(ms)
log() { echo "[$(($(ms) - T0)) ms] $*"; }
result() { echo "$1=$2" >>"$OUT/results"; log "result $1=$2"; }
prop() { systemctl show -P "$2" "$1"; } # prop UNIT PROPERTY

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms
wait_until() {
	local limit=$(($(ms) + $1 * 1000))
	shift
	while [ "$(ms)" -lt "$limit" ]; do
		"$@" && return 0
		sleep 0.05
	done
	log "timed out waiting for: $*"
	return 1
}

alive() { # a running process, not a zombie
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

finish() {
	[ -e "$OUT/done" ] && return 0
	log "collecting the journal"
	journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
	for u in "$UNIT" failover-launcher@n1.service failover-launcher@n2.service failover-launcher@bad.service \
		failover-launcher@nokey.service; do
		journalctl -b --no-pager -o short-monotonic -u "$u" >"$OUT/journal-$u.txt" 2>&1
	done
	log "done"
	echo finished >"$OUT/done"
}

# `nspawn-driver.sh collect` (ExecStopPost= of the driver's unit): the
# journal, also when the driver was stopped by its time limit
if [ "${1:-}" = collect ]; then
	finish
	exit 0
fi
echo "booted $(date +%s%N)" >"$OUT/booted"

result pid1 "$(cat /proc/1/comm)"
result virt "$(systemd-detect-virt)"
result systemd_version "$(systemctl --version | head -n 1)"

# ---- safety: only lo in this network namespace
ifaces=$(cd /sys/class/net && printf '%s ' *)
result interfaces "${ifaces% }"
if [ "${ifaces% }" != lo ]; then
	log "refusing to run: interfaces besides lo in the container: $ifaces"
	finish
	exit 1
fi
ip link set lo up

# systemd logs every notification it gets at debug level:
#   "failover-launcher.service: Got notification message from PID N (READY=1, ...)"
systemd-analyze log-level debug

# ---- install the units, pointed at the build under test
for f in /opt/fltest/units/*.service; do
	sed "s|/usr/sbin/failover-launcher|$SBIN/failover-launcher|g" "$f" >"/etc/systemd/system/${f##*/}"
done
mkdir -p "$ETC" "$DROPIN"
# an ASan build: LeakSanitizer needs ptrace, which the unit's system call
# filter refuses
if grep -qa __asan_init "$SBIN/failover-launcher"; then
	mkdir -p /etc/systemd/system/failover-launcher@.service.d
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' >"$DROPIN/40-asan.conf"
	cp "$DROPIN/40-asan.conf" /etc/systemd/system/failover-launcher@.service.d/
fi
# a broker that stops more slowly than TimeoutStopSec: EXTEND_TIMEOUT_USEC
# must keep systemd from killing it
printf '[Service]\nTimeoutStopSec=3s\n' >"$DROPIN/50-test.conf"

# solo_ini [broker lines]: the plain unit's node; delay 500 x retries 4: it
# listens 2 s before it may claim, so "activating" can be seen
solo_ini() {
	{
		printf '[cluster]\nname = fltest\nnode = solo\ninterface = lo\ndelay = 500\nretries = 4\n'
		printf '[broker]\nhome = /var/lib/failover-launcher\nprofiler = no\nconfig_dir =\nlib_dir =\n'
		printf 'main_class = fake.Broker\njava = /opt/fltest/lib/fake-broker\n'
		printf 'env = FAKE_DIR=/var/lib/failover-launcher/broker\nstop_timeout = 10000\n'
		printf '%s\n' "$@"
	} >"$ETC/failover-launcher.ini"
}
solo_ini "env = FAKE_STOP_MS=6000"
# the cluster key, root's, mode 0600: the units hand it to their dynamic
# user as a credential
"$SBIN/failover-launcher" --new-key "$ETC/cluster.key"
result key_mode "$(stat -c '%a %U' "$ETC/cluster.key")"
systemctl daemon-reload

# ==== 1. start: activating until READY=1, then active, StatusText = the role
log "start $UNIT"
systemctl start --no-block "$UNIT"
: >"$OUT/start.trace"
last=""
deadline=$(($(ms) + 20000))
while [ "$(ms)" -lt "$deadline" ]; do
	now="$(prop "$UNIT" ActiveState) $(prop "$UNIT" SubState) $(prop "$UNIT" StatusText)"
	if [ "$now" != "$last" ]; then
		echo "$(($(ms) - T0)) $now" >>"$OUT/start.trace"
		last=$now
	fi
	case $now in active*serving) break ;; failed*) break ;; esac
	sleep 0.02
done
cat "$OUT/start.trace"
result start_state "$(prop "$UNIT" ActiveState)"
bpid=$(cat /var/lib/failover-launcher/broker/pid 2>/dev/null)
result broker_pid "$bpid"
result status_text "$(prop "$UNIT" StatusText)"
result main_pid "$(prop "$UNIT" MainPID)"
result broker_ppid "$(ps -o ppid= -p "${bpid:-999999999}" 2>/dev/null | tr -d ' ')"
result broker_user "$(ps -o user= -p "${bpid:-999999999}" 2>/dev/null | tr -d ' ')"
result launcher_user "$(ps -o user= -p "$(prop "$UNIT" MainPID)" | tr -d ' ')"
result ctl_role "$("$SBIN/failoverctl" status 2>&1 | sed -n 's/^role[: ]*//p' | head -n 1)"
"$SBIN/failoverctl" status >"$OUT/failoverctl-status.txt" 2>&1
result state_status_role "$(sed -n 's/^role=//p' /var/lib/failover-launcher/status)"

# ==== 2. reload: RELOADING=1, then READY=1; a bad configuration is refused
pid_before=$(prop "$UNIT" MainPID)
sed -i 's/^retries = 4$/retries = 5/' "$ETC/failover-launcher.ini"
systemctl reload "$UNIT"
result reload_rc $?
wait_until 10 sh -c "journalctl -b -u $UNIT -o cat | grep -q 'reloaded\$'"
result reload_logged $?
wait_until 10 sh -c "[ \"\$(systemctl show -P ActiveState $UNIT)\" = active ]"
result reload_state "$(prop "$UNIT" ActiveState) $(prop "$UNIT" SubState)"
result reload_main_pid_same "$([ "$(prop "$UNIT" MainPID)" = "$pid_before" ] && echo yes || echo no)"
cp "$ETC/failover-launcher.ini" "$ETC/good.ini"
sed -i 's/^delay = 500$/delay = fast/' "$ETC/failover-launcher.ini"
systemctl reload "$UNIT"
result reload_bad_rc $?
wait_until 10 sh -c "journalctl -b -u $UNIT -o cat | grep -q 'reload refused'"
result reload_bad_refused $?
sleep 0.5
result reload_bad_state "$(prop "$UNIT" ActiveState) $(prop "$UNIT" SubState)"
result reload_bad_main_pid_same "$([ "$(prop "$UNIT" MainPID)" = "$pid_before" ] && echo yes || echo no)"
result reload_bad_status_text "$(prop "$UNIT" StatusText)"
cp "$ETC/good.ini" "$ETC/failover-launcher.ini"

# ==== 3. stop: the broker takes 6 s (FAKE_STOP_MS), TimeoutStopSec=3s
wait_until 10 grep -q ' ready$' /var/lib/failover-launcher/broker/events
log "stop $UNIT"
t=$(ms)
timeout 60 systemctl stop "$UNIT"
result stop_rc $?
result stop_ms $(($(ms) - t))
result stop_state "$(prop "$UNIT" ActiveState) $(prop "$UNIT" SubState) $(prop "$UNIT" Result)"
result stop_exec_main "$(prop "$UNIT" ExecMainCode) $(prop "$UNIT" ExecMainStatus)"
result stop_broker_alive "$(alive "$bpid" && echo yes || echo no)"
cp /var/lib/failover-launcher/broker/events "$OUT/stop-broker-events.txt"

# ==== 4. watchdog: a frozen launcher is killed, its broker (and the
# broker's own child, which no PDEATHSIG reaches) with it, or before it by
# the fence
printf '[Service]\nWatchdogSec=2s\n' >"$DROPIN/60-watchdog.conf"
rm -rf /var/lib/failover-launcher/broker
solo_ini "env = FAKE_CHILD=1"
systemctl daemon-reload
log "start $UNIT with WatchdogSec=2s"
timeout 30 systemctl start "$UNIT"
result wd_start_rc $?
wait_until 15 sh -c "systemctl show -P StatusText $UNIT | grep -q serving"
wait_until 5 test -s /var/lib/failover-launcher/broker/child
lpid=$(prop "$UNIT" MainPID)
bpid=$(cat /var/lib/failover-launcher/broker/pid 2>/dev/null)
cpid=$(cat /var/lib/failover-launcher/broker/child 2>/dev/null)
result wd_pids "$lpid $bpid $cpid"
result wd_restarts_before "$(prop "$UNIT" NRestarts)"
# never `kill -STOP 0` (our own process group) or an empty pid
case "$lpid" in '' | 0 | 1 | *[!0-9]*) lpid=999999999 ;; esac
case "$bpid" in '' | 0 | 1 | *[!0-9]*) bpid=999999999 ;; esac
case "$cpid" in '' | 0 | 1 | *[!0-9]*) cpid=999999999 ;; esac
log "SIGSTOP launcher $lpid"
t=$(ms)
kill -STOP "$lpid"
# when does each of the three go: the launcher (SIGABRT), the broker and
# its child (SIGKILL)?
lgone="" bgone="" cgone=""
while [ $(($(ms) - t)) -lt 20000 ]; do
	now=$(($(ms) - t))
	[ -z "$lgone" ] && ! alive "$lpid" && lgone=$now
	[ -z "$bgone" ] && ! alive "$bpid" && bgone=$now
	[ -z "$cgone" ] && ! alive "$cpid" && cgone=$now
	[ -n "$lgone" ] && [ -n "$bgone" ] && [ -n "$cgone" ] && break
	sleep 0.02
done
result wd_launcher_gone_ms "${lgone:-never}"
result wd_broker_gone_ms "${bgone:-never}"
result wd_child_gone_ms "${cgone:-never}"
wait_until 20 sh -c "[ \"\$(systemctl show -P NRestarts $UNIT)\" -ge 1 ]"
result wd_restart_ms $(($(ms) - t))
result wd_broker_alive "$(alive "$bpid" && echo yes || echo no)"
result wd_child_alive "$(alive "$cpid" && echo yes || echo no)"
result wd_restarts "$(prop "$UNIT" NRestarts)"
# restarted: master again, with a new broker
wait_until 20 sh -c "systemctl show -P StatusText $UNIT | grep -q serving"
result wd_after_state "$(prop "$UNIT" ActiveState) $(prop "$UNIT" SubState)"
result wd_after_status_text "$(prop "$UNIT" StatusText)"
result wd_after_main_pid "$(prop "$UNIT" MainPID)"
cp /var/lib/failover-launcher/broker/events "$OUT/wd-broker-events.txt"
# a plain stop: the new broker's child ignores SIGTERM; KillMode=mixed
# SIGKILLs it once the launcher has exited
cpid=$(cat /var/lib/failover-launcher/broker/child 2>/dev/null)
case "$cpid" in '' | 0 | 1 | *[!0-9]*) cpid=999999999 ;; esac
timeout 30 systemctl stop "$UNIT"
result wd_stop_rc $?
wait_until 5 sh -c "! [ -e /proc/$cpid ] || grep -q '^State:.*Z' /proc/$cpid/status"
result wd_stop_child_alive "$(alive "$cpid" && echo yes || echo no)"
rm -f "$DROPIN/60-watchdog.conf"
# the plain unit and the template's instances cannot share a host (their
# state directories nest): start afresh
rm -rf /var/lib/failover-launcher /var/lib/private/failover-launcher \
	/var/log/failover-launcher /var/log/private/failover-launcher

# ==== 5. two template instances on lo: one master, one slave
for n in n1 n2; do
	{
		printf '[cluster]\nname = fltest2\nnode = %s\ninterface = lo\ndelay = 200\nretries = 5\n' "$n"
		printf '[broker]\nhome = /var/lib/failover-launcher/%s\nprofiler = no\nconfig_dir =\nlib_dir =\n' "$n"
		printf 'main_class = fake.Broker\njava = /opt/fltest/lib/fake-broker\n'
		printf 'env = FAKE_DIR=/var/lib/failover-launcher/%s/broker\nstop_timeout = 5000\n' "$n"
		# two instances on one host: their own cache ports
		printf '[cache]\nlisten = 127.0.0.1:0\nport = 0\n'
	} >"$ETC/$n.ini"
done
systemctl daemon-reload
log "start failover-launcher@n1 and @n2"
timeout 40 systemctl start failover-launcher@n1.service failover-launcher@n2.service
result tpl_start_rc $?
both_settled() {
	local a b
	a=$(prop failover-launcher@n1.service StatusText)
	b=$(prop failover-launcher@n2.service StatusText)
	case "$a|$b" in
	master*serving\|slave*|slave*\|master*serving) return 0 ;;
	esac
	return 1
}
wait_until 20 both_settled
for n in n1 n2; do
	u=failover-launcher@$n.service
	result "tpl_${n}_state" "$(prop "$u" ActiveState) $(prop "$u" SubState)"
	result "tpl_${n}_status_text" "$(prop "$u" StatusText)"
	result "tpl_${n}_socket" "$([ -S "/run/failover-launcher/$n.sock" ] && echo yes || echo no)"
	result "tpl_${n}_ctl_node" "$("$SBIN/failoverctl" -i "$n" status 2>&1 | sed -n 's/^node[: ]*//p' | head -n 1)"
	result "tpl_${n}_state_file" "$(sed -n 's/^role=//p' "/var/lib/failover-launcher/$n/status" 2>/dev/null)"
done
"$SBIN/failoverctl" -i n1 status >"$OUT/failoverctl-n1.txt" 2>&1
# stop the master: the slave takes over, and its socket survives the other
# instance's stop
case $(prop failover-launcher@n1.service StatusText) in
master*) m=n1 s=n2 ;;
*) m=n2 s=n1 ;;
esac
result tpl_master "$m"
timeout 30 systemctl stop "failover-launcher@$m.service"
result tpl_stop_rc $?
wait_until 15 sh -c "systemctl show -P StatusText failover-launcher@$s.service | grep -q '^master.*serving'"
result tpl_takeover_status_text "$(prop "failover-launcher@$s.service" StatusText)"
result tpl_survivor_socket "$([ -S "/run/failover-launcher/$s.sock" ] && echo yes || echo no)"
result tpl_survivor_ctl "$("$SBIN/failoverctl" -i "$s" ping >/dev/null 2>&1 && echo yes || echo no)"
timeout 30 systemctl stop "failover-launcher@$s.service"

# ==== 6. a configuration error: the start fails with exit 1, and
# RestartPreventExitStatus=1 keeps it from restarting (RestartSec=2s: 5 s
# is time for two restarts)
printf '[cluster]\nname = fltest3\ninterface = lo\ndelay = fast\n' >"$ETC/bad.ini"
timeout 30 systemctl start failover-launcher@bad.service
result bad_start_rc $?
# and a key file that is not there (another cluster's key, the drop-in the
# template's comment shows): systemd fails with 243/CREDENTIALS, for good
u=failover-launcher@nokey.service
printf '[cluster]\nname = fltest4\ninterface = lo\n' >"$ETC/nokey.ini"
mkdir -p "/etc/systemd/system/$u.d"
printf '[Service]\nLoadCredential=\nLoadCredential=cluster.key:%s\n' "$ETC/nokey.key" >"/etc/systemd/system/$u.d/key.conf"
systemctl daemon-reload
timeout 30 systemctl start "$u"
result nokey_start_rc $?
sleep 5
result nokey_state "$(prop "$u" ActiveState) $(prop "$u" SubState) $(prop "$u" Result)"
result nokey_exec_main "$(prop "$u" ExecMainCode) $(prop "$u" ExecMainStatus)"
result nokey_restarts "$(prop "$u" NRestarts)"
result nokey_logged "$(journalctl -b -u "$u" -o cat | grep -c "Failed to read credential '$ETC/nokey.key'")"
systemctl reset-failed "$u"
u=failover-launcher@bad.service
result bad_state "$(prop "$u" ActiveState) $(prop "$u" SubState) $(prop "$u" Result)"
result bad_exec_main "$(prop "$u" ExecMainCode) $(prop "$u" ExecMainStatus)"
result bad_restarts "$(prop "$u" NRestarts)"
result bad_logged "$(journalctl -b -u "$u" -o cat | grep -c "cluster.delay: 'fast' is not a number")"
systemctl reset-failed "$u"

# ==== 7. the JVM under the units' hardening (their [Service] sandbox lines,
# in a transient unit): it starts and JIT-compiles; and the same with
# MemoryDenyWriteExecute=yes fails, which is why the units leave it out
java=""
for j in /usr/lib/jvm/*/bin/java; do
	[ -x "$j" ] && java=$j && break
done
if [ -n "$java" ]; then
	result jvm_java "$java"
	mkdir -p /run/fltest
	cat >/run/fltest/JvmCheck.java <<'JAVA'
import java.net.*;
import java.util.*;

public class JvmCheck {
	public static void main(String[] args) throws Exception {
		try (ServerSocket s = new ServerSocket(0)) { // dual-stack: AF_INET6
			System.out.println("tcp listen ok");
		}
		// AF_NETLINK
		System.out.println("interfaces " + Collections.list(NetworkInterface.getNetworkInterfaces()).size());
		try (MulticastSocket m = new MulticastSocket(0)) { // on lo, in the container
			m.joinGroup(new InetSocketAddress("230.0.0.9", 0), NetworkInterface.getByName("lo"));
			System.out.println("multicast join ok");
		}
		long x = 0;
		for (int i = 0; i < 100_000_000; i++)
			x += i % 7;
		System.out.println("loop " + x);
		System.out.println("jvm ok");
	}
}
JAVA
	chmod 0644 /run/fltest/JvmCheck.java
	props=()
	while IFS= read -r line; do
		props+=(-p "$line")
	done < <(sed -n '/^\[Service\]/,/^\[/p' "/etc/systemd/system/$UNIT" | grep -E '^[A-Za-z]+=' |
		grep -vE '^(Type|NotifyAccess|Exec[A-Za-z]*|KillMode|Timeout[A-Za-z]*|WatchdogSec|Restart[A-Za-z]*|[A-Za-z]*Directory[A-Za-z]*)=')
	printf '%s\n' "${props[@]}" | grep -v '^-p$' >"$OUT/jvm-properties.txt"
	timeout 60 systemd-run --wait --pipe --quiet "${props[@]}" "$java" -XX:+UseSerialGC \
		/run/fltest/JvmCheck.java >"$OUT/jvm.txt" 2>&1 </dev/null
	result jvm_rc $?
	timeout 60 systemd-run --wait --pipe --quiet "${props[@]}" -p MemoryDenyWriteExecute=yes \
		"$java" -XX:+UseSerialGC -version >"$OUT/jvm-mdwe.txt" 2>&1 </dev/null
	result jvm_mdwe_rc $?
else
	result jvm_java none
fi

finish
