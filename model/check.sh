#!/bin/bash
# Verifies the election model (model/election.pml) with spin: named
# configurations, the test suite's subset, or all of them.  See
# model/README.md.
#
#   model/check.sh list            the configurations
#   model/check.sh NAME...         spin -a, gcc, pan for each; one summary line each
#   model/check.sh suite           the subset test/bats/model.bats runs (SUITE below)
#   model/check.sh all             every configuration
#   model/check.sh -t NAME...      and print the counterexample, if any, as a
#                                  per-tick trace (spin -t)
# MODEL_JOBS (default: the number of cores) configurations run at once.
#
# A summary line: NAME expect=ok|error errors: E states=S depth=D time=Ts
# The exit status is 0 when every configuration gave what it expects:
# errors: 0 with a complete search for the model of the code, an error for
# the deliberately broken variants (BUG_*).  Work files go to $MODEL_WORK
# (default: a temporary directory, removed afterwards).
set -u

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# name | expected | gcc -O level (O0 compiles in 1 s, O2 in 5 s and runs 2x
# faster: O2 for the big ones) | spin defines.  Expected: ok = errors: 0
# (the model of the code), error = pan must find one (a deliberately broken
# variant: the check is not vacuous; bug-no-contender, bug-promote-below and
# bug-skew-from-lost are the code before commit 719fd51, one fix undone
# each; bug-timer-first, bug-no-send-gap and bug-no-persist the designs of
# issue 16 undone).  Every "ok" one asserts the strong reading of invariant
# 3 (STRICT_TERMS) and, all but strict-terms (the former finding as it was
# run), that terms stay bounded (TERM_BOUND_IS_ERROR); one promotion per
# term (invariant 2) with QUORUM, and with ONE_PER_TERM where no packet can
# be lost.  limit-no-quorum-terms is not a bug but a limit of the design:
# without a quorum a node that lost packets can take a term again.  The
# inelig ones let the precheck flip a node's eligibility (INELIGIBLE times):
# an ineligible node never promotes, and the other invariants still hold;
# bug-inelig-claims and bug-inelig-named undo the rules for an ineligible
# node's claims and for an ineligible named successor.
CONFIGS="
loss-cut           ok    2 -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
cut-freeze         ok    2 -DLOSSES=0 -DPARTS=1 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
loss-freeze        ok    2 -DLOSSES=1 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
resign-cut         ok    2 -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
resign-freeze      ok    0 -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
resign-loss        ok    0 -DLOSSES=1 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
two-losses         ok    0 -DLOSSES=2 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
retries3           ok    2 -DR=3 -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
stale-packets      ok    0 -DQFROZEN=2 -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
stale-resign       ok    2 -DQFROZEN=2 -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
pause              ok    0 -DONE_PER_TERM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-pause            ok    0 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-pause-r3         ok    2 -DR=3 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
restarts           ok    0 -DONE_PER_TERM -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0 -DRESTARTS=2 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-restarts         ok    2 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0 -DRESTARTS=2 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-restart-freeze   ok    2 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DRESTARTS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-loss-cut         ok    2 -DQUORUM -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-freeze-resign    ok    2 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-loss-resign      ok    0 -DQUORUM -DLOSSES=1 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-cut-resign       ok    2 -DQUORUM -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
strict-terms       ok    2 -DSTRICT_TERMS -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
q-split-votes      ok    0 -DQUORUM -DTERM_BOUND_IS_ERROR -DMAXT=6 -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0 -DSTRICT_TERMS
resign-loss-cut    ok    2 -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
bug-no-demote      error 0 -DBUG_NO_DEMOTE -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
bug-no-withdraw    error 0 -DBUG_NO_WITHDRAW -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
bug-no-votes       error 0 -DQUORUM -DBUG_NO_VOTES -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
bug-all-named      error 0 -DBUG_ALL_NAMED -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1
bug-no-contender   error 2 -DBUG_NO_CONTENDER -DLOSSES=1 -DPARTS=1 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR
bug-promote-below  error 0 -DBUG_PROMOTE_BELOW -DSTRICT_TERMS -DLOSSES=2 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0
bug-skew-from-lost error 0 -DBUG_SKEW_FROM_LOST -DQUORUM -DTERM_BOUND_IS_ERROR -DMAXT=6 -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
bug-timer-first    error 0 -DBUG_TIMER_FIRST -DR=3 -DQUORUM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0
bug-no-send-gap    error 0 -DBUG_NO_SEND_GAP -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0
bug-no-persist     error 0 -DBUG_NO_PERSIST -DONE_PER_TERM -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=0 -DRESTARTS=2
fast-on-wake       error 0 -DFAST_ON_WAKE -DMAXFZ=3 -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
limit-no-quorum-terms error 0 -DONE_PER_TERM -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=0
inelig-resign      ok    0 -DONE_PER_TERM -DINELIGIBLE=2 -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-inelig           ok    0 -DQUORUM -DINELIGIBLE=2 -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
inelig-midround    ok    0 -DONE_PER_TERM -DINELIGIBLE=2 -DINEL_MIDROUND -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-inelig-midround  ok    0 -DQUORUM -DINELIGIBLE=2 -DINEL_MIDROUND -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
inelig-restarts    ok    2 -DONE_PER_TERM -DINELIGIBLE=1 -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0 -DRESTARTS=2 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
inelig-loss-resign ok    2 -DINELIGIBLE=2 -DLOSSES=1 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
inelig-freeze-resign ok  2 -DINELIGIBLE=1 -DLOSSES=0 -DPARTS=0 -DFREEZES=1 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
q-inelig-cut       ok    2 -DQUORUM -DINELIGIBLE=1 -DLOSSES=0 -DPARTS=1 -DFREEZES=0 -DRESIGNS=1 -DTERM_BOUND_IS_ERROR -DSTRICT_TERMS
bug-inelig-claims  error 0 -DBUG_INELIGIBLE_CLAIMS -DINELIGIBLE=1 -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=0
bug-inelig-named   error 0 -DBUG_INELIGIBLE_NAMED -DINELIGIBLE=1 -DLOSSES=0 -DPARTS=0 -DFREEZES=0 -DRESIGNS=1
"

# The subset test/bats/model.bats runs (under a minute on two cores; the
# rest, resign-loss-cut above all, by hand: model/check.sh all), longest
# first.  Each fault class: pauses (their packets queued) and resigns, and
# the finding against the first design of issue 16 (resign-freeze), quorum
# and pauses (q-pause), restarts (restarts), resign and loss (resign-loss),
# quorum and cut (q-split-votes); the former findings (q-split-votes
# complete; resign-loss-cut and strict-terms, whose complete searches take
# half a minute and more each, through bug-no-contender and
# bug-promote-below, which must find their counterexamples); and every
# "error" one (model.bats checks that each is here), the precheck's two
# among them (4 to 5 s each, nearly all of it spin and gcc; the precheck's
# ok configurations, 10 s and more, run by hand).
SUITE="resign-freeze restarts bug-no-contender q-pause q-split-votes bug-no-persist resign-loss
bug-promote-below fast-on-wake bug-timer-first bug-skew-from-lost bug-no-votes limit-no-quorum-terms
bug-no-send-gap bug-no-withdraw bug-no-demote bug-all-named bug-inelig-named bug-inelig-claims"

config_line() { printf '%s\n' "$CONFIGS" | awk -v n="$1" '$1 == n'; }

trace=0
if [ "${1:-}" = "-t" ]; then
	trace=1
	shift
fi
if [ $# -eq 0 ] || [ "$1" = list ]; then
	printf '%s\n' "$CONFIGS" | awk 'NF {printf "%-19s %-6s", $1, $2; for (i = 3; i <= NF; i++) printf " %s", $i; print ""}'
	exit 0
fi
if [ "$1" = all ]; then
	mapfile -t all < <(printf '%s\n' "$CONFIGS" | awk 'NF {print $1}')
	set -- "${all[@]}"
elif [ "$1" = suite ]; then
	# shellcheck disable=SC2086 # the names are words
	set -- $SUITE
fi
command -v spin >/dev/null || { echo "spin is missing (Debian package spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "gcc is missing" >&2; exit 2; }

work="${MODEL_WORK:-}"
if [ -z "$work" ]; then
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

# run_one NAME: prints the summary (and the trace); exit 1 when not as expected
run_one() {
	local name=$1 line expect opt defines dir t0 t1 errors states depth secs rc=0
	line="$(config_line "$name")"
	if [ -z "$line" ]; then
		echo "unknown configuration: $name (model/check.sh list)"
		return 1
	fi
	read -r _ expect opt defines <<<"$line"
	dir="$work/$name"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$HERE/election.pml" "$dir/"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # the defines are words
	if ! (cd "$dir" && spin $defines -a election.pml >spin.log 2>&1 &&
		gcc -O"$opt" -w -DSAFETY -DCOLLAPSE -DMEMLIM=4096 -o pan pan.c >gcc.log 2>&1); then
		echo "$name: spin or gcc failed:"
		cat "$dir/spin.log" "$dir/gcc.log"
		return 1
	fi
	(cd "$dir" && ./pan -m500000 -w25 >pan.log 2>&1)
	t1=$(date +%s.%N)
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.log")
	states=$(awk '/states, stored/ {print $1; exit}' "$dir/pan.log")
	depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' "$dir/pan.log")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
	echo "$name expect=$expect errors: ${errors:-?} states=${states:-?} depth=${depth:-?} time=${secs}s"
	grep -E '^pan:[0-9]+:|reached -DMEMLIM' "$dir/pan.log" | head -2 | cut -c1-160 | sed 's/^/    /'
	case "$expect:${errors:-x}" in
	ok:0 | error:[1-9]*) ;;
	*) rc=1 ;;
	esac
	if [ "$expect" = ok ] && grep -q 'Search not completed' "$dir/pan.log"; then
		echo "    the search was not completed"
		rc=1
	fi
	if [ "$trace" = 1 ] && [ -f "$dir/election.pml.trail" ]; then
		# shellcheck disable=SC2086
		(cd "$dir" && spin $defines -t election.pml 2>&1) | sed -n 's/^ *MSC: /    /p; s/^spin: text of failed assertion: /    failed: /p'
	fi
	return $rc
}

jobs_max=${MODEL_JOBS:-$(nproc 2>/dev/null || echo 1)}
names=("$@")
pids=()
status=0
for i in "${!names[@]}"; do
	run_one "${names[$i]}" >"$work/${names[$i]}.out" 2>&1 &
	pids[i]=$!
	# at most jobs_max at once: wait for the oldest still running
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		sleep 0.2
	done
done
for i in "${!names[@]}"; do
	wait "${pids[$i]}" || status=1
	cat "$work/${names[$i]}.out"
done
exit $status
