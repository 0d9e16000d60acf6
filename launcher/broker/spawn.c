/*
 * fork + exec with the child set up as a supervised process should be.
 * Between fork and exec only async-signal-safe calls are made.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What every child does first: die with the parent, default signal
 * dispositions, nothing blocked. */
static void child_common(pid_t parent)
{
	sigset_t none;

	/* PR_SET_PDEATHSIG fires when the parent dies; if it died before the
	 * prctl, getppid() no longer names it and we must not run at all. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child(const struct spawn_req *req, pid_t parent, int errpipe, int in_r, int out_w, int err_w, int gate,
		  int gate_w)
{
	int fd, e;
	char go;

	child_common(parent);
	/* nothing runs before the parent lets it (spawn_req.gate) */
	if (gate >= 0) {
		ssize_t n;
		close(gate_w); /* or our own copy would keep the EOF from us */
		do
			n = read(gate, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(126);
		close(gate);
	}
	setsid();
	/* the launcher may run at a higher priority than the broker (its
	 * heartbeats must not wait for a JVM's startup threads): the child
	 * goes back to the ordinary 0 */
	setpriority(PRIO_PROCESS, 0, 0);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		goto fail;
	if (dup2(in_r >= 0 ? in_r : fd, 0) < 0 || dup2(out_w >= 0 ? out_w : fd, 1) < 0 || dup2(err_w >= 0 ? err_w : fd, 2) < 0)
		goto fail;
	if (req->cwd != NULL && chdir(req->cwd) != 0)
		goto fail;
	/* nothing else crosses exec, whatever a library left open; the error
	 * pipe is close-on-exec and survives until exec succeeds */
	if (syscall(SYS_close_range, 3, errpipe - 1, 0) != 0 ||
	    syscall(SYS_close_range, errpipe + 1, ~0U, 0) != 0)
		for (int i = 3; i < 65536; i++) /* kernels before 5.9 */
			if (i != errpipe)
				(void)close(i);
	execve(req->argv[0], req->argv, req->envp);
fail:
	e = errno;
	(void)!write(errpipe, &e, sizeof(e));
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

int spawn(const struct spawn_req *req, struct spawn_res *res)
{
	int ep[2], op[2] = {-1, -1}, xp[2] = {-1, -1}, gp[2] = {-1, -1}, ip[2] = {-1, -1};
	pid_t parent = getpid();
	ssize_t n;
	int e = 0;

	memset(res, 0, sizeof(*res));
	res->out_fd = res->err_fd = res->in_fd = -1;
	if (pipe2(ep, O_CLOEXEC) != 0)
		return -1;
	if ((req->capture && (pipe2(op, O_CLOEXEC) != 0 || pipe2(xp, O_CLOEXEC) != 0)) ||
	    (req->feed && pipe2(ip, O_CLOEXEC) != 0) ||
	    (req->gate != NULL && pipe2(gp, O_CLOEXEC) != 0)) {
		e = errno;
		goto err;
	}
	res->pid = fork();
	if (res->pid < 0) {
		e = errno;
		goto err;
	}
	if (res->pid == 0)
		child(req, parent, ep[1], ip[0], op[1], xp[1], gp[0], gp[1]);
	close(ep[1]);
	if (req->gate != NULL) {
		int ok;

		close(gp[0]);
		ok = req->gate(req->gate_ud, res->pid) == 0 && write(gp[1], "g", 1) == 1;
		close(gp[1]); /* EOF without the byte: the child exits */
		if (!ok) {
			while (waitpid(res->pid, NULL, 0) < 0 && errno == EINTR)
				;
			if (req->capture) {
				close(op[0]);
				close(xp[0]);
			}
			if (req->feed) {
				close(ip[0]);
				close(ip[1]);
			}
			close(ep[0]);
			memset(res, 0, sizeof(*res));
			res->out_fd = res->err_fd = res->in_fd = -1;
			errno = ECANCELED;
			return -1;
		}
	}
	if (req->capture) {
		close(op[1]);
		close(xp[1]);
		fcntl(op[0], F_SETFL, O_NONBLOCK);
		fcntl(xp[0], F_SETFL, O_NONBLOCK);
		res->out_fd = op[0];
		res->err_fd = xp[0];
	}
	if (req->feed) {
		close(ip[0]);
		fcntl(ip[1], F_SETFL, O_NONBLOCK);
		res->in_fd = ip[1];
	}
	/* EOF when exec succeeded (close-on-exec), an errno when it failed */
	do
		n = read(ep[0], &res->exec_errno, sizeof(res->exec_errno));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(res->exec_errno))
		res->exec_errno = 0;
	close(ep[0]);
	return 0;
err:
	for (int i = 0; i < 2; i++) {
		close(ep[i]);
		if (op[i] >= 0)
			close(op[i]);
		if (xp[i] >= 0)
			close(xp[i]);
		if (gp[i] >= 0)
			close(gp[i]);
		if (ip[i] >= 0)
			close(ip[i]);
	}
	errno = e;
	return -1;
}

pid_t spawn_fn(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		child_common(parent);
		/* none of the parent's sockets: a connection it closes must end
		 * for the other side now, not when this child exits */
		close_range(3, ~0U, 0);
		_exit(fn(arg));
	}
	return pid;
}
