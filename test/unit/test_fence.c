/* Unit tests of the fence's decisions (fence_plan.c): when a broker whose
 * launcher stopped renewing is sent SIGTERM, when SIGKILL, what deadline
 * it is held to, and the one-word form the launcher publishes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fence_plan.h"

static void sigkill_at_the_defaults(void **state)
{
	/* timeout 5 s, delay 1 s: the deadline is 4.5 s after the renewal,
	 * which leaves no 10 s for a SIGTERM */
	(void)state;
	assert_int_equal(fence_term_at(104500, 100000, 10000, 1000), 0);
	/* nor when it is under stop_timeout itself */
	assert_int_equal(fence_term_at(5000, 500, 10000, 1000), 0);
	assert_int_equal(fence_term_at(0, 0, 10000, 1000), 0);
}

static void sigterm_when_the_deadline_leaves_stop_timeout(void **state)
{
	(void)state;
	/* a 60 s lease renewed at 100000: SIGTERM 10 s before its end */
	assert_int_equal(fence_term_at(160000, 100000, 10000, 1000), 150000);
	/* exactly one margin after the renewal: allowed; a ms less: not */
	assert_int_equal(fence_term_at(111000, 100000, 10000, 1000), 101000);
	assert_int_equal(fence_term_at(110999, 100000, 10000, 1000), 0);
}

static void next_action(void **state)
{
	uint64_t wake;
	(void)state;
	/* no deadline: nothing, and no timer */
	assert_int_equal(fence_next(0, 0, 0, 5000, &wake), FENCE_WAIT);
	assert_int_equal(wake, 0);
	/* SIGKILL only: wait for the deadline, then kill */
	assert_int_equal(fence_next(9000, 0, 0, 5000, &wake), FENCE_WAIT);
	assert_int_equal(wake, 9000);
	assert_int_equal(fence_next(9000, 0, 0, 9000, &wake), FENCE_KILL);
	assert_int_equal(fence_next(9000, 0, 0, 20000, &wake), FENCE_KILL);
	/* with a SIGTERM point: that first, once, then the deadline */
	assert_int_equal(fence_next(9000, 7000, 0, 5000, &wake), FENCE_WAIT);
	assert_int_equal(wake, 7000);
	assert_int_equal(fence_next(9000, 7000, 0, 7000, &wake), FENCE_TERM);
	assert_int_equal(fence_next(9000, 7000, 1, 7001, &wake), FENCE_WAIT);
	assert_int_equal(wake, 9000);
	assert_int_equal(fence_next(9000, 7000, 1, 9000, &wake), FENCE_KILL);
	/* woken late past both: SIGKILL, no SIGTERM first */
	assert_int_equal(fence_next(9000, 7000, 0, 9500, &wake), FENCE_KILL);
}

static void a_deadline_holds_until_a_later_one(void **state)
{
	(void)state;
	/* renewed: the new one */
	assert_int_equal(fence_hold(9000, 9800), 9800);
	/* the launcher stopped leading while its broker stops: the last
	 * deadline still holds */
	assert_int_equal(fence_hold(9800, 0), 9800);
	/* a broker just handed over, no lease yet */
	assert_int_equal(fence_hold(0, 0), 0);
	/* a shorter timeout after a reload: the launcher's word */
	assert_int_equal(fence_hold(9800, 9500), 9500);
}

static void one_word(void **state)
{
	uint64_t k, t;
	(void)state;
	fence_unpack(fence_pack(123456789, 0), &k, &t);
	assert_int_equal(k, 123456789);
	assert_int_equal(t, 0);
	fence_unpack(fence_pack(123456789, 123456789 - 3600000), &k, &t);
	assert_int_equal(k, 123456789);
	assert_int_equal(t, 123456789 - 3600000);
	fence_unpack(fence_pack(0, 0), &k, &t);
	assert_int_equal(k, 0);
	assert_int_equal(t, 0);
	/* a SIGTERM point too far ahead of the deadline to fit: SIGKILL only */
	fence_unpack(fence_pack(100000000, 100000000 - ((uint64_t)1 << 25)), &k, &t);
	assert_int_equal(k, 100000000);
	assert_int_equal(t, 0);
	/* a SIGTERM point not before the deadline means nothing */
	fence_unpack(fence_pack(5000, 6000), &k, &t);
	assert_int_equal(t, 0);
}

/* The death notice only before the deadline last published, never
 * without one. */
static void announce_before_the_deadline_only(void **state)
{
	(void)state;
	assert_false(fence_may_announce(0, 1000));
	assert_false(fence_may_announce(0, 0));
	assert_true(fence_may_announce(5000, 4999));
	assert_false(fence_may_announce(5000, 5000));
	assert_false(fence_may_announce(5000, 7000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sigkill_at_the_defaults),
		cmocka_unit_test(sigterm_when_the_deadline_leaves_stop_timeout),
		cmocka_unit_test(next_action),
		cmocka_unit_test(a_deadline_holds_until_a_later_one),
		cmocka_unit_test(one_word),
		cmocka_unit_test(announce_before_the_deadline_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
