/* Unit tests of the packet codec: golden bytes, round trips, and every
 * class of malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"
#include "pause.h"
#include "wire.h"

static struct wire_msg sample(void)
{
	struct wire_msg m;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_HEARTBEAT;
	m.cluster = wire_cluster_digest("lab");
	strcpy(m.node, "n1");
	m.boot = 0x0102030405060708ull;
	m.seq = 9;
	m.term = 0x10;
	m.role = WIRE_ROLE_MASTER;
	m.flags = WIRE_F_QUORUM;
	m.position = 0x0102;
	m.cache_digest = 0xaabbccddeeff0011ull;
	strcpy(m.target, "n1");
	m.master_age = 0x01020304;
	strcpy(m.url, "tcp://a:1");
	return m;
}

static void golden_bytes(void **state)
{
	struct wire_msg m = sample();
	uint8_t buf[WIRE_MAX_LEN];
	size_t n;
	static const uint8_t head[] = {'F', 'L', 'O', 'V', 1, 1, 0, 167};

	(void)state;
	n = wire_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, WIRE_HEADER_LEN + 9 + 2 + WIRE_TRAILER_LEN);
	assert_memory_equal(buf, head, sizeof(head));
	/* FNV-1a 64 of "lab", big-endian */
	assert_memory_equal(buf + 8, "\x12\x65\x96\x19\x1d\xc1\xeb\xb4", 8);
	assert_memory_equal(buf + 16, "n1\0\0", 4);
	assert_memory_equal(buf + 48, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_memory_equal(buf + 56, "\0\0\0\0\0\0\0\x09", 8);
	assert_memory_equal(buf + 64, "\0\0\0\0\0\0\0\x10", 8);
	assert_int_equal(buf[72], WIRE_ROLE_MASTER);
	assert_int_equal(buf[73], WIRE_F_QUORUM);
	assert_memory_equal(buf + 74, "\x01\x02", 2);
	assert_memory_equal(buf + 76, "\xaa\xbb\xcc\xdd\xee\xff\x00\x11", 8);
	assert_memory_equal(buf + 84, "n1\0", 3);
	assert_memory_equal(buf + 116, "\x01\x02\x03\x04", 4);
	assert_memory_equal(buf + 120, "\0\x09" "tcp://a:1" "\0\0", 13);
	for (size_t i = n - WIRE_TRAILER_LEN; i < n; i++)
		assert_int_equal(buf[i], 0);
}

static void cluster_digest_is_fnv1a(void **state)
{
	(void)state;
	/* FNV-1a 64 reference values */
	assert_int_equal(wire_cluster_digest(""), 0xcbf29ce484222325ull);
	assert_int_equal(wire_cluster_digest("a"), 0xaf63dc4c8601ec8cull);
}

static void round_trip_with_payload(void **state)
{
	struct wire_msg m = sample(), d;
	uint8_t buf[WIRE_MAX_LEN], payload[300];
	size_t n;

	(void)state;
	memset(payload, 0x5a, sizeof(payload));
	m.type = WIRE_RESIGN;
	m.payload = payload;
	m.payload_len = sizeof(payload);
	strcpy(m.target, "");
	n = wire_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(wire_decode(buf, n, &d), WIRE_OK);
	assert_int_equal(d.type, WIRE_RESIGN);
	assert_string_equal(d.node, "n1");
	assert_string_equal(d.target, "");
	assert_string_equal(d.url, "tcp://a:1");
	assert_int_equal(d.boot, m.boot);
	assert_int_equal(d.seq, 9);
	assert_int_equal(d.term, 0x10);
	assert_int_equal(d.position, 0x0102);
	assert_int_equal(d.cache_digest, m.cache_digest);
	assert_int_equal(d.master_age, 0x01020304);
	assert_int_equal(d.payload_len, 300);
	assert_memory_equal(d.payload, payload, 300);
	assert_ptr_equal(d.payload, buf + WIRE_HEADER_LEN + 9 + 2);
}

static void malformed(void **state)
{
	struct wire_msg m = sample(), d;
	uint8_t buf[WIRE_MAX_LEN], bad[WIRE_MAX_LEN];
	size_t n;

	(void)state;
	n = wire_encode(&m, buf, sizeof(buf));
	for (size_t k = 0; k < n; k++)
		assert_true(wire_decode(buf, k, &d) != WIRE_OK); /* every truncation */
	assert_int_equal(wire_decode(buf, 4, &d), WIRE_ERR_SHORT);
#define MUT(off, val, err)                                                                                          \
	memcpy(bad, buf, n);                                                                                        \
	bad[off] = (val);                                                                                           \
	assert_int_equal(wire_decode(bad, n, &d), err)
	MUT(0, 'X', WIRE_ERR_MAGIC);
	MUT(4, 0, WIRE_ERR_VERSION);     /* below the oldest version */
	MUT(5, 0, WIRE_ERR_TYPE);
	MUT(5, 99, WIRE_ERR_TYPE);
	MUT(5, WIRE_TYPE_MAX + 1, WIRE_ERR_TYPE);
	MUT(7, (uint8_t)(n + 1), WIRE_ERR_LENGTH);
	MUT(121, 200, WIRE_ERR_LENGTH);  /* url length past the end */
	MUT(16, 0, WIRE_ERR_FIELD);      /* empty node id */
	MUT(19, 'x', WIRE_ERR_FIELD);    /* bytes after the id's NUL */
	MUT(16, ' ', WIRE_ERR_FIELD);    /* not an id character */
	MUT(72, 9, WIRE_ERR_FIELD);      /* role */
	MUT(124, 0, WIRE_ERR_FIELD);     /* NUL inside the url */
#undef MUT
	/* a datagram longer than its length field */
	memcpy(bad, buf, n);
	bad[n] = 0;
	assert_int_equal(wire_decode(bad, n + 1, &d), WIRE_ERR_LENGTH);
}

static void encode_refuses_bad_fields(void **state)
{
	struct wire_msg m = sample();
	uint8_t buf[WIRE_MAX_LEN];

	(void)state;
	strcpy(m.node, "bad id");
	assert_int_equal(wire_encode(&m, buf, sizeof(buf)), 0);
	m = sample();
	assert_int_equal(wire_encode(&m, buf, 100), 0); /* does not fit */
	m.payload_len = WIRE_PAYLOAD_MAX + 1;
	assert_int_equal(wire_encode(&m, buf, sizeof(buf)), 0);
	assert_true(wire_valid_id("node-a.b_c:1"));
	assert_false(wire_valid_id(""));
	assert_false(wire_valid_id("123456789012345678901234567890123"));
}

/*
 * A version-2 heartbeat built by hand, as a later release may send it: the
 * version-1 layout through the payload, then 4 extension bytes, then the
 * trailer.  Node n2, slave, following n1, an unknown flag bit set.
 */
static const uint8_t v2_heartbeat[] = {
	'F', 'L', 'O', 'V', 2, 1, 0, 164,                       /* magic, version 2, heartbeat, length */
	0x12, 0x65, 0x96, 0x19, 0x1d, 0xc1, 0xeb, 0xb4,         /* cluster "lab" */
	'n', '2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* node */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 7,                                 /* boot */
	0, 0, 0, 0, 0, 0, 0, 5,                                 /* seq */
	0, 0, 0, 0, 0, 0, 0, 3,                                 /* term */
	WIRE_ROLE_SLAVE, 0x80, 0, 2,                            /* role, flags (unknown bit), position */
	0, 0, 0, 0, 0, 0, 0, 0,                                 /* cache digest */
	'n', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* target */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 100,                                           /* master age */
	0, 0,                                                   /* url length 0 */
	0, 2, 0x2a, 0xf8,                                       /* payload length 2, payload */
	0xee, 0xee, 0xee, 0xee,                                 /* extension */
	1, 0,                                                   /* key id 1, reserved */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* tag */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/*
 * The heartbeat of an ineligible slave as this release sends it (still
 * version 1: the new flag bits are what an older node ignores): n3, slave
 * of n1 at term 3, precheck failing (INELIGIBLE with NOCLAIM), the full
 * 14-byte payload (cache port 2710, settings digest, timeout 1000 ms),
 * unsigned.
 */
static const uint8_t ineligible_heartbeat[] = {
	'F', 'L', 'O', 'V', 1, 1, 0, 172,                       /* magic, version 1, heartbeat, length */
	0x12, 0x65, 0x96, 0x19, 0x1d, 0xc1, 0xeb, 0xb4,         /* cluster "lab" */
	'n', '3', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* node */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 7,                                 /* boot */
	0, 0, 0, 0, 0, 0, 0, 5,                                 /* seq */
	0, 0, 0, 0, 0, 0, 0, 3,                                 /* term */
	WIRE_ROLE_SLAVE, 0x0c, 0, 3,                            /* role, flags INELIGIBLE|NOCLAIM, position */
	0, 0, 0, 0, 0, 0, 0, 0,                                 /* cache digest */
	'n', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* target */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 100,                                           /* master age */
	0, 0,                                                   /* url length 0 */
	0, 14,                                                  /* payload length */
	0x0a, 0x96,                                             /* cache port 2710 */
	1, 2, 3, 4, 5, 6, 7, 8,                                 /* settings digest */
	0, 0, 0x03, 0xe8,                                       /* timeout 1000 ms */
	0, 0,                                                   /* key id 0, reserved */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* tag */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void ineligible_flags_golden(void **state)
{
	static const uint8_t payload[] = {0x0a, 0x96, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x03, 0xe8};
	struct wire_msg m, d;
	uint8_t buf[WIRE_MAX_LEN];

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_HEARTBEAT;
	m.cluster = wire_cluster_digest("lab");
	strcpy(m.node, "n3");
	m.boot = 7;
	m.seq = 5;
	m.term = 3;
	m.role = WIRE_ROLE_SLAVE;
	m.flags = WIRE_F_INELIGIBLE | WIRE_F_NOCLAIM;
	m.position = 3;
	strcpy(m.target, "n1");
	m.master_age = 100;
	m.payload = payload;
	m.payload_len = sizeof(payload);
	assert_int_equal(wire_encode(&m, buf, sizeof(buf)), sizeof(ineligible_heartbeat));
	assert_memory_equal(buf, ineligible_heartbeat, sizeof(ineligible_heartbeat));
	assert_int_equal(wire_decode(ineligible_heartbeat, sizeof(ineligible_heartbeat), &d), WIRE_OK);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.flags, WIRE_F_INELIGIBLE | WIRE_F_NOCLAIM);
	/* the bits are new ones, apart from what older releases knew */
	assert_int_equal(WIRE_F_INELIGIBLE & (WIRE_F_QUORUM | WIRE_F_SERVING | WIRE_F_NOCLAIM), 0);
	assert_int_equal(WIRE_F_UNHEALTHY & (WIRE_F_QUORUM | WIRE_F_SERVING | WIRE_F_NOCLAIM | WIRE_F_INELIGIBLE), 0);
}

static void newer_version_decodes_common_part(void **state)
{
	struct wire_msg d;

	(void)state;
	assert_int_equal(sizeof(v2_heartbeat), 164);
	assert_int_equal(wire_decode(v2_heartbeat, sizeof(v2_heartbeat), &d), WIRE_OK);
	assert_int_equal(d.version, 2);
	assert_true(d.version > WIRE_VERSION);
	assert_int_equal(d.type, WIRE_HEARTBEAT);
	assert_int_equal(d.cluster, wire_cluster_digest("lab"));
	assert_string_equal(d.node, "n2");
	assert_int_equal(d.boot, 7);
	assert_int_equal(d.seq, 5);
	assert_int_equal(d.term, 3);
	assert_int_equal(d.role, WIRE_ROLE_SLAVE);
	assert_int_equal(d.flags, 0x80);
	assert_int_equal(d.position, 2);
	assert_string_equal(d.target, "n1");
	assert_int_equal(d.master_age, 100);
	assert_string_equal(d.url, "");
	assert_int_equal(d.payload_len, 2);
	assert_ptr_equal(d.payload, v2_heartbeat + 124);
	assert_int_equal(d.ext_len, 4);
	/* the trailer is the last 34 bytes, whatever the extension */
	assert_int_equal(d.key_id, 1);
	assert_int_equal(wire_trailer_offset(sizeof(v2_heartbeat)), 130);
}

static void newer_version_rules(void **state)
{
	uint8_t bad[sizeof(v2_heartbeat) + 1];
	struct wire_msg d;
	size_t n = sizeof(v2_heartbeat);

	(void)state;
	/* a type this version does not know: the common part still decodes */
	memcpy(bad, v2_heartbeat, n);
	bad[5] = 9;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_OK);
	assert_int_equal(d.type, 9);
	assert_false(wire_type_known(d.type));
	assert_string_equal(d.node, "n2");
	/* version 255 follows the same rule */
	memcpy(bad, v2_heartbeat, n);
	bad[4] = 255;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_OK);
	assert_int_equal(d.version, 255);
	/* the same bytes as version 1: an extension is not allowed there */
	memcpy(bad, v2_heartbeat, n);
	bad[4] = 1;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_ERR_LENGTH);
	/* nor an unknown type */
	bad[5] = 9;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_ERR_TYPE);
	/* version 0 is below the oldest */
	memcpy(bad, v2_heartbeat, n);
	bad[4] = 0;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_ERR_VERSION);
	/* a newer version's lengths are still checked: a payload past the trailer */
	memcpy(bad, v2_heartbeat, n);
	bad[123] = 40;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_ERR_LENGTH);
	/* the length field must still match the datagram */
	memcpy(bad, v2_heartbeat, n);
	bad[n] = 0;
	assert_int_equal(wire_decode(bad, n + 1, &d), WIRE_ERR_LENGTH);
	/* and the fields their domain: a role no version defines */
	memcpy(bad, v2_heartbeat, n);
	bad[72] = 7;
	assert_int_equal(wire_decode(bad, n, &d), WIRE_ERR_FIELD);
	/* every truncation fails */
	for (size_t k = 0; k < n; k++)
		assert_true(wire_decode(v2_heartbeat, k, &d) != WIRE_OK);
}

static void we_still_send_version_1(void **state)
{
	struct wire_msg m = sample();
	uint8_t buf[WIRE_MAX_LEN];

	(void)state;
	/* releases before the version rule drop anything but version 1 */
	m.version = 2;
	assert_true(wire_encode(&m, buf, sizeof(buf)) > 0);
	assert_int_equal(buf[4], 1);
	assert_int_equal(WIRE_VERSION, 1);
}

/* A heartbeat's payload since maintenance mode: the first fields as
 * before, 14..29 zero (they are etcd_failsafe's beacons' only), the pause
 * record at 30 (pause.h), 71 bytes in all. */
static void heartbeat_pause_golden(void **state)
{
	struct wire_msg m = sample(), d;
	uint8_t payload[WIRE_HB_PAUSE_PAYLOAD] = {0}, buf[WIRE_MAX_LEN];
	struct pause_rec r = {.version = 7, .paused = 1, .by = "n2"};
	static const uint8_t golden[WIRE_HB_PAUSE_PAYLOAD] = {
		0x1f, 0x90,                                     /* 0: cache port 8080 */
		0, 0, 0, 0, 0, 0, 0x12, 0x34,                   /* 2: settings digest */
		0, 0, 0x0b, 0xb8,                               /* 10: failure timeout 3000 ms */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 14..29: zero */
		0, 0, 0, 0, 0, 0, 0, 7,                         /* 30: pause version */
		1,                                              /* 38: paused */
		'n', '2',                                       /* 39: by, NUL-padded to 32 */
	};
	size_t n, at = WIRE_HEADER_LEN + 9 + 2;

	(void)state;
	bytes_put16(payload + WIRE_HB_CACHE_PORT, 8080);
	bytes_put64(payload + WIRE_HB_SETTINGS, 0x1234);
	bytes_put32(payload + WIRE_HB_TIMEOUT, 3000);
	pause_encode(&r, payload);
	m.payload = payload;
	m.payload_len = sizeof(payload);
	n = wire_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, at + WIRE_HB_PAUSE_PAYLOAD + WIRE_TRAILER_LEN);
	assert_memory_equal(buf + at - 2, "\0\x47", 2); /* payload length 71 */
	assert_memory_equal(buf + at, golden, sizeof(golden));
	assert_int_equal(wire_decode(buf, n, &d), WIRE_OK);
	assert_int_equal(d.payload_len, WIRE_HB_PAUSE_PAYLOAD);
	{
		struct pause_rec got;
		assert_int_equal(pause_decode(d.payload, d.payload_len, &got), PAUSE_DEC_OK);
		assert_int_equal(got.version, 7);
		assert_string_equal(got.by, "n2");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_bytes), cmocka_unit_test(cluster_digest_is_fnv1a),
		cmocka_unit_test(ineligible_flags_golden),
		cmocka_unit_test(round_trip_with_payload), cmocka_unit_test(malformed),
		cmocka_unit_test(encode_refuses_bad_fields), cmocka_unit_test(newer_version_decodes_common_part),
		cmocka_unit_test(newer_version_rules), cmocka_unit_test(we_still_send_version_1),
		cmocka_unit_test(heartbeat_pause_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
