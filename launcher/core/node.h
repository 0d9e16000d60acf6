/*
 * One node's decisions: mastership fed by a cluster backend, until both
 * are quiet.  Pure, and the only place that joins the two: the daemon and
 * the simulator call it the same way, so the simulator runs what the
 * daemon runs.
 *
 *   event --> mastership_step --> cluster command --> backend
 *                  ^                                     |
 *                  +------------ backend events ---------+
 *
 * What is left for the caller is in struct node_out: the broker wanted up
 * or down, hooks, a term to keep, the status, the end of the loop, and the
 * state changes to log.  Broker reports go in as events (MS_IN_BROKER_*).
 */
#ifndef FL_NODE_H
#define FL_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "mastership.h"

#define NODE_TRANSITIONS_MAX 16

struct node_out {
	int want_broker;       /* the broker's wanted state after the chain (always set) */
	uint64_t broker_term;
	int hook_promote, hook_demote;
	char demote_reason[MS_REASON_MAX];
	uint64_t persist_term; /* 0: nothing to keep */
	enum ms_status status;
	int exit;
	int restart_broker;    /* stop the broker and start it again here */
	/* the caller's request (resign, switchover): refused, and why */
	int refused;
	int refused_by_cluster; /* the backend refused it (why is its reason) */
	char why[MS_REASON_MAX];
	size_t ntransitions;
	struct ms_transition transitions[NODE_TRANSITIONS_MAX];
	uint64_t wake_at;      /* mastership wants MS_IN_TIME by then (0: no need) */
};

/* Feeds ev (NULL: only what the backend has queued) and everything that
 * follows from it.  *out accumulates: clear it before the first call of
 * a callback (node_out_clear), carry it out after the last. */
void node_feed(struct mastership *m, struct cluster *c, const struct ms_event *ev, uint64_t now,
	       struct node_out *out);
void node_out_clear(struct node_out *out);

#endif
