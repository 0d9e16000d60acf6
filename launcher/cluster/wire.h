/*
 * The cluster packet codec.  Pure: bytes in, struct out, and back.
 *
 * Every packet, big-endian, explicit offsets:
 *
 *   off  size  field
 *     0     4  magic "FLOV"
 *     4     1  version (1)
 *     5     1  type (enum wire_type)
 *     6     2  length of the whole packet, trailer included
 *     8     8  cluster digest (FNV-1a 64 of the cluster name)
 *    16    32  node id, NUL-padded (1..32 printable bytes)
 *    48     8  boot id (new each start)
 *    56     8  sequence number (per boot, strictly increasing)
 *    64     8  term
 *    72     1  role (enum wire_role)
 *    73     1  flags (WIRE_F_*)
 *    74     2  position (election order, lower first)
 *    76     8  cache digest
 *    84    32  target node id, NUL-padded (master seen, or resign/handover target)
 *   116     4  master age: ms since the sender last heard the master it names
 *              in target (0xffffffff: none)
 *   120     2  url length U (0..WIRE_URL_MAX)
 *   122     U  broker URL this node advertises
 * 122+U     2  payload length P
 * 124+U     P  payload (type-specific)
 * 124+U+P   E  extension (version 2 and later; E = 0 in version 1)
 * 124+U+P+E 1  key id (0: unauthenticated)
 * 125+U+P+E 1  reserved, 0
 * 126+U+P+E 32 authentication tag (HMAC-SHA256 over everything before it)
 *
 * Versions.  This node sends version 1 (WIRE_VERSION), which every release
 * since the first reads.  A packet of a later version must keep, so that
 * an older node still hears it:
 *  - the layout above from offset 0 through the payload, with the same
 *    meaning for every field (magic, version, type, length, cluster, node,
 *    boot, seq, term, role, flags, position, cache digest, target, master
 *    age, URL, payload length and payload), and the roles as they are;
 *  - the trailer: key id, reserved byte and tag, always the last 34 bytes,
 *    the tag over everything before it;
 *  - the type numbers above for what they mean now (a heartbeat stays 1);
 *  - the limit: no packet is longer than WIRE_MAX_LEN.
 * What it adds goes in the extension, between the payload and the trailer;
 * its length is what the length field leaves over (E = length - 158 - U -
 * P).  New flag bits and new types may be defined too.  An older decoder
 * reads the common part, skips the extension, ignores flags it does not
 * know, accepts a type it does not know (the caller acts only on the types
 * it knows), and keeps the sender's version in wire_msg.version: the
 * daemon counts and reports such peers, and the election never claims
 * while one is live (the newer node decides; see election.h).  A version
 * below 1 (0) is an error.
 *
 * The heartbeat's payload (every version reads what it knows of it and
 * ignores the rest, so it grows at its end):
 *    0     2  the cache's replication port (0: no cache), since the first release
 *    2     8  the digest of the cluster-wide settings (cluster_settings.c;
 *             0 or absent: an older node, not compared)
 *   10     4  the sender's failure timeout, ms (retries x delay); in
 *              etcd_failsafe's beacons its campaign hold (the lease's TTL)
 *   14     8  etcd_failsafe's beacons only: the sender's send time (its
 *              monotonic clock, ms)
 *   22     8  etcd_failsafe's beacons only: the send time (as 14) of the
 *              last beacon the sender heard from the master it names in
 *              target, echoed back (0: none); the master counts a member's
 *              hearing of it from its own clock, not from a transit
 *   30     8  the cluster's pause record as the sender knows it (pause.h):
 *              its version (0: never paused)
 *   38     1  paused (0 or 1)
 *   39    32  the node id that set it, NUL-padded ("" with version 0)
 *              (since maintenance mode; bytes 14..29 are then zero in a
 *              heartbeat.  A shorter payload: a release that neither sends
 *              nor obeys a pause.  etcd_failsafe's beacons stop at 30: with
 *              etcd the record is etcd's key)
 *
 * A release can therefore introduce version 2 only after every node runs a
 * release that reads it; releases before this rule (64aed0b and earlier)
 * drop any packet whose version is not 1.
 */
#ifndef FL_WIRE_H
#define FL_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x464C4F56u /* "FLOV" */
#define WIRE_VERSION 1     /* the version we send, and the newest we understand fully */
#define WIRE_VERSION_MIN 1 /* the oldest we decode */
#define WIRE_ID_MAX 32
#define WIRE_URL_MAX 255
#define WIRE_HEADER_LEN 122
#define WIRE_TRAILER_LEN 34
#define WIRE_TAG_LEN 32
#define WIRE_MIN_LEN (WIRE_HEADER_LEN + 2 + WIRE_TRAILER_LEN)
#define WIRE_MAX_LEN 1400 /* one datagram on any Ethernet path */
#define WIRE_PAYLOAD_MAX (WIRE_MAX_LEN - WIRE_MIN_LEN - WIRE_URL_MAX)
#define WIRE_HB_CACHE_PORT 0 /* offsets in a heartbeat's payload (above) */
#define WIRE_HB_SETTINGS 2
#define WIRE_HB_TIMEOUT 10
#define WIRE_HB_PAYLOAD 14
#define WIRE_HB_STAMP 14   /* etcd_failsafe's beacons (failsafe.h) */
#define WIRE_HB_ECHO 22
#define WIRE_HB_BEACON_PAYLOAD 30
#define WIRE_HB_PAUSE 30   /* the pause record (pause.h) */
#define WIRE_HB_PAUSE_PAYLOAD (WIRE_HB_PAUSE + 8 + 1 + WIRE_ID_MAX)

enum wire_type {
	WIRE_HEARTBEAT = 1, /* periodic: I am alive, my role and term */
	WIRE_CLAIM = 2,     /* I am about to promote with this term */
	WIRE_RESIGN = 3,    /* master stepping down (target: who should follow) */
	WIRE_HANDOVER = 4,  /* to the master: resign in favour of target */
	WIRE_VOTE = 5,      /* for target's claim of this term (quorum mode) */
	WIRE_TYPE_MAX = 5,
};

enum wire_role {
	WIRE_ROLE_LISTENING = 0, /* just started, learning the cluster */
	WIRE_ROLE_SLAVE = 1,
	WIRE_ROLE_CANDIDATE = 2,
	WIRE_ROLE_MASTER = 3,
	WIRE_ROLE_MAX = 3,
};

#define WIRE_F_QUORUM 0x01  /* sender sees a quorum */
#define WIRE_F_SERVING 0x02 /* sender's broker is up (master only) */
#define WIRE_F_NOCLAIM 0x04 /* sender will not claim (resigned, held down, stopping) */
/* Since issue 17's release, still version 1 (new flag bits are what an
 * older node ignores; a version 2 would be dropped by 64aed0b and earlier,
 * above): what a peer's status shows.  The election acts on NOCLAIM only,
 * which an ineligible node sets too, so older nodes skip it as well. */
#define WIRE_F_INELIGIBLE 0x08 /* sender's precheck fails: it may not lead (with NOCLAIM) */
#define WIRE_F_UNHEALTHY 0x10  /* sender's broker fails its health checks (master), or it runs degraded */
/* Sender was master until it heard the master it now names (target) and
 * stepped down for it, within one failure timeout: that master learns that
 * a split has healed (and runs its on_promote hook again).  An older node
 * ignores it. */
#define WIRE_F_YIELDED 0x20
#define WIRE_AGE_NONE 0xffffffffu

struct wire_msg {
	uint8_t version;
	uint8_t type;
	uint64_t cluster;
	char node[WIRE_ID_MAX + 1];
	uint64_t boot;
	uint64_t seq;
	uint64_t term;
	uint8_t role;
	uint8_t flags;
	uint16_t position;
	uint64_t cache_digest;
	char target[WIRE_ID_MAX + 1];
	uint32_t master_age;
	char url[WIRE_URL_MAX + 1];
	const uint8_t *payload; /* points into the decoded buffer */
	uint16_t payload_len;
	uint16_t ext_len;       /* extension bytes skipped (a newer version's) */
	uint8_t key_id;
	uint8_t tag[WIRE_TAG_LEN];
	/* not on the wire: how long it waited in our socket before it was
	 * read, ms (0: not known), set by the receiver (link.c) */
	uint32_t waited_ms;
};

enum wire_error {
	WIRE_OK = 0,
	WIRE_ERR_SHORT,   /* fewer bytes than the fixed part */
	WIRE_ERR_MAGIC,   /* not ours */
	WIRE_ERR_VERSION, /* below WIRE_VERSION_MIN */
	WIRE_ERR_TYPE,    /* unknown type in a version we speak */
	WIRE_ERR_LENGTH,  /* length field disagrees with the datagram */
	WIRE_ERR_FIELD,   /* a field out of its domain */
	WIRE_ERR_COUNT,
};

const char *wire_error_name(enum wire_error e);
const char *wire_role_name(uint8_t role);
const char *wire_type_name(uint8_t type);
/* A type this version knows (1..WIRE_TYPE_MAX). */
static inline int wire_type_known(uint8_t type) { return type >= 1 && type <= WIRE_TYPE_MAX; }

uint64_t wire_cluster_digest(const char *name);

/* Encodes m (payload and url included) with an all-zero trailer; returns
 * the length, or 0 if it does not fit in len or a field is invalid. */
size_t wire_encode(const struct wire_msg *m, uint8_t *buf, size_t len);

/* Offset of the key id/tag trailer in an encoded packet of length n. */
static inline size_t wire_trailer_offset(size_t n) { return n - WIRE_TRAILER_LEN; }

/* Decodes buf; m->payload points into buf.  Never reads past len.  A
 * packet of a newer version decodes (WIRE_OK) with m->version above
 * WIRE_VERSION, its extension skipped and its type possibly unknown (see
 * wire_type_known). */
enum wire_error wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m);

/* A node id is 1..32 bytes of [A-Za-z0-9._:-]. */
int wire_valid_id(const char *id);

#endif
