# Throw-away hosts for the package tests (test/bats/package.bats): systemd
# as PID 1 in systemd-nspawn, booted from this machine's own root through an
# overlay whose writable layer is a tmpfs.  Each box therefore has the
# host's packages (ActiveMQ, the JDK, the package's libraries) without a
# network, and whatever dpkg, systemd or a test writes there (/usr, /etc,
# /var) is gone when the box stops.
#
#   box_boot NAME NETNS [NSPAWN-ARG...]  boots a box in the network namespace
#                                        NETNS (one of the lab's: only its
#                                        eth0 and lo), hostname NAME
#   box NAME CMD...                      runs CMD in it as root (nsenter)
#   box_stop NAME                        powers it off (SIGKILL after 15 s)
#   box_stop_all                         every box of BOX_DIR
#
# The overlay and its tmpfs are mounted in a private mount namespace (unshare
# -m) in which systemd-nspawn is exec'd: they vanish with the box, even when
# the test is killed.  nspawn notes:
#   --register=no --keep-unit  no machined, no scope: the host runs no systemd
#   systemd.unit=fltest-pkg.target
#       boots to sysinit.target and stops there: the host's enabled services
#       (etcd, prometheus, timers...) stay off; a unit started by hand or by
#       a package's postinst still gets everything it needs
#   /etc/machine-id, /etc/hostname (bound)
#       a machine of its own: not a "first boot" (which would apply presets)
#
# Needs BOX_DIR (a directory of the test's).  Safety: the box has only the
# network of NETNS; box_boot refuses a namespace that does not exist (nspawn
# would then fail, never fall back to the host's network).

# nspawn_usable, nspawn_runs (and wait.bash)
source "$(dirname "${BASH_SOURCE[0]}")/nspawn.bash"

# box_usable: prints why boxes cannot run here and fails, or succeeds.
box_usable() {
	nspawn_usable || return 1
	if ! grep -qw overlay /proc/filesystems && ! modprobe -q overlay 2>/dev/null; then
		echo "the kernel has no overlay file system"
		return 1
	fi
	return 0
}

# box_leader NAME: the host PID of the box's PID 1 (systemd).
box_leader() {
	local d=$BOX_DIR/$1 p ns
	ns=$(cat "$d/netns")
	for p in $(ip netns pids "$ns" 2>/dev/null); do
		if grep -qP '^NSpid:\t\d+\t1$' "/proc/$p/status" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# box NAME CMD...: CMD in the box's namespaces and root, as root, with a
# clean environment (a login's PATH, HOME=/root, LANG=C.UTF-8).
box() {
	local name=$1 leader
	shift
	leader=$(box_leader "$name") || {
		echo "box $name: not running" >&2
		return 125
	}
	nsenter -t "$leader" -m -u -i -n -p -r -w \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TERM=dumb "$@"
}

# box_booted NAME: systemd in the box has finished booting.
box_booted() {
	local s
	s=$(box "$1" systemctl is-system-running 2>/dev/null) || true
	[ "$s" = running ] || [ "$s" = degraded ]
}

# box_boot NAME NETNS [NSPAWN-ARG...]: boots the box, waits at most 60 s for
# systemd to finish booting.
box_boot() {
	local name=$1 netns=$2 d=$BOX_DIR/$1
	shift 2
	if [ ! -e "/run/netns/$netns" ]; then
		echo "box $name: no network namespace $netns" >&2
		return 1
	fi
	mkdir -p "$d/root" "$d/rw"
	echo "$netns" >"$d/netns"
	echo "$name" >"$d/hostname"
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$d/machine-id"
	echo >>"$d/machine-id"
	printf '[Unit]\nDescription=Package test host\nRequires=sysinit.target\nAfter=sysinit.target\nAllowIsolate=yes\n' \
		>"$d/fltest-pkg.target"
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m --propagation private bash -ec '
		d=$1; shift
		mount -t tmpfs -o mode=0755 fltest-rw "$d/rw"
		mkdir "$d/rw/upper" "$d/rw/work"
		mount -t overlay fltest-root -o "lowerdir=/,upperdir=$d/rw/upper,workdir=$d/rw/work" "$d/root"
		mount -t tmpfs -o mode=1777 fltest-tmp "$d/root/tmp"
		exec systemd-nspawn "$@"' box "$d" \
		-D "$d/root" --register=no --keep-unit --console=pipe --kill-signal=SIGRTMIN+4 \
		--network-namespace-path="/run/netns/$netns" --hostname="$name" \
		--bind-ro="$d/machine-id:/etc/machine-id" --bind-ro="$d/hostname:/etc/hostname" \
		--bind-ro="$d/fltest-pkg.target:/etc/systemd/system/fltest-pkg.target" \
		"$@" \
		-b systemd.unit=fltest-pkg.target systemd.mask=systemd-machine-id-commit.service \
		</dev/null >"$d/nspawn.log" 2>&1 3>&- &
	echo $! >"$d/pid"
	if ! WAIT_POLL=0.2 wait_until 60 box_booted "$name"; then
		echo "box $name did not boot:" >&2
		tail -n 20 "$d/nspawn.log" >&2
		return 1
	fi
}

# box_stop NAME: an orderly power-off, SIGKILL to nspawn after 15 s.
box_stop() {
	local d=$BOX_DIR/$1 pid
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	if nspawn_runs "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		WAIT_POLL=0.1 wait_until 15 ! nspawn_runs "$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$d/pid"
	return 0
}

box_stop_all() {
	local d
	[ -n "${BOX_DIR:-}" ] && [ -d "$BOX_DIR" ] || return 0
	for d in "$BOX_DIR"/*/; do
		[ -f "$d/pid" ] && box_stop "$(basename "$d")"
	done
	return 0
}
