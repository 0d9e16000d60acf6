/* The mastership module driven by a lease backend (the fake one in sim.h):
 * the same node_feed() and mastership the daemon runs, with leadership
 * from a shared key instead of heartbeats.  Key: ttl 1000 ms, renewed
 * every 200 ms, fence 300 ms before expiry; brokers stop in 100 ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

static void lease_cluster(struct sim *s, int n)
{
	sim_init_lease(s, n, 1000, 200, 300);
	for (int i = 0; i < n; i++) {
		s->nd[i].b.start_ms = 50;
		s->nd[i].b.stop_ms = 100;
	}
	sim_run(s, 500);
	assert_string_equal(s->world.key.holder, "n1");
	assert_int_equal(s->nd[0].ms.state, MS_MASTER);
	assert_true(s->nd[0].b.ready);
	for (int i = 1; i < n; i++) {
		assert_int_equal(s->nd[i].ms.state, MS_FOLLOWING);
		assert_string_equal(s->nd[i].ms.leader, "n1");
		assert_false(s->nd[i].b.alive);
	}
}

static int holder_is(const struct sim *s, const char *id)
{
	return strcmp(s->world.key.holder, id) == 0 && s->now < s->world.key.expiry;
}

/* The holder cannot reach the key any more: it stops renewing.  Its
 * mastership demotes by the fence deadline, with nothing else happening
 * (the mastership timer), its broker is down before the key expires, and
 * only then does another node take the key. */
static void lease_loss_partitioned(void **state)
{
	struct sim s;
	uint64_t fence, expiry, demoted = 0, down = 0, taken = 0;

	(void)state;
	lease_cluster(&s, 3);
	sim_run(&s, 50); /* between two renewals */
	fence = s.nd[0].ms.fence_until;
	expiry = s.world.key.expiry;
	assert_int_equal(fence, expiry - 300);
	s.nd[0].linked = 0;
	while (s.now < expiry + 1000) {
		sim_step(&s);
		if (!demoted && s.nd[0].ms.state != MS_MASTER)
			demoted = s.now;
		if (!down && !s.nd[0].b.alive)
			down = s.now;
		if (!taken && s.world.key.holder[0] && !holder_is(&s, "n1"))
			taken = s.now;
	}
	assert_true(demoted != 0 && demoted <= fence);
	/* and, its broker down, gave the lead up (the backend had not) */
	assert_int_equal(s.nd[0].resigns, 1);
	assert_int_equal(s.nd[0].resigned_with_broker, 0);
	assert_true(down != 0 && down < expiry);
	assert_true(taken >= expiry && taken > down);
	assert_string_equal(s.world.key.holder, "n2");
	assert_int_equal(s.world.key.term, 2);
	assert_int_equal(s.nd[1].ms.state, MS_MASTER);
	assert_int_equal(s.lease_violation_ms, 0);
	assert_int_equal(s.longest_broker_overlap, 0);
	/* cut off, n1 learns nothing more and never leads again */
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_false(s.nd[0].b.alive);
	assert_int_equal(s.nd[0].ms.promotions, 1);
	/* back in reach: it follows n2 */
	s.nd[0].linked = 1;
	sim_run(&s, 500);
	assert_string_equal(s.nd[0].ms.leader, "n2");
	assert_int_equal(s.nd[0].ms.term, 2);
	assert_int_equal(s.terms_went_back, 0);
}

/* The holder is cut off past its fence deadline, and back before its key
 * expires: its mastership demoted, but the backend would renew the key
 * again and hold the lead with no broker behind it.  Mastership makes it
 * give the lead up once the broker is down; a master is elected again. */
static void lease_back_after_the_fence(void **state)
{
	struct sim s;
	uint64_t fence, expiry;

	(void)state;
	lease_cluster(&s, 3);
	sim_run(&s, 50);
	fence = s.nd[0].ms.fence_until;
	expiry = s.world.key.expiry;
	s.nd[0].linked = 0;
	while (s.now < fence + 50)
		sim_step(&s);
	/* the launcher handed over at its deadline, and the fence process
	 * killed the broker at that same moment: no stop time to wait for */
	assert_int_not_equal(s.nd[0].ms.state, MS_MASTER);
	assert_false(s.nd[0].b.alive);
	assert_int_equal(s.nd[0].fence_kills, 1);
	s.nd[0].linked = 1;
	while (s.now < expiry + 2000)
		sim_step(&s);
	assert_int_equal(sim_count_masters(&s), 1);
	assert_int_equal(sim_live_brokers(&s), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.nd[i].ms.state, holder_is(&s, s.world.member[i]) ? MS_MASTER : MS_FOLLOWING);
	assert_int_equal(s.world.key.term, 2);
	assert_int_equal(s.lease_violation_ms, 0);
	assert_int_equal(s.longest_broker_overlap, 0);
}

/* The whole holder node freezes (a VM pause: its JVM serves nobody) past
 * the key's expiry.  Waking, its overdue mastership timer (the fence) runs
 * before its renew timer, and a broker killed on the spot never serves
 * beside the new holder's. */
static void lease_loss_frozen(void **state)
{
	struct sim s;
	const char *w, *l;

	(void)state;
	lease_cluster(&s, 3);
	s.freeze_whole_node = 1;
	s.nd[0].b.stop_ms = 0;
	s.nd[0].frozen = 1;
	sim_run(&s, 2000);
	assert_true(holder_is(&s, "n2"));
	assert_true(s.nd[1].b.alive);
	s.nd[0].frozen = 0;
	sim_step(&s);
	w = strchr(s.nd[0].trace, 'W');
	l = strchr(s.nd[0].trace, 'L');
	assert_non_null(w);
	assert_non_null(l);
	assert_true(w < l);
	assert_int_equal(s.nd[0].trace_want[l - s.nd[0].trace], '0'); /* wanted down before the renew timer ran */
	assert_false(s.nd[0].b.alive);
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_string_equal(s.nd[0].ms.leader, "n2");
	sim_run(&s, 1000);
	assert_int_equal(s.longest_broker_overlap, 0);
	assert_int_equal(s.lease_violation_ms, 0);
	assert_int_equal(s.terms_went_back, 0);
}

/* A switchover to a named node, asked at a follower: the holder stops its
 * broker, then deletes the key naming n3; n3 is told it leads only after
 * the old broker is down, and n2 never takes the key meanwhile.  Then the
 * new holder hands over to the best other member ("": n1). */
static void lease_handover(void **state)
{
	struct sim s;
	struct node_out out;
	uint64_t down = 0, leads = 0, term;

	(void)state;
	lease_cluster(&s, 3);
	term = s.world.key.term;
	sim_event(&s, 1, MS_IN_SWITCHOVER, "n3", &out);
	assert_false(out.refused);
	for (int t = 0; t < 2000; t++) {
		sim_step(&s);
		if (!down && !s.nd[0].b.alive)
			down = s.now;
		if (!leads && s.nd[2].ms.state == MS_MASTER)
			leads = s.now;
		assert_int_not_equal(s.nd[1].ms.state, MS_MASTER);
	}
	assert_true(down != 0 && leads != 0);
	assert_true(down <= leads);
	assert_true(holder_is(&s, "n3"));
	assert_int_equal(s.world.key.term, term + 1);
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_true(s.nd[2].b.ready);
	assert_int_equal(s.lease_violation_ms, 0);
	assert_int_equal(s.longest_broker_overlap, 0);
	/* refused: no such member, or the holder itself */
	sim_event(&s, 2, MS_IN_SWITCHOVER, "n9", &out);
	assert_true(out.refused);
	assert_non_null(strstr(out.why, "not a member"));
	sim_event(&s, 0, MS_IN_SWITCHOVER, "n3", &out);
	assert_true(out.refused);
	/* the holder hands over to the best other member */
	sim_event(&s, 2, MS_IN_SWITCHOVER, "", &out);
	assert_false(out.refused);
	assert_int_equal(s.nd[2].ms.state, MS_HANDING_OVER);
	sim_run(&s, 2000);
	assert_true(holder_is(&s, "n1"));
	assert_int_equal(s.nd[0].ms.state, MS_MASTER);
	assert_int_equal(s.world.key.term, term + 2);
	assert_int_equal(s.lease_violation_ms, 0);
	assert_int_equal(s.longest_broker_overlap, 0);
	assert_int_equal(s.terms_went_back, 0);
}

/* Someone outside the cluster overwrites the key with a higher term and
 * another holder: the old holder demotes and stops its broker at its next
 * renewal, everyone follows the outside holder's term, and when its key
 * runs out the next term goes above it: terms only grow. */
static void lease_term_from_outside(void **state)
{
	struct sim s;
	uint64_t key_term;

	(void)state;
	lease_cluster(&s, 3);
	snprintf(s.world.key.holder, sizeof(s.world.key.holder), "x9");
	s.world.key.term = 7;
	s.world.key.expiry = s.now + 1000;
	sim_run(&s, 201); /* one renewal period */
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_true(s.nd[0].b.wanted == 0);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(s.nd[i].ms.leader, "x9");
		assert_int_equal(s.nd[i].ms.term, 7);
	}
	sim_run(&s, 100);
	assert_false(s.nd[0].b.alive);
	key_term = s.world.key.term;
	for (int t = 0; t < 3000; t++) {
		sim_step(&s);
		assert_true(s.world.key.term >= key_term);
		key_term = s.world.key.term;
	}
	assert_int_equal(s.world.key.term, 8);
	assert_true(s.world.key.holder[0] == 'n');
	assert_int_equal(sim_count_masters(&s), 1);
	assert_int_equal(s.terms_went_back, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.nd[i].ms.term, 8);
}

/* Random faults and requests on three lease nodes for a simulated minute
 * per seed: partitions from the key, crashes and restarts, stops,
 * resigns, switchovers, broker failures, pauses; brokers that stop within
 * the fence margin.  Throughout: never the key held by one node while
 * another's broker lives, no resignation while the broker lives, terms
 * only grow.  After the faults: one master, serving, the key's holder. */
static void lease_chaos(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct sim s;
		uint64_t until[3] = {0, 0, 0}, key_term = 0;
		int fault[3] = {0, 0, 0};

		sim_init_lease(&s, 3, 1000, 200, 300);
		s.rng = seed * 7919;
		for (int i = 0; i < 3; i++) {
			s.nd[i].b.start_ms = sim_rand(&s) % 300;
			s.nd[i].b.stop_ms = sim_rand(&s) % 250;
		}
		for (int t = 0; t < 60000; t++) {
			int i = (int)(sim_rand(&s) % 3);

			for (int j = 0; j < 3; j++) {
				if (fault[j] == 0 && s.nd[j].exited) {
					fault[j] = 'x';
					until[j] = s.now + 500;
				}
				if (fault[j] == 0 || s.now < until[j])
					continue;
				if (fault[j] == 'p')
					s.nd[j].linked = 1;
				else if (fault[j] == 'c' || fault[j] == 'x')
					sim_restart_lease(&s, j);
				else if (fault[j] == 'z')
					sim_event(&s, j, MS_IN_RESUME, NULL, NULL);
				fault[j] = 0;
			}
			if (sim_rand(&s) % 200 == 0 && fault[i] == 0 && s.nd[i].up) {
				switch (sim_rand(&s) % 8) {
				case 0:
					fault[i] = 'p';
					s.nd[i].linked = 0;
					until[i] = s.now + sim_rand(&s) % 3000;
					break;
				case 1:
					fault[i] = 'c';
					sim_crash(&s, i);
					until[i] = s.now + sim_rand(&s) % 2000;
					break;
				case 2:
					sim_event(&s, i, MS_IN_STOP, NULL, NULL);
					break;
				case 3:
					sim_event(&s, i, MS_IN_RESIGN, NULL, NULL);
					break;
				case 4: {
					char target[8];
					snprintf(target, sizeof(target), "n%u", 1 + sim_rand(&s) % 3);
					sim_event(&s, i, MS_IN_SWITCHOVER, sim_rand(&s) % 2 ? target : "", NULL);
					break;
				}
				case 5:
					fb_fail(&s.nd[i].b);
					break;
				case 6:
					fault[i] = 'z';
					sim_event(&s, i, MS_IN_PAUSE, NULL, NULL);
					until[i] = s.now + sim_rand(&s) % 3000;
					break;
				default:
					break;
				}
			}
			sim_step(&s);
			assert_true(s.world.key.term >= key_term);
			key_term = s.world.key.term;
			for (int j = 0; j < 3; j++)
				assert_int_equal(s.nd[j].resigned_with_broker, 0);
			assert_int_equal(s.lease_violation_ms, 0);
		}
		for (int j = 0; j < 3; j++) {
			if (fault[j] == 'p')
				s.nd[j].linked = 1;
			else if (fault[j] == 'c' || fault[j] == 'x' || s.nd[j].exited)
				sim_restart_lease(&s, j);
			else if (fault[j] == 'z')
				sim_event(&s, j, MS_IN_RESUME, NULL, NULL);
		}
		for (int t = 0; t < 12000; t++) {
			sim_step(&s);
			for (int j = 0; j < 3; j++)
				if (s.nd[j].exited)
					sim_restart_lease(&s, j);
		}
		assert_int_equal(sim_count_masters(&s), 1);
		assert_int_equal(sim_live_brokers(&s), 1);
		for (int j = 0; j < 3; j++) {
			assert_true(s.nd[j].up);
			assert_int_equal(s.nd[j].ms.state, holder_is(&s, s.world.member[j]) ? MS_MASTER : MS_FOLLOWING);
			assert_int_equal(s.nd[j].b.alive, s.nd[j].ms.state == MS_MASTER);
		}
		assert_int_equal(s.terms_went_back, 0);
		assert_int_equal(s.lease_violation_ms, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lease_loss_partitioned),
		cmocka_unit_test(lease_back_after_the_fence),
		cmocka_unit_test(lease_loss_frozen),
		cmocka_unit_test(lease_handover),
		cmocka_unit_test(lease_term_from_outside),
		cmocka_unit_test(lease_chaos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
