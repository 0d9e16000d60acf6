/* Unit tests of the replication handshake: two sessions talk through the
 * real frame codec; what an adversary replays, reflects or oversizes gets
 * nowhere, and a peer signing with another accepted key gets in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "frame.h"
#include "handshake.h"

#define CLUSTER 0x1122334455667788ull

static void tag_cb(void *ud, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG])
{
	hs_tag(ud, span, n, tag);
}

struct rx {
	struct hs *h;
	const struct auth_keys *ks;
};

static int check_cb(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG])
{
	struct rx *r = ud;
	return hs_check(r->h, r->ks, span, n, tag);
}

/* keys with ids 1 and 2 accepted, signing with `signing` */
static void keys(struct auth_keys *ks, uint8_t signing)
{
	memset(ks, 0, sizeof(*ks));
	ks->n = 2;
	for (int i = 0; i < 2; i++) {
		ks->k[i].id = (uint8_t)(i + 1);
		memset(ks->k[i].key, 0x40 + i, AUTH_KEY_LEN);
	}
	ks->signing = signing;
}

static void nonce(uint8_t n[AUTH_NONCE_LEN], uint8_t seed)
{
	for (int i = 0; i < AUTH_NONCE_LEN; i++)
		n[i] = (uint8_t)(seed + i);
}

static void put_hello(struct hs *h, struct buf *b)
{
	uint8_t p[HS_HELLO_MAX];
	assert_int_equal(frame_encode(b, FRAME_HELLO, p, hs_hello(h, p), NULL, 0, NULL), 0);
}

static void put_auth(struct hs *h, struct buf *b)
{
	const struct frame_tagger t = {.tag = tag_cb, .ud = h};
	assert_int_equal(frame_encode(b, FRAME_AUTH, NULL, 0, NULL, 0, &t), 0);
}

/* Feeds every frame of b to h as mesh.c does; the status of the last one
 * (or of the first that is not FRAME_OK). */
static enum frame_status feed(struct hs *h, const struct auth_keys *ks, const struct buf *b)
{
	struct rx r = {.h = h, .ks = ks};
	const struct frame_tagger t = {.check = check_cb, .ud = &r};
	size_t off = 0;
	enum frame_status st = FRAME_NEED_MORE;

	while (off < b->len) {
		struct frame f;
		size_t used;
		st = frame_decode(b->p + off, b->len - off, hs_frame_max(h), h->heard ? &t : NULL, &f, &used);
		if (st != FRAME_OK)
			return st;
		off += used;
		if (f.type == FRAME_HELLO && hs_on_hello(h, ks, f.payload, f.len) != 0)
			return FRAME_BAD_TAG;
	}
	return st;
}

/* A whole exchange: a (outbound, node n1) and b (inbound, node n2). */
static int session(struct hs *a, const struct auth_keys *ka, struct hs *b, const struct auth_keys *kb,
		   uint8_t seed_a, uint8_t seed_b, struct buf *a_sent, struct buf *b_sent)
{
	uint8_t na[AUTH_NONCE_LEN], nb[AUTH_NONCE_LEN];

	nonce(na, seed_a);
	nonce(nb, seed_b);
	hs_init(a, CLUSTER, "n1", "n2", na);
	hs_init(b, CLUSTER, "n2", NULL, nb);
	put_hello(a, a_sent);
	if (feed(b, kb, a_sent) != FRAME_OK)
		return -1;
	put_hello(b, b_sent);
	put_auth(b, b_sent);
	if (feed(a, ka, b_sent) != FRAME_OK || !a->authed)
		return -1;
	a_sent->len = a_sent->off = 0;
	put_auth(a, a_sent);
	if (feed(b, kb, a_sent) != FRAME_OK || !b->authed)
		return -1;
	return 0;
}

static void both_authenticate(void **state)
{
	struct auth_keys ks;
	struct hs a, b;
	struct buf x = {0}, y = {0};
	(void)state;
	keys(&ks, 1);
	assert_int_equal(session(&a, &ks, &b, &ks, 1, 100, &x, &y), 0);
	assert_string_equal(b.peer, "n1");
	assert_memory_equal(a.k_tx, b.k_rx, AUTH_KEY_LEN);
	assert_memory_equal(b.k_tx, a.k_rx, AUTH_KEY_LEN);
	/* cluster.auth = none: the zero key both ways */
	x.len = y.len = 0;
	assert_int_equal(session(&a, NULL, &b, NULL, 1, 100, &x, &y), 0);
	buf_free(&x);
	buf_free(&y);
}

static void another_accepted_key_id(void **state)
{
	struct auth_keys k1, k2;
	struct hs a, b;
	struct buf x = {0}, y = {0};
	(void)state;
	keys(&k1, 1);
	keys(&k2, 2); /* the same keys accepted, signing with key 2 */
	assert_int_equal(session(&a, &k1, &b, &k2, 1, 100, &x, &y), 0);
	/* a key no longer accepted: refused */
	k2.n = 1;
	k2.signing = 1;
	k1.k[0] = k1.k[1];
	k1.n = 1;
	k1.signing = 2;
	x.len = y.len = 0;
	assert_int_equal(session(&a, &k1, &b, &k2, 1, 100, &x, &y), -1);
	assert_false(b.authed || a.authed);
	buf_free(&x);
	buf_free(&y);
}

static void replay_into_new_session_fails(void **state)
{
	struct auth_keys ks;
	struct hs a, b, b2;
	struct buf x = {0}, y = {0}, rec = {0};
	uint8_t nb[AUTH_NONCE_LEN];
	(void)state;
	keys(&ks, 1);
	/* recorded: n1's HELLO and AUTH of a good session */
	assert_int_equal(session(&a, &ks, &b, &ks, 1, 100, &x, &y), 0);
	put_hello(&a, &rec);
	{
		/* the same AUTH n1 sent (sequence 0, the old session's key) */
		struct hs old = a;
		old.tx_seq = 0;
		put_auth(&old, &rec);
	}
	/* replayed into n2's next session: a fresh nonce on n2's side */
	nonce(nb, 200);
	hs_init(&b2, CLUSTER, "n2", NULL, nb);
	assert_int_equal(feed(&b2, &ks, &rec), FRAME_BAD_TAG);
	assert_true(b2.heard);
	assert_false(b2.authed);
	/* and a frame other than AUTH first is refused whatever its tag */
	hs_init(&b2, CLUSTER, "n2", NULL, nb);
	rec.len = rec.off = 0;
	put_hello(&a, &rec);
	{
		const struct frame_tagger t = {.tag = tag_cb, .ud = &a};
		assert_int_equal(frame_encode(&rec, FRAME_SYNC, NULL, 0, NULL, 0, &t), 0);
	}
	assert_int_equal(feed(&b2, &ks, &rec), FRAME_BAD_TAG);
	assert_false(b2.authed);
	buf_free(&x);
	buf_free(&y);
	buf_free(&rec);
}

static void reflected_auth_fails(void **state)
{
	struct auth_keys ks;
	struct hs a, b;
	struct buf x = {0}, y = {0}, back = {0};
	uint8_t na[AUTH_NONCE_LEN];
	(void)state;
	keys(&ks, 1);
	/* an attacker answers n1's connection claiming n2, and sends n1's own
	 * AUTH back: n1 never authenticates it */
	nonce(na, 1);
	hs_init(&a, CLUSTER, "n1", "n2", na);
	nonce(na, 50);
	hs_init(&b, CLUSTER, "n2", NULL, na); /* only for a HELLO naming n2 */
	put_hello(&b, &back);
	assert_int_equal(feed(&a, &ks, &back), FRAME_OK);
	put_auth(&a, &x); /* what n1 sends */
	assert_int_equal(feed(&a, &ks, &x), FRAME_BAD_TAG);
	assert_false(a.authed);
	/* n1's own HELLO sent back: its id, its nonce */
	nonce(na, 1);
	hs_init(&a, CLUSTER, "n1", NULL, na);
	back.len = back.off = 0;
	put_hello(&a, &back);
	assert_int_equal(feed(&a, &ks, &back), FRAME_BAD_TAG);
	assert_false(a.heard);
	buf_free(&x);
	buf_free(&y);
	buf_free(&back);
}

static void wrong_cluster_or_node_fails(void **state)
{
	struct auth_keys ks;
	struct hs a, b;
	struct buf x = {0};
	uint8_t n[AUTH_NONCE_LEN];
	(void)state;
	keys(&ks, 1);
	nonce(n, 1);
	hs_init(&a, CLUSTER + 1, "n1", NULL, n);
	put_hello(&a, &x);
	nonce(n, 100);
	hs_init(&b, CLUSTER, "n2", NULL, n);
	assert_int_equal(feed(&b, &ks, &x), FRAME_BAD_TAG);
	assert_false(b.heard);
	/* an outbound connection answered by another node than it called */
	hs_init(&b, CLUSTER, "n2", "n3", n);
	nonce(n, 1);
	hs_init(&a, CLUSTER, "n1", NULL, n);
	x.len = x.off = 0;
	put_hello(&a, &x);
	assert_int_equal(feed(&b, &ks, &x), FRAME_BAD_TAG);
	/* a second HELLO */
	nonce(n, 100);
	hs_init(&b, CLUSTER, "n2", NULL, n);
	put_hello(&a, &x);
	assert_int_equal(feed(&b, &ks, &x), FRAME_BAD_TAG);
	buf_free(&x);
}

static void large_frame_before_auth_fails(void **state)
{
	struct auth_keys ks;
	struct hs a, b;
	struct buf x = {0}, y = {0};
	uint8_t n[AUTH_NONCE_LEN], big[5] = {0x01, 0x00, 0x00, 0x00, FRAME_SNAPSHOT}; /* 16 MiB announced */
	struct frame f;
	size_t used;
	uint8_t hello[HS_HELLO_MAX + 5];
	(void)state;
	keys(&ks, 1);
	nonce(n, 100);
	hs_init(&b, CLUSTER, "n2", NULL, n);
	assert_int_equal(frame_decode(big, sizeof(big), hs_frame_max(&b), NULL, &f, &used), FRAME_BAD_LENGTH);
	/* the largest HELLO fits */
	memset(hello, 0, sizeof(hello));
	hello[3] = 1 + HS_HELLO_MAX;
	hello[4] = FRAME_HELLO;
	assert_int_equal(frame_decode(hello, sizeof(hello), hs_frame_max(&b), NULL, &f, &used), FRAME_OK);
	hello[3]++;
	assert_int_equal(frame_decode(hello, sizeof(hello), hs_frame_max(&b), NULL, &f, &used),
			 FRAME_BAD_LENGTH);
	/* once authenticated, the full limit */
	assert_int_equal(session(&a, &ks, &b, &ks, 1, 100, &x, &y), 0);
	assert_int_equal(hs_frame_max(&b), FRAME_MAX);
	buf_free(&x);
	buf_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_authenticate),
		cmocka_unit_test(another_accepted_key_id),
		cmocka_unit_test(replay_into_new_session_fails),
		cmocka_unit_test(reflected_auth_fails),
		cmocka_unit_test(wrong_cluster_or_node_fails),
		cmocka_unit_test(large_frame_before_auth_fails),
	};
	if (auth_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
