/* Unit tests of the whole-file read: empty, small, larger than every
 * growth step, with NULs, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "file.h"
#include "testutil.h"

static int setup(void **state)
{
	*state = tu_mkdtemp();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

static char *write_bytes(const char *dir, const char *name, const char *p, size_t n)
{
	char *path;
	FILE *fp;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
	return path;
}

static void whole_file_any_size(void **state)
{
	static const size_t sizes[] = {0, 1, 4095, 65535, 65536, 65537, 1000003};
	char *data, *in = malloc(1000003);
	size_t len;
	(void)state;
	for (size_t i = 0; i < 1000003; i++)
		in[i] = (char)(i * 7 % 251); /* NULs included */
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *path = write_bytes(*state, "f", in, sizes[k]);
		assert_int_equal(file_read_all(path, &data, &len), 0);
		assert_int_equal(len, sizes[k]);
		assert_memory_equal(data, in, len);
		assert_int_equal(data[len], '\0');
		free(data);
		free(path);
	}
	free(in);
}

static void errors(void **state)
{
	char *data = NULL, *path;
	size_t len = 0;
	assert_true(asprintf(&path, "%s/missing", (char *)*state) > 0);
	errno = 0;
	assert_int_equal(file_read_all(path, &data, &len), -1);
	assert_int_equal(errno, ENOENT);
	/* a directory opens but does not read */
	errno = 0;
	assert_int_equal(file_read_all(*state, &data, &len), -1);
	assert_int_equal(errno, EISDIR);
	assert_null(data);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(whole_file_any_size, setup, teardown),
		cmocka_unit_test_setup_teardown(errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
