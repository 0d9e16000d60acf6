#!/usr/bin/env bats
# The Debian package and the getting-started guide, for real: the package
# is built with scripts/build-deb.sh (twice: the second a higher version,
# for the upgrade) and checked by lintian; then docs/GETTING-STARTED.md is
# followed word for word in two hosts, mq1 and mq2: systemd-nspawn boxes
# with systemd as PID 1 (test/lib/pkgbox.bash), each in one of a 2-node
# lab's network namespaces (eth0 on the lab's bridge, nothing else), with
# one directory of the test's bound into both as ActiveMQ's shared store.
# The guide's marked blocks (test/lib/guide-steps.py) run in the order of
# the guide, one test for a few steps, each test asserting what the guide
# says happens: the service waits for a key and a configuration, one master
# serves, a switchover moves the broker and the store's messages with it,
# an upgrade hands over, remove hands over and keeps the configuration,
# purge leaves nothing.  Real components: the ASan pass only.

load helpers
load ../lib/lab
load ../lib/amq
load ../lib/pkgbox

GUIDE="$REPO_ROOT/docs/GETTING-STARTED.md"
STEPS="$REPO_ROOT/test/lib/guide-steps.py"
# the guide's steps, in its order: a step added to the guide needs a test
GUIDE_STEPS="update install before-start store key copy-key config node-mq1 node-mq2 dropin check-config start check
switchover logs upgrade-slave upgrade-master remove purge"
OLD_VERSION=0.1.0-1
NEW_VERSION=0.1.0-1+upgrade1

asan_pass() { [[ "$BUILD_DIR" == *asan* ]]; }

setup_file() {
	export SKIP_FILE="$BATS_FILE_TMPDIR/skip"
	export PKG="$BATS_FILE_TMPDIR/deb" OUTD="$BATS_FILE_TMPDIR/guide"
	export BOX_DIR="$BATS_FILE_TMPDIR/boxes"
	mkdir -p "$OUTD" "$BOX_DIR"
	local why
	if ! asan_pass; then
		echo "the package and the guide are tested in the ASan pass only" >"$SKIP_FILE"
		return 0
	fi
	if ! why=$(box_usable); then
		echo "$why" >"$SKIP_FILE"
		return 0
	fi
	if [ ! -d /usr/share/activemq/lib ]; then
		echo "Debian's activemq package is not installed (scripts/test.sh installs it)" >"$SKIP_FILE"
		return 0
	fi
	# the boxes stand for fresh hosts: nothing of the package on this one
	if dpkg-query -W -f='${Status}' failover-launcher 2>/dev/null | grep -q installed; then
		echo "failover-launcher is installed on this machine: the boxes would not be fresh hosts" >"$SKIP_FILE"
		return 0
	fi
	# both packages first: the boxes see the host's files as they were
	# when they booted; each host's download directory holds one package,
	# the old one first (a build replaces the .deb files of the one before)
	local t0=$SECONDS b
	DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" "$REPO_ROOT/scripts/build-deb.sh" --out "$PKG" >"$BATS_FILE_TMPDIR/build-old.log" 2>&1 ||
		echo "build of $OLD_VERSION failed" >"$BATS_FILE_TMPDIR/build.failed"
	echo "build $OLD_VERSION: $((SECONDS - t0)) s" >"$BATS_FILE_TMPDIR/build.times"
	for b in old mq1 mq2; do
		mkdir -p "$BATS_FILE_TMPDIR/pkgs-$b"
		cp "$PKG"/failover-launcher_"${OLD_VERSION}"_*.deb "$BATS_FILE_TMPDIR/pkgs-$b/" 2>/dev/null || true
	done
	t0=$SECONDS
	DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" "$REPO_ROOT/scripts/build-deb.sh" --out "$PKG" --version "$NEW_VERSION" \
		>"$BATS_FILE_TMPDIR/build-new.log" 2>&1 ||
		echo "build of $NEW_VERSION failed" >>"$BATS_FILE_TMPDIR/build.failed"
	echo "build $NEW_VERSION: $((SECONDS - t0)) s" >>"$BATS_FILE_TMPDIR/build.times"
	amq_build_clients "$BATS_FILE_TMPDIR/clients"
	lab_setup_file 2
	amq_client_net
	mkdir -p "$BATS_FILE_TMPDIR/store"
	chown activemq:activemq "$BATS_FILE_TMPDIR/store"
	box_boot mq1 "$LAB-n1" --bind="$BATS_FILE_TMPDIR/store:/var/lib/activemq/failover" \
		--bind-ro="$BATS_FILE_TMPDIR/pkgs-mq1:/root/packages" >"$BATS_FILE_TMPDIR/boot.log" 2>&1 &&
		box_boot mq2 "$LAB-n2" --bind="$BATS_FILE_TMPDIR/store:/var/lib/activemq/failover" \
			--bind-ro="$BATS_FILE_TMPDIR/pkgs-mq2:/root/packages" >>"$BATS_FILE_TMPDIR/boot.log" 2>&1 ||
		echo "the boxes did not boot: $(tail -n 5 "$BATS_FILE_TMPDIR/boot.log")" >"$BATS_FILE_TMPDIR/boot.failed"
	if [ -e "$BOX_DIR/mq1/pid" ]; then
		for b in mq1 mq2; do
			# this machine's image forbids every service start in package
			# scripts (a policy-rc.d that exits 101, as container images
			# have): a Debian host has none
			box "$b" rm -f /usr/sbin/policy-rc.d
			# man-db's trigger re-indexes every man page after each
			# dpkg run (3 s each, 7 runs): the index is a cache that
			# goes with the box
			box "$b" rm -f /var/lib/man-db/auto-update
			# what a `cmake --install` on this machine left would make
			# the boxes no fresh hosts either
			box "$b" rm -rf /etc/failover-launcher /etc/systemd/system/failover-launcher.service.d
			# what a box has before the package, for "purge leaves nothing"
			box_files "$b" >"$OUTD/files-before.$b" 2>/dev/null || true
		done
	fi
	sampler_start
}

teardown_file() {
	touch "$BATS_FILE_TMPDIR/sampler.stop" 2>/dev/null || true
	box_stop_all
	lab_teardown_file
}

setup() {
	[ ! -e "$SKIP_FILE" ] || skip "$(cat "$SKIP_FILE")"
	if [ -e "$BATS_FILE_TMPDIR/build.failed" ]; then
		cat "$BATS_FILE_TMPDIR/build.failed" "$BATS_FILE_TMPDIR"/build-*.log | tail -n 40 >&2
		return 1
	fi
	if [ -e "$BATS_FILE_TMPDIR/boot.failed" ]; then
		cat "$BATS_FILE_TMPDIR/boot.failed" >&2
		return 1
	fi
	LAB_DIR=$LAB_SHARED_DIR
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || box_diag
}

# box_diag: the boxes' launcher journals and status, for a failed test.
box_diag() {
	local b
	for b in mq1 mq2; do
		[ -e "$BOX_DIR/$b/pid" ] || continue
		echo "---- $b"
		box "$b" failoverctl status 2>&1 | head -n 6
		box "$b" journalctl -u failover-launcher --no-pager -o short-monotonic -n 40 2>&1
	done
}

# box_files BOX: what the box has written so far, from its overlay's upper
# layer (seen through the nspawn process's mount namespace): each path with
# its type ("c" for a whiteout: a host file deleted), but the parts that
# change on their own (the journal, the package manager's and systemd's
# bookkeeping, caches, ActiveMQ's own directory), and directories that the
# host has too (copied up when something was written in them).
box_files() {
	local upper
	upper=/proc/$(cat "$BOX_DIR/$1/pid")/root$BOX_DIR/$1/rw/upper
	[ -d "$upper" ] || return 1
	(cd "$upper" && find . \( -path ./var/log/journal -o -path ./var/lib/dpkg -o -path ./var/cache \
		-o -path ./var/log/apt -o -path ./var/log/dpkg.log -o -path ./var/lib/apt -o -path ./var/lib/systemd/timers \
		-o -path ./var/lib/systemd/catalog -o -path ./var/lib/activemq -o -path ./root -o -path ./tmp \) -prune \
		-o -printf '%y %P\n') | while read -r t p; do
		[ "$t" = d ] && [ -d "/$p" ] && continue
		echo "$t /$p"
	done | sort
}

# guide ID: runs the guide's step ID as its marker says: on each of its
# hosts in turn (in /root/packages, bash -e -o pipefail, the host names
# replaced by the lab's addresses), or the copy it names.  Each host's
# output in $OUTD/ID.HOST.
guide() {
	local id=$1 line kind rest hosts want=0 h rc text src dst
	line=$("$STEPS" "$GUIDE" list | awk -F'\t' -v id="$id" '$1 == id') || return 1
	[ -n "$line" ] || { echo "the guide has no step $id" >&2; return 1; }
	kind=$(cut -f2 <<<"$line")
	rest=$(cut -f3 <<<"$line")
	case $kind in
	skip) return 0 ;;
	copy)
		src=${rest%% *}
		dst=${rest#* }
		box "${src%%:*}" cat "${src#*:}" >"$OUTD/$id.copy" || return 1
		[ -s "$OUTD/$id.copy" ] || { echo "guide step $id: ${src} is empty" >&2; return 1; }
		box "$dst" sh -c "umask 077 && cat >'${src#*:}'" <"$OUTD/$id.copy"
		return
		;;
	esac
	hosts=${rest%% (exit *}
	[[ $rest =~ \(exit\ ([0-9]+)\) ]] && want=${BASH_REMATCH[1]}
	text=$("$STEPS" "$GUIDE" block "$id" "mq1=$(lab_addr 1)" "mq2=$(lab_addr 2)" \
		"192.0.2.11=$(lab_addr 1)" "192.0.2.12=$(lab_addr 2)") || return 1
	for h in $hosts; do
		rc=0
		box "$h" bash -e -o pipefail -c "cd /root/packages && $text" >"$OUTD/$id.$h" 2>&1 || rc=$?
		if [ "$rc" -ne "$want" ]; then
			echo "guide step $id on $h: exit status $rc, expected $want; its output:" >&2
			tail -n 30 "$OUTD/$id.$h" >&2
			return 1
		fi
	done
}

# fl_field BOX KEY: a field of the box's launcher status file
fl_field() {
	box "$1" sed -n "s/^$2=//p" /var/lib/failover-launcher/status 2>/dev/null
}
fl_is() { [ "$(fl_field "$1" "$2")" = "$3" ]; }

# the pair's state: mq1's role, mq2's role ("master slave")
roles() { echo "$(fl_field mq1 role) $(fl_field mq2 role)"; }

# hears_slave A B: A hears B's current run as a live slave (its last packet
# younger than one heartbeat interval and a half).  After B restarted, A
# drops the new run's packets as another boot's until the old run has been
# silent for a timeout (the replay filter), though B already follows A.
hears_slave() {
	local b
	b=$(fl_field "$2" node)
	box "$1" failoverctl peers --json 2>/dev/null | python3 -c '
import json, sys
peers = json.load(sys.stdin)
peers = peers.get("peers", peers) if isinstance(peers, dict) else peers
sys.exit(0 if any(p.get("node") == sys.argv[1] and p.get("role") == "slave" and p.get("age_ms", 1e9) < 1500
                  for p in peers) else 1)' "$b"
}

# is_broker PID: the process runs ActiveMQ's broker (a zombie has no command)
is_broker() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'org.apache.activemq.console.Main start'
}

# sampler_start: every 100 ms, for at most 15 minutes, whether both boxes
# run an ActiveMQ broker JVM at once (a line in sampler.both).  A scan of a
# box's processes takes a while (each box runs a whole system): a broker
# found in the first box may have exited before the second box's started
# (a switchover hands over within ms).  So two found are looked at again,
# the first then the second: still brokers both, they were alive together
# at the first one's second look (the second one lived before and after).
sampler_start() {
	local stop=$BATS_FILE_TMPDIR/sampler.stop
	(
		end=$((SECONDS + 900))
		while [ ! -e "$stop" ] && [ $SECONDS -lt $end ]; do
			found=()
			for ns in "$LAB-n1" "$LAB-n2"; do
				for p in $(ip netns pids "$ns" 2>/dev/null); do
					if is_broker "$p"; then
						found+=("$p")
						break
					fi
				done
			done
			if [ ${#found[@]} -ge 2 ] && is_broker "${found[0]}" && is_broker "${found[1]}"; then
				date +%s.%N >>"$BATS_FILE_TMPDIR/sampler.both"
			fi
			sleep 0.1
		done
	) 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/sampler.pid"
}

no_two_brokers() {
	# a sampler that gave up (its 15 minutes) would check nothing
	kill -0 "$(cat "$BATS_FILE_TMPDIR/sampler.pid")" || { echo "the broker sampler is not running" >&2; return 1; }
	if [ -s "$BATS_FILE_TMPDIR/sampler.both" ]; then
		echo "both boxes ran a broker JVM at: $(head -n 3 "$BATS_FILE_TMPDIR/sampler.both")" >&2
		return 1
	fi
}

@test "the package builds, holds what an operator expects, and lintian reports nothing" {
	cat "$BATS_FILE_TMPDIR/build.times"
	local deb
	deb=$(ls "$BATS_FILE_TMPDIR/pkgs-old/failover-launcher_${OLD_VERSION}_$(dpkg --print-architecture).deb")
	run dpkg-deb -c "$deb"
	assert_success
	local f
	for f in ./usr/sbin/failover-launcher ./usr/bin/failoverctl ./lib/systemd/system/failover-launcher.service \
		./lib/systemd/system/failover-launcher@.service ./usr/share/failover-launcher/start-failover.sh \
		./etc/failover-launcher/failover-launcher.ini ./etc/failover-launcher/activemq.ini \
		./usr/share/man/man8/failover-launcher.8.gz ./usr/share/man/man1/failoverctl.1.gz \
		./usr/share/man/man5/failover-launcher.ini.5.gz; do
		assert_output --partial " $f"
	done
	run dpkg-deb -f "$deb" Depends
	assert_output --partial libev4
	assert_output --partial libsodium
	# loaded at run time, so named by debian/control, not by dpkg-shlibdeps
	assert_output --partial "libcurl4 (>= 7.85.0)"
	assert_output --partial "libmicrohttpd12 (>= 0.9.50)"
	run dpkg-deb -I "$deb" conffiles
	assert_line /etc/failover-launcher/failover-launcher.ini
	# the default configuration is commented: it sets no key
	run sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xO ./etc/failover-launcher/failover-launcher.ini"
	assert_success
	refute_output --regexp $'(^|\n)[[:space:]]*[a-z_]+[[:space:]]*[=:]'
	# lintian leaves 8 kB temporary files behind: in this test's directory
	run env TMPDIR="$BATS_TEST_TMPDIR" lintian --fail-on error,warning "$deb"
	echo "$output"
	assert_success
	refute_output --regexp '(^|'$'\n'')[EW]: '
	# the second build replaced the first one's .deb files in its directory
	ls "$PKG"/failover-launcher_"${NEW_VERSION}"_*.deb
	run ls "$PKG"
	refute_output --partial "$OLD_VERSION"_
}

@test "every command block of the guide is marked, in the order this test knows" {
	run "$STEPS" "$GUIDE" list
	assert_success
	assert_equal "$(cut -f1 <<<"$output" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$GUIDE_STEPS")"
	# a marker always comes with a block: a stray one is refused
	printf '<!-- test x: mq1 -->\ntext\n' >"$BATS_TEST_TMPDIR/bad.md"
	run "$STEPS" "$BATS_TEST_TMPDIR/bad.md" list
	assert_failure
	printf '```sh\necho unmarked\n```\n' >"$BATS_TEST_TMPDIR/bad.md"
	run "$STEPS" "$BATS_TEST_TMPDIR/bad.md" list
	assert_failure
	assert_output --partial 'without a test marker'
}

@test "guide, install: the service is enabled and waits for a key and a configuration" {
	guide update
	guide install
	local b
	for b in mq1 mq2; do
		run box "$b" dpkg-query -W -f='${Status} ${Version}' failover-launcher
		assert_output "install ok installed $OLD_VERSION"
		run box "$b" systemctl is-enabled failover-launcher
		assert_output enabled
		run box "$b" systemctl is-active failover-launcher
		assert_output inactive
	done
	guide before-start
	run cat "$OUTD/before-start.mq1"
	assert_output --partial 'ConditionPathExists=/etc/failover-launcher/cluster.key was not met'
	run box mq1 systemctl show -P ConditionResult failover-launcher
	assert_output no
	# the package's postinst did try: the condition, not a failure, stopped it
	run box mq1 systemctl show -P Result failover-launcher
	assert_output success
}

@test "guide, key, configuration and start: one master serves, the other follows" {
	local s
	for s in store key copy-key; do guide "$s"; done
	# the key alone is not enough: the configuration as shipped sets no key
	run box mq1 systemctl start failover-launcher
	assert_success
	run box mq1 systemctl is-active failover-launcher
	assert_output inactive
	run box mq1 journalctl -u failover-launcher --no-pager -o cat
	assert_output --partial "Skipped due to 'exec-condition'"
	for s in config node-mq1 node-mq2 dropin check-config; do guide "$s"; done
	run box mq2 stat -c '%a %U' /etc/failover-launcher/cluster.key
	assert_output '600 root'
	run cmp <(box mq1 cat /etc/failover-launcher/cluster.key) <(box mq2 cat /etc/failover-launcher/cluster.key)
	assert_success
	guide start
	run cat "$OUTD/start.mq1" "$OUTD/start.mq2"
	assert_output $'active\nactive'
	# the first host started became master before the second started
	assert_equal "$(roles)" "master slave"
	# the precheck the guide turned on finds the store mounted
	assert_equal "$(fl_field mq1 eligible) $(fl_field mq2 eligible)" "yes yes"
	wait_until 60 fl_is mq1 broker serving
	guide check
	run cat "$OUTD/check.mq1"
	assert_output --partial 'role:      master'
	assert_output --regexp 'broker pid [0-9]+ serving'
	run cat "$OUTD/check.mq2"
	assert_output --partial 'role:      slave'
	assert_output --partial "master is $(fl_field mq1 node)"
	# clients reach the master's broker through the lab: persistent
	# messages go into the shared store (the ids on stdout; run mixes in
	# the client's stderr, where a failover transport that connects late
	# says "transport resumed")
	run amq_client "$BATS_FILE_TMPDIR/clients" producer "$(amq_url)" guide.q 20 0 60
	assert_success
	assert_equal "$(grep -xE "[0-9]+" <<<"$output" | sort -un | wc -l)" 20
	no_two_brokers
}

@test "guide, switchover: the broker and its messages move to the other host" {
	guide switchover
	run cat "$OUTD/switchover.mq1"
	assert_output --partial "switchover done: $(fl_field mq2 node) is master"
	assert_equal "$(roles)" "slave master"
	wait_until 60 fl_is mq2 broker serving
	# the 20 messages stored by mq1's broker are read from mq2's
	run amq_client "$BATS_FILE_TMPDIR/clients" consumer "$(amq_url)" guide.q 20 60
	assert_success
	assert_equal "$(grep -xE "[0-9]+" <<<"$output" | sort -un | wc -l)" 20
	guide logs
	run cat "$OUTD/logs.mq1"
	assert_output --regexp 'broker\[[0-9]+\]: '
	assert_output --partial 'resign'
	no_two_brokers
}

@test "guide, upgrade to a rebuilt package: configuration and state kept, the master hands over" {
	local b id1 id2
	id1=$(fl_field mq1 node)
	id2=$(fl_field mq2 node)
	for b in mq1 mq2; do
		rm -f "$BATS_FILE_TMPDIR/pkgs-$b"/*.deb
		cp "$PKG"/failover-launcher_"${NEW_VERSION}"_*.deb "$BATS_FILE_TMPDIR/pkgs-$b/"
	done
	guide upgrade-slave
	run box mq1 dpkg-query -W -f='${Version}' failover-launcher
	assert_output "$NEW_VERSION"
	assert_equal "$(roles)" "slave master"
	assert_equal "$(fl_field mq1 node)" "$id1"
	run cat "$OUTD/upgrade-slave.mq1"
	assert_output --partial 'role:      slave'
	# the configuration the guide wrote is the one running
	run box mq1 grep -c "^property = activemq.host=$(lab_addr 1)\$" /etc/failover-launcher/failover-launcher.ini
	assert_output 1

	local t0
	t0=$(box mq2 date +%s)
	guide upgrade-master
	run box mq2 dpkg-query -W -f='${Version}' failover-launcher
	assert_output "$NEW_VERSION"
	wait_until 30 fl_is mq2 role slave
	assert_equal "$(roles)" "master slave"
	assert_equal "$(fl_field mq2 node)" "$id2"
	wait_until 60 fl_is mq1 broker serving
	# the old launcher stopped its broker, then resigned (naming mq1 when
	# it had heard mq1's new run already): no crash, no timeout
	run box mq2 journalctl -u failover-launcher --since "@$t0" --no-pager -o cat
	assert_output --regexp 'broker pid [0-9]+ stopped \(exit status 143\) [0-9]+ ms after SIGTERM'
	assert_output --partial 'role master -> slave (resigning'
	refute_output --partial 'died unexpectedly'
	refute_output --regexp 'Failed with result|Main process exited, code=(killed|dumped)'
	# and mq1 promoted on that resignation, not after the failure timeout
	run box mq1 journalctl -u failover-launcher --since "@$t0" --no-pager -o cat
	assert_output --partial "master $id2 resigned"
	refute_output --partial 'nothing heard for'
	no_two_brokers
}

@test "guide, remove hands over and keeps the configuration; purge leaves nothing behind" {
	# the upgrade restarted mq2: mq1 names in its resignation only a
	# slave whose current run it hears
	wait_until 30 hears_slave mq1 mq2
	guide remove
	run box mq1 dpkg-query -W -f='${Status}' failover-launcher
	assert_output 'deinstall ok config-files'
	wait_until 30 fl_is mq2 role master
	wait_until 60 fl_is mq2 broker serving
	run box mq1 pgrep -x failover-launch
	assert_failure
	box mq1 test -s /etc/failover-launcher/failover-launcher.ini
	box mq1 test -s /etc/failover-launcher/cluster.key
	box mq1 test -s /var/lib/failover-launcher/status
	run box mq1 journalctl -u failover-launcher --no-pager -o cat -n 30
	assert_output --partial "resigning in favour of $(fl_field mq2 node)"

	guide purge
	local b
	for b in mq1 mq2; do
		run box "$b" dpkg-query -W -f='${Status}' failover-launcher
		assert_failure
		run box "$b" systemctl list-unit-files 'failover-launcher*'
		refute_output --partial failover-launcher
		run diff "$OUTD/files-before.$b" <(box_files "$b")
		echo "$output"
		assert_success
	done
	no_two_brokers
}
