# A lab of N hosts in network namespaces, for multi-node tests.
#
#   switch namespace  LAB-sw: bridge br0, ports p1..pN
#   node namespaces   LAB-n1..LAB-nN: eth0 = 10.213.X.i/24, lo up
#
# All cluster traffic stays inside these namespaces; nothing is created in
# the root namespace.  lab_destroy removes every namespace and stops every
# process the lab started (by PID).  Loaded by bats files, which call
# lab_setup and lab_teardown from their setup and teardown.

source "$(dirname "${BASH_SOURCE[0]}")/wait.bash"

LAB_SUBNET_DEFAULT=213

# lab_setup [N]: a bats test's set-up: a lab of N nodes (default 3) with the
# heartbeat delay and retries the suites use unless the file set others
# (LAB_DELAY, LAB_RETRIES), and no extra [broker] lines.  After
# lab_setup_file, the file's namespaces with fresh node directories.
lab_setup() {
	LAB_DELAY=${LAB_DELAY:-200}
	LAB_RETRIES=${LAB_RETRIES:-3}
	LAB_BROKER_INI=()
	if [ -n "${LAB_SHARED_DIR:-}" ]; then
		lab_reuse
	else
		lab_create "${1:-3}"
	fi
}

# lab_teardown: a bats test's tear-down.
lab_teardown() {
	lab_destroy
}

# lab_setup_file [N]: for setup_file: builds the namespaces of an N-node lab
# (default 3) once for all the tests of a file; each test's lab_setup then
# starts from fresh node directories, every link up and no process left in
# the namespaces.  Building them costs about a second a test on a busy
# machine.  lab_teardown_file removes them.
lab_setup_file() {
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR BATS_TEST_NUMBER=f lab_create "${1:-3}"
	touch "$LAB_DIR/shared"
	LAB_SHARED_DIR=$LAB_DIR
	export LAB LAB_N LAB_NET LAB_SHARED_DIR
}

lab_teardown_file() {
	[ -n "${LAB_SHARED_DIR:-}" ] || return 0
	LAB_DIR=$LAB_SHARED_DIR
	rm -f "$LAB_DIR/shared"
	lab_destroy
}

# lab_reuse: this test's lab directory on the file's namespaces
# (lab_setup_file): what an earlier test changed there is undone.
lab_reuse() {
	local i
	LAB_DIR="$BATS_TEST_TMPDIR/lab"
	mkdir -p "$LAB_DIR"
	: >"$LAB_DIR/pids"
	echo "$LAB" >"$LAB_DIR/name"
	touch "$LAB_DIR/shared"
	cp -p "$LAB_SHARED_DIR/cluster.key" "$LAB_DIR/cluster.key"
	lab_clear_namespaces
	for i in $(seq 1 "$LAB_N"); do
		mkdir -p "$LAB_DIR/n$i/state"
		lab_heal "$i"
	done
	lab_groups "$(seq -s ' ' 1 "$LAB_N")"
}

# Processes still in the lab's node namespaces (a broker or hook a killed
# launcher left behind), for lab_clear_namespaces.
lab_ns_pids() {
	local i
	for i in $(seq 1 "$LAB_N"); do ip netns pids "$LAB-n$i" 2>/dev/null; done
}

# True when no process runs in the lab's node namespaces.
lab_ns_empty() {
	local pid
	for pid in $(lab_ns_pids); do
		lab_alive "$pid" && { echo "pid $pid still runs in the lab"; return 1; }
	done
	return 0
}

# lab_clear_namespaces: stops every process in the node namespaces, by pid.
lab_clear_namespaces() {
	local pid
	for pid in $(lab_ns_pids); do kill -KILL "$pid" 2>/dev/null || true; done
	wait_until 10 lab_ns_empty
}

# lab_create N [subnet-octet]: builds the namespaces under $LAB_DIR.
lab_create() {
	local n=$1 i
	LAB_N=$n
	LAB_NET=${2:-$LAB_SUBNET_DEFAULT}
	LAB="fl$$-${BATS_TEST_NUMBER:-0}"
	LAB_DIR="${BATS_TEST_TMPDIR:-$(mktemp -d)}/lab"
	mkdir -p "$LAB_DIR"
	rm -f "$LAB_DIR/shared" # a lab of its own, even in a file that shares one
	rm -f "$LAB_DIR/sampler.stop" "$LAB_DIR/sampler.summary" "$LAB_DIR/sampler.violations"
	: >"$LAB_DIR/pids"
	echo "$LAB" >"$LAB_DIR/name"
	ip netns add "$LAB-sw"
	ip -n "$LAB-sw" link set lo up
	ip -n "$LAB-sw" link add br0 type bridge
	# no IGMP querier here: flood multicast instead of snooping it
	ip -n "$LAB-sw" link set br0 type bridge mcast_snooping 0
	ip -n "$LAB-sw" link set br0 up
	for i in $(seq 1 "$n"); do
		ip netns add "$LAB-n$i"
		ip -n "$LAB-sw" link add "p$i" type veth peer name "h$i"
		ip -n "$LAB-sw" link set "h$i" netns "$LAB-n$i"
		ip -n "$LAB-n$i" link set "h$i" name eth0
		ip -n "$LAB-sw" link set "p$i" master br0 up
		ip -n "$LAB-n$i" link set lo up
		ip -n "$LAB-n$i" addr add "10.$LAB_NET.0.$i/24" dev eth0
		ip -n "$LAB-n$i" link set eth0 up
		mkdir -p "$LAB_DIR/n$i/state"
	done
	lab_groups "$(seq -s ' ' 1 "$n")"
	# one cluster key for the lab, as an operator would copy to every node
	rm -f "$LAB_DIR/cluster.key"
	"$LAUNCHER" --new-key "$LAB_DIR/cluster.key" >/dev/null
}

lab_addr() { echo "10.$LAB_NET.0.$1"; }

# lab_groups "1 2 3" or "1 2" "3": the connected sets the sampler checks.
lab_groups() {
	printf '%s\n' "$@" >"$LAB_DIR/groups.new"
	mv "$LAB_DIR/groups.new" "$LAB_DIR/groups"
}

# lab_ini I [extra [cluster] lines]: writes node I's launcher configuration;
# LAB_BROKER_INI (an array) adds [broker] lines.
lab_ini() {
	local i=$1
	shift
	{
		printf '[cluster]\nname = %s\nnode = n%s\ninterface = eth0\n' "${LAB_CLUSTER:-lab}" "$i"
		printf 'delay = %s\nretries = %s\n' "${LAB_DELAY:-250}" "${LAB_RETRIES:-4}"
		printf 'state_dir = %s\nkey_file = %s\n' "$LAB_DIR/n$i/state" "$LAB_DIR/cluster.key"
		printf '%s\n' "$@"
		printf '[control]\nsocket = %s\n' "$LAB_DIR/n$i/ctl.sock"
		printf '[broker]\nhome = %s\nprofiler = no\nconfig_dir =\nlib_dir =\n' "$LAB_DIR/n$i"
		# the fake broker stands where java would (test/lib/fake-broker)
		printf 'main_class = fake.Broker\njava = %s\n' "$REPO_ROOT/test/lib/fake-broker"
		printf 'env = FAKE_DIR=%s\n' "$LAB_DIR/n$i/broker"
		printf 'stop_timeout = 2000\nrestart_min = 200\nrestart_max = 1000\n'
		printf '%s\n' "${LAB_BROKER_INI[@]}"
	} | lab_last_wins >"$LAB_DIR/n$i/launcher.ini"
}

# lab_last_wins: INI on stdin, with each scalar key's earlier values in a
# section dropped, so that a test's own line replaces the lab's default
# (the launcher refuses a scalar key given twice in one file); list keys
# (config.def's LIST) keep every value
lab_last_wins() {
	local lists
	lists=" $(sed -n 's/^CFG(\([a-z_]*\), *\([a-z_]*\), *LIST.*/\1.\2/p' "$REPO_ROOT/launcher/config/config.def" | tr '\n' ' ') "
	awk -v lists="$lists" '
	function key(line) { sub(/[ \t]*=.*/, "", line); sub(/^[ \t]*/, "", line); return sec "." line }
	{ a[NR] = $0 }
	/^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
	/^[ \t]*[a-z_]+[ \t]*=/ { k = key($0); if (index(lists, " " k " ") == 0) { if (k in last) drop[last[k]] = 1; last[k] = NR } }
	END { for (n = 1; n <= NR; n++) if (!(n in drop)) print a[n] }'
}

# lab_start I [launcher options]: starts node I's launcher in its namespace.
lab_start() {
	local i=$1 pid
	shift
	[ -f "$LAB_DIR/n$i/launcher.ini" ] || lab_ini "$i"
	ip netns list | grep -q "^$LAB-n$i\b" || { echo "lab: no namespace $LAB-n$i: refusing to start" >&2; return 1; }
	ip netns exec "$LAB-n$i" "$LAUNCHER" -c "$LAB_DIR/n$i/launcher.ini" "$@" \
		>>"$LAB_DIR/n$i/log" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/n$i/pid"
	echo "$pid" >>"$LAB_DIR/pids"
}

lab_pid() { cat "$LAB_DIR/n$1/pid"; }

# lab_role I: node I's role as its status file says it.  After a kill -9
# that file still says what the dead launcher wrote last; the sampler
# (test/lib/sampler.py) believes only the status of a running launcher.
lab_role() {
	local line
	while IFS= read -r line; do
		case $line in role=*) echo "${line#role=}"; return 0 ;; esac
	done 2>/dev/null <"$LAB_DIR/n$1/state/status" # (2> first: it hides a missing file)
	echo none
}

lab_field() { # lab_field I KEY
	sed -n "s/^$2=//p" "$LAB_DIR/n$1/state/status" 2>/dev/null
}

# The masters among the given nodes (default all), space-separated.
lab_masters() {
	local i out=""
	for i in ${1:-$(seq 1 "$LAB_N")}; do
		[ "$(lab_role "$i")" = master ] && out="$out $i"
	done
	echo "${out# }"
}

# lab_one_master "NODES": true when exactly one of NODES is master and every
# other one is slave; prints it.
lab_one_master() {
	local m i
	m=$(lab_masters "$1")
	[ -n "$m" ] && [ "${m// /}" = "$m" ] || return 1
	for i in $1; do
		[ "$i" = "$m" ] || [ "$(lab_role "$i")" = slave ] || return 1
	done
	echo "$m"
}

# lab_wait_one_master "NODES" SECONDS: waits until exactly one of NODES is
# master and every other one is slave; prints it.  Fails on timeout.
lab_wait_one_master() {
	local nodes=$1 limit=$2 i
	if WAIT_POLL=0.02 wait_until "$limit" lab_one_master "$nodes"; then
		echo "$WAIT_OUT"
		return 0
	fi
	echo "lab: no single master among '$nodes' after ${limit}s; roles:" >&2
	for i in $nodes; do echo "  n$i $(lab_role "$i")" >&2; done
	return 1
}

# Milliseconds since an epoch, for measuring.
lab_ms() { echo $(($(date +%s%N) / 1000000)); }

# lab_field_is I KEY VALUE: node I's status says KEY=VALUE.
lab_field_is() { [ "$(lab_field "$1" "$2")" = "$3" ]; }

# lab_role_is I ROLE: node I's status says role ROLE.
lab_role_is() { [ "$(lab_role "$1")" = "$2" ]; }

# Waits until node I's role is ROLE (or SECONDS pass).
lab_wait_role() {
	local i=$1 role=$2 limit=$3
	WAIT_POLL=0.02 wait_until "$limit" lab_role_is "$i" "$role" 2>/dev/null && return 0
	echo "lab: n$i is $(lab_role "$i"), not $role, after ${limit}s" >&2
	return 1
}

# lab_sampler_start [MAX-SECONDS]: starts the role sampler (test/lib/sampler.py)
# on the lab; lab_sampler_check stops and judges it.
lab_sampler_start() {
	rm -rf "$LAB_DIR/sampler.stop" "$LAB_DIR/sampler.summary" "$LAB_DIR/sampler.violations" \
		"$LAB_DIR/sampler.masters" "$LAB_DIR/sampler.first-violation"
	# -I -S: no site packages to import; python starts a third faster
	python3 -I -S "$REPO_ROOT/test/lib/sampler.py" "$LAB_DIR" 0.015 "${1:-300}" >/dev/null 2>&1 3>&- &
	echo $! >"$LAB_DIR/sampler.pid"
	echo $! >>"$LAB_DIR/pids"
	# on a busy machine python starts slowly: sample from the first event on
	WAIT_POLL=0.01 wait_until 20 test -e "$LAB_DIR/sampler.summary"
}

# Stops the sampler and fails if it saw two masters in one connected set;
# then the lab's logs, status files and the sampler's record are kept
# (lab_keep) and the failure output says where.
lab_sampler_check() {
	local pid
	[ -f "$LAB_DIR/sampler.pid" ] || return 0
	pid=$(cat "$LAB_DIR/sampler.pid")
	touch "$LAB_DIR/sampler.stop"
	wait "$pid" 2>/dev/null || true
	# from a subshell (bats' run) the sampler is no child to wait for
	wait_until 10 ! lab_alive "$pid"
	rm -f "$LAB_DIR/sampler.pid"
	sed "s/^/# /" "$LAB_DIR/sampler.summary" >&3 2>/dev/null || true
	if [ -s "$LAB_DIR/sampler.violations" ]; then
		echo "two masters seen in one connected set:" >&2
		head -n 20 "$LAB_DIR/sampler.violations" >&2
		echo "masters seen (sampler.masters):" >&2
		head -n 40 "$LAB_DIR/sampler.masters" >&2
		lab_keep >&2
		return 1
	fi
	grep -q 'samples=[1-9]' "$LAB_DIR/sampler.summary"
}

# lab_keep: copies the lab's node logs, status files, configurations,
# broker event logs and the sampler's record out of the test's temporary
# directory, to $LAB_KEEP_DIR (default $BUILD_DIR/lab-kept)/FILE-TEST-TIME,
# and prints where.
lab_keep() {
	local root dir i f
	root=${LAB_KEEP_DIR:-${BUILD_DIR:-${REPO_ROOT:-.}/build}/lab-kept}
	dir="$root/$(basename "${BATS_TEST_FILENAME:-lab}" .bats)-${BATS_TEST_NUMBER:-0}-$(date +%Y%m%dT%H%M%S)-$$"
	mkdir -p "$dir" || return 1
	for f in groups pids sampler.summary sampler.violations sampler.masters sampler.first-violation; do
		[ -e "$LAB_DIR/$f" ] && cp -r "$LAB_DIR/$f" "$dir/"
	done
	for i in $(seq 1 "${LAB_N:-0}"); do
		mkdir -p "$dir/n$i"
		for f in log launcher.ini state/status broker/events; do
			[ -e "$LAB_DIR/n$i/$f" ] && cp "$LAB_DIR/n$i/$f" "$dir/n$i/${f##*/}"
		done
	done
	echo "lab: the lab's logs, status files and the sampler's record are kept in $dir"
}

# lab_partition I: cuts node I off the bridge; lab_heal I joins it again.
lab_partition() { ip -n "$LAB-sw" link set "p$1" down; }
lab_heal() { ip -n "$LAB-sw" link set "p$1" up; }

lab_stop_node() { # lab_stop_node I [SIGNAL]: signals the launcher and waits for it
	local pid
	pid=$(lab_pid "$1")
	kill -"${2:-TERM}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

lab_destroy() {
	local pid i name
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	touch "$LAB_DIR/sampler.stop" || true
	if [ -f "$LAB_DIR/pids" ]; then
		# errexit-safe: callers may run this from an EXIT trap under set -e,
		# and some of these processes are long dead
		while read -r pid; do
			kill -CONT "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
		done <"$LAB_DIR/pids"
		while read -r pid; do wait "$pid" 2>/dev/null || true; done <"$LAB_DIR/pids"
	fi
	# namespaces a helper added to this lab directory (test/lib/etcd.bash)
	# go with it, even in a file that shares the node namespaces
	if [ -f "$LAB_DIR/netns" ]; then
		while read -r name; do ip netns del "$name" 2>/dev/null || true; done <"$LAB_DIR/netns"
		rm -f "$LAB_DIR/netns"
	fi
	name=$(cat "$LAB_DIR/name" 2>/dev/null) || name=""
	if [ -e "$LAB_DIR/shared" ]; then
		# the file's namespaces (lab_setup_file) stay for its next test,
		# without what ran in them
		lab_clear_namespaces || true
		name=""
	fi
	if [ -n "$name" ]; then
		for i in $(seq 1 "${LAB_N:-0}"); do ip netns del "$name-n$i" 2>/dev/null || true; done
		ip netns del "$name-sw" 2>/dev/null || true
	fi
	return 0
}

# Prints the nodes' logs, for a failing test's output.
lab_logs() {
	local i
	for i in $(seq 1 "$LAB_N"); do
		echo "---- n$i"
		tail -n "${1:-40}" "$LAB_DIR/n$i/log" 2>/dev/null
	done
}

# True when PID runs.  A zombie does not: here PID 1 does not reap the
# orphans it inherits, so kill -0 alone would call a dead broker alive.
lab_alive() {
	local stat
	# no pid (a node never started): "/proc//stat" would be the kernel's
	# own /proc/stat, and the node alive
	[ -n "$1" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# The fake broker of node I: its running pid, or nothing.
lab_broker_pid() {
	local p
	p=$(cat "$LAB_DIR/n$1/broker/pid" 2>/dev/null) || return 0
	lab_alive "$p" && echo "$p"
	return 0
}

# Nodes whose fake broker process is alive, space-separated.
lab_brokers_alive() {
	local i out=""
	for i in $(seq 1 "$LAB_N"); do
		[ -n "$(lab_broker_pid "$i")" ] && out="$out $i"
	done
	echo "${out# }"
}

# lab_has_broker I: node I's fake broker runs.
lab_has_broker() { [ -n "$(lab_broker_pid "$1")" ]; }

# lab_peers_all N: every running node of the lab counts N peers (asked on
# its control socket: the status file writes a changed count up to a
# second late).
lab_peers_all() {
	local i
	for i in $(seq 1 "$LAB_N"); do
		lab_alive "$(lab_pid "$i" 2>/dev/null)" || continue
		lab_ctl "$i" status 2>/dev/null | grep -qx "peers: *$1" || { echo "n$i does not count $1 peers"; return 1; }
	done
}

# lab_replicating N: every running node's cache replicates with N peers.
lab_replicating() {
	local i n
	for i in $(seq 1 "$LAB_N"); do
		lab_alive "$(lab_pid "$i" 2>/dev/null)" || continue
		n=$(lab_ctl "$i" metrics 2>/dev/null | sed -n 's/^failover_cache_replicating_peers //p')
		[ "$n" = "$1" ] || { echo "n$i replicates with ${n:-?} peers, not $1"; return 1; }
	done
}

# start_three [OPTION...]: starts nodes 1..3 and waits for the single master;
# sets m, the master.  Not in a $(...) subshell: the launchers must be this
# shell's children.  Options:
#   --no-sampler     do not start the role sampler (by default it runs from
#                    before the first launcher starts: lab_sampler_check it)
#   --url            every node advertises tcp://ITS-ADDRESS:61616 (rewrites
#                    the configurations, with LAB_BROKER_INI)
#   --heard          then wait until every node counts both others as peers
#   --broker         then wait until the master's broker runs
#   --replicating    then wait until every node's cache replicates with both others
start_three() {
	local i sampler=1 url=0 heard=0 broker=0 replicating=0
	for i in "$@"; do
		case $i in
		--no-sampler) sampler=0 ;;
		--url) url=1 ;;
		--heard) heard=1 ;;
		--broker) broker=1 ;;
		--replicating) replicating=1 ;;
		*) echo "start_three: unknown option $i" >&2; return 1 ;;
		esac
	done
	if [ $url = 1 ]; then
		local saved=("${LAB_BROKER_INI[@]}")
		for i in 1 2 3; do
			LAB_BROKER_INI=("${saved[@]}" "url = tcp://$(lab_addr "$i"):61616")
			lab_ini "$i"
		done
		LAB_BROKER_INI=("${saved[@]}")
	fi
	[ $sampler = 0 ] || lab_sampler_start
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 10) || return 1
	[ $heard = 0 ] || wait_until 5 lab_peers_all 2 || return 1
	[ $broker = 0 ] || wait_until 5 lab_has_broker "$m" || { lab_logs >&2; return 1; }
	[ $replicating = 0 ] || wait_until 10 lab_replicating 2 || return 1
}

# lab_ctl I ARGS...: failoverctl in node I's namespace, on its control socket.
lab_ctl() {
	local i=$1
	shift
	ip netns exec "$LAB-n$i" "$FAILOVERCTL" -s "$LAB_DIR/n$i/ctl.sock" "$@"
}

# lab_log_ms I TEXT: the wall-clock ms of the last line of node I's log that
# contains TEXT (the launcher's own timestamp: immune to a busy test shell).
lab_log_ms() {
	local line
	line=$(grep -F "$2" "$LAB_DIR/n$1/log" | tail -n 1)
	[ -n "$line" ] || return 1
	echo $(($(date -d "${line:0:19}" +%s) * 1000 + 10#${line:20:3}))
}
