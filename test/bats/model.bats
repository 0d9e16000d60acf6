#!/usr/bin/env bats
# The Promela model of the election (model/election.pml, model/README.md):
# spin and pan check invariant 1 (no exemption for a paused node: a frozen
# master counts until its fence deadline), one promotion per term (2), 4
# with quorum, the strong reading of invariant 3 and that terms stay
# bounded, on the model of launcher/cluster/election.c under packet loss,
# partitions, pauses (their packets queued), restarts with persisted state,
# resigns and eligibility flips (no promotion while ineligible), and find
# the error in each deliberately broken variant, so the check is not
# vacuous.  The test suite runs the "suite" subset of
# model/check.sh (each fault class, quorum, the former findings and every
# broken variant), two configurations at a time: under a minute on two
# cores.  The rest is checked by hand (model/check.sh all,
# model/README.md).  The model does not depend on the build: it runs in the
# plain build's pass only.

bats_require_minimum_version 1.5.0

load helpers

# why this file does not run here, or nothing
skip_reason() {
	case "${BUILD_DIR%/}" in
	*-asan | *-nosystemd)
		echo "the model does not depend on the build: checked once, in the plain build's pass"
		return
		;;
	esac
	# spin is not installed (scripts/test.sh installs it); gcc is a build
	# dependency, its absence is a failure
	command -v spin >/dev/null || echo "spin is missing (Debian package spin)"
}

setup_file() {
	[ -z "$(skip_reason)" ] || return 0
	local rc=0
	MODEL_JOBS=2 MODEL_WORK="$BATS_FILE_TMPDIR/model" "$REPO_ROOT/model/check.sh" suite \
		>"$BATS_FILE_TMPDIR/suite.out" 2>&1 || rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/suite.rc"
}

setup() {
	local why
	why="$(skip_reason)"
	[ -z "$why" ] || skip "$why"
	command -v gcc >/dev/null || fail "gcc is missing: pan cannot be compiled"
	CHECK="$REPO_ROOT/model/check.sh"
}

# suite_output: the summary lines of the suite run in setup_file, and its status
suite_output() {
	run cat "$BATS_FILE_TMPDIR/suite.out"
	status=$(cat "$BATS_FILE_TMPDIR/suite.rc")
}

@test "model of the election: errors: 0 in the suite's configurations of the code" {
	local n
	suite_output
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" -eq 0 ] || fail "model/check.sh suite exited with $status"
	# each fault class (pauses, restarts, quorum) and the former findings
	# (resign-loss-cut and strict-terms through bug-no-contender and
	# bug-promote-below, below)
	for n in resign-freeze restarts q-pause q-split-votes resign-loss; do
		assert_line --regexp "^$n expect=ok errors: 0 states=[0-9]+ "
	done
	refute_output --partial "not completed"
	refute_output --regexp "expect=ok errors: ([1-9]|\?)"
}

@test "model of the election: pan finds the error in each broken variant" {
	local names n
	mapfile -t names < <("$CHECK" list | awk '$2 == "error" {print $1}')
	[ "${#names[@]}" -ge 12 ]
	suite_output
	[ "$status" -eq 0 ] || fail "model/check.sh suite exited with $status"
	for n in "${names[@]}"; do
		assert_line --regexp "^$n expect=error errors: [1-9]"
	done
	# the broken candidate and the broken master break invariant 1 itself,
	# and so do the named successor of the code before 719fd51, the
	# timer-first wake-up and the master without a send gap; the restarts
	# without persisted state repeat a term (invariant 2); an ineligible node
	# that claims, or takes its name as successor, promotes (invariant 5)
	assert_output --partial "assertion violated (( !((((conn["
	assert_output --partial "assertion violated (cterm[nd]>=maxt[nd])"
	assert_output --partial "assertion violated ((promoted&(1<<cterm[nd]))==0)"
	assert_output --partial "assertion violated  !(inel[nd])"
}
