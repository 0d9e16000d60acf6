/*
 * The cache replicator: every launcher, master or slave, holds the same
 * key/value store and keeps holding it through demotions, broker crashes and
 * restarts.
 *
 *   memcached text protocol (loopback)  --> store <--> TCP mesh to every live peer
 *   failoverctl cache ...                     |          (writes + acks, snapshots)
 *                                             v
 *                                  STATE_DIR/cache.db (atomic)
 *
 * Writes are versioned (term, clock, node); the newest wins on every node.
 * In sync mode a write returns only once every live peer acknowledged it
 * (or reports which did not).  A joining peer, and a peer whose digest
 * (carried in heartbeats) disagrees for three heartbeats in a row, get a
 * full snapshot both ways.
 *
 * cache.db is "FLCACHE" and a format digit ('1'), the FNV-1a 64 of the body
 * (big-endian), then the store's entries (store.h).  A release that changes
 * the layout raises the digit; a reader that meets a higher one moves the
 * file aside as cache.db.newer and starts empty (peers fill it), so a
 * downgrade neither misreads nor destroys it.  The replication HELLO
 * (mesh.c) carries no version yet and must be exactly as long as its
 * fields: a HELLO that grew would be refused by every release so far.
 */
#ifndef FL_CACHE_H
#define FL_CACHE_H

#include <ev.h>
#include <netinet/in.h>
#include <stdint.h>

#include "control.h"
#include "store.h"

struct cache;

/* The cache's settings, by value.  The listeners, the limits and the file
 * are fixed at open; cache_set_params changes the rest on a reload. */
struct cache_params {
	char listen[256];          /* memcached protocol host:port (port 0: any) */
	uint16_t repl_port;        /* replication port (0: any) */
	char repl_on[64];          /* cluster.interface (name or IPv4): the replication
	                            * listener's address; "": every address */
	char state_dir[4096];      /* STATE_DIR/cache.db */
	uint64_t cluster;          /* digest of the cluster name */
	size_t max_entries, max_key, max_value;
	uint64_t tombstone_ms;
	/* these three a reload changes */
	int sync;                  /* a write returns once live peers acknowledged */
	uint64_t sync_timeout_ms;  /* how long it waits for them */
	uint64_t peer_timeout_ms;  /* peers not heard this long are dropped */
};

/* Opens the memcached listener, the replication listener and restores
 * STATE_DIR/cache.db.  NULL with the reason in err. */
/* For failover-launcher -n, what cache_open does first: the replication
 * listener's host from cluster.interface (an IPv4 address of it). */
int cache_check_interface(const char *on, char *err, size_t errlen);

struct auth_keys;
/* keys NULL: cluster.auth = none (replication frames are still tagged, with
 * a key everyone knows). */
struct cache *cache_open(struct ev_loop *loop, const struct cache_params *p, const char *node,
			 const struct auth_keys *keys, char *err, size_t errlen);
void cache_close(struct cache *k);

/* The term new local writes carry. */
void cache_set_term(struct cache *k, uint64_t term);
/* A heartbeat from peer node at addr, with its replication port and digest
 * (or, with cluster.backend = etcd, the peer's record read from etcd: see
 * etcd_node.c for the digest it passes). */
void cache_peer_seen(struct cache *k, const char *node, const struct sockaddr_in *addr, uint16_t repl_port,
		     uint64_t digest);
/* A reload: the write mode, the acknowledgement timeout and the peer
 * timeout (the election's) take effect for the next request. */
void cache_set_params(struct cache *k, const struct cache_params *p);

uint64_t cache_digest(const struct cache *k);
uint16_t cache_repl_port(const struct cache *k);
/* The replication listener's IPv4 address as text: cluster.interface's, or
 * "0.0.0.0" when it listens on every address. */
const char *cache_repl_host(const struct cache *k);
uint64_t cache_entries(const struct cache *k);
/* "host:port" of the memcached listener, for the broker's environment. */
const char *cache_address(const struct cache *k);

/* failoverctl cache list / address, and metrics. */
void cache_list(const struct cache *k, struct ctl_out *o);
void cache_metrics(const struct cache *k, struct ctl_out *o);


#endif
