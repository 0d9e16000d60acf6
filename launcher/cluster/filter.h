/*
 * Where a cluster packet is dropped.  Every datagram passes here before the
 * election sees it: decoded, of our cluster, authenticated, not our own,
 * not replayed, not from a node that uses our id.  Each drop is counted by
 * reason (the metrics show them); a peer that speaks a newer protocol is
 * heard, counted and logged once, never dropped (wire.h).
 */
#ifndef FL_FILTER_H
#define FL_FILTER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "election.h"
#include "replay.h"
#include "wire.h"

enum drop_reason {
	DROP_DECODE_BASE = 0, /* + enum wire_error */
	DROP_FOREIGN = WIRE_ERR_COUNT,
	DROP_DUPLICATE_ID,
	DROP_UNAUTHENTICATED, /* no key id, or one we do not hold */
	DROP_BAD_TAG,         /* forged or corrupted */
	DROP_REPLAY,          /* a sequence number already seen */
	DROP_OTHER_BOOT,      /* another boot of a sender whose boot followed is live
			       * (replay.h): heard a timeout after that one's last packet */
	DROP_COUNT,
};

extern const char *const filter_drop_names[DROP_COUNT];

struct filter {
	uint64_t cluster;                 /* wire_cluster_digest of our cluster's name */
	char node[WIRE_ID_MAX + 1];       /* ours */
	uint64_t boot;                    /* ours */
	const struct auth_keys *keys;     /* NULL: cluster.auth = none */
	struct replay_table seen;         /* replay protection (replay.h) */
	uint64_t received, dropped[DROP_COUNT];
	/* accepted packets of a newer protocol version (wire.h), and those of
	 * them whose type we do not know (their common part still counts) */
	uint64_t newer_received, newer_unknown_type;
	/* packets of another id in a second live boot: two processes use it */
	uint64_t two_boots;
	uint64_t two_boots_warned_at;
	int changed;                      /* a peer's protocol version changed: status */
};

enum filter_verdict {
	FILTER_ACCEPT,
	FILTER_OWN,  /* our own packet, looped back: not a drop */
	FILTER_DROP, /* counted */
	/* another live process sends with our node id: *m filled, counted as
	 * a duplicate-node-id drop; the caller decides (replay_we_are_newer) */
	FILTER_DUPLICATE,
};

/* One datagram of n bytes from `from`: ACCEPT with *m filled, or why not.
 * el is read for the sender's last protocol version (logged on a change)
 * and the failure timeout (replay.h). */
enum filter_verdict filter_packet(struct filter *f, const uint8_t *buf, size_t n, const struct sockaddr_in *from,
				  const struct election *el, uint64_t now, struct wire_msg *m);

#endif
