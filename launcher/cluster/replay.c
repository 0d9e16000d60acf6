/*
 * Replay protection and duplicate-id decisions (see replay.h).
 */
#include "replay.h"

#include <string.h>

static struct replay_entry *find(struct replay_table *t, const char *node)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].node, node) == 0)
			return &t->e[i];
	return NULL;
}

/* A free entry, or the one heard longest ago: a sender long gone, not the
 * table, is forgotten (a forgotten sender's old packets would be heard
 * once more, as from a sender never seen) */
static struct replay_entry *take(struct replay_table *t)
{
	struct replay_entry *old;

	if (t->n < REPLAY_MAX)
		return &t->e[t->n++];
	old = &t->e[0];
	for (size_t i = 1; i < t->n; i++)
		if (t->e[i].last < old->last)
			old = &t->e[i];
	return old;
}

static void follow(struct replay_entry *e, uint64_t boot, uint64_t seq, uint64_t now)
{
	/* the boot given up is remembered: if it goes on, two processes send */
	e->other_boot = e->boot;
	e->other_seq = e->seq;
	e->boot = boot;
	e->seq = seq;
	e->last = now;
}

enum replay_verdict replay_check(struct replay_table *t, const char *node, uint64_t boot, uint64_t seq, uint64_t now,
				 uint64_t timeout, int *first_below)
{
	struct replay_entry *e = find(t, node);
	size_t n;

	if (first_below != NULL)
		*first_below = 0;
	if (e == NULL) {
		e = take(t);
		memset(e, 0, sizeof(*e));
		n = strnlen(node, WIRE_ID_MAX);
		memcpy(e->node, node, n);
		e->node[n] = '\0';
		e->boot = boot;
		e->seq = seq;
		e->last = now;
		return REPLAY_NEW;
	}
	if (boot == e->boot) {
		if (seq <= e->seq)
			return REPLAY_OLD;
		e->seq = seq;
		/* never back: packets are judged by their arrival, whose
		 * stamps a step of the wall clock may reorder */
		if (now > e->last)
			e->last = now;
		return REPLAY_FRESH;
	}
	/* the boot given up, replayed */
	if (boot == e->other_boot && seq <= e->other_seq)
		return REPLAY_OLD;
	if (now >= e->last && now - e->last >= timeout) {
		/* the boot followed is gone: a restart, or the clock stepped
		 * back (or the other of two processes with one id stopped) */
		int below = boot < e->boot;

		follow(e, boot, seq, now);
		if (!below)
			return REPLAY_RESTART;
		if (!e->back_noted && first_below != NULL)
			*first_below = 1;
		e->back_noted = 1;
		return REPLAY_RESTART_BELOW;
	}
	/* another boot while the one followed is live: a replay, or a second
	 * process; one packet is no second process yet, its next fresh one is */
	if (boot == e->other_boot) {
		e->other_seq = seq;
		/* a restart heard within a timeout is one boot after the other;
		 * two live processes interleave: the one followed sent again
		 * after the other was first heard */
		return e->last > e->other_first ? REPLAY_TWO_BOOTS : REPLAY_OTHER;
	}
	e->other_boot = boot;
	e->other_seq = seq;
	e->other_first = now;
	return REPLAY_OTHER;
}

int replay_we_are_newer(int we_young, uint64_t our_boot, uint8_t their_role, uint64_t their_boot)
{
	/* past our first timeout we never go: a recorded packet of our own
	 * earlier run (a lower boot, past listening) would otherwise make a
	 * running node, a master even, exit; we hold instead (replay.h) */
	if (!we_young)
		return 0;
	if (their_role != WIRE_ROLE_LISTENING)
		return 1;
	return our_boot > their_boot;
}

int replay_dup_heard(struct replay_dup *d, int we_young, uint64_t our_boot, uint8_t their_role, uint64_t their_boot,
		     uint64_t now)
{
	if (replay_we_are_newer(we_young, our_boot, their_role, their_boot))
		return 1;
	d->held = 1;
	d->heard_at = now;
	return 0;
}

int replay_dup_tick(struct replay_dup *d, uint64_t now, uint64_t timeout)
{
	if (!d->held || now < d->heard_at || now - d->heard_at < timeout)
		return 0;
	d->held = 0;
	return 1;
}

uint64_t replay_next_boot(uint64_t wall_ms, uint16_t random, uint64_t last_boot)
{
	uint64_t boot = wall_ms << 16 | random;

	/* behind the kept one: the next millisecond after it, with our own
	 * random bits, so two nodes started from one copied state directory
	 * still differ */
	return boot > last_boot ? boot : ((last_boot >> 16) + 1) << 16 | random;
}
