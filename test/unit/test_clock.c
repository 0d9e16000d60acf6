/* Unit tests of the clocks: milliseconds of the right clock, the
 * monotonic one never going back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "clock.h"

static void wall_is_epoch_milliseconds(void **state)
{
	uint64_t before = (uint64_t)time(NULL), ms = clock_wall_ms(), after = (uint64_t)time(NULL);
	(void)state;
	assert_true(ms / 1000 >= before && ms / 1000 <= after);
}

static void mono_never_goes_back(void **state)
{
	struct timespec ts;
	uint64_t prev = clock_mono_ms(), sys;
	(void)state;
	for (int i = 0; i < 100000; i++) {
		uint64_t now = clock_mono_ms();
		assert_true(now >= prev);
		prev = now;
	}
	/* the monotonic clock, in milliseconds, not another one */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sys = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	assert_true(sys >= prev && sys - prev < 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wall_is_epoch_milliseconds),
		cmocka_unit_test(mono_never_goes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
