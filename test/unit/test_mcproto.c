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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests), cmocka_unit_test(incomplete), cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
