/* node.c: mastership and a cluster backend joined (the heartbeat one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "heartbeat.h"
#include "node.h"

/* A fence deadline must survive a call that steps nothing: the daemon arms
 * its wake timer from every result (actions.c, arm_wake), and its
 * heartbeat timer calls in with nothing queued once per interval. */
static void test_fence_deadline_kept_by_an_empty_feed(void **state)
{
	struct heartbeat hb;
	struct cluster cl;
	struct mastership ms;
	struct el_params p = {.position = 100, .delay_ms = 1000, .retries = 3};
	struct ms_params mp = {.handover_holddown_ms = 3000, .failed_holddown_ms = 60000};
	struct ms_event lead = {.type = MS_IN_LEADER, .term = 3}, fence = {.type = MS_IN_FENCE, .deadline = 5000};
	struct node_out o;

	(void)state;
	snprintf(p.self, sizeof(p.self), "n1");
	snprintf(mp.self, sizeof(mp.self), "n1");
	snprintf(lead.node, sizeof(lead.node), "n1");
	heartbeat_init(&hb, &p, 0);
	cl = heartbeat_cluster(&hb);
	mastership_init(&ms, &mp);
	node_out_clear(&o);
	node_feed(&ms, &cl, &lead, 10, &o);
	assert_int_equal(ms.state, MS_MASTER);
	node_out_clear(&o);
	node_feed(&ms, &cl, &fence, 20, &o);
	assert_int_equal(o.wake_at, 5000);
	node_out_clear(&o);
	node_feed(&ms, &cl, NULL, 30, &o);
	assert_int_equal(o.wake_at, 5000);
	node_out_clear(&o);
	node_feed(&ms, &cl, NULL, 5000, &o); /* nothing stepped: the deadline is checked at MS_IN_TIME */
	node_out_clear(&o);
	{
		struct ms_event t = {.type = MS_IN_TIME};
		node_feed(&ms, &cl, &t, 5000, &o);
	}
	assert_int_equal(ms.state, MS_FOLLOWING);
	assert_int_equal(o.wake_at, 0);
	assert_false(o.want_broker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fence_deadline_kept_by_an_empty_feed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
