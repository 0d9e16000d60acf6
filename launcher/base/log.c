/*
 * Logging to stderr.  Under systemd stderr is usually a journal stream: then
 * each line starts with "<N>" (sd-daemon(3) priority prefix) and carries no
 * timestamp, since journald adds its own.  Elsewhere a line carries local
 * wall-clock time with milliseconds and the level name.
 *
 * Output must never stop the event loop: a pipe nobody reads (a stuck log
 * shipper, "start-failover.sh | logger" that stalls) would freeze the
 * heartbeats, and a slave would promote while this master still runs its
 * broker.  Once the daemon has a loop (log_async_start), a line that cannot
 * be written at once waits in a bounded queue (outq.h), and the loop writes
 * it when the fd is writable.  Before that, and in forked children, lines
 * are written with blocking writes as they always were.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "linesplit.h"
#include "outq.h"

static const char *log_ident = "failover-launcher";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

/* The launcher's own lines may wait in a few MiB; the broker's copied lines
 * in less, and only they are dropped while the launcher's fit. */
#define LOG_QUEUE_MAX (4u << 20)
#define LOG_BROKER_QUEUE_MAX (256u << 10)
/* at most one note on dropped lines this often */
#define LOG_NOTE_EVERY_MS 10000

struct sink {
	int fd;          /* -1: blocking writes to the standard fd */
	int sock;        /* fd is a socket: send(MSG_DONTWAIT) */
	int own_fd;      /* fd was opened here (and is closed at the end) */
	int old_flags;   /* the standard fd's flags, when they were changed; else -1 */
	int watching;
	struct outq q;
	uint64_t noted[2]; /* dropped lines told of, by class */
};

static struct sink sinks[2] = {{.fd = -1, .old_flags = -1}, {.fd = -1, .old_flags = -1}};
static pid_t async_pid;  /* the process that queues; 0 before the loop */
static log_want_fn *want;
static void *want_ud;
static uint64_t last_note_at;
static int noted_once;
/* stdout and stderr are one pipe or socket (2>&1, the journal): one queue
 * for both, or a line partly written to one could be cut by the other's */
static int shared;

static const char *const stream_names[] = {"stdout", "stderr"};

int log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, enum log_level level, enum log_journal journal)
{
	if (ident != NULL)
		log_ident = ident;
	log_level = level;
	if (journal == LOG_JOURNAL_AUTO)
		log_journal = log_stderr_is_journal();
	else
		log_journal = journal == LOG_JOURNAL_YES;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

int log_level_parse(const char *s)
{
	if (strcmp(s, "error") == 0)
		return LOG_LEVEL_ERROR;
	if (strcmp(s, "warning") == 0)
		return LOG_LEVEL_WARNING;
	if (strcmp(s, "info") == 0)
		return LOG_LEVEL_INFO;
	if (strcmp(s, "debug") == 0)
		return LOG_LEVEL_DEBUG;
	return -1;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "ERROR";
	case LOG_LEVEL_WARNING: return "WARNING";
	case LOG_LEVEL_INFO: return "INFO";
	case LOG_LEVEL_DEBUG: return "DEBUG";
	}
	return "?";
}

/* The old way: the whole line, waiting as long as the reader takes. */
static void write_blocking(int fd, const char *p, size_t n)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a description another process made non-blocking */
			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

static ssize_t sink_write(struct sink *s, const char *p, size_t n)
{
	if (s->sock)
		return send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(s->fd, p, n);
}

static int would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

static void watch(int which, int on)
{
	struct sink *s = &sinks[which];

	if (s->watching == on || want == NULL)
		return;
	s->watching = on;
	want(want_ud, which, s->fd, on);
}

/* Lines dropped and not told of yet. */
static int unnoted(void)
{
	for (int which = 0; which < 2; which++)
		for (int cls = 0; cls < 2; cls++)
			if (sinks[which].q.dropped[cls] != sinks[which].noted[cls])
				return 1;
	return 0;
}

/* Tells of dropped lines, at most once every LOG_NOTE_EVERY_MS (force: now,
 * at the end).  The note is a launcher line: it is queued, not dropped. */
static void maybe_note(int force)
{
	uint64_t now;

	if (!unnoted())
		return;
	now = clock_mono_ms();
	if (!force && noted_once && now - last_note_at < LOG_NOTE_EVERY_MS)
		return;
	for (int which = 0; which < 2; which++) {
		struct sink *s = &sinks[which];
		uint64_t broker = s->q.dropped[OUTQ_BROKER] - s->noted[OUTQ_BROKER];
		uint64_t own = s->q.dropped[OUTQ_OWN] - s->noted[OUTQ_OWN];

		if (broker == 0 && own == 0)
			continue;
		s->noted[OUTQ_BROKER] = s->q.dropped[OUTQ_BROKER];
		s->noted[OUTQ_OWN] = s->q.dropped[OUTQ_OWN];
		noted_once = 1;
		last_note_at = now;
		if (broker > 0)
			log_warn("%llu broker lines dropped: %s is not being read", (unsigned long long)broker,
				 shared ? "stdout/stderr" : stream_names[which]);
		if (own > 0)
			log_warn("%llu launcher lines dropped: %s is not being read", (unsigned long long)own,
				 shared ? "stdout/stderr" : stream_names[which]);
	}
}

/* Writes what is queued until the fd would block: 1 when all is written. */
static int flush(struct sink *s)
{
	const char *p;
	size_t n;
	ssize_t r;

	while ((p = outq_peek(&s->q, &n)) != NULL) {
		r = sink_write(s, p, n);
		if (r < 0 && would_block())
			return 0;
		if (r <= 0) {
			/* the reader is gone (EPIPE): nothing will ever take these
			 * (a fifo's next reader gets what comes after; counted) */
			outq_consume(&s->q, n);
			outq_drop_all(&s->q);
			continue;
		}
		outq_consume(&s->q, (size_t)r);
	}
	return 1;
}

/* One whole line (with its '\n') to stdout (0) or stderr (1). */
static void out_line(int which, enum outq_class cls, int level, const char *p, size_t n)
{
	struct sink *s = &sinks[shared ? 0 : which];
	ssize_t r = 0;

	if (async_pid == 0 || getpid() != async_pid || s->fd < 0) {
		write_blocking(which == 0 ? STDOUT_FILENO : STDERR_FILENO, p, n);
		return;
	}
	if (shared)
		which = 0;
	/* drops not told of for the rate limit: the next line after it tells */
	maybe_note(0);
	if (outq_empty(&s->q)) {
		/* one write per line, when the reader keeps up (the usual case) */
		r = sink_write(s, p, n);
		if (r == (ssize_t)n)
			return;
		if (r < 0 && !would_block()) {
			s->q.dropped[cls]++; /* the reader is gone */
			return;
		}
		if (r < 0)
			r = 0;
	}
	/* behind what waits, so lines stay in order and whole; the rest of
	 * a line partly written is its queue's first line */
	if (outq_push(&s->q, cls, level, p, n) == 0)
		outq_consume(&s->q, (size_t)r);
	watch(which, 1);
}

static void vmsg(enum outq_class cls, enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vmsg(enum outq_class cls, enum log_level level, const char *fmt, va_list ap)
{
	char line[LINESPLIT_MAX + 640]; /* a whole line of a hook's output, and its prefix */
	uint64_t ms;
	time_t sec;
	struct tm tm;
	char when[32];
	int pre, n;

	if (level > log_level)
		return;
	if (log_journal) {
		pre = snprintf(line, sizeof(line), "<%d>", (int)level);
	} else {
		ms = clock_wall_ms();
		sec = (time_t)(ms / 1000);
		localtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		pre = snprintf(line, sizeof(line), "%s.%03u %s[%ld] %s: ", when, (unsigned)(ms % 1000), log_ident,
			       (long)getpid(), level_name(level));
	}
	n = vsnprintf(line + pre, sizeof(line) - (size_t)pre - 1, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - (size_t)pre - 2)
		n = (int)(sizeof(line) - (size_t)pre - 2);
	n += pre;
	line[n++] = '\n';
	/* One write per line so lines of concurrent writers never interleave. */
	out_line(1, cls, level, line, (size_t)n);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	vmsg(OUTQ_OWN, level, fmt, ap);
}

void log_child_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(OUTQ_BROKER, LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_broker_line(int is_err, long pid, const char *text, size_t len)
{
	char line[LINESPLIT_MAX + 64];
	int pre = snprintf(line, sizeof(line), "broker[%ld]: ", pid);

	if (len > sizeof(line) - (size_t)pre - 1)
		len = sizeof(line) - (size_t)pre - 1;
	memcpy(line + pre, text, len);
	line[(size_t)pre + len] = '\n';
	out_line(is_err ? 1 : 0, OUTQ_BROKER, LOG_LEVEL_INFO, line, (size_t)pre + len + 1);
}

/* A sink for the standard fd std: what can be written without blocking. */
static void sink_open(struct sink *s, int std)
{
	char path[64];
	struct stat st;
	int fd, fl;

	s->fd = -1;
	s->old_flags = -1;
	if (fstat(std, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		/* a journal stream or a socket pair: MSG_DONTWAIT makes this
		 * one call non-blocking and leaves the socket's flags alone */
		s->fd = std;
		s->sock = 1;
	} else if (S_ISFIFO(st.st_mode)) {
		/* O_NONBLOCK is a flag of the open file description, which the
		 * fd shares with whoever else holds the pipe (the shell that
		 * started us, a wrapper script, our children): setting it would
		 * make their writes fail with EAGAIN.  Opening the pipe again
		 * through /proc gives a description of our own. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", std);
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			s->fd = fd;
			s->own_fd = 1;
		} else if ((fl = fcntl(std, F_GETFL)) >= 0 && fcntl(std, F_SETFL, fl | O_NONBLOCK) == 0) {
			/* no /proc: the shared flag it is, put back at the end;
			 * write_blocking copes with it meanwhile */
			s->fd = std;
			s->old_flags = fl;
		}
	}
	/* Else a terminal or a file: blocking writes, as before.  A file does
	 * not block; a terminal only when stopped with ^S, which is someone's
	 * intent (the terminal's description is the shell's too). */
}

void log_async_start(log_want_fn *fn, void *ud)
{
	struct stat o, e;

	if (async_pid != 0)
		return;
	shared = fstat(STDOUT_FILENO, &o) == 0 && fstat(STDERR_FILENO, &e) == 0 && o.st_dev == e.st_dev &&
		 o.st_ino == e.st_ino && (S_ISFIFO(o.st_mode) || S_ISSOCK(o.st_mode));
	for (int which = 0; which < 2; which++) {
		struct sink *s = &sinks[which];

		if (which == 0 || !shared)
			sink_open(s, which == 0 ? STDOUT_FILENO : STDERR_FILENO);
		outq_init(&s->q, LOG_QUEUE_MAX, LOG_BROKER_QUEUE_MAX, LOG_LEVEL_DEBUG);
		s->noted[0] = s->noted[1] = 0;
		s->watching = 0;
	}
	want = fn;
	want_ud = ud;
	async_pid = getpid();
}

void log_async_writable(int which)
{
	if (which < 0 || which > 1 || async_pid == 0)
		return;
	if (flush(&sinks[which])) {
		watch(which, 0);
		/* the reader is back: tell it what it missed */
		maybe_note(0);
	}
}

void log_async_stop(unsigned timeout_ms)
{
	uint64_t start = clock_mono_ms(), now;
	struct pollfd pfd[2];
	int n, left;

	if (async_pid == 0 || getpid() != async_pid)
		return;
	maybe_note(1);
	for (;;) {
		n = 0;
		for (int which = 0; which < 2; which++)
			if (!outq_empty(&sinks[which].q) && !flush(&sinks[which]))
				pfd[n++] = (struct pollfd){.fd = sinks[which].fd, .events = POLLOUT};
		now = clock_mono_ms();
		if (n == 0 || now - start >= timeout_ms)
			break;
		left = (int)(timeout_ms - (now - start));
		if (poll(pfd, (nfds_t)n, left) < 0 && errno != EINTR)
			break;
	}
	for (int which = 0; which < 2; which++) {
		struct sink *s = &sinks[which];

		watch(which, 0);
		outq_clear(&s->q);
		if (s->own_fd)
			close(s->fd);
		if (s->old_flags >= 0)
			(void)fcntl(s->fd, F_SETFL, s->old_flags);
		s->fd = -1;
		s->sock = s->own_fd = 0;
		s->old_flags = -1;
	}
	want = NULL;
	async_pid = 0;
}

void log_dropped(uint64_t *own, uint64_t *broker)
{
	*own = sinks[0].q.dropped[OUTQ_OWN] + sinks[1].q.dropped[OUTQ_OWN];
	*broker = sinks[0].q.dropped[OUTQ_BROKER] + sinks[1].q.dropped[OUTQ_BROKER];
}

size_t log_queued(void)
{
	return outq_bytes(&sinks[0].q) + outq_bytes(&sinks[1].q);
}
