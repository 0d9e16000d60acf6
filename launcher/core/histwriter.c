/*
 * The history's writer thread (see histwriter.h).  The mutex is never held
 * across I/O: the loop takes it only to hand over bytes or take a result.
 */
#include "histwriter.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "file.h"
#include "log.h"

/* Appends, or replaces the file whole (its lines kept in memory are all
 * there is to keep).  0, or -1 with errno. */
static int write_file(const char *path, const uint8_t *p, size_t n, int rewrite)
{
	char tmp[4200];
	int fd, err;

	if (!rewrite) {
		/* a symlink in its place fails the append (ELOOP): the next
		 * entry's rewrite replaces it with a file */
		if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			return -1;
		if (file_write_all(fd, p, n) != 0) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		return close(fd);
	}
	/* a fresh file: whatever was left at tmp (a symlink among them) is
	 * neither followed nor truncated */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (file_write_all(fd, p, n) != 0 || fsync(fd) != 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct history_log *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct buf job;
		int rewrite, ok, err;

		while (!l->have_job && !l->stop)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->stop)
			break;
		job = l->pend;
		rewrite = l->pend_rewrite;
		memset(&l->pend, 0, sizeof(l->pend));
		l->pend_lines = 0;
		l->pend_rewrite = 0;
		l->have_job = 0;
		l->busy = 1;
		pthread_mutex_unlock(&l->mu);
		ok = write_file(l->path, job.p + job.off, job.len - job.off, rewrite) == 0;
		err = ok ? 0 : errno;
		buf_free(&job);
		pthread_mutex_lock(&l->mu);
		l->busy = 0;
		l->have_result = 1;
		l->result_err = err;
		if (l->stop)
			break;
		ev_async_send(l->loop, &l->done_w);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct history_log *l = a->data;
	int have, err;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&l->mu);
	have = l->have_result;
	err = l->result_err;
	l->have_result = 0;
	pthread_mutex_unlock(&l->mu);
	if (!have)
		return;
	if (err != 0) {
		/* what the file has is unknown now: the next entry rewrites it */
		l->need_rewrite = 1;
		if (!l->failing)
			log_warn("cannot keep the failover history in %s: %s (it is kept in memory meanwhile)", l->path,
				 strerror(err));
		l->failing = 1;
	} else if (l->failing) {
		l->failing = 0;
		log_info("the failover history is kept in %s again", l->path);
	}
}

/* The file as the daemon wrote it can hold 2 x HISTORY_MAX lines; more
 * is not read (only its end is: its newest entries). */
#define HISTORY_FILE_MAX (2 * HISTORY_MAX * HISTORY_LINE_MAX)

/* Reads the end of the history file, at most HISTORY_FILE_MAX bytes: a
 * regular file only (not a FIFO, a device or a symlink, which could block
 * or never end the start).  *cut: the file was longer.  0, or -1 with
 * errno. */
static int read_file(const char *path, char **data, size_t *len, int *cut)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC), err;
	struct stat st;
	size_t n = 0, want;
	char *p;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*cut = (uint64_t)st.st_size > HISTORY_FILE_MAX;
	want = (uint64_t)st.st_size > HISTORY_FILE_MAX ? HISTORY_FILE_MAX : (size_t)st.st_size;
	if (want < (size_t)st.st_size && lseek(fd, st.st_size - (off_t)want, SEEK_SET) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if ((p = malloc(want + 1)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (n < want) {
		ssize_t r = read(fd, p + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			free(p);
			close(fd);
			errno = err;
			return -1;
		}
		if (r == 0)
			break; /* it shrank meanwhile */
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	/* cut at the end: the first line is a part of one, skip it whole */
	if (want < (size_t)st.st_size) {
		char *nl = memchr(p, '\n', n);
		size_t skip = nl != NULL ? (size_t)(nl + 1 - p) : n;
		memmove(p, p + skip, n - skip + 1);
		n -= skip;
	}
	*data = p;
	*len = n;
	return 0;
}

struct history_log *history_log_open(struct ev_loop *loop, const char *dir)
{
	struct history_log *l = calloc(1, sizeof(*l));
	char *data = NULL;
	size_t len = 0, skipped;
	sigset_t all, old;
	int rc, cut = 0;

	if (l == NULL)
		return NULL;
	l->loop = loop;
	snprintf(l->path, sizeof(l->path), "%s/history", dir);
	history_init(&l->ring, HISTORY_MAX);
	if (read_file(l->path, &data, &len, &cut) == 0) {
		skipped = history_load(&l->ring, data, len, &l->file_lines);
		/* a file longer than the daemon leaves it: short again */
		if (cut || l->file_lines > 2 * HISTORY_MAX)
			l->need_rewrite = 1;
		if (skipped > 0) {
			log_warn("failover history %s: %zu line%s that cannot be read skipped", l->path, skipped,
				 skipped == 1 ? "" : "s");
			l->need_rewrite = 1; /* the next entry leaves a clean file */
		}
		free(data);
	} else if (errno != ENOENT) {
		log_warn("cannot read the failover history %s: %s; it starts empty", l->path, strerror(errno));
		l->need_rewrite = 1;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	ev_async_init(&l->done_w, done_cb);
	l->done_w.data = l;
	ev_async_start(loop, &l->done_w);
	/* signals go to the loop's thread (libev's signal watchers) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&l->th, NULL, writer_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ev_async_stop(loop, &l->done_w);
		free(l);
		errno = rc;
		return NULL;
	}
	return l;
}

/* The whole ring as the file's contents. */
static int encode_ring(const struct history *h, struct buf *b)
{
	char line[HISTORY_LINE_MAX];
	const struct history_entry *e;

	for (size_t i = 0; (e = history_at(h, i)) != NULL; i++) {
		size_t n = history_encode(e, line, sizeof(line));
		if (n == 0 || buf_add(b, line, n) != 0)
			return -1;
	}
	return 0;
}

void history_log_add(struct history_log *l, uint64_t term, enum history_kind kind, const char *node,
		     const char *fmt, ...)
{
	char reason[HISTORY_REASON_MAX + 1], line[HISTORY_LINE_MAX];
	const struct history_entry *e;
	va_list ap;
	size_t n;

	if (l == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	history_add(&l->ring, clock_wall_ms(), term, kind, node, reason);
	e = history_at(&l->ring, l->ring.n - 1);
	if ((n = history_encode(e, line, sizeof(line))) == 0)
		return;
	pthread_mutex_lock(&l->mu);
	/* a rewrite when the file would pass twice the ring, when a backlog
	 * as long as the ring waits (the thread is stuck), or when what the
	 * file holds is in doubt */
	if (l->need_rewrite || l->pend_rewrite || l->file_lines + 1 > 2 * l->ring.cap ||
	    l->pend_lines + 1 > l->ring.cap) {
		l->pend.len = l->pend.off = 0;
		if (encode_ring(&l->ring, &l->pend) == 0) {
			l->pend_rewrite = 1;
			l->pend_lines = l->ring.n;
			l->file_lines = l->ring.n;
			l->need_rewrite = 0;
		}
	} else if (buf_add(&l->pend, line, n) == 0) {
		l->pend_lines++;
		l->file_lines++;
	} else {
		l->need_rewrite = 1; /* out of memory: the line is in the ring */
	}
	l->have_job = l->pend.len > l->pend.off;
	if (l->have_job)
		pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void history_log_close(struct history_log *l)
{
	int busy;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	busy = l->busy;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	ev_async_stop(l->loop, &l->done_w);
	if (busy) {
		/* stuck in the kernel, maybe: the exit ends it, and l must
		 * outlive it */
		pthread_detach(l->th);
		return;
	}
	pthread_join(l->th, NULL);
	/* what the thread had not taken yet is lost: the loop has ended, and
	 * a stop is no moment to wait for a disk */
	buf_free(&l->pend);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}
