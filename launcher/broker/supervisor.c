/*
 * The broker process: start, readiness, output, exit, restart, stop.
 *
 * Wanted and actual state are kept apart: supervisor_want() records what
 * mastership wants, reconcile() moves the process towards it, and every child
 * event (exit, readiness, timers) ends in reconcile() again.
 */
#include "supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "clock.h"
#include "exitstatus.h"
#include "hash.h"
#include "log.h"
#include "spawn.h"

extern char **environ;

const char *supervisor_state_name(enum sup_state st)
{
	static const char *const names[] = {"idle", "starting", "serving", "stopping", "backoff"};
	return st <= SUP_BACKOFF ? names[st] : "?";
}

/* Restart delay after the n-th crash (n >= 1): min x 2^(n-1), at most max. */
static uint64_t supervisor_backoff(uint64_t min_ms, uint64_t max_ms, unsigned n)
{
	uint64_t d = min_ms;

	while (n-- > 1 && d < max_ms)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

unsigned supervisor_recent_crashes(const struct supervisor *s, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->ncrash; i++)
		if (now - s->crash_at[i] < s->p.restart_window_ms)
			n++;
	return n;
}

int supervisor_alive(const struct supervisor *s)
{
	return s->state == SUP_STARTING || s->state == SUP_SERVING || s->state == SUP_STOPPING;
}

static void reconcile(struct supervisor *s);
static void keep_warm(struct supervisor *s);

/* a serving broker's spare standby starts this long after it serves */
#define SUP_SPARE_AFTER_MS 5000
/* a broker's class list is kept once it served this long, or stopped cleanly */
#define SUP_LIST_AFTER_MS 5000

static void report(struct supervisor *s, enum sup_report_kind kind, const char *why)
{
	struct sup_report *r;

	if (s->nreports == SUP_REPORTS_MAX) {
		/* the caller takes them every loop iteration: only a bug fills
		 * this; losing a "changed" costs a late status, nothing more */
		log_err("broker supervisor: %u reports not taken; dropping the oldest", s->nreports);
		s->report_head = (s->report_head + 1) % SUP_REPORTS_MAX;
		s->nreports--;
	}
	r = &s->reports[(s->report_head + s->nreports++) % SUP_REPORTS_MAX];
	r->kind = kind;
	snprintf(r->why, sizeof(r->why), "%s", why != NULL ? why : "");
}

int supervisor_take_report(struct supervisor *s, struct sup_report *r)
{
	if (s->nreports == 0)
		return 0;
	*r = s->reports[s->report_head];
	s->report_head = (s->report_head + 1) % SUP_REPORTS_MAX;
	s->nreports--;
	return 1;
}

static void set_state(struct supervisor *s, enum sup_state st)
{
	int was_alive = supervisor_alive(s);

	if (s->state == st)
		return;
	log_debug("broker supervisor %s -> %s", supervisor_state_name(s->state), supervisor_state_name(st));
	s->state = st;
	if (!was_alive && supervisor_alive(s))
		report(s, SUP_REPORT_UP, NULL);
	else if (was_alive && !supervisor_alive(s))
		report(s, SUP_REPORT_DOWN, NULL);
	if (st == SUP_SERVING) {
		report(s, SUP_REPORT_READY, NULL);
		/* a spare for a crash, once the new broker has settled: its
		 * class loading would compete with the broker's first clients */
		if (s->p.cmd.warm && s->warm.pid == 0 && s->loop != NULL) {
			ev_timer_stop(s->loop, &s->warm.again_w);
			ev_timer_set(&s->warm.again_w, SUP_SPARE_AFTER_MS / 1000.0, 0.);
			ev_timer_start(s->loop, &s->warm.again_w);
		}
	}
	report(s, SUP_REPORT_CHANGED, NULL);
}

/* ---- output ---- */

static void emit_line(struct supervisor *s, struct sup_stream *st, const char *line, size_t len)
{
	const char *pat = s->run_ready_pattern != NULL ? s->run_ready_pattern : "";

	if (st->warm) {
		static const char ready[] = "failover-warm: ready";
		log_info("warm standby[%ld]: %.*s", (long)s->warm.pid, (int)len, line);
		if (len >= sizeof(ready) - 1 && memcmp(line, ready, sizeof(ready) - 1) == 0)
			s->warm.ready = 1;
		return;
	}
	if (s->outfile_fd >= 0) {
		struct iovec v[2] = {{(void *)line, len}, {"\n", 1}};
		(void)!writev(s->outfile_fd, v, 2);
	} else {
		/* one write per line: journald keeps lines whole; never
		 * waiting for the reader, so the pipes are always drained */
		log_broker_line(st->is_err, (long)s->pid, line, len);
	}
	if (*pat != '\0' && s->state == SUP_STARTING && memmem(line, len, pat, strlen(pat)) != NULL) {
		log_info("broker ready: its output matched '%s'", pat);
		s->ready_at = clock_mono_ms();
		ev_timer_stop(s->loop, &s->ready_w);
		ev_timer_stop(s->loop, &s->probe_w);
		set_state(s, SUP_SERVING);
	}
}

static void line_cb(void *ud, const char *line, size_t len)
{
	struct sup_stream *st = ud;

	emit_line(st->owner, st, line, len);
}

static void stream_close(struct supervisor *s, struct sup_stream *st)
{
	if (st->fd < 0)
		return;
	linesplit_finish(&st->lines, line_cb, st);
	ev_io_stop(s->loop, &st->w);
	close(st->fd);
	st->fd = -1;
}

static void stream_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sup_stream *st = w->data;
	char in[LINESPLIT_MAX];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(st->fd, in, sizeof(in));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		stream_close(st->owner, st);
		return;
	}
	linesplit_feed(&st->lines, in, (size_t)n, line_cb, st);
}

static void stream_open(struct supervisor *s, struct sup_stream *st, int fd)
{
	st->fd = fd;
	st->lines.len = 0;
	ev_io_init(&st->w, stream_cb, fd, EV_READ);
	st->w.data = st;
	ev_io_start(s->loop, &st->w);
}

/* A process exists: its exit and its two output streams are watched. */
static void watch(struct supervisor *s, ev_child *child_w, pid_t pid, struct sup_stream *out, int out_fd,
		  struct sup_stream *err, int err_fd)
{
	ev_child_set(child_w, pid, 0);
	ev_child_start(s->loop, child_w);
	stream_open(s, out, out_fd);
	stream_open(s, err, err_fd);
}

/* ---- readiness over TCP ---- */

static void probe_close(struct supervisor *s)
{
	if (s->probe_fd >= 0) {
		ev_io_stop(s->loop, &s->connect_w);
		close(s->probe_fd);
		s->probe_fd = -1;
	}
}

static void connect_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct supervisor *s = w->data;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)loop;
	(void)revents;
	getsockopt(s->probe_fd, SOL_SOCKET, SO_ERROR, &err, &len);
	probe_close(s);
	if (err == 0 && s->state == SUP_STARTING) {
		log_info("broker ready: %s accepts connections", s->run_ready_tcp);
		s->ready_at = clock_mono_ms();
		ev_timer_stop(s->loop, &s->ready_w);
		ev_timer_stop(s->loop, &s->probe_w);
		set_state(s, SUP_SERVING);
	}
}

int supervisor_resolve_ready(struct sup_params *p, char *err, size_t len)
{
	char host[256], addr[INET6_ADDRSTRLEN], *numeric;
	const char *colon = p->ready_tcp != NULL ? strrchr(p->ready_tcp, ':') : NULL;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	const void *a;
	int rc;

	if (p->ready_tcp == NULL || *p->ready_tcp == '\0')
		return 0;
	if (colon == NULL || (size_t)(colon - p->ready_tcp) >= sizeof(host)) {
		snprintf(err, len, "broker.ready_tcp: '%s' is not host:port", p->ready_tcp);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p->ready_tcp), p->ready_tcp);
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, len, "broker.ready_tcp: cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	a = res->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
				      : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
	if (inet_ntop(res->ai_family, a, addr, sizeof(addr)) == NULL ||
	    asprintf(&numeric, "%s:%s", addr, colon + 1) < 0) {
		freeaddrinfo(res);
		snprintf(err, len, "broker.ready_tcp: %s", strerror(errno));
		return -1;
	}
	freeaddrinfo(res);
	if (strcmp(numeric, p->ready_tcp) != 0)
		log_info("broker.ready_tcp %s is %s (looked up once)", p->ready_tcp, numeric);
	free(p->ready_tcp);
	p->ready_tcp = numeric;
	return 0;
}

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervisor *s = w->data;
	char host[256];
	const char *hp = s->run_ready_tcp != NULL ? s->run_ready_tcp : "", *colon = strrchr(hp, ':');
	/* numeric only (supervisor_resolve_ready looked the name up before the
	 * loop ran): a lookup here, every try, would stall the heartbeats */
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV},
			*res;

	(void)loop;
	(void)revents;
	if (s->probe_fd >= 0 || s->state != SUP_STARTING || colon == NULL)
		return;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return;
	s->probe_fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->probe_fd >= 0) {
		if (connect(s->probe_fd, res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS) {
			ev_io_init(&s->connect_w, connect_cb, s->probe_fd, EV_WRITE);
			s->connect_w.data = s;
			ev_io_start(s->loop, &s->connect_w);
		} else {
			probe_close(s);
		}
	}
	freeaddrinfo(res);
}

static void ready_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervisor *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state != SUP_STARTING)
		return;
	log_err("broker pid %ld not ready within %llu ms: a failed start; killing it", (long)s->pid,
		(unsigned long long)s->run_ready_timeout_ms);
	ev_timer_stop(s->loop, &s->probe_w);
	probe_close(s);
	s->ready_failed = 1; /* its exit is this, not a death of its own */
	kill(-s->pid, SIGKILL);
}

/* ---- start, exit, stop ---- */

static void record_crash(struct supervisor *s, uint64_t now)
{
	if (s->ncrash == SUP_MAX_CRASHES) {
		memmove(s->crash_at, s->crash_at + 1, (SUP_MAX_CRASHES - 1) * sizeof(s->crash_at[0]));
		s->ncrash--;
	}
	s->crash_at[s->ncrash++] = now;
	s->crashes_total++;
}

/* The name a JVM writes the class list under until list_done renames it to
 * list: unique per launcher and JVM; list is what comes before its last '.'
 * (warm_go), warm_tidy removes a killed launcher's.  NULL: out of memory. */
static char *dump_name(struct supervisor *s, const char *list)
{
	char *dump;

	if (asprintf(&dump, "%s.tmp%ld-%llu", list, (long)getpid(), (unsigned long long)++s->jvm_seq) < 0)
		return NULL;
	return dump;
}

/* The class list the broker wrote becomes the warm standbys' when keep: it
 * served a while or stopped cleanly (a broker that crashed at once may not
 * have loaded what serving needs). */
static void list_done(struct supervisor *s, int keep)
{
	struct stat st;

	if (s->run_dump == NULL)
		return;
	if (keep && s->run_list != NULL && stat(s->run_list, &st) != 0 && rename(s->run_dump, s->run_list) == 0)
		log_info("warm standby: class list %s written", s->run_list);
	else
		unlink(s->run_dump);
	free(s->run_dump);
	free(s->run_list);
	s->run_dump = s->run_list = NULL;
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct supervisor *s = w->data;
	int status = w->rstatus, clean;
	uint64_t now = clock_mono_ms();
	unsigned n;

	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &s->kill_w);
	ev_timer_stop(loop, &s->ready_w);
	ev_timer_stop(loop, &s->probe_w);
	probe_close(s);
	/* whatever it left in its group goes with it */
	kill(-s->pid, SIGKILL);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	stream_close(s, &s->out);
	stream_close(s, &s->err);
	list_done(s, s->ready_at != 0 && (s->term_sent || now - s->ready_at >= SUP_LIST_AFTER_MS));
	exitstatus_describe(status, s->last_exit, sizeof(s->last_exit));
	clean = s->term_sent && ((WIFEXITED(status) && (WEXITSTATUS(status) == 143 || WEXITSTATUS(status) == 0)) ||
				 (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
	if (s->state == SUP_STOPPING && s->restart_pending && s->want) {
		/* a restart asked for (supervisor_restart): not a crash.  The
		 * next start waits for the loop (a 0 ms back-off), as after a
		 * crash: the DOWN report is taken before it (the fence lets go
		 * of this broker, not of the next) */
		s->restart_pending = 0;
		log_info("broker pid %ld stopped (%s) for a restart", (long)s->pid, s->last_exit);
		s->pid = 0;
		ev_timer_set(&s->backoff_w, 0., 0.);
		ev_timer_start(loop, &s->backoff_w);
		set_state(s, SUP_BACKOFF); /* reports DOWN */
		return;
	}
	s->restart_pending = 0;
	if (s->state == SUP_STOPPING) {
		s->clean_stops++;
		if (clean)
			log_info("broker pid %ld stopped (%s) %llu ms after SIGTERM; it ran %llu ms", (long)s->pid,
				 s->last_exit, (unsigned long long)(now - s->stop_at),
				 (unsigned long long)(now - s->started_at));
		else
			log_warn("broker pid %ld stopped: %s", (long)s->pid, s->last_exit);
		s->pid = 0;
		set_state(s, SUP_IDLE); /* reports DOWN */
		reconcile(s);
		return;
	}
	if (s->ready_failed)
		log_err("broker pid %ld killed (%s): not ready within %llu ms, a failed start", (long)s->pid,
			s->last_exit, (unsigned long long)s->run_ready_timeout_ms);
	else
		log_err("broker pid %ld died unexpectedly: %s", (long)s->pid, s->last_exit);
	s->pid = 0;
	record_crash(s, now);
	n = supervisor_recent_crashes(s, now);
	if (!s->want) {
		set_state(s, SUP_IDLE); /* reports DOWN */
		return;
	}
	if (s->maint_hold) {
		log_warn("paused (maintenance): the broker is not restarted; it stays down until resume");
		s->held_down = 1;
		set_state(s, SUP_IDLE); /* reports DOWN */
		return;
	}
	if (n > s->p.max_restarts) {
		char why[160];
		snprintf(why, sizeof(why), "broker failed %u times within %llu ms", n, (unsigned long long)s->p.restart_window_ms);
		log_err("%s: giving up mastership", why);
		s->want = 0;
		set_state(s, SUP_IDLE); /* reports DOWN */
		report(s, SUP_REPORT_FAILED, why);
		return;
	}
	{
		uint64_t delay = supervisor_backoff(s->p.restart_min_ms, s->p.restart_max_ms, n);
		log_warn("restarting the broker in %llu ms (restart %u of %u)", (unsigned long long)delay, n,
			 s->p.max_restarts);
		ev_timer_set(&s->backoff_w, delay / 1000.0, 0.);
		ev_timer_start(loop, &s->backoff_w);
		set_state(s, SUP_BACKOFF);
	}
}

static void backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervisor *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state == SUP_BACKOFF) {
		if (s->maint_hold && s->want) {
			/* paused while a restart was due: it stays down */
			log_warn("paused (maintenance): the broker's restart is dropped; it stays down until resume");
			s->held_down = 1;
		}
		set_state(s, SUP_IDLE);
		if (s->want && !s->held_down)
			s->restarts++;
		reconcile(s);
	}
}

static void kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervisor *s = w->data;

	(void)loop;
	(void)revents;
	if (s->state != SUP_STOPPING)
		return;
	log_warn("broker pid %ld still running %llu ms after SIGTERM: SIGKILL to its process group", (long)s->pid,
		 (unsigned long long)s->p.stop_timeout_ms);
	kill(-s->pid, SIGKILL);
}

/*
 * Between the fork and the broker's exec (spawn_req.gate): the fence takes
 * its hold on the child first, by a pidfd (the child cannot be reaped
 * before the loop runs its child watcher, so the pid is still this child).
 * A launcher frozen before this leaves no broker running, and a broker the
 * fence cannot hold is not run.
 */
static int gate(void *ud, pid_t pid)
{
	struct supervisor *s = ud;

	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec already */
	if (s->pidfd < 0) {
		log_err("pidfd_open of broker pid %ld: %s (Linux 5.3 or later is needed)", (long)pid, strerror(errno));
		return -1;
	}
	if (s->hold == NULL)
		return 0;
	if (s->hold(s->hold_ud, s->pidfd, pid) != 0) {
		close(s->pidfd);
		s->pidfd = -1;
		return -1;
	}
	return 0;
}

static void began(struct supervisor *s, uint64_t now);

/* ---- the warm standby (broker.warm_standby) ---- */

/* Forgets the standby whose exit was seen (or that became the broker: then
 * its descriptors and watcher were taken over first). */
static void warm_forget(struct supervisor *s)
{
	struct sup_warm *w = &s->warm;

	ev_child_stop(s->loop, &w->child_w);
	stream_close(s, &w->out);
	stream_close(s, &w->err);
	if (w->in_fd >= 0)
		close(w->in_fd);
	if (w->pidfd >= 0)
		close(w->pidfd);
	if (w->dump != NULL)
		unlink(w->dump);
	free(w->dump);
	w->dump = NULL;
	w->in_fd = w->pidfd = -1;
	w->pid = 0;
	w->killed = 0;
}

/* Its exit is seen by its watcher, which forgets it. */
static void warm_kill(struct supervisor *s)
{
	if (s->warm.pid <= 0 || s->warm.killed)
		return;
	s->warm.killed = 1;
	kill(-s->warm.pid, SIGKILL);
}

static void warm_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct supervisor *s = w->data;
	char how[128];
	int status = w->rstatus, killed = s->warm.killed;
	pid_t pid = s->warm.pid;
	uint64_t again = s->p.restart_max_ms;

	(void)loop;
	(void)revents;
	kill(-pid, SIGKILL); /* whatever it left in its group */
	warm_forget(s);
	report(s, SUP_REPORT_CHANGED, NULL);
	if (!killed) {
		exitstatus_describe(status, how, sizeof(how));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && !s->warm.noinit) {
			/* a class would stay broken in that JVM (see its output) */
			log_warn("warm standby pid %ld: a static initializer failed; standbys load the classes "
				 "without initializing them from now on",
				 (long)pid);
			s->warm.noinit = 1;
			again = 0;
		} else {
			log_warn("warm standby pid %ld exited (%s); another in %llu ms", (long)pid, how,
				 (unsigned long long)again);
		}
		ev_timer_set(&s->warm.again_w, again / 1000.0, 0.);
		ev_timer_start(s->loop, &s->warm.again_w);
		return;
	}
	keep_warm(s);
}

static void warm_again_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	keep_warm(w->data);
}

/* spawn's gate for a standby: only its pidfd (the fence holds it once it
 * is to become the broker, warm_go) */
static int warm_gate(void *ud, pid_t pid)
{
	struct supervisor *s = ud;

	s->warm.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->warm.pidfd < 0) {
		log_err("no warm standby: pidfd_open of pid %ld: %s", (long)pid, strerror(errno));
		return -1;
	}
	return 0;
}

/* What a standby runs: its argv (in *argv), its environment and working
 * directory (in *cmd), from one build of the broker's command.  With dump:
 * when there is no class list yet, this standby writes one, should it
 * become a broker: *dump is where (the option is in argv), else NULL.
 * The environment was fixed before any term: FAILOVER_ROLE=standby and no
 * FAILOVER_TERM, so that nothing reads a term the broker will not have (it
 * gets failover.term with "go").  0, or -1 with a message in err. */
static int warm_command(struct supervisor *s, struct command *cmd, char **dump, struct strlist *argv,
			char *err, size_t len)
{
	struct command_failover fenv = {.role = "standby", .node = s->node, .cluster = s->p.cluster,
					.cache = s->cache_address, .term = 0};
	char *to = NULL;
	size_t j = 0;

	if (command_build_params(&s->p.cmd, environ, cmd, err, len) != 0)
		return -1;
	if (dump != NULL && cmd->warm_list != NULL && !cmd->warm_list_exists)
		to = dump_name(s, cmd->warm_list);
	if (command_warm_argv(cmd, to, 1, s->p.cmd.warm == 2 && !s->warm.noinit, argv) != 0 ||
	    command_failover_env(&cmd->envp, &fenv) != 0) {
		snprintf(err, len, "out of memory");
		free(to);
		strlist_clear(argv);
		command_free(cmd);
		return -1;
	}
	for (size_t i = 0; i < cmd->envp.n; i++) {
		if (strncmp(cmd->envp.v[i], "FAILOVER_TERM=", 14) == 0)
			free(cmd->envp.v[i]);
		else
			cmd->envp.v[j++] = cmd->envp.v[i];
	}
	cmd->envp.n = j;
	cmd->envp.v[j] = NULL;
	if (dump != NULL)
		*dump = to;
	return 0;
}

/* A digest of what a standby runs, but the class list it writes. */
static uint64_t warm_sig(const struct command *cmd, const struct strlist *argv)
{
	uint64_t h = HASH_FNV1A_INIT;
	static const uint8_t sep = 0xff;

	for (size_t i = 0; i < argv->n; i++)
		if (strncmp(argv->v[i], "-XX:DumpLoadedClassList=", 24) != 0)
			h = hash_fnv1a(hash_fnv1a_str(h, argv->v[i]), &sep, 1);
	for (size_t i = 0; i < cmd->envp.n; i++)
		h = hash_fnv1a(hash_fnv1a_str(h, cmd->envp.v[i]), &sep, 1);
	return hash_fnv1a_str(h, cmd->cwd != NULL ? cmd->cwd : "");
}

/*
 * One standby where the node may need a broker soon and has none coming:
 * idle (a slave, or a master that gave up), or serving (a spare for a
 * crash, SUP_SPARE_AFTER_MS after it serves).  A standby that cannot be
 * started is tried again after restart_max, not at every step.
 */
static void keep_warm(struct supervisor *s)
{
	struct sup_warm *w = &s->warm;
	struct command cmd;
	struct strlist argv = {0};
	struct spawn_req req;
	struct spawn_res res;
	char err[2048], *dump = NULL;

	if (!s->p.cmd.warm || s->closing || w->pid != 0 || s->loop == NULL || ev_is_active(&w->again_w) ||
	    (s->state != SUP_IDLE && s->state != SUP_SERVING))
		return;
	if (warm_command(s, &cmd, &dump, &argv, err, sizeof(err)) != 0) {
		log_err("no warm standby: %s", err);
		goto later;
	}
	req = (struct spawn_req){.argv = argv.v, .envp = cmd.envp.v, .cwd = cmd.cwd, .capture = 1, .feed = 1,
				 .gate = warm_gate, .gate_ud = s};
	if (spawn(&req, &res) != 0) {
		if (errno != ECANCELED) /* the gate said why */
			log_err("no warm standby: cannot fork: %s", strerror(errno));
		free(dump);
		strlist_clear(&argv);
		command_free(&cmd);
		goto later;
	}
	w->pid = res.pid;
	w->in_fd = res.in_fd;
	w->dump = dump;
	w->ready = 0;
	w->sig = warm_sig(&cmd, &argv);
	w->spawned_at = clock_mono_ms();
	watch(s, &w->child_w, res.pid, &w->out, res.out_fd, &w->err, res.err_fd);
	report(s, SUP_REPORT_CHANGED, NULL); /* the status names it */
	if (res.exec_errno != 0) {
		/* it exits 126/127: never the broker */
		w->killed = 1;
		log_err("no warm standby: cannot run %s: %s", argv.v[0], strerror(res.exec_errno));
	} else {
		log_info("warm standby started: pid %ld (classes %s%s)", (long)res.pid,
			 s->p.cmd.warm == 2 && !w->noinit ? "initialized" : "loaded",
			 dump != NULL ? "; no class list yet: a broker's first run writes it" : "");
	}
	strlist_clear(&argv);
	command_free(&cmd);
	return;
later:
	ev_timer_set(&w->again_w, s->p.restart_max_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &w->again_w);
}

/*
 * The standby becomes the broker: the fence holds it first (as any broker
 * before its exec), then "go TERM" on its stdin.  -1: no standby to use
 * (not ready yet, dying, or the fence could not hold it); the caller starts
 * one cold.
 */
static int warm_go(struct supervisor *s, uint64_t now)
{
	struct sup_warm *w = &s->warm;
	char line[64];
	int n, age = (int)(now - w->spawned_at);

	if (w->killed || w->pidfd < 0)
		return -1;
	if (!w->ready || w->out.fd < 0 || w->err.fd < 0) {
		/* still loading (no faster than a cold start), or its output
		 * ended (it is exiting): a cold start, and a new standby later */
		log_info("warm standby pid %ld not used: %s; a cold start", (long)w->pid,
			 w->ready ? "its output ended" : "not ready yet");
		warm_kill(s);
		return -1;
	}
	if (s->hold != NULL && s->hold(s->hold_ud, w->pidfd, w->pid) != 0) {
		log_err("the warm standby pid %ld was not used: the fence could not hold it", (long)w->pid);
		warm_kill(s);
		return -1;
	}
	/* its watcher, descriptors and class list are the broker's now */
	ev_child_stop(s->loop, &w->child_w);
	s->pid = w->pid;
	s->pidfd = w->pidfd;
	ev_io_stop(s->loop, &w->out.w);
	ev_io_stop(s->loop, &w->err.w);
	watch(s, &s->child_w, s->pid, &s->out, w->out.fd, &s->err, w->err.fd);
	w->out.fd = w->err.fd = -1;
	list_done(s, 0);
	if (w->dump != NULL) {
		s->run_dump = w->dump;
		s->run_list = strndup(w->dump, (size_t)(strrchr(w->dump, '.') - w->dump));
		w->dump = NULL;
	}
	n = snprintf(line, sizeof(line), "go %llu\n", (unsigned long long)s->term);
	if (write(w->in_fd, line, (size_t)n) != n) {
		/* it died, or hangs with its pipe full: it is the broker now,
		 * a failed one; its exit is a crash like any */
		log_err("warm standby pid %ld: cannot tell it to go (%s); killing it", (long)s->pid,
			strerror(errno));
		kill(-s->pid, SIGKILL);
	} else {
		log_info("broker started: pid %ld, term %llu, from the warm standby (started %d ms ago)",
			 (long)s->pid, (unsigned long long)s->term, age);
	}
	close(w->in_fd); /* its stdin ends, as /dev/null would */
	w->in_fd = w->pidfd = -1;
	w->pid = 0;
	w->killed = 0;
	w->ready = 0;
	s->warm_starts++;
	began(s, now);
	return 0;
}

/* Class lists a killed launcher's brokers were writing (one launcher per
 * state_dir: none of them is being written now). */
static void warm_tidy(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "broker-", 7) == 0 && strstr(e->d_name, ".classes.tmp") != NULL)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void warm_init(struct supervisor *s)
{
	struct sup_warm *w = &s->warm;

	w->pidfd = w->in_fd = -1;
	w->out.fd = w->err.fd = -1;
	w->out.owner = w->err.owner = s;
	w->out.warm = w->err.warm = 1;
	w->err.is_err = 1;
	ev_child_init(&w->child_w, warm_child_cb, 0, 0);
	w->child_w.data = s;
	ev_init(&w->again_w, warm_again_cb);
	w->again_w.data = s;
	if (s->p.cmd.state_dir != NULL)
		warm_tidy(s->p.cmd.state_dir);
}

static void warm_close(struct supervisor *s)
{
	if (s->warm.pid > 0)
		kill(-s->warm.pid, SIGKILL);
	ev_timer_stop(s->loop, &s->warm.again_w);
	warm_forget(s);
}



static void start(struct supervisor *s)
{
	struct command cmd;
	struct command_failover fenv;
	struct spawn_req req;
	struct spawn_res res;
	struct strlist argv = {0};
	char err[2048], *dump = NULL;
	uint64_t now = clock_mono_ms();

	if (command_build_params(&s->p.cmd, environ, &cmd, err, sizeof(err)) != 0) {
		log_err("cannot start the broker: %s", err);
		goto failed;
	}
	/* a standby never writes the class-data archive (its classes are not
	 * the broker's): until a cold broker's clean stop has, start cold */
	if (s->warm.pid > 0 && cmd.cds_archive != NULL && !cmd.cds_exists) {
		log_info("warm standby pid %ld not used: no class-data archive yet (broker.cds: a cold broker's clean "
			 "stop writes it); a cold start",
			 (long)s->warm.pid);
	} else if (s->warm.pid > 0 && warm_go(s, now) == 0) {
		command_free(&cmd);
		return;
	}
	/* the term is a fencing token for anything that can check one; the
	 * cache speaks the memcached protocol: any client library works */
	fenv = (struct command_failover){.role = "master", .node = s->node, .cluster = s->p.cluster,
					 .cache = s->cache_address, .term = s->term};
	if (command_failover_env(&cmd.envp, &fenv) != 0) {
		log_err("cannot start the broker: out of memory");
		command_free(&cmd);
		goto failed;
	}
	/* warm_standby: this broker writes the class list the standbys lack */
	if (cmd.warm_list != NULL && !cmd.warm_list_exists &&
	    ((dump = dump_name(s, cmd.warm_list)) == NULL || command_warm_argv(&cmd, dump, 0, 0, &argv) != 0)) {
		log_err("cannot start the broker: out of memory");
		free(dump);
		command_free(&cmd);
		goto failed;
	}
	req = (struct spawn_req){.argv = argv.v != NULL ? argv.v : cmd.argv.v, .envp = cmd.envp.v, .cwd = cmd.cwd,
				 .capture = 1, .gate = gate, .gate_ud = s};
	if (spawn(&req, &res) != 0) {
		if (errno == ECANCELED)
			log_err("the broker was not started: the fence could not hold it (see above); a broker the "
				"fence cannot stop is never run");
		else
			log_err("cannot fork the broker: %s", strerror(errno));
		free(dump);
		strlist_clear(&argv);
		command_free(&cmd);
		goto failed;
	}
	s->pid = res.pid;
	watch(s, &s->child_w, res.pid, &s->out, res.out_fd, &s->err, res.err_fd);
	if (res.exec_errno != 0) {
		log_err("cannot run %s: %s (exit %d)", cmd.argv.v[0], strerror(res.exec_errno),
			res.exec_errno == ENOENT || res.exec_errno == ENOTDIR ? 127 : 126);
	} else {
		log_info("broker started: pid %ld, term %llu", (long)res.pid, (unsigned long long)s->term);
	}
	list_done(s, 0);
	if (dump != NULL) {
		s->run_dump = dump;
		s->run_list = strdup(cmd.warm_list);
	}
	strlist_clear(&argv);
	command_free(&cmd);
	began(s, now);
	return;
failed:
	/* counts as a crash: the same back-off and give-up rules apply */
	record_crash(s, now);
	if (supervisor_recent_crashes(s, now) > s->p.max_restarts) {
		s->want = 0;
		report(s, SUP_REPORT_FAILED, "the broker cannot be started");
		return;
	}
	ev_timer_set(&s->backoff_w,
		     supervisor_backoff(s->p.restart_min_ms, s->p.restart_max_ms,
					supervisor_recent_crashes(s, now)) / 1000.0, 0.);
	ev_timer_start(s->loop, &s->backoff_w);
	set_state(s, SUP_BACKOFF);
}

/* A broker process exists (s->pid, its watcher and streams): its readiness
 * test, as the configuration has it now. */
static void began(struct supervisor *s, uint64_t now)
{
	s->term_sent = 0;
	s->ready_failed = 0;
	s->started_at = now;
	s->ready_at = 0;
	s->starts++;
	free(s->run_ready_tcp);
	free(s->run_ready_pattern);
	s->run_ready_tcp = strdup(s->p.ready_tcp);
	s->run_ready_pattern = strdup(s->p.ready_pattern);
	s->run_ready_timeout_ms = s->p.ready_timeout_ms;
	if (s->run_ready_tcp == NULL || s->run_ready_pattern == NULL) {
		/* cannot tell when it is ready: stop it, a failed start */
		log_err("out of memory: stopping broker pid %ld", (long)s->pid);
		free(s->run_ready_tcp);
		free(s->run_ready_pattern);
		s->run_ready_tcp = s->run_ready_pattern = NULL;
		set_state(s, SUP_STARTING);
		kill(-s->pid, SIGKILL);
		return;
	}
	if (*s->run_ready_tcp == '\0' && *s->run_ready_pattern == '\0') {
		s->ready_at = now;
		set_state(s, SUP_SERVING);
		return;
	}
	set_state(s, SUP_STARTING);
	ev_timer_set(&s->ready_w, s->run_ready_timeout_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->ready_w);
	if (*s->run_ready_tcp != '\0') {
		ev_timer_set(&s->probe_w, 0.05, 0.1);
		ev_timer_start(s->loop, &s->probe_w);
	}
}

static void stop(struct supervisor *s)
{
	log_info("stopping the broker: SIGTERM to process group %ld, SIGKILL in %llu ms", (long)s->pid,
		 (unsigned long long)s->p.stop_timeout_ms);
	s->term_sent = 1;
	s->stop_at = clock_mono_ms();
	ev_timer_stop(s->loop, &s->ready_w);
	ev_timer_stop(s->loop, &s->probe_w);
	probe_close(s);
	kill(-s->pid, SIGTERM);
	kill(-s->pid, SIGCONT); /* a stopped broker must be able to act on it */
	ev_timer_set(&s->kill_w, s->p.stop_timeout_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->kill_w);
	set_state(s, SUP_STOPPING);
}

static void reconcile(struct supervisor *s)
{
	switch (s->state) {
	case SUP_IDLE:
		if (s->want && !s->held_down)
			start(s);
		break;
	case SUP_STARTING:
	case SUP_SERVING:
		if (!s->want)
			stop(s);
		break;
	case SUP_STOPPING:
		break; /* child_cb reconciles once it is gone */
	case SUP_BACKOFF:
		if (!s->want) {
			ev_timer_stop(s->loop, &s->backoff_w);
			set_state(s, SUP_IDLE);
		}
		break;
	}
	keep_warm(s);
}

void supervisor_hold(struct supervisor *s, int on)
{
	s->maint_hold = on ? 1 : 0;
	if (on)
		return;
	if (s->held_down) {
		s->held_down = 0;
		s->ncrash = 0; /* a broker an operator let down is no crash loop */
		if (s->want)
			log_info("resumed: starting the broker again");
	}
	reconcile(s);
}

void supervisor_want(struct supervisor *s, int up, uint64_t term)
{
	if (!up)
		s->held_down = 0; /* not wanted: nothing held down */
	if (up && !s->want) {
		s->ncrash = 0; /* a new mastership starts with a clean slate */
		s->term = term;
	}
	s->want = up;
	reconcile(s);
}

void supervisor_restart(struct supervisor *s, uint64_t term)
{
	s->term = term;
	switch (s->state) {
	case SUP_STARTING:
	case SUP_SERVING:
		s->want = 1;
		s->restart_pending = 1;
		stop(s);
		break;
	case SUP_STOPPING:
		s->want = 1;
		s->restart_pending = 1;
		break;
	case SUP_IDLE:
		/* given up on (SUP_REPORT_FAILED): again, after the longest
		 * back-off and with a clean slate */
		s->want = 1;
		s->ncrash = 0;
		log_warn("starting the broker again in %llu ms", (unsigned long long)s->p.restart_max_ms);
		ev_timer_set(&s->backoff_w, s->p.restart_max_ms / 1000.0, 0.);
		ev_timer_start(s->loop, &s->backoff_w);
		set_state(s, SUP_BACKOFF);
		break;
	case SUP_BACKOFF:
		s->want = 1; /* a start is coming */
		break;
	}
}

void sup_params_free(struct sup_params *p)
{
	free(p->ready_tcp);
	free(p->ready_pattern);
	free(p->cluster);
	free(p->output);
	command_params_free(&p->cmd);
	memset(p, 0, sizeof(*p));
}

void supervisor_set_params(struct supervisor *s, struct sup_params *p)
{
	sup_params_free(&s->p);
	s->p = *p;
	memset(p, 0, sizeof(*p));
	/* a standby runs the command it was started with: one that the new
	 * settings would not start the same way goes (none when warm_standby
	 * is off now); a failed initializer is tried again */
	if (s->warm.noinit && s->p.cmd.warm == 2) {
		s->warm.noinit = 0;
		if (s->warm.pid > 0 && !s->warm.killed)
			log_info("warm standby pid %ld: stopped, the next one runs the initializers again",
				 (long)s->warm.pid);
		warm_kill(s);
	}
	if (s->warm.pid > 0 && !s->warm.killed) {
		struct command cmd;
		struct strlist argv = {0};
		char err[256];
		int same = s->p.cmd.warm && warm_command(s, &cmd, NULL, &argv, err, sizeof(err)) == 0;
		if (same) {
			same = warm_sig(&cmd, &argv) == s->warm.sig;
			strlist_clear(&argv);
			command_free(&cmd);
		}
		if (!same) {
			log_info("warm standby pid %ld: stopped, the configuration changed", (long)s->warm.pid);
			warm_kill(s);
		}
	}
	if (s->loop != NULL)
		ev_timer_stop(s->loop, &s->warm.again_w);
}

void supervisor_closing(struct supervisor *s)
{
	s->closing = 1;
	warm_kill(s);
}

void supervisor_init(struct supervisor *s, struct ev_loop *loop, struct sup_params *p, const char *node)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	supervisor_set_params(s, p);
	s->probe_fd = -1;
	s->pidfd = -1;
	s->out.fd = s->err.fd = -1;
	s->out.owner = s->err.owner = s;
	s->err.is_err = 1;
	snprintf(s->node, sizeof(s->node), "%s", node);
	snprintf(s->last_exit, sizeof(s->last_exit), "none");
	ev_child_init(&s->child_w, child_cb, 0, 0);
	s->child_w.data = s;
	ev_init(&s->kill_w, kill_cb);
	s->kill_w.data = s;
	ev_init(&s->backoff_w, backoff_cb);
	s->backoff_w.data = s;
	ev_init(&s->ready_w, ready_timeout_cb);
	s->ready_w.data = s;
	ev_init(&s->probe_w, probe_cb);
	s->probe_w.data = s;
	s->outfile_fd = -1;
	warm_init(s);
	if (s->p.output != NULL && strcmp(s->p.output, "inherit") != 0) {
		s->outfile_fd = open(s->p.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s->outfile_fd < 0)
			log_err("cannot open %s for the broker's output: %s; using ours", s->p.output,
				strerror(errno));
	}
}

void supervisor_close(struct supervisor *s)
{
	if (s->pid > 0)
		kill(-s->pid, SIGKILL);
	warm_close(s);
	if (s->run_dump != NULL)
		unlink(s->run_dump);
	free(s->run_dump);
	free(s->run_list);
	s->run_dump = s->run_list = NULL;
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	if (s->outfile_fd >= 0)
		close(s->outfile_fd);
	s->outfile_fd = -1;
	sup_params_free(&s->p);
	free(s->run_ready_tcp);
	free(s->run_ready_pattern);
	s->run_ready_tcp = s->run_ready_pattern = NULL;
}
