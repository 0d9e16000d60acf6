/* Unit tests of the replication frame codec: the exact bytes each frame
 * type has on the wire (tags from auth.c, the HMAC the daemon uses), and
 * what the decoder refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth.h"
#include "frame.h"

/* a connection's direction: a key and a sequence number, as mesh.c keeps them */
struct dir {
	uint8_t key[AUTH_KEY_LEN];
	uint64_t seq;
	int checks;
};

static void tag_cb(void *ud, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG])
{
	struct dir *d = ud;
	auth_frame_tag(d->key, d->seq++, span, n, tag);
}

static int check_cb(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG])
{
	struct dir *d = ud;
	d->checks++;
	return auth_frame_check(d->key, d->seq++, span, n, tag);
}

static void dir_init(struct dir *d)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < AUTH_KEY_LEN; i++)
		d->key[i] = (uint8_t)i;
}

/* HMAC-SHA256(key 00..1f, seq be64 | type | payload), first 16 bytes */
static const uint8_t auth0[] = {0x00, 0x00, 0x00, 0x11, 0x06, 0xd4, 0x9f, 0x83, 0x81, 0x21, 0xb6,
				0x79, 0x25, 0x35, 0x76, 0xb8, 0xbe, 0x1a, 0xcd, 0x5a, 0xa0};
static const uint8_t ack1[] = {0x00, 0x00, 0x00, 0x1a, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
			       0x07, 0x08, 0x00, 0xbd, 0xcd, 0x11, 0x59, 0xd4, 0xb0, 0xb0, 0x89,
			       0x88, 0x4a, 0x8e, 0x61, 0xc5, 0x23, 0xfb, 0xf4};
static const uint8_t sync2[] = {0x00, 0x00, 0x00, 0x11, 0x04, 0x61, 0xd1, 0x5a, 0x6d, 0xee, 0x43,
				0x31, 0x05, 0x83, 0x3d, 0x7c, 0xc8, 0x78, 0xe0, 0x97, 0xaf};
static const uint8_t write3[] = {0x00, 0x00, 0x00, 0x1e, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
				 0x07, 0x45, 0x4e, 0x54, 0x52, 0x59, 0x4b, 0x53, 0x8e, 0x3c, 0x1e, 0xe5,
				 0x95, 0x1e, 0x40, 0xc5, 0xdb, 0x7f, 0x26, 0xd3, 0x91, 0x09};
static const uint8_t snap4[] = {0x00, 0x00, 0x00, 0x15, 0x05, 0x45, 0x31, 0x45, 0x32, 0x1f, 0xec, 0x57, 0x39,
				0x18, 0x11, 0x5e, 0x06, 0x7f, 0xeb, 0x70, 0x5a, 0x21, 0xe5, 0x3e, 0xec};
/* cluster digest, node length, node, nonce: untagged */
static const uint8_t hello[] = {0x00, 0x00, 0x00, 0x1c, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				0x02, 'n',  '1',  0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
				0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

static const uint8_t ack_payload[] = {1, 2, 3, 4, 5, 6, 7, 8, 0};
static const uint8_t write_id[] = {0, 0, 0, 0, 0, 0, 0, 7};

static void hello_payload(uint8_t *h)
{
	static const uint8_t cl[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	memcpy(h, cl, 8);
	h[8] = 2;
	memcpy(h + 9, "n1", 2);
	for (int i = 0; i < 16; i++)
		h[11 + i] = (uint8_t)(0xa0 + i);
}

static void golden_encode(void **state)
{
	struct dir d;
	const struct frame_tagger t = {.tag = tag_cb, .ud = &d};
	struct buf b = {0};
	uint8_t h[27];
	size_t off = 0;
	(void)state;
	dir_init(&d);
	hello_payload(h);
	assert_int_equal(frame_encode(&b, FRAME_HELLO, h, sizeof(h), NULL, 0, &t), 0);
	assert_int_equal(d.seq, 0); /* a HELLO takes no sequence number */
	assert_int_equal(frame_encode(&b, FRAME_AUTH, NULL, 0, NULL, 0, &t), 0);
	assert_int_equal(frame_encode(&b, FRAME_ACK, ack_payload, sizeof(ack_payload), NULL, 0, &t), 0);
	assert_int_equal(frame_encode(&b, FRAME_SYNC, NULL, 0, NULL, 0, &t), 0);
	assert_int_equal(frame_encode(&b, FRAME_WRITE, write_id, 8, "ENTRY", 5, &t), 0);
	assert_int_equal(frame_encode(&b, FRAME_SNAPSHOT, "E1E2", 4, NULL, 0, &t), 0);
	assert_int_equal(d.seq, 5);
	assert_int_equal(b.len, sizeof(hello) + sizeof(auth0) + sizeof(ack1) + sizeof(sync2) + sizeof(write3) +
					sizeof(snap4));
	assert_memory_equal(b.p + off, hello, sizeof(hello));
	off += sizeof(hello);
	assert_memory_equal(b.p + off, auth0, sizeof(auth0));
	off += sizeof(auth0);
	assert_memory_equal(b.p + off, ack1, sizeof(ack1));
	off += sizeof(ack1);
	assert_memory_equal(b.p + off, sync2, sizeof(sync2));
	off += sizeof(sync2);
	assert_memory_equal(b.p + off, write3, sizeof(write3));
	off += sizeof(write3);
	assert_memory_equal(b.p + off, snap4, sizeof(snap4));
	/* a tagged type needs a tagger */
	assert_int_equal(frame_encode(&b, FRAME_SYNC, NULL, 0, NULL, 0, NULL), -1);
	buf_free(&b);
}

static void golden_decode(void **state)
{
	struct dir d;
	const struct frame_tagger t = {.check = check_cb, .ud = &d};
	struct frame f;
	size_t used;
	(void)state;
	dir_init(&d);
	/* a HELLO decodes before any key */
	assert_int_equal(frame_decode(hello, sizeof(hello), FRAME_MAX, NULL, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_HELLO);
	assert_int_equal(f.len, 27);
	assert_ptr_equal(f.payload, hello + 5);
	assert_int_equal(used, sizeof(hello));
	assert_int_equal(frame_decode(auth0, sizeof(auth0), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_AUTH);
	assert_int_equal(f.len, 0);
	assert_int_equal(frame_decode(ack1, sizeof(ack1), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_ACK);
	assert_int_equal(f.len, 9);
	assert_memory_equal(f.payload, ack_payload, 9);
	assert_int_equal(frame_decode(sync2, sizeof(sync2), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_SYNC);
	assert_int_equal(frame_decode(write3, sizeof(write3), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_WRITE);
	assert_int_equal(f.len, 13);
	assert_memory_equal(f.payload + 8, "ENTRY", 5);
	assert_int_equal(frame_decode(snap4, sizeof(snap4), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_SNAPSHOT);
	assert_int_equal(f.len, 4);
	assert_int_equal(used, sizeof(snap4));
}

static void truncated(void **state)
{
	struct dir d;
	const struct frame_tagger t = {.check = check_cb, .ud = &d};
	struct frame f;
	size_t used = 99;
	(void)state;
	dir_init(&d);
	for (size_t n = 0; n < sizeof(write3); n++)
		assert_int_equal(frame_decode(write3, n, FRAME_MAX, &t, &f, &used), FRAME_NEED_MORE);
	assert_int_equal(d.checks, 0); /* nothing checked, nothing counted */
	assert_int_equal(used, 99);
	/* two frames back to back: the first, then the second */
	uint8_t two[sizeof(auth0) + sizeof(ack1)];
	memcpy(two, auth0, sizeof(auth0));
	memcpy(two + sizeof(auth0), ack1, sizeof(ack1));
	assert_int_equal(frame_decode(two, sizeof(two), FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(used, sizeof(auth0));
	assert_int_equal(frame_decode(two + used, sizeof(two) - used, FRAME_MAX, &t, &f, &used), FRAME_OK);
	assert_int_equal(f.type, FRAME_ACK);
}

static void oversize(void **state)
{
	struct frame f;
	size_t used;
	uint8_t big[5] = {0x01, 0x00, 0x10, 0x01, FRAME_SNAPSHOT}; /* FRAME_MAX + 1 */
	uint8_t zero[5] = {0, 0, 0, 0, FRAME_SYNC};
	(void)state;
	/* refused from the head alone, before the body arrives */
	assert_int_equal(frame_decode(big, sizeof(big), FRAME_MAX, NULL, &f, &used), FRAME_BAD_LENGTH);
	big[0] = 0;
	big[1] = 0xff;
	assert_int_equal(frame_decode(big, sizeof(big), FRAME_MAX, NULL, &f, &used), FRAME_NEED_MORE);
	assert_int_equal(frame_decode(zero, sizeof(zero), FRAME_MAX, NULL, &f, &used), FRAME_BAD_LENGTH);
	/* the limit is the caller's: a HELLO (len 28) over a tiny one */
	assert_int_equal(frame_decode(hello, sizeof(hello), 27, NULL, &f, &used), FRAME_BAD_LENGTH);
	assert_int_equal(frame_decode(hello, 5, 27, NULL, &f, &used), FRAME_BAD_LENGTH);
	assert_int_equal(frame_decode(hello, sizeof(hello), 28, NULL, &f, &used), FRAME_OK);
}

static void bad_tag(void **state)
{
	struct dir d;
	const struct frame_tagger t = {.check = check_cb, .ud = &d};
	struct frame f;
	size_t used;
	uint8_t b[sizeof(ack1)];
	uint8_t shorty[] = {0, 0, 0, 4, FRAME_AUTH, 1, 2, 3};
	(void)state;
	dir_init(&d);
	/* no key yet: every tagged frame is refused */
	assert_int_equal(frame_decode(auth0, sizeof(auth0), FRAME_MAX, NULL, &f, &used), FRAME_BAD_TAG);
	/* a flipped bit anywhere under the tag, or in it */
	for (size_t i = 4; i < sizeof(ack1); i++) {
		memcpy(b, ack1, sizeof(b));
		b[i] ^= 0x10;
		d.seq = 1;
		assert_int_equal(frame_decode(b, sizeof(b), FRAME_MAX, &t, &f, &used), FRAME_BAD_TAG);
	}
	/* a frame replayed at another sequence number */
	d.seq = 2;
	assert_int_equal(frame_decode(ack1, sizeof(ack1), FRAME_MAX, &t, &f, &used), FRAME_BAD_TAG);
	/* too short to hold a tag: refused without a check */
	d.checks = 0;
	assert_int_equal(frame_decode(shorty, sizeof(shorty), FRAME_MAX, &t, &f, &used), FRAME_BAD_TAG);
	assert_int_equal(d.checks, 0);
}

/* A type this release does not know is tagged like any other and handed
 * on (the mesh ignores it): a newer peer's frame does not break the link. */
static void bad_type(void **state)
{
	struct dir tx, rx;
	const struct frame_tagger t = {.tag = tag_cb, .check = check_cb, .ud = &tx};
	const struct frame_tagger r = {.check = check_cb, .ud = &rx};
	struct buf b = {0};
	struct frame f;
	size_t used;
	uint8_t untagged[] = {0, 0, 0, 2, 0x7f, 0x00};
	(void)state;
	dir_init(&tx);
	dir_init(&rx);
	assert_int_equal(frame_encode(&b, 0x7f, "x", 1, NULL, 0, &t), 0);
	assert_int_equal(b.len, 5 + 1 + FRAME_TAG);
	assert_int_equal(frame_decode(b.p, b.len, FRAME_MAX, &r, &f, &used), FRAME_OK);
	assert_int_equal(f.type, 0x7f);
	assert_int_equal(f.len, 1);
	assert_int_equal(frame_decode(untagged, sizeof(untagged), FRAME_MAX, &r, &f, &used), FRAME_BAD_TAG);
	untagged[4] = 0;
	assert_int_equal(frame_decode(untagged, sizeof(untagged), FRAME_MAX, NULL, &f, &used), FRAME_BAD_TAG);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_encode), cmocka_unit_test(golden_decode), cmocka_unit_test(truncated),
		cmocka_unit_test(oversize),      cmocka_unit_test(bad_tag),       cmocka_unit_test(bad_type),
	};
	if (auth_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
