# What the ActiveMQ benchmarks share (test/bench/amq-pair, hung-broker,
# time-to-serve): the timestamped JMS producer on failover:, the drain at
# the end, a launcher in its own session, and small helpers.  Needs
# test/lib/lab.bash and test/lib/amq.bash loaded, and:
#   PY HELPER        python3 and test/bench/amq-pair.d/helper.py
#   CLIENTS          the built JMS clients (amq_build_clients)
#   CELL_DIR         where acks.K, producer.K.err, received.K go
#   RUN_LIMIT_S      the producer's own time limit (bounds its loop)
#   PRODUCERS=0 PRODUCER_PID=   before the first start_producer
# and optionally BENCH_TCP_OPTS, the options each broker URI of the
# clients' failover: URL gets (bench_url).

isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }

field() { # field KEY LINE
	local kv
	for kv in $2; do
		case $kv in "$1"=*) echo "${kv#*=}"; return ;; esac
	done
}

ms_sleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# Forgets a reaped PID so that lab_destroy never signals a reused one.
forget_pid() {
	grep -vx "$1" "$LAB_DIR/pids" >"$LAB_DIR/pids.new"
	mv "$LAB_DIR/pids.new" "$LAB_DIR/pids"
}

# pgid PID: its process group, or nothing.
pgid() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r -a f <<<"${s##*) }"
	echo "${f[2]}"
}

mib() { # kB -> MiB with one decimal, "-" stays
	case $1 in '' | -) echo - ;; *) awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' ;; esac
}

stats() { "$PY" "$HELPER" stats <"$1"; }

# launcher_start I: lab_start, but in its own session (so that its process
# group is the launcher alone; its JVM and probe helper have their own).
launcher_start() {
	local i=$1 pid
	ip netns list | grep -q "^$LAB-n$i\b" || { echo "no namespace $LAB-n$i" >&2; return 1; }
	ip netns exec "$LAB-n$i" setsid "$LAUNCHER" -c "$LAB_DIR/n$i/launcher.ini" \
		>>"$LAB_DIR/n$i/log" 2>&1 3>&- </dev/null &
	pid=$!
	echo "$pid" >"$LAB_DIR/n$i/pid"
	echo "$pid" >>"$LAB_DIR/pids"
}

# The clients' URL: amq_url's, each tcp:// URI inside failover:(...) with
# ?BENCH_TCP_OPTS when that is set (e.g. the wire format's inactivity
# limits: a client on a connection to a vanished host gets no reset).
bench_url() {
	local i base list="" opts=${BENCH_TCP_OPTS:+?$BENCH_TCP_OPTS}
	base=$(amq_url)
	[ -n "$opts" ] || { echo "$base"; return; }
	for i in $(seq 1 "$LAB_N"); do list="$list,tcp://$(lab_addr "$i"):$AMQ_PORT$opts"; done
	echo "failover:(${list#,})?${base#*")?"}"
}

# The producer: one persistent message every INTERVAL ms (default 10) on
# failover:, its acks timestamped (wall clock, ms) into $CELL_DIR/acks.K;
# each (re)start uses its own queue bench.qK.
start_producer() {
	PRODUCERS=$((PRODUCERS + 1))
	: >"$CELL_DIR/acks.$PRODUCERS"
	ip netns exec "$LAB-sw" "$CLIENTS/producer" "$(bench_url)" "bench.q$PRODUCERS" 1000000000 "${INTERVAL:-10}" "$RUN_LIMIT_S" \
		> >("$PY" "$HELPER" stamp "$CELL_DIR/acks.$PRODUCERS") \
		2> >("$PY" "$HELPER" stamp "$CELL_DIR/producer.$PRODUCERS.err") 3>&- </dev/null &
	PRODUCER_PID=$!
}

last_ack_ms() { # wall-clock ms of the newest ack, or 0
	local l
	l=$(tail -n 1 "$CELL_DIR/acks.$PRODUCERS" 2>/dev/null)
	l=${l%% *}
	echo "${l%.*}" | grep . || echo 0
}

# Waits (bounded) until the producer runs and its newest ack is at most
# 300 ms old; starts it (again) when it is not running.
wait_acks_flow() {
	local limit=$1 deadline
	deadline=$(($(lab_ms) + limit * 1000))
	while [ "$(lab_ms)" -lt "$deadline" ]; do
		if [ -z "$PRODUCER_PID" ] || ! lab_alive "$PRODUCER_PID"; then
			if [ -n "$PRODUCER_PID" ]; then
				wait "$PRODUCER_PID" 2>/dev/null
				echo "# producer $PRODUCERS exited (rc $?); starting another on a new queue"
			fi
			start_producer
		fi
		[ $(($(lab_ms) - $(last_ack_ms))) -le 300 ] && return 0
		sleep 0.05
	done
	return 1
}

# stop_producer [SIGNAL]: stops and reaps the producer, if any.
stop_producer() {
	[ -n "$PRODUCER_PID" ] || return 0
	kill -"${1:-TERM}" "$PRODUCER_PID" 2>/dev/null
	wait "$PRODUCER_PID" 2>/dev/null
	PRODUCER_PID=
}

# Stops the producer and drains every queue it used; sets DRAINED to
# "acked A, lost L" (L: acknowledged ids the consumer did not get), and
# writes "A L" of queue K to $CELL_DIR/drained.K.
drain() {
	local q n lost=0 total=0 m
	stop_producer TERM
	for q in $(seq 1 "$PRODUCERS"); do
		n=$(tail -n 1 "$CELL_DIR/acks.$q" | awk '{print $2}')
		isnum "$n" || continue
		total=$((total + n))
		amq_client "$CLIENTS" consumer "$(bench_url)" "bench.q$q" "$n" $((60 + n / 200)) \
			>"$CELL_DIR/received.$q" 2>"$CELL_DIR/consumer.$q.err" 3>&- </dev/null
		m=$(grep -o 'missing [0-9]*' "$CELL_DIR/consumer.$q.err" | head -n 1 | awk '{print $2}')
		isnum "$m" || m=$n # no summary: nothing came back
		echo "$n $m" >"$CELL_DIR/drained.$q"
		lost=$((lost + m))
	done
	# shellcheck disable=SC2034 # the caller's result
	DRAINED="acked $total, lost $lost"
}
