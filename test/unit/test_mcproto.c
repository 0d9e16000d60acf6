/* Unit tests of the memcached request parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "mcproto.h"

static enum mc_status parse(const char *in, struct mc_req *r, size_t *used, char *err)
{
	return mc_parse((const uint8_t *)in, strlen(in), 250, 1000, r, used, err, 128);
}

static void requests(void **state)
{
	struct mc_req r;
	size_t used;
	char err[128];
	(void)state;
	assert_int_equal(parse("get a b c\r\n", &r, &used, err), MC_REQUEST);
	assert_int_equal(r.cmd, MC_GET);
	assert_int_equal(r.nkeys, 3);
	assert_string_equal(r.keys[2], "c");
	assert_int_equal(used, 11);
	assert_int_equal(parse("set k 5 0 3 noreply\r\nabc\r\nget k\r\n", &r, &used, err), MC_REQUEST);
	assert_int_equal(r.cmd, MC_SET);
	assert_int_equal(r.flags, 5);
	assert_int_equal(r.bytes, 3);
	assert_true(r.noreply);
	assert_memory_equal(r.data, "abc", 3);
	assert_int_equal(used, strlen("set k 5 0 3 noreply\r\nabc\r\n"));
	assert_int_equal(parse("cas k 0 -1 1 12345\r\nx\r\n", &r, &used, err), MC_REQUEST);
	assert_int_equal(r.cmd, MC_CAS);
	assert_int_equal(r.cas, 12345);
	assert_int_equal(r.exptime, -1);
	assert_int_equal(parse("delete k noreply\n", &r, &used, err), MC_REQUEST);
	assert_true(r.noreply);
	assert_int_equal(parse("stats\r\n", &r, &used, err), MC_REQUEST);
	assert_int_equal(parse("version\r\n", &r, &used, err), MC_REQUEST);
	assert_int_equal(parse("quit\r\n", &r, &used, err), MC_REQUEST);
}

static void incomplete(void **state)
{
	struct mc_req r;
	size_t used;
	char err[128];
	(void)state;
	assert_int_equal(parse("get k", &r, &used, err), MC_NEED_MORE);
	assert_int_equal(parse("set k 0 0 5\r\nab", &r, &used, err), MC_NEED_MORE);
	assert_int_equal(used, 0);
}

static void errors(void **state)
{
	struct mc_req r;
	size_t used;
	char err[128], line[3000];
	(void)state;
	assert_int_equal(parse("frob\r\n", &r, &used, err), MC_ERROR);
	assert_string_equal(err, "ERROR\r\n");
	assert_int_equal(parse("set k 0 0 2000\r\n", &r, &used, err), MC_ERROR);
	assert_string_equal(err, "SERVER_ERROR object too large for cache\r\n");
	assert_int_equal(r.skip, 2002);
	assert_false(r.close);
	assert_int_equal(parse("set k x 0 1\r\nz\r\n", &r, &used, err), MC_ERROR);
	assert_int_equal(r.skip, 3);
	assert_int_equal(parse("set k 0 0\r\n", &r, &used, err), MC_ERROR);
	assert_true(r.close);
	assert_int_equal(parse("set k 0 0 1\r\nzz\r\n", &r, &used, err), MC_ERROR);
	assert_string_equal(err, "CLIENT_ERROR bad data chunk\r\n");
	memset(line, 'k', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(parse(line, &r, &used, err), MC_ERROR);
	assert_true(r.close);
	memcpy(line, "get ", 4);
	line[300] = '\n';
	line[301] = '\0';
	assert_int_equal(parse(line, &r, &used, err), MC_ERROR); /* key over 250 */
}

/* a binary-protocol request is answered and closed at once, never
 * left waiting for a newline it does not have */
static void binary_protocol_closed(void **state)
{
	static const uint8_t get[24 + 1] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
					    0, 0, 0, 0, 0, 0, 0, 0, 'k'};
	struct mc_req r;
	size_t used;
	char err[128];

	(void)state;
	assert_int_equal(mc_parse(get, sizeof(get), 250, 1000, &r, &used, err, sizeof(err)), MC_ERROR);
	assert_true(r.close);
	assert_int_equal(used, sizeof(get));
	assert_non_null(strstr(err, "CLIENT_ERROR the binary protocol is not served here"));
	/* even its first byte alone */
	assert_int_equal(mc_parse(get, 1, 250, 1000, &r, &used, err, sizeof(err)), MC_ERROR);
	assert_true(r.close);
}

/* keys with a control character, a tab or DEL are refused, as memcached does */
static void control_characters_in_keys(void **state)
{
	static const char *const bad[] = {"get a\tb\r\n", "get a\x01\r\n", "delete a\x7f\r\n",
					  "set a\tb 0 0 1\r\nz\r\n", "set \x1b[2J 0 0 1\r\nz\r\n"};
	struct mc_req r;
	size_t used;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &r, &used, err), MC_ERROR);
		assert_non_null(strstr(err, "CLIENT_ERROR bad command line format"));
		assert_false(r.close); /* the stream goes on: a set's data is skipped */
	}
	assert_int_equal(parse("set \x1b[2J 0 0 1\r\nz\r\n", &r, &used, err), MC_ERROR);
	assert_int_equal(r.skip, 3);
	/* UTF-8 and punctuation stay allowed */
	assert_int_equal(parse("get caf\xc3\xa9:{x}\r\n", &r, &used, err), MC_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests), cmocka_unit_test(incomplete), cmocka_unit_test(errors),
		cmocka_unit_test(binary_protocol_closed), cmocka_unit_test(control_characters_in_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
