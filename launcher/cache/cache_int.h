/*
 * What the cache's parts share: the cache itself.  Each part (persist.c,
 * mesh.c, mcserver.c, writes.c) keeps its own state here and its own
 * functions in its header; cache.c opens and closes them all.
 */
#ifndef FL_CACHE_INT_H
#define FL_CACHE_INT_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"
#include "cache.h"
#include "store.h"
#include "wire.h"

struct rpeer;
struct mcconn;
struct pending;

/* why a replication connection was refused before it authenticated */
enum { REFUSED_LIMIT, REFUSED_DEADLINE, REFUSED_FRAME, REFUSED_N };

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
	char repl_host[64];         /* the replication listener's IPv4 address; 0.0.0.0: every address */
	char address[96];
	char full_reply[128];       /* SERVER_ERROR for a full cache, with its limit */
	ev_io mc_w, repl_w;
	ev_timer accept_pause_w;    /* a listener out of descriptors waits for it */
	uint64_t accept_logged_at;  /* monotonic ms of the last message about it */
	uint64_t accept_quiet;      /* pauses since that message */
	ev_timer persist_w, tick_w;
	/* the housekeeping's timer is set before the loop sleeps (prep_w)
	 * for the next expiry or mesh deadline: when it last ran, and when
	 * it is set for */
	ev_prepare prep_w;
	uint64_t tick_last, tick_at;
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
		persist_errors, refused, auth_failures, accept_pauses;
	unsigned nconns;
	/* replication connections refused before authentication, by reason */
	uint64_t repl_refused[REFUSED_N];
	uint64_t refuse_logged_at;  /* monotonic ms: such refusals are logged rate-limited */
	uint64_t refuse_unlogged;
};

/* A connection from the listener that watcher lw watches: non-blocking,
 * close-on-exec, no Nagle delay; -1 when none is waiting (or accept
 * failed).  Out of descriptors (or memory), lw is stopped for a moment:
 * the caller only returns. */
int cache_accept(struct cache *k, ev_io *lw);

#endif
