#!/usr/bin/env bash
# The test command.  On a fresh Debian 12 machine, as root: installs what is
# missing, builds the launcher three ways (normal, ASan+UBSan, without
# libsystemd), runs the unit tests (CTest) and every bats file, and ends with
# "N passed, N failed".  Exit status 0 only when everything passed.
#
#   scripts/test.sh            everything
#   scripts/test.sh FILE.bats  only these bats files (after the unit tests)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

. scripts/lib.sh

PACKAGES=("${BUILD_PACKAGES[@]}" "${RUNTIME_TEST_PACKAGES[@]}")

passed=0
failed=0
skipped=0
failures=()

build() { # build DIR CMAKE-ARGS...
	local dir=$1
	shift
	echo "== build $dir ($*)"
	if cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.log" 2>&1 &&
		cmake --build "$dir" -j "$(nproc)" >>"$dir.log" 2>&1; then
		passed=$((passed + 1))
		return 0
	fi
	tail -n 40 "$dir.log"
	failed=$((failed + 1))
	failures+=("build $dir")
	return 1
}

run_ctest() { # run_ctest DIR
	local dir=$1 out p f
	echo "== unit tests ($dir)"
	# one test per core: the stress alone takes about 20 s, the rest as
	# long; they share nothing (ephemeral ports, mkdtemp)
	out=$(cd "$dir" && ctest -j "$(nproc)" --output-on-failure 2>&1)
	echo "$out" | grep -E 'Test +#|tests passed|Failed|\*\*\*' || true
	p=$(echo "$out" | grep -cE 'Test +#.* Passed')
	f=$(echo "$out" | grep -cE 'Test +#.*(Failed|\*\*\*)')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then
		echo "$out" | tail -n 60
		failures+=("ctest $dir")
		[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
	fi
}

# count_tap NAME OUT: adds a TAP output's results to the totals
count_tap() {
	local f=$1 out=$2 p n s
	echo "$out" | grep -vE '^ok ' || true
	s=$(echo "$out" | grep -cE '^ok .*# skip')
	p=$(echo "$out" | grep -cE '^ok ')
	n=$(echo "$out" | grep -cE '^not ok ')
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + n))
	[ "$n" -ne 0 ] && failures+=("$f")
	if [ "$p" -eq 0 ] && [ "$n" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$f: ran no test")
	fi
}

run_bats() { # run_bats BUILD-DIR FILE...
	local dir=$1 f out p n s
	shift
	for f in "$@"; do
		local t0=$SECONDS
		echo "== bats $(basename "$f") ($dir)"
		out=$(BUILD_DIR="$ROOT/$dir" bats --tap "$f" 2>&1)
		echo "   $((SECONDS - t0)) s"
		count_tap "$(basename "$f") ($dir)" "$out"
	done
}



run_fuzz() { # run_fuzz BUILD-DIR: every libFuzzer harness for FUZZ_SECONDS, one per core
	local h name pids=() names=() i rc
	for h in "$1"/fuzz_*; do
		[ -x "$h" ] || continue
		name=${h##*/fuzz_}
		echo "== fuzz $name (${FUZZ_SECONDS}s)"
		mkdir -p "$1/corpus-$name"
		"$h" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$1/corpus-$name" "test/fuzz/corpus/$name" \
			>"$1/fuzz_$name.log" 2>&1 &
		pids+=($!)
		names+=("$name")
		if [ ${#pids[@]} -ge "$(nproc)" ]; then
			wait_fuzz "$1"
		fi
	done
	wait_fuzz "$1"
}

wait_fuzz() { # the fuzzers started so far: pass or fail each
	local i rc
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "   fuzz ${names[$i]}: $(grep -h 'stat::number_of_executed_units' "$1/fuzz_${names[$i]}.log")"
			passed=$((passed + 1))
		else
			tail -n 40 "$1/fuzz_${names[$i]}.log"
			failed=$((failed + 1))
			failures+=("fuzz ${names[$i]}")
		fi
	done
	pids=()
	names=()
}

# six harnesses, two at a time: three rounds (FUZZ_SECONDS=300 for a longer run by hand);
# each starts from the committed corpus, so a regression on a known input
# shows in the first second (8 s each: the suite's 30 minutes)
FUZZ_SECONDS=${FUZZ_SECONDS:-8}
started=$(date +%s)
install_missing "${PACKAGES[@]}" || exit 1

if [ $# -gt 0 ]; then
	bats_files=("$@")
else
	bats_files=(test/bats/*.bats)
fi

# fake-broker files whose behaviour does not hang on the build: the
# sanitizer pass runs them, and the plain pass does not run them again (the
# suite's 30 minutes; a file run by hand runs in any build).  cli.bats runs
# in the build without libsystemd too.  Single tests do the same with
# sanitizer_pass_only (test/bats/helpers.bash, SUITE_PASS=plain below)
SANITIZER_PASS_ONLY=" cache control http maintenance man notify security start_failover supervision systemd jvm_agent sampler election cli "
plain_files=()
for f in "${bats_files[@]}"; do
	b=$(basename "$f" .bats)
	[[ "$SANITIZER_PASS_ONLY" == *" $b "* ]] || plain_files+=("$f")
done

# the 30 %-loss run for 60 s, in this pass only (120 s by hand): the etcd
# labs needed the room in the suite's 30 minutes
build build && {
	run_ctest build
	[ ${#plain_files[@]} -eq 0 ] || SUITE_PASS=plain LOSS_SECONDS=60 run_bats build "${plain_files[@]}"
}
# the sanitizer pass runs every bats file too but the loss run; the real
# components (ActiveMQ, the chaos run with it: 75 s, 300 s by hand) run in
# this pass only
build build-asan -DSANITIZE=ON && {
	run_ctest build-asan
	LOSS_SECONDS=0 CHAOS_SECONDS=75 run_bats build-asan "${bats_files[@]}"
}
# without libsystemd: must compile and pass the tests that do not need it
build build-nosystemd -DWITH_SYSTEMD=OFF -DBUILD_TESTING=OFF && run_bats build-nosystemd test/bats/cli.bats

# libFuzzer harnesses (clang), ASan+UBSan, bounded time each
CC=clang build build-fuzz -DBUILD_FUZZERS=ON -DSANITIZE=ON -DBUILD_TESTING=OFF && run_fuzz build-fuzz

echo
echo "== $(($(date +%s) - started)) s"
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
# labs kept by a failed sampler check (test/lib/lab.bash, lab_keep)
find build*/lab-kept -mindepth 1 -maxdepth 1 -type d -newermt "@$started" 2>/dev/null |
	sed "s|^|lab kept for a failed sampler check: $ROOT/|"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
