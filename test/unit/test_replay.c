/* Unit tests of replay.c: the replay table, who of two processes with one
 * node id goes, and boot ids that only grow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "replay.h"

static void test_table(void **state)
{
	struct replay_table *t = calloc(1, sizeof(*t));
	int below;

	assert_int_equal(replay_check(t, "a", 10, 1, 0, 1000, &below), REPLAY_NEW);
	assert_int_equal(replay_check(t, "a", 10, 2, 100, 1000, &below), REPLAY_FRESH);
	assert_int_equal(replay_check(t, "a", 10, 2, 200, 1000, &below), REPLAY_OLD);
	/* a restart within the timeout of the last packet: heard after it */
	assert_int_equal(replay_check(t, "a", 11, 1, 300, 1000, &below), REPLAY_OTHER);
	assert_int_equal(replay_check(t, "a", 11, 2, 600, 1000, &below), REPLAY_TWO_BOOTS);
	assert_int_equal(replay_check(t, "a", 11, 3, 1100, 1000, &below), REPLAY_RESTART);
	assert_int_equal(below, 0);
	/* the old boot, replayed: old, whatever the time */
	assert_int_equal(replay_check(t, "a", 10, 2, 5000, 1000, &below), REPLAY_OLD);
	/* a lower boot after a silence: a restart, noted once */
	assert_int_equal(replay_check(t, "a", 5, 1, 6000, 1000, &below), REPLAY_RESTART_BELOW);
	assert_int_equal(below, 1);
	assert_int_equal(replay_check(t, "a", 3, 1, 8000, 1000, &below), REPLAY_RESTART_BELOW);
	assert_int_equal(below, 0);
	free(t);
}

/* A full table forgets the sender heard longest ago. */
static void test_full_table(void **state)
{
	struct replay_table *t = calloc(1, sizeof(*t));
	char id[16];

	for (int i = 0; i < REPLAY_MAX; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(replay_check(t, id, 1, 1, i == 7 ? 0 : 10 + (uint64_t)i, 1000, NULL), REPLAY_NEW);
	}
	assert_int_equal(replay_check(t, "late", 1, 1, 9000, 1000, NULL), REPLAY_NEW);
	assert_int_equal(replay_check(t, "n8", 1, 1, 9001, 1000, NULL), REPLAY_OLD);
	assert_int_equal(replay_check(t, "n8", 2, 1, 9001, 1000, NULL), REPLAY_RESTART);
	assert_int_equal(replay_check(t, "n7", 1, 1, 9002, 1000, NULL), REPLAY_NEW);
	free(t);
}

static void test_newer(void **state)
{
	/* listening hears one past it: we came second */
	assert_true(replay_we_are_newer(1, 1, WIRE_ROLE_SLAVE, 9));
	assert_false(replay_we_are_newer(0, 9, WIRE_ROLE_LISTENING, 1));
	assert_true(replay_we_are_newer(1, 1, WIRE_ROLE_MASTER, 9));
	/* both or neither: the higher boot */
	assert_true(replay_we_are_newer(1, 9, WIRE_ROLE_LISTENING, 1));
	assert_false(replay_we_are_newer(1, 1, WIRE_ROLE_LISTENING, 9));
	assert_true(replay_we_are_newer(0, 9, WIRE_ROLE_MASTER, 1));
	assert_false(replay_we_are_newer(0, 1, WIRE_ROLE_CANDIDATE, 9));
	/* exactly one of two sides goes */
	for (int a = 0; a <= 1; a++)
		for (int b = 0; b <= 1; b++)
			assert_int_equal(replay_we_are_newer(a, 5, b ? WIRE_ROLE_LISTENING : WIRE_ROLE_SLAVE, 6) +
						 replay_we_are_newer(b, 6, a ? WIRE_ROLE_LISTENING : WIRE_ROLE_SLAVE, 5),
					 1);
}

static void test_next_boot(void **state)
{
	uint64_t prev = 0, b;

	assert_int_equal(replay_next_boot(1000, 7, 0), 1000ull << 16 | 7);
	/* the clock an hour behind the previous run: still above it */
	b = replay_next_boot(1000, 7, (1000ull + 3600000) << 16);
	assert_int_equal(b, ((1000ull + 3600000) << 16) + 1);
	/* any clock, always up */
	for (int i = 0; i < 100; i++) {
		b = replay_next_boot((uint64_t)(i % 7) * 1000, (uint16_t)(i * 31), prev);
		assert_true(b > prev);
		prev = b;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_newer),
		cmocka_unit_test(test_next_boot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
