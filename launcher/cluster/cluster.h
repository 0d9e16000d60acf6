/*
 * A cluster backend: who leads the cluster, as a source of events.
 *
 * A backend turns what it learns (heartbeats on a LAN, a lease in a
 * coordination service) into mastership events: the leader is X at term T,
 * we lost the lead, we may lead until a deadline, the peers changed, a peer
 * asks us to hand over, our resignation went out.  It carries out the few
 * commands mastership gives it (resign, ask for a handover, may or may not
 * claim).  Resignation, switchover, fencing and pause are mastership's
 * business (mastership.h), not the backend's: a new backend only has to
 * produce events.
 *
 * Backends are pure like mastership (the caller does their I/O), so the
 * simulator runs the daemon's own code.  heartbeat.h is the one of the
 * UDP protocol; the simulator has a fake lease backend.
 */
#ifndef FL_CLUSTER_H
#define FL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "mastership.h"

struct cluster_ops {
	const char *name;
	/* Step down as leader, naming target ("" or NULL: the backend's best
	 * follower), and do not claim for holddown_ms.  MS_IN_RESIGN_SENT
	 * follows once the resignation has gone out in full (at once when
	 * there was nothing to send). */
	void (*resign)(void *impl, const char *target, uint64_t holddown_ms, uint64_t now);
	/* A switchover to target ("" = the best): as leader, MS_IN_HANDOVER_ASKED
	 * follows with the resolved target; as follower, the leader is asked.
	 * 0, or -1 with why when refused. */
	int (*handover)(void *impl, const char *target, uint64_t now, char *why, size_t len);
	/* May this node become leader. */
	void (*set_claimable)(void *impl, int yes);
	/* Live followers that may lead now (eligible, not held down, not
	 * leaving): whom a resignation could name.  NULL: cannot tell. */
	int (*standbys)(void *impl, uint64_t now);
	/* The next event for mastership; 0 when there is none. */
	int (*next_event)(void *impl, struct ms_event *ev);
};

struct cluster {
	const struct cluster_ops *ops;
	void *impl;
};

#endif
