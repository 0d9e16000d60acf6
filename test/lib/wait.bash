# wait_until: the one bounded polling loop of the tests.  Sourced by
# test/bats/helpers.bash and test/lib/lab.bash.

# wait_until SECONDS [!] CMD [ARG...]: runs CMD every WAIT_POLL seconds
# (default 0.05) until it succeeds (with !: until it fails) or SECONDS
# (fractions allowed) have passed.  On timeout it prints what it waited
# for, and CMD's last output, and fails.  CMD runs in a subshell: it tests,
# it does not set variables; its output of the successful run is left in
# WAIT_OUT.  The deadline is on the monotonic clock
# (/proc/uptime): a stepped wall clock neither shortens nor stretches it.
wait_until() {
	local limit=$1 whole frac deadline out="" want=0 rc
	shift
	if [ "$1" = "!" ]; then
		want=1
		shift
	fi
	whole=${limit%%.*}
	frac=000
	[[ $limit == *.* ]] && frac=${limit#*.}000
	wait_uptime_ms
	deadline=$((WAIT_NOW_MS + 10#${whole:-0} * 1000 + 10#${frac:0:3}))
	while :; do
		rc=0
		out=$("$@" 2>&1) || rc=1
		if [ "$rc" = "$want" ]; then
			WAIT_OUT=$out
			return 0
		fi
		wait_uptime_ms
		[ "$WAIT_NOW_MS" -lt "$deadline" ] || break
		sleep "${WAIT_POLL:-0.05}"
	done
	echo "wait_until: gave up after $limit s waiting for: $([ "$want" = 1 ] && echo "! ")$*" >&2
	[ -z "$out" ] || printf '%s\n' "$out" | tail -n 5 | sed 's/^/  last output: /' >&2
	return 1
}

# Sets WAIT_NOW_MS, milliseconds since boot, without a fork (10 ms steps).
wait_uptime_ms() {
	local up rest
	read -r up rest </proc/uptime
	WAIT_NOW_MS=$((10#${up%.*} * 1000 + 10#${up#*.} * 10))
}
