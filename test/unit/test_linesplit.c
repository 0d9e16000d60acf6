/* Unit tests of the line splitter: lines across feeds, empty lines, the
 * rest at the end, and over-long lines passed on in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "linesplit.h"

/* every line received, joined with '|' */
struct got {
	char text[3 * LINESPLIT_MAX];
	size_t len;
	size_t lines;
	size_t longest;
};

static void collect(void *ud, const char *line, size_t len)
{
	struct got *g = ud;

	assert_true(g->len + len + 1 < sizeof(g->text));
	memcpy(g->text + g->len, line, len);
	g->len += len;
	g->text[g->len++] = '|';
	g->text[g->len] = '\0';
	g->lines++;
	if (len > g->longest)
		g->longest = len;
}

static void lines_across_feeds(void **state)
{
	struct linesplit ls = {0};
	struct got g = {0};
	(void)state;
	linesplit_feed(&ls, "one\ntw", 6, collect, &g);
	assert_string_equal(g.text, "one|");
	linesplit_feed(&ls, "o\n\nthr", 6, collect, &g);
	assert_string_equal(g.text, "one|two||");
	linesplit_feed(&ls, "ee", 2, collect, &g);
	assert_int_equal(g.lines, 3);
	linesplit_finish(&ls, collect, &g);
	assert_string_equal(g.text, "one|two||three|");
	assert_int_equal(ls.len, 0);
	/* nothing held: finish says nothing more */
	linesplit_finish(&ls, collect, &g);
	assert_int_equal(g.lines, 4);
}

static void byte_by_byte(void **state)
{
	struct linesplit ls = {0};
	struct got g = {0};
	const char *in = "a\nbc\r\nd";
	(void)state;
	for (const char *p = in; *p; p++)
		linesplit_feed(&ls, p, 1, collect, &g);
	linesplit_finish(&ls, collect, &g);
	assert_string_equal(g.text, "a|bc\r|d|");
}

static void long_line_in_pieces(void **state)
{
	struct linesplit ls = {0};
	struct got g = {0};
	size_t n = 2 * LINESPLIT_MAX + 10;
	char *in = malloc(n + 4);
	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + n, "\nok\n", 4);
	/* one feed larger than the buffer */
	linesplit_feed(&ls, in, n + 4, collect, &g);
	linesplit_finish(&ls, collect, &g);
	/* two full pieces, the 10-byte end of the line, then "ok" */
	assert_int_equal(g.lines, 4);
	assert_int_equal(g.longest, LINESPLIT_MAX);
	assert_int_equal(g.len, n + 4 + 2); /* every byte kept: n + "ok" + 4 separators */
	assert_memory_equal(g.text, in, LINESPLIT_MAX);
	assert_int_equal(g.text[LINESPLIT_MAX], '|');
	assert_memory_equal(g.text + LINESPLIT_MAX + 1, in + LINESPLIT_MAX, LINESPLIT_MAX);
	assert_memory_equal(g.text + 2 * LINESPLIT_MAX + 2, in + 2 * LINESPLIT_MAX, 10);
	assert_string_equal(g.text + 2 * LINESPLIT_MAX + 12, "|ok|");
	free(in);
}

static void exactly_full_line(void **state)
{
	struct linesplit ls = {0};
	struct got g = {0};
	char in[LINESPLIT_MAX + 1];
	(void)state;
	/* a line of LINESPLIT_MAX - 1 bytes and its newline fill the buffer: one line */
	memset(in, 'x', LINESPLIT_MAX - 1);
	in[LINESPLIT_MAX - 1] = '\n';
	linesplit_feed(&ls, in, LINESPLIT_MAX, collect, &g);
	assert_int_equal(g.lines, 1);
	assert_int_equal(g.longest, LINESPLIT_MAX - 1);
	assert_int_equal(ls.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_across_feeds),
		cmocka_unit_test(byte_by_byte),
		cmocka_unit_test(long_line_in_pieces),
		cmocka_unit_test(exactly_full_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
