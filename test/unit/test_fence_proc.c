/* The fence process itself (fence.c), forked for real: it kills a broker
 * whose deadline passed unrenewed (its whole process group), leaves one
 * alone while the deadline is renewed, and still kills at the deadline
 * after the launcher's end of the socket closed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fence.h"
#include "spawn.h"

/* A stand-in broker: a group leader with a child of its own, both asleep. */
static pid_t broker(pid_t *grandchild)
{
	int p[2];
	pid_t pid, c = 0;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		setsid();
		c = fork();
		if (c == 0) {
			for (;;)
				pause();
		}
		(void)!write(p[1], &c, sizeof(c));
		for (;;)
			pause();
	}
	assert_int_equal(read(p[0], &c, sizeof(c)), (ssize_t)sizeof(c));
	close(p[0]);
	close(p[1]);
	*grandchild = c;
	return pid;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The process is gone or a zombie (nobody here reaps an orphan). */
static int dead(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p == NULL || p[2] == 'Z';
}

/* The broker's fate: the signal that ended it, or 0 while it lives. */
static int killed_by(pid_t pid)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);

	if (r == 0)
		return 0;
	assert_int_equal(r, pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : -1;
}

static void kills_at_the_deadline(void **state)
{
	struct fence f;
	char err[128];
	pid_t b, c;
	int pidfd;
	uint64_t t0;

	(void)state;
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	b = broker(&c);
	pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	assert_true(pidfd >= 0);
	t0 = clock_mono_ms();
	fence_publish(&f, t0 + 300, 0, t0);
	fence_hand(&f, pidfd, b);
	/* renewed for a while: it lives */
	for (int i = 0; i < 6; i++) {
		sleep_ms(100);
		fence_publish(&f, clock_mono_ms() + 300, 0, clock_mono_ms());
	}
	assert_int_equal(killed_by(b), 0);
	/* not renewed: SIGKILL to the group, the child too */
	t0 = clock_mono_ms();
	sleep_ms(1200);
	assert_int_equal(killed_by(b), SIGKILL);
	sleep_ms(50);
	assert_true(dead(c));
	struct fence_fired ff;
	assert_int_equal(fence_take_fired(&f, &ff), 1);
	assert_int_equal(ff.sig, SIGKILL);
	assert_int_equal(ff.pid, b);
	assert_true(ff.unrenewed_ms >= 250 && ff.unrenewed_ms < 1200);
	close(pidfd);
	fence_close(&f);
	(void)t0;
}

static int gate_refuses(void *ud, pid_t pid)
{
	(void)ud, (void)pid;
	return -1;
}

static int gate_holds(void *ud, pid_t pid)
{
	struct fence *f = ud;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fence_hand(f, pidfd, pid);
}

/* A broker the fence cannot hold never runs: the child waits before exec
 * until the fence has it, and exits when refused (spawn.h, gate).  With no
 * fence process to hand it to, the hold is refused. */
static void broker_runs_only_once_held(void **state)
{
	char dir[] = "/tmp/fence-gate-XXXXXX", file[64], script[128], err[128];
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	char *envp[] = {NULL};
	struct spawn_req req = {.argv = argv, .envp = envp};
	struct spawn_res res;
	struct fence f;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/ran", dir);
	snprintf(script, sizeof(script), "echo ran > %s", file);
	req.gate = gate_refuses;
	assert_int_equal(spawn(&req, &res), -1);
	assert_int_equal(errno, ECANCELED);
	sleep_ms(200);
	assert_int_equal(access(file, F_OK), -1);
	/* a fence that is not running cannot hold it either */
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	req.gate = gate_holds;
	req.gate_ud = &f;
	assert_int_equal(spawn(&req, &res), 0);
	assert_int_equal(waitpid(res.pid, &st, 0), res.pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);
	fence_broker_gone(&f);
	fence_close(&f);
	assert_int_equal(spawn(&req, &res), -1);
	assert_int_equal(errno, ECANCELED);
	sleep_ms(200);
	assert_int_equal(access(file, F_OK), -1);
	rmdir(dir);
}

static void kills_after_the_launcher_is_gone(void **state)
{
	struct fence f;
	char err[128];
	pid_t b, c, fp;
	int pidfd, st;

	(void)state;
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	fp = f.pid;
	b = broker(&c);
	pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	fence_publish(&f, clock_mono_ms() + 400, 0, clock_mono_ms());
	fence_hand(&f, pidfd, b);
	sleep_ms(50);
	fence_close(&f); /* the socket reads EOF */
	sleep_ms(100);
	assert_int_equal(killed_by(b), 0);
	assert_int_equal(waitpid(fp, &st, WNOHANG), 0); /* holds a broker: stays */
	sleep_ms(1200);
	assert_int_equal(killed_by(b), SIGKILL);
	sleep_ms(50);
	assert_true(dead(c));
	/* then it exits */
	sleep_ms(100);
	assert_int_equal(waitpid(fp, &st, WNOHANG), fp);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(pidfd);
}

static void exits_at_eof_without_a_broker(void **state)
{
	struct fence f;
	char err[128];
	pid_t fp;
	int st;

	(void)state;
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	fp = f.pid;
	fence_close(&f);
	sleep_ms(200);
	assert_int_equal(waitpid(fp, &st, WNOHANG), fp);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* what the launcher does at exit: it waits for the fence to be gone */
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	fp = f.pid;
	fence_close(&f);
	assert_int_equal(fence_wait_gone(&f, 1000), 0);
	assert_int_equal(waitpid(fp, &st, WNOHANG), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kills_at_the_deadline),
		cmocka_unit_test(kills_after_the_launcher_is_gone),
		cmocka_unit_test(exits_at_eof_without_a_broker),
		cmocka_unit_test(broker_runs_only_once_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
