/* Unit tests of FNV-1a 64: the published reference values, chaining, and
 * the string form agreeing with the byte form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hash.h"

static void reference_values(void **state)
{
	(void)state;
	/* from the FNV authors' test vectors */
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ull);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "foobar", 6) == 0x85944171f73967e8ull);
	assert_true(hash_fnv1a_str(HASH_FNV1A_INIT, "foobar") == 0x85944171f73967e8ull);
}

static void chaining_is_one_pass(void **state)
{
	uint64_t h;
	(void)state;
	h = hash_fnv1a_str(HASH_FNV1A_INIT, "foo");
	assert_true(hash_fnv1a(h, "bar", 3) == 0x85944171f73967e8ull);
	/* bytes past a NUL count in the byte form only */
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a\0b", 3) != hash_fnv1a_str(HASH_FNV1A_INIT, "a\0b"));
	assert_true(hash_fnv1a(HASH_FNV1A_INIT, "a", 1) == hash_fnv1a_str(HASH_FNV1A_INIT, "a\0b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_values),
		cmocka_unit_test(chaining_is_one_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
