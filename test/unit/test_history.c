/* Unit tests of the failover history's ring and line format (history.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static struct history *fresh(size_t cap)
{
	static struct history h;

	history_init(&h, cap);
	return &h;
}

/* The ring's output as a NUL-terminated string (freed by the caller). */
static char *format(const struct history *h, int json)
{
	struct buf b = {0};
	char *s;

	assert_int_equal(history_format(h, json, 0, &b), 0);
	s = malloc(b.len - b.off + 1);
	if (b.len > b.off)
		memcpy(s, b.p + b.off, b.len - b.off);
	s[b.len - b.off] = '\0';
	buf_free(&b);
	return s;
}

static void round_trip(void **state)
{
	struct history_entry in = {.wall_ms = 1764925557123ULL, .term = 42, .kind = HISTORY_HANDOVER}, out;
	char line[HISTORY_LINE_MAX];
	size_t n;

	(void)state;
	snprintf(in.node, sizeof(in.node), "n2");
	snprintf(in.reason, sizeof(in.reason), "switchover to n3 requested");
	n = history_encode(&in, line, sizeof(line));
	assert_true(n > 0);
	assert_string_equal(line, "h1 1764925557123 42 handover n2 switchover to n3 requested\n");
	assert_int_equal(history_decode(line, n, &out), 0);
	assert_int_equal(out.wall_ms, in.wall_ms);
	assert_int_equal(out.term, 42);
	assert_int_equal(out.kind, HISTORY_HANDOVER);
	assert_string_equal(out.node, "n2");
	assert_string_equal(out.reason, in.reason);
	/* without its newline too; an empty node and reason */
	assert_int_equal(history_decode(line, n - 1, &out), 0);
	memset(&in, 0, sizeof(in));
	in.kind = HISTORY_FENCE;
	n = history_encode(&in, line, sizeof(line));
	assert_string_equal(line, "h1 0 0 fence - \n");
	assert_int_equal(history_decode(line, n, &out), 0);
	assert_string_equal(out.node, "");
	assert_string_equal(out.reason, "");
}

/* Newlines, quotes, backslashes, control bytes and blanks in a node:
 * one line in the file, and the same bytes back. */
static void hostile_round_trip(void **state)
{
	struct history_entry in = {.wall_ms = 1, .term = 2, .kind = HISTORY_HEALTH}, out;
	char line[HISTORY_LINE_MAX];
	size_t n;

	(void)state;
	snprintf(in.node, sizeof(in.node), "a b\\c");
	snprintf(in.reason, sizeof(in.reason), "x\nh1 9 9 role n9 forged\r\t\"q\" \\ \x01\x1b[31m\x7f end");
	n = history_encode(&in, line, sizeof(line));
	assert_non_null(memchr(line, '\n', n));
	assert_ptr_equal(memchr(line, '\n', n), line + n - 1); /* one line */
	for (size_t i = 0; i + 1 < n; i++)
		assert_true((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] != 0x7f);
	assert_int_equal(history_decode(line, n, &out), 0);
	assert_string_equal(out.node, in.node);
	assert_string_equal(out.reason, in.reason);
}

static void corrupt_lines_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"h1\n",
		"h2 1 2 role n1 why\n",                 /* a format this version does not know */
		"h1 1 2 rolex n1 why\n",                /* unknown kind */
		"h1 x 2 role n1 why\n",
		"h1 1 2x role n1 why\n",
		"h1 1 role n1 why\n",                   /* a field missing */
		"h1 99999999999999999999 2 role n1 why\n", /* overflow */
		"h1 1 2 role  why\n",                   /* empty node */
		"h1 1 2 role n1\n",                     /* no reason field */
		"h1 1 2 role n1 a\\qb\n",               /* bad escape */
		"h1 1 2 role n1 a\\x4\n",               /* short hex */
		"h1 1 2 role n1 a\\x00b\n",             /* an escaped NUL */
		"h1 1 2 role n1 a\\\n",                 /* a lone backslash */
		"h1 1 2 role n1 a\tb\n",                /* a raw control byte */
		"h1 1 2 role n\x01 why\n",
	};
	struct history_entry e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(history_decode(bad[i], strlen(bad[i]), &e), -1);
	/* a node or reason longer than an entry holds */
	char big[HISTORY_LINE_MAX * 2];
	int n = snprintf(big, sizeof(big), "h1 1 2 role n1 ");
	memset(big + n, 'r', HISTORY_REASON_MAX + 1);
	big[n + HISTORY_REASON_MAX + 1] = '\n';
	assert_int_equal(history_decode(big, (size_t)n + HISTORY_REASON_MAX + 2, &e), -1);
	assert_int_equal(history_decode(big, (size_t)n + HISTORY_REASON_MAX + 1 - 1, &e), 0);
}

static void bounded_ring(void **state)
{
	struct history *h = fresh(5);
	char why[32];

	(void)state;
	assert_null(history_at(h, 0));
	for (int i = 0; i < 12; i++) {
		snprintf(why, sizeof(why), "r%d", i);
		history_add(h, (uint64_t)i, (uint64_t)i, HISTORY_ROLE, "n1", why);
		assert_int_equal(h->n, i < 5 ? i + 1 : 5);
	}
	assert_string_equal(history_at(h, 0)->reason, "r7"); /* the oldest kept */
	assert_string_equal(history_at(h, 4)->reason, "r11");
	assert_null(history_at(h, 5));
	/* the cap is at most HISTORY_MAX */
	h = fresh(100000);
	assert_int_equal(h->cap, HISTORY_MAX);
	for (int i = 0; i < 3 * HISTORY_MAX; i++)
		history_add(h, 1, 1, HISTORY_HEALTH, "n1", "x");
	assert_int_equal(h->n, HISTORY_MAX);
	/* long reasons cut, never inside a UTF-8 sequence */
	char longer[HISTORY_REASON_MAX + 10];
	memset(longer, 'a', sizeof(longer));
	memcpy(longer + HISTORY_REASON_MAX - 1, "\xc3\xa9", 2); /* é across the cut */
	longer[sizeof(longer) - 1] = '\0';
	h = fresh(2);
	history_add(h, 1, 1, HISTORY_ROLE, "n1", longer);
	assert_int_equal(strlen(history_at(h, 0)->reason), HISTORY_REASON_MAX - 1);
}

static void load_skips_bad_and_torn_lines(void **state)
{
	struct history *h = fresh(3);
	const char file[] = "h1 1 1 role n1 first\n"
			    "garbage\n"
			    "h1 2 1 health n1 second\n"
			    "\n"
			    "h1 3 2 fence n1 third\n"
			    "h1 4 2 handover n1 fourth\n"
			    "h1 5 3 role n1 torn";
	size_t lines, skipped;

	(void)state;
	skipped = history_load(h, file, sizeof(file) - 1, &lines);
	assert_int_equal(lines, 7);
	assert_int_equal(skipped, 3);
	/* the cap keeps the newest three whole ones */
	assert_int_equal(h->n, 3);
	assert_string_equal(history_at(h, 0)->reason, "second");
	assert_string_equal(history_at(h, 2)->reason, "fourth");
	assert_int_equal(history_at(h, 1)->kind, HISTORY_FENCE);
	/* an empty file */
	h = fresh(3);
	assert_int_equal(history_load(h, "", 0, &lines), 0);
	assert_int_equal(lines, 0);
	assert_int_equal(h->n, 0);
}

/* a full ring of reasons that escape six-fold stays within a bound: the
 * newest entries, a whole JSON array */
static void bounded_output(void **state)
{
	struct history *h = fresh(HISTORY_MAX);
	char why[HISTORY_REASON_MAX], node[HISTORY_NODE_MAX];
	struct buf b = {0};
	size_t len;

	(void)state;
	memset(why, 0x01, sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	memset(node, 0x02, sizeof(node) - 1);
	node[sizeof(node) - 1] = '\0';
	for (int i = 0; i < HISTORY_MAX; i++)
		history_add(h, (uint64_t)i, (uint64_t)i, HISTORY_FENCE, node, why);
	/* unbounded, it is larger than a control reply */
	assert_int_equal(history_format(h, 1, 0, &b), 0);
	assert_true(b.len - b.off > 256 * 1024);
	buf_free(&b);
	memset(&b, 0, sizeof(b));
	assert_int_equal(history_format(h, 1, 128 * 1024, &b), 0);
	len = b.len - b.off;
	assert_true(len <= 128 * 1024);
	assert_true(len > 100 * 1024);
	assert_memory_equal(b.p + b.off, "[{", 2);
	assert_memory_equal(b.p + b.off + len - 3, "}]\n", 3);
	/* the newest is kept, the oldest dropped */
	assert_non_null(memmem(b.p + b.off, len, "\"term\":199,", 11));
	assert_null(memmem(b.p + b.off, len, "\"term\":0,", 9));
	buf_free(&b);
	/* nothing fits: an empty array, still JSON */
	memset(&b, 0, sizeof(b));
	assert_int_equal(history_format(h, 1, 10, &b), 0);
	assert_int_equal(b.len - b.off, 3);
	assert_memory_equal(b.p + b.off, "[]\n", 3);
	buf_free(&b);
}

static void text_and_json(void **state)
{
	struct history *h = fresh(10);
	char *s;

	(void)state;
	s = format(h, 1);
	assert_string_equal(s, "[]\n");
	free(s);
	s = format(h, 0);
	assert_string_equal(s, "");
	free(s);
	history_add(h, 1764925557123ULL, 3, HISTORY_ROLE, "n2", "slave -> master (won the claim)");
	history_add(h, 1764925558000ULL, 3, HISTORY_HEALTH, "n2", "say \"hi\"\nforged line\\ \x01\x7f \xff\xfe ok \xc3\xa9");
	s = format(h, 0);
	assert_string_equal(s, "2025-12-05T09:05:57.123Z  term 3  n2  role      slave -> master (won the claim)\n"
			       "2025-12-05T09:05:58.000Z  term 3  n2  health    say \"hi\"\\nforged line\\\\ \\x01\\x7f "
			       "\xff\xfe ok \xc3\xa9\n");
	free(s);
	s = format(h, 1);
	assert_string_equal(s, "[{\"time\":\"2025-12-05T09:05:57.123Z\",\"wall_ms\":1764925557123,\"term\":3,"
			       "\"kind\":\"role\",\"node\":\"n2\",\"reason\":\"slave -> master (won the claim)\"},"
			       "{\"time\":\"2025-12-05T09:05:58.000Z\",\"wall_ms\":1764925558000,\"term\":3,"
			       "\"kind\":\"health\",\"node\":\"n2\",\"reason\":\"say \\\"hi\\\"\\u000aforged line\\\\ "
			       "\\u0001\\u007f \\ufffd\\ufffd ok \xc3\xa9\"}]\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),       cmocka_unit_test(hostile_round_trip),
		cmocka_unit_test(corrupt_lines_refused), cmocka_unit_test(bounded_ring),
		cmocka_unit_test(load_skips_bad_and_torn_lines), cmocka_unit_test(text_and_json), cmocka_unit_test(bounded_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
