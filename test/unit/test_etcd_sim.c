/* The etcd backend (etcd_elect.c) driving mastership in the simulator,
 * against the fake etcd of sim_etcd.h: the daemon's own decisions, with
 * etcd's leases, revisions and watches.  Leases of 2 s, a fence margin of
 * 300 ms, requests that fail after 500 ms, 200 ms between campaigners;
 * etcd answers in 2 ms; brokers start in 50 ms and stop in 100 ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_etcd.h"

#define TTL_S 2
#define TTL_MS (TTL_S * 1000)
#define MARGIN 300

/* the fake etcd of the test under way: freed by the teardown when an
 * assertion ended the test before done() */
static struct sim_etcd *running;

static void done(struct sim *s)
{
	sim_etcd_free(s);
	running = NULL;
}

static int teardown(void **state)
{
	static struct sim husk;

	(void)state;
	husk.etcd = running;
	sim_etcd_free(&husk);
	running = NULL;
	return 0;
}

static void dump(struct sim *s, const char *what)
{
	char holder[MS_ID_MAX + 1];
	const struct ee_kv *kv = sim_etcd_key(s, "/leader");

	fprintf(stderr, "-- %s at %llu: revision %lld, leader key %s (create %lld, lease %s), violations %llu ms\n", what,
		(unsigned long long)s->now, (long long)s->etcd->revision, sim_etcd_leader(s, holder, sizeof(holder)),
		kv ? (long long)kv->create_rev : 0LL, kv && sim_etcd_lease(s, kv->lease) ? "live" : "gone",
		(unsigned long long)s->etcd_violation_ms);
	for (int i = 0; i < s->n; i++) {
		struct etcd_elect *e = sim_ee(s, i);

		fprintf(stderr,
			"   n%d: up %d linked %d frozen %d | ms %d leader '%s' term %llu fence %llu | ee %s (%s) "
			"leader '%s' term %llu lease %lld | broker alive %d ready %d\n",
			i + 1, s->nd[i].up, s->nd[i].linked, s->nd[i].frozen, s->nd[i].ms.state, s->nd[i].ms.leader,
			(unsigned long long)s->nd[i].ms.term, (unsigned long long)s->nd[i].ms.fence_until,
			etcd_elect_state_name(e->state), e->reason, e->leader, (unsigned long long)e->term,
			(long long)e->lease, s->nd[i].b.alive, s->nd[i].b.ready);
	}
}

static int the_master(const struct sim *s)
{
	int m = -1, c = 0;

	for (int i = 0; i < s->n; i++)
		if (s->nd[i].up && !s->nd[i].frozen && s->nd[i].ms.state == MS_MASTER)
			m = i, c++;
	return c == 1 ? m : -1;
}

/* The leader key's term: base + create_revision */
static uint64_t key_term(const struct sim *s)
{
	const struct ee_kv *kv = sim_etcd_key(s, "/leader");
	const char *b;

	if (kv == NULL)
		return 0;
	b = strstr(kv->value, "\"base\":");
	return (uint64_t)(kv->create_rev + (b != NULL ? atoll(b + 7) : 0));
}

static int holds_key(struct sim *s, int i)
{
	char holder[MS_ID_MAX + 1], id[16];
	const struct ee_kv *kv = sim_etcd_key(s, "/leader");

	snprintf(id, sizeof(id), "n%d", i + 1);
	return kv != NULL && sim_etcd_lease(s, kv->lease) != NULL &&
	       strcmp(sim_etcd_leader(s, holder, sizeof(holder)), id) == 0;
}

static void cluster(struct sim *s, int n)
{
	int m;

	sim_init_etcd(s, n, TTL_S, MARGIN, 500, 200);
	running = s->etcd;
	for (int i = 0; i < n; i++) {
		s->nd[i].b.start_ms = 50;
		s->nd[i].b.stop_ms = 100;
	}
	sim_run(s, 2000);
	m = the_master(s);
	if (m != 0)
		dump(s, "no single master n1 after 2 s");
	assert_int_equal(m, 0);
	assert_true(holds_key(s, 0));
	assert_true(s->nd[0].b.ready);
}

static void no_violation(struct sim *s)
{
	if (s->etcd_violation_ms != 0 || s->longest_broker_overlap != 0 || s->terms_went_back)
		dump(s, "violation");
	assert_int_equal(s->etcd_violation_ms, 0);
	assert_int_equal(s->longest_broker_overlap, 0);
	assert_int_equal(s->terms_went_back, 0);
}

/* Three nodes elect the one that ranks first; every node has its term,
 * which is the leader key's base + create_revision. */
static void etcd_elects_one(void **state)
{
	struct sim s;
	uint64_t term;

	(void)state;
	cluster(&s, 3);
	term = key_term(&s);
	assert_true(term > 0);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(s.nd[i].ms.leader, "n1");
		assert_int_equal(s.nd[i].ms.term, term);
		assert_int_equal(s.nd[i].b.alive, i == 0);
		assert_non_null(sim_etcd_key(&s, i == 0 ? "/nodes/n1" : i == 1 ? "/nodes/n2" : "/nodes/n3"));
	}
	sim_run(&s, 10000); /* keep-alives hold it */
	assert_int_equal(the_master(&s), 0);
	assert_int_equal(key_term(&s), term);
	assert_int_equal(s.etcd->expired_leases, 0);
	no_violation(&s);
	done(&s);
}

/* The master's machine dies: its lease runs out, then the next in rank
 * leads at a higher term. */
static void etcd_master_crash(void **state)
{
	struct sim s;
	uint64_t term, expiry, took;
	const struct ee_kv *kv;
	int m;

	(void)state;
	cluster(&s, 3);
	term = key_term(&s);
	kv = sim_etcd_key(&s, "/leader");
	expiry = sim_etcd_lease(&s, kv->lease)->expiry;
	sim_crash(&s, 0);
	m = sim_until_master(&s, 3 * TTL_MS, &took);
	if (m < 0)
		dump(&s, "no master after the crash");
	assert_int_equal(m, 1);
	assert_true(s.now >= expiry);
	assert_true(s.now < expiry + 1000);
	assert_true(key_term(&s) > term);
	assert_int_equal(s.nd[1].ms.term, key_term(&s));
	sim_run(&s, 500);
	assert_string_equal(s.nd[2].ms.leader, "n2");
	assert_int_equal(s.nd[2].ms.term, key_term(&s));
	no_violation(&s);
	done(&s);
}

/* An operator's resign: the broker stops, the key goes, the next node
 * leads in far less than a lease's time; a switchover asked at a
 * follower names the node that takes over. */
static void etcd_resign_and_switchover(void **state)
{
	struct sim s;
	struct node_out out;
	uint64_t t0, term;
	int m;

	(void)state;
	cluster(&s, 3);
	term = key_term(&s);
	t0 = s.now;
	sim_event(&s, 0, MS_IN_RESIGN, NULL, &out);
	assert_false(out.refused);
	m = -1;
	while (s.now - t0 < TTL_MS && (m = the_master(&s)) <= 0)
		sim_step(&s);
	if (m <= 0)
		dump(&s, "no new master after the resign");
	assert_true(m > 0);
	assert_true(s.now - t0 < TTL_MS / 2);
	assert_true(key_term(&s) > term);
	sim_run(&s, 1000);
	no_violation(&s);
	/* asked at a follower: n3 if n2 leads, else n2 */
	{
		int f = m == 1 ? 0 : 1, to = m == 1 ? 2 : 1;
		char target[8];

		snprintf(target, sizeof(target), "n%d", to + 1);
		term = key_term(&s);
		t0 = s.now;
		sim_event(&s, f, MS_IN_SWITCHOVER, target, &out);
		if (out.refused)
			fprintf(stderr, "switchover refused: %s\n", out.why);
		assert_false(out.refused);
		while (s.now - t0 < TTL_MS && the_master(&s) != to)
			sim_step(&s);
		if (the_master(&s) != to)
			dump(&s, "the switchover's target does not lead");
		assert_int_equal(the_master(&s), to);
		assert_true(s.now - t0 < TTL_MS / 2);
		assert_true(key_term(&s) > term);
	}
	sim_run(&s, 1000);
	no_violation(&s);
	done(&s);
}

/* The master is cut off from etcd: its broker is down before its lease
 * can end (fence), another node leads only after the lease ended; linked
 * again, it follows. */
static void etcd_master_unlinked(void **state)
{
	struct sim s;
	uint64_t down = 0, taken = 0, gone = 0;
	int m;

	(void)state;
	cluster(&s, 3);
	sim_run(&s, 300); /* between two keep-alives */
	s.nd[0].linked = 0;
	while (s.now < 4000 + 2 * TTL_MS && !taken) {
		sim_step(&s);
		if (!down && !s.nd[0].b.alive)
			down = s.now;
		if (!gone && !holds_key(&s, 0))
			gone = s.now;
		if (!taken && (m = the_master(&s)) > 0)
			taken = s.now;
	}
	if (!taken || !down || down >= gone)
		dump(&s, "unlinked master");
	assert_true(down != 0 && gone != 0 && taken != 0);
	assert_true(down < gone);
	assert_true(taken >= gone);
	assert_int_equal(s.nd[0].resigned_with_broker, 0);
	sim_run(&s, 1000);
	s.nd[0].linked = 1;
	sim_run(&s, 2000);
	m = the_master(&s);
	if (m <= 0 || strcmp(s.nd[0].ms.leader, s.nd[m].ms.leader) != 0)
		dump(&s, "after the link came back");
	assert_true(m > 0);
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_int_equal(s.nd[0].ms.term, key_term(&s));
	no_violation(&s);
	done(&s);
}

/* The whole master node freezes past its lease: another leads; thawed,
 * its fence (the mastership timer) stops the broker before any of etcd's
 * news is read, and it follows. */
static void etcd_master_frozen(void **state)
{
	struct sim s;
	const char *w, *ee;
	int m;

	(void)state;
	cluster(&s, 3);
	s.freeze_whole_node = 1;
	s.nd[0].b.stop_ms = 0;
	s.nd[0].frozen = 1;
	sim_run(&s, 2 * TTL_MS);
	m = the_master(&s);
	assert_true(m > 0);
	assert_true(holds_key(&s, m));
	s.nd[0].frozen = 0;
	sim_step(&s);
	w = strchr(s.nd[0].trace, 'W');
	ee = strchr(s.nd[0].trace, 'E');
	assert_false(s.nd[0].b.alive);
	if (w != NULL && ee != NULL)
		assert_true(w < ee);
	sim_run(&s, 1000);
	if (s.nd[0].ms.state != MS_FOLLOWING || s.nd[0].ms.term != key_term(&s))
		dump(&s, "thawed master");
	assert_int_equal(s.nd[0].ms.state, MS_FOLLOWING);
	assert_int_equal(s.nd[0].ms.term, key_term(&s));
	assert_int_equal(the_master(&s), m);
	no_violation(&s);
	done(&s);
}

/* All of etcd is down longer than a lease: the master stops its broker
 * before its lease could have ended, nobody leads meanwhile; back, one
 * node leads. */
static void etcd_outage(void **state)
{
	struct sim s;
	uint64_t lease_end, down = 0, t0;
	const struct ee_kv *kv;
	int m;

	(void)state;
	cluster(&s, 3);
	sim_run(&s, 300);
	kv = sim_etcd_key(&s, "/leader");
	lease_end = sim_etcd_lease(&s, kv->lease)->expiry;
	sim_etcd_outage(&s, 1);
	t0 = s.now;
	while (s.now < t0 + 3 * TTL_MS) {
		sim_step(&s);
		if (!down && !s.nd[0].b.alive)
			down = s.now;
		for (int i = 1; i < 3; i++) {
			if (s.nd[i].ms.state == MS_MASTER)
				dump(&s, "a master during the outage");
			assert_int_not_equal(s.nd[i].ms.state, MS_MASTER);
		}
	}
	if (!down || down >= lease_end)
		dump(&s, "the outage");
	assert_true(down != 0 && down < lease_end);
	assert_int_equal(sim_count_masters(&s), 0);
	assert_int_equal(sim_live_brokers(&s), 0);
	sim_etcd_outage(&s, 0);
	m = sim_until_master(&s, 3 * TTL_MS, NULL);
	if (m < 0)
		dump(&s, "after the outage");
	assert_true(m >= 0);
	sim_run(&s, 3000);
	assert_int_equal(the_master(&s), m);
	assert_true(holds_key(&s, m));
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.nd[i].ms.term, key_term(&s));
	no_violation(&s);
	done(&s);
}

/* A node whose state file says term 500 joins: when it next leads, the
 * term is above 500 (term_base raised first). */
static void etcd_initial_term(void **state)
{
	struct sim s;
	int m;

	(void)state;
	cluster(&s, 3);
	sim_crash(&s, 1);
	sim_restart_etcd(&s, 1, 500);
	sim_run(&s, 1000);
	sim_crash(&s, 0);
	m = sim_until_master(&s, 3 * TTL_MS, NULL);
	if (m != 1 || key_term(&s) <= 500)
		dump(&s, "after the crash");
	assert_int_equal(m, 1);
	assert_true(key_term(&s) > 500);
	assert_int_equal(s.nd[1].ms.term, key_term(&s));
	sim_run(&s, 1000);
	assert_int_equal(s.nd[2].ms.term, key_term(&s));
	no_violation(&s);
	done(&s);
}

/* Every node is cut off from etcd (not etcd down: its leases run on)
 * longer than a lease: the master fences itself, every lease ends and
 * the leader key with it.  Linked again, each node needs a new lease, and
 * one of them must lead again. */
static void etcd_all_unlinked(void **state)
{
	struct sim s;
	uint64_t down = 0, lease_end;
	const struct ee_kv *kv;
	int m;

	(void)state;
	cluster(&s, 3);
	sim_run(&s, 300);
	kv = sim_etcd_key(&s, "/leader");
	lease_end = sim_etcd_lease(&s, kv->lease)->expiry;
	for (int i = 0; i < 3; i++)
		s.nd[i].linked = 0;
	for (int t = 0; t < 3 * TTL_MS; t++) {
		sim_step(&s);
		if (!down && !s.nd[0].b.alive)
			down = s.now;
	}
	assert_true(down != 0 && down < lease_end);
	assert_null(sim_etcd_key(&s, "/leader"));
	for (int i = 0; i < 3; i++)
		s.nd[i].linked = 1;
	m = sim_until_master(&s, 5 * TTL_MS, NULL);
	if (m < 0)
		dump(&s, "no master 10 s after every node was linked again");
	assert_true(m >= 0);
	assert_true(holds_key(&s, m));
	no_violation(&s);
	done(&s);
}

/* The new master's broker fails the moment it starts and is gone at once:
 * it resigns within etcd's latency of winning, before the watch has shown
 * its own leader key.  That stale event must not make it lead again (a
 * broker without a key). */
static void resign_at_once(uint64_t lag)
{
	struct sim s;

	cluster(&s, 3);
	s.etcd->watch_lag_ms = lag;
	s.nd[1].b.stop_ms = 0;
	fb_fail(&s.nd[1].b); /* reported when its broker next lives */
	sim_crash(&s, 0);
	for (int t = 0; t < 3 * TTL_MS; t++) {
		sim_step(&s);
		if (s.etcd_violation_ms != 0) {
			dump(&s, "a broker without the leader key");
			break;
		}
	}
	assert_int_equal(s.etcd_violation_ms, 0);
	assert_int_equal(s.nd[1].resigned_with_broker, 0);
	sim_run(&s, 3 * TTL_MS);
	assert_true(the_master(&s) >= 0);
	no_violation(&s);
	done(&s);
}

static void etcd_resign_at_once(void **state)
{
	(void)state;
	resign_at_once(0);
}

/* The same with a watch that lags 50 ms behind the replies */
static void etcd_resign_at_once_lagging(void **state)
{
	(void)state;
	resign_at_once(50);
}

/* Random crashes, cuts from etcd, freezes of the launcher, resigns and
 * switchovers on three nodes, for two simulated minutes: never a broker
 * alive without the leader key, never two, terms only grow.  Healed, one
 * master serves. */
static void etcd_chaos(void **state)
{
	uint64_t seeds = getenv("ETCD_SIM_SEEDS") ? strtoull(getenv("ETCD_SIM_SEEDS"), NULL, 10) : 3;

	(void)state;
	uint64_t first = getenv("ETCD_SIM_SEED") ? strtoull(getenv("ETCD_SIM_SEED"), NULL, 10) : 1;

	if (getenv("ETCD_SIM_SEED"))
		seeds = first;
	for (uint64_t seed = first; seed <= seeds; seed++) {
		struct sim s;
		uint64_t until[3] = {0, 0, 0}, kt = 0;
		int fault[3] = {0, 0, 0};

		sim_init_etcd(&s, 3, TTL_S, MARGIN, 500, 200);
		running = s.etcd;
		s.rng = seed * 104729;
		for (int i = 0; i < 3; i++) {
			s.nd[i].b.start_ms = sim_rand(&s) % 300;
			s.nd[i].b.stop_ms = sim_rand(&s) % 250;
		}
		for (int t = 0; t < 120000; t++) {
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
					sim_restart_etcd(&s, j, s.nd[j].max_term);
				else if (fault[j] == 'f')
					s.nd[j].frozen = 0;
				fault[j] = 0;
			}
			if (sim_rand(&s) % 300 == 0 && fault[i] == 0 && s.nd[i].up) {
				switch (sim_rand(&s) % 6) {
				case 0:
					fault[i] = 'p';
					s.nd[i].linked = 0;
					until[i] = s.now + sim_rand(&s) % 5000;
					break;
				case 1:
					fault[i] = 'c';
					sim_crash(&s, i);
					until[i] = s.now + sim_rand(&s) % 4000;
					break;
				case 2:
					fault[i] = 'f';
					s.nd[i].frozen = 1;
					until[i] = s.now + sim_rand(&s) % 4000;
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
				default:
					fb_fail(&s.nd[i].b);
					break;
				}
			}
			sim_step(&s);
			if (key_term(&s) != 0) {
				if (key_term(&s) < kt)
					dump(&s, "the key's term went back");
				assert_true(key_term(&s) >= kt);
				kt = key_term(&s);
			}
			if (s.etcd_violation_ms != 0 || s.longest_broker_overlap != 0) {
				fprintf(stderr, "seed %llu\n", (unsigned long long)seed);
				no_violation(&s);
			}
			for (int j = 0; j < 3; j++)
				assert_int_equal(s.nd[j].resigned_with_broker, 0);
		}
		for (int j = 0; j < 3; j++) {
			s.nd[j].linked = 1;
			s.nd[j].frozen = 0;
			if (!s.nd[j].up)
				sim_restart_etcd(&s, j, s.nd[j].max_term);
		}
		for (int t = 0; t < 15000; t++) {
			sim_step(&s);
			for (int j = 0; j < 3; j++)
				if (s.nd[j].exited)
					sim_restart_etcd(&s, j, s.nd[j].max_term);
		}
		if (the_master(&s) < 0 || sim_live_brokers(&s) != 1) {
			fprintf(stderr, "seed %llu\n", (unsigned long long)seed);
			dump(&s, "healed");
		}
		assert_true(the_master(&s) >= 0);
		assert_int_equal(sim_live_brokers(&s), 1);
		assert_true(holds_key(&s, the_master(&s)));
		for (int j = 0; j < 3; j++)
			assert_int_equal(s.nd[j].ms.term, key_term(&s));
		no_violation(&s);
		done(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(etcd_elects_one, teardown),
		cmocka_unit_test_teardown(etcd_master_crash, teardown),
		cmocka_unit_test_teardown(etcd_resign_and_switchover, teardown),
		cmocka_unit_test_teardown(etcd_master_unlinked, teardown),
		cmocka_unit_test_teardown(etcd_master_frozen, teardown),
		cmocka_unit_test_teardown(etcd_outage, teardown),
		cmocka_unit_test_teardown(etcd_initial_term, teardown),
		cmocka_unit_test_teardown(etcd_all_unlinked, teardown),
		cmocka_unit_test_teardown(etcd_resign_at_once, teardown),
		cmocka_unit_test_teardown(etcd_resign_at_once_lagging, teardown),
		cmocka_unit_test_teardown(etcd_chaos, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
