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
 * The handshake (handshake.c) derives a key per direction from the two
 * nonces and tags every frame with it and a sequence number.  An inbound
 * connection is a record of its own, with no node, until the peer's AUTH
 * verifies: only then is it attached to the node it named (replacing that
 * node's older link), so a HELLO alone takes nothing over.  Before that it
 * gets a deadline, frames no larger than a HELLO, and a few places per
 * source address (and in all, but for a known node's address).
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
#define AUTH_DEADLINE_MS 2000   /* a connection not authenticated by then is closed */
#define PENDING_PER_SOURCE 4    /* inbound connections authenticating at once, per source address */
#define PENDING_MAX 32          /* and in all */
#define PRE_AUTH_READ 256       /* bytes read at a time before authentication */
#define REFUSE_LOG_MS 10000     /* one refusal line at most this often */

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
	hs_tag(&p->hs, span, n, tag);
}

static int check_cb(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG])
{
	struct rpeer *p = ud;
	return hs_check(&p->hs, p->k->keys, span, n, tag);
}

/* A refusal before authentication: counted always, logged rate-limited
 * (anyone who can reach the port can cause them). */
static void refuse(struct cache *k, int why, const struct sockaddr_in *from, const char *what)
{
	uint64_t now = clock_mono_ms();
	char a[INET_ADDRSTRLEN] = "?";

	k->repl_refused[why]++;
	if (k->refuse_logged_at != 0 && now - k->refuse_logged_at < REFUSE_LOG_MS) {
		k->refuse_unlogged++;
		return;
	}
	if (from != NULL)
		inet_ntop(AF_INET, &from->sin_addr, a, sizeof(a));
	log_warn("cache: refused a replication connection from %s: %s (%llu more refusals not logged)", a, what,
		 (unsigned long long)k->refuse_unlogged);
	k->refuse_logged_at = now;
	k->refuse_unlogged = 0;
}

void mesh_send(struct rpeer *p, uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	const struct frame_tagger t = {.tag = tag_cb, .ud = p};

	if (p->fd < 0 || (type != FRAME_HELLO && !p->hs.heard))
		return;
	if (frame_encode(&p->out, type, a, alen, b, blen, &t) != 0) {
		peer_close(p, "out of memory");
		return;
	}
	if (!p->connecting)
		peer_flush(p);
}

static void send_hello(struct rpeer *p)
{
	uint8_t h[HS_HELLO_MAX];

	mesh_send(p, FRAME_HELLO, h, hs_hello(&p->hs, h), NULL, 0);
}

struct snap_ctx {
	struct rpeer *p;
	struct buf b;
};

static void snap_cb(void *ud, const struct store_entry *e)
{
	struct snap_ctx *s = ud;
	size_t before = s->b.len;

	store_encode_entry(e, &s->b.p, &s->b.len, &s->b.cap);
	/* what came before a large entry goes first: a frame holds at most one
	 * entry past the chunk, and so stays under FRAME_MAX */
	if (before > 0 && s->b.len > SNAPSHOT_CHUNK) {
		mesh_send(s->p, FRAME_SNAPSHOT, s->b.p, before, NULL, 0);
		memmove(s->b.p, s->b.p + before, s->b.len - before);
		s->b.len -= before;
	}
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

/* The peer's HELLO: on an inbound connection ours goes back first, then
 * (both ways) our AUTH.  The node it names is not believed yet. */
static int on_hello(struct rpeer *p, const uint8_t *a, size_t n)
{
	int inbound = p->node[0] == '\0';

	if (hs_on_hello(&p->hs, p->k->keys, a, n) != 0)
		return -1;
	if (inbound)
		send_hello(p);
	mesh_send(p, FRAME_AUTH, NULL, 0, NULL, 0);
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
	hs_wipe(&p->hs);
	free(p);
}

/* The peer's AUTH verified on an inbound connection: now it is the node it
 * named.  The record that node had (heartbeats, an older link) gives way;
 * what the heartbeats told about it moves here. */
static void attach(struct rpeer *p)
{
	struct rpeer *known = find_peer(p->k, p->hs.peer);

	if (known != NULL) {
		peer_close(known, "replaced by a new authenticated connection");
		p->addr = known->addr;
		p->port = known->port;
		p->last_seen = known->last_seen;
		p->digest = known->digest;
		p->our_digest = known->our_digest;
		p->strikes = known->strikes;
		p->last_sync = known->last_sync;
		p->retry_at = known->retry_at;
		free_peer(known);
	}
	snprintf(p->node, sizeof(p->node), "%s", p->hs.peer);
}

/* Reads and handles what p sent; never frees p (the callback does). */
static void peer_rx(struct rpeer *p)
{
	struct cache *k = p->k;
	/* before authentication, little at a time: a frame that cannot be a
	 * HELLO or an AUTH is refused before more of it is read */
	size_t chunk = p->ready ? 65536 : PRE_AUTH_READ;

	for (int rounds = 0; rounds < (p->ready ? 16 : 1); rounds++) {
		ssize_t n;
		if (buf_reserve(&p->in, chunk) != 0) {
			peer_close(p, "out of memory");
			return;
		}
		n = recv(p->fd, p->in.p + p->in.len, p->in.cap - p->in.len < chunk ? p->in.cap - p->in.len : chunk, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			peer_close(p, n == 0 ? "closed by peer" : strerror(errno));
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
		enum frame_status st = frame_decode(p->in.p + p->in.off, p->in.len - p->in.off, hs_frame_max(&p->hs),
						    p->hs.heard ? &t : NULL, &fr, &used);

		if (st == FRAME_NEED_MORE)
			break;
		if (st == FRAME_BAD_LENGTH) {
			if (!p->ready)
				refuse(k, REFUSED_FRAME, p->node[0] ? &p->addr : &p->from,
				       "a frame larger than a HELLO before authentication");
			peer_close(p, "bad frame");
			return;
		}
		p->in.off += used;
		if (st == FRAME_BAD_TAG) {
			k->auth_failures++;
			if (p->ready)
				log_warn("cache: dropped the replication connection with %s: a frame failed "
					 "authentication", p->node);
			else
				refuse(k, REFUSED_FRAME, p->node[0] ? &p->addr : &p->from,
				       p->hs.heard ? "its AUTH failed (another cluster key?)" : "no HELLO first");
			peer_close(p, "authentication");
			return;
		}
		a = fr.payload;
		alen = fr.len;
		switch (fr.type) {
		case FRAME_AUTH:
			/* only a verified AUTH gets here (hs_check) */
			if (!p->ready) {
				if (p->node[0] == '\0')
					attach(p);
				peer_ready(p);
			}
			break;
		case FRAME_HELLO:
			r = on_hello(p, a, alen);
			if (r < 0) {
				refuse(k, REFUSED_FRAME, p->node[0] ? &p->addr : &p->from,
				       "another cluster, or a bad or second HELLO");
				peer_close(p, "bad HELLO");
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

/* A record without a node and without a connection is an inbound
 * connection that ended before it authenticated: nothing else knows it. */
static void free_if_anonymous(struct rpeer *p)
{
	if (p->fd < 0 && p->node[0] == '\0')
		free_peer(p);
}

static void peer_rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpeer *p = w->data;

	(void)loop;
	(void)revents;
	peer_rx(p);
	free_if_anonymous(p);
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
	free_if_anonymous(p);
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
	p->ready = p->connecting = 0;
	/* a record may wait long for its next connection: nothing kept */
	buf_free(&p->in);
	buf_free(&p->out);
	hs_wipe(&p->hs);
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
	uint8_t nonce[AUTH_NONCE_LEN];
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
	p->ready = 0;
	p->opened = clock_mono_ms();
	auth_random(nonce, sizeof(nonce));
	hs_init(&p->hs, p->k->cluster, p->k->node, p->node, nonce);
	send_hello(p); /* queued until connected */
	ev_io_start(p->k->loop, &p->ww);
}

/* Room for one more inbound connection from a, before authentication.
 * The limit in all is not for the address of a node the heartbeats told
 * about: otherwise anyone with PENDING_MAX / PENDING_PER_SOURCE addresses
 * could hold every place and keep the nodes' own links out. */
static int pending_room(const struct cache *k, const struct sockaddr_in *a)
{
	unsigned all = 0, same = 0;
	int node = 0;

	for (const struct rpeer *p = k->peers; p; p = p->next)
		if (p->node[0] == '\0' && p->fd >= 0) {
			all++;
			same += p->from.sin_addr.s_addr == a->sin_addr.s_addr;
		} else if (p->node[0] != '\0' && p->last_seen != 0 && p->addr.sin_addr.s_addr == a->sin_addr.s_addr) {
			node = 1;
		}
	return (all < PENDING_MAX || node) && same < PENDING_PER_SOURCE;
}

void mesh_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cache *k = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		int fd = cache_accept(k, w);
		struct sockaddr_in from = {0};
		socklen_t fl = sizeof(from);
		uint8_t nonce[AUTH_NONCE_LEN];
		struct rpeer *p;
		if (fd < 0)
			return;
		if (getpeername(fd, (struct sockaddr *)&from, &fl) != 0 || from.sin_family != AF_INET) {
			close(fd);
			continue;
		}
		if (!pending_room(k, &from)) {
			close(fd);
			refuse(k, REFUSED_LIMIT, &from, "too many connections authenticating");
			continue;
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			close(fd);
			continue;
		}
		p->k = k;
		p->fd = fd;
		p->from = from;
		p->opened = clock_mono_ms();
		auth_random(nonce, sizeof(nonce));
		hs_init(&p->hs, k->cluster, k->node, NULL, nonce);
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
		if (p->fd >= 0 && !p->ready && now - p->opened >= AUTH_DEADLINE_MS) {
			if (p->node[0] == '\0')
				refuse(k, REFUSED_DEADLINE, &p->from, "not authenticated in time");
			else
				log_info("cache: %s did not authenticate within %d ms", p->node, AUTH_DEADLINE_MS);
			peer_close(p, "authentication deadline");
		}
		if (p->node[0] == '\0') {
			free_if_anonymous(p);
			continue;
		}
		if (!mesh_live(k, p, now)) {
			/* a node gone (or never heard): its next heartbeat makes a new record */
			peer_close(p, "peer lost");
			free_peer(p);
			continue;
		}
		if (p->fd < 0 && p->port != 0 && strcmp(k->node, p->node) < 0 && now >= p->retry_at)
			peer_connect(p);
	}
}

static void sooner(uint64_t *at, uint64_t t)
{
	if (*at == 0 || t < *at)
		*at = t;
}

/* What mesh_tick() tests, each at the time its answer changes; what it
 * would do at once, at its former pace (a tick every MESH_RETRY_MS) */
uint64_t mesh_next_due(const struct cache *k, uint64_t last_tick)
{
	uint64_t at = 0;

	for (const struct rpeer *p = k->peers; p; p = p->next) {
		if (p->fd >= 0 && !p->ready)
			sooner(&at, p->opened + AUTH_DEADLINE_MS);
		if (p->node[0] == '\0') {
			if (p->fd < 0)
				sooner(&at, last_tick + MESH_RETRY_MS);
			continue;
		}
		if (p->last_seen == 0)
			sooner(&at, last_tick + MESH_RETRY_MS);
		else
			sooner(&at, p->last_seen + k->peer_timeout);
		if (p->fd < 0 && p->port != 0 && strcmp(k->node, p->node) < 0)
			sooner(&at, p->retry_at > last_tick + MESH_RETRY_MS ? p->retry_at : last_tick + MESH_RETRY_MS);
	}
	return at;
}

void mesh_close(struct cache *k)
{
	while (k->peers) {
		peer_close(k->peers, "stopping");
		free_peer(k->peers);
	}
}
