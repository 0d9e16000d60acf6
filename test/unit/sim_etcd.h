/*
 * A fake etcd for the simulator (sim.h): the etcd backend (etcd_elect.h)
 * of every node talks to it, so the daemon's own etcd decisions run
 * against the semantics they rely on.
 *
 * Modelled:
 * - one revision counter (1 at the start), +1 per write: a put, a
 *   transaction that wrote, a delete that deleted, a lease's end (the
 *   keys bound to one lease go in one transaction: one revision for all
 *   of them, as etcd's lessor revokes; per_key_expiry: one each);
 * - keys with create_revision, mod_revision and lease;
 * - leases: granted TTL max(asked, min_ttl_s); a lease ends ttl after the
 *   last keep-alive etcd received; its end (or a revoke) deletes its keys;
 * - the watch of each node: from a revision (history replayed, then live
 *   events; below the bounded history it is cancelled as compacted);
 * - latency: a request is applied when the node sends it and answered
 *   latency_ms later; a write's events reach watchers latency_ms later;
 * - a node cut off from etcd (sim_node.linked = 0): its requests and
 *   whatever was on its way to it vanish; its watch is broken, and it
 *   learns so (watch ended) only once it is linked again;
 * - an outage of all members: no request is answered, every watch ends
 *   (the members' connections close), no lease ends meanwhile, and on
 *   recovery every lease's end is reset to then + its TTL (etcd's new
 *   leader extends the leases it takes over);
 * - a frozen node reads what reached it once thawed; a crashed node's
 *   replies and events are lost, its leases run out.
 * Not modelled: a quorum of some members (etcd is up or down as a whole),
 * compaction by time, revisions other than by writes, request errors
 * other than a lease not found, partial delivery of a watch's stream.
 */
#ifndef FL_TEST_SIM_ETCD_H
#define FL_TEST_SIM_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "etcd_elect.h"
#include "sim.h"

#define SE_KEYS 64
#define SE_LEASES 128
#define SE_HIST 256
#define SE_PREFIX "/fl/c1"

struct se_key {
	int used;
	struct ee_kv kv;
};

struct se_lease {
	int used;
	int64_t id, ttl;
	uint64_t expiry; /* ms */
	int owner;       /* the node that asked for it (for reports) */
};

struct se_hist {
	int64_t rev;
	struct ee_event ev;
};

struct se_msg {
	struct se_msg *next;
	uint64_t due;
	int to;
	unsigned gen;
	enum { SE_REPLY, SE_EVENTS, SE_ENDED } kind;
	struct ee_reply r;     /* SE_REPLY (r.kvs malloc'd) */
	struct ee_event *ev;   /* SE_EVENTS, malloc'd */
	size_t nev;
	int64_t rev;
	char why[64];          /* SE_ENDED */
};

struct se_watch {
	int active;
	unsigned gen;
	char prefix[EE_KEY_MAX];
	int64_t next_rev;      /* events from this revision on are still to go */
};

struct sim_etcd {
	/* settings */
	uint64_t latency_ms;   /* default 2 */
	uint64_t watch_lag_ms; /* watch events come this much later than replies (default 0) */
	int64_t min_ttl_s;     /* granted TTL: max(asked, this) */
	int per_key_expiry;    /* a lease's end: one revision per key (default: one for all) */
	uint64_t ttl_s, margin_ms, request_ms, rank_step_ms;
	/* the store */
	int64_t revision;
	struct se_key keys[SE_KEYS];
	struct se_lease leases[SE_LEASES];
	int64_t next_lease;
	struct se_hist hist[SE_HIST];
	size_t hhead, hn;
	int64_t compacted;     /* history at or below this revision is gone */
	int down;              /* all members down */
	/* per node */
	struct etcd_elect ee[SIM_N];
	unsigned gen[SIM_N];   /* the launcher's run: replies to an older one are lost */
	struct se_watch watch[SIM_N];
	int was_linked[SIM_N];
	int watch_broken[SIM_N]; /* broken while cut off: told once linked again */
	struct se_msg *msgs, *tail;
	int logged_ms[SIM_N], logged_ee[SIM_N], logged_want[SIM_N]; /* ETCD_SIM_LOG */
	/* counts */
	uint64_t requests, answered, vanished, expired_leases;
	uint64_t by_type[EE_DELETE_OWN + 1];
};

/* An etcd cluster of n nodes, each with etcd_elect: prefix SE_PREFIX,
 * node i is "n<i+1>" at position 100 + i. */
void sim_init_etcd(struct sim *s, int n, uint64_t ttl_s, uint64_t margin_ms, uint64_t request_ms,
		   uint64_t rank_step_ms);
/* Frees what sim_init_etcd allocated (the fake etcd and its messages). */
void sim_etcd_free(struct sim *s);
/* (Re)starts node i's launcher; initial_term as from its state file. */
void sim_restart_etcd(struct sim *s, int i, uint64_t initial_term);
/* All etcd members down (1) or back (0). */
void sim_etcd_outage(struct sim *s, int down);
struct etcd_elect *sim_ee(struct sim *s, int i);
/* The key SE_PREFIX + suffix, NULL when absent. */
const struct ee_kv *sim_etcd_key(const struct sim *s, const char *suffix);
/* The leader key's node ("" when absent) and whether its lease lives. */
const char *sim_etcd_leader(const struct sim *s, char *buf, size_t len);
struct se_lease *sim_etcd_lease(struct sim *s, int64_t id);

#endif
