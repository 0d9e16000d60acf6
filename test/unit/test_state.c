/* Unit tests of the state directory files: what releases up to 64aed0b
 * wrote is read back, and what we write is what they read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* The election file: what a claim or vote promised, with the term file
 * written alongside (max_term) for releases that read only that; keys
 * unknown to us are skipped, a missing file is all zero. */
static void election_file(void **state)
{
	const char *dir = *state;
	uint64_t mt, vt;
	char vf[33];

	assert_int_equal(state_read_election(dir, &mt, &vt, vf, sizeof(vf)), -1);
	assert_int_equal(mt + vt, 0);
	assert_string_equal(vf, "");
	assert_int_equal(state_write_election(dir, 12, 11, "n2"), 0);
	assert_string_equal(slurp(dir, "election"), "max_term=12\nvoted_term=11\nvoted_for=n2\n");
	assert_string_equal(slurp(dir, "term"), "12\n");
	assert_int_equal(state_read_election(dir, &mt, &vt, vf, sizeof(vf)), 0);
	assert_int_equal(mt, 12);
	assert_int_equal(vt, 11);
	assert_string_equal(vf, "n2");
	free(tu_write(dir, "election", "future=1\nvoted_for=n3\nvoted_term=20\nmax_term=21\n"));
	assert_int_equal(state_read_election(dir, &mt, &vt, vf, sizeof(vf)), 0);
	assert_int_equal(mt, 21);
	assert_int_equal(vt, 20);
	assert_string_equal(vf, "n3");
}

/* a write cut short (a full disk, here a file size limit) reports the
 * error that stopped it, leaves no temporary file and the old file whole */
static void short_write_reports_why(void **state)
{
	const char *dir = *state;
	char path[512], tmp[600], big[8192];
	struct rlimit old, lim;
	void (*was)(int);

	snprintf(path, sizeof(path), "%s/status", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(state_write_file(path, "role=slave\n", 11, 0), 0);
	memset(big, 'x', sizeof(big));
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	was = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	errno = EAGAIN; /* what a loop leaves behind */
	assert_int_equal(state_write_file(path, big, sizeof(big), 0), -1);
	assert_int_equal(errno, EFBIG);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, was);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_string_equal(slurp(dir, "status"), "role=slave\n");
}

/* a state directory removed under a writer: the write says so (ENOENT),
 * and state_mkdir makes it again */
static void removed_directory(void **state)
{
	const char *dir = *state;
	char sub[512], path[600];

	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(path, sizeof(path), "%s/term", sub);
	assert_int_equal(state_mkdir(sub), 0);
	assert_int_equal(state_write_term(sub, 7), 0);
	tu_rmrf(sub);
	assert_int_equal(state_write_term(sub, 8), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(state_mkdir(sub), 0);
	assert_int_equal(state_write_term(sub, 8), 0);
	assert_int_equal(state_read_term(sub), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_old_files, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(writes_the_frozen_format, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(missing_term_is_zero, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(election_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(short_write_reports_why, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(removed_directory, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
