/*
 * One allocation per running hook, freed when its process is reaped and
 * its output pipes are closed.
 */
#include "hook.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "exitstatus.h"
#include "linesplit.h"
#include "log.h"
#include "spawn.h"

extern char **environ;

struct hook_run {
	struct ev_loop *loop;
	char name[16];
	pid_t pid;
	int exited;
	ev_child child_w;
	ev_timer timeout_w;
	ev_io io_w[2];
	int fd[2];
	struct linesplit lines[2]; /* stdout, stderr */
};

static void maybe_free(struct hook_run *h)
{
	if (h->exited && h->fd[0] < 0 && h->fd[1] < 0)
		free(h);
}

static void line_cb(void *ud, const char *line, size_t len)
{
	struct hook_run *h = ud;

	/* a chatty hook must not crowd out the launcher's own lines */
	log_child_line("hook %s[%ld]: %.*s", h->name, (long)h->pid, (int)len, line);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hook_run *h = w->data;
	int k = w == &h->io_w[0] ? 0 : 1;
	char in[LINESPLIT_MAX];
	ssize_t n;

	(void)revents;
	n = read(h->fd[k], in, sizeof(in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		linesplit_finish(&h->lines[k], line_cb, h);
		ev_io_stop(loop, w);
		close(h->fd[k]);
		h->fd[k] = -1;
		maybe_free(h);
		return;
	}
	linesplit_feed(&h->lines[k], in, (size_t)n, line_cb, h);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct hook_run *h = w->data;
	int st = w->rstatus;
	char how[128];

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &h->timeout_w);
	kill(-h->pid, SIGKILL); /* anything it left behind */
	exitstatus_describe(st, how, sizeof(how));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		log_info("hook %s[%ld] done", h->name, (long)h->pid);
	else
		log_warn("hook %s[%ld] %s%s", h->name, (long)h->pid, WIFEXITED(st) ? "failed: " : "", how);
	h->exited = 1;
	maybe_free(h);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hook_run *h = w->data;

	(void)loop;
	(void)revents;
	log_warn("hook %s[%ld] still running after its timeout: killing it", h->name, (long)h->pid);
	kill(-h->pid, SIGKILL);
}

int hook_run(struct ev_loop *loop, const char *cmd, const struct hook_env *env, long timeout_ms)
{
	struct strlist e = {0};
	struct command_failover fenv;
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct spawn_req req;
	struct spawn_res res;
	struct hook_run *h;

	if (cmd == NULL || *cmd == '\0')
		return -1;
	/* like the broker: nothing of the launcher's relation with systemd */
	fenv = (struct command_failover){.event = env->event, .role = env->role, .node = env->node,
					 .master = env->master, .term = env->term};
	if (command_child_env(&e, environ, &fenv) != 0) {
		/* never a hook without its fencing token */
		log_err("cannot run the %s hook: out of memory", env->event);
		strlist_clear(&e);
		return -1;
	}
	req = (struct spawn_req){.argv = argv, .envp = e.v, .cwd = NULL, .capture = 1};
	h = calloc(1, sizeof(*h));
	if (h == NULL || spawn(&req, &res) != 0) {
		log_err("cannot run the %s hook: %s", env->event, strerror(errno));
		free(h);
		strlist_clear(&e);
		return -1;
	}
	strlist_clear(&e);
	h->loop = loop;
	h->pid = res.pid;
	snprintf(h->name, sizeof(h->name), "%s", env->event);
	ev_child_init(&h->child_w, child_cb, res.pid, 0);
	h->child_w.data = h;
	ev_child_start(loop, &h->child_w);
	ev_timer_init(&h->timeout_w, timeout_cb, timeout_ms / 1000.0, 0.);
	h->timeout_w.data = h;
	ev_timer_start(loop, &h->timeout_w);
	h->fd[0] = res.out_fd;
	h->fd[1] = res.err_fd;
	for (int k = 0; k < 2; k++) {
		ev_io_init(&h->io_w[k], io_cb, h->fd[k], EV_READ);
		h->io_w[k].data = h;
		ev_io_start(loop, &h->io_w[k]);
	}
	log_info("hook %s[%ld] started: %s", h->name, (long)h->pid, cmd);
	return 0;
}
