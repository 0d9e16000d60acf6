/* Unit tests of the Java .properties reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "props.h"

struct seen {
	char keys[16][64];
	char values[16][128];
	int lines[16];
	int n;
};

static int collect(void *ud, const char *key, const char *value, int line)
{
	struct seen *s = ud;
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	snprintf(s->values[s->n], sizeof(s->values[0]), "%s", value);
	s->lines[s->n++] = line;
	return 0;
}

static void parse(const char *text, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(props_parse(text, strlen(text), collect, s), 0);
}

static void separators_and_comments(void **state)
{
	struct seen s;
	(void)state;
	parse("# comment\n! other comment\n\na=1\nb : 2\nc 3\n  d=  4 \n", &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.keys[0], "a");
	assert_string_equal(s.values[0], "1");
	assert_string_equal(s.keys[1], "b");
	assert_string_equal(s.values[1], "2");
	assert_string_equal(s.keys[2], "c");
	assert_string_equal(s.values[2], "3");
	assert_string_equal(s.keys[3], "d");
	assert_string_equal(s.values[3], "4 "); /* trailing blanks belong to the value */
	assert_int_equal(s.lines[0], 4);
	assert_int_equal(s.lines[3], 7);
}

static void continuation(void **state)
{
	struct seen s;
	(void)state;
	parse("peers=a:1;\\\n      b:2\nnext=x\r\nlast=\\\\\n", &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.values[0], "a:1;b:2");
	assert_int_equal(s.lines[0], 1);
	assert_string_equal(s.keys[1], "next");
	assert_string_equal(s.values[1], "x");
	assert_int_equal(s.lines[1], 3);
	assert_string_equal(s.values[2], "\\"); /* an even number of backslashes does not continue */
}

static void escapes(void **state)
{
	struct seen s;
	(void)state;
	parse("a\\=b=c\\td\nu=\\u00e9\\u0041\nk\\ ey=v\n", &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "a=b");
	assert_string_equal(s.values[0], "c\td");
	assert_string_equal(s.values[1], "\xc3\xa9" "A");
	assert_string_equal(s.keys[2], "k ey");
}

static void empty_value_and_no_newline(void **state)
{
	struct seen s;
	(void)state;
	parse("empty=\nlast=end", &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.values[0], "");
	assert_string_equal(s.values[1], "end");
}

static int stop_at_second(void *ud, const char *key, const char *value, int line)
{
	(void)key;
	(void)value;
	(void)line;
	return ++*(int *)ud == 2 ? 7 : 0;
}

static void callback_stops(void **state)
{
	int calls = 0;
	(void)state;
	assert_int_equal(props_parse("a=1\nb=2\nc=3\n", 12, stop_at_second, &calls), 7);
	assert_int_equal(calls, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(separators_and_comments),
		cmocka_unit_test(continuation),
		cmocka_unit_test(escapes),
		cmocka_unit_test(empty_value_and_no_newline),
		cmocka_unit_test(callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
