/*
 * The memcached text protocol on the loopback listener: connections,
 * requests (parsed by mcproto.c) one at a time, replies, stats.
 */
#include "mcserver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_int.h"
#include "clock.h"
#include "mcproto.h"
#include "mesh.h"
#include "writes.h"

void mc_close(struct mcconn *c)
{
	struct mcconn **pp;

	if (c->wait)
		c->wait->conn = NULL;
	ev_io_stop(c->k->loop, &c->rw);
	ev_io_stop(c->k->loop, &c->ww);
	close(c->fd);
	for (pp = &c->k->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->k->nconns--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void mc_flush(struct mcconn *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			c->closing = 1;
			c->out.off = c->out.len;
			break;
		}
		c->out.off += (size_t)n;
	}
	if (c->out.off < c->out.len)
		ev_io_start(c->k->loop, &c->ww);
	else
		ev_io_stop(c->k->loop, &c->ww);
}

void mc_reply(struct mcconn *c, const char *text, size_t n)
{
	if (buf_add(&c->out, text, n) != 0)
		c->closing = 1;
}

static void mc_value(struct mcconn *c, const char *key, const struct store_entry *e, int with_cas)
{
	char head[400];
	int n;

	if (with_cas)
		n = snprintf(head, sizeof(head), "VALUE %s %u %u %llu\r\n", key, e->flags, e->len,
			     (unsigned long long)store_cas(e));
	else
		n = snprintf(head, sizeof(head), "VALUE %s %u %u\r\n", key, e->flags, e->len);
	mc_reply(c, head, (size_t)n);
	if (e->len)
		mc_reply(c, (const char *)e->value, e->len);
	mc_reply(c, "\r\n", 2);
}

static uint64_t expiry(int64_t exptime)
{
	if (exptime == 0)
		return 0;
	if (exptime < 0)
		return 1; /* already expired */
	if (exptime <= 60 * 60 * 24 * 30)
		return clock_wall_ms() + (uint64_t)exptime * 1000;
	/* a Unix time; one past what milliseconds hold is "never" rather than
	 * a product that wraps to the past (gone at once) */
	if ((uint64_t)exptime > UINT64_MAX / 1000)
		return UINT64_MAX;
	return (uint64_t)exptime * 1000;
}

static void mc_stats(struct mcconn *c)
{
	struct cache *k = c->k;
	char s[2048];
	unsigned peers = 0;
	int n;

	for (struct rpeer *p = k->peers; p; p = p->next)
		peers += p->ready;
	n = snprintf(s, sizeof(s),
		     "STAT pid %ld\r\nSTAT uptime %llu\r\nSTAT time %llu\r\nSTAT version %s\r\n"
		     "STAT curr_items %zu\r\nSTAT bytes %llu\r\nSTAT curr_connections %u\r\n"
		     "STAT cmd_get %llu\r\nSTAT cmd_set %llu\r\nSTAT get_hits %llu\r\nSTAT get_misses %llu\r\n"
		     "STAT limit_maxbytes %llu\r\nSTAT tombstones %zu\r\nSTAT repl_peers %u\r\n"
		     "STAT repl_sent %llu\r\nSTAT repl_received %llu\r\nSTAT repl_acks %llu\r\n"
		     "STAT repl_unacknowledged %llu\r\nSTAT repl_snapshots %llu\r\nSTAT digest %016llx\r\nEND\r\n",
		     (long)getpid(), (unsigned long long)((clock_mono_ms() - k->started) / 1000),
		     (unsigned long long)(clock_wall_ms() / 1000), FL_VERSION, k->st.live, (unsigned long long)k->st.bytes,
		     k->nconns, (unsigned long long)k->cmd_get, (unsigned long long)k->cmd_set,
		     (unsigned long long)k->get_hits, (unsigned long long)k->get_misses,
		     (unsigned long long)(k->st.lim.max_entries * (uint64_t)k->st.lim.max_value), k->st.tombstones,
		     peers, (unsigned long long)k->repl_sent, (unsigned long long)k->repl_recv, (unsigned long long)k->acks,
		     (unsigned long long)k->unacked, (unsigned long long)k->syncs, (unsigned long long)k->st.digest);
	mc_reply(c, s, (size_t)n);
}

static void mc_handle(struct mcconn *c, struct mc_req *r)
{
	struct cache *k = c->k;
	const char *reply = NULL;
	const struct store_entry *e;
	char key[STORE_KEY_MAX + 1];

	switch (r->cmd) {
	case MC_GET:
	case MC_GETS:
		for (int i = 0; i < r->nkeys; i++) {
			k->cmd_get++;
			e = store_get(&k->st, r->keys[i], clock_wall_ms());
			if (e) {
				k->get_hits++;
				mc_value(c, r->keys[i], e, r->cmd == MC_GETS);
			} else {
				k->get_misses++;
			}
		}
		mc_reply(c, "END\r\n", 5);
		return;
	case MC_STATS:
		mc_stats(c);
		return;
	case MC_VERSION: {
		char v[96];
		/* clients parse major.minor.micro as a memcached version (libmemcached
		 * refuses a major 0): the protocol level we speak, then our own */
		int n = snprintf(v, sizeof(v), "VERSION 1.6.0 failover-launcher-%s\r\n", FL_VERSION);
		mc_reply(c, v, (size_t)n);
		return;
	}
	case MC_QUIT:
		c->closing = 1;
		return;
	case MC_DELETE:
		snprintf(key, sizeof(key), "%s", r->keys[0]);
		if (store_get(&k->st, key, clock_wall_ms()) == NULL) {
			reply = "NOT_FOUND\r\n";
			break;
		}
		reply = writes_local(k, c, key, NULL, 0, 0, 0, 1, "DELETED\r\n", r->noreply);
		break;
	default:
		k->cmd_set++;
		snprintf(key, sizeof(key), "%s", r->keys[0]);
		e = store_get(&k->st, key, clock_wall_ms());
		if ((r->cmd == MC_ADD && e) || (r->cmd == MC_REPLACE && !e)) {
			reply = "NOT_STORED\r\n";
			break;
		}
		if (r->cmd == MC_CAS && !e) {
			reply = "NOT_FOUND\r\n";
			break;
		}
		if (r->cmd == MC_CAS && store_cas(e) != r->cas) {
			reply = "EXISTS\r\n";
			break;
		}
		reply = writes_local(k, c, key, r->data, r->bytes, r->flags, expiry(r->exptime), 0, "STORED\r\n",
				    r->noreply);
		break;
	}
	if (reply != NULL && !(r->noreply && strncmp(reply, "SERVER_ERROR", 12) != 0))
		mc_reply(c, reply, strlen(reply));
}

/* Replies not yet taken by the client, past which its next requests wait
 * in the socket: a client that sends without reading must not make the
 * reply buffer grow without bound (one large reply may still pass it). */
#define MC_OUT_MAX (1u << 20)

static int backlogged(const struct mcconn *c)
{
	return c->out.len - c->out.off >= MC_OUT_MAX;
}

void mc_process(struct mcconn *c)
{
	struct cache *k = c->k;

again:
	c->stalled_out = 0;
	while (!c->wait && !c->closing && c->in.off < c->in.len) {
		if (backlogged(c)) {
			c->stalled_out = 1;
			break;
		}
		struct mc_req req;
		size_t used;
		char err[128];
		enum mc_status st;

		if (c->skip) {
			size_t n = c->in.len - c->in.off < c->skip ? c->in.len - c->in.off : c->skip;
			c->in.off += n;
			c->skip -= n;
			continue;
		}
		st = mc_parse(c->in.p + c->in.off, c->in.len - c->in.off, k->st.lim.max_key,
			      k->st.lim.max_value, &req, &used, err, sizeof(err));
		if (st == MC_NEED_MORE)
			break;
		c->in.off += used;
		if (st == MC_ERROR) {
			mc_reply(c, err, strlen(err));
			k->refused++;
			c->skip = req.skip;
			if (req.close)
				c->closing = 1;
			continue;
		}
		mc_handle(c, &req);
	}
	/* What is left when nothing waits is one incomplete request, which
	 * mc_parse bounds (a line, then at most max_value bytes of data): the
	 * size limit applies to it, never to a batch of requests that one recv
	 * took in.  Past it the parser has gone wrong: close rather than grow. */
	if (!c->wait && !c->closing && !backlogged(c) && c->in.len - c->in.off > MC_LINE_MAX + k->st.lim.max_value + 2) {
		mc_reply(c, "SERVER_ERROR request too large\r\n", 32);
		c->closing = 1;
	}
	mc_flush(c);
	if (c->closing && c->out.off >= c->out.len) {
		mc_close(c);
		return;
	}
	/* the backlog went out at once: the requests read already go on */
	if (!c->wait && !c->closing && !backlogged(c) && c->in.off < c->in.len && c->stalled_out) {
		c->stalled_out = 0;
		goto again;
	}
	/* However the backlog came, mc_tx_cb resumes once it drains: the loop
	 * may have stopped before a request, or the last request in the
	 * buffer made it, and then the next ones are in the socket, which
	 * nothing reads with the watcher stopped below. */
	if (!c->wait && !c->closing && backlogged(c))
		c->stalled_out = 1;
	/* Requests are handled one at a time: while one waits for its
	 * acknowledgements (or the connection only drains its replies) the
	 * rest stays in the socket.  The socket is readable all that time, so
	 * the watcher is stopped, not merely ignored; pending_done resumes it
	 * through here; so does a backlog of replies, once it drains. */
	if (c->wait || c->closing || backlogged(c))
		ev_io_stop(k->loop, &c->rw);
	else
		ev_io_start(k->loop, &c->rw);
}

static void mc_rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mcconn *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (buf_reserve(&c->in, 16384) != 0) {
		mc_close(c);
		return;
	}
	n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		c->closing = 1;
		mc_process(c);
		return;
	}
	/* the buffer stays bounded: mc_process leaves at most one incomplete
	 * request in it, and no read happens while a request waits */
	c->in.len += (size_t)n;
	mc_process(c);
}

static void mc_tx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mcconn *c = w->data;

	(void)loop;
	(void)revents;
	mc_flush(c);
	if (c->closing && c->out.off >= c->out.len)
		mc_close(c);
	else if (c->stalled_out && !backlogged(c))
		/* the backlog drained: the requests read already (the socket may
		 * have nothing more to say), then reading again */
		mc_process(c);
}

void mc_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cache *k = w->data;

	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = cache_accept(k, w);
		struct mcconn *c;
		if (fd < 0)
			return;
		if (k->nconns >= 1024) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->k = k;
		c->fd = fd;
		c->next = k->conns;
		k->conns = c;
		k->nconns++;
		ev_io_init(&c->rw, mc_rx_cb, fd, EV_READ);
		c->rw.data = c;
		ev_io_init(&c->ww, mc_tx_cb, fd, EV_WRITE);
		c->ww.data = c;
		ev_io_start(loop, &c->rw);
	}
}


void mcserver_close(struct cache *k)
{
	while (k->conns)
		mc_close(k->conns);
}
