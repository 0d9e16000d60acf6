/*
 * Randomized stress of the election in the simulated cluster (sim.h: the
 * daemon's own decision code, the simulated bus, broker and state
 * directory), issue 16's "what must be true":
 *
 * Faults, at random, per seed: packet loss and jitter (fixed per seed),
 * partitions (a node alone, or one direction muted), loop pauses from 0.5x
 * to 2x the failure timeout, kill -9 and restart with the persisted state,
 * slow, failing and hung state directories, SIGTERM, resigns,
 * switchovers, broker failures; every packet goes through the daemon's
 * filter (boot ids, replays), a restart's wall clock is now and then
 * stepped by an hour either way, and with 3 nodes a fourth process may
 * start with one node's id (duplicate_id()).
 *
 * Invariants, checked every simulated millisecond:
 *  - no two nodes that hear each other are master.  A paused master
 *    counts as master until its fence deadline (its last heartbeat sent +
 *    timeout - delay / 2, election_fence_deadline(): past it a fence that
 *    is not frozen with it has killed its broker).
 *    "Hear each other": linked both ways, and each received a
 *    packet the other sent as master less than timeout - delay ago (what
 *    was lost is not heard: a false failover under loss is the documented
 *    limit, README; nor is one that the receiver's filter dropped as
 *    another run of the sender's id while a second process with that id
 *    ran, the documented limit of duplicate ids: hears_master()).  Two
 *    running masters get one interval to settle it
 *    (more under loss and jitter); with a paused one, none, once they had
 *    that interval linked and running (a partition that heals while one
 *    side is paused leaves them nothing to settle it with);
 *  - no node promotes while a packet that a live master sent as master
 *    less than timeout - delay ago has reached its socket (read or not,
 *    heard as above);
 *  - no term has two masters: every promotion (term, node, incarnation)
 *    is recorded; two nodes in one term, or one node twice in a term
 *    (across a restart too), is a violation; not with the duplicate
 *    process (slot n), which votes as its id apart from the node it
 *    copies, so that one id's vote counts twice in a term.  Checked with a quorum
 *    (expected_nodes): without one, both sides of a partition promote by
 *    design, and may pick the same term.
 * After the faults, all healed: one master, for a timeout, within a few.
 *
 * STRESS_DUP=0 leaves duplicate node ids out.  Seeds are fixed: STRESS_SEEDS (default 200; 20 under AddressSanitizer,
 * which is about ten times slower), STRESS_FIRST (default 1),
 * STRESS_SECONDS of simulated time per seed (default 300), STRESS_DELAY
 * the heartbeat interval of every seed (default 100 ms).  A failing
 * seed is printed with the events that led to it and the command that
 * runs it alone.  By hand: STRESS_SEEDS=10000 ./test_stress.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_DEFAULT_SEEDS 20
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_DEFAULT_SEEDS 20
#endif
#endif
#ifndef STRESS_DEFAULT_SEEDS
#define STRESS_DEFAULT_SEEDS 200
#endif

/* cluster.delay of every seed: STRESS_DELAY (default 100 ms) */
static uint32_t stress_delay = 100;

#define PROM_MAX 4096
#define LOG_N 48

struct promotion {
	uint64_t term, at;
	int node;
	unsigned inc;
};

struct stress {
	struct sim *s;
	uint64_t seed;
	int n, quorum;
	int all;                   /* n, and a spare slot for a duplicate id (3 nodes) */
	int dup;                   /* duplicate ids dealt (STRESS_DUP=0: not) */
	uint32_t delay, retries;
	uint64_t timeout, tolerance;
	int fault[SIM_N];
	uint64_t until[SIM_N];
	unsigned inc[SIM_N];       /* incarnation: restarts */
	int was_master[SIM_N];
	int voted_seen[SIM_N];
	enum el_state prev_state[SIM_N];
	char prev_master[SIM_N][WIRE_ID_MAX + 1];     /* a candidate with a vote, at the last look */
	uint64_t dual_since[SIM_N][SIM_N]; /* i and j master and hearing each other since (0: not) */
	uint64_t together[SIM_N][SIM_N];   /* ms linked with both running, since the link formed */
	struct promotion prom[PROM_MAX];
	size_t nprom;
	char log[LOG_N][160];
	size_t nlog;
	int failed;
	uint64_t promotions, faults;
};

static void note(struct stress *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct stress *x, const char *fmt, ...)
{
	va_list ap;
	char *line = x->log[x->nlog++ % LOG_N];
	int k = snprintf(line, 160, "%8llu ", (unsigned long long)x->s->now);

	va_start(ap, fmt);
	vsnprintf(line + k, (size_t)(160 - k), fmt, ap);
	va_end(ap);
	if (getenv("STRESS_VERBOSE") != NULL)
		printf("%s\n", line);
}

static void fail(struct stress *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct stress *x, const char *fmt, ...)
{
	va_list ap;
	size_t first = x->nlog > LOG_N ? x->nlog - LOG_N : 0;

	if (x->failed)
		return;
	x->failed = 1;
	printf("VIOLATION seed %llu (%d nodes, delay %u, retries %u, quorum %d, loss %u%%, jitter %u ms) at %llu ms: ",
	       (unsigned long long)x->seed, x->n, x->delay, x->retries, x->quorum, x->s->loss_pct, x->s->jitter_ms,
	       (unsigned long long)x->s->now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  the last events:\n");
	for (size_t k = first; k < x->nlog; k++)
		printf("  %s\n", x->log[k % LOG_N]);
	for (int i = 0; i < x->all; i++) {
		const struct election *e = &x->s->nd[i].hb.el;
		printf("  n%d: up %d frozen %d group %d %s term %llu max %llu voted %llu/%s hold %u boot %llu dropped "
		       "old %llu other %llu reason: %s\n",
		       i + 1, x->s->nd[i].up, x->s->nd[i].frozen, x->s->nd[i].group, election_state_name(e->state),
		       (unsigned long long)e->term, (unsigned long long)e->max_term, (unsigned long long)e->voted_term,
		       e->voted_for, e->hold, (unsigned long long)x->s->nd[i].boot, (unsigned long long)x->s->nd[i].drop_old,
		       (unsigned long long)x->s->nd[i].drop_other, e->reason);
	}
	if (stress_delay != 100)
		printf("  again: STRESS_DELAY=%u STRESS_FIRST=%llu STRESS_SEEDS=1 ./test_stress\n", stress_delay,
		       (unsigned long long)x->seed);
	else
		printf("  again: STRESS_FIRST=%llu STRESS_SEEDS=1 ./test_stress\n", (unsigned long long)x->seed);
}

static struct el_params params(const struct stress *x, int i)
{
	struct el_params p = sim_params(i, x->delay, x->retries);

	p.expected_nodes = x->quorum ? (unsigned)x->n : 0;
	return p;
}

/* A second process with node i's id (a copied configuration, its own
 * state directory), in the spare slot: the daemon's rule makes the newer
 * of the two exit; until then neither may claim or vote.  Killed again
 * after a while if it is still there. */
static void duplicate_id(struct stress *x, int i)
{
	struct sim *s = x->s;
	int d = x->n;

	if (x->all == x->n || s->nd[d].up || x->fault[d] != 0 || !x->dup)
		return;
	memset(&s->nd[d].disk, 0, sizeof(s->nd[d].disk));
	sim_start(s, d, params(x, i));
	x->inc[d]++;
	x->was_master[d] = 0;
	x->fault[d] = 'k';
	x->until[d] = s->now + sim_rand(s) % (4 * x->timeout);
	note(x, "a duplicate of n%d started (slot %d)", i + 1, d + 1);
}

static void restart(struct stress *x, int i, const char *why)
{
	/* now and then the wall clock was stepped while it was down (NTP, a
	 * VM snapshot restored): its boot id comes from it */
	if (sim_rand(x->s) % 8 == 0) {
		x->s->nd[i].clock_offset += sim_rand(x->s) % 2 ? 3600000 : -3600000;
		note(x, "n%d's wall clock stepped to %+lld ms", i + 1, (long long)x->s->nd[i].clock_offset);
	}
	sim_start(x->s, i, params(x, i));
	x->inc[i]++;
	x->was_master[i] = 0;
	note(x, "n%d restarted (%s): max_term %llu voted %llu/%s", i + 1, why,
	     (unsigned long long)x->s->nd[i].hb.el.max_term, (unsigned long long)x->s->nd[i].hb.el.voted_term,
	     x->s->nd[i].hb.el.voted_for);
}

/* The end of node i's fault. */
static void heal(struct stress *x, int i)
{
	struct sim *s = x->s;

	switch (x->fault[i]) {
	case 'f':
		s->nd[i].frozen = 0;
		note(x, "n%d thawed (%s, its last election call at %llu)", i + 1,
		     election_state_name(s->nd[i].hb.el.state), (unsigned long long)s->nd[i].hb.el.last_call);
		break;
	case 'p':
		s->nd[i].group = 0;
		note(x, "n%d rejoins", i + 1);
		break;
	case 'm':
		for (int j = 0; j < x->n; j++)
			s->mute[i][j] = s->mute[j][i] = 0;
		note(x, "n%d unmuted", i + 1);
		break;
	case 'c':
	case 'x':
		restart(x, i, x->fault[i] == 'c' ? "after kill -9" : "after it exited");
		break;
	case 'k':
		if (s->nd[i].up) {
			sim_crash(s, i);
			note(x, "the duplicate in slot %d killed", i + 1);
		}
		break;
	case 'd':
		s->nd[i].disk_fail = s->nd[i].disk_hung = 0;
		s->nd[i].disk_ms = 0;
		note(x, "n%d disk fine", i + 1);
		break;
	default:
		break;
	}
	x->fault[i] = 0;
}

static void inject(struct stress *x, int i)
{
	struct sim *s = x->s;
	uint64_t t = x->timeout;

	x->faults++;
	switch (sim_rand(s) % 11) {
	case 0:
	case 1:
		/* a pause of the launcher's loop, 0.5x to 2x the timeout */
		x->fault[i] = 'f';
		s->nd[i].frozen = 1;
		x->until[i] = s->now + t / 2 + sim_rand(s) % (t * 3 / 2 + 1);
		note(x, "n%d paused until %llu (%s)", i + 1, (unsigned long long)x->until[i],
		     election_state_name(s->nd[i].hb.el.state));
		break;
	case 2:
		x->fault[i] = 'c';
		sim_crash(s, i);
		x->until[i] = s->now + sim_rand(s) % (4 * t);
		note(x, "n%d killed (-9) (%s)", i + 1, election_state_name(s->nd[i].hb.el.state));
		break;
	case 3:
		x->fault[i] = 'p';
		s->nd[i].group = 1;
		x->until[i] = s->now + sim_rand(s) % (6 * t);
		note(x, "n%d partitioned off", i + 1);
		break;
	case 4: {
		int j = (int)(sim_rand(s) % (unsigned)x->n);
		if (j == i)
			break;
		x->fault[i] = 'm';
		s->mute[i][j] = 1;
		x->until[i] = s->now + sim_rand(s) % (6 * t);
		note(x, "n%d -> n%d muted", i + 1, j + 1);
		break;
	}
	case 5:
		sim_event(s, i, MS_IN_RESIGN, NULL, NULL);
		note(x, "n%d asked to resign", i + 1);
		break;
	case 6: {
		char target[16];
		snprintf(target, sizeof(target), "n%u", 1 + sim_rand(s) % 5u % (unsigned)x->n);
		if (sim_rand(s) % 2)
			target[0] = '\0';
		sim_event(s, i, MS_IN_SWITCHOVER, target, NULL);
		note(x, "n%d asked to switch over to '%s'", i + 1, target);
		break;
	}
	case 7:
		sim_event(s, i, MS_IN_STOP, NULL, NULL);
		note(x, "n%d SIGTERM", i + 1);
		break;
	case 8:
		fb_fail(&s->nd[i].b);
		note(x, "n%d broker fails", i + 1);
		break;
	case 9:
		x->fault[i] = 'd';
		switch (sim_rand(s) % 3) {
		case 0: s->nd[i].disk_ms = 1 + sim_rand(s) % (2 * x->delay); break;
		case 1: s->nd[i].disk_fail = 1; break;
		default: s->nd[i].disk_hung = 1; break;
		}
		x->until[i] = s->now + sim_rand(s) % (10 * t);
		note(x, "n%d disk %s", i + 1, s->nd[i].disk_fail ? "fails" : s->nd[i].disk_hung ? "hangs" : "slow");
		break;
	default:
		duplicate_id(x, i);
		break;
	}
}

static int linked(const struct sim *s, int a, int b)
{
	return sim_hears(s, a, b) && sim_hears(s, b, a) && s->nd[a].up;
}

/* Counts as master: the election says so, and its fence deadline has not
 * passed (for a live master it never has: it heartbeats every delay).
 * The deadline is the election's (the last heartbeat sent + timeout -
 * delay / 2): past it, a fence that is not frozen with the launcher has
 * killed the broker. */
/* Node i heard node k as master less than win ago: the last packet k
 * sent as master reached i's buffer then, and, if i read it already, i's
 * filter did not drop it as another run of k's id while a second process
 * with that id ran (sim.h, master_deaf_at: the documented limit of
 * duplicate ids; a drop of the filter's own doing still counts as heard) */
static int hears_master(const struct sim *s, int i, int k, uint64_t win)
{
	uint64_t at = s->nd[i].master_heard_at[k];

	return at != 0 && s->now - at < win && s->nd[i].master_deaf_at[k] != at;
}

static int counts_as_master(const struct stress *x, int i)
{
	const struct sim_node *nd = &x->s->nd[i];

	return nd->up && nd->hb.el.state == EL_MASTER && x->s->now < election_fence_deadline(&nd->hb.el);
}

static void check(struct stress *x)
{
	struct sim *s = x->s;
	int m[SIM_N];

	for (int i = 0; i < x->all; i++) {
		const struct election *e = &s->nd[i].hb.el;
		int is = s->nd[i].up && e->state == EL_MASTER;

		m[i] = counts_as_master(x, i);
		if (s->nd[i].up && (e->state != x->prev_state[i] || strcmp(e->master, x->prev_master[i]) != 0) &&
		    e->state != EL_MASTER && x->prev_state[i] != EL_MASTER)
			note(x, "n%d %s, master '%s' (%s)", i + 1, election_state_name(e->state), e->master,
			     e->state != x->prev_state[i] ? e->reason : e->master_reason);
		x->prev_state[i] = e->state;
		memcpy(x->prev_master[i], e->master, sizeof(x->prev_master[i]));
		if (is && !x->was_master[i]) {
			x->promotions++;
			note(x, "n%d promoted in term %llu (%s)", i + 1, (unsigned long long)e->term, e->reason);
			for (size_t k = 0; k < x->nprom; k++) {
				const struct promotion *p = &x->prom[k];
				if (p->term != e->term)
					continue;
				/* the duplicate process (slot n) votes as its id
				 * does, apart from the node it copies: that id's
				 * vote counts twice in a term, and two majorities
				 * can form (the documented limit of duplicate ids) */
				if (p->node != i && x->quorum && p->node != x->n && i != x->n)
					fail(x, "term %llu has two masters: n%d (at %llu) and n%d", (unsigned long long)e->term,
					     p->node + 1, (unsigned long long)p->at, i + 1);
				else if (p->node == i)
					fail(x, "n%d promoted twice in term %llu (at %llu, incarnation %u, and now, %u)", i + 1,
					     (unsigned long long)e->term, (unsigned long long)p->at, p->inc, x->inc[i]);
			}
			/* a packet of a live master had reached it: it promoted
			 * against what its own socket held */
			for (int k = 0; k < x->all; k++)
				if (k != i && counts_as_master(x, k) && linked(s, i, k) &&
				    s->nd[i].master_heard_at[k] < s->now && hears_master(s, i, k, x->timeout - x->delay))
					fail(x, "n%d promoted in term %llu while n%d (term %llu%s), whose packet as master reached it "
						"at %llu, is master", i + 1, (unsigned long long)e->term, k + 1,
					     (unsigned long long)s->nd[k].hb.el.term, s->nd[k].frozen ? ", paused" : "",
					     (unsigned long long)s->nd[i].master_heard_at[k]);
			if (x->nprom < PROM_MAX)
				x->prom[x->nprom++] = (struct promotion){.term = e->term, .at = s->now, .node = i, .inc = x->inc[i]};
		} else if (!is && x->was_master[i]) {
			note(x, "n%d no longer master (%s)", i + 1, s->nd[i].up ? e->reason : "down");
		}
		x->was_master[i] = is;
	}
	for (int i = 0; i < x->all; i++)
		for (int j = i + 1; j < x->all; j++) {
			uint64_t win = x->timeout - x->delay;
			int both_live = !s->nd[i].frozen && !s->nd[j].frozen, link = linked(s, i, j);
			int dual = m[i] && m[j] && link && hears_master(s, i, j, win) && hears_master(s, j, i, win);

			/* time linked with both running: what they had to settle it */
			if (!link)
				x->together[i][j] = 0;
			else if (both_live)
				x->together[i][j]++;
			if (!dual) {
				x->dual_since[i][j] = 0;
				continue;
			}
			if (x->dual_since[i][j] == 0)
				x->dual_since[i][j] = s->now;
			if (x->together[i][j] >= x->tolerance &&
			    (!both_live || s->now - x->dual_since[i][j] >= x->tolerance))
				fail(x, "n%d (term %llu%s) and n%d (term %llu%s) are both master and hear each other since %llu",
				     i + 1, (unsigned long long)s->nd[i].hb.el.term, s->nd[i].frozen ? ", paused" : "", j + 1,
				     (unsigned long long)s->nd[j].hb.el.term, s->nd[j].frozen ? ", paused" : "",
				     (unsigned long long)x->dual_since[i][j]);
		}
}

static int one_seed(struct sim *s, uint64_t seed, uint64_t seconds)
{
	static struct stress x;
	static const unsigned loss[] = {0, 0, 2, 10, 30};
	static const unsigned jitter[] = {0, 0, 3, 20};
	uint64_t end, settled = 0;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.seed = seed;
	x.dup = getenv("STRESS_DUP") == NULL || atoi(getenv("STRESS_DUP")) != 0;
	s->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	x.n = sim_rand(s) % 3 == 0 ? 5 : 3;
	x.quorum = sim_rand(s) % 4 != 0;
	x.delay = stress_delay;
	x.retries = 2 + sim_rand(s) % 4;
	x.timeout = (uint64_t)x.delay * x.retries;
	{
		uint64_t rng = s->rng;
		unsigned l = loss[sim_rand(s) % 5], j = jitter[sim_rand(s) % 4];

		/* through the daemon's filter (boot ids, replays, duplicate ids);
		 * with 3 nodes a spare slot for a duplicate id */
		x.all = x.n < SIM_N ? x.n + 1 : x.n;
		sim_init_filter(s, x.all, x.delay, x.retries, 1);
		if (x.all > x.n)
			sim_crash(s, x.n);
		s->rng = rng;
		s->loss_pct = l;
		s->jitter_ms = j;
	}
	for (int i = 0; i < x.n; i++) {
		sim_start(s, i, params(&x, i));
		s->nd[i].b.start_ms = sim_rand(s) % 300;
		s->nd[i].b.stop_ms = sim_rand(s) % 300;
	}
	x.tolerance = (1 + s->loss_pct / 5) * (uint64_t)x.delay + s->jitter_ms + 5;
	end = s->now + seconds * 1000;
	while (s->now < end && !x.failed) {
		int i = (int)(sim_rand(s) % (unsigned)x.n);

		for (int j = 0; j < x.all; j++) {
			if (j >= x.n) {
				if (x.fault[j] != 0 && (s->now >= x.until[j] || !s->nd[j].up))
					heal(&x, j); /* the duplicate: gone, or killed now */
				continue;
			}
			if (x.fault[j] == 0 && s->nd[j].exited) {
				x.fault[j] = 'x';
				x.until[j] = s->now + sim_rand(s) % (2 * x.timeout);
			}
			if (x.fault[j] != 0 && s->now >= x.until[j])
				heal(&x, j);
		}
		/* about one fault a second */
		if (sim_rand(s) % 1000 == 0 && x.fault[i] == 0 && s->nd[i].up)
			inject(&x, i);
		/* and pauses where they hurt most: a candidate that just got a
		 * vote, a master just promoted (claims and promotions are rare
		 * moments: random faults would seldom hit them) */
		for (int j = 0; j < x.n; j++) {
			const struct election *e = &s->nd[j].hb.el;
			int moment = (e->state == EL_CANDIDATE && e->nvotes > 0 && !x.voted_seen[j]) ||
				     (e->state == EL_MASTER && !x.was_master[j]);

			x.voted_seen[j] = e->state == EL_CANDIDATE && e->nvotes > 0;
			if (moment && x.fault[j] == 0 && s->nd[j].up && sim_rand(s) % 4 == 0) {
				x.fault[j] = 'f';
				s->nd[j].frozen = 1;
				x.until[j] = s->now + x.timeout / 2 + sim_rand(s) % (x.timeout * 3 / 2 + 1);
				note(&x, "n%d paused at a claim or promotion until %llu (%s)", j + 1,
				     (unsigned long long)x.until[j], election_state_name(e->state));
			}
		}
		sim_step(s);
		check(&x);
	}
	if (x.failed)
		return 1;
	/* all healed: one master, soon (a broker failure holds a node down
	 * for 10 timeouts, a hung disk's claims wait for the next write) */
	for (int j = 0; j < x.all; j++)
		if (x.fault[j] != 0)
			heal(&x, j);
	for (uint64_t t = 0; t < 12 * x.timeout + 3000 && !x.failed; t++) {
		for (int j = 0; j < x.n; j++)
			if (s->nd[j].exited)
				restart(&x, j, "after it exited");
		sim_step(s);
		check(&x);
		/* one master for a timeout: settled (under heavy loss a lease
		 * may still end now and then) */
		settled = sim_count_masters(s) == 1 ? settled + 1 : 0;
		if (settled >= x.timeout)
			break;
	}
	if (!x.failed && settled < x.timeout)
		fail(&x, "no master for a whole timeout after all faults healed (%d now)", sim_count_masters(s));
	return x.failed;
}

static uint64_t env(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v ? strtoull(v, NULL, 10) : dflt;
}

int main(void)
{
	uint64_t seeds = env("STRESS_SEEDS", STRESS_DEFAULT_SEEDS), first = env("STRESS_FIRST", 1);
	uint64_t seconds = env("STRESS_SECONDS", 300), delay = env("STRESS_DELAY", 100);
	struct sim *s = sim_new();
	struct timespec t0, t1;
	uint64_t bad = 0;

	if (delay < 10 || delay > 60000) {
		fprintf(stderr, "stress: STRESS_DELAY must be 10..60000 ms\n");
		free(s);
		return 2;
	}
	stress_delay = (uint32_t)delay;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t seed = first; seed < first + seeds; seed++)
		bad += one_seed(s, seed, seconds) != 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("stress: %llu seeds x %llu s simulated, delay %u ms, %llu with a violation, %.1f s\n",
	       (unsigned long long)seeds, (unsigned long long)seconds, stress_delay, (unsigned long long)bad,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(s);
	return bad != 0;
}
