/*
 * The replication mesh: a connection to every live peer, writes and
 * acknowledgements, snapshots, digest checks.  Frames are coded by frame.c.
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
#include "mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "cache_int.h"
#include "clock.h"
#include "frame.h"
#include "log.h"
#include "persist.h"
#include "writes.h"

#define SNAPSHOT_CHUNK (4u << 20)
#define DIGEST_STRIKES 3

_Static_assert(FRAME_TAG == AUTH_FRAME_TAG, "a frame's tag is auth.c's");

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

void mesh_send(struct rpeer *p, uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
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
	mesh_send(p, FRAME_AUTH, NULL, 0, NULL, 0);
}

static void send_hello(struct rpeer *p)
{
	uint8_t h[8 + 1 + WIRE_ID_MAX + AUTH_NONCE_LEN];
	size_t n = strlen(p->k->node);

	bytes_put_be(h, p->k->cluster, 8);
	h[8] = (uint8_t)n;
	memcpy(h + 9, p->k->node, n);
	memcpy(h + 9 + n, p->nonce, AUTH_NONCE_LEN);
	mesh_send(p, FRAME_HELLO, h, 9 + n + AUTH_NONCE_LEN, NULL, 0);
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
		mesh_send(s->p, FRAME_SNAPSHOT, s->b.p, s->b.len, NULL, 0);
		s->b.len = 0;
	}
}

static void send_snapshot(struct rpeer *p)
{
	struct snap_ctx s = {.p = p};

	store_each(&p->k->st, snap_cb, &s);
	if (s.b.len)
		mesh_send(p, FRAME_SNAPSHOT, s.b.p, s.b.len, NULL, 0);
	buf_free(&s.b);
	p->last_sync = clock_mono_ms();
	p->k->syncs++;
}

static void apply_entries(struct cache *k, const uint8_t *p, size_t n, const char *from)
{
	size_t applied = 0;

	if (store_decode_entries(&k->st, p, n, &applied, clock_wall_ms()) != 0)
		log_warn("a malformed snapshot from %s was ignored past its first %zu entries", from, applied);
	if (applied) {
		persist_dirty(k);
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
				persist_dirty(k);
			memcpy(ack, a, 8);
			ack[8] = (uint8_t)refused;
			if (bytes_get_be(a, 8) != 0)
				mesh_send(p, FRAME_ACK, ack, 9, NULL, 0);
			break;
		}
		case FRAME_ACK:
			if (alen == 9)
				writes_ack(k, p->node, bytes_get_be(a, 8), a[8]);
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
	/* freed, not emptied: a closed peer's buffers would otherwise be
	 * overwritten when another connection is moved into its record */
	buf_free(&p->in);
	buf_free(&p->out);
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

void mesh_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cache *k = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = cache_accept(k, w);
		struct rpeer *p;
		if (fd < 0)
			return;
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
			mesh_send(p, FRAME_SYNC, NULL, 0, NULL, 0);
			p->strikes = 0;
		}
	} else {
		p->strikes = 0;
	}
}

int mesh_live(const struct cache *k, const struct rpeer *p, uint64_t now)
{
	return p->node[0] && p->last_seen && now - p->last_seen < k->peer_timeout;
}


void mesh_tick(struct cache *k, uint64_t now)
{
	for (struct rpeer *p = k->peers, *next; p; p = next) {
		next = p->next;
		if (p->node[0] == '\0')
			continue;
		if (!mesh_live(k, p, now)) {
			peer_close(p, "peer lost");
			continue;
		}
		if (p->fd < 0 && p->port != 0 && strcmp(k->node, p->node) < 0 && now >= p->retry_at)
			peer_connect(p);
	}
}

void mesh_close(struct cache *k)
{
	while (k->peers) {
		peer_close(k->peers, "stopping");
		free_peer(k->peers);
	}
}
