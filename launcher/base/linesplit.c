/*
 * The line splitter: a fixed buffer of at most one incomplete line.
 */
#include "linesplit.h"

#include <string.h>

/* Passes on every complete line in the buffer, and the buffer itself when
 * it is full without a newline; keeps the incomplete rest at its start. */
static void drain(struct linesplit *ls, linesplit_fn *fn, void *ud)
{
	size_t start = 0;
	const char *nl;

	while ((nl = memchr(ls->buf + start, '\n', ls->len - start)) != NULL) {
		fn(ud, ls->buf + start, (size_t)(nl - (ls->buf + start)));
		start = (size_t)(nl - ls->buf) + 1;
	}
	if (start == 0 && ls->len == LINESPLIT_MAX) {
		fn(ud, ls->buf, ls->len); /* a line longer than the buffer: this piece */
		start = ls->len;
	}
	memmove(ls->buf, ls->buf + start, ls->len - start);
	ls->len -= start;
}

void linesplit_feed(struct linesplit *ls, const char *p, size_t n, linesplit_fn *fn, void *ud)
{
	while (n > 0) {
		size_t room = LINESPLIT_MAX - ls->len, take = n < room ? n : room;

		memcpy(ls->buf + ls->len, p, take);
		ls->len += take;
		p += take;
		n -= take;
		drain(ls, fn, ud);
	}
}

void linesplit_finish(struct linesplit *ls, linesplit_fn *fn, void *ud)
{
	if (ls->len > 0)
		fn(ud, ls->buf, ls->len);
	ls->len = 0;
}
