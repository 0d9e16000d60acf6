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
#include "wire.h"

enum drop_reason {
	DROP_DECODE_BASE = 0, /* + enum wire_error */
	DROP_FOREIGN = WIRE_ERR_COUNT,
	DROP_DUPLICATE_ID,
	DROP_UNAUTHENTICATED, /* no key id, or one we do not hold */
	DROP_BAD_TAG,         /* forged or corrupted */
	DROP_REPLAY,          /* a sequence number or boot already seen */
	DROP_COUNT,
};

extern const char *const filter_drop_names[DROP_COUNT];

/* Replay protection: per sender, its newest boot and the highest sequence
 * number seen in it.  Boot ids start with the boot's wall-clock time, so an
 * older boot replayed is recognised as such. */
struct filter_seen {
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq;
};
#define FILTER_SEEN_MAX 512

struct filter {
	uint64_t cluster;                 /* wire_cluster_digest of our cluster's name */
	char node[WIRE_ID_MAX + 1];       /* ours */
	uint64_t boot;                    /* ours */
	const struct auth_keys *keys;     /* NULL: cluster.auth = none */
	struct filter_seen seen[FILTER_SEEN_MAX];
	size_t nseen;
	uint64_t received, dropped[DROP_COUNT];
	/* accepted packets of a newer protocol version (wire.h), and those of
	 * them whose type we do not know (their common part still counts) */
	uint64_t newer_received, newer_unknown_type;
	uint64_t dup_warned_at;
	int changed;                      /* a peer's protocol version changed: status */
};

enum filter_verdict {
	FILTER_ACCEPT,
	FILTER_OWN,  /* our own packet, looped back: not a drop */
	FILTER_DROP, /* counted */
};

/* One datagram of n bytes from `from`: ACCEPT with *m filled, or why not.
 * el is read for the sender's last protocol version (logged on a change). */
enum filter_verdict filter_packet(struct filter *f, const uint8_t *buf, size_t n, const struct sockaddr_in *from,
				  const struct election *el, uint64_t now, struct wire_msg *m);

#endif
