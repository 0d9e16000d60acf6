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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

/* A receiver on loopback standing for the cluster, and the route to it. */
static int listener(struct sockaddr_in *to)
{
	socklen_t sl = sizeof(*to);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)to, sizeof(*to)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)to, &sl), 0);
	return fd;
}

/* Datagrams waiting on fd, each checked against want. */
static int received(int fd, const char *want)
{
	char buf[64];
	int n = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) >= 0) {
		buf[r] = '\0';
		assert_string_equal(buf, want);
		n++;
	}
	return n;
}

/* The launcher killed: its end of the socket closed by the kernel, with no
 * graceful fence_close (which withdraws the notice). */
static void launcher_dies(struct fence *f)
{
	close(f->sock);
	f->sock = -1;
}

/* The death notice goes out once the launcher is dead and its broker gone,
 * the last one published, every copy; not while the broker lives. */
static void announces_when_launcher_and_broker_are_gone(void **state)
{
	struct sockaddr_in to;
	struct fence f;
	char err[128];
	int rx = listener(&to), tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), pidfd, st;
	pid_t b, c, fp;

	(void)state;
	b = broker(&c); /* first: it must not hold a copy of the launcher's end (a broker execs) */
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	fp = f.pid;
	assert_int_equal(fence_route(&f, tx, &to, 1), 0);
	close(tx); /* the fence has its own copy */
	pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	fence_publish(&f, clock_mono_ms() + 5000, 0, clock_mono_ms());
	fence_hand(&f, pidfd, b);
	fence_notice(&f, "notice 1", 8);
	fence_notice(&f, "notice 2", 8);
	sleep_ms(50);
	assert_int_equal(received(rx, ""), 0); /* alive: nothing */
	/* as PR_SET_PDEATHSIG does to the broker, the fence does to its whole
	 * group at once, and announces once the broker has exited */
	launcher_dies(&f);
	sleep_ms(300);
	assert_true(dead(c));
	assert_int_equal(killed_by(b), SIGKILL);
	assert_int_equal(received(rx, "notice 2"), FENCE_NOTICE_COPIES);
	assert_int_equal(waitpid(fp, &st, WNOHANG), fp);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(pidfd);
	close(rx);
}

/* No notice: after a graceful stop, once withdrawn, when the deadline
 * passed before the launcher died, or when none was published. */
static void no_notice_unless_due(void **state)
{
	struct sockaddr_in to;
	struct fence f;
	char err[128];
	int rx = listener(&to), st;

	(void)state;
	for (int how = 0; how < 4; how++) {
		int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		pid_t fp;

		assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
		fp = f.pid;
		assert_int_equal(fence_route(&f, tx, &to, 1), 0);
		close(tx);
		fence_publish(&f, clock_mono_ms() + (how == 2 ? 100 : 5000), 0, clock_mono_ms());
		if (how != 3)
			fence_notice(&f, "notice", 6);
		switch (how) {
		case 0: fence_close(&f); break;
		case 1: fence_notice(&f, NULL, 0); launcher_dies(&f); break;
		case 2: sleep_ms(200); launcher_dies(&f); break;
		case 3: launcher_dies(&f); break;
		}
		sleep_ms(200);
		assert_int_equal(waitpid(fp, &st, WNOHANG), fp);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(received(rx, ""), 0);
	}
	close(rx);
}

/* A standby lets its fence go; a broker gets a new one, which holds it. */
static void released_then_forked_again(void **state)
{
	struct fence f;
	char err[128];
	pid_t fp, b, c;
	int pidfd;

	(void)state;
	b = broker(&c);
	assert_int_equal(fence_open(&f, EV_DEFAULT, err, sizeof(err)), 0);
	fp = f.pid;
	fence_release(&f);
	assert_true(f.releasing);
	sleep_ms(200);
	assert_true(dead(fp)); /* exited, not yet reaped: fence_ensure waits for it */
	assert_int_equal(fence_ensure(&f, err, sizeof(err)), 0);
	assert_true(f.pid > 0 && f.pid != fp);
	assert_false(f.releasing);
	assert_int_equal(waitpid(fp, NULL, WNOHANG), -1); /* reaped */
	pidfd = (int)syscall(SYS_pidfd_open, b, 0);
	fence_publish(&f, clock_mono_ms() + 300, 0, clock_mono_ms());
	assert_int_equal(fence_hand(&f, pidfd, b), 0);
	/* holding a broker: not released */
	fence_release(&f);
	assert_false(f.releasing);
	sleep_ms(1200);
	assert_int_equal(killed_by(b), SIGKILL);
	sleep_ms(50);
	assert_true(dead(c));
	close(pidfd);
	fence_broker_gone(&f);
	fence_close(&f);
	assert_int_equal(fence_wait_gone(&f, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kills_at_the_deadline),
		cmocka_unit_test(kills_after_the_launcher_is_gone),
		cmocka_unit_test(exits_at_eof_without_a_broker),
		cmocka_unit_test(broker_runs_only_once_held),
		cmocka_unit_test(announces_when_launcher_and_broker_are_gone),
		cmocka_unit_test(no_notice_unless_due),
		cmocka_unit_test(released_then_forked_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
