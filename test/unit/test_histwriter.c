/* The history's writer thread against a real directory (histwriter.h):
 * the file stays bounded, survives a reopen, is cleaned of bad lines, and
 * a failing write is reported, never fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file.h"
#include "histwriter.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_histwriter.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/history", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Runs the loop until the thread has written everything handed to it. */
static void drain(struct ev_loop *loop, struct history_log *l)
{
	for (int i = 0; i < 5000; i++) {
		int idle;

		ev_run(loop, EVRUN_NOWAIT);
		pthread_mutex_lock(&l->mu);
		idle = !l->have_job && !l->busy && !l->have_result;
		pthread_mutex_unlock(&l->mu);
		if (idle)
			return;
		usleep(1000);
	}
	fail_msg("the writer did not finish");
}

static size_t file_lines(int *bad)
{
	char path[128], *data, *p;
	size_t len, n = 0;
	struct history_entry e;

	snprintf(path, sizeof(path), "%s/history", dir);
	assert_int_equal(file_read_all(path, &data, &len), 0);
	*bad = 0;
	for (p = data; p < data + len;) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		assert_non_null(nl);
		if (history_decode(p, (size_t)(nl + 1 - p), &e) != 0)
			(*bad)++;
		n++;
		p = nl + 1;
	}
	free(data);
	return n;
}

static void bounded_and_reloaded(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct history_log *l = history_log_open(loop, dir);
	int bad;

	(void)state;
	assert_non_null(l);
	assert_int_equal(l->ring.n, 0);
	for (int i = 0; i < 1000; i++) {
		history_log_add(l, (uint64_t)i, HISTORY_ROLE, "n1", "entry %d", i);
		if (i % 7 == 0)
			drain(loop, l);
		assert_true(l->file_lines <= 2 * HISTORY_MAX);
	}
	drain(loop, l);
	assert_true(file_lines(&bad) <= 2 * HISTORY_MAX);
	assert_int_equal(bad, 0);
	assert_int_equal(l->failing, 0);
	history_log_close(l);
	l = history_log_open(loop, dir);
	assert_int_equal(l->ring.n, HISTORY_MAX);
	assert_string_equal(history_at(&l->ring, 0)->reason, "entry 800");
	assert_string_equal(history_at(&l->ring, HISTORY_MAX - 1)->reason, "entry 999");
	history_log_close(l);
	ev_loop_destroy(loop);
}

static void bad_lines_cleaned_by_the_next_entry(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct history_log *l;
	char path[128];
	FILE *f;
	int bad;

	(void)state;
	snprintf(path, sizeof(path), "%s/history", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("h1 1 1 role n1 kept\ngarbage\nh1 2 1 fence n1 also kept\nh1 3 1 ro", f);
	fclose(f);
	l = history_log_open(loop, dir);
	assert_int_equal(l->ring.n, 2);
	history_log_add(l, 2, HISTORY_HEALTH, "n1", "new");
	drain(loop, l);
	assert_int_equal(file_lines(&bad), 3);
	assert_int_equal(bad, 0);
	history_log_close(l);
	ev_loop_destroy(loop);
}

static void a_failing_write_is_reported_not_fatal(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct history_log *l = history_log_open(loop, "/nonexistent-dir-of-test-histwriter");

	(void)state;
	assert_non_null(l);
	history_log_add(l, 1, HISTORY_ROLE, "n1", "cannot be written");
	drain(loop, l);
	assert_int_equal(l->failing, 1);
	assert_int_equal(l->need_rewrite, 1);
	assert_int_equal(l->ring.n, 1); /* kept in memory */
	history_log_close(l);
	ev_loop_destroy(loop);
}

/* The file is read at start, before the loop runs: a FIFO (or a device)
 * put in its place must not hang the start (an open or read that blocks
 * forever), nor a huge file be read whole. */
static void a_fifo_does_not_hang_the_start(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct history_log *l;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/history", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* tried in a child, which may hang: killed after 3 s */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		l = history_log_open(loop, dir);
		_exit(l != NULL && l->ring.n == 0 ? 0 : 1);
	}
	int st = -1, done = 0;
	for (int i = 0; i < 300 && !done; i++) {
		done = waitpid(pid, &st, WNOHANG) == pid;
		if (!done)
			usleep(10000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail_msg("history_log_open hung on a FIFO");
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	l = history_log_open(loop, dir);
	assert_non_null(l);
	assert_int_equal(l->ring.n, 0);
	history_log_close(l);
	ev_loop_destroy(loop);
}

/* A rewrite goes through history.tmp: a symlink left there must not make
 * the daemon truncate whatever it points to. */
static void a_symlinked_tmp_is_not_followed(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);
	struct history_log *l;
	char path[128], tmp[128], victim[128], *data;
	size_t len;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/history", dir);
	snprintf(tmp, sizeof(tmp), "%s/history.tmp", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_non_null(f = fopen(victim, "w"));
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_non_null(f = fopen(path, "w"));
	fputs("garbage\n", f); /* the next entry rewrites the file */
	fclose(f);
	l = history_log_open(loop, dir);
	history_log_add(l, 1, HISTORY_ROLE, "n1", "rewrite");
	drain(loop, l);
	history_log_close(l);
	ev_loop_destroy(loop);
	assert_int_equal(file_read_all(victim, &data, &len), 0);
	assert_string_equal(data, "precious\n");
	free(data);
	unlink(victim);
	unlink(tmp);
}

/* Closed while its thread writes, again and again: nothing is used after
 * it is freed, and nothing is left behind (the sanitizer's leak check). */
static void closed_while_writing(void **state)
{
	struct ev_loop *loop = ev_loop_new(0);

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct history_log *l = history_log_open(loop, dir);

		assert_non_null(l);
		for (int i = 0; i < 5; i++)
			history_log_add(l, (uint64_t)i, HISTORY_ROLE, "n1", "round %d entry %d", round, i);
		history_log_close(l);
	}
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bounded_and_reloaded, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_lines_cleaned_by_the_next_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failing_write_is_reported_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(a_fifo_does_not_hang_the_start, setup, teardown),
		cmocka_unit_test_setup_teardown(a_symlinked_tmp_is_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_while_writing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
