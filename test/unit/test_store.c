/* Unit tests of the cache store: version order, convergence whatever the
 * order of arrival, tombstones, digests, limits, the codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct store_limits lim = {.max_entries = 100, .max_key = 250, .max_value = 1000,
					.tombstone_ms = 60000};
#define NOW 1000000

static struct store_version ver(uint64_t term, uint64_t clock, const char *node)
{
	struct store_version v;
	memset(&v, 0, sizeof(v));
	v.term = term;
	v.clock = clock;
	strcpy(v.node, node);
	return v;
}

static enum store_result put(struct store *s, const char *k, const char *val, struct store_version v)
{
	return store_apply(s, k, (const uint8_t *)val, (uint32_t)strlen(val), 0, 0, &v, 0, NOW);
}

static void version_order(void **state)
{
	struct store_version a = ver(1, 5, "n1"), b = ver(2, 1, "n1"), c = ver(1, 5, "n2");
	(void)state;
	assert_true(store_version_cmp(&a, &b) < 0); /* term first */
	assert_true(store_version_cmp(&a, &c) < 0); /* then clock, then node */
	assert_int_equal(store_version_cmp(&a, &a), 0);
}

/*
 * The digest travels in heartbeats, so it must not depend on the host's
 * byte order.  The golden values are FNV-1a 64 worked out by hand (outside
 * this code) over each entry's encoding: key | term u64 BE | clock u64 BE |
 * node | tombstone u8; the store's digest is their XOR.
 */
static void digest_is_golden_on_any_host(void **state)
{
	struct store s;
	struct store_version v1 = ver(0x0102030405060708ull, 0x1122334455667788ull, "n1"), v2 = ver(2, NOW, "n2");
	(void)state;
	store_init(&s, &lim);
	assert_int_equal(put(&s, "k", "value", v1), STORE_OK);
	/* FNV-1a of "k" 01 02 03 04 05 06 07 08 11 22 33 44 55 66 77 88 "n1" 00 */
	assert_true(s.digest == 0x01855a1059ebf625ull);
	assert_int_equal(store_apply(&s, "gone", NULL, 0, 0, 0, &v2, 1, NOW), STORE_OK);
	/* XOR FNV-1a of "gone" 00 00 00 00 00 00 00 02 00 00 00 00 00 0f 42 40 "n2" 01 */
	assert_true(s.digest == (0x01855a1059ebf625ull ^ 0x7ec77c67938aae16ull));
	store_free(&s);
}

/* live, tombstones, bytes and the digest follow every change and return
 * to nothing when the last entry is gone. */
static void counts_follow_every_change(void **state)
{
	struct store s;
	struct store_version v1 = ver(1, NOW, "n1"), v2 = ver(1, NOW + 1, "n1"), v3 = ver(1, NOW + 2, "n1");
	(void)state;
	store_init(&s, &lim);
	put(&s, "k", "value", v1);
	assert_int_equal(s.live, 1);
	assert_int_equal(s.bytes, 5);
	put(&s, "k", "abc", v2);
	assert_int_equal(s.live, 1);
	assert_int_equal(s.bytes, 3);
	assert_int_equal(store_apply(&s, "k", NULL, 0, 0, 0, &v3, 1, NOW), STORE_OK);
	assert_int_equal(s.live, 0);
	assert_int_equal(s.tombstones, 1);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(store_expire(&s, NOW + 2 + lim.tombstone_ms), 1);
	assert_int_equal(s.tombstones, 0);
	assert_true(s.digest == 0);
	store_free(&s);
}

static void newest_wins_in_any_order(void **state)
{
	struct store x, y;
	struct store_version v1 = ver(1, 100, "n1"), v2 = ver(1, 200, "n2"), v3 = ver(2, 50, "n3");
	(void)state;
	store_init(&x, &lim);
	store_init(&y, &lim);
	/* x sees 1, 2, 3; y sees 3, 1, 2 (and a delete in between) */
	put(&x, "k", "one", v1);
	put(&x, "k", "two", v2);
	put(&x, "k", "three", v3);
	assert_int_equal(put(&y, "k", "three", v3), STORE_OK);
	assert_int_equal(put(&y, "k", "one", v1), STORE_STALE);
	assert_int_equal(put(&y, "k", "two", v2), STORE_STALE);
	assert_memory_equal(store_get(&x, "k", NOW)->value, "three", 5);
	assert_memory_equal(store_get(&y, "k", NOW)->value, "three", 5);
	assert_true(x.digest == y.digest);
	store_free(&x);
	store_free(&y);
}

static void tombstones(void **state)
{
	struct store s, t;
	/* versions carry wall-clock ms: a removal is remembered tombstone_ms */
	struct store_version del = ver(1, NOW - 100, "n1"), v = ver(1, NOW - 200, "n2");
	(void)state;
	store_init(&s, &lim);
	store_init(&t, &lim);
	put(&s, "k", "v", v);
	assert_int_equal(store_apply(&s, "k", NULL, 0, 0, 0, &del, 1, NOW), STORE_OK);
	assert_null(store_get(&s, "k", NOW));
	assert_int_equal(s.live, 0);
	assert_int_equal(s.tombstones, 1);
	/* the delete arrives first elsewhere: the older put does not resurrect it */
	store_apply(&t, "k", NULL, 0, 0, 0, &del, 1, NOW);
	assert_int_equal(put(&t, "k", "v", v), STORE_STALE);
	assert_true(s.digest == t.digest);
	/* tombstones past their lifetime go, on every node by the same clock */
	assert_int_equal(store_expire(&s, NOW - 101 + lim.tombstone_ms), 0);
	assert_int_equal(store_expire(&s, NOW - 100 + lim.tombstone_ms), 1);
	assert_int_equal(s.tombstones, 0);
	assert_int_equal(s.digest, 0);
	store_free(&s);
	store_free(&t);
}

static void limits_and_expiry(void **state)
{
	struct store s;
	struct store_limits small = lim;
	char big[1100];
	(void)state;
	small.max_entries = 2;
	store_init(&s, &small);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(put(&s, "a", big, ver(1, 1, "n")), STORE_TOO_LARGE);
	assert_int_equal(put(&s, "a", "1", ver(1, 1, "n")), STORE_OK);
	assert_int_equal(put(&s, "b", "2", ver(1, 2, "n")), STORE_OK);
	assert_int_equal(put(&s, "c", "3", ver(1, 3, "n")), STORE_FULL);
	assert_int_equal(put(&s, "a", "9", ver(1, 4, "n")), STORE_OK); /* an update is no new entry */
	{
		struct store_version v = ver(1, 5, "n");
		assert_int_equal(store_apply(&s, "b", (const uint8_t *)"e", 1, 7, NOW + 10, &v, 0, NOW), STORE_OK);
		assert_non_null(store_get(&s, "b", NOW));
		assert_null(store_get(&s, "b", NOW + 10));
		assert_int_equal(store_get(&s, "b", NOW)->flags, 7);
	}
	store_free(&s);
}

static void clock_never_goes_back(void **state)
{
	struct store s;
	struct store_version a, b;
	(void)state;
	store_init(&s, &lim);
	a = store_next_version(&s, 1, "n1", 5000);
	b = store_next_version(&s, 1, "n1", 4000); /* the wall clock stepped back */
	assert_true(store_version_cmp(&a, &b) < 0);
	put(&s, "k", "v", ver(1, 9000, "n2"));     /* a peer ahead of us */
	b = store_next_version(&s, 1, "n1", 6000);
	assert_true(b.clock > 9000);
	store_free(&s);
}

static void collect(void *ud, const struct store_entry *e)
{
	struct { uint8_t *p; size_t len, cap; } *b = ud;
	assert_int_equal(store_encode_entry(e, &b->p, &b->len, &b->cap), 0);
}

static void codec_round_trip_and_malformed(void **state)
{
	struct store s, t;
	struct { uint8_t *p; size_t len, cap; } b = {0};
	size_t applied;
	(void)state;
	store_init(&s, &lim);
	store_init(&t, &lim);
	put(&s, "alpha", "first", ver(1, 10, "n1"));
	put(&s, "beta", "", ver(2, 11, "n2"));
	{
		struct store_version v = ver(3, NOW, "n3");
		assert_int_equal(store_apply(&s, "gone", NULL, 0, 0, 0, &v, 1, NOW), STORE_OK);
	}
	store_each(&s, collect, &b);
	assert_int_equal(store_decode_entries(&t, b.p, b.len, &applied, NOW), 0);
	assert_int_equal(applied, 3);
	assert_true(s.digest == t.digest);
	assert_memory_equal(store_get(&t, "alpha", NOW)->value, "first", 5);
	assert_int_equal(store_get(&t, "beta", NOW)->len, 0);
	/* every truncation is refused, never read past */
	for (size_t n = 1; n < b.len; n++) {
		struct store u;
		store_init(&u, &lim);
		size_t got;
		int rc = store_decode_entries(&u, b.p, n, &got, NOW);
		assert_true(rc != 0 || got < 3);
		store_free(&u);
	}
	free(b.p);
	store_free(&s);
	store_free(&t);
}


/* When store_expire() next has something to drop (the cache's
 * housekeeping sleeps until then): the earliest expiry or tombstone end,
 * never later; nothing: 0. */
static void next_expiry(void **state)
{
	struct store s;
	struct store_version v1 = ver(1, NOW, "n1"), v2 = ver(1, NOW + 1, "n1"), v3 = ver(1, NOW + 2, "n1");
	(void)state;
	store_init(&s, &lim);
	put(&s, "forever", "v", v1);
	assert_int_equal(s.next_expiry, 0);
	store_apply(&s, "late", (const uint8_t *)"v", 1, 0, NOW + 5000, &v1, 0, NOW);
	assert_int_equal(s.next_expiry, NOW + 5000);
	store_apply(&s, "soon", (const uint8_t *)"v", 1, 0, NOW + 3000, &v1, 0, NOW);
	assert_int_equal(s.next_expiry, NOW + 3000);
	/* a removal is dropped tombstone_ms after its version's clock */
	store_apply(&s, "gone", NULL, 0, 0, 0, &v1, 1, NOW);
	assert_int_equal(s.next_expiry, NOW + 3000);
	/* "soon" rewritten without expiry: the minimum may stay early (a
	 * housekeeping that finds nothing), and is exact after it */
	store_apply(&s, "soon", (const uint8_t *)"v", 1, 0, 0, &v2, 0, NOW);
	assert_int_equal(s.next_expiry, NOW + 3000);
	assert_int_equal(store_expire(&s, NOW + 3000), 0);
	assert_int_equal(s.next_expiry, NOW + 5000);
	assert_int_equal(store_expire(&s, NOW + 5000), 1);
	assert_int_equal(s.next_expiry, NOW + lim.tombstone_ms);
	/* the last one gone: nothing more to expire */
	store_apply(&s, "forever", NULL, 0, 0, 0, &v3, 1, NOW);
	assert_int_equal(s.next_expiry, NOW + lim.tombstone_ms);
	assert_int_equal(store_expire(&s, NOW + 2 + lim.tombstone_ms), 2);
	assert_int_equal(s.next_expiry, 0);
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_order), cmocka_unit_test(digest_is_golden_on_any_host),
		cmocka_unit_test(counts_follow_every_change),
		cmocka_unit_test(newest_wins_in_any_order), cmocka_unit_test(tombstones),
		cmocka_unit_test(limits_and_expiry), cmocka_unit_test(clock_never_goes_back),
		cmocka_unit_test(codec_round_trip_and_malformed), cmocka_unit_test(next_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
