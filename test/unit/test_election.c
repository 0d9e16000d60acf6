/* Unit tests of the election logic in a simulated cluster: N elections on
 * one clock, a bus that delivers each packet 1 ms later to every node that
 * is up and linked, heartbeats every delay, ticks every tick_ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "election.h"

#define N 5
#define QMAX 4096

struct sim {
	int n;
	uint64_t now;
	struct election e[N];
	int up[N];         /* process running */
	int linked[N];     /* link to the others (partition = 0) */
	int group[N];      /* nodes hear each other only within one group */
	int frozen[N];     /* SIGSTOP: no calls, inbound dropped */
	uint64_t next_hb[N], next_tick[N], seq[N];
	struct wire_msg q[QMAX];
	int qfrom[QMAX];
	size_t qn;
	unsigned loss_pct;  /* chance a delivery is lost */
	uint64_t delivered, lost; /* deliveries to a node that hears, and those lost to loss_pct */
	int deaf_resign[N]; /* every RESIGN copy to this node is lost */
	int mute[N][N];     /* every packet from a to b is lost */
	uint64_t rng;
	uint8_t version[N]; /* protocol version in a node's packets (0: as filled) */
	/* invariant tracking */
	uint64_t overlap_ms, longest_overlap;
};

static struct el_params params(int i, uint32_t delay, uint32_t retries)
{
	struct el_params p;
	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "n%d", i + 1);
	p.position = 100;
	p.delay_ms = delay;
	p.retries = retries;
	return p;
}

static void sim_send(struct sim *s, int i, uint8_t type)
{
	struct wire_msg *m;
	if (s->qn == QMAX)
		fail_msg("bus overflow");
	m = &s->q[s->qn];
	memset(m, 0, sizeof(*m));
	election_fill(&s->e[i], type, s->now, m);
	m->boot = (uint64_t)i + 1000;
	m->seq = ++s->seq[i];
	m->version = s->version[i];
	s->qfrom[s->qn++] = i;
}

static void sim_act(struct sim *s, int i, unsigned a);
static void sim_act(struct sim *s, int i, unsigned a)
{
	if (a & EL_SEND_CLAIM)
		sim_send(s, i, WIRE_CLAIM);
	if (a & EL_SEND_HEARTBEAT)
		sim_send(s, i, WIRE_HEARTBEAT);
	if (a & EL_SEND_HANDOVER)
		sim_send(s, i, WIRE_HANDOVER);
	if (a & EL_SEND_VOTE)
		sim_send(s, i, WIRE_VOTE);
	if (a & EL_HANDOVER_REQUESTED) /* no broker to stop here */
		sim_act(s, i, election_resign(&s->e[i], s->e[i].handover_target, s->e[i].timeout, s->now));
	if (a & EL_SEND_RESIGN) {
		sim_send(s, i, WIRE_RESIGN);
		sim_send(s, i, WIRE_RESIGN);
	}
}

/* Node j receives m.  Nodes given a newer version run this same code, so
 * among themselves they speak as equals: only the others see the newer
 * version. */
static void sim_deliver(struct sim *s, int j, const struct wire_msg *m)
{
	struct wire_msg c = *m;

	if (s->version[j] >= c.version)
		c.version = 0;
	sim_act(s, j, election_on_packet(&s->e[j], &c, s->now));
}

static void sim_start(struct sim *s, int i, struct el_params p)
{
	election_init(&s->e[i], &p, s->now);
	s->up[i] = 1;
	s->frozen[i] = 0;
	s->next_hb[i] = s->now;
	s->next_tick[i] = s->now;
}

static void sim_init(struct sim *s, int n, uint32_t delay, uint32_t retries)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->now = 1000;
	for (int i = 0; i < n; i++) {
		s->linked[i] = 1;
		sim_start(s, i, params(i, delay, retries));
	}
}

/* As sim_init, every node with expected_nodes = n (quorum mode). */
static void sim_init_quorum(struct sim *s, int n, uint32_t delay, uint32_t retries)
{
	sim_init(s, n, delay, retries);
	for (int i = 0; i < n; i++) {
		struct el_params p = params(i, delay, retries);
		p.expected_nodes = (unsigned)n;
		sim_start(s, i, p);
	}
}

static unsigned sim_rand(struct sim *s)
{
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(s->rng >> 33);
}

static int hears(const struct sim *s, int a, int b)
{
	return s->up[b] && !s->frozen[b] && s->linked[a] && s->linked[b] && s->group[a] == s->group[b] &&
	       !s->mute[a][b];
}

/* Masters among running, unfrozen nodes of one group. */
static int masters_in(const struct sim *s, int group)
{
	int c = 0;
	for (int i = 0; i < s->n; i++)
		if (s->up[i] && !s->frozen[i] && s->linked[i] && s->group[i] == group && s->e[i].state == EL_MASTER)
			c++;
	return c;
}

static void sim_step(struct sim *s)
{
	struct wire_msg q[QMAX];
	int from[QMAX];
	size_t qn = s->qn;
	int dual = 0;

	memcpy(q, s->q, qn * sizeof(q[0]));
	memcpy(from, s->qfrom, qn * sizeof(from[0]));
	s->qn = 0;
	s->now++;
	for (size_t k = 0; k < qn; k++)
		for (int j = 0; j < s->n; j++) {
			if (j == from[k] || !s->up[from[k]] || !hears(s, from[k], j) ||
			    (q[k].type == WIRE_RESIGN && s->deaf_resign[j]))
				continue;
			if (s->loss_pct != 0 && sim_rand(s) % 100 < s->loss_pct) {
				s->lost++;
				continue;
			}
			s->delivered++;
			sim_deliver(s, j, &q[k]);
		}
	for (int i = 0; i < s->n; i++) {
		if (!s->up[i] || s->frozen[i])
			continue;
		if (s->now >= s->next_tick[i]) {
			sim_act(s, i, election_tick(&s->e[i], s->now));
			s->next_tick[i] = s->now + election_tick_ms(&s->e[i]);
		}
		if (s->now >= s->next_hb[i]) {
			sim_send(s, i, WIRE_HEARTBEAT);
			s->next_hb[i] = s->now + s->e[i].p.delay_ms;
		}
	}
	for (int g = 0; g < 3; g++)
		if (masters_in(s, g) > 1)
			dual = 1;
	if (dual) {
		s->overlap_ms++;
		if (s->overlap_ms > s->longest_overlap)
			s->longest_overlap = s->overlap_ms;
	} else {
		s->overlap_ms = 0;
	}
}

static void sim_run(struct sim *s, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t++)
		sim_step(s);
}

/* Runs until exactly one master among the running nodes; returns it and
 * the time taken in *took. */
static int sim_until_master(struct sim *s, uint64_t limit, uint64_t *took)
{
	uint64_t t0 = s->now;
	while (s->now - t0 < limit) {
		int m = -1, c = 0;
		sim_step(s);
		for (int i = 0; i < s->n; i++)
			if (s->up[i] && !s->frozen[i] && s->e[i].state == EL_MASTER)
				m = i, c++;
		if (c == 1) {
			if (took)
				*took = s->now - t0;
			return m;
		}
	}
	return -1;
}

static int count_masters(const struct sim *s)
{
	int c = 0;
	for (int i = 0; i < s->n; i++)
		c += s->up[i] && !s->frozen[i] && s->e[i].state == EL_MASTER;
	return c;
}

/* n1 is master, and the cluster has run 300 ms since. */
static void settle_n1_master(struct sim *s)
{
	assert_int_equal(sim_until_master(s, 5000, NULL), 0);
	sim_run(s, 300);
}

/* After ms more, one master, and never two at once so far. */
static void assert_one_master_after(struct sim *s, uint64_t ms)
{
	sim_run(s, ms);
	assert_int_equal(count_masters(s), 1);
	assert_int_equal(s->longest_overlap, 0);
}

static void start_together(void **state)
{
	struct sim s;
	uint64_t took;
	int m;

	(void)state;
	sim_init(&s, 3, 100, 3);
	m = sim_until_master(&s, 5000, &took);
	assert_int_equal(m, 0); /* equal positions: the lowest id wins */
	assert_true(took <= 5 * 100);
	assert_one_master_after(&s, 3000);
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_string_equal(s.e[2].master, "n1");
	assert_int_equal(s.e[0].term, 1);
}

static void position_decides(void **state)
{
	struct sim s;
	struct el_params p;

	(void)state;
	sim_init(&s, 3, 100, 3);
	p = params(2, 100, 3);
	p.position = 1;
	sim_start(&s, 2, p);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 2);
}

static void crash_takeover_and_terms_grow(void **state)
{
	struct sim s;
	uint64_t took;
	int m;

	(void)state;
	sim_init(&s, 3, 100, 3);
	m = sim_until_master(&s, 5000, NULL);
	sim_run(&s, 500);
	s.up[m] = 0; /* kill -9 */
	m = sim_until_master(&s, 5000, &took);
	assert_int_equal(m, 1);
	assert_true(took <= (3 + 2) * 100);
	assert_int_equal(s.e[1].term, 2);
	sim_run(&s, 5);
	assert_string_equal(s.e[2].master, "n2");
	assert_one_master_after(&s, 2000);
}

static void resign_is_fast(void **state)
{
	struct sim s;
	uint64_t took;

	(void)state;
	sim_init(&s, 3, 100, 5);
	settle_n1_master(&s);
	sim_act(&s, 0, election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now));
	assert_int_equal(s.e[0].state, EL_SLAVE);
	assert_int_equal(s.e[0].demotions, 1);
	/* named in the resign, n2 promotes when it arrives: no claim window */
	assert_string_equal(s.e[0].handover_target, "n2");
	assert_int_equal(sim_until_master(&s, 5000, &took), 1);
	assert_true(took <= 2);
	assert_non_null(strstr(s.e[1].reason, "master n1 resigned in favour of us"));
	sim_run(&s, 3);
	assert_string_equal(s.e[2].master, "n2");
	/* the resigned node, held down, never claims again */
	assert_one_master_after(&s, 3000);
	assert_int_equal(s.e[1].state, EL_MASTER);
}

static void stall_steps_down(void **state)
{
	struct sim s;
	int m;

	(void)state;
	sim_init(&s, 3, 100, 3);
	m = sim_until_master(&s, 5000, NULL);
	s.frozen[m] = 1;
	assert_int_equal(sim_until_master(&s, 5000, NULL), 1);
	sim_run(&s, 500);
	s.frozen[m] = 0;
	sim_step(&s);
	/* its first call after waking: stepped down before anything else */
	assert_int_equal(s.e[m].state, EL_LISTENING);
	assert_non_null(strstr(s.e[m].reason, "stalled for"));
	assert_one_master_after(&s, 2000);
	assert_int_equal(s.e[1].state, EL_MASTER);
	assert_int_equal(s.e[m].state, EL_SLAVE);
}

static void partition_heal_two_masters_meet(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3, 100, 3);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	s.group[0] = 1; /* n1 alone */
	sim_run(&s, 2000);
	assert_int_equal(masters_in(&s, 0), 1);
	assert_int_equal(masters_in(&s, 1), 1);
	assert_int_equal(s.e[1].state, EL_MASTER);
	s.longest_overlap = s.overlap_ms = 0;
	s.group[0] = 0; /* heal */
	sim_run(&s, 2000);
	assert_int_equal(count_masters(&s), 1);
	assert_int_equal(s.e[1].state, EL_MASTER); /* higher term wins */
	assert_non_null(strstr(s.e[0].reason, "outranks us"));
	assert_true(s.longest_overlap <= 2 * 100);
}

static void quorum(void **state)
{
	struct sim s;

	(void)state;
	sim_init_quorum(&s, 3, 100, 3);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	/* a lone slave never promotes */
	s.group[2] = 1;
	sim_run(&s, 3000);
	assert_int_equal(s.e[2].state, EL_SLAVE);
	assert_int_equal(s.e[2].promotions, 0);
	s.group[2] = 0;
	sim_run(&s, 1000);
	/* the master alone steps down after one timeout; the majority elects */
	s.group[0] = 1;
	sim_run(&s, 3000);
	assert_int_equal(s.e[0].state, EL_SLAVE);
	assert_non_null(strstr(s.e[0].reason, "lost quorum"));
	assert_int_equal(masters_in(&s, 0), 1);
	assert_int_equal(s.longest_overlap, 0);
}

static void no_failback_and_preempt(void **state)
{
	struct sim s;
	struct el_params p;

	(void)state;
	sim_init(&s, 3, 100, 3);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	s.up[0] = 0;
	assert_int_equal(sim_until_master(&s, 5000, NULL), 1);
	sim_start(&s, 0, params(0, 100, 3)); /* back, same rank */
	sim_run(&s, 3000);
	assert_int_equal(s.e[0].state, EL_SLAVE);
	assert_int_equal(s.e[1].state, EL_MASTER);
	/* back again with preempt: an orderly handover */
	p = params(0, 100, 3);
	p.preempt = 1;
	sim_start(&s, 0, p);
	sim_run(&s, 3000);
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_true(s.e[0].term > 2);
	assert_int_equal(count_masters(&s), 1);
	assert_int_equal(s.longest_overlap, 0);
}

static void handover_request(void **state)
{
	struct sim s;
	unsigned a;

	(void)state;
	sim_init(&s, 3, 100, 3);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	sim_run(&s, 500);
	/* n3 asks for itself */
	a = election_request_handover(&s.e[2], "n3", s.now);
	assert_true(a & EL_SEND_HANDOVER);
	sim_act(&s, 2, a);
	sim_run(&s, 1000);
	assert_int_equal(s.e[2].state, EL_MASTER);
	assert_int_equal(count_masters(&s), 1);
	/* refused: unknown target */
	a = election_request_handover(&s.e[0], "n9", s.now);
	assert_int_equal(a & EL_SEND_HANDOVER, 0);
	assert_non_null(strstr(s.e[0].reason, "not a live slave"));
	/* the master itself hands over to the next in order */
	a = election_request_handover(&s.e[2], NULL, s.now);
	assert_true(a & EL_HANDOVER_REQUESTED);
	assert_string_equal(s.e[2].handover_target, "n1");
	sim_act(&s, 2, a);
	sim_run(&s, 1000);
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_int_equal(s.longest_overlap, 0);
}

static void restarted_master_detected(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3, 1000, 5);
	assert_int_equal(sim_until_master(&s, 20000, NULL), 0);
	/* n1 restarts at once (new boot): its listening heartbeat tells the
	 * others it is no longer master, long before the timeout */
	sim_start(&s, 0, params(0, 1000, 5));
	s.seq[0] = 0;
	sim_run(&s, 2000);
	assert_int_equal(s.e[1].state, EL_MASTER);
}

static void many_nodes(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, N, 20, 3);
	assert_true(sim_until_master(&s, 5000, NULL) >= 0);
	for (int round = 0; round < N - 1; round++) {
		int m = -1;
		sim_run(&s, 200);
		for (int i = 0; i < N; i++)
			if (s.up[i] && s.e[i].state == EL_MASTER)
				m = i;
		assert_true(m >= 0);
		s.up[m] = 0;
		assert_true(sim_until_master(&s, 5000, NULL) >= 0);
	}
	assert_int_equal(s.longest_overlap, 0);
}

static void minority_of_five(void **state)
{
	struct sim s;

	(void)state;
	sim_init_quorum(&s, 5, 100, 3);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	/* the master and one slave on one side: a minority of 2 */
	s.group[0] = s.group[1] = 1;
	sim_run(&s, 5000);
	assert_int_equal(masters_in(&s, 1), 0);
	assert_int_equal(s.e[1].promotions, 0);
	assert_int_equal(masters_in(&s, 0), 1);
	s.group[0] = s.group[1] = 0;
	assert_one_master_after(&s, 2000);
}

static void loss_30_percent_no_false_failover(void **state)
{
	struct sim s;

	(void)state;
	/* ten seeds of two simulated minutes each */
	for (uint64_t seed = 1; seed <= 10; seed++) {
		sim_init(&s, 3, 100, 5);
		s.loss_pct = 30;
		s.rng = seed;
		assert_true(sim_until_master(&s, 5000, NULL) >= 0);
		s.delivered = s.lost = 0;
		sim_run(&s, 120000);
		/* the two minutes really ran, at 30% loss: every node's heartbeat
		 * every 100 ms went to both others, and about 30% were lost */
		assert_true(s.delivered + s.lost >= 3 * 2 * 120000 / 100);
		assert_in_range(s.lost * 100 / (s.delivered + s.lost), 27, 33);
		assert_int_equal(s.e[0].promotions + s.e[1].promotions + s.e[2].promotions, 1);
		assert_int_equal(count_masters(&s), 1);
		assert_int_equal(s.longest_overlap, 0);
	}
}

/* The same over 200 runs of two simulated minutes: a slave misses the
 * master's heartbeats, first-hand and relayed, for the whole timeout in
 * about 1 run in 20 (5.2 % over 10 000 runs); the claim that follows is
 * what must not succeed.  Three claim copies, each answered by the master
 * and by the slaves, bring that to 0.24 % (24 in 10 000). */
static void loss_30_percent_claims_fail(void **state)
{
	struct sim s;
	unsigned long long extra = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		sim_init(&s, 3, 100, 5);
		s.loss_pct = 30;
		s.rng = seed * 7919;
		assert_true(sim_until_master(&s, 5000, NULL) >= 0);
		sim_run(&s, 120000);
		extra += s.e[0].promotions + s.e[1].promotions + s.e[2].promotions - 1;
		assert_int_equal(s.longest_overlap, 0);
	}
	assert_true(extra <= 2);
}

/* n2 stops hearing n1, and n3's relays too, until it claims; n3 still hears
 * n1: n3 answers the claim with its heartbeat, which says when it last
 * heard n1, and n2 withdraws, and claims no more while n3's heartbeats say
 * n1 is alive (n2 has forgotten n1 as a peer by then: it cannot follow it,
 * only hold back). */
static void slave_heard_master_withdraws_claim(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	s.mute[0][1] = s.mute[2][1] = 1;
	while (s.e[1].state != EL_CANDIDATE)
		sim_step(&s);
	s.mute[2][1] = 0;
	sim_run(&s, 5000);
	assert_non_null(strstr(s.e[1].reason, "n3 heard master n1"));
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_int_equal(s.e[1].promotions, 0);
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_int_equal(count_masters(&s), 1);
}

/* Slaves relay how long ago they heard the master; a dead master must not
 * stay alive longer through their relays (the takeover is bounded by the
 * timeout after the master's last heartbeat, whatever the phase). */
static void relayed_liveness_does_not_extend_the_timeout(void **state)
{
	(void)state;
	for (uint64_t phase = 0; phase < 1000; phase += 97) {
		struct sim s;
		uint64_t took;
		sim_init(&s, 3, 1000, 5);
		assert_int_equal(sim_until_master(&s, 20000, NULL), 0);
		sim_run(&s, 3000 + phase);
		s.up[0] = 0;
		assert_int_equal(sim_until_master(&s, 20000, &took), 1);
		/* timeout + claim window + a tick either side, never more */
		assert_true(took <= 5000 + 500 + 2 * 50 + 2);
	}
}

/* The named successor missed every copy of the resign: the others wait for
 * it, it learns from the old master's heartbeat and claims as usual. */
static void named_successor_deaf(void **state)
{
	struct sim s;
	uint64_t took;

	(void)state;
	sim_init(&s, 4, 100, 3);
	settle_n1_master(&s);
	s.deaf_resign[1] = 1;
	sim_act(&s, 0, election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now));
	assert_int_equal(sim_until_master(&s, 5000, &took), 1);
	assert_true(took <= 100 + 50 + 10); /* next heartbeat, claim window, ticks */
	assert_one_master_after(&s, 3000);
	assert_int_equal(s.e[1].state, EL_MASTER);
}

/* A slave that missed the resign still follows its old master; the named
 * successor's first heartbeat, with a higher term, moves it over. */
static void other_slave_deaf(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 4, 100, 3);
	settle_n1_master(&s);
	s.deaf_resign[2] = s.deaf_resign[3] = 1;
	sim_act(&s, 0, election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now));
	sim_run(&s, 3);
	assert_int_equal(s.e[1].state, EL_MASTER);
	assert_string_equal(s.e[2].master, "n2");
	assert_string_equal(s.e[3].master, "n2");
	assert_one_master_after(&s, 3000);
	assert_int_equal(s.e[1].promotions, 1);
	assert_int_equal(s.e[2].promotions + s.e[3].promotions, 0);
}

/* With a quorum the named successor claims at once and promotes on the
 * majority's votes, well inside the claim window. */
static void named_successor_with_quorum(void **state)
{
	struct sim s;
	uint64_t took, term;

	(void)state;
	sim_init_quorum(&s, 3, 100, 3);
	settle_n1_master(&s);
	term = s.e[0].term;
	sim_act(&s, 0, election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now));
	assert_int_equal(sim_until_master(&s, 5000, &took), 1);
	assert_true(took < s.e[1].claim_window);
	assert_non_null(strstr(s.e[1].reason, "a majority voted"));
	assert_int_equal(s.e[1].term, term + 1);
	assert_one_master_after(&s, 3000);
}

/* A slave about to stop (NOCLAIM) is never named. */
static void stopping_slave_not_named(void **state)
{
	struct sim s;
	struct wire_msg m;
	unsigned a;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	memset(&m, 0, sizeof(m));
	election_fill(&s.e[1], WIRE_HEARTBEAT, s.now, &m);
	m.boot = 1001;
	m.seq = ++s.seq[1];
	m.flags |= WIRE_F_NOCLAIM;
	election_on_packet(&s.e[0], &m, s.now);
	a = election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now);
	assert_true(a & EL_SEND_RESIGN);
	assert_string_equal(s.e[0].handover_target, "n3");
}

/* A packet from node `from` to node `to`, as from's election would fill it,
 * with the role and term given. */
static void inject(struct sim *s, int from, int to, uint8_t type, uint8_t role, uint64_t term)
{
	struct wire_msg m;
	memset(&m, 0, sizeof(m));
	election_fill(&s->e[from], type, s->now, &m);
	m.role = role;
	m.term = term;
	m.boot = (uint64_t)from + 1000;
	m.seq = ++s->seq[from];
	sim_act(s, to, election_on_packet(&s->e[to], &m, s->now));
}

/* The model's trace: n3 missed the master and claims; n2, named by the
 * resigning master, must not skip the claim window while a claimant is
 * known, or both end up master. */
static void named_successor_waits_for_a_known_claimant(void **state)
{
	struct sim s;
	uint64_t t;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	/* n3 claims the next term; n2, following a live master, ignores it */
	inject(&s, 2, 1, WIRE_CLAIM, EL_CANDIDATE, s.e[2].max_term + 1);
	assert_int_equal(s.e[1].state, EL_SLAVE);
	s.group[2] = 1; /* n3's later packets do not reach n2 for now */
	sim_act(&s, 0, election_resign(&s.e[0], NULL, UINT64_MAX / 4, s.now));
	assert_string_equal(s.e[0].handover_target, "n2");
	sim_run(&s, 3);
	assert_int_not_equal(s.e[1].state, EL_MASTER); /* no fast path */
	/* n3 promoted meanwhile; its heartbeat arrives within n2's window */
	s.group[2] = 0;
	inject(&s, 2, 1, WIRE_HEARTBEAT, EL_MASTER, s.e[2].max_term + 1);
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_string_equal(s.e[1].master, "n3");
	for (t = 0; t < 1000; t++) {
		sim_step(&s);
		assert_int_equal(s.e[1].state == EL_MASTER && s.e[1].promotions > 0 && s.e[2].state == EL_MASTER, 0);
	}
}

/* A promotion carries a term above any heard, even one heard during the
 * claim window from a slave. */
static void promotion_term_above_any_heard(void **state)
{
	struct sim s;
	uint64_t high;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	s.up[0] = 0;
	while (s.e[1].state != EL_CANDIDATE)
		sim_step(&s);
	high = s.e[1].claim_term + 5;
	inject(&s, 2, 1, WIRE_HEARTBEAT, EL_SLAVE, high);
	assert_int_equal(s.e[1].max_term, high);
	assert_int_equal(sim_until_master(&s, 5000, NULL), 1);
	assert_true(s.e[1].term > high);
	assert_one_master_after(&s, 1000);
}

/* With a quorum, two slaves that wait out the same claim must not claim
 * the same term at the same moment, term after term: the rank skew counts
 * from the end of the wait. */
static void split_votes_do_not_repeat(void **state)
{
	struct sim s;
	uint64_t took, term;

	(void)state;
	sim_init_quorum(&s, 3, 100, 3);
	settle_n1_master(&s);
	term = s.e[0].term;
	s.group[0] = 1; /* the master is cut off */
	sim_run(&s, 10);
	s.e[1].pending_claim_until = s.e[2].pending_claim_until = s.now + 400;
	s.up[0] = 0; /* and stays away */
	while (count_masters(&s) > 0 || s.e[1].master[0] || s.e[2].master[0])
		sim_step(&s);
	assert_int_equal(sim_until_master(&s, 3000, &took), 1);
	/* the first claim after the wait won: n3 held back by its rank and
	 * voted for it, instead of both claiming the same term at once */
	assert_int_equal(s.e[1].term, term + 1);
	assert_one_master_after(&s, 1000);
}

/* A node that speaks a newer protocol is heard, followed and counted, and
 * while it is live nobody else claims: n2 becomes master although n1 ranks
 * first.  Once it is gone, the others elect among themselves again. */
static void newer_peer_decides(void **state)
{
	struct sim s;
	uint64_t t;

	(void)state;
	sim_init(&s, 3, 100, 3);
	s.version[1] = WIRE_VERSION + 1;
	for (t = 0; t < 3000; t++) {
		sim_step(&s);
		assert_int_not_equal(s.e[0].state, EL_CANDIDATE);
		assert_int_not_equal(s.e[0].state, EL_MASTER);
		assert_int_not_equal(s.e[2].state, EL_CANDIDATE);
		assert_int_not_equal(s.e[2].state, EL_MASTER);
	}
	assert_int_equal(s.e[1].state, EL_MASTER);
	assert_string_equal(s.e[0].master, "n2");
	assert_string_equal(s.e[2].master, "n2");
	assert_int_equal(election_newer_live(&s.e[0], s.now), 1);
	assert_int_equal(election_peer(&s.e[0], "n2")->version, WIRE_VERSION + 1);
	assert_int_equal(election_newer_live(&s.e[1], s.now), 0);
	assert_int_equal(s.longest_overlap, 0);
	s.up[1] = 0; /* the newer node goes away */
	assert_int_equal(sim_until_master(&s, 5000, NULL), 0);
	assert_int_equal(election_newer_live(&s.e[0], s.now), 0);
	assert_one_master_after(&s, 1000);
}

/* The rolling upgrade's shape: the old master keeps its place while the
 * slaves speak a newer protocol, and hands over to one of them. */
static void newer_slaves_keep_the_old_master(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	s.version[1] = s.version[2] = WIRE_VERSION + 1;
	assert_one_master_after(&s, 2000);
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_int_equal(election_newer_live(&s.e[0], s.now), 2);
	sim_act(&s, 0, election_resign(&s.e[0], NULL, 0, s.now));
	assert_int_equal(sim_until_master(&s, 5000, NULL), 1);
	/* with no hold-down the old node could claim at once, but does not */
	assert_one_master_after(&s, 3000);
	assert_int_equal(s.e[1].state, EL_MASTER);
	assert_int_equal(s.e[0].promotions, 1);
}

/* A newer node that says it will not claim (here: resigned with a long
 * hold-down, as after its broker failed to start) holds nobody back: the
 * older nodes elect among themselves while it stays live. */
static void newer_peer_held_down_does_not_block(void **state)
{
	struct sim s;
	uint64_t t;
	int m;

	(void)state;
	sim_init(&s, 3, 100, 3);
	s.version[1] = WIRE_VERSION + 1;
	for (t = 0; t < 3000 && s.e[1].state != EL_MASTER; t++)
		sim_step(&s);
	assert_int_equal(s.e[1].state, EL_MASTER);
	sim_act(&s, 1, election_resign(&s.e[1], NULL, 600000, s.now));
	m = sim_until_master(&s, 5000, NULL);
	assert_true(m == 0 || m == 2);
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_int_equal(election_newer_live(&s.e[0], s.now), 1);
	assert_one_master_after(&s, 2000);
}

/* A switchover to a node that would not promote beside a newer peer is
 * refused up front, instead of leaving the cluster without a master. */
static void handover_to_an_older_node_refused_beside_a_newer_one(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	s.version[1] = WIRE_VERSION + 1;
	assert_one_master_after(&s, 1000);
	assert_int_equal(election_request_handover(&s.e[0], "n3", s.now) & EL_HANDOVER_REQUESTED, 0);
	assert_non_null(strstr(s.e[0].reason, "older protocol"));
	assert_int_equal(s.e[0].state, EL_MASTER);
	assert_true(election_request_handover(&s.e[0], "n2", s.now) & EL_HANDOVER_REQUESTED);
}

/* A candidate that hears a newer peer withdraws its claim; a named
 * successor does not take a resigning master's place either. */
static void newer_peer_stops_a_claim(void **state)
{
	struct sim s;
	struct wire_msg m;

	(void)state;
	sim_init(&s, 3, 100, 3);
	settle_n1_master(&s);
	s.up[0] = 0;
	s.up[2] = 0;
	while (s.e[1].state != EL_CANDIDATE)
		sim_step(&s);
	memset(&m, 0, sizeof(m));
	election_fill(&s.e[2], WIRE_HEARTBEAT, s.now, &m);
	m.version = WIRE_VERSION + 1;
	m.role = EL_SLAVE;
	m.target[0] = '\0';
	m.master_age = WIRE_AGE_NONE;
	m.boot = 2000;
	m.seq = 1;
	sim_act(&s, 1, election_on_packet(&s.e[1], &m, s.now));
	sim_act(&s, 1, election_tick(&s.e[1], s.now));
	assert_int_equal(s.e[1].state, EL_SLAVE);
	assert_non_null(strstr(s.e[1].reason, "newer protocol"));
	/* a tick later, still no claim while the newer peer is live */
	for (int t = 0; t < 200; t++) {
		sim_step(&s);
		assert_int_equal(s.e[1].state, EL_SLAVE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_together), cmocka_unit_test(position_decides),
		cmocka_unit_test(crash_takeover_and_terms_grow), cmocka_unit_test(resign_is_fast),
		cmocka_unit_test(stall_steps_down), cmocka_unit_test(partition_heal_two_masters_meet),
		cmocka_unit_test(quorum), cmocka_unit_test(no_failback_and_preempt),
		cmocka_unit_test(handover_request), cmocka_unit_test(restarted_master_detected),
		cmocka_unit_test(many_nodes), cmocka_unit_test(minority_of_five),
		cmocka_unit_test(loss_30_percent_no_false_failover), cmocka_unit_test(loss_30_percent_claims_fail),
		cmocka_unit_test(slave_heard_master_withdraws_claim),
		cmocka_unit_test(relayed_liveness_does_not_extend_the_timeout),
		cmocka_unit_test(named_successor_deaf), cmocka_unit_test(other_slave_deaf),
		cmocka_unit_test(named_successor_with_quorum), cmocka_unit_test(stopping_slave_not_named),
		cmocka_unit_test(named_successor_waits_for_a_known_claimant),
		cmocka_unit_test(promotion_term_above_any_heard), cmocka_unit_test(split_votes_do_not_repeat),
		cmocka_unit_test(newer_peer_decides), cmocka_unit_test(newer_slaves_keep_the_old_master),
		cmocka_unit_test(newer_peer_stops_a_claim),
		cmocka_unit_test(newer_peer_held_down_does_not_block),
		cmocka_unit_test(handover_to_an_older_node_refused_beside_a_newer_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
