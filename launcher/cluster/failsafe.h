/*
 * etcd's failsafe mode (cluster.etcd_failsafe = yes): a master that cannot
 * reach etcd keeps serving while every other node of the cluster still
 * hears it directly, and those nodes do not campaign while they hear it.
 *
 * Pure: the caller decodes and authenticates the beacons (heartbeat
 * packets of wire.h, sent every cluster.delay beside etcd) and passes
 * them in; it asks here what to send, until when this node may not
 * campaign, and how long the direct hearing lets a master serve.
 *
 * The two sides of the promise, with W the lease's TTL:
 * - a slave does not campaign until W after it last heard a master
 *   first-hand (failsafe_hold_until), and echoes in each beacon the send
 *   time that master stamped on the last beacon it heard from it;
 * - a master takes, for each member of the cluster (the list it wrote to
 *   etcd, P/failsafe, and every node etcd showed), the send time the
 *   member echoes: its own clock's, earlier than the member's receipt, so
 *   no transit or stall of either loop can stretch it.  It may serve until
 *   the earliest of these plus W, minus the margin (failsafe_deadline).  A
 *   member that never echoed this lead's beacons gives no time at all.  W
 *   is the shorter of this node's and the member's own (its beacon says
 *   it): lease_ttl may differ between nodes, and a member holds for its
 *   own.
 * The margin covers what remains: the two clocks' rates, and the fence's
 * own slack.
 */
#ifndef FL_FAILSAFE_H
#define FL_FAILSAFE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define FS_PEERS 32

struct fs_peer {
	char id[WIRE_ID_MAX + 1];
	uint64_t heard; /* its last beacon (ms) */
	uint64_t acked; /* when it last heard us as master first-hand, by our clock (0: never) */
	uint64_t window; /* how long it holds after hearing a master: its own lease's TTL, as its
			  * beacon says (0: not said, no word) */
};

struct failsafe {
	char self[WIRE_ID_MAX + 1];
	uint64_t window_ms;     /* W: the lease's TTL */
	struct fs_peer peers[FS_PEERS];
	size_t npeers;
	/* the master this node last heard first-hand */
	char master[WIRE_ID_MAX + 1];
	uint64_t master_heard, master_term;
	uint64_t master_stamp;  /* its last beacon's send time (its clock), echoed */
	/* this node leads since (acks of an earlier lead do not count) */
	int leading;
	uint64_t led_since;
};

void failsafe_init(struct failsafe *f, const char *self, uint64_t window_ms);
/* The TTL etcd granted (it may differ from the one asked). */
void failsafe_set_window(struct failsafe *f, uint64_t window_ms);
/* A decoded, authenticated, fresh beacon of another node. */
void failsafe_on_packet(struct failsafe *f, const struct wire_msg *m, uint64_t now);
/* Whether this node leads now (its beacons say master). */
void failsafe_set_leading(struct failsafe *f, int leading, uint64_t now);
/* No campaign before this (0: no master heard). */
uint64_t failsafe_hold_until(const struct failsafe *f);
/* Until when the members' direct hearing lets this master serve (the
 * fence's deadline, the margin taken off); 0 when a member never said it
 * hears us, or there are none. */
uint64_t failsafe_deadline(const struct failsafe *f, const char *const *members, size_t n, uint64_t margin_ms);
/* The member that gives the earliest deadline (for the log); "" none. */
const char *failsafe_weakest(const struct failsafe *f, const char *const *members, size_t n);
/* A beacon's payload (WIRE_HB_BEACON_PAYLOAD bytes, wire.h): our hold,
 * our send time, and the master's send time we echo.  The cache port and
 * settings digest are the caller's. */
void failsafe_payload(const struct failsafe *f, uint64_t now, uint8_t *payload);
/* A beacon's election fields: role, term, the master heard and its age. */
void failsafe_fill(const struct failsafe *f, uint64_t term, uint64_t now, struct wire_msg *m);

#endif
