/* Unit tests of health_eval: fall and rise, the states and their order,
 * what the status says at each step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "health_eval.h"

static void test_first_pass_is_healthy(void **st)
{
	struct health_eval h;
	char d[200];

	(void)st;
	health_eval_init(&h, 3, 2);
	health_eval_describe(&h, d, sizeof(d));
	assert_string_equal(d, "unknown");
	assert_int_equal(health_eval_result(&h, 1, NULL, 10), 1);
	assert_int_equal(h.state, HEALTH_OK);
	assert_int_equal(h.changed_at, 10);
	/* no change, no report */
	assert_int_equal(health_eval_result(&h, 1, NULL, 20), 0);
	assert_int_equal(h.passes, 2);
}

static void test_fall(void **st)
{
	struct health_eval h;
	char d[200];

	(void)st;
	health_eval_init(&h, 3, 2);
	health_eval_result(&h, 1, NULL, 1);
	assert_int_equal(health_eval_result(&h, 0, "tcp refused", 2), 1);
	assert_int_equal(h.state, HEALTH_FAILING);
	health_eval_describe(&h, d, sizeof(d));
	assert_string_equal(d, "failing 1 of 3 (tcp refused)");
	assert_int_equal(health_eval_result(&h, 0, "tcp timeout", 3), 0);
	health_eval_describe(&h, d, sizeof(d));
	assert_string_equal(d, "failing 2 of 3 (tcp timeout)");
	assert_int_equal(health_eval_result(&h, 0, "tcp timeout", 4), 1);
	assert_int_equal(h.state, HEALTH_BAD);
	health_eval_describe(&h, d, sizeof(d));
	assert_string_equal(d, "unhealthy (tcp timeout)");
	/* further failures change nothing */
	assert_int_equal(health_eval_result(&h, 0, "x", 5), 0);
	assert_int_equal(h.state, HEALTH_BAD);
	assert_int_equal(h.failures, 4);
	assert_int_equal(h.checks, 5);
}

static void test_failing_recovers_with_one_pass(void **st)
{
	struct health_eval h;

	(void)st;
	health_eval_init(&h, 3, 5);
	health_eval_result(&h, 0, "a", 1);
	health_eval_result(&h, 0, "b", 2);
	assert_int_equal(h.state, HEALTH_FAILING);
	/* never declared unhealthy: rise does not apply */
	assert_int_equal(health_eval_result(&h, 1, NULL, 3), 1);
	assert_int_equal(h.state, HEALTH_OK);
	/* the count starts again */
	health_eval_result(&h, 0, "c", 4);
	health_eval_result(&h, 0, "c", 5);
	assert_int_equal(h.state, HEALTH_FAILING);
}

static void test_rise(void **st)
{
	struct health_eval h;
	char d[200];

	(void)st;
	health_eval_init(&h, 1, 3);
	assert_int_equal(health_eval_result(&h, 0, "probe: no answer", 1), 1);
	assert_int_equal(h.state, HEALTH_BAD); /* fall 1: at once */
	assert_int_equal(health_eval_result(&h, 1, NULL, 2), 0);
	health_eval_describe(&h, d, sizeof(d));
	assert_string_equal(d, "unhealthy, 1 of 3 passed (probe: no answer)");
	assert_int_equal(health_eval_result(&h, 1, NULL, 3), 0);
	/* a failure between passes: rise starts again */
	assert_int_equal(health_eval_result(&h, 0, "again", 4), 0);
	assert_int_equal(h.passes, 0);
	assert_int_equal(health_eval_result(&h, 1, NULL, 5), 0);
	assert_int_equal(health_eval_result(&h, 1, NULL, 6), 0);
	assert_int_equal(health_eval_result(&h, 1, NULL, 7), 1);
	assert_int_equal(h.state, HEALTH_OK);
	assert_int_equal(h.changed_at, 7);
}

static void test_reset_and_set(void **st)
{
	struct health_eval h;

	(void)st;
	health_eval_init(&h, 2, 2);
	health_eval_result(&h, 0, "a", 1);
	health_eval_result(&h, 0, "a", 2);
	assert_int_equal(h.state, HEALTH_BAD);
	health_eval_reset(&h, 3);
	assert_int_equal(h.state, HEALTH_UNKNOWN);
	assert_int_equal(h.fails, 0);
	assert_int_equal(h.changed_at, 3);
	/* thresholds change, counts stay */
	health_eval_result(&h, 0, "b", 4);
	health_eval_set(&h, 1, 1);
	assert_int_equal(h.fails, 1);
	assert_int_equal(health_eval_result(&h, 0, "b", 5), 1);
	assert_int_equal(h.state, HEALTH_BAD);
	/* zero thresholds are taken as 1 */
	health_eval_set(&h, 0, 0);
	assert_int_equal(h.fall, 1);
	assert_int_equal(h.rise, 1);
	assert_int_equal(health_eval_result(&h, 1, NULL, 6), 1);
	/* a failure without a reason still says something */
	health_eval_result(&h, 0, "", 7);
	assert_string_equal(h.reason, "check failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_pass_is_healthy),
		cmocka_unit_test(test_fall),
		cmocka_unit_test(test_failing_recovers_with_one_pass),
		cmocka_unit_test(test_rise),
		cmocka_unit_test(test_reset_and_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
