/*
 * Mastership and a cluster backend, joined (see node.h).
 */
#include "node.h"

#include <string.h>

/* Each step can queue a few events and a resignation; a chain longer than
 * this would be a loop between the two, which the states rule out. */
#define NODE_STEPS_MAX 64

void node_out_clear(struct node_out *out)
{
	memset(out, 0, sizeof(*out));
}

static void merge(struct node_out *out, const struct ms_actions *a)
{
	out->hook_promote |= a->hook_promote;
	if (a->hook_demote) {
		out->hook_demote = 1;
		memcpy(out->demote_reason, a->demote_reason, sizeof(out->demote_reason));
	}
	if (a->persist_term != 0)
		out->persist_term = a->persist_term;
	if (a->status > out->status)
		out->status = a->status;
	out->exit |= a->exit;
	out->restart_broker |= a->restart_broker;
	for (size_t i = 0; i < a->ntransitions && out->ntransitions < NODE_TRANSITIONS_MAX; i++)
		out->transitions[out->ntransitions++] = a->transitions[i];
}

static void step(struct mastership *m, struct cluster *c, const struct ms_event *ev, uint64_t now,
		 struct node_out *out, int request)
{
	struct ms_actions a;
	struct ms_event e = *ev;

	/* who could take over, as the backend knows it now */
	e.no_standby = c->ops->standbys != NULL && c->ops->standbys(c->impl, now) == 0;
	mastership_step(m, &e, now, &a);
	merge(out, &a);
	if (request && a.refused) {
		out->refused = 1;
		memcpy(out->why, a.why, sizeof(out->why));
	}
	c->ops->set_claimable(c->impl, a.claimable);
	switch (a.cluster) {
	case MS_CL_NONE:
		break;
	case MS_CL_RESIGN:
		c->ops->resign(c->impl, a.target, a.holddown_ms, now);
		break;
	case MS_CL_HANDOVER:
		if (c->ops->handover(c->impl, a.target, now, out->why, sizeof(out->why)) != 0 && request)
			out->refused = out->refused_by_cluster = 1;
		break;
	}
}

void node_feed(struct mastership *m, struct cluster *c, const struct ms_event *ev, uint64_t now,
	       struct node_out *out)
{
	struct ms_event next;

	if (ev != NULL)
		step(m, c, ev, now, out, 1);
	for (int i = 0; i < NODE_STEPS_MAX && c->ops->next_event(c->impl, &next); i++)
		step(m, c, &next, now, out, 0);
	/* like the broker's wanted state, from the state after the chain: a
	 * call that stepped nothing (a tick with no news) must not drop the
	 * fence timer */
	out->want_broker = mastership_wants_broker(m);
	out->broker_term = m->term;
	out->wake_at = mastership_wake_at(m);
}
