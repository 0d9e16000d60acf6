/* Unit tests of the pause record (pause.h): the merge table, the
 * heartbeat field and its hostile forms, the text form, and which peers
 * would not obey a pause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"
#include "election.h"
#include "pause.h"

static struct pause_rec rec(uint64_t v, int paused, const char *by)
{
	struct pause_rec r;

	memset(&r, 0, sizeof(r));
	r.version = v;
	r.paused = (uint8_t)paused;
	strcpy(r.by, by);
	return r;
}

static void merge_table(void **state)
{
	static const struct {
		uint64_t av; int ap; const char *ab;
		uint64_t bv; int bp; const char *bb;
		int newer;
	} t[] = {
		/* the higher version wins, whatever it says */
		{0, 0, "", 1, 1, "n1", 1},
		{1, 1, "n1", 2, 0, "n2", 1},
		{2, 0, "n2", 1, 1, "n9", 0},
		{5, 1, "n1", 4, 1, "n9", 0},
		/* one version set twice: paused wins, then the greater id */
		{3, 0, "n9", 3, 1, "n1", 1},
		{3, 1, "n1", 3, 0, "n9", 0},
		{3, 1, "n1", 3, 1, "n2", 1},
		{3, 1, "n2", 3, 1, "n1", 0},
		{3, 0, "n1", 3, 0, "n2", 1},
		/* the same record: no change */
		{3, 1, "n2", 3, 1, "n2", 0},
		{0, 0, "", 0, 0, "", 0},
		/* invalid records never win */
		{0, 0, "", PAUSE_VERSION_MAX + 1, 1, "n1", 0},
		{0, 0, "", UINT64_MAX, 0, "n1", 0},
		{0, 0, "", 1, 2, "n1", 0},
		{0, 0, "", 1, 1, "", 0},
		{0, 0, "", 1, 1, "bad id", 0},
		{0, 0, "", 0, 1, "", 0},
		{0, 0, "", 0, 0, "n1", 0},
		{1, 0, "n1", PAUSE_VERSION_MAX, 1, "n1", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pause_rec a = rec(t[i].av, t[i].ap, t[i].ab), b = rec(t[i].bv, t[i].bp, t[i].bb);
		struct pause_rec m = a;
		if (pause_newer(&a, &b) != t[i].newer)
			fail_msg("row %zu", i);
		assert_int_equal(pause_merge(&m, &b), t[i].newer);
		assert_memory_equal(&m, t[i].newer ? &b : &a, sizeof(m));
	}
}

/* Whatever order the records arrive in, every node ends on the same one. */
static void merge_converges(void **state)
{
	struct pause_rec r[5] = {rec(4, 0, "n3"), rec(4, 1, "n1"), rec(3, 1, "n9"), rec(4, 1, "n2"), rec(1, 0, "n1")};
	struct pause_rec first;

	(void)state;
	for (int perm = 0; perm < 120; perm++) {
		int idx[5] = {0, 1, 2, 3, 4}, p = perm;
		struct pause_rec m = rec(0, 0, "");
		/* the perm-th permutation */
		for (int i = 0; i < 5; i++) {
			int k = i + p % (5 - i), x = idx[i];
			p /= 5 - i;
			idx[i] = idx[k];
			idx[k] = x;
		}
		for (int i = 0; i < 5; i++)
			pause_merge(&m, &r[idx[i]]);
		if (perm == 0)
			first = m;
		assert_memory_equal(&m, &first, sizeof(m));
	}
	assert_int_equal(first.version, 4);
	assert_int_equal(first.paused, 1);
	assert_string_equal(first.by, "n2");
}

static void next_version(void **state)
{
	struct pause_rec k = rec(6, 0, "n1"), o;

	(void)state;
	assert_int_equal(pause_next(&k, 1, "n2", &o), 0);
	assert_int_equal(o.version, 7);
	assert_int_equal(o.paused, 1);
	assert_string_equal(o.by, "n2");
	assert_true(pause_newer(&k, &o));
	/* nothing follows the last version (it cannot be wrapped) */
	k = rec(PAUSE_VERSION_MAX, 1, "n1");
	assert_int_equal(pause_next(&k, 0, "n2", &o), -1);
	k = rec(1, 0, "n1");
	assert_int_equal(pause_next(&k, 0, "not valid", &o), -1);
}

static void heartbeat_field_golden(void **state)
{
	uint8_t payload[WIRE_HB_PAUSE_PAYLOAD];
	struct pause_rec r = rec(0x0102030405060708ull & PAUSE_VERSION_MAX, 1, "n2"), d;
	static const uint8_t golden[] = {0, 0, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 1, 'n', '2', 0};

	(void)state;
	assert_int_equal(WIRE_HB_PAUSE, 30);
	assert_int_equal(WIRE_HB_PAUSE_PAYLOAD, 71);
	memset(payload, 0xee, sizeof(payload));
	pause_encode(&r, payload);
	assert_int_equal(payload[WIRE_HB_PAUSE - 1], 0xee); /* nothing before its offset */
	assert_memory_equal(payload + WIRE_HB_PAUSE, golden, sizeof(golden));
	for (size_t i = WIRE_HB_PAUSE + 11; i < sizeof(payload); i++)
		assert_int_equal(payload[i], 0);
	assert_int_equal(pause_decode(payload, sizeof(payload), &d), PAUSE_DEC_OK);
	assert_memory_equal(&d, &r, sizeof(d));
	/* longer payloads (a later release's fields after it) still decode */
	{
		uint8_t longer[WIRE_HB_PAUSE_PAYLOAD + 10];
		memset(longer, 0x55, sizeof(longer));
		memcpy(longer, payload, sizeof(payload));
		assert_int_equal(pause_decode(longer, sizeof(longer), &d), PAUSE_DEC_OK);
		assert_string_equal(d.by, "n2");
	}
	/* a 32-byte id fills the field with no NUL */
	r = rec(9, 0, "abcdefghijklmnopqrstuvwxyz012345");
	pause_encode(&r, payload);
	assert_int_equal(pause_decode(payload, sizeof(payload), &d), PAUSE_DEC_OK);
	assert_string_equal(d.by, r.by);
}

static void hostile_decode(void **state)
{
	uint8_t payload[WIRE_HB_PAUSE_PAYLOAD], bad[WIRE_HB_PAUSE_PAYLOAD];
	struct pause_rec r = rec(7, 1, "n2"), d;

	(void)state;
	memset(payload, 0, sizeof(payload));
	pause_encode(&r, payload);
	/* older releases: every shorter payload is "absent", never a record */
	for (size_t n = 0; n < WIRE_HB_PAUSE_PAYLOAD; n++)
		assert_int_equal(pause_decode(payload, n, &d), PAUSE_DEC_ABSENT);
	assert_int_equal(pause_decode(NULL, 100, &d), PAUSE_DEC_ABSENT);
	/* paused out of its domain */
	memcpy(bad, payload, sizeof(bad));
	bad[WIRE_HB_PAUSE + 8] = 2;
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	/* bytes after the id's NUL */
	memcpy(bad, payload, sizeof(bad));
	bad[WIRE_HB_PAUSE + 9 + 5] = 'x';
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	/* a byte an id may not hold */
	memcpy(bad, payload, sizeof(bad));
	bad[WIRE_HB_PAUSE + 9] = ' ';
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	/* no author for a set version */
	memcpy(bad, payload, sizeof(bad));
	memset(bad + WIRE_HB_PAUSE + 9, 0, WIRE_ID_MAX);
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	/* a version nothing could follow */
	memcpy(bad, payload, sizeof(bad));
	bytes_put64(bad + WIRE_HB_PAUSE, UINT64_MAX);
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	bytes_put64(bad + WIRE_HB_PAUSE, PAUSE_VERSION_MAX + 1);
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	/* version 0 must say nothing */
	memcpy(bad, payload, sizeof(bad));
	bytes_put64(bad + WIRE_HB_PAUSE, 0);
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
	memset(bad + WIRE_HB_PAUSE + 8, 0, 1 + WIRE_ID_MAX);
	assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_OK);
	assert_int_equal(d.version, 0);
	/* a record that fails decode is never merged */
	{
		struct pause_rec m = rec(1, 0, "n1");
		bytes_put64(bad + WIRE_HB_PAUSE, UINT64_MAX);
		bad[WIRE_HB_PAUSE + 8] = 1;
		memcpy(bad + WIRE_HB_PAUSE + 9, "n9", 2);
		assert_int_equal(pause_decode(bad, sizeof(bad), &d), PAUSE_DEC_BAD);
		d.version = UINT64_MAX;
		assert_int_equal(pause_merge(&m, &d), 0);
		assert_int_equal(m.version, 1);
	}
}

static void text_form(void **state)
{
	struct pause_rec r = rec(7, 1, "n2"), d;
	char buf[PAUSE_TEXT_MAX];
	size_t n;

	(void)state;
	n = pause_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "version=7 paused=1 by=n2");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(pause_parse(buf, n, &d), 0);
	assert_memory_equal(&d, &r, sizeof(d));
	/* a newline at its end, other orders, unknown keys */
	assert_int_equal(pause_parse("version=7 paused=1 by=n2\n", 25, &d), 0);
	assert_int_equal(pause_parse("by=n2 paused=1 later=x version=7", 32, &d), 0);
	assert_memory_equal(&d, &r, sizeof(d));
	r = rec(0, 0, "");
	n = pause_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "version=0 paused=0 by=");
	assert_int_equal(pause_parse(buf, n, &d), 0);
	assert_int_equal(d.version, 0);
}

static void text_refused(void **state)
{
	static const char *const bad[] = {
		"", "\n", "version=7 paused=1", "version=7 by=n2", "paused=1 by=n2",
		"version=7 paused=2 by=n2", "version=-7 paused=1 by=n2", "version=+7 paused=1 by=n2",
		"version= 7 paused=1 by=n2", "version=7x paused=1 by=n2", "version=7 paused=1 by=n 2",
		"version=7 paused=1 by=", "version=0 paused=1 by=", "version=0 paused=0 by=n1",
		"version=7 version=8 paused=1 by=n2", "version=7 paused=1 paused=0 by=n2",
		"version=18446744073709551615 paused=1 by=n2", "version=18446744073709551616 paused=1 by=n2",
		"version=281474976710656 paused=1 by=n2", "version=7 paused=1 by=n2\nversion=8 paused=0 by=n1",
		"version=7 paused=1 by=abcdefghijklmnopqrstuvwxyz0123456", "garbage", "version=7 paused=1 by=n2 x",
	};
	struct pause_rec d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pause_parse(bad[i], strlen(bad[i]), &d) != -1)
			fail_msg("parsed: '%s'", bad[i]);
	/* an embedded NUL */
	assert_int_equal(pause_parse("version=7\0paused=1 by=n2", 24, &d), -1);
	/* the largest version that may be kept */
	assert_int_equal(pause_parse("version=281474976710655 paused=1 by=n2", 38, &d), 0);
}

static void unaware_peers(void **state)
{
	static struct election e;
	struct el_params p = {.self = "n1", .delay_ms = 100, .retries = 3};
	char list[64];

	(void)state;
	election_init(&e, &p, 1000);
	e.npeers = 3;
	strcpy(e.peers[0].id, "n2");
	strcpy(e.peers[1].id, "n3");
	strcpy(e.peers[2].id, "n4");
	for (int i = 0; i < 3; i++) {
		e.peers[i].last_seen = 1000;
		e.peers[i].hb_heard = 1;
		e.peers[i].hb_payload_len = WIRE_HB_PAUSE_PAYLOAD;
	}
	assert_int_equal(pause_unaware_peers(&e, 1000, list, sizeof(list)), 0);
	assert_string_equal(list, "");
	/* an older release's heartbeat: 14 bytes of payload */
	e.peers[1].hb_payload_len = WIRE_HB_PAYLOAD;
	e.peers[2].hb_payload_len = 2;
	assert_int_equal(pause_unaware_peers(&e, 1000, list, sizeof(list)), 2);
	assert_string_equal(list, "n3, n4");
	/* no heartbeat heard yet: not known to be older */
	e.peers[2].hb_heard = 0;
	assert_int_equal(pause_unaware_peers(&e, 1000, list, sizeof(list)), 1);
	/* a dead peer does not count */
	assert_int_equal(pause_unaware_peers(&e, 1000 + 10 * e.timeout, list, sizeof(list)), 0);
	/* the list is cut, the count is not */
	e.peers[2].hb_heard = 1;
	assert_int_equal(pause_unaware_peers(&e, 1000, list, 3), 2);
	assert_true(strlen(list) <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_table), cmocka_unit_test(merge_converges), cmocka_unit_test(next_version),
		cmocka_unit_test(heartbeat_field_golden), cmocka_unit_test(hostile_decode), cmocka_unit_test(text_form),
		cmocka_unit_test(text_refused), cmocka_unit_test(unaware_peers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
