/* Unit tests of the control protocol's request parser (ctlproto.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"

static int parse(const char *line, struct ctl_request *req, char *err, size_t errlen)
{
	return ctl_parse(line, strlen(line), req, err, errlen);
}

/* an unknown or empty request names every command the table has */
static void errors_list_every_command(void **state)
{
	static const char *const names[] = {"status", "peers", "switchover", "resign", "locate",
					    "metrics", "cache", "ping", "history", "pause", "resume"};
	struct ctl_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse("frobnicate", &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown command 'frobnicate'; commands: status, "));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char word[32];
		struct ctl_request r;
		char e[256];

		assert_non_null(strstr(err, names[i]));
		/* and each of them parses */
		snprintf(word, sizeof(word), "%s", names[i]);
		if (strcmp(word, "cache") == 0)
			snprintf(word, sizeof(word), "cache list");
		assert_int_equal(parse(word, &r, e, sizeof(e)), 0);
	}
	assert_int_equal(parse("   ", &req, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty request; commands: status, "));
	assert_non_null(strstr(err, ", history"));
	/* a short error buffer is cut, never overrun */
	assert_int_equal(parse("x", &req, err, 12), -1);
	assert_int_equal(strlen(err), 11);
}

static void arguments_bounded(void **state)
{
	struct ctl_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse("resign now", &req, err, sizeof(err)), -1);
	assert_string_equal(err, "resign takes at most 0 arguments");
	assert_int_equal(parse("history --json", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CTL_HISTORY);
	assert_true(req.json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_list_every_command),
		cmocka_unit_test(arguments_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
