/* Unit tests of the big-endian helpers: golden bytes both ways, every
 * width, and nothing written past the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"

static void put_writes_most_significant_first(void **state)
{
	uint8_t b[10];
	(void)state;
	memset(b, 0xee, sizeof(b));
	bytes_put16(b, 0x0102);
	assert_memory_equal(b, "\x01\x02\xee", 3);
	bytes_put32(b, 0x01020304u);
	assert_memory_equal(b, "\x01\x02\x03\x04\xee", 5);
	bytes_put64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08\xee", 9);
	/* a 3-byte field keeps the low three bytes */
	memset(b, 0xee, sizeof(b));
	bytes_put_be(b, 0xaabbccddull, 3);
	assert_memory_equal(b, "\xbb\xcc\xdd\xee", 4);
	bytes_put_be(b, 0x7f, 1);
	assert_int_equal(b[0], 0x7f);
}

static void get_reads_most_significant_first(void **state)
{
	static const uint8_t b[] = {0xf1, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88};
	(void)state;
	assert_int_equal(bytes_get16(b), 0xf102);
	assert_int_equal(bytes_get32(b), 0xf1020304u);
	assert_true(bytes_get64(b) == 0xf102030405060788ull);
	assert_int_equal(bytes_get_be(b + 5, 3), 0x060788);
	assert_int_equal(bytes_get_be(b, 1), 0xf1);
}

static void round_trip(void **state)
{
	static const uint64_t v[] = {0, 1, 0xff, 0x100, 0xffffffffull, 0x8000000000000000ull, UINT64_MAX};
	uint8_t b[8];
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		bytes_put64(b, v[i]);
		assert_true(bytes_get64(b) == v[i]);
		bytes_put32(b, (uint32_t)v[i]);
		assert_int_equal(bytes_get32(b), (uint32_t)v[i]);
		bytes_put16(b, (uint16_t)v[i]);
		assert_int_equal(bytes_get16(b), (uint16_t)v[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_writes_most_significant_first),
		cmocka_unit_test(get_reads_most_significant_first),
		cmocka_unit_test(round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
