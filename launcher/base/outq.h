/*
 * A bounded queue of output lines waiting for a slow reader of stdout or
 * stderr.  Pure: lines in, the next bytes to write out, no I/O.
 *
 * Two classes share one byte budget: the launcher's own lines and the
 * broker's lines it copies.  Broker lines have a smaller budget of their own
 * and are refused (counted) when it is full; the launcher's lines are written
 * first, and make room by evicting queued broker lines, then queued debug
 * lines of their own; only when the queue holds nothing else is a launcher
 * line itself dropped (counted).  A line partly written is finished before
 * any other: what is already in the stream must not be cut by another line.
 */
#ifndef FL_OUTQ_H
#define FL_OUTQ_H

#include <stddef.h>
#include <stdint.h>

enum outq_class { OUTQ_OWN, OUTQ_BROKER };

struct outq_line {
	struct outq_line *next;
	size_t len, off;          /* bytes, and how many of them are written */
	int level;                /* a log level (log.h); debug lines go first */
	char data[];
};

struct outq {
	struct outq_line *head[2], *tail[2]; /* by class */
	struct outq_line *cur;    /* partly written, or NULL */
	size_t bytes[2];          /* queued, by class (a line's whole length) */
	size_t cap, broker_cap;   /* all lines; broker lines */
	uint64_t dropped[2];      /* lines refused or evicted, by class */
	int debug_level;          /* lines at this level or above are evicted first */
	size_t ndebug;            /* such lines of the launcher's queued (no search when none) */
};

void outq_init(struct outq *q, size_t cap, size_t broker_cap, int debug_level);
/* Frees every line; the counters stay. */
void outq_clear(struct outq *q);
int outq_empty(const struct outq *q);
size_t outq_bytes(const struct outq *q);
/* Queues a copy of a line: 0, or -1 when it was dropped (counted). */
int outq_push(struct outq *q, enum outq_class cls, int level, const void *p, size_t n);
/* The bytes to write next (*n of them), NULL when empty. */
const char *outq_peek(const struct outq *q, size_t *n);
/* n of the bytes outq_peek gave were written. */
void outq_consume(struct outq *q, size_t n);
/* Drops every line not yet started (counted); a line partly written stays. */
void outq_drop_all(struct outq *q);

#endif
