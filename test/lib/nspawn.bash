# A throw-away container with systemd as PID 1, for the unit-file tests
# (test/bats/systemd.bats).  Sourced by bats files.
#
#   systemd-nspawn -D / --volatile=yes   the host's /usr read-only, an empty
#                                        /etc and /var on tmpfs
#   --private-network                    only lo: no cluster traffic can leave
#   --register=no --keep-unit            no machined, no scope: the host need
#                                        not run systemd
#   -b systemd.wants=nspawn-fltest.service
#                                        test/lib/nspawn-fltest.service runs
#                                        test/lib/nspawn-driver.sh, then powers
#                                        the container off
#   /etc/machine-id (bound)              not a "first boot": systemd would
#                                        otherwise apply the presets and enable
#                                        every service installed on the host
#                                        (keepalived, networkd-wait-online...)
#
# The nspawn process is recorded in NSPAWN_PID_FILE and killed by nspawn_kill
# (by PID) when it outlives its time limit or the test is torn down.

source "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

# nspawn_runs PID: the process runs (a zombie does not: wait_until polls
# from a subshell, and the exited child may not be reaped yet)
nspawn_runs() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# nspawn_usable: prints why the container cannot run here and fails, or
# succeeds.
nspawn_usable() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "systemd-nspawn needs root"
		return 1
	fi
	if ! command -v systemd-nspawn >/dev/null; then
		echo "systemd-nspawn is not installed (Debian package systemd-container)"
		return 1
	fi
	if [ ! -x /usr/lib/systemd/systemd ] && [ ! -x /lib/systemd/systemd ]; then
		echo "no systemd on this host for the container's PID 1"
		return 1
	fi
	return 0
}

# nspawn_run OUT LIMIT: boots the container with OUT bound read-write at
# /opt/fltest/out, waits at most LIMIT seconds for it to power off (then
# stops it: SIGTERM, which nspawn turns into an orderly halt of the
# container, and SIGKILL 10 s later).  Needs REPO_ROOT, LAUNCHER, FAILOVERCTL.
# Status: nspawn's; its output in OUT/nspawn.log.
nspawn_run() {
	local out=$1 limit=$2 pid rc d
	local args=(
		-D / --volatile=yes --register=no --keep-unit --console=pipe
		--private-network --kill-signal=SIGRTMIN+4
		--bind-ro="$LAUNCHER:/opt/fltest/sbin/failover-launcher"
		--bind-ro="$FAILOVERCTL:/opt/fltest/sbin/failoverctl"
		--bind-ro="$REPO_ROOT/test/lib:/opt/fltest/lib"
		--bind-ro="$REPO_ROOT/unit-files:/opt/fltest/units"
		--bind-ro="$REPO_ROOT/test/lib/nspawn-fltest.service:/etc/systemd/system/nspawn-fltest.service"
		--bind="$out:/opt/fltest/out"
	)
	# Debian's JDK keeps its configuration in /etc (jvm.cfg, security):
	# the container's /etc is empty
	for d in /etc/java-*-openjdk; do
		[ -d "$d" ] && args+=(--bind-ro="$d")
	done
	chmod 0755 "$out"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$out.machine-id"
	echo >>"$out.machine-id"
	args+=(--bind-ro="$out.machine-id:/etc/machine-id")
	NSPAWN_PID_FILE="$out.nspawn.pid"
	systemd-nspawn "${args[@]}" -b systemd.wants=nspawn-fltest.service \
		systemd.mask=systemd-networkd-wait-online.service \
		</dev/null >"$out/nspawn.log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >"$NSPAWN_PID_FILE"
	if ! WAIT_POLL=0.2 wait_until "$limit" ! nspawn_runs "$pid" 2>/dev/null; then
		echo "nspawn: the container ran longer than ${limit}s: stopping it" >>"$out/nspawn.log"
		nspawn_kill
	fi
	rc=0
	wait "$pid" || rc=$?
	rm -f "$NSPAWN_PID_FILE"
	return "$rc"
}

# nspawn_kill: stops the recorded nspawn process, if it still runs.
nspawn_kill() {
	local pid
	[ -n "${NSPAWN_PID_FILE:-}" ] && [ -f "$NSPAWN_PID_FILE" ] || return 0
	pid=$(cat "$NSPAWN_PID_FILE")
	kill -TERM "$pid" 2>/dev/null || return 0
	WAIT_POLL=0.1 wait_until 10 ! nspawn_runs "$pid" 2>/dev/null && return 0
	kill -KILL "$pid" 2>/dev/null || true
	return 0
}
