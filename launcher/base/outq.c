#include "outq.h"

#include <stdlib.h>
#include <string.h>

void outq_init(struct outq *q, size_t cap, size_t broker_cap, int debug_level)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap;
	q->broker_cap = broker_cap < cap ? broker_cap : cap;
	q->debug_level = debug_level;
}

int outq_empty(const struct outq *q)
{
	return q->head[OUTQ_OWN] == NULL && q->head[OUTQ_BROKER] == NULL;
}

size_t outq_bytes(const struct outq *q)
{
	return q->bytes[OUTQ_OWN] + q->bytes[OUTQ_BROKER];
}

/* Unlinks the line after prev (NULL: the head) of class cls and frees it. */
static void unlink_after(struct outq *q, int cls, struct outq_line *prev)
{
	struct outq_line *l = prev != NULL ? prev->next : q->head[cls];

	if (prev != NULL)
		prev->next = l->next;
	else
		q->head[cls] = l->next;
	if (q->tail[cls] == l)
		q->tail[cls] = prev;
	if (q->cur == l)
		q->cur = NULL;
	if (cls == OUTQ_OWN && l->level >= q->debug_level)
		q->ndebug--;
	q->bytes[cls] -= l->len;
	free(l);
}

/* Evicts the oldest line of class cls that is not being written and, for
 * debug_only, is a debug line: 1 when one was evicted. */
static int evict_one(struct outq *q, int cls, int debug_only)
{
	struct outq_line *prev = NULL;

	for (struct outq_line *l = q->head[cls]; l != NULL; prev = l, l = l->next) {
		if (l == q->cur || (debug_only && l->level < q->debug_level))
			continue;
		unlink_after(q, cls, prev);
		q->dropped[cls]++;
		return 1;
	}
	return 0;
}

int outq_push(struct outq *q, enum outq_class cls, int level, const void *p, size_t n)
{
	struct outq_line *l;

	if (cls == OUTQ_BROKER) {
		if (q->bytes[OUTQ_BROKER] + n > q->broker_cap || outq_bytes(q) + n > q->cap)
			goto drop;
	} else {
		/* broker lines first, then our own debug lines, make room */
		while (outq_bytes(q) + n > q->cap && evict_one(q, OUTQ_BROKER, 0))
			;
		while (outq_bytes(q) + n > q->cap && level < q->debug_level && q->ndebug > 0 &&
		       evict_one(q, OUTQ_OWN, 1))
			;
		if (outq_bytes(q) + n > q->cap)
			goto drop;
	}
	l = malloc(sizeof(*l) + n);
	if (l == NULL)
		goto drop;
	l->next = NULL;
	l->len = n;
	l->off = 0;
	l->level = level;
	memcpy(l->data, p, n);
	if (q->tail[cls] != NULL)
		q->tail[cls]->next = l;
	else
		q->head[cls] = l;
	q->tail[cls] = l;
	q->bytes[cls] += n;
	if (cls == OUTQ_OWN && level >= q->debug_level)
		q->ndebug++;
	return 0;
drop:
	q->dropped[cls]++;
	return -1;
}

static struct outq_line *next_line(const struct outq *q, int *cls)
{
	if (q->cur != NULL) {
		*cls = q->head[OUTQ_OWN] == q->cur ? OUTQ_OWN : OUTQ_BROKER;
		return q->cur;
	}
	*cls = q->head[OUTQ_OWN] != NULL ? OUTQ_OWN : OUTQ_BROKER;
	return q->head[*cls];
}

const char *outq_peek(const struct outq *q, size_t *n)
{
	int cls;
	struct outq_line *l = next_line(q, &cls);

	if (l == NULL) {
		*n = 0;
		return NULL;
	}
	*n = l->len - l->off;
	return l->data + l->off;
}

void outq_consume(struct outq *q, size_t n)
{
	int cls;
	struct outq_line *l = next_line(q, &cls);

	if (l == NULL)
		return;
	l->off += n < l->len - l->off ? n : l->len - l->off;
	if (l->off == l->len)
		unlink_after(q, cls, NULL); /* the line written is always its class's head */
	else
		q->cur = l;
}

void outq_drop_all(struct outq *q)
{
	for (int cls = 0; cls < 2; cls++)
		while (evict_one(q, cls, 0))
			;
}

void outq_clear(struct outq *q)
{
	for (int cls = 0; cls < 2; cls++)
		while (q->head[cls] != NULL)
			unlink_after(q, cls, NULL);
}
