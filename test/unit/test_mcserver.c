/* The memcached connections of mcserver.c over a socketpair, in one thread:
 * a client that sends gets without reading holds the server to about a MiB
 * of replies, and once it reads, every request it sent is answered, in the
 * launcher's buffer or still in the socket, however the backlog came (the
 * loop stopping before a request, or the last request read making it).
 * writes.c and the listener are stubbed: these tests only read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_int.h"
#include "mcserver.h"
#include "writes.h"

#define VALUE_LEN 60000u
/* one reply to "get big": "VALUE big 0 60000\r\n", the value, "\r\nEND\r\n" */
#define REPLY_LEN (19u + VALUE_LEN + 7u)

/* ---- stubs: the listener hands over one descriptor; no writes here ---- */

static int accept_fd = -1;

int cache_accept(struct cache *k, ev_io *lw)
{
	int fd = accept_fd;

	(void)k;
	(void)lw;
	accept_fd = -1;
	return fd;
}

const char *writes_local(struct cache *k, struct mcconn *c, const char *key, const uint8_t *data, uint32_t len,
			 uint32_t flags, uint64_t expires, int tombstone, const char *ok, int noreply)
{
	(void)k;
	(void)c;
	(void)key;
	(void)data;
	(void)len;
	(void)flags;
	(void)expires;
	(void)tombstone;
	(void)noreply;
	return ok;
}

/* ---- a cache holding "big", one connection to it ---- */

struct lab {
	struct cache *k;
	int client;
};

static struct lab *lab_open(void)
{
	struct lab *l = calloc(1, sizeof(*l));
	struct store_limits lim = { .max_entries = 16, .max_key = 250, .max_value = 65536, .tombstone_ms = 60000 };
	struct store_version v;
	uint8_t *value = malloc(VALUE_LEN);
	int sv[2], small = 4096;
	ev_io lw;

	assert_non_null(l);
	assert_non_null(value);
	l->k = calloc(1, sizeof(*l->k));
	assert_non_null(l->k);
	l->k->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(l->k->loop);
	assert_int_equal(store_init(&l->k->st, &lim), 0);
	memset(value, 'x', VALUE_LEN);
	v = store_next_version(&l->k->st, 1, "n1", 1000);
	assert_int_equal(store_apply(&l->k->st, "big", value, VALUE_LEN, 0, 0, &v, 0, 1000), STORE_OK);
	free(value);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* the launcher's end takes only a few KB of replies while the client
	 * does not read: what it does not send waits in its buffer */
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	l->client = sv[1];
	accept_fd = sv[0];
	lw.data = l->k;
	mc_accept_cb(l->k->loop, &lw, EV_READ);
	assert_non_null(l->k->conns);
	return l;
}

static void lab_close(struct lab *l)
{
	mcserver_close(l->k);
	store_free(&l->k->st);
	ev_loop_destroy(l->k->loop);
	free(l->k);
	close(l->client);
	free(l);
}

static void client_send(struct lab *l, const char *text)
{
	size_t n = strlen(text);

	assert_int_equal(send(l->client, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

static char *get_lines(unsigned n)
{
	char *s = malloc(9 * n + 1);

	assert_non_null(s);
	for (unsigned i = 0; i < n; i++)
		memcpy(s + 9 * i, "get big\r\n", 9);
	s[9 * n] = '\0';
	return s;
}

/* Lets the launcher run without the client reading; the bytes of replies it
 * holds. */
static size_t run_unread(struct lab *l)
{
	for (int i = 0; i < 10; i++)
		ev_run(l->k->loop, EVRUN_NOWAIT);
	return l->k->conns->out.len - l->k->conns->out.off;
}

/* Reads replies, running the launcher in between, until want replies came
 * or nothing moved for a while; the replies that came (every byte checked:
 * each reply is one value of "big"). */
static unsigned read_replies(struct lab *l, unsigned want)
{
	static const char head[] = "VALUE big 0 60000\r\n";
	size_t pos = 0; /* in the current reply */
	unsigned got = 0, idle = 0;
	char b[65536];

	while (got < want && idle < 2000) {
		ssize_t n;

		ev_run(l->k->loop, EVRUN_NOWAIT);
		n = recv(l->client, b, sizeof(b), 0);
		if (n < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			idle++;
			continue;
		}
		assert_true(n > 0);
		idle = 0;
		for (ssize_t i = 0; i < n; i++) {
			char want_c = pos < 19 ? head[pos] : pos < 19 + VALUE_LEN ? 'x' : "\r\nEND\r\n"[pos - 19 - VALUE_LEN];
			assert_int_equal(b[i], want_c);
			if (++pos == REPLY_LEN) {
				pos = 0;
				got++;
			}
		}
	}
	assert_int_equal(pos, 0);
	return got;
}

/* one read takes in many more gets than the backlog allows: the loop stops
 * before the one that would pass it, and goes on as the client reads */
static void loop_stops_at_backlog(void **state)
{
	struct lab *l = lab_open();
	char *req = get_lines(40);
	size_t held;

	(void)state;
	client_send(l, req);
	held = run_unread(l);
	assert_true(held >= 1u << 20);
	assert_true(held < (1u << 20) + REPLY_LEN);
	assert_int_equal(read_replies(l, 40), 40);
	free(req);
	lab_close(l);
}

/* The 18th reply makes the backlog (17 are under a MiB): with 18 gets read,
 * the last one read makes it, not a check before one.  The next get, sent
 * then, waits in the socket: answered once the client reads, not left there
 * with the read watcher stopped for good. */
static void last_request_read_makes_backlog(void **state)
{
	struct lab *l = lab_open();
	char *req = get_lines(18);

	(void)state;
	client_send(l, req);
	assert_true(run_unread(l) >= 1u << 20);
	client_send(l, "get big\r\n");
	run_unread(l);
	assert_int_equal(read_replies(l, 19), 19);
	free(req);
	lab_close(l);
}

/* the same with an incomplete request after them: the loop meets the
 * backlog before it, and the rest of it comes from the socket later */
static void backlog_then_incomplete_request(void **state)
{
	struct lab *l = lab_open();
	char *req = get_lines(18);

	(void)state;
	client_send(l, req);
	client_send(l, "get b");
	assert_true(run_unread(l) >= 1u << 20);
	client_send(l, "ig\r\nget big\r\n");
	run_unread(l);
	assert_int_equal(read_replies(l, 20), 20);
	free(req);
	lab_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loop_stops_at_backlog),
		cmocka_unit_test(last_request_read_makes_backlog),
		cmocka_unit_test(backlog_then_incomplete_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
