/*
 * Maintenance mode: the cluster-wide pause record, pure.
 *
 * One record holds whether the cluster is paused (failoverctl pause) and
 * who set it; every change takes a version above any seen.  Nodes pass the
 * record around (the heartbeat's payload, wire.h; etcd's key P/pause) and
 * merge what they hear: the higher version wins, so a stale record from a
 * partitioned or restarted node cannot bring an old state back.  Two
 * records of one version (two operators on two nodes at once) are settled
 * the same way everywhere: paused wins, then the greater node id.  Every
 * node therefore converges to one record whatever the order it hears them.
 *
 * Version 0 is "never set": not paused, no author.  Versions above
 * PAUSE_VERSION_MAX are refused wherever they come from: a record at
 * UINT64_MAX could never be overridden (its successor would wrap).
 *
 * The heartbeat's payload, from WIRE_HB_PAUSE (wire.h):
 *   +0  8  version, big-endian
 *   +8  1  paused (0 or 1)
 *   +9 32  by: the node id that set it, NUL-padded ("" with version 0)
 * A payload shorter than WIRE_HB_PAUSE_PAYLOAD comes from a release
 * without maintenance mode: it neither sends nor obeys a pause.
 *
 * The text form (the state file "pause", etcd's value), one line:
 *   version=7 paused=1 by=n2
 * keys in any order, each once, unknown keys ignored (a later release may
 * add some), every known key required.
 *
 * No I/O, no clock, no logging.
 */
#ifndef FL_PAUSE_H
#define FL_PAUSE_H

#include <stddef.h>
#include <stdint.h>

#include "election.h"
#include "wire.h"

#define PAUSE_VERSION_MAX ((UINT64_C(1) << 48) - 1)
#define PAUSE_TEXT_MAX 96

struct pause_rec {
	uint64_t version;
	uint8_t paused;
	char by[WIRE_ID_MAX + 1];
};

/* A record that may be kept and acted on: version 0 with paused 0 and no
 * author, or a version up to PAUSE_VERSION_MAX with paused 0 or 1 and a
 * valid node id. */
int pause_valid(const struct pause_rec *r);

/* 1 when b should replace a (b is valid and wins the merge rule above). */
int pause_newer(const struct pause_rec *a, const struct pause_rec *b);
/* Merges b into *a: 1 when *a changed. */
int pause_merge(struct pause_rec *a, const struct pause_rec *b);

/* The operator's change from node self: version known + 1.  -1 when the
 * known version is at PAUSE_VERSION_MAX already (nothing can follow it). */
int pause_next(const struct pause_rec *known, int paused, const char *self, struct pause_rec *out);

enum pause_decode {
	PAUSE_DEC_OK = 0,
	PAUSE_DEC_ABSENT = 1, /* the payload ends before the field: an older release */
	PAUSE_DEC_BAD = -1,   /* there, but not a valid record: ignored */
};

/* Writes r at payload + WIRE_HB_PAUSE (the payload is at least
 * WIRE_HB_PAUSE_PAYLOAD bytes). */
void pause_encode(const struct pause_rec *r, uint8_t *payload);
enum pause_decode pause_decode(const uint8_t *payload, size_t len, struct pause_rec *r);

/* The text form, with no newline; the length. */
size_t pause_format(const struct pause_rec *r, char *out, size_t len);
/* The text form (a trailing newline allowed): 0, or -1 when it does not
 * parse or the record is not valid. */
int pause_parse(const char *text, size_t len, struct pause_rec *r);

/* Live peers whose last heartbeat had no pause field (an older release,
 * which would still claim and fail over): how many, and their ids,
 * comma-separated, in list (cut to len). */
size_t pause_unaware_peers(const struct election *e, uint64_t now, char *list, size_t len);

#endif
