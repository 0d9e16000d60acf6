/*
 * Cache replicator: the memcached listener, the replication mesh, the
 * persistence.  The store itself (versions, merge, codec) is store.c.
 *
 * Replication frames on a TCP connection per pair of nodes (the node with
 * the lower id connects), big-endian:
 *
 *   len u32 (of what follows) | type u8 | payload [| tag, 16 bytes]
 *   HELLO     cluster digest u64 | node_len u8 | node | nonce (16), untagged
 *   AUTH      (empty): proves the sender holds the cluster key
 *   WRITE     request id u64 | one store entry
 *   ACK       request id u64 | status u8 (0 stored or older, 1 refused)
 *   SYNC      (empty): please send me everything
 *   SNAPSHOT  store entries, back to back (a snapshot spans many frames)
 *
 * After both HELLOs each side derives a key per direction from the two
 * nonces (auth.c) and tags every frame with it and a sequence number; a
 * peer is trusted (snapshots, writes) only after a valid AUTH frame.
 */
#include "cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "bytes.h"
#include "clock.h"
#include "file.h"
#include "frame.h"
#include "hash.h"
#include "log.h"
#include "mcproto.h"
#include "state.h"
#include "wire.h"

#define SNAPSHOT_CHUNK (4u << 20)
#define DIGEST_STRIKES 3

struct rpeer {
	struct cache *k;
	struct rpeer *next;
	char node[WIRE_ID_MAX + 1];      /* "" until an inbound HELLO names it */
	struct sockaddr_in addr;
	uint16_t port;
	uint64_t last_seen;              /* monotonic ms, from heartbeats */
	uint64_t digest, our_digest;     /* at the last heartbeat */
	int strikes;                     /* quiet heartbeats in a row with another digest */
	uint64_t last_sync;
	int fd;
	int connecting;
	int keyed;                       /* both HELLOs seen: frames are tagged */
	int ready;                       /* a valid AUTH came: trusted */
	uint8_t nonce[AUTH_NONCE_LEN], peer_nonce[AUTH_NONCE_LEN];
	uint8_t k_tx[AUTH_KEY_LEN], k_rx[AUTH_KEY_LEN];
	uint64_t tx_seq, rx_seq;
	uint64_t retry_at;
	ev_io rw, ww;
	struct buf in, out;
};

struct pending {
	struct pending *next;
	struct cache *k;
	uint64_t id;
	struct mcconn *conn;
	char reply[32];
	int noreply;
	int nwait;
	char wait[64][WIRE_ID_MAX + 1];
	ev_timer t;
};

struct mcconn {
	struct cache *k;
	struct mcconn *next;
	int fd;
	ev_io rw, ww;
	struct buf in, out;
	size_t skip;
	int closing;
	struct pending *wait;
};

struct cache {
	struct ev_loop *loop;
	const struct auth_keys *keys;    /* NULL: cluster.auth = none */
	char node[WIRE_ID_MAX + 1];
	uint64_t cluster;
	uint64_t term;
	struct store st;
	int sync;
	uint64_t sync_timeout;
	uint64_t peer_timeout;
	int mc_fd, repl_fd;
	uint16_t repl_port;
	char address[96];
	ev_io mc_w, repl_w;
	ev_timer persist_w, tick_w;
	ev_child save_w;
	pid_t save_pid;             /* a child saving the store, or 0 */
	uint64_t save_started;
	char path[4200];
	int dirty;
	uint64_t persist_err_at;
	struct rpeer *peers;
	struct mcconn *conns;
	struct pending *pend;
	uint64_t next_id;
	uint64_t started;
	/* counters */
	uint64_t cmd_get, cmd_set, get_hits, get_misses, repl_sent, repl_recv, acks, unacked, syncs, persists,
		persist_errors, refused, auth_failures;
	unsigned nconns;
};

/* ---- persistence ---- */

static void encode_cb(void *ud, const struct store_entry *e)
{
	struct buf *b = ud;
	store_encode_entry(e, &b->p, &b->len, &b->cap);
}

/* Encodes the store and writes the file; 0, or an errno. */
static int save_file(struct cache *k)
{
	struct buf body = {0};
	uint8_t head[16];
	struct buf all = {0};
	int rc = 0;

	store_each(&k->st, encode_cb, &body);
	memcpy(head, "FLCACHE1", 8);
	bytes_put_be(head + 8, hash_fnv1a(HASH_FNV1A_INIT, body.p, body.len), 8);
	if (buf_add(&all, head, 16) != 0 || (body.len && buf_add(&all, body.p, body.len) != 0) ||
	    state_write_file(k->path, (const char *)all.p, all.len, 1) != 0)
		rc = errno ? errno : EIO;
	buf_free(&body);
	buf_free(&all);
	return rc;
}

static void saved(struct cache *k, int err)
{
	uint64_t now = clock_mono_ms();

	if (err != 0) {
		k->persist_errors++;
		if (k->persist_err_at == 0 || now - k->persist_err_at > 10000) {
			k->persist_err_at = now;
			log_err("cannot save the cache to %s: %s; serving from memory, retrying", k->path, strerror(err));
		}
		k->dirty = 1;
		ev_timer_set(&k->persist_w, 1.0, 0.); /* try again in a second */
		ev_timer_start(k->loop, &k->persist_w);
		return;
	}
	if (k->persist_err_at != 0)
		log_info("the cache is saved to %s again", k->path);
	k->persist_err_at = 0;
	k->persists++;
	if (k->dirty) {
		/* changed while saving: again, no sooner than the save took x 4, so
		 * saving a large store never takes most of the time */
		uint64_t took = now - k->save_started;
		ev_timer_set(&k->persist_w, took * 4 > 50 ? took * 4 / 1000.0 : 0.05, 0.);
		ev_timer_start(k->loop, &k->persist_w);
	}
}

static void save_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cache *k = w->data;
	int st = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	k->save_pid = 0;
	saved(k, WIFEXITED(st) ? WEXITSTATUS(st) : EINTR);
}

/*
 * Saving a large store (encode, write, fsync) would hold the event loop,
 * and with it the heartbeats, for as long as it takes.  A forked child
 * saves a copy-on-write image of the store instead; the loop goes on.
 */
static void persist(struct cache *k)
{
	pid_t pid;

	if (k->save_pid != 0)
		return; /* when it ends, saved() sees dirty set and saves again */
	k->dirty = 0;
	k->save_started = clock_mono_ms();
	pid = fork();
	if (pid < 0) {
		saved(k, save_file(k)); /* no fork: save in place */
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(save_file(k));
	}
	k->save_pid = pid;
	ev_child_set(&k->save_w, pid, 0);
	ev_child_start(k->loop, &k->save_w);
}

static void persist_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	persist(w->data);
}

static void mark_dirty(struct cache *k)
{
	k->dirty = 1;
	if (!ev_is_active(&k->persist_w)) {
		/* a burst of writes costs one fsync */
		ev_timer_set(&k->persist_w, 0.05, 0.);
		ev_timer_start(k->loop, &k->persist_w);
	}
}

static void restore(struct cache *k)
{
	char *raw = NULL;
	uint8_t *data;
	size_t len = 0, applied = 0;
	const char *why = NULL;

	if (file_read_all(k->path, &raw, &len) != 0) {
		if (errno != ENOENT)
			log_err("cannot read the cache file %s: %s; starting empty, peers will fill it", k->path,
				strerror(errno));
		return;
	}
	data = (uint8_t *)raw;
	if (len >= 16 && memcmp(data, "FLCACHE", 7) == 0 && data[7] > '1' && data[7] <= '9') {
		/* a newer release's format (a downgrade): keep it aside untouched */
		char newer[4300];
		snprintf(newer, sizeof(newer), "%s.newer", k->path);
		rename(k->path, newer);
		log_warn("the cache file %s has format %c, newer than ours (1): kept as %s; starting empty, peers will "
			 "fill it", k->path, data[7], newer);
		free(data);
		return;
	}
	if (len < 16 || memcmp(data, "FLCACHE1", 8) != 0)
		why = "not a cache file";
	else if (bytes_get_be(data + 8, 8) != hash_fnv1a(HASH_FNV1A_INIT, data + 16, len - 16))
		why = "checksum mismatch";
	else if (store_decode_entries(&k->st, data + 16, len - 16, &applied, clock_wall_ms()) != 0)
		why = "malformed entry";
	if (why != NULL) {
		char bad[4300];
		snprintf(bad, sizeof(bad), "%s.corrupt", k->path);
		rename(k->path, bad);
		log_err("the cache file %s is corrupted (%s): kept as %s; starting empty, peers will fill it", k->path,
			why, bad);
		store_free(&k->st);
		struct store_limits lim = k->st.lim;
		store_init(&k->st, &lim);
	} else {
		log_info("cache restored from %s: %zu entries", k->path, k->st.live);
	}
	free(data);
}

/* ---- replication: connections and frames ---- */

static void peer_send(struct rpeer *p, uint8_t type, const void *a, size_t alen, const void *b, size_t blen);
static void peer_close(struct rpeer *p, const char *why);
static void peer_init_io(struct rpeer *p);

static void peer_flush(struct rpeer *p)
{
	while (p->out.off < p->out.len) {
		ssize_t n = send(p->fd, p->out.p + p->out.off, p->out.len - p->out.off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			peer_close(p, strerror(errno));
			return;
		}
		p->out.off += (size_t)n;
	}
	if (p->out.off < p->out.len)
		ev_io_start(p->k->loop, &p->ww);
	else
		ev_io_stop(p->k->loop, &p->ww);
}

static void tag_cb(void *ud, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG])
{
	struct rpeer *p = ud;
	auth_frame_tag(p->k_tx, p->tx_seq++, span, n, tag);
}

static int check_cb(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG])
{
	struct rpeer *p = ud;
	return auth_frame_check(p->k_rx, p->rx_seq++, span, n, tag);
}

static void peer_send(struct rpeer *p, uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	const struct frame_tagger t = {.tag = tag_cb, .ud = p};

	if (p->fd < 0 || (type != FRAME_HELLO && !p->keyed))
		return;
	if (frame_encode(&p->out, type, a, alen, b, blen, &t) != 0) {
		peer_close(p, "out of memory");
		return;
	}
	if (!p->connecting)
		peer_flush(p);
}

/* Both nonces known: a key for each direction. */
static void derive_keys(struct rpeer *p)
{
	static const struct auth_keys none; /* cluster.auth = none: a zero key */
	const struct auth_keys *ks = p->k->keys;
	struct auth_keys zero;

	if (ks == NULL) {
		zero = none;
		zero.n = 1;
		zero.k[0].id = 1;
		zero.signing = 1;
		ks = &zero;
	}
	auth_session_key(ks, p->nonce, p->peer_nonce, p->k->node, p->k_tx);
	auth_session_key(ks, p->peer_nonce, p->nonce, p->node, p->k_rx);
	p->tx_seq = p->rx_seq = 0;
	p->keyed = 1;
	peer_send(p, FRAME_AUTH, NULL, 0, NULL, 0);
}

static void send_hello(struct rpeer *p)
{
	uint8_t h[8 + 1 + WIRE_ID_MAX + AUTH_NONCE_LEN];
	size_t n = strlen(p->k->node);

	bytes_put_be(h, p->k->cluster, 8);
	h[8] = (uint8_t)n;
	memcpy(h + 9, p->k->node, n);
	memcpy(h + 9 + n, p->nonce, AUTH_NONCE_LEN);
	peer_send(p, FRAME_HELLO, h, 9 + n + AUTH_NONCE_LEN, NULL, 0);
}

struct snap_ctx {
	struct rpeer *p;
	struct buf b;
};

static void snap_cb(void *ud, const struct store_entry *e)
{
	struct snap_ctx *s = ud;

	store_encode_entry(e, &s->b.p, &s->b.len, &s->b.cap);
	if (s->b.len >= SNAPSHOT_CHUNK) {
		peer_send(s->p, FRAME_SNAPSHOT, s->b.p, s->b.len, NULL, 0);
		s->b.len = 0;
	}
}

static void send_snapshot(struct rpeer *p)
{
	struct snap_ctx s = {.p = p};

	store_each(&p->k->st, snap_cb, &s);
	if (s.b.len)
		peer_send(p, FRAME_SNAPSHOT, s.b.p, s.b.len, NULL, 0);
	buf_free(&s.b);
	p->last_sync = clock_mono_ms();
	p->k->syncs++;
}

static void pending_done(struct pending *pd, const char *reply);

static void on_ack(struct cache *k, struct rpeer *p, uint64_t id, int status)
{
	for (struct pending *pd = k->pend; pd; pd = pd->next) {
		if (pd->id != id)
			continue;
		for (int i = 0; i < pd->nwait; i++)
			if (strcmp(pd->wait[i], p->node) == 0 && status == 0) {
				memmove(pd->wait[i], pd->wait[i + 1], (size_t)(pd->nwait - i - 1) * sizeof(pd->wait[0]));
				pd->nwait--;
				k->acks++;
				break;
			}
		if (pd->nwait == 0)
			pending_done(pd, NULL);
		return;
	}
}

static void apply_entries(struct cache *k, const uint8_t *p, size_t n, const char *from)
{
	size_t applied = 0;

	if (store_decode_entries(&k->st, p, n, &applied, clock_wall_ms()) != 0)
		log_warn("a malformed snapshot from %s was ignored past its first %zu entries", from, applied);
	if (applied) {
		mark_dirty(k);
		log_debug("%zu entries from %s", applied, from);
	}
}

static struct rpeer *find_peer(struct cache *k, const char *node)
{
	for (struct rpeer *p = k->peers; p; p = p->next)
		if (p->node[0] && strcmp(p->node, node) == 0)
			return p;
	return NULL;
}

static void peer_ready(struct rpeer *p)
{
	p->ready = 1;
	log_info("cache: replicating with %s", p->node);
	/* a joining node gets everything, and gives everything */
	send_snapshot(p);
}

/* HELLO on an inbound connection: attach it to the peer it names. */
static int on_hello(struct rpeer *p, const uint8_t *a, size_t n)
{
	struct cache *k = p->k;
	char node[WIRE_ID_MAX + 1];
	struct rpeer *known;

	if (n < 9 || a[8] == 0 || a[8] > WIRE_ID_MAX || (size_t)a[8] + 9 + AUTH_NONCE_LEN != n ||
	    bytes_get_be(a, 8) != k->cluster || p->keyed)
		return -1;
	memcpy(node, a + 9, a[8]);
	node[a[8]] = '\0';
	if (!wire_valid_id(node) || strcmp(node, k->node) == 0)
		return -1;
	if (p->node[0] != '\0') { /* our outbound connection: the answer */
		if (strcmp(p->node, node) != 0)
			return -1;
		memcpy(p->peer_nonce, a + 9 + a[8], AUTH_NONCE_LEN);
		derive_keys(p);
		return 0;
	}
	known = find_peer(k, node);
	if (known != NULL && known != p) {
		/* take over the fd into the known peer record */
		if (known->fd >= 0)
			peer_close(known, "replaced by a new connection");
		known->fd = p->fd;
		known->in = p->in;
		known->out = p->out;
		memset(&p->in, 0, sizeof(p->in));
		memset(&p->out, 0, sizeof(p->out));
		ev_io_stop(k->loop, &p->rw);
		ev_io_stop(k->loop, &p->ww);
		p->fd = -1;
		/* a record made from heartbeats has never had a connection */
		peer_init_io(known);
		ev_io_start(k->loop, &known->rw);
		memcpy(known->nonce, p->nonce, AUTH_NONCE_LEN);
		memcpy(known->peer_nonce, a + 9 + a[8], AUTH_NONCE_LEN);
		known->keyed = known->ready = known->connecting = 0;
		send_hello(known);
		derive_keys(known);
		return 1; /* p is now empty: the caller frees it */
	}
	snprintf(p->node, sizeof(p->node), "%s", node);
	memcpy(p->peer_nonce, a + 9 + a[8], AUTH_NONCE_LEN);
	send_hello(p);
	derive_keys(p);
	return 0;
}

static void free_peer(struct rpeer *p)
{
	struct rpeer **pp;

	for (pp = &p->k->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	buf_free(&p->in);
	buf_free(&p->out);
	free(p);
}

static void peer_rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpeer *p = w->data;
	struct cache *k = p->k;

	(void)loop;
	(void)revents;
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n;
		if (buf_reserve(&p->in, 65536) != 0) {
			peer_close(p, "out of memory");
			return;
		}
		n = recv(p->fd, p->in.p + p->in.len, p->in.cap - p->in.len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			int anonymous = p->node[0] == '\0';
			peer_close(p, n == 0 ? "closed by peer" : strerror(errno));
			if (anonymous)
				free_peer(p);
			return;
		}
		p->in.len += (size_t)n;
	}
	for (;;) {
		const struct frame_tagger t = {.check = check_cb, .ud = p};
		struct frame fr;
		size_t used;
		const uint8_t *a;
		size_t alen;
		int r;
		enum frame_status st = frame_decode(p->in.p + p->in.off, p->in.len - p->in.off, FRAME_MAX,
						    p->keyed ? &t : NULL, &fr, &used);

		if (st == FRAME_NEED_MORE)
			break;
		if (st == FRAME_BAD_LENGTH) {
			peer_close(p, "bad frame");
			return;
		}
		p->in.off += used;
		if (st == FRAME_BAD_TAG) {
			int anonymous = p->node[0] == '\0';
			k->auth_failures++;
			log_warn("cache: dropped a replication connection%s%s: %s", anonymous ? "" : " with ",
				 p->node, p->keyed ? "a frame failed authentication" : "no HELLO first");
			peer_close(p, "authentication");
			if (anonymous)
				free_peer(p);
			return;
		}
		a = fr.payload;
		alen = fr.len;
		if (fr.type != FRAME_HELLO && !p->ready && fr.type != FRAME_AUTH) {
			peer_close(p, "no AUTH first");
			return;
		}
		switch (fr.type) {
		case FRAME_AUTH:
			if (!p->ready)
				peer_ready(p);
			break;
		case FRAME_HELLO:
			r = on_hello(p, a, alen);
			if (r < 0) {
				int anonymous = p->node[0] == '\0';
				log_warn("cache: refused a replication connection (foreign cluster or bad HELLO)");
				peer_close(p, "bad HELLO");
				if (anonymous)
					free_peer(p);
				return;
			}
			if (r == 1) {
				free_peer(p);
				return;
			}
			break;
		case FRAME_WRITE: {
			uint8_t ack[9];
			size_t applied = 0;
			int refused = 0;
			if (alen < 8)
				break;
			k->repl_recv++;
			if (store_decode_entries(&k->st, a + 8, alen - 8, &applied, clock_wall_ms()) != 0)
				refused = 1;
			if (applied)
				mark_dirty(k);
			memcpy(ack, a, 8);
			ack[8] = (uint8_t)refused;
			if (bytes_get_be(a, 8) != 0)
				peer_send(p, FRAME_ACK, ack, 9, NULL, 0);
			break;
		}
		case FRAME_ACK:
			if (alen == 9)
				on_ack(k, p, bytes_get_be(a, 8), a[8]);
			break;
		case FRAME_SYNC:
			send_snapshot(p);
			break;
		case FRAME_SNAPSHOT:
			apply_entries(k, a, alen, p->node);
			break;
		default:
			break;
		}
		if (p->fd < 0)
			return;
	}
}

static void peer_tx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpeer *p = w->data;

	(void)loop;
	(void)revents;
	if (p->connecting) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			errno = err;
			peer_close(p, strerror(err));
			return;
		}
		p->connecting = 0;
		ev_io_start(p->k->loop, &p->rw);
	}
	peer_flush(p);
}

static void peer_close(struct rpeer *p, const char *why)
{
	if (p->fd < 0)
		return;
	if (p->ready)
		log_info("cache: replication with %s closed: %s", p->node, why);
	ev_io_stop(p->k->loop, &p->rw);
	ev_io_stop(p->k->loop, &p->ww);
	close(p->fd);
	p->fd = -1;
	p->ready = p->connecting = p->keyed = 0;
	p->in.len = p->in.off = p->out.len = p->out.off = 0;
	p->retry_at = clock_mono_ms() + 100;
}

static void peer_init_io(struct rpeer *p)
{
	ev_io_init(&p->rw, peer_rx_cb, p->fd, EV_READ);
	p->rw.data = p;
	ev_io_init(&p->ww, peer_tx_cb, p->fd, EV_WRITE);
	p->ww.data = p;
}

static void peer_connect(struct rpeer *p)
{
	struct sockaddr_in a = p->addr;
	int one = 1;

	a.sin_port = htons(p->port);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_init_io(p);
	if (connect(p->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		peer_close(p, strerror(errno));
		return;
	}
	p->connecting = 1;
	p->keyed = p->ready = 0;
	auth_random(p->nonce, AUTH_NONCE_LEN);
	send_hello(p); /* queued until connected */
	ev_io_start(p->k->loop, &p->ww);
}

static void repl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cache *k = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(k->repl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct rpeer *p;
		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			close(fd);
			continue;
		}
		p->k = k;
		p->fd = fd;
		auth_random(p->nonce, AUTH_NONCE_LEN);
		p->next = k->peers;
		k->peers = p;
		peer_init_io(p);
		ev_io_start(k->loop, &p->rw);
	}
}

void cache_peer_seen(struct cache *k, const char *node, const struct sockaddr_in *addr, uint16_t repl_port,
		     uint64_t digest)
{
	struct rpeer *p = find_peer(k, node);
	uint64_t now = clock_mono_ms();

	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return;
		p->k = k;
		p->fd = -1;
		snprintf(p->node, sizeof(p->node), "%s", node);
		p->next = k->peers;
		k->peers = p;
	}
	p->addr = *addr;
	p->port = repl_port;
	p->last_seen = now;
	/* the lower id connects; the other waits for it */
	if (p->fd < 0 && repl_port != 0 && strcmp(k->node, node) < 0 && now >= p->retry_at)
		peer_connect(p);
	/* a disagreement counts only while neither side's digest moves: with
	 * writes in flight the digests differ for a moment, and that is no
	 * divergence */
	int quiet = digest == p->digest && k->st.digest == p->our_digest;
	p->digest = digest;
	p->our_digest = k->st.digest;
	if (p->ready && digest != k->st.digest && quiet) {
		if (++p->strikes >= DIGEST_STRIKES && now - p->last_sync > 2000) {
			log_info("cache: %s disagrees (digest %016llx, ours %016llx): exchanging snapshots", node,
				 (unsigned long long)digest, (unsigned long long)k->st.digest);
			send_snapshot(p);
			peer_send(p, FRAME_SYNC, NULL, 0, NULL, 0);
			p->strikes = 0;
		}
	} else {
		p->strikes = 0;
	}
}

static int peer_live(const struct cache *k, const struct rpeer *p, uint64_t now)
{
	return p->node[0] && p->last_seen && now - p->last_seen < k->peer_timeout;
}

/* ---- writes ---- */

static void mc_reply(struct mcconn *c, const char *text, size_t n);
static void mc_process(struct mcconn *c);

static void pending_free(struct pending *pd)
{
	struct pending **pp;

	ev_timer_stop(pd->k->loop, &pd->t);
	for (pp = &pd->k->pend; *pp; pp = &(*pp)->next)
		if (*pp == pd) {
			*pp = pd->next;
			break;
		}
	free(pd);
}

static void pending_done(struct pending *pd, const char *failure)
{
	struct mcconn *c = pd->conn;

	if (c != NULL) {
		c->wait = NULL;
		if (!pd->noreply) {
			if (failure)
				mc_reply(c, failure, strlen(failure));
			else
				mc_reply(c, pd->reply, strlen(pd->reply));
		}
	}
	pending_free(pd);
	if (c != NULL)
		mc_process(c);
}

static void pending_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pending *pd = w->data;
	char msg[1024];
	size_t off;

	(void)loop;
	(void)revents;
	pd->k->unacked++;
	off = (size_t)snprintf(msg, sizeof(msg), "SERVER_ERROR stored here but not acknowledged by");
	for (int i = 0; i < pd->nwait && off < sizeof(msg) - 40; i++)
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? "," : " ", pd->wait[i]);
	snprintf(msg + off, sizeof(msg) - off, " within %llu ms\r\n", (unsigned long long)pd->k->sync_timeout);
	log_warn("cache: %.*s", (int)strcspn(msg, "\r"), msg);
	pending_done(pd, msg);
}

/* A local write: applied here, sent to every connected peer; in sync mode
 * the reply waits for every live peer's acknowledgement. */
static const char *local_write(struct cache *k, struct mcconn *c, const char *key, const uint8_t *data, uint32_t len,
			       uint32_t flags, uint64_t expires, int tombstone, const char *ok, int noreply)
{
	uint64_t now = clock_mono_ms();
	struct store_version v = store_next_version(&k->st, k->term, k->node, clock_wall_ms());
	enum store_result r = store_apply(&k->st, key, data, len, flags, expires, &v, tombstone, clock_wall_ms());
	struct store_entry tmp;
	struct buf frame = {0};
	struct pending *pd = NULL;
	uint8_t id[8];

	if (r == STORE_TOO_LARGE)
		return "SERVER_ERROR object too large for cache\r\n";
	if (r == STORE_FULL)
		return "SERVER_ERROR out of memory storing object\r\n";
	if (r == STORE_NOMEM)
		return "SERVER_ERROR out of memory\r\n";
	mark_dirty(k);
	k->next_id++;
	/* request id 0: nobody waits, the peer need not acknowledge */
	bytes_put_be(id, k->sync && c != NULL ? k->next_id : 0, 8);
	/* what was stored, as the peers will apply it */
	memset(&tmp, 0, sizeof(tmp));
	tmp.key = (char *)key;
	tmp.value = (uint8_t *)data;
	tmp.len = tombstone ? 0 : len;
	tmp.flags = flags;
	tmp.expires = tombstone ? 0 : expires;
	tmp.v = v;
	tmp.tombstone = tombstone;
	if (store_encode_entry(&tmp, &frame.p, &frame.len, &frame.cap) != 0)
		return "SERVER_ERROR out of memory\r\n";
	if (k->sync && c != NULL) {
		pd = calloc(1, sizeof(*pd));
		if (pd == NULL) {
			buf_free(&frame);
			return "SERVER_ERROR out of memory\r\n";
		}
	}
	for (struct rpeer *p = k->peers; p; p = p->next) {
		if (!peer_live(k, p, now))
			continue;
		if (p->ready) {
			peer_send(p, FRAME_WRITE, id, 8, frame.p, frame.len);
			k->repl_sent++;
		}
		if (pd != NULL && pd->nwait < 64)
			snprintf(pd->wait[pd->nwait++], sizeof(pd->wait[0]), "%s", p->node);
	}
	buf_free(&frame);
	if (pd == NULL || pd->nwait == 0) {
		free(pd);
		return ok;
	}
	pd->k = k;
	pd->id = k->next_id;
	pd->conn = c;
	pd->noreply = noreply;
	snprintf(pd->reply, sizeof(pd->reply), "%s", ok);
	ev_timer_init(&pd->t, pending_timeout_cb, k->sync_timeout / 1000.0, 0.);
	pd->t.data = pd;
	ev_timer_start(k->loop, &pd->t);
	pd->next = k->pend;
	k->pend = pd;
	c->wait = pd;
	return NULL; /* the reply comes later */
}

/* ---- memcached connections ---- */

static void mc_close(struct mcconn *c)
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

static void mc_reply(struct mcconn *c, const char *text, size_t n)
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
		reply = local_write(k, c, key, NULL, 0, 0, 0, 1, "DELETED\r\n", r->noreply);
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
		reply = local_write(k, c, key, r->data, r->bytes, r->flags, expiry(r->exptime), 0, "STORED\r\n",
				    r->noreply);
		break;
	}
	if (reply != NULL && !(r->noreply && strncmp(reply, "SERVER_ERROR", 12) != 0))
		mc_reply(c, reply, strlen(reply));
}

static void mc_process(struct mcconn *c)
{
	struct cache *k = c->k;

	while (!c->wait && !c->closing && c->in.off < c->in.len) {
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
	mc_flush(c);
	if (c->closing && c->out.off >= c->out.len)
		mc_close(c);
}

static void mc_rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct mcconn *c = w->data;
	size_t limit = MC_LINE_MAX + c->k->st.lim.max_value + 2;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->wait) /* one request at a time: the rest waits in the socket */
		return;
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
	c->in.len += (size_t)n;
	if (c->in.len - c->in.off > limit + 16384) {
		c->closing = 1;
		mc_reply(c, "SERVER_ERROR request too large\r\n", 32);
	}
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
}

static void mc_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cache *k = w->data;

	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(k->mc_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct mcconn *c;
		if (fd < 0)
			return;
		if (k->nconns >= 1024) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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

/* ---- housekeeping ---- */

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cache *k = w->data;
	uint64_t now = clock_mono_ms();

	(void)loop;
	(void)revents;
	if (store_expire(&k->st, clock_wall_ms()) > 0)
		mark_dirty(k);
	for (struct rpeer *p = k->peers, *next; p; p = next) {
		next = p->next;
		if (p->node[0] == '\0')
			continue;
		if (!peer_live(k, p, now)) {
			peer_close(p, "peer lost");
			continue;
		}
		if (p->fd < 0 && p->port != 0 && strcmp(k->node, p->node) < 0 && now >= p->retry_at)
			peer_connect(p);
	}
}

static int listen_tcp(const char *host, uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t l = sizeof(a);
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		snprintf(err, errlen, "'%s' is not an IPv4 address", host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	getsockname(fd, (struct sockaddr *)&a, &l);
	*bound = ntohs(a.sin_port);
	return fd;
}

struct cache *cache_open(struct ev_loop *loop, const struct cache_params *p, const char *node,
			 const struct auth_keys *keys, char *err, size_t errlen)
{
	struct cache *k = calloc(1, sizeof(*k));
	struct store_limits lim = {
		.max_entries = p->max_entries,
		.max_key = p->max_key,
		.max_value = p->max_value,
		.tombstone_ms = p->tombstone_ms,
	};
	char host[64];
	const char *colon = strrchr(p->listen, ':');
	uint16_t port;
	char e2[256];

	if (k == NULL || store_init(&k->st, &lim) != 0) {
		snprintf(err, errlen, "out of memory");
		free(k);
		return NULL;
	}
	if (colon == NULL) {
		snprintf(err, errlen, "cache.listen: %s is not host:port", p->listen);
		store_free(&k->st);
		free(k);
		return NULL;
	}
	k->loop = loop;
	k->keys = keys;
	k->mc_fd = k->repl_fd = -1;
	snprintf(k->node, sizeof(k->node), "%s", node);
	k->cluster = p->cluster;
	cache_set_params(k, p);
	k->started = clock_mono_ms();
	snprintf(k->path, sizeof(k->path), "%s/cache.db", p->state_dir);
	ev_init(&k->persist_w, persist_cb);
	k->persist_w.data = k;
	ev_init(&k->save_w, save_child_cb);
	k->save_w.data = k;
	restore(k);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p->listen), p->listen);
	k->mc_fd = listen_tcp(host, (uint16_t)atoi(colon + 1), &port, e2, sizeof(e2));
	if (k->mc_fd < 0) {
		snprintf(err, errlen, "cache.listen: %s", e2);
		cache_close(k);
		return NULL;
	}
	snprintf(k->address, sizeof(k->address), "%s:%u", host, port);
	k->repl_fd = listen_tcp("0.0.0.0", p->repl_port, &k->repl_port, e2, sizeof(e2));
	if (k->repl_fd < 0) {
		snprintf(err, errlen, "cache.port: %s", e2);
		cache_close(k);
		return NULL;
	}
	ev_io_init(&k->mc_w, mc_accept_cb, k->mc_fd, EV_READ);
	k->mc_w.data = k;
	ev_io_start(loop, &k->mc_w);
	ev_io_init(&k->repl_w, repl_accept_cb, k->repl_fd, EV_READ);
	k->repl_w.data = k;
	ev_io_start(loop, &k->repl_w);
	ev_timer_init(&k->tick_w, tick_cb, 0.5, 0.5);
	k->tick_w.data = k;
	ev_timer_start(loop, &k->tick_w);
	log_info("cache: memcached protocol on %s, replication on port %u, %s writes, %zu entries", k->address,
		 k->repl_port, k->sync ? "synchronous" : "asynchronous", k->st.live);
	return k;
}

void cache_close(struct cache *k)
{
	if (k == NULL)
		return;
	if (k->save_pid != 0) {
		/* the last word is ours: a save in flight may predate writes */
		kill(k->save_pid, SIGKILL);
		waitpid(k->save_pid, NULL, 0);
		ev_child_stop(k->loop, &k->save_w);
		k->dirty = 1;
	}
	if (k->dirty)
		saved(k, save_file(k));
	while (k->pend)
		pending_free(k->pend);
	while (k->conns)
		mc_close(k->conns);
	while (k->peers) {
		peer_close(k->peers, "stopping");
		free_peer(k->peers);
	}
	if (k->mc_fd >= 0) {
		ev_io_stop(k->loop, &k->mc_w);
		close(k->mc_fd);
	}
	if (k->repl_fd >= 0) {
		ev_io_stop(k->loop, &k->repl_w);
		close(k->repl_fd);
	}
	ev_timer_stop(k->loop, &k->tick_w);
	ev_timer_stop(k->loop, &k->persist_w);
	store_free(&k->st);
	free(k);
}

void cache_set_term(struct cache *k, uint64_t term) { k->term = term; }
void cache_set_params(struct cache *k, const struct cache_params *p)
{
	k->sync = p->sync;
	k->sync_timeout = p->sync_timeout_ms;
	k->peer_timeout = p->peer_timeout_ms;
}
uint64_t cache_digest(const struct cache *k) { return k->st.digest; }
uint16_t cache_repl_port(const struct cache *k) { return k->repl_port; }
uint64_t cache_entries(const struct cache *k) { return k->st.live; }
const char *cache_address(const struct cache *k) { return k->address; }

struct list_ctx {
	struct ctl_out *o;
	uint64_t now;
};

static void list_cb(void *ud, const struct store_entry *e)
{
	struct list_ctx *l = ud;

	if (e->tombstone || (e->expires && e->expires <= l->now))
		return;
	ctl_printf(l->o, "%s %u bytes, flags %u, term %llu, written by %s\n", e->key, e->len, e->flags,
		   (unsigned long long)e->v.term, e->v.node);
}

void cache_list(const struct cache *k, struct ctl_out *o)
{
	struct list_ctx l = {.o = o, .now = clock_wall_ms()};
	store_each(&k->st, list_cb, &l);
}

void cache_metrics(const struct cache *k, struct ctl_out *o)
{
	unsigned ready = 0, pending = 0;
	uint64_t backlog = 0;

	for (struct rpeer *p = k->peers; p; p = p->next) {
		ready += p->ready;
		backlog += p->out.len - p->out.off;
	}
	for (const struct pending *pd = k->pend; pd; pd = pd->next)
		pending++;
	ctl_metric(o, "failover_cache_tombstones", "gauge", "Removed entries kept for replication.", k->st.tombstones);
	ctl_metric(o, "failover_cache_bytes", "gauge", "Bytes of values held.", k->st.bytes);
	ctl_metric(o, "failover_cache_synchronous", "gauge", "1: a write waits for live peers (cache.mode = sync).",
		   (uint64_t)k->sync);
	ctl_metric(o, "failover_cache_replicating_peers", "gauge", "Peers with a replication connection.", ready);
	ctl_metric(o, "failover_cache_replication_backlog_bytes", "gauge", "Bytes queued to peers (replication lag).",
		   backlog);
	ctl_metric(o, "failover_cache_pending_writes", "gauge", "Synchronous writes waiting for acknowledgements.",
		   pending);
	ctl_metric_head(o, "failover_cache_writes_total", "counter", "Writes replicated, by direction and outcome.");
	ctl_printf(o, "failover_cache_writes_total{kind=\"sent\"} %llu\nfailover_cache_writes_total{kind=\"received\"} %llu\n"
		      "failover_cache_writes_total{kind=\"acknowledged\"} %llu\n"
		      "failover_cache_writes_total{kind=\"unacknowledged\"} %llu\n",
		   (unsigned long long)k->repl_sent, (unsigned long long)k->repl_recv, (unsigned long long)k->acks,
		   (unsigned long long)k->unacked);
	ctl_metric(o, "failover_cache_snapshots_total", "counter", "Full snapshots sent.", k->syncs);
	ctl_metric(o, "failover_cache_auth_failures_total", "counter", "Replication connections dropped for a bad tag.",
		   k->auth_failures);
	ctl_metric(o, "failover_cache_persist_errors_total", "counter", "Failed saves of the cache file.",
		   k->persist_errors);
}
