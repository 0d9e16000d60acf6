/* Unit tests of the output queue: the launcher's lines before the broker's,
 * a line partly written finished first, the budgets, and what is dropped
 * when they are full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "outq.h"

enum { INFO = 6, DEBUG = 7 };

/* writes out up to max bytes at a time until the queue is empty; the text
 * written, NUL-terminated */
static void drain(struct outq *q, size_t max, char *out, size_t outlen)
{
	size_t n, used = 0;
	const char *p;

	while ((p = outq_peek(q, &n)) != NULL) {
		if (n > max)
			n = max;
		assert_true(used + n < outlen);
		memcpy(out + used, p, n);
		used += n;
		outq_consume(q, n);
	}
	out[used] = '\0';
	assert_true(outq_empty(q));
	assert_int_equal(outq_bytes(q), 0);
}

static void own_lines_first(void **state)
{
	struct outq q;
	char out[256];
	(void)state;
	outq_init(&q, 1000, 100, DEBUG);
	assert_true(outq_empty(&q));
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, "b1\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "o1\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, "b2\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "o2\n", 3), 0);
	assert_int_equal(outq_bytes(&q), 12);
	drain(&q, 100, out, sizeof(out));
	assert_string_equal(out, "o1\no2\nb1\nb2\n");
	outq_clear(&q);
}

static void partial_line_finished_first(void **state)
{
	struct outq q;
	char out[256];
	size_t n;
	const char *p;
	(void)state;
	outq_init(&q, 1000, 100, DEBUG);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, "broker line\n", 12), 0);
	p = outq_peek(&q, &n);
	assert_int_equal(n, 12);
	assert_memory_equal(p, "broker", 6);
	outq_consume(&q, 6);
	/* a launcher line comes while the broker's is half out: it waits */
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "own\n", 4), 0);
	p = outq_peek(&q, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(p, " line\n", 6);
	/* the line being written is not evicted to make room */
	outq_drop_all(&q);
	assert_int_equal(q.dropped[OUTQ_OWN], 1);
	assert_int_equal(q.dropped[OUTQ_BROKER], 0);
	drain(&q, 2, out, sizeof(out));
	assert_string_equal(out, " line\n");
	outq_clear(&q);
}

static void broker_budget(void **state)
{
	struct outq q;
	char line[10], out[1024];
	(void)state;
	memset(line, 'x', 9);
	line[9] = '\n';
	outq_init(&q, 1000, 25, DEBUG);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, line, 10), 0);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, line, 10), 0);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, line, 10), -1);
	assert_int_equal(q.dropped[OUTQ_BROKER], 1);
	/* the launcher's lines have the rest of the budget */
	for (int i = 0; i < 50; i++)
		assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, line, 10), 0);
	assert_int_equal(q.dropped[OUTQ_OWN], 0);
	drain(&q, 7, out, sizeof(out));
	assert_int_equal(strlen(out), 520);
	/* the launcher's fifty first, whole, then the broker's two */
	for (int i = 0; i < 52; i++)
		assert_memory_equal(out + 10 * i, line, 10);
	outq_clear(&q);
}

static void own_lines_evict_broker_then_debug(void **state)
{
	struct outq q;
	char out[256];
	(void)state;
	outq_init(&q, 20, 20, DEBUG);
	assert_int_equal(outq_push(&q, OUTQ_OWN, DEBUG, "d1\n", 3), 0);
	assert_int_equal(q.ndebug, 1);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, "b1\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, "b2\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "i1\n", 3), 0);
	assert_int_equal(outq_bytes(&q), 12);
	/* 8 more bytes: the full budget; then 3 more evict b1 */
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "1234567\n", 8), 0);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "i2\n", 3), 0);
	assert_int_equal(q.dropped[OUTQ_BROKER], 1);
	/* b2, then the debug line */
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "i3\n", 3), 0);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "i4\n", 3), 0);
	assert_int_equal(q.dropped[OUTQ_BROKER], 2);
	assert_int_equal(q.dropped[OUTQ_OWN], 1);
	assert_int_equal(q.ndebug, 0);
	/* a debug line does not evict another; nothing left to evict for an
	 * info line either: both are dropped, and nothing queued is lost */
	assert_int_equal(outq_push(&q, OUTQ_OWN, DEBUG, "d2\n", 3), -1);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "i5\n", 3), -1);
	assert_int_equal(q.dropped[OUTQ_OWN], 3);
	assert_true(outq_bytes(&q) <= 20);
	drain(&q, 100, out, sizeof(out));
	assert_string_equal(out, "i1\n1234567\ni2\ni3\ni4\n");
	outq_clear(&q);
}

static void line_larger_than_budget(void **state)
{
	struct outq q;
	char big[64] = {0};
	(void)state;
	outq_init(&q, 32, 16, DEBUG);
	assert_int_equal(outq_push(&q, OUTQ_BROKER, INFO, big, 20), -1);
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, big, 40), -1);
	assert_true(outq_empty(&q));
	assert_null(outq_peek(&q, &(size_t){0}));
	outq_consume(&q, 5); /* nothing: no harm */
	outq_clear(&q);
}

static void clear_frees_everything(void **state)
{
	struct outq q;
	(void)state;
	outq_init(&q, 1000, 500, DEBUG);
	for (int i = 0; i < 20; i++) {
		outq_push(&q, OUTQ_OWN, INFO, "own line\n", 9);
		outq_push(&q, OUTQ_BROKER, INFO, "broker\n", 7);
	}
	for (int i = 0; i < 5; i++)
		outq_push(&q, OUTQ_OWN, DEBUG, "debug\n", 6);
	assert_int_equal(q.ndebug, 5);
	outq_consume(&q, 3);
	outq_clear(&q);
	assert_int_equal(q.ndebug, 0);
	assert_true(outq_empty(&q));
	assert_int_equal(outq_bytes(&q), 0);
	assert_null(q.cur);
	/* usable again */
	assert_int_equal(outq_push(&q, OUTQ_OWN, INFO, "x\n", 2), 0);
	outq_clear(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(own_lines_first),
		cmocka_unit_test(partial_line_finished_first),
		cmocka_unit_test(broker_budget),
		cmocka_unit_test(own_lines_evict_broker_then_debug),
		cmocka_unit_test(line_larger_than_budget),
		cmocka_unit_test(clear_frees_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
