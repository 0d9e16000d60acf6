/*
 * The replicated cache's store: a bounded key/value map whose entries carry
 * a version (term, clock, node) so that replicas converge whatever the order
 * in which writes arrive: the higher version wins, everywhere.  A removal is
 * a tombstone with its own version, kept until it is older than the
 * tombstone lifetime.  Pure: no I/O; the caller passes wall-clock ms (the
 * clock of versions and expiry) where it matters.
 */
#ifndef FL_STORE_H
#define FL_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_MAX 250
#define STORE_NODE_MAX 32

struct store_version {
	uint64_t term;
	uint64_t clock;  /* hybrid logical clock: wall ms, or last + 1 */
	char node[STORE_NODE_MAX + 1];
};

struct store_entry {
	char *key;
	uint8_t *value;
	uint32_t len;
	uint32_t flags;          /* memcached's client flags */
	uint64_t expires;        /* wall-clock ms, 0 = never */
	struct store_version v;
	int tombstone;
	struct store_entry *next; /* hash chain */
};

struct store_limits {
	size_t max_entries;
	size_t max_key;
	size_t max_value;
	uint64_t tombstone_ms;
};

struct store {
	struct store_limits lim;
	struct store_entry **buckets;
	size_t nbuckets;
	size_t live, tombstones;
	uint64_t digest;         /* XOR of every entry's (key, version) hash, the same on any host */
	uint64_t last_clock;
	uint64_t bytes;
	/* wall-clock ms by which store_expire() has something to drop: the
	 * earliest expiry or tombstone end, or before it (an entry replaced
	 * since); 0: nothing will expire */
	uint64_t next_expiry;
};

enum store_result {
	STORE_OK,
	STORE_STALE,     /* an equal or newer version is already here */
	STORE_TOO_LARGE, /* key or value over its limit */
	STORE_FULL,      /* max_entries reached */
	STORE_NOMEM,
};

int store_init(struct store *s, const struct store_limits *lim);
void store_free(struct store *s);

/* A new version for a local write at wall-clock now in term. */
struct store_version store_next_version(struct store *s, uint64_t term, const char *node, uint64_t now);
/* Orders versions: <0, 0, >0. */
int store_version_cmp(const struct store_version *a, const struct store_version *b);

/* Applies a write (local or replicated): kept only when its version beats
 * what is there.  value NULL with tombstone set for a removal.  Already
 * expired entries and tombstones past their lifetime are not kept (STALE):
 * every replica drops them by the same clock. */
enum store_result store_apply(struct store *s, const char *key, const uint8_t *value, uint32_t len, uint32_t flags,
			      uint64_t expires, const struct store_version *v, int tombstone, uint64_t now);

/* The live entry for key at wall-clock now (expired and removed: NULL). */
const struct store_entry *store_get(const struct store *s, const char *key, uint64_t now);
/* memcached's cas unique: changes whenever the entry changes. */
uint64_t store_cas(const struct store_entry *e);

/* Drops tombstones older than the lifetime and expired entries'
 * memory (as tombstones).  Returns how many were dropped.  Sets
 * next_expiry from what is left. */
size_t store_expire(struct store *s, uint64_t now);

/* Calls fn for every entry, tombstones included. */
void store_each(const struct store *s, void (*fn)(void *ud, const struct store_entry *e), void *ud);

/* Snapshot codec: entries one after another; used for persistence and for
 * replication.  encode appends to a malloc'd buffer; decode applies every
 * entry (newer versions win) and returns 0, or -1 on a malformed buffer. */
int store_encode_entry(const struct store_entry *e, uint8_t **buf, size_t *len, size_t *cap);
int store_decode_entries(struct store *s, const uint8_t *buf, size_t len, size_t *applied, uint64_t now);
/* One entry from buf: fills e (pointers into buf, key not NUL-terminated
 * beyond keylen) and returns its encoded length, or 0 when malformed. */
size_t store_decode_one(const uint8_t *buf, size_t len, struct store_entry *e, size_t *keylen);

#endif
