/*
 * Cache replicator: opens and closes its parts, the memcached server
 * (mcserver.c), the replication mesh (mesh.c, frames in frame.c), local
 * writes (writes.c) and the cache file (persist.c); housekeeping, metrics.
 * The store itself (versions, merge, codec) is store.c.
 */
#include "cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_int.h"
#include "clock.h"
#include "log.h"
#include "mcserver.h"
#include "mesh.h"
#include "persist.h"
#include "writes.h"

/* ---- housekeeping ---- */

/* The longest the housekeeping sleeps with nothing due */
#define TICK_MAX_MS 10000

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cache *k = w->data;
	uint64_t now = clock_mono_ms();

	(void)loop;
	(void)revents;
	k->tick_last = now;
	if (store_expire(&k->st, clock_wall_ms()) > 0)
		persist_dirty(k);
	mesh_tick(k, now);
}

/*
 * Before the loop sleeps: the housekeeping's timer for the first entry to
 * expire (its wall-clock time, counted again at each iteration, so a step
 * of the wall clock counts from the next wake-up) or the mesh's next
 * deadline, not a fixed tick: nothing wakes an idle cache.
 */
static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct cache *k = w->data;
	uint64_t now = clock_mono_ms(), at = k->tick_last + TICK_MAX_MS, t;

	(void)revents;
	if (k->st.next_expiry != 0) {
		uint64_t wall = clock_wall_ms();
		t = now + (k->st.next_expiry > wall ? k->st.next_expiry - wall : 0);
		if (t < at)
			at = t;
	}
	t = mesh_next_due(k, k->tick_last);
	if (t != 0 && t < at)
		at = t;
	if (at == k->tick_at && ev_is_active(&k->tick_w))
		return;
	k->tick_at = at;
	ev_timer_stop(loop, &k->tick_w);
	ev_now_update(loop);
	ev_timer_set(&k->tick_w, at > now ? (double)(at - now) / 1000.0 : 0., 0.);
	ev_timer_start(loop, &k->tick_w);
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

/* The replication listener's host: cluster.interface's IPv4 address (given,
 * or the first of the interface named), or every address without one. */
static int repl_host(const char *on, char *host, size_t len, char *err, size_t errlen)
{
	struct in_addr a;
	struct ifaddrs *ifa;
	int found = 0;

	if (*on == '\0' || inet_pton(AF_INET, on, &a) == 1) {
		snprintf(host, len, "%s", *on ? on : "0.0.0.0");
		return 0;
	}
	if (getifaddrs(&ifa) != 0) {
		snprintf(err, errlen, "cluster.interface: %s", strerror(errno));
		return -1;
	}
	for (struct ifaddrs *i = ifa; i != NULL && !found; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, on) == 0)
			found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, host,
					  (socklen_t)len) != NULL;
	freeifaddrs(ifa);
	if (!found)
		snprintf(err, errlen, "cluster.interface: %s has no IPv4 address to listen on", on);
	return found ? 0 : -1;
}

int cache_check_interface(const char *on, char *err, size_t errlen)
{
	char host[INET_ADDRSTRLEN];

	return repl_host(on, host, sizeof(host), err, errlen);
}

/* How long a listener that ran out of descriptors waits before it tries
 * again, and how often that is logged at most. */
#define ACCEPT_PAUSE_S 0.1
#define ACCEPT_LOG_MS 10000

static void accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cache *k = w->data;

	(void)revents;
	/* starting a watcher that still runs changes nothing */
	if (k->mc_fd >= 0)
		ev_io_start(loop, &k->mc_w);
	if (k->repl_fd >= 0)
		ev_io_start(loop, &k->repl_w);
}

int cache_accept(struct cache *k, ev_io *lw)
{
	int fd = accept4(lw->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
	int err = errno;
	uint64_t now;

	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		return fd;
	}
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return -1; /* none waiting, or one that was aborted */
	/* The connection stays queued and the socket readable: retrying at once
	 * would spin until some descriptor is closed.  Both listeners resume
	 * together after a pause (the limit is the process's). */
	ev_io_stop(k->loop, lw);
	if (!ev_is_active(&k->accept_pause_w)) {
		k->accept_pauses++;
		k->accept_quiet++;
		ev_timer_set(&k->accept_pause_w, ACCEPT_PAUSE_S, 0.);
		ev_timer_start(k->loop, &k->accept_pause_w);
	}
	now = clock_mono_ms();
	if (k->accept_logged_at == 0 || now - k->accept_logged_at >= ACCEPT_LOG_MS) {
		log_warn("cache: accept: %s: new connections wait (%llu pause%s of %u ms since the last message; "
			 "raise LimitNOFILE or ulimit -n if this persists)",
			 strerror(err), (unsigned long long)k->accept_quiet, k->accept_quiet == 1 ? "" : "s",
			 (unsigned)(ACCEPT_PAUSE_S * 1000));
		k->accept_logged_at = now;
		k->accept_quiet = 0;
	}
	return -1;
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
	ev_timer_init(&k->accept_pause_w, accept_resume_cb, ACCEPT_PAUSE_S, 0.);
	k->accept_pause_w.data = k;
	snprintf(k->node, sizeof(k->node), "%s", node);
	k->cluster = p->cluster;
	cache_set_params(k, p);
	k->started = clock_mono_ms();
	snprintf(k->path, sizeof(k->path), "%s/cache.db", p->state_dir);
	persist_init(k);
	persist_restore(k);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p->listen), p->listen);
	k->mc_fd = listen_tcp(host, (uint16_t)atoi(colon + 1), &port, e2, sizeof(e2));
	if (k->mc_fd < 0) {
		snprintf(err, errlen, "cache.listen: %s", e2);
		cache_close(k);
		return NULL;
	}
	snprintf(k->address, sizeof(k->address), "%s:%u", host, port);
	if (repl_host(p->repl_on, host, sizeof(host), err, errlen) != 0) {
		cache_close(k);
		return NULL;
	}
	snprintf(k->repl_host, sizeof(k->repl_host), "%s", host);
	k->repl_fd = listen_tcp(host, p->repl_port, &k->repl_port, e2, sizeof(e2));
	if (k->repl_fd < 0) {
		snprintf(err, errlen, "cache.port: %s", e2);
		cache_close(k);
		return NULL;
	}
	ev_io_init(&k->mc_w, mc_accept_cb, k->mc_fd, EV_READ);
	k->mc_w.data = k;
	ev_io_start(loop, &k->mc_w);
	ev_io_init(&k->repl_w, mesh_accept_cb, k->repl_fd, EV_READ);
	k->repl_w.data = k;
	ev_io_start(loop, &k->repl_w);
	/* set by prep_cb: nothing is due before the first entry expires or
	 * the first peer is heard */
	k->tick_last = clock_mono_ms();
	ev_init(&k->tick_w, tick_cb);
	k->tick_w.data = k;
	ev_prepare_init(&k->prep_w, prep_cb);
	k->prep_w.data = k;
	ev_prepare_start(loop, &k->prep_w);
	log_info("cache: memcached protocol on %s, replication on %s:%u, %s writes, %zu entries", k->address,
		 host, k->repl_port, k->sync ? "synchronous" : "asynchronous", k->st.live);
	return k;
}

void cache_close(struct cache *k)
{
	if (k == NULL)
		return;
	persist_close(k);
	writes_close(k);
	mcserver_close(k);
	mesh_close(k);
	if (k->mc_fd >= 0) {
		ev_io_stop(k->loop, &k->mc_w);
		close(k->mc_fd);
	}
	if (k->repl_fd >= 0) {
		ev_io_stop(k->loop, &k->repl_w);
		close(k->repl_fd);
	}
	ev_timer_stop(k->loop, &k->tick_w);
	ev_prepare_stop(k->loop, &k->prep_w);
	ev_timer_stop(k->loop, &k->accept_pause_w);
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
const char *cache_repl_host(const struct cache *k) { return k->repl_host; }
uint64_t cache_entries(const struct cache *k) { return k->st.live; }
const char *cache_address(const struct cache *k) { return k->address; }

struct list_ctx {
	struct ctl_out *o;
	uint64_t now;
	uint64_t more; /* entries left out: the reply is full */
};

/* room kept for the last line, so the listing ends inside a reply */
#define LIST_ROOM 512

static void list_cb(void *ud, const struct store_entry *e)
{
	struct list_ctx *l = ud;
	char key[4 * 250 + 1];
	size_t o = 0;

	if (e->tombstone || (e->expires && e->expires <= l->now))
		return;
	if (l->o->len + LIST_ROOM + sizeof(key) + 128 > CONTROL_REPLY_MAX) {
		l->more++;
		return;
	}
	/* a key is printed as one safe word: bytes that are not printable
	 * ASCII as \xNN (what the memcached parser let in is not trusted
	 * here: a replicated key was checked by another node) */
	for (const unsigned char *k = (const unsigned char *)e->key; *k && o + 5 < sizeof(key); k++)
		if (*k > 0x20 && *k < 0x7f && *k != '\\')
			key[o++] = (char)*k;
		else
			o += (size_t)snprintf(key + o, sizeof(key) - o, "\\x%02x", *k);
	key[o] = '\0';
	ctl_printf(l->o, "%s %u bytes, flags %u, term %llu, written by %s\n", key, e->len, e->flags,
		   (unsigned long long)e->v.term, e->v.node);
}

void cache_list(const struct cache *k, struct ctl_out *o)
{
	struct list_ctx l = {.o = o, .now = clock_wall_ms()};

	store_each(&k->st, list_cb, &l);
	if (l.more > 0)
		ctl_printf(o, "... and %llu more entries, left out: a reply holds %d KiB (read one with failoverctl "
			      "cache get KEY)\n", (unsigned long long)l.more, CONTROL_REPLY_MAX / 1024);
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
	ctl_metric_head(o, "failover_cache_replication_refused_total", "counter",
			"Replication connections refused before they authenticated, by reason.");
	ctl_printf(o, "failover_cache_replication_refused_total{reason=\"limit\"} %llu\n"
		      "failover_cache_replication_refused_total{reason=\"deadline\"} %llu\n"
		      "failover_cache_replication_refused_total{reason=\"frame\"} %llu\n",
		   (unsigned long long)k->repl_refused[REFUSED_LIMIT],
		   (unsigned long long)k->repl_refused[REFUSED_DEADLINE],
		   (unsigned long long)k->repl_refused[REFUSED_FRAME]);
	ctl_metric(o, "failover_cache_accept_pauses_total", "counter",
		   "Pauses of the cache's listeners out of descriptors (EMFILE) or memory.", k->accept_pauses);
	ctl_metric(o, "failover_cache_persist_errors_total", "counter", "Failed saves of the cache file.",
		   k->persist_errors);
}

