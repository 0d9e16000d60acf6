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
	/* a restart within the timeout of the last packet: heard after it,
	 * and no second live process (the old boot sends nothing more) */
	assert_int_equal(replay_check(t, "a", 11, 1, 300, 1000, &below), REPLAY_OTHER);
	assert_int_equal(replay_check(t, "a", 11, 2, 600, 1000, &below), REPLAY_OTHER);
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

/* Two live processes with one id interleave: the boot followed sends again
 * after the other was first heard. */
static void test_two_boots(void **state)
{
	struct replay_table *t = calloc(1, sizeof(*t));

	(void)state;
	assert_int_equal(replay_check(t, "a", 10, 1, 0, 1000, NULL), REPLAY_NEW);
	assert_int_equal(replay_check(t, "a", 20, 1, 50, 1000, NULL), REPLAY_OTHER);
	assert_int_equal(replay_check(t, "a", 10, 2, 100, 1000, NULL), REPLAY_FRESH);
	assert_int_equal(replay_check(t, "a", 20, 2, 150, 1000, NULL), REPLAY_TWO_BOOTS);
	assert_int_equal(replay_check(t, "a", 10, 3, 200, 1000, NULL), REPLAY_FRESH);
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
	/* young, we hear one past listening: we came second */
	assert_true(replay_we_are_newer(1, 1, WIRE_ROLE_SLAVE, 9));
	assert_true(replay_we_are_newer(1, 1, WIRE_ROLE_MASTER, 9));
	/* young, both listening: the higher boot */
	assert_true(replay_we_are_newer(1, 9, WIRE_ROLE_LISTENING, 1));
	assert_false(replay_we_are_newer(1, 1, WIRE_ROLE_LISTENING, 9));
	/* past our first timeout we never go, whatever we hear (a recorded
	 * packet of our own earlier run must not make a master exit) */
	assert_false(replay_we_are_newer(0, 9, WIRE_ROLE_LISTENING, 1));
	assert_false(replay_we_are_newer(0, 9, WIRE_ROLE_MASTER, 1));
	assert_false(replay_we_are_newer(0, 1, WIRE_ROLE_CANDIDATE, 9));
	/* a young copy and an old node: exactly one goes, the copy */
	for (int b = 0; b <= 1; b++) {
		assert_true(replay_we_are_newer(1, b ? 5 : 7, WIRE_ROLE_SLAVE, 6));
		assert_false(replay_we_are_newer(0, 6, WIRE_ROLE_LISTENING, b ? 5 : 7));
	}
}

static void test_next_boot(void **state)
{
	uint64_t prev = 0, b;

	assert_int_equal(replay_next_boot(1000, 7, 0), 1000ull << 16 | 7);
	/* the clock an hour behind the previous run: still above it, with our
	 * own random bits (two nodes from one copied state directory differ) */
	b = replay_next_boot(1000, 7, (1000ull + 3600000) << 16);
	assert_int_equal(b, ((1000ull + 3600001) << 16) | 7);
	assert_true(replay_next_boot(1000, 8, (1000ull + 3600000) << 16) != b);
	/* any clock, always up */
	for (int i = 0; i < 100; i++) {
		b = replay_next_boot((uint64_t)(i % 7) * 1000, (uint16_t)(i * 31), prev);
		assert_true(b > prev);
		prev = b;
	}
}

/*
 * two processes started from one copied state
 * directory (a cloned VM, an image with state_dir in it) while the clock
 * is behind the boot kept there get the same boot id whatever their
 * random bits: filter.c then takes the other's packets for its own
 * (FILTER_OWN) and neither detects the duplicate.  Fails on 79df32e.
 */
static void test_next_boot_behind_keeps_random(void **state)
{
	uint64_t kept = (1000ull + 3600000) << 16 | 0x1234;

	assert_int_not_equal(replay_next_boot(1000, 7, kept), replay_next_boot(1000, 0xbeef, kept));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_two_boots), cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_newer),
		cmocka_unit_test(test_next_boot),
		cmocka_unit_test(test_next_boot_behind_keeps_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
