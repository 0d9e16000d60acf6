/*
 * Output of children (the broker, hook commands) cut into lines, so that
 * each line is logged or written whole and journald keeps lines apart.
 * Pure: bytes in, complete lines out through a callback.
 *
 * A line longer than LINESPLIT_MAX bytes is passed on in pieces of
 * LINESPLIT_MAX bytes, each one a line of its own, without a marker:
 * nothing is lost or altered, and memory stays bounded whatever a child
 * writes.  At the end of the stream an unterminated rest is a line too.
 */
#ifndef FL_LINESPLIT_H
#define FL_LINESPLIT_H

#include <stddef.h>

#define LINESPLIT_MAX 4096

struct linesplit {
	size_t len;               /* bytes of an incomplete line held */
	char buf[LINESPLIT_MAX];
};

/* One line, without its '\n'; not NUL-terminated. */
typedef void linesplit_fn(void *ud, const char *line, size_t len);

/* Takes n bytes of output; calls fn for every line they complete. */
void linesplit_feed(struct linesplit *ls, const char *p, size_t n, linesplit_fn *fn, void *ud);
/* End of the stream: calls fn for the rest, if any, and empties ls. */
void linesplit_finish(struct linesplit *ls, linesplit_fn *fn, void *ud);

#endif
