# Shared set-up for the bats suites.  BUILD_DIR names the build to test
# (scripts/test.sh sets it; default ./build).
# `run !` (a command that must fail) needs bats 1.5; Debian 12 has 1.8
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$REPO_ROOT/build}"
LAUNCHER="$BUILD_DIR/failover-launcher"
FAILOVERCTL="$BUILD_DIR/failoverctl"
FIXTURES="$REPO_ROOT/test/fixtures"

# the one bounded polling loop (wait_until)
source "$REPO_ROOT/test/lib/wait.bash"

# A test of C behaviour that the test command's sanitizer pass runs: its
# plain pass (SUITE_PASS=plain) skips it, to keep the suite's 30 minutes;
# run by hand, it runs in any build.
sanitizer_pass_only() {
	[ "${SUITE_PASS:-}" != plain ] || skip "the test command runs it in the sanitizer pass"
}
