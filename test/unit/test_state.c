/* Unit tests of the state directory files: what releases up to 64aed0b
 * wrote is read back, and what we write is what they read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "state.h"
#include "testutil.h"

static int setup_dir(void **state)
{
	*state = tu_mkdtemp();
	return *state == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

static char *slurp(const char *dir, const char *name)
{
	static char buf[256];
	char path[512];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* Files as 64aed0b writes them: "id\n" and "term\n". */
static void reads_old_files(void **state)
{
	const char *dir = *state;
	char id[64], err[256];

	free(tu_write(dir, "node-id", "n7-a1b2c3\n"));
	free(tu_write(dir, "term", "42\n"));
	assert_int_equal(state_node_id(dir, "", id, sizeof(id), err, sizeof(err)), 0);
	assert_string_equal(id, "n7-a1b2c3");
	assert_int_equal(state_read_term(dir), 42);
	/* the kept id is not rewritten */
	assert_string_equal(slurp(dir, "node-id"), "n7-a1b2c3\n");
}

/* What we write is the frozen format, byte for byte. */
static void writes_the_frozen_format(void **state)
{
	const char *dir = *state;
	char id[64], err[256];

	assert_int_equal(state_write_term(dir, 1234567), 0);
	assert_string_equal(slurp(dir, "term"), "1234567\n");
	assert_int_equal(state_read_term(dir), 1234567);
	assert_int_equal(state_node_id(dir, "", id, sizeof(id), err, sizeof(err)), 0);
	strcat(id, "\n");
	assert_string_equal(slurp(dir, "node-id"), id);
}

/* No file yet (a new node): term 0. */
static void missing_term_is_zero(void **state)
{
	assert_int_equal(state_read_term(*state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_old_files, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(writes_the_frozen_format, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(missing_term_is_zero, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
