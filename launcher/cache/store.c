/*
 * Store: chained hash table, versions compared as (term, clock, node).
 * The digest is the XOR of a hash of every entry's key and version, kept up
 * to date on every change, so two replicas with the same entries (and
 * tombstones) have the same digest whatever the order of their writes, and
 * on any host: integers go into it big-endian.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "hash.h"

/* One entry's share of the digest: key, version and tombstone flag, with
 * the integers encoded big-endian, so that every host computes the same
 * digest for the same entries (it travels in heartbeats). */
static uint64_t entry_hash(const struct store_entry *e)
{
	uint8_t ints[16];
	uint8_t t = (uint8_t)e->tombstone;
	uint64_t h = hash_fnv1a_str(HASH_FNV1A_INIT, e->key);

	bytes_put64(ints, e->v.term);
	bytes_put64(ints + 8, e->v.clock);
	h = hash_fnv1a(h, ints, sizeof(ints));
	h = hash_fnv1a_str(h, e->v.node);
	return hash_fnv1a(h, &t, 1);
}

int store_init(struct store *s, const struct store_limits *lim)
{
	memset(s, 0, sizeof(*s));
	s->lim = *lim;
	s->nbuckets = 1024;
	while (s->nbuckets < lim->max_entries && s->nbuckets < (1u << 22))
		s->nbuckets *= 2;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	return s->buckets ? 0 : -1;
}

static void entry_free(struct store_entry *e)
{
	free(e->key);
	free(e->value);
	free(e);
}

void store_free(struct store *s)
{
	for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
		struct store_entry *e = s->buckets[i], *n;
		for (; e; e = n) {
			n = e->next;
			entry_free(e);
		}
	}
	free(s->buckets);
	s->buckets = NULL;
}

int store_version_cmp(const struct store_version *a, const struct store_version *b)
{
	int c;

	if (a->term != b->term)
		return a->term < b->term ? -1 : 1;
	if (a->clock != b->clock)
		return a->clock < b->clock ? -1 : 1;
	c = strcmp(a->node, b->node);
	return c < 0 ? -1 : c > 0;
}

struct store_version store_next_version(struct store *s, uint64_t term, const char *node, uint64_t now)
{
	struct store_version v;

	/* a hybrid logical clock: wall time, but never backwards and never the
	 * same twice here, and above any clock seen from a peer */
	s->last_clock = now > s->last_clock ? now : s->last_clock + 1;
	memset(&v, 0, sizeof(v));
	v.term = term;
	v.clock = s->last_clock;
	strncpy(v.node, node, STORE_NODE_MAX);
	return v;
}

static size_t bucket(const struct store *s, const char *key)
{
	return (size_t)(hash_fnv1a_str(HASH_FNV1A_INIT, key) & (s->nbuckets - 1));
}

static struct store_entry *find(const struct store *s, const char *key)
{
	struct store_entry *e = s->buckets[bucket(s, key)];

	while (e && strcmp(e->key, key) != 0)
		e = e->next;
	return e;
}

/* An entry joins (1) or leaves (0) the counts and the digest; the XOR
 * into the digest is its own inverse. */
static void account(struct store *s, const struct store_entry *e, int joins)
{
	size_t *count = e->tombstone ? &s->tombstones : &s->live;

	s->digest ^= entry_hash(e);
	if (joins) {
		(*count)++;
		s->bytes += e->len;
	} else {
		(*count)--;
		s->bytes -= e->len;
	}
}

enum store_result store_apply(struct store *s, const char *key, const uint8_t *value, uint32_t len, uint32_t flags,
			      uint64_t expires, const struct store_version *v, int tombstone, uint64_t now)
{
	struct store_entry *e = find(s, key);
	uint8_t *copy = NULL;
	size_t klen = strlen(key);

	if (klen == 0 || klen > s->lim.max_key || (!tombstone && len > s->lim.max_value))
		return STORE_TOO_LARGE;
	if (v->clock > s->last_clock)
		s->last_clock = v->clock; /* our next version is above any seen */
	if (e != NULL && store_version_cmp(v, &e->v) <= 0)
		return STORE_STALE;
	if (tombstone ? v->clock + s->lim.tombstone_ms <= now : (expires != 0 && expires <= now))
		return STORE_STALE;
	if ((e == NULL || e->tombstone) && !tombstone && s->live >= s->lim.max_entries)
		return STORE_FULL;
	if (!tombstone && len > 0) {
		copy = malloc(len);
		if (copy == NULL)
			return STORE_NOMEM;
		memcpy(copy, value, len);
	}
	if (e == NULL) {
		size_t b = bucket(s, key);
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->key = strdup(key)) == NULL) {
			free(e);
			free(copy);
			return STORE_NOMEM;
		}
		e->next = s->buckets[b];
		s->buckets[b] = e;
	} else {
		account(s, e, 0);
	}
	free(e->value);
	e->value = copy;
	e->len = tombstone ? 0 : len;
	e->flags = flags;
	e->expires = tombstone ? 0 : expires;
	e->v = *v;
	e->tombstone = tombstone;
	account(s, e, 1);
	if (e->tombstone || e->expires != 0) {
		uint64_t at = e->tombstone ? e->v.clock + s->lim.tombstone_ms : e->expires;
		if (s->next_expiry == 0 || at < s->next_expiry)
			s->next_expiry = at;
	}
	return STORE_OK;
}

const struct store_entry *store_get(const struct store *s, const char *key, uint64_t now)
{
	const struct store_entry *e = find(s, key);

	if (e == NULL || e->tombstone || (e->expires != 0 && e->expires <= now))
		return NULL;
	return e;
}

/* The integers in host byte order, as the previous releases did: a cas
 * value goes to a client and comes back to be compared, and a change of
 * formula would fail the compare-and-swaps of clients across an upgrade. */
uint64_t store_cas(const struct store_entry *e)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_INIT, &e->v.term, sizeof(e->v.term));

	h = hash_fnv1a(h, &e->v.clock, sizeof(e->v.clock));
	h = hash_fnv1a_str(h, e->v.node);
	return h ? h : 1; /* 0 is no cas in some clients */
}

size_t store_expire(struct store *s, uint64_t now)
{
	size_t n = 0;

	s->next_expiry = 0;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct store_entry **pp = &s->buckets[i];
		while (*pp) {
			struct store_entry *e = *pp;
			uint64_t at = e->tombstone ? e->v.clock + s->lim.tombstone_ms : e->expires;
			int gone = (e->tombstone || e->expires != 0) && at <= now;
			if (!gone) {
				if ((e->tombstone || e->expires != 0) && (s->next_expiry == 0 || at < s->next_expiry))
					s->next_expiry = at;
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			account(s, e, 0);
			entry_free(e);
			n++;
		}
	}
	return n;
}

void store_each(const struct store *s, void (*fn)(void *ud, const struct store_entry *e), void *ud)
{
	for (size_t i = 0; i < s->nbuckets; i++)
		for (const struct store_entry *e = s->buckets[i]; e; e = e->next)
			fn(ud, e);
}

/* ---- codec: every field big-endian at its place, lengths checked first ---- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	uint8_t *p = realloc(*buf, c);
	if (p == NULL)
		return -1;
	*buf = p;
	*cap = c;
	return 0;
}

/*   key_len u16 | key | flags u32 | expires u64 | term u64 | clock u64 |
 *   node_len u8 | node | tombstone u8 | value_len u32 | value          */
int store_encode_entry(const struct store_entry *e, uint8_t **buf, size_t *len, size_t *cap)
{
	size_t kl = strlen(e->key), nl = strlen(e->v.node);
	size_t need = 2 + kl + 4 + 8 + 8 + 8 + 1 + nl + 1 + 4 + e->len;
	uint8_t *p;

	if (grow(buf, cap, *len + need) != 0)
		return -1;
	p = *buf + *len;
	bytes_put_be(p, kl, 2), p += 2;
	memcpy(p, e->key, kl), p += kl;
	bytes_put_be(p, e->flags, 4), p += 4;
	bytes_put_be(p, e->expires, 8), p += 8;
	bytes_put_be(p, e->v.term, 8), p += 8;
	bytes_put_be(p, e->v.clock, 8), p += 8;
	bytes_put_be(p, nl, 1), p += 1;
	memcpy(p, e->v.node, nl), p += nl;
	*p++ = (uint8_t)e->tombstone;
	bytes_put_be(p, e->len, 4), p += 4;
	if (e->len)
		memcpy(p, e->value, e->len);
	*len += need;
	return 0;
}

size_t store_decode_one(const uint8_t *buf, size_t len, struct store_entry *e, size_t *keylen)
{
	size_t off = 0, kl, nl, vl;

	memset(e, 0, sizeof(*e));
	if (len < 2)
		return 0;
	kl = bytes_get_be(buf, 2);
	off = 2;
	if (kl == 0 || kl > STORE_KEY_MAX || len - off < kl + 4 + 8 + 8 + 8 + 1)
		return 0;
	e->key = (char *)(buf + off);
	*keylen = kl;
	off += kl;
	e->flags = (uint32_t)bytes_get_be(buf + off, 4), off += 4;
	e->expires = bytes_get_be(buf + off, 8), off += 8;
	e->v.term = bytes_get_be(buf + off, 8), off += 8;
	e->v.clock = bytes_get_be(buf + off, 8), off += 8;
	nl = buf[off++];
	if (nl == 0 || nl > STORE_NODE_MAX || len - off < nl + 1 + 4)
		return 0;
	memcpy(e->v.node, buf + off, nl);
	off += nl;
	if (buf[off] > 1)
		return 0;
	e->tombstone = buf[off++];
	vl = bytes_get_be(buf + off, 4), off += 4;
	if (vl > len - off || (e->tombstone && vl != 0))
		return 0;
	e->value = (uint8_t *)(buf + off);
	e->len = (uint32_t)vl;
	return off + vl;
}

int store_decode_entries(struct store *s, const uint8_t *buf, size_t len, size_t *applied, uint64_t now)
{
	size_t off = 0;

	*applied = 0;
	while (off < len) {
		struct store_entry e;
		size_t kl, n = store_decode_one(buf + off, len - off, &e, &kl);
		char key[STORE_KEY_MAX + 1];

		if (n == 0 || memchr(e.key, '\0', kl) != NULL)
			return -1;
		memcpy(key, e.key, kl);
		key[kl] = '\0';
		if (store_apply(s, key, e.value, e.len, e.flags, e.expires, &e.v, e.tombstone, now) == STORE_OK)
			(*applied)++;
		off += n;
	}
	return 0;
}
