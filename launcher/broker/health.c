/*
 * Health checks and the precheck on the event loop (see health.h).
 */
#include "health.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"
#include "exitstatus.h"
#include "log.h"
#include "spawn.h"

extern char **environ;

enum { HEALTH_L_TCP = 1, HEALTH_L_CMD = 2, HEALTH_L_PROBE = 4 };

void health_params_free(struct health_params *p)
{
	free(p->tcp);
	free(p->command);
	free(p->probe);
	free(p->precheck);
	free(p->cluster);
	free(p->url);
	memset(p, 0, sizeof(*p));
}

static const char *str(const char *s)
{
	return s != NULL ? s : "";
}

/* The environment of a check's command, the helper and the precheck. */
static char **child_env(const struct health *h, const char *role, struct strlist *e)
{
	struct command_failover f = {.role = role, .node = h->node, .cluster = str(h->p.cluster), .term = h->term,
				     .broker_url = str(h->p.url), .check_timeout_ms = h->p.timeout_ms};

	return command_child_env(e, environ, &f) == 0 ? e->v : NULL;
}

/* Runs cmd through /bin/sh -c; -1 with why when it could not be. */
static int run_shell(const struct health *h, const char *cmd, const char *role, int feed, struct spawn_res *res,
		     char *why, size_t len)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct strlist e = {0};
	struct spawn_req req;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->out_fd = res->err_fd = res->in_fd = -1;
	if (child_env(h, role, &e) == NULL) {
		snprintf(why, len, "out of memory");
	} else {
		req = (struct spawn_req){.argv = argv, .envp = e.v, .capture = 1, .feed = feed};
		if (spawn(&req, res) != 0)
			snprintf(why, len, "cannot fork: %s", strerror(errno));
		else if (res->exec_errno != 0)
			snprintf(why, len, "cannot run /bin/sh: %s", strerror(res->exec_errno));
		else
			rc = 0;
	}
	strlist_clear(&e);
	return rc;
}

/* ---- one command with a time limit ---- */

static void cmd_close_pipes(struct health_cmd *c)
{
	for (int k = 0; k < 2; k++) {
		if (c->fd[k] >= 0) {
			ev_io_stop(c->loop, &c->io_w[k]);
			close(c->fd[k]);
			c->fd[k] = -1;
		}
		c->lines[k].len = 0;
	}
}

static void cmd_line_cb(void *ud, const char *line, size_t len)
{
	struct health_cmd *c = ud;

	snprintf(c->last, sizeof(c->last), "%.*s", (int)len, line);
	log_debug("health %s[%ld]: %s", c->what, (long)c->pid, c->last);
}

static void cmd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health_cmd *c = w->data;
	int k = w == &c->io_w[0] ? 0 : 1;
	char in[1024];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(c->fd[k], in, sizeof(in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		linesplit_finish(&c->lines[k], cmd_line_cb, c);
		ev_io_stop(c->loop, w);
		close(c->fd[k]);
		c->fd[k] = -1;
		return;
	}
	linesplit_feed(&c->lines[k], in, (size_t)n, cmd_line_cb, c);
}

static void cmd_finish(struct health_cmd *c, int ok, const char *why)
{
	if (c->done)
		return;
	c->done = 1;
	c->ok = ok;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->on_done != NULL)
		c->on_done(c->ud);
}

static void cmd_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct health_cmd *c = w->data;
	int st = w->rstatus;
	char how[96], why[HEALTH_REASON_MAX];

	(void)revents;
	ev_child_stop(loop, w);
	kill(-c->pid, SIGKILL); /* anything it left in its group */
	/* what it printed last says why, when it says anything */
	for (int k = 0; k < 2; k++)
		if (c->fd[k] >= 0)
			cmd_io_cb(loop, &c->io_w[k], EV_READ);
	for (int k = 0; k < 2; k++)
		linesplit_finish(&c->lines[k], cmd_line_cb, c);
	cmd_close_pipes(c);
	c->pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		cmd_finish(c, 1, "");
		return;
	}
	exitstatus_describe(st, how, sizeof(how));
	snprintf(why, sizeof(why), "%.12s %.40s%s%.100s", c->what, how, c->last[0] ? ": " : "", c->last);
	cmd_finish(c, 0, why);
}

/* 0 started; -1 failed at once (c->why says why, c->done set). */
static int cmd_start(struct health *h, struct health_cmd *c, const char *cmd, const char *role)
{
	struct spawn_res res;
	char why[HEALTH_REASON_MAX];

	c->done = 0;
	c->last[0] = '\0';
	if (c->pid != 0) {
		snprintf(why, sizeof(why), "%s: the last one (pid %ld) is not gone yet", c->what, (long)c->pid);
		cmd_finish(c, 0, why);
		return -1;
	}
	if (run_shell(h, cmd, role, 0, &res, why, sizeof(why)) != 0) {
		char w2[HEALTH_REASON_MAX];
		snprintf(w2, sizeof(w2), "%s: %.140s", c->what, why);
		if (res.pid > 0) { /* exec failed: the child exits 126/127 and is reaped below */
			c->pid = res.pid;
			ev_child_set(&c->child_w, res.pid, 0);
			ev_child_start(c->loop, &c->child_w);
			if (res.out_fd >= 0)
				close(res.out_fd);
			if (res.err_fd >= 0)
				close(res.err_fd);
		}
		cmd_finish(c, 0, w2);
		return -1;
	}
	c->pid = res.pid;
	ev_child_set(&c->child_w, res.pid, 0);
	ev_child_start(c->loop, &c->child_w);
	c->fd[0] = res.out_fd;
	c->fd[1] = res.err_fd;
	for (int k = 0; k < 2; k++) {
		ev_io_set(&c->io_w[k], c->fd[k], EV_READ);
		ev_io_start(c->loop, &c->io_w[k]);
	}
	return 0;
}

/* The time ran out: its group is killed; reaped by the child watcher. */
static void cmd_kill(struct health_cmd *c, const char *why)
{
	if (c->pid != 0)
		kill(-c->pid, SIGKILL);
	cmd_close_pipes(c);
	cmd_finish(c, 0, why);
}

static void cmd_init(struct health_cmd *c, struct ev_loop *loop, const char *what, void (*on_done)(void *),
		     void *ud)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->what = what;
	c->on_done = on_done;
	c->ud = ud;
	c->done = 1;
	c->fd[0] = c->fd[1] = -1;
	ev_child_init(&c->child_w, cmd_child_cb, 0, 0);
	c->child_w.data = c;
	for (int k = 0; k < 2; k++) {
		ev_io_init(&c->io_w[k], cmd_io_cb, -1, EV_READ);
		c->io_w[k].data = c;
	}
}

static void cmd_close(struct health_cmd *c)
{
	if (c->pid != 0) {
		kill(-c->pid, SIGKILL);
		ev_child_stop(c->loop, &c->child_w);
		c->pid = 0;
	}
	cmd_close_pipes(c);
}

/* ---- reports ---- */

static void report(struct health *h)
{
	struct health_report *r;

	if (h->nreports == HEALTH_REPORTS_MAX) { /* taken every loop iteration: only a bug fills it */
		h->report_head = (h->report_head + 1) % HEALTH_REPORTS_MAX;
		h->nreports--;
	}
	r = &h->reports[(h->report_head + h->nreports++) % HEALTH_REPORTS_MAX];
	r->state = h->ev.state;
	r->passes = h->ev.passes;
	snprintf(r->reason, sizeof(r->reason), "%s", h->ev.state == HEALTH_OK ? "" : h->ev.reason);
}

int health_take_report(struct health *h, struct health_report *r)
{
	if (h->nreports == 0)
		return 0;
	*r = h->reports[h->report_head];
	h->report_head = (h->report_head + 1) % HEALTH_REPORTS_MAX;
	h->nreports--;
	return 1;
}

/* ---- the probe helper ---- */

static void probe_close_fd(struct health *h, int *fd, ev_io *w)
{
	if (*fd >= 0) {
		if (w != NULL)
			ev_io_stop(h->loop, w);
		close(*fd);
		*fd = -1;
	}
}

static void probe_kill(struct health *h)
{
	if (h->probe_pid != 0) {
		kill(-h->probe_pid, SIGKILL);
		h->probe_killed = 1;
	}
	probe_close_fd(h, &h->probe_in, NULL);
	probe_close_fd(h, &h->probe_out, &h->probe_ow);
	probe_close_fd(h, &h->probe_err, &h->probe_ew);
	h->probe_lines.len = h->probe_elines.len = 0;
}

static void check_level_done(struct health *h, unsigned level, int ok, const char *why);
static int probe_ensure(struct health *h, char *why, size_t len);

static void probe_answer(void *ud, const char *line, size_t len)
{
	struct health *h = ud;
	char buf[256], word[8], rest[200];
	unsigned long long n;
	int off = 0;
	const char *rtt;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
	rest[0] = '\0';
	if (sscanf(buf, "%7s %llu %n", word, &n, &off) < 2) {
		log_child_line("health probe[%ld]: %s", (long)h->probe_pid, buf);
		return;
	}
	snprintf(rest, sizeof(rest), "%s", off > 0 ? buf + off : "");
	h->probe_answered = 1; /* started: from now on its silence counts */
	/* an answer to an older check (it came late): not this one's */
	if (!h->busy || !(h->waiting & HEALTH_L_PROBE) || n != h->seq)
		return;
	if (strcmp(word, "ok") == 0) {
		rtt = strstr(rest, "rtt_us=");
		h->probe_us = rtt != NULL ? strtoull(rtt + 7, NULL, 10) : (clock_mono_ms() - h->started_at) * 1000;
		check_level_done(h, HEALTH_L_PROBE, 1, "");
	} else if (strcmp(word, "fail") == 0) {
		char why[HEALTH_REASON_MAX];
		snprintf(why, sizeof(why), "probe: %.150s", rest[0] ? rest : "failed");
		check_level_done(h, HEALTH_L_PROBE, 0, why);
	} else {
		log_child_line("health probe[%ld]: %s", (long)h->probe_pid, buf);
	}
}

static void probe_errline(void *ud, const char *line, size_t len)
{
	struct health *h = ud;

	log_child_line("health probe[%ld]: %.*s", (long)h->probe_pid, (int)len, line);
}

static void probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health *h = w->data;
	int out = w == &h->probe_ow;
	int *fd = out ? &h->probe_out : &h->probe_err;
	char in[1024];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(*fd, in, sizeof(in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		linesplit_finish(out ? &h->probe_lines : &h->probe_elines, out ? probe_answer : probe_errline, h);
		probe_close_fd(h, fd, w);
		return;
	}
	linesplit_feed(out ? &h->probe_lines : &h->probe_elines, in, (size_t)n, out ? probe_answer : probe_errline, h);
}

static void probe_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct health *h = w->data;
	char how[96], why[HEALTH_REASON_MAX];
	pid_t pid = h->probe_pid;
	int killed;

	(void)revents;
	ev_child_stop(loop, w);
	kill(-pid, SIGKILL);
	/* its last answer may still wait in the pipe */
	if (h->probe_out >= 0)
		probe_io_cb(loop, &h->probe_ow, EV_READ);
	killed = h->probe_killed;
	probe_kill(h);
	h->probe_pid = 0;
	h->probe_killed = 0;
	exitstatus_describe(w->rstatus, how, sizeof(how));
	if (h->active && !killed)
		log_warn("health probe helper pid %ld %s", (long)pid, how);
	if (h->busy && (h->waiting & HEALTH_L_PROBE)) {
		snprintf(why, sizeof(why), "probe helper %s", how);
		check_level_done(h, HEALTH_L_PROBE, 0, why);
	}
	/* killed for not answering: its successor starts now, so that it has
	 * the interval to start (a JVM, a connection) before its first check;
	 * one that exited by itself starts again at the next check */
	if (killed && h->active && h->probe_pid == 0 && probe_ensure(h, why, sizeof(why)) != 0)
		log_warn("health probe: %s", why);
}

/* 0 when a helper runs (started now or before). */
static int probe_ensure(struct health *h, char *why, size_t len)
{
	struct spawn_res res;

	if (h->probe_pid != 0)
		return h->probe_in >= 0 ? 0 : (snprintf(why, len, "probe helper pid %ld is not taking checks",
							(long)h->probe_pid), -1);
	if (run_shell(h, h->p.probe, "master", 1, &res, why, len) != 0) {
		if (res.pid > 0) {
			h->probe_pid = res.pid;
			ev_child_set(&h->probe_cw, res.pid, 0);
			ev_child_start(h->loop, &h->probe_cw);
			if (res.out_fd >= 0)
				close(res.out_fd);
			if (res.err_fd >= 0)
				close(res.err_fd);
			if (res.in_fd >= 0)
				close(res.in_fd);
		}
		return -1;
	}
	h->probe_pid = res.pid;
	h->probe_in = res.in_fd;
	h->probe_out = res.out_fd;
	h->probe_err = res.err_fd;
	h->probe_starts++;
	h->probe_started_at = clock_mono_ms();
	h->probe_answered = 0;
	ev_child_set(&h->probe_cw, res.pid, 0);
	ev_child_start(h->loop, &h->probe_cw);
	ev_io_set(&h->probe_ow, h->probe_out, EV_READ);
	ev_io_start(h->loop, &h->probe_ow);
	ev_io_set(&h->probe_ew, h->probe_err, EV_READ);
	ev_io_start(h->loop, &h->probe_ew);
	log_info("health probe helper started: pid %ld: %s", (long)res.pid, h->p.probe);
	return 0;
}

/* Ends the helper: EOF on its stdin, its group killed. */
static void probe_stop(struct health *h)
{
	probe_kill(h);
	/* reaped by its watcher (probe_child_cb) */
}

/* ---- one check ---- */

static void tcp_close(struct health *h)
{
	if (h->tcp_fd >= 0) {
		ev_io_stop(h->loop, &h->tcp_w);
		close(h->tcp_fd);
		h->tcp_fd = -1;
	}
}

static void schedule(struct health *h)
{
	ev_timer_stop(h->loop, &h->next_w);
	ev_timer_set(&h->next_w, h->p.interval_ms / 1000.0, 0.);
	ev_timer_start(h->loop, &h->next_w);
}

static void check_end(struct health *h)
{
	uint64_t now = clock_mono_ms();
	char before[HEALTH_REASON_MAX + 40], after[HEALTH_REASON_MAX + 40];
	enum health_state old = h->ev.state;
	unsigned old_fails = h->ev.fails, old_passes = h->ev.passes;

	ev_timer_stop(h->loop, &h->timeout_w);
	h->busy = 0;
	h->last_ms = now - h->started_at;
	if (h->no_result && !h->failed) {
		/* nothing learnt (a probe helper still starting) */
		if (h->active)
			schedule(h);
		return;
	}
	health_eval_describe(&h->ev, before, sizeof(before));
	health_eval_result(&h->ev, !h->failed, h->why, now);
	health_eval_describe(&h->ev, after, sizeof(after));
	/* once per change of state, and each further failure of a failing
	 * broker (its count is what the status shows) */
	if (h->ev.state != old || (h->ev.state == HEALTH_FAILING && h->ev.fails != old_fails)) {
		if (h->ev.state == HEALTH_OK || h->ev.state == HEALTH_UNKNOWN)
			log_info("health: %s -> %s", before, after);
		else
			log_warn("health: %s -> %s", before, after);
		report(h);
	} else if (h->ev.state == HEALTH_OK && h->ev.passes == HEALTH_STABLE_PASSES && old_passes < HEALTH_STABLE_PASSES) {
		report(h); /* recovered for good: mastership forgets its restarts */
	} else if (h->ev.state == HEALTH_BAD && h->ev.passes != old_passes && h->ev.passes > 0) {
		log_info("health: %s", after);
	}
	if (h->active)
		schedule(h);
}

static void check_level_done(struct health *h, unsigned level, int ok, const char *why)
{
	if (!h->busy || !(h->waiting & level))
		return;
	h->waiting &= ~level;
	if (level == HEALTH_L_TCP)
		tcp_close(h);
	if (!ok) {
		if (!h->failed)
			snprintf(h->why, sizeof(h->why), "%s", why);
		h->failed = 1;
		h->level_fail[level == HEALTH_L_TCP ? 0 : level == HEALTH_L_CMD ? 1 : 2]++;
	}
	if (h->waiting == 0)
		check_end(h);
}

static void tcp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health *h = w->data;
	int err = 0;
	socklen_t len = sizeof(err);
	char why[HEALTH_REASON_MAX];

	(void)loop;
	(void)revents;
	getsockopt(h->tcp_fd, SOL_SOCKET, SO_ERROR, &err, &len);
	snprintf(why, sizeof(why), "tcp %s: %s", h->p.tcp, strerror(err));
	check_level_done(h, HEALTH_L_TCP, err == 0, why);
}

static void tcp_start(struct health *h)
{
	char host[256], why[HEALTH_REASON_MAX];
	const char *colon = strrchr(h->p.tcp, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc;

	if (colon == NULL) {
		snprintf(why, sizeof(why), "tcp %s: not host:port", h->p.tcp);
		check_level_done(h, HEALTH_L_TCP, 0, why);
		return;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - h->p.tcp), h->p.tcp);
	/* numeric only: a name lookup could block the loop (config.c refuses
	 * names for this key) */
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(why, sizeof(why), "tcp %s: %s", h->p.tcp, gai_strerror(rc));
		check_level_done(h, HEALTH_L_TCP, 0, why);
		return;
	}
	h->tcp_fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->tcp_fd < 0 || (connect(h->tcp_fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)) {
		snprintf(why, sizeof(why), "tcp %s: %s", h->p.tcp, strerror(errno));
		freeaddrinfo(res);
		check_level_done(h, HEALTH_L_TCP, 0, why);
		return;
	}
	freeaddrinfo(res);
	ev_io_set(&h->tcp_w, h->tcp_fd, EV_WRITE);
	ev_io_start(h->loop, &h->tcp_w);
}

static void cmd_done_cb(void *ud)
{
	struct health *h = ud;

	check_level_done(h, HEALTH_L_CMD, h->cmd.ok, h->cmd.why);
}

static void probe_ask(struct health *h)
{
	char line[40], why[HEALTH_REASON_MAX];
	int n;

	if (probe_ensure(h, why, sizeof(why)) != 0) {
		char w2[HEALTH_REASON_MAX];
		snprintf(w2, sizeof(w2), "probe: %.150s", why);
		check_level_done(h, HEALTH_L_PROBE, 0, w2);
		return;
	}
	n = snprintf(line, sizeof(line), "check %llu\n", (unsigned long long)h->seq);
	if (write(h->probe_in, line, (size_t)n) != n) {
		/* a helper that does not read its checks is as stuck as one that
		 * does not answer */
		snprintf(why, sizeof(why), "probe: cannot send the check: %s",
			 errno == EAGAIN ? "the helper does not read" : strerror(errno));
		probe_stop(h);
		check_level_done(h, HEALTH_L_PROBE, 0, why);
	}
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health *h = w->data;
	char why[HEALTH_REASON_MAX];

	(void)loop;
	(void)revents;
	if (!h->busy)
		return;
	if (h->waiting & HEALTH_L_TCP) {
		snprintf(why, sizeof(why), "tcp %s: no connection within %llu ms", h->p.tcp,
			 (unsigned long long)h->p.timeout_ms);
		check_level_done(h, HEALTH_L_TCP, 0, why);
	}
	if (h->busy && (h->waiting & HEALTH_L_CMD)) {
		snprintf(why, sizeof(why), "command: no result within %llu ms (killed)", (unsigned long long)h->p.timeout_ms);
		cmd_kill(&h->cmd, why); /* reports through cmd_done_cb */
	}
	if (h->busy && (h->waiting & HEALTH_L_PROBE) && h->probe_grace && !h->probe_answered &&
	    clock_mono_ms() - h->probe_started_at < HEALTH_PROBE_START_MS) {
		/* a helper still starting (a JVM on a busy host): its silence
		 * says nothing of the broker yet; it keeps going and answers
		 * the checks in order */
		log_debug("health probe: pid %ld has not answered yet (started %llu ms ago)", (long)h->probe_pid,
			  (unsigned long long)(clock_mono_ms() - h->probe_started_at));
		h->no_result = 1;
		check_level_done(h, HEALTH_L_PROBE, 1, "");
	}
	if (h->busy && (h->waiting & HEALTH_L_PROBE)) {
		snprintf(why, sizeof(why), "probe: no answer within %llu ms (helper killed)",
			 (unsigned long long)h->p.timeout_ms);
		/* it may be stuck in a call to the hung broker: a new one for
		 * the next check, without a start's grace (this one started) */
		h->probe_grace = 0;
		probe_stop(h);
		check_level_done(h, HEALTH_L_PROBE, 0, why);
	}
}

static void next_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health *h = w->data;

	(void)loop;
	(void)revents;
	if (!h->active || h->busy)
		return;
	h->busy = 1;
	h->failed = 0;
	h->no_result = 0;
	h->why[0] = '\0';
	h->seq++;
	h->started_at = clock_mono_ms();
	h->waiting = (*h->p.tcp ? HEALTH_L_TCP : 0) | (*h->p.command ? HEALTH_L_CMD : 0) |
		     (*h->p.probe ? HEALTH_L_PROBE : 0);
	if (h->waiting == 0) { /* nothing left to check after a reload */
		h->busy = 0;
		return;
	}
	ev_timer_set(&h->timeout_w, h->p.timeout_ms / 1000.0, 0.);
	ev_timer_start(h->loop, &h->timeout_w);
	/* each may finish the check at once: the levels still waiting are
	 * looked at after each */
	if (h->waiting & HEALTH_L_TCP)
		tcp_start(h);
	if (h->busy && (h->waiting & HEALTH_L_CMD))
		cmd_start(h, &h->cmd, h->p.command, "master");
	if (h->busy && (h->waiting & HEALTH_L_PROBE))
		probe_ask(h);
}

/* ---- the precheck ---- */

static void pre_done_cb(void *ud)
{
	struct health *h = ud;

	h->pre_runs++;
	if (!h->pre.ok)
		h->pre_failures++;
	if (!h->pre_known || h->pre.ok != h->pre_ok || (!h->pre.ok && strcmp(h->pre.why, h->pre_why) != 0)) {
		if (!h->pre_known || h->pre.ok != h->pre_ok) {
			if (h->pre.ok)
				log_info("precheck passed: this node may become master");
			else
				log_warn("precheck failed: this node may not become master: %s", h->pre.why);
		}
		h->pre_changed = 1;
	}
	h->pre_known = 1;
	h->pre_ok = h->pre.ok;
	snprintf(h->pre_why, sizeof(h->pre_why), "%s", h->pre.ok ? "" : h->pre.why);
	ev_timer_stop(h->loop, &h->pre_w);
	ev_timer_set(&h->pre_w, h->p.precheck_interval_ms / 1000.0, 0.);
	ev_timer_start(h->loop, &h->pre_w);
}

static void pre_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health *h = w->data;
	char why[HEALTH_REASON_MAX];

	(void)loop;
	(void)revents;
	if (*h->p.precheck == '\0')
		return;
	if (!h->pre.done) { /* still running: its time is up */
		snprintf(why, sizeof(why), "precheck: no result within %llu ms (killed)",
			 (unsigned long long)h->p.timeout_ms);
		cmd_kill(&h->pre, why);
		return;
	}
	if (cmd_start(h, &h->pre, h->p.precheck, NULL) == 0) {
		/* the same timer bounds it */
		ev_timer_set(&h->pre_w, h->p.timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->pre_w);
	}
}

int health_take_precheck(struct health *h, int *ok, char *why, size_t len)
{
	if (!h->pre_changed)
		return 0;
	h->pre_changed = 0;
	*ok = h->pre_ok;
	snprintf(why, len, "%s", h->pre_why);
	return 1;
}

/* ---- the module ---- */

int health_configured(const struct health *h)
{
	return *h->p.tcp || *h->p.command || *h->p.probe;
}

static int params_fill(struct health_params *p)
{
	char **s[] = {&p->tcp, &p->command, &p->probe, &p->precheck, &p->cluster, &p->url};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (*s[i] == NULL && (*s[i] = strdup("")) == NULL)
			return -1;
	return 0;
}

void health_init(struct health *h, struct ev_loop *loop, struct health_params *p, const char *node)
{
	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->p = *p;
	memset(p, 0, sizeof(*p));
	if (params_fill(&h->p) != 0)
		log_err("health: out of memory");
	snprintf(h->node, sizeof(h->node), "%s", node);
	health_eval_init(&h->ev, h->p.fall, h->p.rise);
	h->tcp_fd = h->probe_in = h->probe_out = h->probe_err = -1;
	ev_init(&h->next_w, next_cb);
	ev_init(&h->timeout_w, timeout_cb);
	ev_io_init(&h->tcp_w, tcp_cb, -1, EV_WRITE);
	ev_child_init(&h->probe_cw, probe_child_cb, 0, 0);
	ev_io_init(&h->probe_ow, probe_io_cb, -1, EV_READ);
	ev_io_init(&h->probe_ew, probe_io_cb, -1, EV_READ);
	h->next_w.data = h->timeout_w.data = h->tcp_w.data = h->probe_cw.data = h;
	h->probe_ow.data = h->probe_ew.data = h;
	cmd_init(&h->cmd, loop, "command", cmd_done_cb, h);
	cmd_init(&h->pre, loop, "precheck", pre_done_cb, h);
	ev_init(&h->pre_w, pre_cb);
	h->pre_w.data = h;
	if (*h->p.precheck) {
		ev_timer_set(&h->pre_w, 0., 0.);
		ev_timer_start(loop, &h->pre_w);
	}
}

void health_set_params(struct health *h, struct health_params *p)
{
	int probe_changed = p->probe == NULL || strcmp(p->probe, h->p.probe) != 0;
	int pre_was = *h->p.precheck != '\0', was = health_configured(h);

	health_params_free(&h->p);
	h->p = *p;
	memset(p, 0, sizeof(*p));
	if (params_fill(&h->p) != 0)
		log_err("health: out of memory");
	health_eval_set(&h->ev, h->p.fall, h->p.rise);
	if (probe_changed && h->probe_pid != 0) {
		/* a new helper for the next check; the check in flight does not
		 * count the old one's end against the broker */
		h->waiting &= ~HEALTH_L_PROBE;
		h->probe_grace = 1; /* a new command starts anew */
		probe_stop(h);
		if (h->busy && h->waiting == 0)
			check_end(h);
	}
	if (*h->p.precheck && !pre_was) {
		/* not eligible until it has said so, as at start */
		ev_timer_stop(h->loop, &h->pre_w);
		ev_timer_set(&h->pre_w, 0., 0.);
		ev_timer_start(h->loop, &h->pre_w);
		h->pre_known = 1;
		h->pre_ok = 0;
		snprintf(h->pre_why, sizeof(h->pre_why), "precheck not run yet");
		h->pre_changed = 1;
	} else if (!*h->p.precheck && pre_was) {
		ev_timer_stop(h->loop, &h->pre_w);
		if (!h->pre.done) {
			/* removed: its last run has no result */
			h->pre.on_done = NULL;
			cmd_kill(&h->pre, "precheck removed");
			h->pre.on_done = pre_done_cb;
		}
		/* no precheck: eligible */
		h->pre_known = 1;
		h->pre_ok = 1;
		h->pre_why[0] = '\0';
		h->pre_changed = 1;
	}
	if (was && !health_configured(h) && h->active) {
		/* nothing to check any more: what the last checks said no
		 * longer stands */
		h->busy = 0;
		h->waiting = 0;
		ev_timer_stop(h->loop, &h->timeout_w);
		ev_timer_stop(h->loop, &h->next_w);
		tcp_close(h);
		if (!h->cmd.done)
			cmd_kill(&h->cmd, "checks removed");
		health_eval_reset(&h->ev, clock_mono_ms());
		report(h);
		h->active = 0;
		log_info("health: no checks configured any more");
	}
	if (h->active && !h->busy && !ev_is_active(&h->next_w))
		schedule(h);
}

void health_start(struct health *h, uint64_t term)
{
	h->term = term;
	if (h->active || !health_configured(h))
		return;
	h->active = 1;
	health_eval_reset(&h->ev, clock_mono_ms());
	/* the helper gets the first interval to start (a JVM, a connection),
	 * and a silence of up to HEALTH_PROBE_START_MS before it answered */
	h->probe_grace = 1;
	if (*h->p.probe) {
		char why[HEALTH_REASON_MAX];
		if (probe_ensure(h, why, sizeof(why)) != 0)
			log_warn("health probe: %s", why);
	}
	schedule(h);
}

void health_stop(struct health *h)
{
	if (!h->active)
		return;
	h->active = 0;
	ev_timer_stop(h->loop, &h->next_w);
	ev_timer_stop(h->loop, &h->timeout_w);
	tcp_close(h);
	/* the check in flight has no result: nothing it ran counts */
	h->busy = 0;
	h->waiting = 0;
	if (!h->cmd.done)
		cmd_kill(&h->cmd, "broker stopped");
	probe_stop(h);
	health_eval_reset(&h->ev, clock_mono_ms());
	h->nreports = 0; /* what was not taken is about the broker that went */
}

void health_describe(const struct health *h, char *out, size_t len)
{
	if (!health_configured(h)) {
		snprintf(out, len, "off");
		return;
	}
	if (!h->active) {
		snprintf(out, len, "not checked (no broker serving)");
		return;
	}
	health_eval_describe(&h->ev, out, (unsigned)len);
}

void health_close(struct health *h)
{
	if (h->loop == NULL) /* never opened */
		return;
	h->active = 0;
	ev_timer_stop(h->loop, &h->next_w);
	ev_timer_stop(h->loop, &h->timeout_w);
	ev_timer_stop(h->loop, &h->pre_w);
	tcp_close(h);
	cmd_close(&h->cmd);
	cmd_close(&h->pre);
	probe_kill(h);
	if (h->probe_pid != 0) {
		ev_child_stop(h->loop, &h->probe_cw);
		h->probe_pid = 0;
	}
	health_params_free(&h->p);
}
