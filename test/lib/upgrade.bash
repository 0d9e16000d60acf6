# Helpers for rolling-upgrade tests: the previous release, built from git
# beside the current build, and nodes of the namespace lab (lab.bash)
# started with either binary.

UPGRADE_OLD_REV=64aed0b

# upgrade_old_build: builds release $UPGRADE_OLD_REV once under
# $BUILD_DIR/old-$UPGRADE_OLD_REV (a later run reuses it) and sets
# OLD_LAUNCHER and OLD_FAILOVERCTL.  Returns 2 when git has not that
# commit (a shallow clone), 1 when the build fails (its log is printed).
upgrade_old_build() {
	local dir="$BUILD_DIR/old-$UPGRADE_OLD_REV"
	OLD_LAUNCHER="$dir/build/failover-launcher"
	OLD_FAILOVERCTL="$dir/build/failoverctl"
	[ -x "$OLD_LAUNCHER" ] && [ -x "$OLD_FAILOVERCTL" ] && return 0
	git -C "$REPO_ROOT" cat-file -e "$UPGRADE_OLD_REV^{commit}" 2>/dev/null || return 2
	rm -rf "$dir"
	mkdir -p "$dir/src"
	git -C "$REPO_ROOT" archive "$UPGRADE_OLD_REV" | tar -x -C "$dir/src" || return 1
	# the launcher and failoverctl only, without sanitizers: what was shipped
	if ! { cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF &&
		cmake --build "$dir/build" -j 2 --target failover-launcher failoverctl; } >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		rm -f "$OLD_LAUNCHER" "$OLD_FAILOVERCTL"
		return 1
	fi
}

# upgrade_start_old I / upgrade_start_new I: node I's launcher from the old
# release or from this build, with its configuration and state_dir as they
# are (lab_start writes the configuration the first time only).
upgrade_start_old() { LAUNCHER=$OLD_LAUNCHER lab_start "$1"; }
upgrade_start_new() { lab_start "$1"; }

# upgrade_ctl I ARGS...: failoverctl from the release node I runs.
upgrade_ctl() {
	local i=$1 ctl=$FAILOVERCTL
	shift
	[ "$(readlink "/proc/$(lab_pid "$i")/exe")" = "$(readlink -f "$OLD_LAUNCHER")" ] && ctl=$OLD_FAILOVERCTL
	FAILOVERCTL=$ctl lab_ctl "$i" "$@"
}

# upgrade_wait_brokers "NODES" SECONDS: until the fake brokers alive are
# exactly on NODES (space-separated, ascending).  Fails on timeout.
upgrade_wait_brokers() {
	wait_until "$2" upgrade_brokers_are "$1" || {
		echo "upgrade: brokers alive on '$(lab_brokers_alive)', not '$1'" >&2
		return 1
	}
}

upgrade_brokers_are() { [ "$(lab_brokers_alive)" = "$1" ]; }

# upgrade_metric I NAME{LABELS}: a value from node I's metrics.
upgrade_metric() {
	upgrade_ctl "$1" metrics | awk -v k="$2" '$1 == k {print $2}'
}
