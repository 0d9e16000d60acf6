/* Unit tests of the cluster key file's parser (auth.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "testutil.h"

#define HEX "8bda4813269c10f581b5b8a501346d0c8bda4813269c10f581b5b8a501346d0c"

/* loads TEXT as a key file (mode 0600); the error in ERR */
static int load(const char *text, int signing, struct auth_keys *ks, char *err, size_t len)
{
	char *dir = tu_mkdtemp(), *p = tu_write(dir, "key", text);
	int rc;

	chmod(p, 0600);
	rc = auth_load(ks, p, signing, err, len);
	free(p);
	tu_rmrf(dir);
	free(dir);
	return rc;
}

static void key_ids(void **state)
{
	struct auth_keys ks;
	char err[512];

	(void)state;
	assert_int_equal(auth_init(), 0);
	assert_int_equal(load("# comment\n1:" HEX "\n  7:" HEX "\n", 7, &ks, err, sizeof(err)), 0);
	assert_int_equal(ks.n, 2);
	assert_int_equal(ks.signing, 7);
	/* the id is the digits before the colon and nothing else */
	static const char *const bad[] = {"1x:", "x1:", ":", "0:", "256:", "-1:", "+1:", "1 :", "99999999999999999999:"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		snprintf(text, sizeof(text), "%s" HEX "\n", bad[i]);
		err[0] = '\0';
		assert_int_equal(load(text, 1, &ks, err, sizeof(err)), -1);
		if (strstr(err, ":1: expected ID:HEX with ID 1..255") == NULL)
			fail_msg("'%s': %s", bad[i], err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
